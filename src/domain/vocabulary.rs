//! Closed vocabularies used by asset attributes. Each serializes as the
//! snake_case identifier shown in its doc comment.

use serde::{Deserialize, Serialize};

/// Protection status under Chinese heritage law: `national`, `municipal`
/// and `district` protected units, `registered` (listed in the cultural
/// relics census, not yet graded), `historic_building` (Beijing's list of
/// historic buildings), or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HeritageGrade {
    National,
    Municipal,
    District,
    Registered,
    HistoricBuilding,
    None,
}

/// Surface of a courtyard or lane: `brick`, `stone`, `concrete`,
/// `asphalt`, `permeable`, `soil`, `mixed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Paving {
    Brick,
    Stone,
    Concrete,
    Asphalt,
    Permeable,
    Soil,
    Mixed,
}

impl Paving {
    pub const ALL: [Paving; 7] = [
        Paving::Brick,
        Paving::Stone,
        Paving::Concrete,
        Paving::Asphalt,
        Paving::Permeable,
        Paving::Soil,
        Paving::Mixed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Paving::Brick => "brick",
            Paving::Stone => "stone",
            Paving::Concrete => "concrete",
            Paving::Asphalt => "asphalt",
            Paving::Permeable => "permeable",
            Paving::Soil => "soil",
            Paving::Mixed => "mixed",
        }
    }
}

/// Load-bearing structure of a building: `timber` (traditional frame),
/// `brick_wood`, `brick_concrete`, `concrete_frame`, `steel`, `temporary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Structure {
    Timber,
    BrickWood,
    BrickConcrete,
    ConcreteFrame,
    Steel,
    Temporary,
}

/// Where a building stands on elevator retrofitting: `none`,
/// `not_feasible`, `requested`, `planned`, `installing`, `installed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ElevatorStatus {
    None,
    NotFeasible,
    Requested,
    Planned,
    Installing,
    Installed,
}

/// A drainage point: street `inlet` (gully), `manhole`, or `outfall`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DrainageType {
    Inlet,
    Manhole,
    Outfall,
}

/// How likely water is to pond around a drainage point after rain:
/// `low`, `medium`, `high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PondingRisk {
    Low,
    Medium,
    High,
}

/// Mounting of a light: `street` (pole), `wall`, `courtyard`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LightType {
    Street,
    Wall,
    Courtyard,
}

/// Presence sensor of a light: `none`, `pir` (passive infrared),
/// `microwave` (radar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LightSensor {
    None,
    Pir,
    Microwave,
}

/// Whether a light works: `working`, `faulty`, `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LightStatus {
    Working,
    Faulty,
    Off,
}

/// Who may use an e-bike charger: `public`, `residents`, `private`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChargerAccess {
    Public,
    Residents,
    Private,
}

/// State of an e-bike charger: `working`, `faulty`, `offline`, `planned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChargerStatus {
    Working,
    Faulty,
    Offline,
    Planned,
}

/// What a facility is for, after the life-circle facilities of GB
/// 50180-2018: `park`, `sports_ground`, `elderly_care` (a day-care or
/// service station for the elderly), `community_centre`, `clinic` (a
/// community health service centre). The engineering rules name the life
/// circle (5, 10 or 15 minutes' walk) each should serve.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FacilityType {
    Park,
    SportsGround,
    ElderlyCare,
    CommunityCentre,
    Clinic,
}

impl FacilityType {
    pub const ALL: [FacilityType; 5] = [
        FacilityType::Park,
        FacilityType::SportsGround,
        FacilityType::ElderlyCare,
        FacilityType::CommunityCentre,
        FacilityType::Clinic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FacilityType::Park => "park",
            FacilityType::SportsGround => "sports_ground",
            FacilityType::ElderlyCare => "elderly_care",
            FacilityType::CommunityCentre => "community_centre",
            FacilityType::Clinic => "clinic",
        }
    }
}

impl std::str::FromStr for FacilityType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FacilityType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown facility type {s:?}; expected park, sports_ground, elderly_care, community_centre or clinic"
                )
            })
    }
}
