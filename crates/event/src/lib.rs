//! `ledger-event`: the ledger's domain events.
//!
//! * [`Event`]: one immutable fact, at a global position (`seq`) in the log, carrying the whole
//!   parsed [`Notification`](ledger_parser::Notification).
//! * [`EventKind`]: which real-world fact it is, decided from codes only by [`classify`].
//! * [`stored`]: the versioned, bincode-encoded storage form, kept separate from these types so
//!   that a change of the domain types can never silently change what is on disk.
//! * [`content_key`]: the de-duplication key of a notification's content (of the poll message it
//!   carries, for AutoDNS XML/JSON); [`content_key_v1`]: the key of the builds before issue 11.

#![warn(missing_docs)]

mod classify;
mod dedup;
mod error;
mod event;
mod kind;
pub mod stored;

pub use classify::classify;
pub use dedup::{COPY_WINDOW, content_key, content_key_v1, is_copy, own_time};
pub use error::{EventError, Result};
pub use event::{Event, Origin, Source, to_hex};
pub use kind::{EventKind, TransferAnswer};
