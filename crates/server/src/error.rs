//! The one place where failures become responses (`ApiError`) or stop the server
//! (`ServerError`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What stops `ledger serve`.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The settings cannot be served safely or at all.
    #[error("{0}")]
    Config(String),
    /// An address could not be listened on (taken, not this host's, not permitted).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another process answers on the ledger's socket: it holds the ledger.
    #[error(
        "the ledger is already served by another process: it answers on {}",
        .0.display()
    )]
    Held(std::path::PathBuf),
    /// The ledger's socket could not be set up.
    #[error("cannot listen on {}: {source}", path.display())]
    Socket {
        /// The socket's path.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime could not start.
    #[error("cannot start the server's runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// Serving failed.
    #[error("serving failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// A request that cannot be answered as asked: its status and one line saying why, sent as
/// `{"error": "…"}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// A file of the server's could not be written or read: 503.
    pub(crate) fn unavailable_io(path: &std::path::Path, error: &std::io::Error) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}: {error}", path.display()),
        )
    }

    /// The ledger failed to answer (storage, a damaged record): 503, so a caller retries.
    pub(crate) fn unavailable(error: &ledger::LedgerError) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
    }
}

impl From<ledger::LedgerError> for ApiError {
    fn from(error: ledger::LedgerError) -> Self {
        match error {
            ledger::LedgerError::InvalidArgument(message) => ApiError::bad_request(message),
            other => ApiError::unavailable(&other),
        }
    }
}

impl From<ledger_dashboard::DashboardError> for ApiError {
    fn from(error: ledger_dashboard::DashboardError) -> Self {
        use ledger_dashboard::DashboardError;
        match error {
            DashboardError::BadRequest(message) => ApiError::bad_request(message),
            DashboardError::Ledger(error) => ApiError::unavailable(&error),
            other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({ "error": self.message }))).into_response()
    }
}
