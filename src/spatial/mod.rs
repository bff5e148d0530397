//! Geometry: validation of input, metric distance, area and length on the
//! WGS 84 ellipsoid, and the in-memory R*-tree of every asset. Knows
//! nothing of HTTP or SQL.

mod address_index;
mod area_index;
mod asset_index;
mod cell_key;
mod china_coords;
mod crs;
mod geodesy;
mod geometry_input;
mod lane_network;
mod measure;
mod tile_tag_serializer;
pub mod vector_tile;
mod walking_order;

/// Boxes are a domain value; spatial code names them often.
pub use crate::domain::LonLatBox;
pub use address_index::{AddressMatch, AddressPrecision};
pub use area_index::AreaIndex;
pub use asset_index::{AssetIndex, IndexedAsset, NearbyHit, NearbyQuery};
pub use cell_key::{cell_key, cell_ranges};
pub use china_coords::CoordSys;
pub use crs::Crs;
pub use geodesy::{Ecef, EcefPoint, chord_m_for_distance_m, distance_m, distance_m_from_chord_m};
pub use geometry_input::{GeometryLimits, outside_service_area, parse_geometry};
pub use lane_network::{
    Attachment, DistanceMethod, LaneEdge, LaneNetwork, Leg, MAX_ATTACH_M, SNAP_M, WalkingDistance,
};
pub use measure::{derive_measures, geodesic_area_m2};
pub use walking_order::{EXACT_UP_TO, tour_length, walking_order};
