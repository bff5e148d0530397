//! Black-box tests: the real server on a free port over a fresh database,
//! spoken to over HTTP. The database is a SQLite file, or, with
//! `HUTONG_TEST_POSTGRES` set to an admin URL, a fresh PostgreSQL+PostGIS
//! database per test (`scripts/test.sh` runs the suite both ways).

// Tests may fail loudly.
#![allow(clippy::panic)]

mod areas;
mod assets;
mod bad_input;
mod cli;
mod complaints;
mod facilities;
mod geocode;
mod geopackage;
mod helpers;
mod hostile;
mod hotline_loop;
mod http_edges;
mod instances;
mod nearby;
mod ogc;
mod ogc_clients;
mod ogc_write;
mod open311;
mod openapi_fuzz;
mod plans;
mod restart;
mod surveys;
pub mod tiles;
pub mod work_orders;
