//! What `ledger serve` is told: where to listen, the tokens, who may push.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono_tz::Tz;
use ipnet::IpNet;

use crate::ServerError;

/// The server's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The addresses to listen on (default `127.0.0.1:8440`).
    pub listen: Vec<SocketAddr>,
    /// Who may push and how.
    pub push: PushAccess,
    /// The bearer token the read API and the metrics need on a non-loopback address.
    pub api_token: Option<String>,
    /// The source zone, for instants given as wall-clock times (`at=2026-05-20 14:00`).
    pub source_tz: Tz,
    /// The ledger's directory: when given, the server also answers on its Unix socket
    /// (`PATH/ledger.sock`, [`crate::socket`]) with the same routes, no token, and the
    /// socket-only routes the other `ledger` commands use (ingest, record-response, settings).
    pub socket_dir: Option<PathBuf>,
    /// What `GET /api/v1/settings` answers on the socket: the holder's settings that apply to
    /// what is ingested through it (source zone, size limit, trust policy), so a client can
    /// say when its own differ.
    pub settings: serde_json::Value,
    /// The largest item `POST /api/v1/ingest-oversize` takes on the socket (413 above, before
    /// more is spooled; default [`OVERSIZE_LIMIT`]).
    pub oversize_limit: u64,
    /// How long that item's whole body may take to arrive (408 after; default
    /// [`OVERSIZE_DEADLINE`]).
    pub oversize_deadline: std::time::Duration,
}

/// The default largest item over the size limit the socket takes: 4 GiB.
pub const OVERSIZE_LIMIT: u64 = 4 * 1024 * 1024 * 1024;
/// The default time an item over the size limit may take to arrive, whole: 10 minutes.
pub const OVERSIZE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(600);

/// Who may push.
#[derive(Debug, Clone, Default)]
pub struct PushAccess {
    /// The secret in the push path (`/push/autodns/{token}`); any other is 404. Without one the
    /// path is `/push/autodns`, and only loopback addresses may be listened on.
    pub token: Option<String>,
    /// When not empty, pushes from other peers are answered 403 (AutoDNS documents its push
    /// source as 62.116.129.216).
    pub allow: Vec<IpNet>,
    /// Take the peer from the rightmost `X-Forwarded-For` entry (the hop a reverse proxy
    /// appended), never from what the client wrote further left.
    pub trust_forwarded_for: bool,
}

impl Config {
    /// Refuses settings that would expose the ledger: a push path without a token on a
    /// non-loopback address, an empty token, no address at all.
    pub(crate) fn check(&self) -> Result<(), ServerError> {
        if self.listen.is_empty() {
            return Err(ServerError::Config("no address to listen on".into()));
        }
        for token in [&self.push.token, &self.api_token].into_iter().flatten() {
            if token.trim().is_empty() {
                return Err(ServerError::Config("a token is empty".into()));
            }
        }
        if self.push.token.is_none()
            && let Some(open) = self.listen.iter().find(|a| !a.ip().is_loopback())
        {
            return Err(ServerError::Config(format!(
                "without a push token, {open} (not a loopback address) would take pushes from \
                 anyone: give --push-token-file or LEDGER_PUSH_TOKEN"
            )));
        }
        Ok(())
    }
}
