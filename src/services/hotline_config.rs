//! How the hotline loop runs, as data (`config/hotline.json`, built in):
//! the case types taken and how each is handled, the deadline tiers of a
//! dispatch, the call-back satisfaction scale, and the retention period.

use crate::domain::{CaseType, Category, DeadlineTier};
use serde::Deserialize;
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// The built-in configuration.
pub const DEFAULT_HOTLINE: &str = include_str!("../../config/hotline.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseTypeRule {
    pub title: String,
    pub title_zh: String,
    /// May be closed at intake, answered on the call (inquiries).
    pub answer_on_call: bool,
    /// Dispatched at intake when a routing rule decides.
    pub auto_dispatch: bool,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierTimes {
    #[serde(default, rename = "_about")]
    _about: serde::de::IgnoredAny,
    pub response_hours: f64,
    pub resolution_hours: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SatisfactionLevel {
    pub code: String,
    pub title_zh: String,
    /// Its share in the satisfaction rate: 1 for satisfied, 0 for not.
    pub weight: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotlineConfig {
    #[serde(default, rename = "_about")]
    _about: serde::de::IgnoredAny,
    /// The case types taken; one left out is refused at intake.
    pub case_types: BTreeMap<CaseType, CaseTypeRule>,
    pub deadline_tiers: BTreeMap<DeadlineTier, TierTimes>,
    pub default_tier: DeadlineTier,
    #[serde(default)]
    pub category_tiers: BTreeMap<Category, DeadlineTier>,
    pub satisfaction_scale: Vec<SatisfactionLevel>,
    pub retention_days: u32,
}

/// The response and resolution deadlines of a dispatch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deadlines {
    pub response_due: OffsetDateTime,
    pub resolution_due: OffsetDateTime,
}

impl HotlineConfig {
    /// Parses and checks a configuration.
    pub fn parse(json: &str) -> Result<Self, String> {
        let config: HotlineConfig =
            serde_json::from_str(json).map_err(|e| format!("hotline configuration: {e}"))?;
        for tier in DeadlineTier::ALL {
            let Some(t) = config.deadline_tiers.get(tier) else {
                return Err(format!(
                    "hotline configuration: deadline tier {tier} is missing"
                ));
            };
            let ok = |h: f64| h.is_finite() && h > 0.0 && h <= 24.0 * 366.0;
            if !ok(t.response_hours)
                || !ok(t.resolution_hours)
                || t.response_hours > t.resolution_hours
            {
                return Err(format!(
                    "hotline configuration: tier {tier} needs 0 < response_hours <= resolution_hours <= a year"
                ));
            }
        }
        if config.case_types.is_empty() {
            return Err("hotline configuration: no case types".into());
        }
        if config.satisfaction_scale.is_empty() {
            return Err("hotline configuration: the satisfaction scale is empty".into());
        }
        for level in &config.satisfaction_scale {
            if !(0.0..=1.0).contains(&level.weight) {
                return Err(format!(
                    "hotline configuration: satisfaction {} has a weight outside 0..1",
                    level.code
                ));
            }
            if crate::domain::UnitCode::parse(&level.code.replace('_', "-")).is_err() {
                return Err(format!(
                    "hotline configuration: satisfaction code {:?} must be lower-case letters, digits and '_'",
                    level.code
                ));
            }
        }
        Ok(config)
    }

    /// The built-in configuration (checked by a unit test).
    pub fn builtin() -> Result<Self, String> {
        Self::parse(DEFAULT_HOTLINE)
    }

    /// The tier a case of this category gets unless the dispatcher says.
    pub fn tier_of(&self, category: Category) -> DeadlineTier {
        self.category_tiers
            .get(&category)
            .copied()
            .unwrap_or(self.default_tier)
    }

    /// The deadlines of a dispatch of this tier made at `at`.
    pub fn deadlines(&self, tier: DeadlineTier, at: OffsetDateTime) -> Deadlines {
        let hours = |h: f64| Duration::seconds_f64(h * 3600.0);
        let times = self
            .deadline_tiers
            .get(&tier)
            .copied()
            .unwrap_or(TierTimes {
                _about: serde::de::IgnoredAny,
                response_hours: 24.0,
                resolution_hours: 168.0,
            });
        Deadlines {
            response_due: crate::domain::to_millis(at + hours(times.response_hours)),
            resolution_due: crate::domain::to_millis(at + hours(times.resolution_hours)),
        }
    }

    pub fn case_type(&self, case_type: CaseType) -> Option<&CaseTypeRule> {
        self.case_types.get(&case_type)
    }

    /// The satisfaction codes with their weights.
    pub fn satisfaction_weights(&self) -> Vec<(String, f64)> {
        self.satisfaction_scale
            .iter()
            .map(|l| (l.code.clone(), l.weight))
            .collect()
    }

    /// The codes of the satisfaction scale, comma-separated.
    pub fn satisfaction_codes(&self) -> String {
        self.satisfaction_scale
            .iter()
            .map(|l| l.code.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn retention(&self) -> Duration {
        Duration::days(i64::from(self.retention_days))
    }
}

/// What the hotline loop runs on: the configuration, the responsible
/// units and the key callers' phones are hashed under.
pub struct Hotline {
    pub config: HotlineConfig,
    pub units: crate::services::routing::ResponsibleUnits,
    pub phone_key: Vec<u8>,
    /// The administrative areas a case's district, street and community
    /// are derived from.
    pub areas: std::sync::Arc<crate::services::areas::Areas>,
}

/// The name of the caller-phone key in the store.
pub const PHONE_KEY: &str = "caller_phone_hmac";

impl Hotline {
    /// The built-in configuration and units, with the store's phone key
    /// (made now if this database has none).
    pub async fn builtin(
        store: &std::sync::Arc<dyn crate::store::Store>,
        limits: crate::spatial::GeometryLimits,
    ) -> Result<Self, String> {
        Self::open(
            store,
            limits,
            HotlineConfig::builtin()?,
            crate::services::routing::ResponsibleUnits::builtin()?,
        )
        .await
        .map_err(|e| format!("cannot read the caller-phone key or the areas: {e}"))
    }

    pub async fn open(
        store: &std::sync::Arc<dyn crate::store::Store>,
        limits: crate::spatial::GeometryLimits,
        config: HotlineConfig,
        units: crate::services::routing::ResponsibleUnits,
    ) -> Result<Self, crate::store::StoreError> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| {
            crate::store::StoreError::Corrupt(format!("no randomness for the phone key: {e}"))
        })?;
        let phone_key = store.service_key(PHONE_KEY, &fresh).await?;
        // Cases stored before phones were hashed get their hash once, so
        // that a caller's history finds them.
        loop {
            let batch = store.unhashed_phones(5_000).await?;
            if batch.is_empty() {
                break;
            }
            tracing::info!(cases = batch.len(), "hashing stored callers' phones");
            let hashes: Vec<(i64, String)> = batch
                .into_iter()
                .map(|(id, phone)| (id, crate::domain::phone_digest(&phone_key, &phone)))
                .collect();
            store.set_caller_hashes(&hashes).await?;
        }
        let areas = crate::services::areas::Areas::open(store.clone(), limits).await?;
        Ok(Self {
            config,
            units,
            phone_key,
            areas: std::sync::Arc::new(areas),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_configuration_is_valid_and_tiers_are_as_documented() {
        let config = HotlineConfig::parse(DEFAULT_HOTLINE).expect("valid");
        assert_eq!(config.case_types.len(), 6);
        let at = OffsetDateTime::UNIX_EPOCH;
        let d = config.deadlines(DeadlineTier::Emergency, at);
        assert_eq!(d.resolution_due - at, Duration::hours(2));
        let d = config.deadlines(DeadlineTier::Utilities, at);
        assert_eq!(d.resolution_due - at, Duration::hours(24));
        let d = config.deadlines(DeadlineTier::General, at);
        assert_eq!(d.resolution_due - at, Duration::days(7));
        let d = config.deadlines(DeadlineTier::Complex, at);
        assert_eq!(d.resolution_due - at, Duration::days(15));
        assert_eq!(
            config.tier_of(Category::WaterPooling),
            DeadlineTier::Utilities
        );
        assert_eq!(config.tier_of(Category::DarkLane), DeadlineTier::General);
        assert!(
            config
                .case_type(CaseType::Inquiry)
                .is_some_and(|t| t.answer_on_call)
        );
    }

    #[test]
    fn broken_configurations_are_refused() {
        let good: serde_json::Value = serde_json::from_str(DEFAULT_HOTLINE).expect("json");
        let mut no_tier = good.clone();
        no_tier["deadline_tiers"]
            .as_object_mut()
            .map(|m| m.remove("complex"));
        let mut bad_weight = good.clone();
        bad_weight["satisfaction_scale"][0]["weight"] = 2.into();
        let mut slow_response = good.clone();
        slow_response["deadline_tiers"]["general"]["response_hours"] = 999.into();
        for bad in [no_tier, bad_weight, slow_response] {
            assert!(HotlineConfig::parse(&bad.to_string()).is_err(), "{bad}");
        }
    }
}
