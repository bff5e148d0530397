//! Repair planning (规划): plans of repair works with the quantities,
//! costs and effects worked out from the geometry and the engineering
//! rules, and coverage by walking distance.

pub mod quantities;
pub mod rules;

pub use rules::{EngineeringRules, Rules};
