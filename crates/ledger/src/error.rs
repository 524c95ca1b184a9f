//! [`LedgerError`]: why a ledger operation failed.

use std::path::{Path, PathBuf};

/// The result of a ledger operation.
pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// Why a ledger operation failed. A failed write leaves the ledger as it was.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Another process holds the ledger (sled's lock) and it was not released in time.
    #[error("the ledger at {path} is locked by another process (waited {waited_ms} ms)")]
    Locked {
        /// The ledger's directory.
        path: PathBuf,
        /// How long we waited.
        waited_ms: u64,
    },
    /// A file-system operation failed (permissions, disk full…).
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done (`creating`, `writing raw pack`).
        operation: &'static str,
        /// On which path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// sled reported an error.
    #[error("storage error while {operation}: {source}")]
    Storage {
        /// What was being done.
        operation: &'static str,
        /// sled's error.
        #[source]
        source: sled::Error,
    },
    /// A stored event could not be read (unknown version, corrupt record).
    #[error("stored event {seq}: {source}")]
    StoredEvent {
        /// Its position.
        seq: u64,
        /// Why.
        #[source]
        source: ledger_event::EventError,
    },
    /// A stored record other than an event is corrupt.
    #[error("corrupt {what}: {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// Why.
        reason: String,
    },
    /// The directory exists but is not a ledger (or is a newer ledger layout).
    #[error("{path} is not a ledger this build can open: {reason}")]
    NotALedger {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A caller's argument is wrong (an empty ctid…).
    #[error("{0}")]
    InvalidArgument(String),
}

/// An I/O error while `operation` on `path`, for `map_err`.
pub(crate) fn io(
    operation: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> LedgerError {
    let path = path.to_path_buf();
    move |source| LedgerError::Io {
        operation,
        path,
        source,
    }
}
