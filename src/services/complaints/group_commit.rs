//! Group commit of online intake: complaints that arrive while the
//! previous transaction is being written go into the next one together.

use super::{ComplaintError, unavailable};
use crate::domain::Linking;
use crate::domain::{Complaint, ComplaintDraft};
use crate::services::linking::LinkingRules;
use crate::services::registry::Registry;
use crate::store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A complaint waiting for the group-commit writer, and where its answer
/// goes.
pub(super) type Queued = (
    ComplaintDraft,
    oneshot::Sender<Result<(Complaint, bool, Linking), ComplaintError>>,
);

/// Most complaints one group commit takes.
pub(super) const GROUP_COMMIT_MAX: usize = 1_000;

/// Group commit: complaints that arrive while the previous transaction is
/// being written go into the next one together, so one fsync serves many
/// callers. Each caller is answered only after its transaction commits
/// (durable before the answer). An idle writer takes a lone complaint at
/// once, so nobody waits for a batch to fill.
pub(super) async fn group_commit_writer(
    mut queue: mpsc::Receiver<Queued>,
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    rules: Arc<LinkingRules>,
) {
    while let Some(first) = queue.recv().await {
        let mut group = vec![first];
        while group.len() < GROUP_COMMIT_MAX {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let (drafts, replies): (Vec<ComplaintDraft>, Vec<_>) = group.into_iter().unzip();
        let items = link_drafts(&registry, &rules, drafts);
        match store.insert_complaints(&items).await {
            Ok(stored) => {
                for ((reply, (complaint, created)), (_, linking)) in
                    replies.into_iter().zip(stored).zip(items)
                {
                    let _ = reply.send(Ok((complaint, created, linking)));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, complaints = replies.len(), "group commit of complaints failed");
                let transient = matches!(e, StoreError::Unavailable(_));
                for reply in replies {
                    let _ = reply.send(Err(if transient {
                        unavailable()
                    } else {
                        ComplaintError::WriteFailed(e.to_string())
                    }));
                }
            }
        }
    }
}

/// The links of each draft, worked out under one read of the index.
pub(super) fn link_drafts(
    registry: &Registry,
    rules: &LinkingRules,
    drafts: Vec<ComplaintDraft>,
) -> Vec<(ComplaintDraft, Linking)> {
    registry.with_index(|index| {
        drafts
            .into_iter()
            .map(|d| {
                // An unlocated case links to nothing until it is placed.
                let linking = d
                    .location
                    .map(|at| rules.link(index, d.category, at))
                    .unwrap_or_default();
                (d, linking)
            })
            .collect()
    })
}
