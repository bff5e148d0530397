//! API tokens: creation and authentication. A token is 256 random bits
//! shown once; only its SHA-256 is stored. (A fast hash is right here:
//! the tokens are random, not passwords, so there is nothing to guess.)

use crate::domain::{Principal, Role};
use crate::services::store_failure::StoreFailure;
use crate::store::{Store, StoreError, TokenRecord, TokenSpec};

/// A principal and when its token expires.
type CachedPrincipal = (Principal, Option<time::OffsetDateTime>);
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN_PREFIX: &str = "hut_";

/// How long a looked-up token is trusted without asking the store again:
/// a revoked token stops working within this time.
pub const TOKEN_CACHE_SECONDS: u64 = 30;

pub struct Tokens {
    store: Arc<dyn Store>,
    /// Token hash → principal with its expiry (or `None`: unknown or
    /// revoked) and when it was read.
    cache: std::sync::Mutex<HashMap<String, (Option<CachedPrincipal>, Instant)>>,
}

use crate::encoding::hex;

/// SHA-256 of a token, hex-encoded.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

impl Tokens {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cache: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Creates a token; returns the token text (shown once) and its record.
    /// A `unit` token names its unit; a `crew` token may name its unit and
    /// crew (then it acts on that crew's work orders); no other role names
    /// either. An expiry must lie in the future.
    pub async fn create(&self, spec: &TokenSpec) -> Result<(String, TokenRecord), StoreError> {
        let role = spec
            .role
            .ok_or_else(|| StoreError::Conflict("a token needs a role".into()))?;
        if role == Role::Unit && (spec.unit.is_none() || spec.crew.is_some()) {
            return Err(StoreError::Conflict(
                "a unit token names its unit (--unit) and no crew".into(),
            ));
        }
        if spec.unit.is_some() && !matches!(role, Role::Unit | Role::Crew) {
            return Err(StoreError::Conflict(
                "only a unit or crew token names a unit".into(),
            ));
        }
        if spec.crew.is_some() && (role != Role::Crew || spec.unit.is_none()) {
            return Err(StoreError::Conflict(
                "only a crew token names a crew, with the crew's unit".into(),
            ));
        }
        if spec
            .expires_at
            .is_some_and(|at| at <= time::OffsetDateTime::now_utc())
        {
            return Err(StoreError::Conflict(
                "the token would expire before it is made".into(),
            ));
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| StoreError::Corrupt(format!("no randomness: {e}")))?;
        let token = format!("{TOKEN_PREFIX}{}", hex(&secret));
        let record = self.store.insert_token(&token_hash(&token), spec).await?;
        crate::services::audit::record(
            self.store.as_ref(),
            vec![crate::services::audit::Change::new(
                "token",
                record.id,
                "created",
                None,
                Some(token_json(&record)),
            )],
        )
        .await;
        Ok((token, record))
    }

    /// Every token (at most 10,000, newest first), never their secrets.
    pub async fn list(&self) -> Result<Vec<TokenRecord>, StoreFailure> {
        Ok(self.store.list_tokens(10_000).await?)
    }

    /// Revokes a token; at once on this instance, within
    /// [`TOKEN_CACHE_SECONDS`] on others. `None`: no such token.
    pub async fn revoke(&self, id: i64) -> Result<Option<TokenRecord>, StoreFailure> {
        let before = self
            .store
            .list_tokens(10_000)
            .await?
            .into_iter()
            .find(|t| t.id == id);
        let record = self.store.revoke_token(id).await?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, (p, _)| p.as_ref().is_none_or(|(p, _)| p.token_id != id));
        }
        if let (Some(before), Some(after)) = (&before, &record) {
            if before.revoked_at.is_none() {
                crate::services::audit::record(
                    self.store.as_ref(),
                    vec![crate::services::audit::Change::new(
                        "token",
                        id,
                        "revoked",
                        Some(token_json(before)),
                        Some(token_json(after)),
                    )],
                )
                .await;
            }
        }
        Ok(record)
    }

    /// The principal a bearer token stands for, if it is a live token:
    /// known, not revoked, not expired.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Principal>, StoreFailure> {
        // Reject garbage before touching the database.
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let hash = token_hash(token);
        let ttl = Duration::from_secs(TOKEN_CACHE_SECONDS);
        let now = time::OffsetDateTime::now_utc();
        let live = |entry: &Option<(Principal, Option<time::OffsetDateTime>)>| {
            entry
                .as_ref()
                .filter(|(_, expires)| expires.is_none_or(|e| now < e))
                .map(|(p, _)| p.clone())
        };
        if let Ok(cache) = self.cache.lock() {
            if let Some((entry, read_at)) = cache.get(&hash) {
                if read_at.elapsed() < ttl {
                    return Ok(live(entry));
                }
            }
        }
        let entry = self
            .store
            .find_token(&hash)
            .await?
            .filter(|r| r.revoked_at.is_none())
            .map(|r| {
                (
                    Principal {
                        token_id: r.id,
                        role: r.role,
                        district: r.district,
                        unit: r.unit,
                        crew: r.crew,
                        label: r.label,
                    },
                    r.expires_at,
                )
            });
        let principal = live(&entry);
        if let Ok(mut cache) = self.cache.lock() {
            // Bounded: unknown tokens sent by an attacker must not grow it
            // without end.
            if cache.len() >= 10_000 {
                cache.retain(|_, (_, at)| at.elapsed() < ttl);
                if cache.len() >= 10_000 {
                    cache.clear();
                }
            }
            cache.insert(hash, (entry, Instant::now()));
        }
        Ok(principal)
    }
}

/// A token as shown to an admin: everything but its secret (which is
/// not stored) and its hash.
pub fn token_json(record: &TokenRecord) -> serde_json::Value {
    let now = time::OffsetDateTime::now_utc();
    serde_json::json!({
        "id": record.id,
        "role": record.role,
        "district": record.district,
        "unit": record.unit.as_ref().map(|u| u.as_str()),
        "crew": record.crew.as_ref().map(|c| c.as_str()),
        "label": record.label,
        "created_at": crate::domain::utc_text(record.created_at),
        "expires_at": record.expires_at.map(crate::domain::utc_text),
        "revoked_at": record.revoked_at.map(crate::domain::utc_text),
        "live": record.is_live(now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_hex_sha256() {
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
