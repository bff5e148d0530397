//! Storage of API tokens (only their SHA-256), the same SQL on both
//! backends (through `complaint_sql::Dialect`).

use super::complaint_sql::Dialect;
use super::{StoreError, now};
use crate::domain::{District, Role, UnitCode};
use async_trait::async_trait;
use sqlx::Pool;
use time::OffsetDateTime;

/// What a new token is: its role and scope, and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenSpec {
    pub role: Option<Role>,
    pub district: Option<District>,
    /// The unit a `unit` or `crew` token acts for.
    pub unit: Option<UnitCode>,
    /// The crew a `crew` token is.
    pub crew: Option<UnitCode>,
    pub label: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
}

impl TokenSpec {
    /// A token of `role`, unscoped, never expiring.
    pub fn of(role: Role) -> Self {
        TokenSpec {
            role: Some(role),
            ..TokenSpec::default()
        }
    }

    pub fn labelled(self, label: &str) -> Self {
        TokenSpec {
            label: Some(label.to_string()),
            ..self
        }
    }
}

/// A stored API token, without the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub role: Role,
    pub district: Option<District>,
    pub unit: Option<UnitCode>,
    pub crew: Option<UnitCode>,
    pub label: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl TokenRecord {
    /// Whether the token works at `at`: not revoked, not expired.
    pub fn is_live(&self, at: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| at < e)
    }
}

/// Storage of API tokens (hashed).
#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn insert_token(
        &self,
        token_sha256: &str,
        spec: &TokenSpec,
    ) -> Result<TokenRecord, StoreError>;

    /// The token with this hash, live or not (the service checks).
    async fn find_token(&self, token_sha256: &str) -> Result<Option<TokenRecord>, StoreError>;

    /// Every token, newest first (at most `limit`).
    async fn list_tokens(&self, limit: u32) -> Result<Vec<TokenRecord>, StoreError>;

    /// Revokes a token (a second revocation keeps the first time); its
    /// record as it is now, or `None` when there is no such token.
    async fn revoke_token(&self, id: i64) -> Result<Option<TokenRecord>, StoreError>;
}

const COLUMNS: &str =
    "id, role, district, unit, crew, label, created_at, expires_at, revoked_at FROM api_tokens";

fn record<D: Dialect>(row: &D::Row) -> Result<TokenRecord, StoreError> {
    let corrupt = StoreError::Corrupt;
    Ok(TokenRecord {
        id: D::int(row, "id")?,
        role: D::text(row, "role")?.parse().map_err(corrupt)?,
        district: D::opt_text(row, "district")?
            .map(|d| d.parse::<District>())
            .transpose()
            .map_err(corrupt)?,
        unit: D::opt_text(row, "unit")?
            .map(|u| UnitCode::parse(&u))
            .transpose()
            .map_err(corrupt)?,
        crew: D::opt_text(row, "crew")?
            .map(|u| UnitCode::parse(&u))
            .transpose()
            .map_err(corrupt)?,
        label: D::opt_text(row, "label")?,
        created_at: D::time(row, "created_at")?,
        expires_at: D::opt_time(row, "expires_at")?,
        revoked_at: D::opt_time(row, "revoked_at")?,
    })
}

async fn insert<D: Dialect>(
    pool: &Pool<D>,
    hash: &str,
    spec: &TokenSpec,
) -> Result<TokenRecord, StoreError> {
    let role = spec
        .role
        .ok_or_else(|| StoreError::Conflict("a token needs a role".into()))?;
    let mut q = D::query(
        "INSERT INTO api_tokens (token_sha256, role, district, unit, crew, label, created_at, expires_at) VALUES ("
            .into(),
    );
    D::push_text(&mut q, hash);
    q.push(", ");
    D::push_text(&mut q, role.as_str());
    q.push(", ");
    D::push_opt_text(&mut q, spec.district.map(District::as_str));
    q.push(", ");
    D::push_opt_text(&mut q, spec.unit.as_ref().map(UnitCode::as_str));
    q.push(", ");
    D::push_opt_text(&mut q, spec.crew.as_ref().map(UnitCode::as_str));
    q.push(", ");
    D::push_opt_text(&mut q, spec.label.as_deref());
    q.push(", ");
    D::push_time(&mut q, now());
    q.push(", ");
    D::push_opt_time(&mut q, spec.expires_at.map(crate::domain::to_millis));
    q.push(format!(") RETURNING {COLUMNS}").replace(" FROM api_tokens", ""));
    let mut tx = D::begin_write(pool).await?;
    let rows = D::rows_in(&mut tx, q).await?;
    let record = rows
        .first()
        .map(record::<D>)
        .transpose()?
        .ok_or_else(|| StoreError::Corrupt("the insert returned no token".into()))?;
    D::commit(tx).await?;
    Ok(record)
}

async fn find<D: Dialect>(pool: &Pool<D>, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
    let mut q = D::query(format!("SELECT {COLUMNS} WHERE token_sha256 = "));
    D::push_text(&mut q, hash);
    D::rows(pool, q).await?.first().map(record::<D>).transpose()
}

async fn list<D: Dialect>(pool: &Pool<D>, limit: u32) -> Result<Vec<TokenRecord>, StoreError> {
    let mut q = D::query(format!("SELECT {COLUMNS} ORDER BY id DESC LIMIT "));
    D::push_int(&mut q, i64::from(limit));
    D::rows(pool, q).await?.iter().map(record::<D>).collect()
}

async fn revoke<D: Dialect>(pool: &Pool<D>, id: i64) -> Result<Option<TokenRecord>, StoreError> {
    let mut tx = D::begin_write(pool).await?;
    let mut q = D::query("UPDATE api_tokens SET revoked_at = ".into());
    D::push_time(&mut q, now());
    q.push(" WHERE revoked_at IS NULL AND id = ");
    D::push_int(&mut q, id);
    D::execute_in(&mut tx, q).await?;
    let mut q = D::query(format!("SELECT {COLUMNS} WHERE id = "));
    D::push_int(&mut q, id);
    let found = D::rows_in(&mut tx, q)
        .await?
        .first()
        .map(record::<D>)
        .transpose()?;
    D::commit(tx).await?;
    Ok(found)
}

macro_rules! token_store {
    ($store:ty) => {
        #[async_trait]
        impl TokenStore for $store {
            #[tracing::instrument(skip_all)]
            async fn insert_token(
                &self,
                token_sha256: &str,
                spec: &TokenSpec,
            ) -> Result<TokenRecord, StoreError> {
                insert(&self.pool, token_sha256, spec).await
            }

            #[tracing::instrument(skip_all)]
            async fn find_token(
                &self,
                token_sha256: &str,
            ) -> Result<Option<TokenRecord>, StoreError> {
                find(&self.pool, token_sha256).await
            }

            async fn list_tokens(&self, limit: u32) -> Result<Vec<TokenRecord>, StoreError> {
                list(&self.pool, limit).await
            }

            async fn revoke_token(&self, id: i64) -> Result<Option<TokenRecord>, StoreError> {
                revoke(&self.pool, id).await
            }
        }
    };
}

token_store!(super::SqliteStore);
token_store!(super::PgStore);
