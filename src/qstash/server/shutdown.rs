//! Stopping without losing or stalling anything (a deploy's SIGTERM): no new deliveries, the ones in
//! flight given the grace period to finish and record their outcome, and the rest handed back, so
//! another instance (or this one restarted) delivers them at once instead of after their lease.

use super::DevServer;
use crate::db;
use std::{sync::atomic::Ordering, time::Duration};

impl DevServer {
    /// Stops the delivery loop, waits up to `grace` for the deliveries in flight, and hands back the
    /// leases of those still running (their late outcome is then not recorded: the lease fences it,
    /// and the message is delivered again, costing no retry). Returns how many were handed back.
    pub async fn shut_down(&self, grace: Duration) -> usize {
        self.0.stopping.store(true, Ordering::SeqCst);
        self.0.wake.notify_one();
        let slots = self.0.config.delivery_slots as u32;
        let drained = tokio::time::timeout(grace, self.0.in_flight.clone().acquire_many_owned(slots)).await;
        // No slot is ever handed out again: a loop still finishing its pass leases nothing more.
        self.0.in_flight.close();
        if let Ok(Ok(permits)) = drained {
            permits.forget();
            tracing::info!("qstash-dev: every delivery in flight finished");
            return 0;
        }
        let leased: Vec<(String, i64)> = self.0.leased.lock().unwrap_or_else(|p| p.into_inner()).drain().collect();
        let mut handed_back = 0;
        for (id, lease) in leased {
            match db::qstash::release(&self.0.lease_db, &id, lease).await {
                Ok(true) => handed_back += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(error = %e, message_id = %id, "qstash-dev: failed to hand back a delivery; it waits out its lease")
                }
            }
        }
        tracing::info!(handed_back, "qstash-dev: deliveries still running after the grace period were handed back");
        handed_back
    }
}
