//! hutong: a geospatial service for the renovation of old city
//! neighbourhoods. See `README.md` for a tour and DESIGN.md for the
//! architecture: `domain` (pure), `spatial` (geometry and index), `store`
//! (SQL), the services (`registry`, `tokens`) and `api` (HTTP).

#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod asset_feature;
pub mod cli;
pub mod complaint_import;
pub mod complaints;
pub mod demo;
pub mod domain;
pub mod encoding;
pub mod feature_filter;
pub mod follower;
pub mod generate;
pub mod linking;
pub mod query_budget;
pub mod registry;
pub mod spatial;
pub mod store;
pub mod store_migration;
pub mod telemetry;
pub mod tokens;
