//! Designers' surveys (现场勘察) of courtyards and buildings: the
//! condition of each element, a building's danger grade under JGJ 125
//! (the standard for appraising dangerous buildings: A safe, B some
//! members dangerous, C part of the building dangerous, D the whole
//! building dangerous), spot heights of a yard's floor and the lane
//! beside it, notes and the surveyor.

use super::complaint::vocabulary;
use super::{Condition, FieldError, ValidationError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

vocabulary! {
    /// The elements a survey scores.
    SurveyElement {
        Roof => "roof",
        Walls => "walls",
        Structure => "structure",
        Paving => "paving",
        Drainage => "drainage",
        Lighting => "lighting",
    }
}

vocabulary! {
    /// A building's danger grade under JGJ 125: `A` … `D`.
    DangerGrade {
        A => "A",
        B => "B",
        C => "C",
        D => "D",
    }
}

impl DangerGrade {
    /// C and D need work: part or all of the building is dangerous.
    pub fn needs_work(self) -> bool {
        matches!(self, DangerGrade::C | DangerGrade::D)
    }
}

/// An element at this condition or worse needs work.
pub const POOR_CONDITION: u8 = 2;

/// Spot heights are metres above the datum; Beijing's ground lies between
/// about 10 m and 2,300 m, so anything outside this is a typing error.
pub const HEIGHT_RANGE_M: std::ops::RangeInclusive<f64> = -100.0..=9_000.0;

/// A survey as it is recorded, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyDraft {
    pub asset_id: i64,
    pub surveyed_at: OffsetDateTime,
    pub surveyor: String,
    pub conditions: BTreeMap<SurveyElement, Condition>,
    pub danger_grade: Option<DangerGrade>,
    pub floor_height_m: Option<f64>,
    pub lane_height_m: Option<f64>,
    pub notes: Option<String>,
}

impl SurveyDraft {
    /// The asset's condition from this survey: its worst element.
    pub fn overall(&self) -> Option<Condition> {
        self.conditions.values().min().copied()
    }

    /// Whether the yard's floor sits below the lane beside it (where rain
    /// runs in and stands).
    pub fn floor_below_lane(&self) -> Option<bool> {
        Some(self.floor_height_m? < self.lane_height_m?)
    }

    /// The elements at or below [`POOR_CONDITION`], worst first.
    pub fn poor_elements(&self) -> Vec<(SurveyElement, Condition)> {
        let mut poor: Vec<(SurveyElement, Condition)> = self
            .conditions
            .iter()
            .filter(|(_, c)| c.score() <= POOR_CONDITION)
            .map(|(e, c)| (*e, *c))
            .collect();
        poor.sort_by_key(|(e, c)| (*c, *e));
        poor
    }

    /// Checks what no single field shows: at least one element, heights
    /// in range, the grade for buildings only.
    pub fn check(&self, is_building: bool) -> Result<(), ValidationError> {
        let mut errors = Vec::new();
        if self.conditions.is_empty() {
            errors.push(FieldError::new(
                "/conditions",
                "scores at least one element (1–5)",
            ));
        }
        if self.danger_grade.is_some() && !is_building {
            errors.push(FieldError::new(
                "/danger_grade",
                "is given for buildings only",
            ));
        }
        for (pointer, height) in [
            ("/floor_height_m", self.floor_height_m),
            ("/lane_height_m", self.lane_height_m),
        ] {
            if let Some(h) = height {
                if !h.is_finite() || !HEIGHT_RANGE_M.contains(&h) {
                    errors.push(FieldError::new(
                        pointer,
                        "must be metres above the datum, -100 to 9,000",
                    ));
                } else if is_building {
                    errors.push(FieldError::new(pointer, "is measured in courtyards"));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationError { errors })
        }
    }
}

/// A stored survey.
#[derive(Debug, Clone, PartialEq)]
pub struct Survey {
    pub id: i64,
    pub draft: SurveyDraft,
    pub surveyed_by: Option<i64>,
    pub work_order_id: Option<i64>,
    pub photos: Vec<i64>,
    pub created_at: OffsetDateTime,
}

impl Serialize for Survey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = &self.draft;
        let conditions: BTreeMap<&str, u8> = d
            .conditions
            .iter()
            .map(|(e, c)| (e.as_str(), c.score()))
            .collect();
        serde_json::json!({
            "id": self.id,
            "asset_id": d.asset_id,
            "surveyed_at": super::utc_text(d.surveyed_at),
            "surveyor": d.surveyor,
            "conditions": conditions,
            "condition": d.overall().map(Condition::score),
            "danger_grade": d.danger_grade,
            "floor_height_m": d.floor_height_m,
            "lane_height_m": d.lane_height_m,
            "floor_below_lane": d.floor_below_lane(),
            "notes": d.notes,
            "surveyed_by": self.surveyed_by,
            "work_order_id": self.work_order_id,
            "photos": self.photos,
            "created_at": super::utc_text(self.created_at),
        })
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(scores: &[(SurveyElement, i64)]) -> SurveyDraft {
        SurveyDraft {
            asset_id: 1,
            surveyed_at: OffsetDateTime::UNIX_EPOCH,
            surveyor: "x".into(),
            conditions: scores
                .iter()
                .map(|(e, s)| (*e, Condition::new(*s).expect("score")))
                .collect(),
            danger_grade: None,
            floor_height_m: Some(43.2),
            lane_height_m: Some(43.5),
            notes: None,
        }
    }

    #[test]
    fn the_worst_element_is_the_assets_condition() {
        let d = draft(&[(SurveyElement::Roof, 4), (SurveyElement::Walls, 2)]);
        assert_eq!(d.overall().map(Condition::score), Some(2));
        assert_eq!(
            d.poor_elements(),
            vec![(SurveyElement::Walls, Condition::new(2).expect("2"))]
        );
        assert_eq!(d.floor_below_lane(), Some(true));
        assert!(d.check(false).is_ok());
        assert!(d.check(true).is_err(), "heights are for courtyards");
        assert!(draft(&[]).check(false).is_err());
    }
}
