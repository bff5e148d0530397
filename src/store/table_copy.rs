//! Copying the field-work tables (work orders, their history, photos,
//! surveys, the audit trail) from one store to another for `hutong
//! migrate-store`, written once for both backends through the
//! [`Dialect`]. Their columns are plain values (integers, reals, text,
//! times, bytes; JSON is kept as text on both backends), so a row is read
//! and written as a list of cells, ids and all, with no domain type in
//! between: a copy cannot lose a column a domain type does not carry.

use super::StoreError;
use super::complaint_sql::Dialect;
use super::work_orders::push_opt_float;
use async_trait::async_trait;
use sqlx::Pool;
use time::OffsetDateTime;

/// A table copied cell by cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopiedTable {
    WorkOrders,
    WorkOrderEvents,
    Surveys,
    Photos,
    AuditLog,
    Plans,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Text,
    Time,
    Bytes,
}

use Kind::{Bytes, Int, Real, Text, Time};

impl CopiedTable {
    /// In an order that every reference points backwards in (orders
    /// refer to cases, copied before, and to plans; surveys to orders).
    pub const ALL: [CopiedTable; 6] = [
        CopiedTable::Plans,
        CopiedTable::WorkOrders,
        CopiedTable::WorkOrderEvents,
        CopiedTable::Surveys,
        CopiedTable::Photos,
        CopiedTable::AuditLog,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CopiedTable::WorkOrders => "work_orders",
            CopiedTable::WorkOrderEvents => "work_order_events",
            CopiedTable::Surveys => "surveys",
            CopiedTable::Photos => "photos",
            CopiedTable::AuditLog => "audit_log",
            CopiedTable::Plans => "plans",
        }
    }

    /// Rows read and written at a time: photos run to 8 MiB each.
    pub fn page_rows(self) -> u32 {
        match self {
            CopiedTable::Photos => 8,
            // A plan carries its targets' shapes.
            CopiedTable::Plans => 100,
            _ => 500,
        }
    }

    /// Every stored column, `id` first (PostgreSQL's generated `geom` of
    /// work orders is made again by the target).
    fn columns(self) -> &'static [(&'static str, Kind)] {
        match self {
            CopiedTable::WorkOrders => &[
                ("id", Int),
                ("unit", Text),
                ("crew", Text),
                ("origin", Text),
                ("complaint_id", Int),
                ("plan_id", Int),
                ("survey_id", Int),
                ("asset_id", Int),
                ("lon", Real),
                ("lat", Real),
                ("district", Text),
                ("kind", Text),
                ("description", Text),
                ("priority", Text),
                ("due_at", Time),
                ("positions", Text),
                ("status", Text),
                ("version", Int),
                ("evidence", Text),
                ("created_at", Time),
                ("updated_at", Time),
                ("done_at", Time),
                ("verified_at", Time),
            ],
            CopiedTable::WorkOrderEvents => &[
                ("id", Int),
                ("work_order_id", Int),
                ("action", Text),
                ("from_status", Text),
                ("to_status", Text),
                ("crew", Text),
                ("note", Text),
                ("actor_token", Int),
                ("actor_role", Text),
                ("at", Time),
            ],
            CopiedTable::Surveys => &[
                ("id", Int),
                ("asset_id", Int),
                ("surveyed_at", Time),
                ("surveyor", Text),
                ("conditions", Text),
                ("danger_grade", Text),
                ("floor_height_m", Real),
                ("lane_height_m", Real),
                ("notes", Text),
                ("surveyed_by", Int),
                ("work_order_id", Int),
                ("created_at", Time),
            ],
            CopiedTable::Photos => &[
                ("id", Int),
                ("owner", Text),
                ("owner_id", Int),
                ("media_type", Text),
                ("bytes", Bytes),
                ("sha256", Text),
                ("exif_lon", Real),
                ("exif_lat", Real),
                ("distance_m", Real),
                ("actor_token", Int),
                ("created_at", Time),
            ],
            CopiedTable::Plans => &[
                ("id", Int),
                ("kind", Text),
                ("title", Text),
                ("description", Text),
                ("district", Text),
                ("targets", Text),
                ("area", Text),
                ("complaint_ids", Text),
                ("inputs", Text),
                ("quantities", Text),
                ("cost_cny", Real),
                ("geometry", Text),
                ("min_lon", Real),
                ("min_lat", Real),
                ("max_lon", Real),
                ("max_lat", Real),
                ("status", Text),
                ("planned_start", Time),
                ("planned_end", Time),
                ("actual_start", Time),
                ("actual_end", Time),
                ("actual_cost_cny", Real),
                ("version", Int),
                ("created_by", Int),
                ("created_at", Time),
                ("updated_at", Time),
            ],
            CopiedTable::AuditLog => &[
                ("id", Int),
                ("at", Time),
                ("entity", Text),
                ("entity_id", Text),
                ("action", Text),
                ("actor_token", Int),
                ("actor_label", Text),
                ("actor_role", Text),
                ("request_id", Text),
                ("changes", Text),
                ("previous", Text),
                ("personal", Text),
            ],
        }
    }

    fn column_list(self) -> String {
        self.columns()
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One stored value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Time(OffsetDateTime),
    Bytes(Vec<u8>),
}

/// A row of a [`CopiedTable`]: its id, and every column's cell in the
/// table's column order (the id among them).
#[derive(Debug, Clone, PartialEq)]
pub struct CopiedRow {
    pub id: i64,
    pub cells: Vec<Cell>,
}

#[async_trait]
pub trait TableCopyStore: Send + Sync {
    /// Up to `limit` rows of `table` with ids above `after`, by id.
    async fn copied_rows_after(
        &self,
        table: CopiedTable,
        after: i64,
        limit: u32,
    ) -> Result<Vec<CopiedRow>, StoreError>;

    /// Writes rows read from another store, ids and all, in one
    /// transaction.
    async fn restore_copied_rows(
        &self,
        table: CopiedTable,
        rows: &[CopiedRow],
    ) -> Result<(), StoreError>;
}

async fn rows_after<D: Dialect>(
    pool: &Pool<D>,
    table: CopiedTable,
    after: i64,
    limit: u32,
) -> Result<Vec<CopiedRow>, StoreError> {
    let mut q = D::query(format!(
        "SELECT {} FROM {} WHERE id > ",
        table.column_list(),
        table.name()
    ));
    D::push_int(&mut q, after);
    q.push(" ORDER BY id LIMIT ");
    D::push_int(&mut q, i64::from(limit));
    let mut rows = Vec::new();
    for row in D::rows(pool, q).await? {
        let mut cells = Vec::with_capacity(table.columns().len());
        for (name, kind) in table.columns() {
            let cell = match kind {
                Int => D::opt_int(&row, name)?.map(Cell::Int),
                Real => D::opt_float(&row, name)?.map(Cell::Real),
                Text => D::opt_text(&row, name)?.map(Cell::Text),
                Time => D::opt_time(&row, name)?.map(Cell::Time),
                Bytes => Some(Cell::Bytes(D::bytes(&row, name)?)),
            };
            cells.push(cell.unwrap_or(Cell::Null));
        }
        rows.push(CopiedRow {
            id: D::int(&row, "id")?,
            cells,
        });
    }
    Ok(rows)
}

async fn restore<D: Dialect>(
    pool: &Pool<D>,
    table: CopiedTable,
    rows: &[CopiedRow],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let columns = table.columns();
    let mut tx = D::begin_write(pool).await?;
    for chunk in rows.chunks(table.page_rows() as usize) {
        let mut q = D::query(format!(
            "INSERT INTO {} ({}) VALUES ",
            table.name(),
            table.column_list()
        ));
        for (i, row) in chunk.iter().enumerate() {
            if row.cells.len() != columns.len() {
                return Err(StoreError::Corrupt(format!(
                    "a {} row has {} cells, not {}",
                    table.name(),
                    row.cells.len(),
                    columns.len()
                )));
            }
            q.push(if i == 0 { "(" } else { ", (" });
            for (j, (cell, (name, kind))) in row.cells.iter().zip(columns).enumerate() {
                if j > 0 {
                    q.push(", ");
                }
                match (kind, cell) {
                    (Int, Cell::Int(v)) => D::push_int(&mut q, *v),
                    (Int, Cell::Null) => D::push_opt_int(&mut q, None),
                    (Real, Cell::Real(v)) => D::push_float(&mut q, *v),
                    (Real, Cell::Null) => push_opt_float::<D>(&mut q, None),
                    (Text, Cell::Text(v)) => D::push_string(&mut q, v.clone()),
                    (Text, Cell::Null) => D::push_opt_text(&mut q, None),
                    (Time, Cell::Time(v)) => D::push_time(&mut q, *v),
                    (Time, Cell::Null) => D::push_opt_time(&mut q, None),
                    (Bytes, Cell::Bytes(v)) => D::push_bytes(&mut q, v.clone()),
                    (_, cell) => {
                        return Err(StoreError::Corrupt(format!(
                            "{}.{name} cannot hold {cell:?}",
                            table.name()
                        )));
                    }
                }
            }
            q.push(")");
        }
        D::execute_in(&mut tx, q).await?;
    }
    D::commit(tx).await
}

macro_rules! table_copy_store {
    ($store:ty) => {
        #[async_trait]
        impl TableCopyStore for $store {
            async fn copied_rows_after(
                &self,
                table: CopiedTable,
                after: i64,
                limit: u32,
            ) -> Result<Vec<CopiedRow>, StoreError> {
                rows_after(&self.pool, table, after, limit).await
            }

            async fn restore_copied_rows(
                &self,
                table: CopiedTable,
                rows: &[CopiedRow],
            ) -> Result<(), StoreError> {
                restore(&self.pool, table, rows).await
            }
        }
    };
}

table_copy_store!(super::SqliteStore);
table_copy_store!(super::PgStore);
