//! [`Event`]: one immutable fact in the log.

use chrono::{DateTime, Utc};
use ledger_parser::{Notification, Provider, Status};
use serde::Serialize;

use crate::EventKind;

/// Where an item came from, as the caller named it: a path, `mbox:PATH#N`, `-` for stdin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Origin(pub String);

impl Origin {
    /// An origin from any text.
    pub fn new(text: impl Into<String>) -> Self {
        Origin(text.into())
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The input an event was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// SHA-256 of the raw bytes, as received.
    #[serde(serialize_with = "hex")]
    pub sha256: [u8; 32],
    /// The mail's Message-ID, if it was a mail.
    pub message_id: Option<String>,
    /// Where the item came from.
    pub origin: Origin,
}

fn hex<S: serde::Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_hex(bytes))
}

/// Lower-case hex of a byte string.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// One immutable fact in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// The global position in the log: gap-free, assigned inside the write.
    pub seq: u64,
    /// When the ledger recorded it.
    pub recorded_at: DateTime<Utc>,
    /// When the notification says it happened (mail `Date`, XML/JSON `created`).
    pub occurred_at: Option<DateTime<Utc>>,
    /// Which fact it is.
    pub kind: EventKind,
    /// Who sent it.
    pub provider: Provider,
    /// The reseller's order id, if any.
    pub ctid: Option<String>,
    /// The domain (lower case, Unicode), if any.
    pub domain: Option<String>,
    /// The CentralNic command this response answers (`AddDomain`), when recorded with one.
    pub command: Option<String>,
    /// The whole parsed notification: no field is dropped.
    pub notification: Notification,
    /// The input it was read from.
    pub source: Source,
}

impl Event {
    /// The status (always present on events built from a parse).
    pub fn status(&self) -> Option<&Status> {
        self.notification.status.as_ref()
    }

    /// The time used to order facts about the same order or domain: `occurred_at`, else
    /// `recorded_at`.
    pub fn effective_time(&self) -> DateTime<Utc> {
        self.occurred_at.unwrap_or(self.recorded_at)
    }
}
