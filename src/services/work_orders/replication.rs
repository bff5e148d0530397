//! Keeping the open orders in step with work-order writes made by other
//! instances on the same database (told by the follower).

use super::{WorkOrders, load_open};
use crate::domain::WorkOrderId;
use crate::store::StoreError;

#[async_trait::async_trait]
impl crate::services::follower::Follows<WorkOrderId> for WorkOrders {
    type Error = StoreError;
    const WHAT: &'static str = "work orders";

    /// Reads the orders again and puts each as it now is (in while still
    /// to be done, out once not). Local writes hold `writes` from their
    /// store write to their index update, and so does this: an order read
    /// here cannot be overtaken by a local write's older state, nor
    /// overtake a newer one.
    async fn apply_remote(&self, ids: &[WorkOrderId]) -> Result<(), StoreError> {
        let _writes = self.writes.lock().await;
        let orders = self.store.work_orders_with_ids(ids).await?;
        let mut open = self.write_open();
        for order in orders {
            open.put(order);
        }
        tracing::debug!(work_orders = ids.len(), "applied work-order writes");
        Ok(())
    }

    async fn rebuild(&self) -> Result<(), StoreError> {
        let _writes = self.writes.lock().await;
        let open = load_open(self.store.as_ref()).await?;
        *self.write_open() = open;
        Ok(())
    }
}
