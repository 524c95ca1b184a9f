//! [`Ledger`]: open, ingest, query. TODO(ledger helper): implement; split storage
//! (`log.rs`, `raw.rs`, `quarantine.rs`, …) as it grows.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ledger_event::{Event, EventKind, Origin};
use serde::Serialize;

use crate::{FailedCreate, Inventory, Order, PendingTransfer, Result};

/// How to open a ledger.
#[derive(Debug, Clone)]
pub struct Options {
    /// The ledger's directory (created if missing).
    pub path: PathBuf,
    /// The zone naive provider times are read in (default Europe/Berlin).
    pub source_tz: Tz,
    /// How long to wait for another process's lock before giving up (default: not at all).
    pub wait: Duration,
    /// sled's page cache, in bytes (default 64 MiB: sled's own default is 1 GiB).
    pub cache_capacity: u64,
    /// The largest input accepted, in bytes (default 16 MiB).
    pub max_input_size: usize,
}

impl Options {
    /// Options with defaults for a ledger at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Options {
            path: path.into(),
            source_tz: ledger_parser::DEFAULT_SOURCE_TZ,
            wait: Duration::ZERO,
            cache_capacity: 64 * 1024 * 1024,
            max_input_size: ledger_parser::DEFAULT_MAX_SIZE,
        }
    }
}

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
    /// The input did not parse (or failed a check); it is kept in the quarantine.
    Rejected {
        /// The quarantine entry.
        id: u64,
        /// Why, as one line.
        reason: String,
    },
}

/// Why an item sits in the quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineReason {
    /// It did not parse; the parser's message.
    Unparsable(String),
}

/// An item kept because it could not become an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantineEntry {
    /// Its id.
    pub id: u64,
    /// Where it came from.
    pub origin: Origin,
    /// Why it is here.
    pub reason: QuarantineReason,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// SHA-256 of its raw bytes, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// What [`Ledger::reparse`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReparseReport {
    /// Entries tried.
    pub tried: u64,
    /// Entries that now parse and became events.
    pub appended: u64,
    /// Entries that now parse but duplicate an event.
    pub duplicates: u64,
    /// Entries that still do not parse.
    pub still_rejected: u64,
}

/// What [`Ledger::rebuild`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    /// Events folded.
    pub events: u64,
    /// How long it took.
    pub elapsed_ms: u64,
}

/// What [`Ledger::verify`] found: every difference between the stored indexes and projections
/// and a fresh fold of the log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// Each difference, one line.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// True when nothing differs.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Sizes and counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Events in the log.
    pub events: u64,
    /// Items in the quarantine.
    pub quarantined: u64,
    /// Distinct ctids.
    pub orders: u64,
    /// Pending outgoing transfers (now).
    pub pending_transfers: u64,
    /// Open failed creates.
    pub failed_creates: u64,
    /// Bytes on disk (sled + raw packs).
    pub disk_bytes: u64,
    /// Events per kind name.
    pub kinds: Vec<(String, u64)>,
}

/// An open ledger.
pub struct Ledger {
    _private: (),
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `options.path`.
    pub fn open(options: Options) -> Result<Ledger> {
        let _ = options;
        todo!()
    }

    /// Ingests one item (a mail or a bare body). Returns once the outcome is durable (flushed).
    pub fn ingest(&self, raw: &[u8], origin: Origin) -> Result<IngestOutcome> {
        let _ = (raw, origin);
        todo!()
    }

    /// Ingests many items with one sled write and one flush per batch of `batch` items.
    /// Outcomes come back in input order.
    pub fn ingest_batch(
        &self,
        items: Vec<(Vec<u8>, Origin)>,
    ) -> Result<Vec<IngestOutcome>> {
        let _ = items;
        todo!()
    }

    /// Records a CentralNic Reseller command response for the order `ctid`.
    pub fn record_response(
        &self,
        raw: &[u8],
        ctid: &str,
        command: Option<&str>,
        domain: Option<&str>,
        origin: Origin,
    ) -> Result<IngestOutcome> {
        let _ = (raw, ctid, command, domain, origin);
        todo!()
    }

    /// Every event of an order, oldest first (by seq).
    pub fn events_by_ctid(&self, ctid: &str) -> Result<Vec<Event>> {
        let _ = ctid;
        todo!()
    }

    /// Every event of a domain (any case, Unicode or punycode), oldest first (by seq).
    pub fn events_by_domain(&self, domain: &str) -> Result<Vec<Event>> {
        let _ = domain;
        todo!()
    }

    /// Outgoing transfers pending at `at`, sorted by deadline (unknown deadlines last).
    pub fn pending_transfers(&self, at: DateTime<Utc>) -> Result<Vec<PendingTransfer>> {
        let _ = at;
        todo!()
    }

    /// Failed creates, resolved ones included (see [`FailedCreate::resolved_by`]), by seq.
    pub fn failed_creates(&self) -> Result<Vec<FailedCreate>> {
        todo!()
    }

    /// Every order, by ctid.
    pub fn orders(&self) -> Result<Vec<Order>> {
        todo!()
    }

    /// One order.
    pub fn order(&self, ctid: &str) -> Result<Option<Order>> {
        let _ = ctid;
        todo!()
    }

    /// Domains that left and OwnerC imports.
    pub fn inventory(&self) -> Result<Inventory> {
        todo!()
    }

    /// The quarantine, oldest first.
    pub fn quarantine(&self) -> Result<Vec<QuarantineEntry>> {
        todo!()
    }

    /// Re-parses every quarantined item with this build's parser; those that now parse become
    /// events (or duplicates) and leave the quarantine.
    pub fn reparse(&self) -> Result<ReparseReport> {
        todo!()
    }

    /// Events from position `since` on (inclusive), in order, read lazily.
    pub fn export(&self, since: u64) -> impl Iterator<Item = Result<Event>> + '_ {
        let _ = since;
        std::iter::empty()
    }

    /// The raw bytes of an event, as received.
    pub fn raw(&self, event: &Event) -> Result<Vec<u8>> {
        let _ = event;
        todo!()
    }

    /// Re-folds every projection from the log, replacing the kept ones.
    pub fn rebuild(&self) -> Result<RebuildReport> {
        todo!()
    }

    /// Checks the indexes, the de-duplication keys and every projection against a fresh fold of
    /// the log, and reports each difference.
    pub fn verify(&self) -> Result<VerifyReport> {
        todo!()
    }

    /// Sizes and counts.
    pub fn stats(&self) -> Result<Stats> {
        todo!()
    }
}
