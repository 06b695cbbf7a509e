//! Background tasks (the embedded QStash delivery loop, the stall sweeper) run supervised: a task
//! that panics is logged, counted and started again after a pause, and `/healthz` reports the
//! recent panics, so a dead loop never hides behind an "ok".

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

/// How long after a panic `/healthz` reports the task as degraded.
const DEGRADED_FOR_MS: i64 = 60_000;
const RESTART_PAUSE: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskState {
    pub running: bool,
    pub restarts: u64,
    pub last_panic_at: Option<i64>,
}

#[derive(Clone, Default)]
pub struct Tasks(Arc<Mutex<BTreeMap<&'static str, TaskState>>>);

impl Tasks {
    fn update(&self, name: &'static str, change: impl FnOnce(&mut TaskState)) {
        let mut tasks = self.0.lock().unwrap_or_else(|p| p.into_inner());
        change(tasks.entry(name).or_default());
    }

    pub fn snapshot(&self) -> BTreeMap<&'static str, TaskState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether every task is running and none panicked in the last minute.
    pub fn healthy(&self, now_ms: i64) -> bool {
        self.snapshot().values().all(|t| t.running && t.last_panic_at.is_none_or(|at| now_ms - at > DEGRADED_FOR_MS))
    }

    /// Runs `make()`'s future, and again after each panic, until it returns.
    pub fn spawn<F, Fut>(&self, name: &'static str, make: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let tasks = self.clone();
        tasks.update(name, |t| t.running = true);
        tokio::spawn(async move {
            loop {
                match tokio::spawn(make()).await {
                    Ok(()) => break,
                    Err(e) if e.is_panic() => {
                        tracing::error!(task = name, "background task panicked; restarting it");
                        tasks.update(name, |t| {
                            t.restarts += 1;
                            t.last_panic_at = Some(chrono::Utc::now().timestamp_millis());
                        });
                        tokio::time::sleep(RESTART_PAUSE).await;
                    }
                    Err(_) => break,
                }
            }
            tasks.update(name, |t| t.running = false);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_panicking_task_is_restarted_and_reported() {
        let tasks = Tasks::default();
        let runs = Arc::new(AtomicU32::new(0));
        let counter = runs.clone();
        tasks.spawn("flaky", move || {
            let counter = counter.clone();
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("first run fails");
                }
                std::future::pending::<()>().await
            }
        });
        for _ in 0..50 {
            if runs.load(Ordering::SeqCst) >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        let state = tasks.snapshot()["flaky"].clone();
        assert!(state.running && state.restarts == 1);
        assert!(!tasks.healthy(chrono::Utc::now().timestamp_millis()));
    }
}
