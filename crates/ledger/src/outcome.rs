//! [`IngestOutcome`]: what happened to one ingested item.

use ledger_event::EventKind;
use serde::Serialize;

/// What happened to one ingested item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum IngestOutcome {
    /// A new event was appended (and flushed, once the call returns).
    Appended {
        /// Its position.
        seq: u64,
        /// Its kind.
        kind: EventKind,
    },
    /// The same notification was already in the log.
    Duplicate {
        /// The event it duplicates.
        of: u64,
    },
    /// The input did not parse (or failed a check); it is kept in the quarantine, once: the
    /// same raw bytes delivered again (for `record_response`, for the same order) are
    /// reported with the entry they already have, and nothing is added.
    Rejected {
        /// The quarantine entry.
        id: u64,
        /// Why, as one line.
        reason: String,
    },
}
