//! Call-backs (回访): what the caller answered after their case was
//! resolved, and the three rates the city grades streets by.

use serde::Serialize;

/// The caller's answers. Only a reached caller answers anything: an
/// unreached call-back records the attempts alone. A valid call-back
/// (the caller reached) is what the rates are computed over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallbackAnswers {
    pub reached: bool,
    pub attempts: u8,
    pub unit_contacted: Option<bool>,
    pub solved: Option<bool>,
    /// A code of the configured satisfaction scale.
    pub satisfaction: Option<String>,
    pub comment: Option<String>,
}

/// The three rates over valid call-backs (the latest valid call-back of
/// each case in the window), with what they are computed from. Cases
/// marked not assessable are counted apart and left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallbackRates {
    pub valid_callbacks: u64,
    pub contacted: u64,
    pub solved: u64,
    /// Valid call-backs by satisfaction code.
    pub satisfaction: std::collections::BTreeMap<String, u64>,
    /// contacted / valid.
    pub response_rate: Option<f64>,
    /// solved / valid.
    pub resolution_rate: Option<f64>,
    /// Σ weight(level) · count(level) / valid.
    pub satisfaction_rate: Option<f64>,
    pub not_assessable: u64,
    pub unreached_callbacks: u64,
}
