//! hutong: a geospatial service for the renovation of old city
//! neighbourhoods. See `ARCHITECTURE.md` for the map of the code. The
//! layers, from the inside out: `domain` (pure types and rules), `spatial`
//! (geometry, coordinate systems, the index, tiles), `store` (SQL on SQLite
//! and PostgreSQL), `services` (the use cases: the registry of assets,
//! complaints, linking, tokens, filters, queries) and `api` (HTTP). `app`
//! wires them together and `cli` is the command line.

#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod cli;
pub mod domain;
pub mod encoding;
pub mod sample_data;
pub mod services;
pub mod spatial;
pub mod store;
pub mod telemetry;
