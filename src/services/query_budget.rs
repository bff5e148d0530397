//! What one expensive read may cost: a time budget, a cap on how many
//! such reads run at once, and cancellation when the client goes away.
//!
//! Filtered scans (a CQL2 filter or a sort over many features) are the
//! reads whose cost a caller chooses. They enter a [`ScanGate`], which
//! admits a few at a time (about one per core, so requests that do not
//! scan always find a free async worker), and run their CPU work on a
//! blocking thread that looks at its [`Budget`] between features. A scan
//! waits for its turn at most as long as its budget, and its clock starts
//! when it gets one. When
//! the time is up the scan stops with [`BudgetError::Exceeded`]; when the
//! request future is dropped (the client hung up) it stops with
//! [`BudgetError::Cancelled`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long one filtered read may run (and, at most, wait for its turn).
pub const DEFAULT_SCAN_BUDGET: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// The read took longer than its budget.
    #[error(
        "this query took longer than its budget of {} ms; narrow it with bbox, datetime or a simpler filter",
        .0.as_millis()
    )]
    Exceeded(Duration),
    /// Every scan slot stayed busy for the whole budget.
    #[error("the server is busy with other filtered queries; try again shortly")]
    Busy,
    /// The client went away; nobody reads the answer.
    #[error("the client went away")]
    Cancelled,
    /// The work itself failed (it panicked): a server error.
    #[error("the scan failed: {0}")]
    Failed(String),
}

/// Admits a bounded number of scans at a time.
#[derive(Debug, Clone)]
pub struct ScanGate {
    slots: Arc<Semaphore>,
    budget: Duration,
}

impl ScanGate {
    /// `slots` scans at once, each given `budget` (waiting included).
    pub fn new(slots: usize, budget: Duration) -> Self {
        ScanGate {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            budget,
        }
    }

    /// One slot per core.
    pub fn per_core(budget: Duration) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self::new(cores, budget)
    }

    /// Waits for a slot (at most the budget: [`BudgetError::Busy`]),
    /// then starts the clock. Waiting does not count against the scan:
    /// a busy server is not the query's fault.
    pub async fn enter(&self) -> Result<Budget, BudgetError> {
        let permit = tokio::time::timeout(self.budget, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| BudgetError::Busy)?
            .map_err(|_| BudgetError::Busy)?;
        Ok(Budget {
            clock: Clock {
                deadline: Instant::now() + self.budget,
                budget: self.budget,
                cancelled: Arc::new(AtomicBool::new(false)),
            },
            _slot: permit,
        })
    }
}

impl Default for ScanGate {
    fn default() -> Self {
        Self::per_core(DEFAULT_SCAN_BUDGET)
    }
}

/// A scan's deadline and cancellation flag, to be looked at between
/// features (cheap: one atomic load and one clock read).
#[derive(Debug, Clone)]
pub struct Clock {
    deadline: Instant,
    budget: Duration,
    cancelled: Arc<AtomicBool>,
}

impl Clock {
    pub fn check(&self) -> Result<(), BudgetError> {
        if self.cancelled.load(Ordering::Relaxed) {
            Err(BudgetError::Cancelled)
        } else if Instant::now() > self.deadline {
            Err(BudgetError::Exceeded(self.budget))
        } else {
            Ok(())
        }
    }
}

/// A running scan's slot and clock.
#[derive(Debug)]
pub struct Budget {
    clock: Clock,
    _slot: OwnedSemaphorePermit,
}

/// Sets the cancellation flag when the awaiting future is dropped before
/// the work has answered.
struct CancelOnDrop(Option<Arc<AtomicBool>>);

impl CancelOnDrop {
    /// The work answered: nothing to cancel.
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(flag) = &self.0 {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

impl Budget {
    pub fn check(&self) -> Result<(), BudgetError> {
        self.clock.check()
    }

    /// The scan's clock, for work that looks at it in its own loops.
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// Runs `work` on a blocking thread, off the async workers. If this
    /// future is dropped before the work ends, the work's clock reports
    /// [`BudgetError::Cancelled`] at its next check.
    pub async fn run<R, F>(&self, work: F) -> Result<R, BudgetError>
    where
        R: Send + 'static,
        F: FnOnce(&Clock) -> Result<R, BudgetError> + Send + 'static,
    {
        self.check()?;
        let clock = self.clock.clone();
        let cancel = CancelOnDrop(Some(self.clock.cancelled.clone()));
        let worker = tokio::task::spawn_blocking(move || work(&clock));
        let outcome = worker.await;
        cancel.disarm();
        match outcome {
            Ok(result) => result,
            Err(e) if e.is_panic() => Err(BudgetError::Failed(e.to_string())),
            // The runtime is shutting down.
            Err(_) => Err(BudgetError::Cancelled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scan_over_its_budget_stops() {
        let gate = ScanGate::new(1, Duration::from_millis(50));
        let budget = gate.enter().await.expect("a free slot");
        let outcome: Result<(), BudgetError> = budget
            .run(|clock| {
                loop {
                    clock.check()?;
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
            .await;
        assert_eq!(
            outcome,
            Err(BudgetError::Exceeded(Duration::from_millis(50)))
        );
    }

    #[tokio::test]
    async fn one_budget_runs_several_pieces_of_work() {
        let gate = ScanGate::new(1, Duration::from_secs(5));
        let budget = gate.enter().await.expect("a free slot");
        for i in 0..3 {
            assert_eq!(budget.run(move |_| Ok(i)).await, Ok(i));
        }
    }

    #[tokio::test]
    async fn a_busy_gate_refuses_after_the_budget() {
        let gate = ScanGate::new(1, Duration::from_millis(30));
        let _held = gate.enter().await.expect("a free slot");
        assert_eq!(gate.enter().await.err(), Some(BudgetError::Busy));
    }

    #[tokio::test]
    async fn a_dropped_request_cancels_its_work() {
        let gate = ScanGate::new(1, Duration::from_secs(30));
        let budget = gate.enter().await.expect("a free slot");
        let (tx, rx) = std::sync::mpsc::channel();
        let run = budget.run(move |clock| {
            let outcome = loop {
                if let Err(e) = clock.check() {
                    break e;
                }
                std::thread::sleep(Duration::from_millis(2));
            };
            let _ = tx.send(outcome);
            Ok(())
        });
        // The request gives up after 20 ms.
        let _ = tokio::time::timeout(Duration::from_millis(20), run).await;
        let seen = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(5)))
            .await
            .expect("joined");
        assert_eq!(seen, Ok(BudgetError::Cancelled));
    }
}
