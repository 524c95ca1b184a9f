//! The PostgreSQL backend's storage primitives (issue 14): the schema and its migrations
//! ([`schema`]), one batch's write transaction under the seq lock ([`WriteTxn`]), and the
//! readers' queries ([`read`]). Storage only: what to append, de-duplicate or quarantine is
//! the engine's decision, made inside a [`WriteTxn`] with its lookups.
//!
//! Not reachable from the CLI or the `Ledger` API yet: the storage trait that wires a backend
//! to the engine comes next, and nothing outside this module's tests calls it so far.
//!
//! A database holds one ledger: the tables `events`, `raw`, `quarantine`, `views`,
//! `ledger_meta` and `ledger_schema` (`crates/ledger/README.md`, "PostgreSQL layout").
//! Connect with `ledger_pgconn::Settings::connect_blocking` (a blocking `postgres::Client`:
//! the engine is synchronous), run [`schema::migrate`] (`ledger init`) or
//! [`schema::require_current`] (every other open), then write with [`WriteTxn`] and read with
//! [`read`].

mod error;
mod meta;
mod raw;
pub(crate) mod read;
pub(crate) mod schema;
mod write;

#[cfg(test)]
pub(crate) mod tests;

pub(crate) use error::{PgError, PgResult};
pub(crate) use meta::{Meta, read_meta};
pub(crate) use raw::CompressedRaw;
pub(crate) use write::{
    Committed, DedupEntry, EVENTS_CHANNEL, NewEvent, NewReject, ResponseContext, ViewChange,
    WriteTxn,
};
