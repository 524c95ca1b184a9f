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
    /// The user may not write the ledger's files (permission denied, or a read-only file
    /// system). sled opens its files for writing even to read them, so this stops readers too.
    #[error("cannot write the ledger at {path}: {source} ({operation} {at})")]
    NotWritable {
        /// The ledger's directory.
        path: PathBuf,
        /// What was being done (`opening the database`, `creating`).
        operation: &'static str,
        /// The file or directory that refused.
        at: PathBuf,
        /// The I/O error (its kind is `PermissionDenied` or `ReadOnlyFilesystem`).
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
    /// PostgreSQL (or the connection to it) reported an error. A write that failed so is not
    /// committed: its transaction is rolled back, by the ledger or by the server.
    #[error("PostgreSQL error while {operation}: {source}")]
    Database {
        /// What was being done.
        operation: &'static str,
        /// The client's error (a server error carries its SQLSTATE).
        #[source]
        source: postgres::Error,
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
    /// The group commit this item rode in failed with this error (every item of that write
    /// gets it; none of them is committed, see [`crate::Ledger::ingest`]).
    #[error("{0}")]
    InBatch(std::sync::Arc<LedgerError>),
}

impl LedgerError {
    /// An I/O error that says the user may not write (permission denied, read-only file
    /// system) becomes [`LedgerError::NotWritable`] of the ledger at `ledger`; any other error
    /// is returned as it is.
    pub(crate) fn in_ledger(self, ledger: &Path) -> LedgerError {
        match self {
            LedgerError::Io {
                operation,
                path,
                source,
            } if matches!(
                source.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
            {
                LedgerError::NotWritable {
                    path: ledger.to_path_buf(),
                    operation,
                    at: path,
                    source,
                }
            }
            other => other,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permission_error_names_the_ledger_and_others_stay_as_they_are() {
        let ledger = Path::new("/srv/ledger");
        let denied = io("opening the database", &ledger.join("log"))(std::io::Error::from(
            std::io::ErrorKind::PermissionDenied,
        ))
        .in_ledger(ledger);
        match &denied {
            LedgerError::NotWritable {
                path,
                operation,
                at,
                ..
            } => {
                assert_eq!(path, ledger);
                assert_eq!(*operation, "opening the database");
                assert_eq!(at, &ledger.join("log"));
            }
            other => panic!("not NotWritable: {other:?}"),
        }
        assert!(
            denied
                .to_string()
                .starts_with("cannot write the ledger at /srv/ledger: "),
            "{denied}"
        );
        let read_only =
            io("creating", ledger)(std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem))
                .in_ledger(ledger);
        assert!(matches!(read_only, LedgerError::NotWritable { .. }));
        let missing = io("reading", ledger)(std::io::Error::from(std::io::ErrorKind::NotFound))
            .in_ledger(ledger);
        assert!(matches!(missing, LedgerError::Io { .. }), "{missing:?}");
    }
}
