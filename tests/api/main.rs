//! Black-box tests: the real server on a free port over a fresh SQLite
//! database, spoken to over HTTP.

// Tests may fail loudly.
#![allow(clippy::panic)]

mod assets;
mod bad_input;
mod cli;
mod complaints;
mod helpers;
mod nearby;
mod ogc;
mod ogc_clients;
mod ogc_write;
mod open311;
mod restart;
mod tiles;
