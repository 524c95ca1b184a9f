//! The one `ledger_meta` row, and the conversions between the ledger's `u64` numbers and
//! PostgreSQL's `bigint`.

use postgres::GenericClient;

use super::error::{PgError, PgResult, query};

/// The `ledger_meta` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    /// The seq the next event gets (1 in a new ledger).
    pub(crate) next_seq: u64,
    /// The id the next quarantine entry gets (1 in a new ledger).
    pub(crate) next_quarantine: u64,
    /// The last seq the views hold (0: none).
    pub(crate) checkpoint: u64,
    /// The shape of the views' records (0 in a new ledger: none written yet).
    pub(crate) views_version: i32,
    /// The trust policy's text (`ledger init --trust-policy`), if any.
    pub(crate) trust_policy: Option<String>,
}

/// The columns [`Meta::from_row`] reads, in its order.
pub(super) const COLUMNS: &str =
    "next_seq, next_quarantine, checkpoint, views_version, trust_policy";

impl Meta {
    /// A row of [`COLUMNS`].
    pub(super) fn from_row(row: &postgres::Row) -> PgResult<Meta> {
        Ok(Meta {
            next_seq: from_int8(row.get(0), "ledger_meta.next_seq")?,
            next_quarantine: from_int8(row.get(1), "ledger_meta.next_quarantine")?,
            checkpoint: from_int8(row.get(2), "ledger_meta.checkpoint")?,
            views_version: row.get(3),
            trust_policy: row.get(4),
        })
    }
}

/// Reads the meta row without a lock (a reader's view: what the last commit left).
pub(crate) fn read_meta(client: &mut impl GenericClient) -> PgResult<Meta> {
    let rows = client
        .query(&format!("SELECT {COLUMNS} FROM ledger_meta"), &[])
        .map_err(query("reading ledger_meta"))?;
    match rows.first() {
        Some(row) => Meta::from_row(row),
        None => Err(PgError::NoLedger),
    }
}

/// A ledger number as a `bigint`; [`PgError::Invalid`] above `i64::MAX`.
pub(super) fn int8(value: u64, what: &str) -> PgResult<i64> {
    i64::try_from(value).map_err(|_| PgError::Invalid(format!("{what} {value} is past bigint")))
}

/// A `bigint` as a ledger number; [`PgError::Corrupt`] when negative.
pub(super) fn from_int8(value: i64, what: &str) -> PgResult<u64> {
    u64::try_from(value).map_err(|_| PgError::Corrupt {
        what: what.to_string(),
        reason: format!("negative: {value}"),
    })
}
