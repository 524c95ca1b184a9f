//! [`PgError`]: why a PostgreSQL storage primitive failed.

/// The result of a PostgreSQL storage primitive.
pub(crate) type PgResult<T> = std::result::Result<T, PgError>;

/// Why a PostgreSQL storage primitive failed. A write that failed before its COMMIT returned
/// left the database as it was (the transaction is rolled back, by us or by the server when
/// the connection went away).
#[derive(Debug, thiserror::Error)]
pub(crate) enum PgError {
    /// The server (or the connection to it) reported an error.
    #[error("PostgreSQL error while {operation}: {source}")]
    Query {
        /// What was being done.
        operation: &'static str,
        /// The client's error (a server error carries its SQLSTATE).
        #[source]
        source: postgres::Error,
    },
    /// The database's schema is newer than this build's: another (newer) binary migrated it.
    #[error(
        "the database's ledger schema is version {found}, newer than this build's {supported}: \
         use a newer ledger binary"
    )]
    SchemaNewer {
        /// The version in `ledger_schema`.
        found: i32,
        /// The newest version this build knows.
        supported: i32,
    },
    /// The database's schema is older than this build's: `migrate` (`ledger init`) brings it
    /// up to date.
    #[error(
        "the database's ledger schema is version {found}, older than this build's {supported}: \
         run `ledger init` to migrate it"
    )]
    SchemaOlder {
        /// The version in `ledger_schema`.
        found: i32,
        /// The version this build needs.
        supported: i32,
    },
    /// A migration this build knows is recorded under another name: the database was made
    /// by another build's migrations.
    #[error(
        "the database's ledger schema version {version} is {found:?}, this build's is \
         {expected:?}: it was made by another build"
    )]
    SchemaMismatch {
        /// The version.
        version: i32,
        /// The name recorded in `ledger_schema`.
        found: String,
        /// This build's name for it.
        expected: &'static str,
    },
    /// The database holds no ledger (no `ledger_meta` row): `migrate` was not run.
    #[error("the database holds no ledger schema (run `ledger init`)")]
    NoLedger,
    /// A stored row is not what this build wrote (a wrong length, a bad checksum).
    #[error("corrupt {what}: {reason}")]
    Corrupt {
        /// Which row.
        what: String,
        /// Why.
        reason: String,
    },
    /// A caller broke a primitive's contract (seqs not continuing the log, a number out of
    /// PostgreSQL's range): a bug above the backend, nothing was written.
    #[error("invalid write: {0}")]
    Invalid(String),
}

/// A closure turning a client error into [`PgError::Query`] for `operation`.
pub(crate) fn query(operation: &'static str) -> impl FnOnce(postgres::Error) -> PgError {
    move |source| PgError::Query { operation, source }
}
