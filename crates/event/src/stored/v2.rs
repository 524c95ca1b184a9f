//! Format version 2 of the stored event (issue 14): version 1 without the pack reference.
//!
//! A version-1 event carried where the sled ledger had put its raw input (a pack, an offset, a
//! length). That is the storage backend's business, not the domain's: a PostgreSQL ledger keeps
//! raw inputs in a table, and the sled ledger now keeps the reference beside the stored event
//! in its own record. Version 2 is version 1's event with a [`StoredSourceV2`] that has no
//! reference; the notification and every other mirror type are version 1's, whose layout is
//! fixed forever, so they are reused as they are.
//!
//! These types are the layout on disk. Never change them: write a `v3` module instead.

use bincode::{Decode, Encode};
use ledger_parser::Notification;

use super::v1::{
    StoredInstantV1, StoredNotificationV1, kind_from_tag, kind_tag, opt_utc, provider_from_tag,
    provider_tag, tag,
};
use crate::{Event, EventError, Origin, Source};

/// The version these types are written under.
const VERSION: u16 = 2;

/// A stored [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredEventV2 {
    /// [`Event::seq`].
    pub seq: u64,
    /// [`Event::recorded_at`].
    pub recorded_at: StoredInstantV1,
    /// [`Event::occurred_at`].
    pub occurred_at: Option<StoredInstantV1>,
    /// [`Event::kind`], as a tag ([`kind_tag`]).
    pub kind: u8,
    /// [`Event::provider`], as a tag ([`provider_tag`]).
    pub provider: u8,
    /// [`Event::ctid`].
    pub ctid: Option<String>,
    /// [`Event::domain`].
    pub domain: Option<String>,
    /// [`Event::command`].
    pub command: Option<String>,
    /// [`Event::notification`], in version 1's form.
    pub notification: StoredNotificationV1,
    /// [`Event::source`].
    pub source: StoredSourceV2,
}

/// A stored [`Source`]: what the input was, not where a backend keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredSourceV2 {
    /// [`Source::sha256`].
    pub sha256: [u8; 32],
    /// [`Source::message_id`].
    pub message_id: Option<String>,
    /// [`Source::origin`], as text.
    pub origin: String,
}

impl From<&Event> for StoredEventV2 {
    fn from(e: &Event) -> Self {
        StoredEventV2 {
            seq: e.seq,
            recorded_at: e.recorded_at.into(),
            occurred_at: e.occurred_at.map(Into::into),
            kind: kind_tag(e.kind),
            provider: provider_tag(e.provider),
            ctid: e.ctid.clone(),
            domain: e.domain.clone(),
            command: e.command.clone(),
            notification: (&e.notification).into(),
            source: StoredSourceV2 {
                sha256: e.source.sha256,
                message_id: e.source.message_id.clone(),
                origin: e.source.origin.0.clone(),
            },
        }
    }
}

impl TryFrom<StoredEventV2> for Event {
    type Error = EventError;

    fn try_from(s: StoredEventV2) -> Result<Self, EventError> {
        let read = || -> Result<Event, EventError> {
            Ok(Event {
                seq: s.seq,
                recorded_at: s.recorded_at.to_utc("recorded_at")?,
                occurred_at: opt_utc(s.occurred_at, "occurred_at")?,
                kind: tag("event kind", s.kind, kind_from_tag)?,
                provider: tag("provider", s.provider, provider_from_tag)?,
                ctid: s.ctid,
                domain: s.domain,
                command: s.command,
                notification: Notification::try_from(s.notification)?,
                source: Source {
                    sha256: s.source.sha256,
                    message_id: s.source.message_id,
                    origin: Origin(s.source.origin),
                },
            })
        };
        // The shared mirror types report their errors as version 1's; this record is a 2.
        read().map_err(|e| match e {
            EventError::Invalid { reason, .. } => EventError::Invalid {
                version: VERSION,
                reason,
            },
            other => other,
        })
    }
}
