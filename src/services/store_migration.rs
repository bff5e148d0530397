//! Moving a whole database from one store to another (`hutong
//! migrate-store`, typically from the embedded SQLite file to PostgreSQL),
//! then proving nothing was lost: every table's row count and checksum,
//! read back from both sides.

use crate::domain::{AssetId, ComplaintId};
use crate::store::{CopiedTable, Store, StoreError, TableCounts};
use sha2::{Digest, Sha256};
use std::fmt::Debug;

/// Rows read and written at a time.
const PAGE_ROWS: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("the target database is not empty ({0:?}); migrate into a new database")]
    TargetNotEmpty(TableCounts),
    #[error("the target database already has {0}; migrate into a new database")]
    TargetHasRows(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A table's row count and a checksum of its rows that does not depend
/// on their order (the sum of each row's SHA-256, cut to 64 bits), so
/// that two stores' scans compare whatever order each reads in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableDigest {
    pub rows: u64,
    pub checksum: u64,
}

impl TableDigest {
    /// Adds a row, by its debug rendering: every field, numbers in their
    /// shortest round-trip form, so equal rows hash equal on any store.
    fn add(&mut self, row: &impl Debug) {
        let hash = Sha256::digest(format!("{row:?}").as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash[..8]);
        self.rows += 1;
        self.checksum = self.checksum.wrapping_add(u64::from_be_bytes(first));
    }
}

/// The digests of every table of a store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreDigest {
    pub assets: TableDigest,
    pub tokens: TableDigest,
    pub complaints: TableDigest,
    pub events: TableDigest,
    pub links: TableDigest,
    pub callbacks: TableDigest,
    pub areas: TableDigest,
    /// The field-work and planning tables, in [`CopiedTable::ALL`]'s
    /// order.
    pub field_work: [TableDigest; 6],
}

impl StoreDigest {
    /// Table name, digest: for reports.
    pub fn tables(&self) -> [(&'static str, TableDigest); 13] {
        let f = |i: usize| (CopiedTable::ALL[i].name(), self.field_work[i]);
        [
            ("assets", self.assets),
            ("api_tokens", self.tokens),
            ("complaints", self.complaints),
            ("complaint_events", self.events),
            ("complaint_links", self.links),
            ("complaint_callbacks", self.callbacks),
            ("admin_areas", self.areas),
            f(0),
            f(1),
            f(2),
            f(3),
            f(4),
            f(5),
        ]
    }
}

use crate::services::hotline_config::PHONE_KEY;

/// Reads every row of `store` into its digest.
pub async fn digest(store: &dyn Store) -> Result<StoreDigest, StoreError> {
    let mut d = StoreDigest::default();
    let mut after = AssetId(0);
    loop {
        let page = store.assets_after(after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        page.iter().for_each(|a| d.assets.add(a));
    }
    let mut after = 0;
    loop {
        let page = store.tokens_after(after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        page.iter().for_each(|t| d.tokens.add(t));
    }
    let mut after = ComplaintId(0);
    loop {
        let page = store.complaints_after(after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        let upto = last.id;
        page.iter().for_each(|c| d.complaints.add(c));
        for link in store.links_between(after, upto).await? {
            d.links.add(&link);
        }
        after = upto;
    }
    let mut after = 0;
    loop {
        let page = store.events_after(after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        page.iter().for_each(|e| d.events.add(e));
    }
    let mut after = 0;
    loop {
        let page = store.callbacks_after(after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        page.iter().for_each(|c| d.callbacks.add(c));
    }
    store.all_areas().await?.iter().for_each(|a| d.areas.add(a));
    for (table, digest) in CopiedTable::ALL.into_iter().zip(d.field_work.iter_mut()) {
        let mut after = 0;
        loop {
            let page = store
                .copied_rows_after(table, after, table.page_rows())
                .await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            page.iter().for_each(|row| digest.add(row));
        }
    }
    Ok(d)
}

/// Copies every row of `from` into the empty store `to`, ids and all,
/// calling `progress` with the rows copied so far.
pub async fn copy_store(
    from: &dyn Store,
    to: &dyn Store,
    mut progress: impl FnMut(u64),
) -> Result<(), MigrationError> {
    let existing = to.table_counts().await?;
    if !existing.is_empty() {
        return Err(MigrationError::TargetNotEmpty(existing));
    }
    for table in CopiedTable::ALL {
        if !to.copied_rows_after(table, 0, 1).await?.is_empty() {
            return Err(MigrationError::TargetHasRows(table.name()));
        }
    }
    let mut copied = 0u64;
    let areas = from.all_areas().await?;
    to.upsert_areas(&areas).await?;
    copied += areas.len() as u64;
    let mut after = 0;
    loop {
        let page = from.tokens_after(after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        to.restore_tokens(&page).await?;
        copied += page.len() as u64;
        progress(copied);
    }
    let mut after = AssetId(0);
    loop {
        let page = from.assets_after(after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        to.restore_assets(&page).await?;
        copied += page.len() as u64;
        progress(copied);
    }
    let mut after = ComplaintId(0);
    let mut duplicates = Vec::new();
    loop {
        let page = from.complaints_after(after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        let upto = last.id;
        let links = from.links_between(after, upto).await?;
        duplicates.extend(
            page.iter()
                .filter_map(|c| c.duplicate_of.map(|d| (c.id, d))),
        );
        to.restore_complaints(&page, &links).await?;
        copied += (page.len() + links.len()) as u64;
        progress(copied);
        after = upto;
    }
    for chunk in duplicates.chunks(PAGE_ROWS as usize) {
        to.restore_duplicates(chunk).await?;
    }
    let mut after = 0;
    loop {
        let page = from.events_after(after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        to.restore_events(&page).await?;
        copied += page.len() as u64;
        progress(copied);
    }
    let mut after = 0;
    loop {
        let page = from.callbacks_after(after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        to.restore_callbacks(&page).await?;
        copied += page.len() as u64;
        progress(copied);
    }
    // Field work after the cases its orders refer to.
    for table in CopiedTable::ALL {
        let mut after = 0;
        loop {
            let page = from
                .copied_rows_after(table, after, table.page_rows())
                .await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            to.restore_copied_rows(table, &page).await?;
            copied += page.len() as u64;
            progress(copied);
        }
    }
    // The callers' phone hashes are keyed: the copy keeps the key, or its
    // hashes would match nothing.
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| StoreError::Corrupt(format!("no randomness: {e}")))?;
    let key = from.service_key(PHONE_KEY, &fresh).await?;
    if to.service_key(PHONE_KEY, &key).await? != key {
        return Err(StoreError::Conflict(
            "the target already has a different caller-phone key".into(),
        )
        .into());
    }
    to.finish_restore().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_ignore_order_but_not_content() {
        let rows = ["a", "b", "c"];
        let mut forwards = TableDigest::default();
        rows.iter().for_each(|r| forwards.add(r));
        let mut backwards = TableDigest::default();
        rows.iter().rev().for_each(|r| backwards.add(r));
        assert_eq!(forwards, backwards);
        let mut changed = TableDigest::default();
        ["a", "b", "C"].iter().for_each(|r| changed.add(r));
        assert_eq!(changed.rows, forwards.rows);
        assert_ne!(changed, forwards);
    }
}
