//! Stopping on SIGTERM (a deploy) or Ctrl-C without losing work: the embedded QStash server first
//! stops leasing and lets its deliveries in flight finish (handing back the rest after the grace
//! period), while the HTTP server keeps serving them; then the HTTP server stops taking connections
//! and finishes its requests, within the grace period too; then the process exits 0.

use crate::qstash::server::DevServer;
use anyhow::Context;
use axum::{extract::connect_info::IntoMakeServiceWithConnectInfo, Router};
use std::{future::Future, net::SocketAddr, time::Duration};
use tokio::net::TcpListener;

/// SIGTERM or Ctrl-C, whichever comes first.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

/// Serves `app` on `listener` until `stop`, then shuts down in the order above.
pub async fn serve_until(
    listener: TcpListener,
    app: IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
    qstash: Option<DevServer>,
    grace: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (close, closed) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = closed.await;
            })
            .await
    });
    stop.await;
    tracing::info!(grace_secs = grace.as_secs(), "shutting down");
    // One grace period for both: a supervisor's SIGKILL follows the grace it was told.
    let deadline = tokio::time::Instant::now() + grace;
    if let Some(qstash) = qstash {
        qstash.shut_down(grace).await;
    }
    let _ = close.send(());
    match tokio::time::timeout_at(deadline.max(tokio::time::Instant::now() + Duration::from_millis(100)), server).await {
        Ok(served) => served.context("the HTTP server task failed")?.context("HTTP server failed")?,
        Err(_) => tracing::warn!("requests still running after the grace period were dropped"),
    }
    tracing::info!("stopped");
    Ok(())
}
