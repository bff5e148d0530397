//! The 1–5 condition score used by surveys of courtyards, buildings,
//! lanes and drainage points.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Physical condition on a five-point scale: 1 = dangerous or failed,
/// 2 = poor, 3 = fair, 4 = good, 5 = as new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct Condition(u8);

/// Its schema: an integer 1–5 (the derive cannot put bounds on a
/// newtype).
impl utoipa::PartialSchema for Condition {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(Self::WORST))
            .maximum(Some(Self::BEST))
            .description(Some("1 = dangerous or failed … 5 = as new"))
            .into()
    }
}

impl utoipa::ToSchema for Condition {}

impl Condition {
    pub const WORST: u8 = 1;
    pub const BEST: u8 = 5;

    pub fn new(score: i64) -> Result<Self, String> {
        if (i64::from(Self::WORST)..=i64::from(Self::BEST)).contains(&score) {
            Ok(Self(score as u8))
        } else {
            Err(format!(
                "condition must be an integer from {} to {}, got {score}",
                Self::WORST,
                Self::BEST
            ))
        }
    }

    pub fn score(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Condition {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Condition> for u8 {
    fn from(value: Condition) -> Self {
        value.0
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_one_to_five_only() {
        for score in 1..=5 {
            assert_eq!(Condition::new(score).map(Condition::score), Ok(score as u8));
        }
        for score in [-1, 0, 6, 255, 256, i64::MAX] {
            assert!(Condition::new(score).is_err(), "{score} accepted");
        }
    }

    #[test]
    fn deserializes_from_json_numbers_only_in_range() {
        assert!(serde_json::from_str::<Condition>("3").is_ok());
        assert!(serde_json::from_str::<Condition>("0").is_err());
        assert!(serde_json::from_str::<Condition>("2.5").is_err());
        assert!(serde_json::from_str::<Condition>("\"3\"").is_err());
    }
}
