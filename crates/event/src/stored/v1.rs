//! Format version 1 of the stored event: mirror types of [`Event`] and of the parser's
//! [`Notification`], and the explicit conversions between them.
//!
//! These types are the layout on disk. Never change them: write a `v2` module instead (see the
//! [parent module](super)). Enum values are written as the `u8` tags listed by the `*_tag`
//! functions here; the tags of version 1 are fixed forever.

use bincode::{Decode, Encode};
use chrono::{DateTime, FixedOffset, Utc};
use ledger_parser::{
    CentralNicResponse, Diagnostic, DomainName, DstFlag, Field, Format, MailMeta, Notice,
    Notification, Property, Provider, Status, StatusClass, StatusPrefix, TimeReading,
    TransferTimetable,
};

use crate::{Event, EventError, EventKind, Origin, Source, TransferAnswer};

/// The version these types are written under.
const VERSION: u16 = 1;

/// An invalid-record error of this version.
fn invalid(reason: String) -> EventError {
    EventError::Invalid {
        version: VERSION,
        reason,
    }
}

/// A stored [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredEventV1 {
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
    /// [`Event::notification`].
    pub notification: StoredNotificationV1,
    /// [`Event::source`].
    pub source: StoredSourceV1,
}

/// A stored instant: Unix seconds and the nanoseconds past them (exact for every
/// `DateTime<Utc>`, leap seconds included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct StoredInstantV1 {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Nanoseconds past `secs` (above 999 999 999 only inside a leap second).
    pub nanos: u32,
}

/// A stored time with the UTC offset it was written with (a mail `Date`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct StoredOffsetTimeV1 {
    /// The instant.
    pub instant: StoredInstantV1,
    /// The offset east of UTC, in seconds.
    pub offset_secs: i32,
}

/// A stored [`Source`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredSourceV1 {
    /// [`Source::sha256`].
    pub sha256: [u8; 32],
    /// [`Source::message_id`].
    pub message_id: Option<String>,
    /// [`Source::origin`], as text.
    pub origin: String,
    /// Where the raw input was put ([`StoredRawRefV1`]).
    pub raw: StoredRawRefV1,
}

/// Where the ledger had put an event's raw input (its pack reference), as version 1 kept it in
/// the event. Later versions leave it to the storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct StoredRawRefV1 {
    /// The pack file number.
    pub pack: u32,
    /// The byte offset of the record (or its block) in the pack.
    pub offset: u64,
    /// The stored length of a single record, or the record's index in its block.
    pub len: u32,
}

/// A stored [`Notification`]: every parsed field, not the raw body.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredNotificationV1 {
    /// Provider tag ([`provider_tag`]).
    pub provider: u8,
    /// Format tag ([`format_tag`]).
    pub format: u8,
    /// [`Notification::task`].
    pub task: Option<String>,
    /// [`Notification::status`].
    pub status: Option<StoredStatusV1>,
    /// [`Notification::ctid`].
    pub ctid: Option<String>,
    /// [`Notification::last_transaction`].
    pub last_transaction: Option<String>,
    /// [`Notification::stid`].
    pub stid: Option<String>,
    /// [`Notification::domain`], as text.
    pub domain: Option<String>,
    /// [`Notification::notices`].
    pub notices: Vec<StoredNoticeV1>,
    /// [`Notification::error`].
    pub error: Option<String>,
    /// [`Notification::kk_answer`].
    pub kk_answer: Option<String>,
    /// [`Notification::autoupdate`].
    pub autoupdate: Option<bool>,
    /// [`Notification::owner_c`].
    pub owner_c: Option<String>,
    /// [`Notification::nic_response`].
    pub nic_response: Option<String>,
    /// [`Notification::timetable`].
    pub timetable: StoredTimetableV1,
    /// [`Notification::event_type`].
    pub event_type: Option<String>,
    /// [`Notification::created`].
    pub created: Option<StoredInstantV1>,
    /// [`Notification::centralnic`].
    pub centralnic: Option<StoredCentralNicV1>,
    /// [`Notification::mail`].
    pub mail: Option<StoredMailV1>,
    /// [`Notification::fields`].
    pub fields: Vec<StoredFieldV1>,
    /// [`Notification::diagnostics`].
    pub diagnostics: Vec<StoredDiagnosticV1>,
}

/// A stored [`Status`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredStatusV1 {
    /// [`Status::code`].
    pub code: String,
    /// [`Status::prefix`], as a tag ([`prefix_tag`]; 0 for none).
    pub prefix: u8,
    /// [`Status::text`].
    pub text: Option<String>,
    /// [`Status::class`], as a tag ([`class_tag`]).
    pub class: u8,
}

/// A stored [`Notice`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredNoticeV1 {
    /// [`Notice::code`].
    pub code: String,
    /// [`Notice::text`].
    pub text: Option<String>,
}

/// A stored [`TimeReading`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredTimeReadingV1 {
    /// [`TimeReading::raw`].
    pub raw: String,
    /// [`TimeReading::utc`].
    pub utc: Option<StoredInstantV1>,
    /// [`TimeReading::dst`], as a tag ([`dst_tag`]).
    pub dst: u8,
}

/// A stored [`TransferTimetable`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredTimetableV1 {
    /// [`TransferTimetable::start`].
    pub start: Option<StoredTimeReadingV1>,
    /// [`TransferTimetable::reminder`].
    pub reminder: Option<StoredTimeReadingV1>,
    /// [`TransferTimetable::autoack`].
    pub autoack: Option<StoredTimeReadingV1>,
    /// [`TransferTimetable::autonack`].
    pub autonack: Option<StoredTimeReadingV1>,
    /// [`TransferTimetable::end`].
    pub end: Option<StoredTimeReadingV1>,
    /// [`TransferTimetable::new`].
    pub new: Option<String>,
}

/// A stored [`MailMeta`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredMailV1 {
    /// [`MailMeta::message_id`].
    pub message_id: Option<String>,
    /// [`MailMeta::date`].
    pub date: Option<StoredOffsetTimeV1>,
    /// [`MailMeta::from`].
    pub from: Option<String>,
    /// [`MailMeta::subject`].
    pub subject: Option<String>,
    /// [`MailMeta::received`].
    pub received: Vec<String>,
    /// [`MailMeta::authentication_results`].
    pub authentication_results: Vec<String>,
}

/// A stored [`Field`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredFieldV1 {
    /// [`Field::block`].
    pub block: String,
    /// [`Field::key`].
    pub key: String,
    /// [`Field::value`].
    pub value: String,
    /// [`Field::line`].
    pub line: u32,
}

/// A stored [`Diagnostic`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredDiagnosticV1 {
    /// [`Diagnostic::block`].
    pub block: Option<String>,
    /// [`Diagnostic::line`].
    pub line: Option<u32>,
    /// [`Diagnostic::message`].
    pub message: String,
}

/// A stored [`CentralNicResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredCentralNicV1 {
    /// [`CentralNicResponse::code`].
    pub code: u16,
    /// [`CentralNicResponse::description`].
    pub description: String,
    /// [`CentralNicResponse::runtime`].
    pub runtime: Option<String>,
    /// [`CentralNicResponse::queuetime`].
    pub queuetime: Option<String>,
    /// [`CentralNicResponse::properties`].
    pub properties: Vec<StoredPropertyV1>,
}

/// A stored [`Property`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredPropertyV1 {
    /// [`Property::name`].
    pub name: String,
    /// [`Property::index`].
    pub index: u32,
    /// [`Property::value`].
    pub value: String,
}

// ---------------------------------------------------------------------------------------------
// Tags. Each pair of functions must agree; the numbers are part of the format.

/// The version-1 tag of an [`EventKind`].
pub fn kind_tag(kind: EventKind) -> u8 {
    match kind {
        EventKind::OrderInProgress => 0,
        EventKind::DomainCreated => 1,
        EventKind::DomainCreateFailed => 2,
        EventKind::DomainUpdated => 3,
        EventKind::DomainUpdateFailed => 4,
        EventKind::AuthInfoDeleted => 5,
        EventKind::OwnerCImported => 6,
        EventKind::DomainDeleted => 7,
        EventKind::DomainDeleteFailed => 8,
        EventKind::TransferInStarted => 9,
        EventKind::TransferInAcked => 10,
        EventKind::TransferInNacked => 11,
        EventKind::TransferOutStarted => 12,
        EventKind::TransferOutReminded => 13,
        EventKind::TransferOutAnswered(TransferAnswer::Ack) => 14,
        EventKind::TransferOutAnswered(TransferAnswer::Nack) => 15,
        EventKind::TransferOutAutoAcked => 16,
        EventKind::TransferOutAutoNacked => 17,
        EventKind::DomainAway => 18,
        EventKind::CommandSucceeded => 19,
        EventKind::CommandTemporaryFailure => 20,
        EventKind::CommandFailed => 21,
        EventKind::Unknown => 22,
    }
}

/// The [`EventKind`] of a version-1 tag.
pub fn kind_from_tag(tag: u8) -> Option<EventKind> {
    Some(match tag {
        0 => EventKind::OrderInProgress,
        1 => EventKind::DomainCreated,
        2 => EventKind::DomainCreateFailed,
        3 => EventKind::DomainUpdated,
        4 => EventKind::DomainUpdateFailed,
        5 => EventKind::AuthInfoDeleted,
        6 => EventKind::OwnerCImported,
        7 => EventKind::DomainDeleted,
        8 => EventKind::DomainDeleteFailed,
        9 => EventKind::TransferInStarted,
        10 => EventKind::TransferInAcked,
        11 => EventKind::TransferInNacked,
        12 => EventKind::TransferOutStarted,
        13 => EventKind::TransferOutReminded,
        14 => EventKind::TransferOutAnswered(TransferAnswer::Ack),
        15 => EventKind::TransferOutAnswered(TransferAnswer::Nack),
        16 => EventKind::TransferOutAutoAcked,
        17 => EventKind::TransferOutAutoNacked,
        18 => EventKind::DomainAway,
        19 => EventKind::CommandSucceeded,
        20 => EventKind::CommandTemporaryFailure,
        21 => EventKind::CommandFailed,
        22 => EventKind::Unknown,
        _ => return None,
    })
}

/// The version-1 tag of a [`Provider`].
pub fn provider_tag(provider: Provider) -> u8 {
    match provider {
        Provider::AutoDns => 0,
        Provider::CentralNic => 1,
    }
}

/// The [`Provider`] of a version-1 tag.
pub fn provider_from_tag(tag: u8) -> Option<Provider> {
    match tag {
        0 => Some(Provider::AutoDns),
        1 => Some(Provider::CentralNic),
        _ => None,
    }
}

/// The version-1 tag of a [`Format`].
pub fn format_tag(format: Format) -> u8 {
    match format {
        Format::AutoDnsText => 0,
        Format::AutoDnsXml => 1,
        Format::AutoDnsJson => 2,
        Format::CentralNic => 3,
    }
}

/// The [`Format`] of a version-1 tag.
pub fn format_from_tag(tag: u8) -> Option<Format> {
    match tag {
        0 => Some(Format::AutoDnsText),
        1 => Some(Format::AutoDnsXml),
        2 => Some(Format::AutoDnsJson),
        3 => Some(Format::CentralNic),
        _ => None,
    }
}

/// The version-1 tag of an optional [`StatusPrefix`] (0: none).
pub fn prefix_tag(prefix: Option<StatusPrefix>) -> u8 {
    match prefix {
        None => 0,
        Some(StatusPrefix::Success) => 1,
        Some(StatusPrefix::Error) => 2,
        Some(StatusPrefix::Notify) => 3,
    }
}

/// The optional [`StatusPrefix`] of a version-1 tag; `None` for an unknown tag.
pub fn prefix_from_tag(tag: u8) -> Option<Option<StatusPrefix>> {
    match tag {
        0 => Some(None),
        1 => Some(Some(StatusPrefix::Success)),
        2 => Some(Some(StatusPrefix::Error)),
        3 => Some(Some(StatusPrefix::Notify)),
        _ => None,
    }
}

/// The version-1 tag of a [`StatusClass`].
pub fn class_tag(class: StatusClass) -> u8 {
    match class {
        StatusClass::Success => 0,
        StatusClass::InProgress => 1,
        StatusClass::Temporary => 2,
        StatusClass::Permanent => 3,
    }
}

/// The [`StatusClass`] of a version-1 tag.
pub fn class_from_tag(tag: u8) -> Option<StatusClass> {
    match tag {
        0 => Some(StatusClass::Success),
        1 => Some(StatusClass::InProgress),
        2 => Some(StatusClass::Temporary),
        3 => Some(StatusClass::Permanent),
        _ => None,
    }
}

/// The version-1 tag of a [`DstFlag`].
pub fn dst_tag(flag: DstFlag) -> u8 {
    match flag {
        DstFlag::Unambiguous => 0,
        DstFlag::Gap => 1,
        DstFlag::Overlap => 2,
    }
}

/// The [`DstFlag`] of a version-1 tag.
pub fn dst_from_tag(tag: u8) -> Option<DstFlag> {
    match tag {
        0 => Some(DstFlag::Unambiguous),
        1 => Some(DstFlag::Gap),
        2 => Some(DstFlag::Overlap),
        _ => None,
    }
}

/// Reads a tag with `read`, or says which tag of what was unknown.
pub(super) fn tag<T>(what: &str, tag: u8, read: fn(u8) -> Option<T>) -> Result<T, EventError> {
    read(tag).ok_or_else(|| invalid(format!("unknown {what} tag {tag}")))
}

// ---------------------------------------------------------------------------------------------
// Instants.

impl From<DateTime<Utc>> for StoredInstantV1 {
    fn from(t: DateTime<Utc>) -> Self {
        StoredInstantV1 {
            secs: t.timestamp(),
            nanos: t.timestamp_subsec_nanos(),
        }
    }
}

impl StoredInstantV1 {
    /// The instant, or an invalid-record error naming `what` if it is out of range.
    pub(super) fn to_utc(self, what: &str) -> Result<DateTime<Utc>, EventError> {
        DateTime::from_timestamp(self.secs, self.nanos).ok_or_else(|| {
            invalid(format!(
                "{what}: {}s + {}ns is not a representable instant",
                self.secs, self.nanos
            ))
        })
    }
}

/// Reads an optional instant.
pub(super) fn opt_utc(
    t: Option<StoredInstantV1>,
    what: &str,
) -> Result<Option<DateTime<Utc>>, EventError> {
    t.map(|t| t.to_utc(what)).transpose()
}

// ---------------------------------------------------------------------------------------------
// Event.

impl StoredEventV1 {
    /// The version-1 form of `e`, whose raw input the ledger had put at `raw`. Version 1 is
    /// only read by this build; this is for tests and tools that make version-1 records.
    pub fn new(e: &Event, raw: StoredRawRefV1) -> Self {
        StoredEventV1 {
            seq: e.seq,
            recorded_at: e.recorded_at.into(),
            occurred_at: e.occurred_at.map(Into::into),
            kind: kind_tag(e.kind),
            provider: provider_tag(e.provider),
            ctid: e.ctid.clone(),
            domain: e.domain.clone(),
            command: e.command.clone(),
            notification: (&e.notification).into(),
            source: StoredSourceV1 {
                sha256: e.source.sha256,
                message_id: e.source.message_id.clone(),
                origin: e.source.origin.0.clone(),
                raw,
            },
        }
    }

    /// The event, and where the record says the ledger put its raw input (a version-1 event
    /// carried that place; the domain [`Event`] no longer does).
    pub fn into_parts(self) -> Result<(Event, StoredRawRefV1), EventError> {
        let raw = self.source.raw;
        let event = Event {
            seq: self.seq,
            recorded_at: self.recorded_at.to_utc("recorded_at")?,
            occurred_at: opt_utc(self.occurred_at, "occurred_at")?,
            kind: tag("event kind", self.kind, kind_from_tag)?,
            provider: tag("provider", self.provider, provider_from_tag)?,
            ctid: self.ctid,
            domain: self.domain,
            command: self.command,
            notification: Notification::try_from(self.notification)?,
            source: Source {
                sha256: self.source.sha256,
                message_id: self.source.message_id,
                origin: Origin(self.source.origin),
            },
        };
        Ok((event, raw))
    }
}

// ---------------------------------------------------------------------------------------------
// Notification.

impl From<&Notification> for StoredNotificationV1 {
    fn from(n: &Notification) -> Self {
        StoredNotificationV1 {
            provider: provider_tag(n.provider),
            format: format_tag(n.format),
            task: n.task.clone(),
            status: n.status.as_ref().map(|s| StoredStatusV1 {
                code: s.code.clone(),
                prefix: prefix_tag(s.prefix),
                text: s.text.clone(),
                class: class_tag(s.class),
            }),
            ctid: n.ctid.clone(),
            last_transaction: n.last_transaction.clone(),
            stid: n.stid.clone(),
            domain: n.domain.as_ref().map(|d| d.as_str().to_string()),
            notices: n
                .notices
                .iter()
                .map(|x| StoredNoticeV1 {
                    code: x.code.clone(),
                    text: x.text.clone(),
                })
                .collect(),
            error: n.error.clone(),
            kk_answer: n.kk_answer.clone(),
            autoupdate: n.autoupdate,
            owner_c: n.owner_c.clone(),
            nic_response: n.nic_response.clone(),
            timetable: store_timetable(&n.timetable),
            event_type: n.event_type.clone(),
            created: n.created.map(Into::into),
            centralnic: n.centralnic.as_ref().map(|c| StoredCentralNicV1 {
                code: c.code,
                description: c.description.clone(),
                runtime: c.runtime.clone(),
                queuetime: c.queuetime.clone(),
                properties: c
                    .properties
                    .iter()
                    .map(|p| StoredPropertyV1 {
                        name: p.name.clone(),
                        index: p.index,
                        value: p.value.clone(),
                    })
                    .collect(),
            }),
            mail: n.mail.as_ref().map(|m| StoredMailV1 {
                message_id: m.message_id.clone(),
                date: m.date.map(|d| StoredOffsetTimeV1 {
                    instant: d.with_timezone(&Utc).into(),
                    offset_secs: d.offset().local_minus_utc(),
                }),
                from: m.from.clone(),
                subject: m.subject.clone(),
                received: m.received.clone(),
                authentication_results: m.authentication_results.clone(),
            }),
            fields: n
                .fields
                .iter()
                .map(|f| StoredFieldV1 {
                    block: f.block.clone(),
                    key: f.key.clone(),
                    value: f.value.clone(),
                    line: f.line,
                })
                .collect(),
            diagnostics: n
                .diagnostics
                .iter()
                .map(|d| StoredDiagnosticV1 {
                    block: d.block.clone(),
                    line: d.line,
                    message: d.message.clone(),
                })
                .collect(),
        }
    }
}

impl TryFrom<StoredNotificationV1> for Notification {
    type Error = EventError;

    fn try_from(s: StoredNotificationV1) -> Result<Self, EventError> {
        let status = match s.status {
            Some(st) => Some(Status {
                code: st.code,
                prefix: tag("status prefix", st.prefix, prefix_from_tag)?,
                text: st.text,
                class: tag("status class", st.class, class_from_tag)?,
            }),
            None => None,
        };
        let domain =
            match s.domain {
                Some(text) => Some(DomainName::parse(&text).ok_or_else(|| {
                    invalid(format!("notification domain {text:?} is not a domain"))
                })?),
                None => None,
            };
        let mail = match s.mail {
            Some(m) => Some(MailMeta {
                message_id: m.message_id,
                date: m.date.map(read_offset_time).transpose()?,
                from: m.from,
                subject: m.subject,
                received: m.received,
                authentication_results: m.authentication_results,
            }),
            None => None,
        };
        Ok(Notification {
            provider: tag("notification provider", s.provider, provider_from_tag)?,
            format: tag("format", s.format, format_from_tag)?,
            task: s.task,
            status,
            ctid: s.ctid,
            last_transaction: s.last_transaction,
            stid: s.stid,
            domain,
            notices: s
                .notices
                .into_iter()
                .map(|x| Notice {
                    code: x.code,
                    text: x.text,
                })
                .collect(),
            error: s.error,
            kk_answer: s.kk_answer,
            autoupdate: s.autoupdate,
            owner_c: s.owner_c,
            nic_response: s.nic_response,
            timetable: read_timetable(s.timetable)?,
            event_type: s.event_type,
            created: opt_utc(s.created, "created")?,
            centralnic: s.centralnic.map(|c| CentralNicResponse {
                code: c.code,
                description: c.description,
                runtime: c.runtime,
                queuetime: c.queuetime,
                properties: c
                    .properties
                    .into_iter()
                    .map(|p| Property {
                        name: p.name,
                        index: p.index,
                        value: p.value,
                    })
                    .collect(),
            }),
            mail,
            fields: s
                .fields
                .into_iter()
                .map(|f| Field {
                    block: f.block,
                    key: f.key,
                    value: f.value,
                    line: f.line,
                })
                .collect(),
            diagnostics: s
                .diagnostics
                .into_iter()
                .map(|d| Diagnostic {
                    block: d.block,
                    line: d.line,
                    message: d.message,
                })
                .collect(),
        })
    }
}

/// Reads a stored mail `Date` back with its offset.
fn read_offset_time(t: StoredOffsetTimeV1) -> Result<DateTime<FixedOffset>, EventError> {
    let offset = FixedOffset::east_opt(t.offset_secs).ok_or_else(|| {
        invalid(format!(
            "mail date offset {}s is out of range",
            t.offset_secs
        ))
    })?;
    Ok(t.instant.to_utc("mail date")?.with_timezone(&offset))
}

/// Stores a transfer timetable.
fn store_timetable(t: &TransferTimetable) -> StoredTimetableV1 {
    let reading = |r: &Option<TimeReading>| {
        r.as_ref().map(|r| StoredTimeReadingV1 {
            raw: r.raw.clone(),
            utc: r.utc.map(Into::into),
            dst: dst_tag(r.dst),
        })
    };
    StoredTimetableV1 {
        start: reading(&t.start),
        reminder: reading(&t.reminder),
        autoack: reading(&t.autoack),
        autonack: reading(&t.autonack),
        end: reading(&t.end),
        new: t.new.clone(),
    }
}

/// Reads a stored transfer timetable back.
fn read_timetable(t: StoredTimetableV1) -> Result<TransferTimetable, EventError> {
    fn reading(
        r: Option<StoredTimeReadingV1>,
        what: &str,
    ) -> Result<Option<TimeReading>, EventError> {
        r.map(|r| {
            Ok(TimeReading {
                utc: opt_utc(r.utc, what)?,
                dst: tag("dst flag", r.dst, dst_from_tag)?,
                raw: r.raw,
            })
        })
        .transpose()
    }
    Ok(TransferTimetable {
        start: reading(t.start, "kk_start")?,
        reminder: reading(t.reminder, "kk_reminder")?,
        autoack: reading(t.autoack, "kk_autoack")?,
        autonack: reading(t.autonack, "kk_autonack")?,
        end: reading(t.end, "kk_end")?,
        new: t.new,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_tag_and_reads_back() {
        let mut seen = std::collections::HashSet::new();
        for kind in EventKind::ALL {
            let t = kind_tag(kind);
            assert!(seen.insert(t), "tag {t} used twice");
            assert_eq!(kind_from_tag(t), Some(kind));
        }
        assert_eq!(kind_from_tag(EventKind::ALL.len() as u8), None);
    }

    #[test]
    fn version_1_kind_tags_are_fixed() {
        // The numbers are on disk: this list may only ever grow at its end.
        let names: Vec<&str> = (0..=22u8)
            .filter_map(kind_from_tag)
            .map(EventKind::name)
            .collect();
        assert_eq!(
            names,
            [
                "order_in_progress",
                "domain_created",
                "domain_create_failed",
                "domain_updated",
                "domain_update_failed",
                "authinfo_deleted",
                "ownerc_imported",
                "domain_deleted",
                "domain_delete_failed",
                "transfer_in_started",
                "transfer_in_acked",
                "transfer_in_nacked",
                "transfer_out_started",
                "transfer_out_reminded",
                "transfer_out_answered_ack",
                "transfer_out_answered_nack",
                "transfer_out_auto_acked",
                "transfer_out_auto_nacked",
                "domain_away",
                "command_succeeded",
                "command_temporary_failure",
                "command_failed",
                "unknown",
            ]
        );
    }

    #[test]
    fn small_enums_round_trip_and_reject_unknown_tags() {
        for p in [Provider::AutoDns, Provider::CentralNic] {
            assert_eq!(provider_from_tag(provider_tag(p)), Some(p));
        }
        for f in [
            Format::AutoDnsText,
            Format::AutoDnsXml,
            Format::AutoDnsJson,
            Format::CentralNic,
        ] {
            assert_eq!(format_from_tag(format_tag(f)), Some(f));
        }
        for p in [
            None,
            Some(StatusPrefix::Success),
            Some(StatusPrefix::Error),
            Some(StatusPrefix::Notify),
        ] {
            assert_eq!(prefix_from_tag(prefix_tag(p)), Some(p));
        }
        for c in [
            StatusClass::Success,
            StatusClass::InProgress,
            StatusClass::Temporary,
            StatusClass::Permanent,
        ] {
            assert_eq!(class_from_tag(class_tag(c)), Some(c));
        }
        for d in [DstFlag::Unambiguous, DstFlag::Gap, DstFlag::Overlap] {
            assert_eq!(dst_from_tag(dst_tag(d)), Some(d));
        }
        assert_eq!(provider_from_tag(2), None);
        assert_eq!(format_from_tag(4), None);
        assert_eq!(prefix_from_tag(4), None);
        assert_eq!(class_from_tag(4), None);
        assert_eq!(dst_from_tag(3), None);
    }

    #[test]
    fn instants_keep_nanoseconds_and_reject_out_of_range() {
        let t = DateTime::from_timestamp(1_273_952_471, 123_456_789).expect("valid instant");
        let stored = StoredInstantV1::from(t);
        assert_eq!(
            stored,
            StoredInstantV1 {
                secs: 1_273_952_471,
                nanos: 123_456_789
            }
        );
        assert_eq!(stored.to_utc("t").ok(), Some(t));
        let bad = StoredInstantV1 {
            secs: i64::MAX,
            nanos: 0,
        };
        assert!(matches!(
            bad.to_utc("t"),
            Err(EventError::Invalid { version: 1, .. })
        ));
    }
}
