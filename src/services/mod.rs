//! The use cases, between the HTTP surface (`api`) and the durable record
//! (`store`). Handlers call one service per request; services own the
//! rules (roles, district scopes, limits, linking) and turn store errors
//! into their own.

pub mod areas;
pub mod asset_feature;
pub mod audit;
pub mod collection;
pub mod complaint_feature;
pub mod complaint_import;
pub mod complaints;
pub mod feature_filter;
pub mod features;
pub mod follower;
pub mod geopackage;
pub mod hotline_config;
pub mod linking;
pub mod planning;
pub mod query_budget;
pub mod registry;
pub mod routing;
pub mod store_failure;
pub mod store_migration;
pub mod surveys;
pub mod tokens;
pub mod work_orders;
