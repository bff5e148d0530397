//! The feature collections the service publishes (OGC API collections and
//! vector tile layers): one per asset kind, the complaints (always
//! without personal data), the administrative areas, one per level, and
//! the work orders still to be done (to tokens only, each seeing its own).

use crate::domain::{AreaLevel, AssetKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Assets(AssetKind),
    Complaints,
    /// Administrative areas of one level (read-only here: they come in
    /// through `hutong import-areas`).
    Areas(AreaLevel),
    /// Repair plans (read-only here: they are made at /v1/plans).
    Plans,
    /// The work orders still to be done (open, assigned, in progress),
    /// from memory: only to a bearer token, each seeing the orders it may
    /// (its unit's, or its district's).
    WorkOrders,
}

impl Collection {
    pub const ALL: [Collection; 13] = [
        Collection::Assets(AssetKind::Courtyard),
        Collection::Assets(AssetKind::Building),
        Collection::Assets(AssetKind::Lane),
        Collection::Assets(AssetKind::Drainage),
        Collection::Assets(AssetKind::Light),
        Collection::Assets(AssetKind::Charger),
        Collection::Assets(AssetKind::Facility),
        Collection::Complaints,
        Collection::Areas(AreaLevel::District),
        Collection::Areas(AreaLevel::Street),
        Collection::Areas(AreaLevel::Community),
        Collection::Plans,
        Collection::WorkOrders,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Collection::Assets(kind) => kind.collection(),
            Collection::Complaints => "complaints",
            Collection::Areas(AreaLevel::District) => "districts",
            Collection::Areas(AreaLevel::Street) => "streets",
            Collection::Areas(AreaLevel::Community) => "communities",
            Collection::Plans => "plans",
            Collection::WorkOrders => "work-orders",
        }
    }

    /// The collection of this id; otherwise what to tell the client.
    pub fn parse(id: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|c| c.id() == id).ok_or_else(|| {
            format!(
                "there is no collection {id:?}; the collections are {}",
                Self::ALL.map(Collection::id).join(", ")
            )
        })
    }

    /// The shallowest zoom at which the collection's layer is in the
    /// vector tiles: below it a tile would hold too many features to draw.
    pub fn min_zoom(self) -> u8 {
        match self {
            Collection::Assets(AssetKind::Courtyard)
            | Collection::Assets(AssetKind::Lane)
            | Collection::Assets(AssetKind::Facility) => 11,
            Collection::Assets(AssetKind::Building) => 12,
            Collection::Assets(_) => 13,
            Collection::Complaints => 12,
            Collection::Areas(AreaLevel::District) => 8,
            Collection::Areas(AreaLevel::Street) => 11,
            Collection::Areas(AreaLevel::Community) => 12,
            Collection::Plans | Collection::WorkOrders => 12,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Collection::Assets(AssetKind::Courtyard) => "Courtyards",
            Collection::Assets(AssetKind::Building) => "Buildings",
            Collection::Assets(AssetKind::Lane) => "Lanes",
            Collection::Assets(AssetKind::Drainage) => "Drainage points",
            Collection::Assets(AssetKind::Light) => "Street lights",
            Collection::Assets(AssetKind::Charger) => "E-bike chargers",
            Collection::Assets(AssetKind::Facility) => "Facilities",
            Collection::Complaints => "Citizen complaints",
            Collection::Areas(AreaLevel::District) => "Districts",
            Collection::Areas(AreaLevel::Street) => "Streets and towns",
            Collection::Areas(AreaLevel::Community) => "Communities and villages",
            Collection::Plans => "Repair plans",
            Collection::WorkOrders => "Work orders to be done",
        }
    }

    /// Whether only a bearer token may read the collection (and each
    /// token sees part of it).
    pub fn needs_token(self) -> bool {
        matches!(self, Collection::WorkOrders)
    }

    /// Whether features can be written through the collection (assets
    /// only).
    pub fn writable(self) -> bool {
        matches!(self, Collection::Assets(_))
    }

    pub fn description(self) -> &'static str {
        match self {
            Collection::Assets(AssetKind::Courtyard) => {
                "Courtyard compounds (siheyuan and residential compounds), with heritage grade and paving."
            }
            Collection::Assets(AssetKind::Building) => {
                "Buildings, with storeys, structure and elevator status; courtyard_id is the courtyard containing each."
            }
            Collection::Assets(AssetKind::Lane) => {
                "Hutongs and lanes as centre lines, with width and paving."
            }
            Collection::Assets(AssetKind::Drainage) => {
                "Drains, manholes and gullies, with ponding risk."
            }
            Collection::Assets(AssetKind::Light) => {
                "Street lights, with type, sensor and working status."
            }
            Collection::Assets(AssetKind::Charger) => {
                "E-bike charging points, with ports, access and status."
            }
            Collection::Assets(AssetKind::Facility) => {
                "Parks, sports grounds, elderly care, community centres and clinics (the 15-minute life circle), with capacity and opening hours; drawn as a point or by the outline."
            }
            Collection::Complaints => {
                "Complaints from the 12345 hotline, Open311 clients and WeChat. Never carries the caller's name or phone."
            }
            Collection::Areas(AreaLevel::District) => {
                "Districts (区) as imported, with code and names; feature ids are the codes."
            }
            Collection::Areas(AreaLevel::Street) => {
                "Streets and towns (街道/乡镇), each inside its parent district; feature ids are the codes."
            }
            Collection::Areas(AreaLevel::Community) => {
                "Communities and villages (社区/村), each inside its parent street; feature ids are the codes."
            }
            Collection::Plans => {
                "Repair plans (permeable paving, sensor lights, chargers, drainage, restoration, elevators) with their status and cost; what each covers: its drawn area, or its targets. Made and moved at /v1/plans, which has their quantities and effects."
            }
            Collection::WorkOrders => {
                "Work orders still to be done (open, assigned, in progress), live; needs a bearer token: a crew's or unit's token sees its unit's orders, others their district's. Done, verified and cancelled orders and each order's history are at /v1/work-orders."
            }
        }
    }
}
