//! `ledger`: the event log, its indexes and its projections. The only crate that knows sled.
//!
//! TODO(ledger helper): crate docs with a runnable example (open, ingest, pending transfers).

mod error;
mod ledger;
mod projections;

pub use error::{LedgerError, Result};
pub use ledger::{
    IngestOutcome, Ledger, Options, QuarantineEntry, QuarantineReason, RebuildReport,
    ReparseReport, Stats, VerifyReport,
};
pub use projections::{
    DefaultAction, Departure, DepartureReason, FailedCreate, Inventory, Order, OrderState,
    OwnerCImport, PendingTransfer,
};
