//! `ledger serve`: one process holds the ledger open and answers over HTTP (axum on tokio):
//!
//! * `POST /push/autodns/{token}`: AutoDNS push (XML or JSON, the poll envelope or a bare
//!   message), answered only once the notification is durable (`push.rs`);
//! * `GET /api/v1/…`: the read API, the same documents as the CLI's `--json`
//!   ([`ledger_documents::json`]), and `GET /api/v1/events?since=&follow=` as JSON Lines that
//!   stay open for new events (`api.rs`);
//! * `GET /metrics` (OpenMetrics), `GET /healthz`, `GET /readyz`;
//! * on the ledger's Unix socket `PATH/ledger.sock` (`socket.rs`), all of these without a token,
//!   and the routes the other `ledger` commands use while the server holds the ledger:
//!   `POST /api/v1/ingest` (framed items), `POST /api/v1/record-response`,
//!   `GET /api/v1/settings` (`local.rs`).
//!
//! Beside the listeners, [`Worker`]s (fetchers: the AutoDNS poll, a Maildir, a mailbox) run on
//! threads of their own, ingesting through the same group commit, until the server stops
//! (`worker.rs`).
//!
//! The binary turns flags into a [`Config`] and its [`Worker`]s and calls [`run`]. Errors a
//! request meets become responses in one place (`error.rs`); errors that stop the server are
//! [`ServerError`].

#![warn(missing_docs)]

mod api;
mod config;
mod dashboard;
mod error;
pub mod local;
mod metrics;
mod peer;
mod push;
pub mod socket;
mod state;
mod worker;

use std::net::SocketAddr;
use std::sync::Arc;

use ledger::Ledger;

pub use config::{Config, OVERSIZE_DEADLINE, OVERSIZE_LIMIT, PushAccess};
pub use error::ServerError;
pub use worker::{Stop, Worker};

/// Serves `ledger` on every address of `config.listen` (and on the ledger's socket when
/// `config.socket_dir` is set) until SIGTERM or SIGINT, then stops accepting, answers what is
/// in flight, ends the follow streams, removes the socket and returns. `ready` is told the
/// addresses actually bound (a port 0 is given one) and the socket's path before the first
/// request is taken. Then each of `workers` starts on its own thread; on SIGTERM or SIGINT
/// their [`Stop`] says so, and `run` returns only once every worker's thread has ended.
pub fn run(
    ledger: Arc<Ledger>,
    config: Config,
    workers: Vec<Worker>,
    ready: impl FnOnce(&[SocketAddr], Option<&std::path::Path>),
) -> Result<(), ServerError> {
    config.check()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("ledger-serve")
        .build()
        .map_err(ServerError::Runtime)?;
    runtime.block_on(state::serve(ledger, config, workers, ready))
}
