//! Small storage helpers shared by the stored records: bincode, times, statuses, key layouts.

use chrono::{DateTime, Utc};
use ledger_parser::{Status, StatusClass, StatusPrefix};

use crate::{LedgerError, Result};

/// The bincode configuration of every record this crate writes.
pub(crate) fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes a record; `what` names it in the error.
pub(crate) fn encode<R: bincode::Encode>(record: &R, what: &str) -> Result<Vec<u8>> {
    bincode::encode_to_vec(record, config()).map_err(|e| LedgerError::Corrupt {
        what: what.to_string(),
        reason: format!("does not encode: {e}"),
    })
}

/// Decodes a record, refusing trailing bytes; `what` names it in the error.
pub(crate) fn decode<R: bincode::Decode<()>>(bytes: &[u8], what: &str) -> Result<R> {
    let (record, used) =
        bincode::decode_from_slice::<R, _>(bytes, config()).map_err(|e| LedgerError::Corrupt {
            what: what.to_string(),
            reason: format!("does not decode: {e}"),
        })?;
    if used != bytes.len() {
        return Err(LedgerError::Corrupt {
            what: what.to_string(),
            reason: format!("{} trailing bytes after the record", bytes.len() - used),
        });
    }
    Ok(record)
}

/// The magic of an event's record in the packs since layout 5 (issue 14): [`EVENT_RECORD`]
/// ++ where its raw input is ([`crate::raw::encode_ref`], 16 bytes) ++ the stored event (a
/// `LEVT` envelope, [`ledger_event::stored`]). The domain event no longer carries where the
/// ledger keeps its raw input; the ledger keeps that beside it. Records written before layout
/// 5 are bare version-1 envelopes, which carry the reference themselves, and are never
/// rewritten.
pub(crate) const EVENT_RECORD: [u8; 4] = *b"LEVR";

/// The bytes before the stored event in an [`EVENT_RECORD`].
const EVENT_RECORD_HEADER: usize = EVENT_RECORD.len() + 16;

/// The pack record of `event`, whose raw input is at `raw` (see [`EVENT_RECORD`]).
pub(crate) fn event_record(event: &ledger_event::Event, raw: crate::raw::PackRef) -> Vec<u8> {
    let stored = ledger_event::stored::encode_event(event);
    let mut out = Vec::with_capacity(EVENT_RECORD_HEADER + stored.len());
    out.extend_from_slice(&EVENT_RECORD);
    out.extend_from_slice(&crate::raw::encode_ref(raw));
    out.extend_from_slice(&stored);
    out
}

/// Reads an event from its place in a pack (see [`crate::locators`]); `seq` names it in
/// errors.
pub(crate) fn load_event(
    place: crate::raw::PackRef,
    seq: u64,
    packs: &mut crate::raw::PackReader,
) -> Result<ledger_event::Event> {
    decode_stored(&load_stored(place, seq, packs)?, seq)
}

/// Reads an event and where its raw input is from its place in a pack; `seq` names it in
/// errors.
pub(crate) fn load_event_and_raw(
    place: crate::raw::PackRef,
    seq: u64,
    packs: &mut crate::raw::PackReader,
) -> Result<(ledger_event::Event, crate::raw::PackRef)> {
    decode_stored_with_raw(&load_stored(place, seq, packs)?, seq)
}

/// The record of an event (see [`load_event`]), not decoded yet.
pub(crate) fn load_stored(
    place: crate::raw::PackRef,
    seq: u64,
    packs: &mut crate::raw::PackReader,
) -> Result<Vec<u8>> {
    packs.read(place).map_err(|e| match e {
        LedgerError::Corrupt { what, reason } => LedgerError::Corrupt {
            what: format!("event {seq} ({what})"),
            reason,
        },
        other => other,
    })
}

/// Decodes an event's record (an [`EVENT_RECORD`] or a bare version-1 envelope); `seq` names
/// it in errors.
pub(crate) fn decode_stored(bytes: &[u8], seq: u64) -> Result<ledger_event::Event> {
    let stored = match bytes.strip_prefix(&EVENT_RECORD) {
        Some(rest) => rest
            .get(16..)
            .ok_or_else(|| short_record(seq, bytes.len()))?,
        None => bytes,
    };
    ledger_event::stored::decode_event(stored)
        .map_err(|source| LedgerError::StoredEvent { seq, source })
}

/// Decodes an event's record and where its raw input is: from the record's header, or from a
/// version-1 event itself.
pub(crate) fn decode_stored_with_raw(
    bytes: &[u8],
    seq: u64,
) -> Result<(ledger_event::Event, crate::raw::PackRef)> {
    let decode = |stored: &[u8]| {
        ledger_event::stored::decode(stored)
            .map_err(|source| LedgerError::StoredEvent { seq, source })
    };
    match bytes.strip_prefix(&EVENT_RECORD) {
        Some(rest) => {
            let (raw, stored) = (rest.get(..16), rest.get(16..));
            let (Some(raw), Some(stored)) = (raw, stored) else {
                return Err(short_record(seq, bytes.len()));
            };
            Ok((decode(stored)?.event, crate::raw::decode_ref(raw)?))
        }
        None => {
            let decoded = decode(bytes)?;
            let raw = decoded.v1_raw.ok_or_else(|| LedgerError::Corrupt {
                what: format!("event {seq}"),
                reason: "a bare stored event of version 2 or later, without the place of its \
                         raw input (written since layout 5 only inside an event record)"
                    .into(),
            })?;
            Ok((decoded.event, raw.into()))
        }
    }
}

/// The error for an event record shorter than its header.
fn short_record(seq: u64, len: usize) -> LedgerError {
    LedgerError::Corrupt {
        what: format!("event {seq}"),
        reason: format!(
            "an event record of {len} bytes, shorter than its {EVENT_RECORD_HEADER}-byte header"
        ),
    }
}

/// A time as stored: microseconds since the Unix epoch.
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// A stored time back; `None` when out of chrono's range (a corrupt record).
pub(crate) fn from_micros(micros: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
}

/// Reads a big-endian u64 stored value or key suffix.
pub(crate) fn be_u64(bytes: &[u8], what: &str) -> Result<u64> {
    let array: [u8; 8] = bytes.try_into().map_err(|_| LedgerError::Corrupt {
        what: what.to_string(),
        reason: format!("expected 8 bytes, found {}", bytes.len()),
    })?;
    Ok(u64::from_be_bytes(array))
}

/// An index key: `prefix ++ 0x00 ++ seq BE`.
pub(crate) fn index_key(prefix: &str, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + 9);
    key.extend_from_slice(prefix.as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The scan prefix of an index: `prefix ++ 0x00`.
pub(crate) fn index_prefix(prefix: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + 1);
    key.extend_from_slice(prefix.as_bytes());
    key.push(0);
    key
}

/// Splits an index key into its prefix text and seq.
pub(crate) fn split_index_key(key: &[u8]) -> Option<(&[u8], u64)> {
    let cut = key.len().checked_sub(9)?;
    let (prefix, rest) = key.split_at(cut);
    let (zero, seq) = rest.split_first()?;
    if *zero != 0 {
        return None;
    }
    Some((prefix, u64::from_be_bytes(seq.try_into().ok()?)))
}

/// A status as stored in projection records (the parser's type is not bincode).
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct StoredStatus {
    code: String,
    prefix: u8,
    text: Option<String>,
    class: StoredClass,
}

/// A status class as stored: one byte, its tag 0..=3 in declaration order (bincode writes a
/// variant index below 251 as one byte, as the `u8` tags it replaces). Any other tag does not
/// decode, so a loaded record always has a class and a fold reading it cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bincode::Encode, bincode::Decode)]
enum StoredClass {
    Success,
    InProgress,
    Temporary,
    Permanent,
}

impl StoredStatus {
    /// The stored form of a status.
    pub(crate) fn of(status: &Status) -> Self {
        StoredStatus {
            code: status.code.clone(),
            prefix: match status.prefix {
                None => 0,
                Some(StatusPrefix::Success) => 1,
                Some(StatusPrefix::Error) => 2,
                Some(StatusPrefix::Notify) => 3,
            },
            text: status.text.clone(),
            class: match status.class {
                StatusClass::Success => StoredClass::Success,
                StatusClass::InProgress => StoredClass::InProgress,
                StatusClass::Temporary => StoredClass::Temporary,
                StatusClass::Permanent => StoredClass::Permanent,
            },
        }
    }

    /// The status back.
    pub(crate) fn status(&self) -> Result<Status> {
        let prefix = match self.prefix {
            0 => None,
            1 => Some(StatusPrefix::Success),
            2 => Some(StatusPrefix::Error),
            3 => Some(StatusPrefix::Notify),
            other => return Err(corrupt_tag("status prefix", other)),
        };
        Ok(Status {
            code: self.code.clone(),
            prefix,
            text: self.text.clone(),
            class: self.class(),
        })
    }

    /// The status class back.
    pub(crate) fn class(&self) -> StatusClass {
        match self.class {
            StoredClass::Success => StatusClass::Success,
            StoredClass::InProgress => StatusClass::InProgress,
            StoredClass::Temporary => StatusClass::Temporary,
            StoredClass::Permanent => StatusClass::Permanent,
        }
    }
}

/// A corrupt enum tag in a stored record.
pub(crate) fn corrupt_tag(what: &str, tag: u8) -> LedgerError {
    LedgerError::Corrupt {
        what: what.to_string(),
        reason: format!("unknown tag {tag}"),
    }
}

/// A stored time that chrono cannot represent.
pub(crate) fn time(micros: i64, what: &str) -> Result<DateTime<Utc>> {
    from_micros(micros).ok_or_else(|| LedgerError::Corrupt {
        what: what.to_string(),
        reason: format!("time {micros} µs is out of range"),
    })
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::PackRef;

    fn event() -> ledger_event::Event {
        let raw = b"Date: Mon, 01 Mar 2021 10:00:00 +0100\r\n\r\n<system>\nstatus: N0101\nctid: c-1\n</system>\n";
        let notification = ledger_parser::parse(raw, &ledger_parser::ParseOptions::default())
            .expect("the test mail parses");
        ledger_event::Event {
            seq: 7,
            recorded_at: DateTime::from_timestamp(1_614_589_200, 0).expect("in range"),
            occurred_at: notification.occurred_at(),
            kind: ledger_event::classify(&notification, None),
            provider: notification.provider,
            ctid: notification.ctid.clone(),
            domain: None,
            command: None,
            source: ledger_event::Source {
                sha256: [9; 32],
                message_id: None,
                origin: ledger_event::Origin::new("mbox:test#1"),
            },
            notification,
        }
    }

    /// The layout of an event record is pinned: magic, the raw input's place (big-endian
    /// pack, offset, index), then the stored event as the event crate writes it. A change
    /// breaks every layout-5 ledger and must fail here.
    #[test]
    fn an_event_record_is_magic_then_the_raw_place_then_the_stored_event() {
        let event = event();
        let raw = PackRef {
            pack: 3,
            offset: 0x0102_0304_0506,
            len: 17,
        };
        let record = event_record(&event, raw);
        assert_eq!(&record[..4], b"LEVR");
        assert_eq!(
            record[4..20],
            [0, 0, 0, 3, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0, 17]
        );
        assert_eq!(&record[20..], ledger_event::stored::encode_event(&event));
        assert_eq!(&record[20..26], b"LEVT\x02\x00");
        let (back, place) = decode_stored_with_raw(&record, 7).expect("decodes");
        assert_eq!((back, place), (event.clone(), raw));
        assert_eq!(decode_stored(&record, 7).expect("decodes"), event);
    }

    /// A version-1 record (written before layout 5) is read as it is, its raw place from the
    /// event itself; a bare version-2 envelope has no place and is corrupt, as is a torn
    /// header.
    #[test]
    fn old_records_read_and_records_without_a_place_are_corrupt() {
        let event = event();
        let v1 = ledger_event::stored::encode_event_v1(
            &event,
            ledger_event::stored::v1::StoredRawRefV1 {
                pack: 1,
                offset: 12,
                len: 0,
            },
        );
        let (back, place) = decode_stored_with_raw(&v1, 7).expect("decodes");
        assert_eq!(back, event);
        assert_eq!(
            place,
            PackRef {
                pack: 1,
                offset: 12,
                len: 0
            }
        );
        let bare_v2 = ledger_event::stored::encode_event(&event);
        assert!(matches!(
            decode_stored_with_raw(&bare_v2, 7),
            Err(LedgerError::Corrupt { .. })
        ));
        assert!(matches!(
            decode_stored(b"LEVR\x00\x01", 7),
            Err(LedgerError::Corrupt { .. })
        ));
    }
}
