//! Data to try the service with: the demo neighbourhoods that
//! `serve --demo` loads, and the generator of large synthetic cities for
//! benchmarks.

pub mod demo;
pub mod generate;
