//! The shared state of a running server, the routes, and the serving loop with its shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use ledger::{CommitInfo, Ledger};
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::{Config, ServerError, api, push};

/// What every handler reads.
pub(crate) struct AppState {
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) config: Config,
    pub(crate) metrics: Metrics,
    /// Bumped after every committed write: the follow streams wait on it.
    pub(crate) commits: watch::Receiver<u64>,
    /// Becomes true when the server is stopping: the follow streams end.
    pub(crate) stopping: watch::Receiver<bool>,
}

/// How a listener's requests are treated: on a non-loopback address the read API and the
/// metrics need the bearer token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listener {
    pub(crate) needs_api_token: bool,
}

/// How long a pushed body may take to arrive, whole.
pub(crate) const BODY_DEADLINE: Duration = Duration::from_secs(10);
/// The largest pushed body.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;

pub(crate) async fn serve(
    ledger: Arc<Ledger>,
    config: Config,
    ready: impl FnOnce(&[SocketAddr]),
) -> Result<(), ServerError> {
    let metrics = Metrics::default();
    let (commit_tx, commits) = watch::channel(0u64);
    {
        let histogram = metrics.commit_duration.clone();
        let items = metrics.commit_items.clone();
        ledger.set_commit_observer(Box::new(move |info: CommitInfo| {
            histogram.observe(info.duration.as_secs_f64());
            items.observe(info.items as f64);
            if info.committed {
                commit_tx.send_modify(|n| *n += 1);
            }
        }));
    }
    let (stop_tx, stopping) = watch::channel(false);
    let state = Arc::new(AppState {
        ledger,
        config,
        metrics,
        commits,
        stopping,
    });

    let mut listeners = Vec::new();
    let mut bound = Vec::new();
    for addr in &state.config.listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Listen {
                addr: *addr,
                source,
            })?;
        let local = listener.local_addr().map_err(ServerError::Serve)?;
        bound.push(local);
        listeners.push((listener, !addr.ip().is_loopback()));
    }
    ready(&bound);

    let mut servers = tokio::task::JoinSet::new();
    for (listener, exposed) in listeners {
        let app = routes(
            state.clone(),
            Listener {
                needs_api_token: exposed,
            },
        );
        let mut stop = state.stopping.clone();
        servers.spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stopping| *stopping).await;
            })
            .await
        });
    }
    let stop = tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let mut result = Ok(());
    while let Some(done) = servers.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(ServerError::Serve(e)),
            Err(e) => result = Err(ServerError::Serve(std::io::Error::other(e))),
        }
    }
    stop.abort();
    result
}

/// The routes of one listener.
fn routes(state: Arc<AppState>, listener: Listener) -> Router {
    let push_path = if state.config.push.token.is_some() {
        "/push/autodns/{token}"
    } else {
        "/push/autodns"
    };
    Router::new()
        .route(push_path, post(push::push))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(crate::metrics::metrics))
        .route("/api/v1/pending-transfers", get(api::pending_transfers))
        .route("/api/v1/ctid/{ctid}", get(api::ctid))
        .route("/api/v1/domain/{name}", get(api::domain))
        .route("/api/v1/failed-creates", get(api::failed_creates))
        .route("/api/v1/orders", get(api::orders))
        .route("/api/v1/inventory", get(api::inventory))
        .route("/api/v1/rejects", get(api::rejects))
        .route("/api/v1/stats", get(api::stats))
        .route("/api/v1/events", get(api::events))
        .layer(axum::Extension(listener))
        .with_state(state)
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
