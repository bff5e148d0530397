//! API tokens: creation and authentication. A token is 256 random bits
//! shown once; only its SHA-256 is stored. (A fast hash is right here:
//! the tokens are random, not passwords, so there is nothing to guess.)

use crate::domain::{District, Principal, Role, UnitCode};
use crate::services::store_failure::StoreFailure;
use crate::store::{Store, StoreError, TokenRecord};
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
    /// Token hash → principal (or `None`: unknown) and when it was read.
    cache: std::sync::Mutex<HashMap<String, (Option<Principal>, Instant)>>,
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
    /// A `unit` token must name its unit, and no other role may.
    pub async fn create(
        &self,
        role: Role,
        district: Option<District>,
        unit: Option<&UnitCode>,
        label: Option<&str>,
    ) -> Result<(String, TokenRecord), StoreError> {
        if (role == Role::Unit) != unit.is_some() {
            return Err(StoreError::Conflict(
                "a unit token names its unit (--unit), and only a unit token does".into(),
            ));
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| StoreError::Corrupt(format!("no randomness: {e}")))?;
        let token = format!("{TOKEN_PREFIX}{}", hex(&secret));
        let record = self
            .store
            .insert_token(&token_hash(&token), role, district, unit, label)
            .await?;
        Ok((token, record))
    }

    /// The principal a bearer token stands for, if it is a live token.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Principal>, StoreFailure> {
        // Reject garbage before touching the database.
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let hash = token_hash(token);
        let ttl = Duration::from_secs(TOKEN_CACHE_SECONDS);
        if let Ok(cache) = self.cache.lock() {
            if let Some((principal, read_at)) = cache.get(&hash) {
                if read_at.elapsed() < ttl {
                    return Ok(principal.clone());
                }
            }
        }
        let principal = self.store.find_token(&hash).await?.map(|r| Principal {
            token_id: r.id,
            role: r.role,
            district: r.district,
            unit: r.unit,
        });
        if let Ok(mut cache) = self.cache.lock() {
            // Bounded: unknown tokens sent by an attacker must not grow it
            // without end.
            if cache.len() >= 10_000 {
                cache.retain(|_, (_, at)| at.elapsed() < ttl);
                if cache.len() >= 10_000 {
                    cache.clear();
                }
            }
            cache.insert(hash, (principal.clone(), Instant::now()));
        }
        Ok(principal)
    }
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
