//! Citizen complaints: 12345 case numbers, channels, categories, the
//! status lifecycle and satisfaction.

use super::{Caller, Role};
#[cfg(test)]
use super::{District, Principal};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Identifier of a stored complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ComplaintId(pub i64);

impl fmt::Display for ComplaintId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for ComplaintId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse::<i64>() {
            Ok(n) if n > 0 => Ok(ComplaintId(n)),
            _ => Err(format!(
                "complaint id must be a positive integer, got {s:?}"
            )),
        }
    }
}

/// A 12345 hotline case number, e.g. `BJ12345-20241018-000123`: 1 to 64
/// characters of ASCII letters, digits, `-`, `_` and `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseNumber(String);

impl CaseNumber {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text.len() > 64 {
            return Err(format!(
                "case number must be 1 to 64 characters, got {}",
                text.len()
            ));
        }
        if !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err("case number may only hold ASCII letters, digits, '-', '_' and '.'".into());
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CaseNumber {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for CaseNumber {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CaseNumber> for String {
    fn from(value: CaseNumber) -> Self {
        value.0
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $id:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $id),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($id => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} {other:?}; expected one of: {}",
                        stringify!($name).to_lowercase(),
                        [$($id),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary;

vocabulary! {
    /// How a complaint arrived. `grid`: found by a grid worker (网格员)
    /// patrolling their cell, counted apart from citizens' cases.
    Channel {
        Phone => "phone",
        Web => "web",
        Wechat => "wechat",
        Weibo => "weibo",
        App => "app",
        Open311 => "open311",
        Grid => "grid",
    }
}

vocabulary! {
    /// The kind of contact, as the hotline regulation names them (咨询 /
    /// 求助 / 投诉 / 举报 / 建议 / 表扬). Which ones need a unit to act is
    /// configured (`config/hotline.json`).
    CaseType {
        Inquiry => "inquiry",
        Help => "help",
        Complaint => "complaint",
        Report => "report",
        Suggestion => "suggestion",
        Praise => "praise",
    }
}

vocabulary! {
    /// How a case got its location: sent coordinates, the gazetteer
    /// matching its address to a house (courtyard or building) or only to
    /// a way (lane or street), an operator placing it by hand, or not at
    /// all (it waits for an operator).
    LocatedBy {
        Coordinates => "coordinates",
        AddressHouse => "address_house",
        AddressWay => "address_way",
        Operator => "operator",
        Unlocated => "unlocated",
    }
}

vocabulary! {
    /// The deadline tier of a dispatch (`config/hotline.json` gives each
    /// its response and resolution times): an emergency or a risk to life
    /// or property; water, power, gas or heating; general; complex.
    DeadlineTier {
        Emergency => "emergency",
        Utilities => "utilities",
        General => "general",
        Complex => "complex",
    }
}

vocabulary! {
    /// What a complaint is about; also the Open311 `service_code`s.
    Category {
        WaterPooling => "water_pooling",
        DrainageBlockage => "drainage_blockage",
        BrokenLight => "broken_light",
        DarkLane => "dark_lane",
        EbikeCharging => "ebike_charging",
        ElevatorInstallation => "elevator_installation",
        HousingLeak => "housing_leak",
        IllegalConstruction => "illegal_construction",
        PropertyCertificate => "property_certificate",
        ObstructedPassage => "obstructed_passage",
        GreenSpace => "green_space",
        ElderlyServices => "elderly_services",
        Other => "other",
    }
}

vocabulary! {
    /// Where a complaint is in its lifecycle: received → dispatched (to a
    /// unit) → in_progress (the unit accepted) → resolved → closed (after
    /// the call-back), or rejected. A unit may send a dispatched case back
    /// (→ received); a call-back "not solved" reopens a resolved one
    /// (→ dispatched); a case that needs no unit may be closed at once.
    ComplaintStatus {
        Received => "received",
        Dispatched => "dispatched",
        InProgress => "in_progress",
        Resolved => "resolved",
        Closed => "closed",
        Rejected => "rejected",
    }
}

impl Category {
    /// Human name, for Open311 `service_name`.
    pub fn title(self) -> &'static str {
        match self {
            Category::WaterPooling => "Water pooling after rain",
            Category::DrainageBlockage => "Blocked drain or gully",
            Category::BrokenLight => "Broken street or wall light",
            Category::DarkLane => "Dark lane at night",
            Category::EbikeCharging => "E-bike charging",
            Category::ElevatorInstallation => "Elevator installation",
            Category::HousingLeak => "Leaking roof or wall",
            Category::IllegalConstruction => "Illegal construction",
            Category::PropertyCertificate => "Property certificate",
            Category::ObstructedPassage => "Obstructed passage",
            Category::GreenSpace => "Green space",
            Category::ElderlyServices => "Services for the elderly",
            Category::Other => "Other",
        }
    }

    /// Open311 `group`.
    pub fn group(self) -> &'static str {
        match self {
            Category::WaterPooling | Category::DrainageBlockage => "Drainage",
            Category::BrokenLight | Category::DarkLane => "Lighting",
            Category::EbikeCharging => "E-bikes",
            Category::ElevatorInstallation
            | Category::HousingLeak
            | Category::PropertyCertificate => "Housing",
            Category::IllegalConstruction | Category::ObstructedPassage => "Public space",
            Category::GreenSpace => "Greening",
            Category::ElderlyServices => "Community services",
            Category::Other => "Other",
        }
    }

    /// Open311 `keywords`.
    pub fn keywords(self) -> &'static str {
        match self {
            Category::WaterPooling => "water, rain, flooding, ponding",
            Category::DrainageBlockage => "drain, gully, sewer, blocked",
            Category::BrokenLight => "light, lamp, broken",
            Category::DarkLane => "dark, lighting, night, safety",
            Category::EbikeCharging => "e-bike, charging, charger, fire",
            Category::ElevatorInstallation => "elevator, lift, stairs, elderly",
            Category::HousingLeak => "leak, roof, wall, damp",
            Category::IllegalConstruction => "illegal, construction, shed, extension",
            Category::PropertyCertificate => "property, certificate, ownership",
            Category::ObstructedPassage => "passage, blocked, parking, clutter",
            Category::GreenSpace => "trees, green, garden",
            Category::ElderlyServices => "elderly, care, meals",
            Category::Other => "other",
        }
    }
}

impl ComplaintStatus {
    /// Whether the case still needs work (Open311 `open`).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ComplaintStatus::Received | ComplaintStatus::Dispatched | ComplaintStatus::InProgress
        )
    }

    /// The legal next statuses. `resolved` may go back to `in_progress`
    /// when the caller is not satisfied; `closed` and `rejected` are final.
    pub fn next(self) -> &'static [ComplaintStatus] {
        use ComplaintStatus::*;
        match self {
            Received => &[Dispatched, Closed, Rejected],
            Dispatched => &[InProgress, Received, Rejected],
            InProgress => &[Resolved, Rejected],
            Resolved => &[Closed, InProgress, Dispatched],
            Closed | Rejected => &[],
        }
    }

    pub fn may_become(self, to: ComplaintStatus) -> bool {
        self.next().contains(&to)
    }

    /// Who may move a complaint into this status: hotline operators and
    /// admins always; crews and a unit's staff may start and resolve work.
    pub fn may_be_set_by(self, role: Role) -> bool {
        match role {
            Role::Admin | Role::Operator => true,
            Role::Crew | Role::Unit => matches!(
                self,
                ComplaintStatus::InProgress | ComplaintStatus::Resolved
            ),
            Role::Planner | Role::Designer => false,
        }
    }
}

/// Satisfaction of the caller with the resolution, 1 (very unsatisfied)
/// to 5 (very satisfied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct Satisfaction(u8);

impl Satisfaction {
    pub fn score(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Satisfaction {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        if (1..=5).contains(&value) {
            Ok(Self(value as u8))
        } else {
            Err(format!(
                "satisfaction must be an integer from 1 to 5, got {value}"
            ))
        }
    }
}

impl From<Satisfaction> for u8 {
    fn from(value: Satisfaction) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::may_see_personal_data;

    #[test]
    fn case_numbers_are_checked() {
        assert!(CaseNumber::parse("BJ12345-20241018-000123").is_ok());
        assert_eq!(
            CaseNumber::parse("  A1 ").map(|c| c.to_string()),
            Ok("A1".into())
        );
        for bad in ["", "a b", "x".repeat(65).as_str(), "案件1", "1;DROP"] {
            assert!(CaseNumber::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn the_lifecycle_allows_only_its_transitions() {
        use ComplaintStatus::*;
        let legal = [
            (Received, Dispatched),
            (Received, Closed),
            (Received, Rejected),
            (Dispatched, InProgress),
            (Dispatched, Received),
            (Resolved, Dispatched),
            (Dispatched, Rejected),
            (InProgress, Resolved),
            (InProgress, Rejected),
            (Resolved, Closed),
            (Resolved, InProgress),
        ];
        for from in ComplaintStatus::ALL {
            for to in ComplaintStatus::ALL {
                assert_eq!(
                    from.may_become(*to),
                    legal.contains(&(*from, *to)),
                    "{from} -> {to}"
                );
            }
        }
        assert!(
            Received.is_open()
                && InProgress.is_open()
                && !Resolved.is_open()
                && !Rejected.is_open()
        );
    }

    #[test]
    fn only_operators_admins_and_crews_move_complaints() {
        use ComplaintStatus::*;
        assert!(Dispatched.may_be_set_by(Role::Operator));
        assert!(Closed.may_be_set_by(Role::Admin));
        assert!(Resolved.may_be_set_by(Role::Crew));
        assert!(!Dispatched.may_be_set_by(Role::Crew));
        assert!(!InProgress.may_be_set_by(Role::Planner));
        let operator = Principal {
            token_id: 1,
            role: Role::Operator,
            district: None,
            unit: None,
            crew: None,
            label: None,
        };
        let scoped = Principal {
            district: Some(District::Dongcheng),
            ..operator.clone()
        };
        let crew = Principal {
            role: Role::Crew,
            ..operator.clone()
        };
        assert!(may_see_personal_data(
            Some(&operator),
            Some(District::Changping)
        ));
        assert!(may_see_personal_data(
            Some(&scoped),
            Some(District::Dongcheng)
        ));
        assert!(!may_see_personal_data(
            Some(&scoped),
            Some(District::Changping)
        ));
        assert!(!may_see_personal_data(Some(&scoped), None));
        assert!(!may_see_personal_data(Some(&crew), None));
        assert!(!may_see_personal_data(None, None));
    }

    #[test]
    fn categories_and_channels_parse_from_their_codes() {
        assert_eq!(Category::ALL.len(), 13);
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>(), Ok(*c));
            assert!(!c.title().is_empty() && !c.group().is_empty());
        }
        assert_eq!(Channel::ALL.len(), 7);
        assert_eq!(CaseType::ALL.len(), 6);
        assert!("fax".parse::<Channel>().is_err());
        assert!(
            "pothole"
                .parse::<Category>()
                .err()
                .unwrap_or_default()
                .contains("water_pooling")
        );
        assert!(Satisfaction::try_from(0).is_err() && Satisfaction::try_from(5).is_ok());
    }
}

/// A complaint as taken in, validated, with its location in WGS 84.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplaintDraft {
    pub case_number: CaseNumber,
    pub channel: Channel,
    pub case_type: CaseType,
    pub category: Category,
    pub description: String,
    pub address: Option<String>,
    pub district: Option<super::District>,
    /// The street (街道/乡镇) and community (社区/村) the location lies in,
    /// by the imported areas' codes.
    pub street: Option<String>,
    pub community: Option<String>,
    /// WGS 84 longitude/latitude; `None` for an unlocated case.
    pub location: Option<(f64, f64)>,
    /// The coordinates as received, in `coord_sys` (the location itself
    /// when it came from the address or an operator).
    pub raw_location: Option<(f64, f64)>,
    pub located_by: LocatedBy,
    pub coord_sys: super::CoordSys,
    pub reported_at: time::OffsetDateTime,
    pub caller: Caller,
    /// The caller's phone as a keyed hash (see `caller.rs`), for finding
    /// their earlier cases.
    pub caller_phone_hash: Option<String>,
    /// An inquiry answered on the call: closed at intake, never dispatched.
    pub answered_on_call: bool,
}

impl ComplaintDraft {
    /// The status a case has when it is taken in.
    pub fn initial_status(&self) -> ComplaintStatus {
        if self.answered_on_call {
            ComplaintStatus::Closed
        } else {
            ComplaintStatus::Received
        }
    }
}

/// A stored complaint.
#[derive(Debug, Clone, PartialEq)]
pub struct Complaint {
    pub id: ComplaintId,
    pub draft: ComplaintDraft,
    pub status: ComplaintStatus,
    pub resolution: Option<String>,
    pub satisfaction: Option<Satisfaction>,
    pub duplicate_of: Option<ComplaintId>,
    /// Findings of the linking rules, e.g. `no_charger_nearby`.
    pub flags: Vec<String>,
    pub created_at: time::OffsetDateTime,
    pub updated_at: time::OffsetDateTime,
    /// The unit the case is with and its deadlines, once dispatched.
    pub handling: Option<super::Handling>,
    pub closed_at: Option<time::OffsetDateTime>,
    /// Why the case is kept out of the rates, and the admin who approved.
    pub not_assessable: Option<NotAssessable>,
    /// When the caller's name and phone were erased after retention.
    pub personal_data_erased_at: Option<time::OffsetDateTime>,
}

impl Complaint {
    /// Whether the case is past a deadline of its dispatch at `now`: not
    /// accepted by the response deadline, or not resolved by the
    /// resolution deadline.
    pub fn is_overdue(&self, now: time::OffsetDateTime) -> bool {
        match (&self.handling, self.status) {
            (Some(h), ComplaintStatus::Dispatched) => {
                now > h.response_due || now > h.resolution_due
            }
            (Some(h), ComplaintStatus::InProgress) => now > h.resolution_due,
            _ => false,
        }
    }
}

/// A case kept out of the rates: an unreasonable demand, say.
#[derive(Debug, Clone, PartialEq)]
pub struct NotAssessable {
    pub reason: String,
    /// The token of the admin who approved.
    pub approved_by: i64,
}

/// One step of a complaint's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusChange {
    pub from: Option<ComplaintStatus>,
    pub to: ComplaintStatus,
    /// The step of the loop (dispatched, accepted, sent_back, reopened,
    /// called_back, located, not_assessable, personal_data_erased);
    /// absent for a plain status change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The step's own facts: deadlines, call-back answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    pub note: Option<String>,
    /// Role of whoever made the change (`system` for intake).
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
}
