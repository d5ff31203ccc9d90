//! Serving with graceful shutdown: on the signal the listener closes (new connections are
//! refused), idle keep-alive connections close, requests in flight run to completion, for at
//! most the grace period; then the remaining connections are dropped.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How a server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every request in flight completed.
    Drained,
    /// The grace period ended with requests still in flight; they were dropped.
    GraceExpired,
}

/// Serves `router` on `listener` (with each connection's peer address, which the per-address
/// rate limit needs) until `shutdown` resolves, then drains for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<Stopped> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let started = |mut rx: watch::Receiver<bool>| async move {
        // A dropped sender without a signal means no shutdown was asked: wait forever.
        if rx.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(started(rx.clone()))
    .into_future();
    let deadline = async move {
        started(rx).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = server => served.map(|()| Stopped::Drained),
        () = deadline => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "requests still in flight after the shutdown grace period; dropping them");
            Ok(Stopped::GraceExpired)
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
