//! The shared state of a running server, the routes, and the serving loop with its shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use ledger::{CommitInfo, Ledger};
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::worker::{self, StopSwitch, Worker};
use crate::{Config, ServerError, api, dashboard, local, push, socket};

/// What every handler reads.
pub(crate) struct AppState {
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) config: Config,
    pub(crate) metrics: Metrics,
    /// Bumped after every committed write: the follow streams wait on it.
    pub(crate) commits: watch::Receiver<u64>,
    /// Bumps `commits`: the group commit's observer does, and so do the socket's writes
    /// (batches and oversize items do not go through the group commit).
    pub(crate) committed: Arc<watch::Sender<u64>>,
    /// Follow streams open at once at the most (each holds a blocking thread while it reads).
    pub(crate) followers: Arc<tokio::sync::Semaphore>,
    /// Becomes true when the server is stopping: the follow streams end.
    pub(crate) stopping: watch::Receiver<bool>,
    /// The key of the dashboard's session cookies, made at start: a restart signs every
    /// browser out, and a cookie says nothing of the token without it.
    pub(crate) session_key: [u8; 32],
}

/// How a listener's requests are treated: on a non-loopback address the read API and the
/// metrics need the bearer token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listener {
    pub(crate) needs_api_token: bool,
}

/// Follow streams open at once at the most; one more is answered 503.
pub(crate) const MAX_FOLLOWERS: usize = 64;

/// How long a pushed body may take to arrive, whole.
pub(crate) const BODY_DEADLINE: Duration = Duration::from_secs(10);
/// The largest pushed body.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;

pub(crate) async fn serve(
    ledger: Arc<Ledger>,
    config: Config,
    workers: Vec<Worker>,
    ready: impl FnOnce(&[SocketAddr], Option<&std::path::Path>),
) -> Result<(), ServerError> {
    let metrics = Metrics::default();
    let (commit_tx, commits) = watch::channel(0u64);
    let commit_tx = Arc::new(commit_tx);
    let committed = commit_tx.clone();
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
        committed,
        followers: Arc::new(tokio::sync::Semaphore::new(MAX_FOLLOWERS)),
        session_key: dashboard::session_key(),
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
    let signalled = shutdown_signal();
    let socket = match &state.config.socket_dir {
        Some(dir) => Some(bind_socket(dir)?),
        None => None,
    };
    ready(
        &bound,
        socket.as_ref().map(|(address, _)| address.path.as_path()),
    );

    let mut servers = tokio::task::JoinSet::new();
    for (listener, exposed) in listeners {
        let app = routes(
            state.clone(),
            Listener {
                needs_api_token: exposed,
            },
        );
        servers.spawn(accept_loop(listener, app, state.stopping.clone()));
    }
    let socket_path = socket.as_ref().map(|(address, _)| address.path.clone());
    if let Some((_address, listener)) = socket {
        let app = local_routes(state.clone());
        let mut stop = state.stopping.clone();
        servers.spawn(async move {
            axum::serve(listener, app.into_make_service())
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|stopping| *stopping).await;
                })
                .await
        });
    }
    let switch = Arc::new(StopSwitch::new());
    let threads = worker::start(workers, &switch, &state.metrics.workers);
    let stop = {
        let switch = switch.clone();
        tokio::spawn(async move {
            signalled.await;
            let _ = stop_tx.send(true);
            switch.stop();
        })
    };
    let mut result = Ok(());
    while let Some(done) = servers.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(ServerError::Serve(e)),
            Err(e) => result = Err(ServerError::Serve(std::io::Error::other(e))),
        }
    }
    stop.abort();
    // The listeners are done (stopped, or failed): the workers stop too, and are waited for.
    switch.stop();
    let _ = tokio::task::spawn_blocking(move || worker::join(threads)).await;
    if let Some(path) = socket_path {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// How long a client may take to send a request's headers (a connection that sends nothing,
/// or drips its headers, is closed after this).
const HEADER_DEADLINE: Duration = Duration::from_secs(10);

/// Accepts connections until the server stops, serving each with hyper's HTTP/1.1 (keep-alive,
/// headers within [`HEADER_DEADLINE`]); then waits for the requests in flight to be answered.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    mut stopping: watch::Receiver<bool>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_DEADLINE)
        .keep_alive(true);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = until_stopping(&mut stopping) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            // Out of file descriptors, a connection reset before accept: go on.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        );
        let connection = http.serve_connection(
            TokioIo::new(stream),
            hyper_util::service::TowerToHyperService::new(service),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away, or sends garbage, ends its own connection only.
            let _ = connection.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Returns once the server is stopping.
async fn until_stopping(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// Binds the ledger's socket: a stale one (its holder was killed) is replaced, a live one
/// refused; it has mode 0660 and the directory's owner and group from the moment it is at
/// `ledger.sock` ([`socket::bind`]).
fn bind_socket(
    dir: &std::path::Path,
) -> Result<(socket::SocketAddress, tokio::net::UnixListener), ServerError> {
    let address = socket::SocketAddress::of(dir).map_err(|source| ServerError::Socket {
        path: dir.join(socket::SOCKET_FILE),
        source,
    })?;
    let failed = |source| ServerError::Socket {
        path: address.path.clone(),
        source,
    };
    if socket::clear_stale(&address).map_err(failed)? == socket::Before::Live {
        return Err(ServerError::Held(address.path.clone()));
    }
    let listener = socket::bind(&address, dir).map_err(failed)?;
    listener.set_nonblocking(true).map_err(failed)?;
    let listener = tokio::net::UnixListener::from_std(listener).map_err(failed)?;
    Ok((address, listener))
}

/// The socket's routes: every route of a loopback listener, without a token (the socket's
/// mode is the access control), and the ones only the socket has.
fn local_routes(state: Arc<AppState>) -> Router {
    let socket_only = Router::new()
        .route("/api/v1/settings", get(local::settings))
        .route("/api/v1/ingest", post(local::ingest))
        .route("/api/v1/ingest-oversize", post(local::ingest_oversize))
        .route("/api/v1/record-response", post(local::record_response))
        .with_state(state.clone());
    routes(
        state,
        Listener {
            needs_api_token: false,
        },
    )
    .merge(socket_only)
}

/// The routes of one listener.
fn routes(state: Arc<AppState>, listener: Listener) -> Router {
    let push_path = if state.config.push.token.is_some() {
        "/push/autodns/{token}"
    } else {
        "/push/autodns"
    };
    Router::new()
        .route("/", get(dashboard::page))
        .route("/login", post(dashboard::login))
        .route("/raw/{seq}", get(dashboard::raw))
        .route("/live", get(dashboard::live))
        .route("/static/dashboard.css", get(dashboard::stylesheet))
        .route("/static/dashboard.js", get(dashboard::script))
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
        .layer(axum::middleware::map_response(dashboard::security_headers))
        .with_state(state)
}

/// SIGTERM or SIGINT (Ctrl-C), listened for from the moment this is called (so a signal sent
/// as soon as the server says it is listening is not the default action's, which kills).
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (term, interrupt) {
                (Ok(mut term), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async move {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
