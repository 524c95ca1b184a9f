//! An event's record in the packs (the sled backend): the stored event beside where its raw
//! input is, and reading one back from its place.

use ledger_event::Event;

use crate::raw::{PackReader, PackRef, decode_ref, encode_ref};
use crate::{LedgerError, Result};

/// The magic of an event's record in the packs since layout 5 (issue 14): [`EVENT_RECORD`]
/// ++ where its raw input is ([`encode_ref`], 16 bytes) ++ the stored event (a
/// `LEVT` envelope, [`ledger_event::stored`]). The domain event no longer carries where the
/// ledger keeps its raw input; the ledger keeps that beside it. Records written before layout
/// 5 are bare version-1 envelopes, which carry the reference themselves, and are never
/// rewritten.
pub(crate) const EVENT_RECORD: [u8; 4] = *b"LEVR";

/// The bytes before the stored event in an [`EVENT_RECORD`].
const EVENT_RECORD_HEADER: usize = EVENT_RECORD.len() + 16;

/// The pack record of `event`, whose raw input is at `raw` (see [`EVENT_RECORD`]).
pub(crate) fn event_record(event: &Event, raw: PackRef) -> Vec<u8> {
    let stored = ledger_event::stored::encode_event(event);
    let mut out = Vec::with_capacity(EVENT_RECORD_HEADER + stored.len());
    out.extend_from_slice(&EVENT_RECORD);
    out.extend_from_slice(&encode_ref(raw));
    out.extend_from_slice(&stored);
    out
}

/// Reads an event from its place in a pack (see [`crate::locators`]); `seq` names it in
/// errors.
pub(crate) fn load_event(place: PackRef, seq: u64, packs: &mut PackReader) -> Result<Event> {
    decode_stored(&load_stored(place, seq, packs)?, seq)
}

/// Reads an event and where its raw input is from its place in a pack; `seq` names it in
/// errors.
pub(crate) fn load_event_and_raw(
    place: PackRef,
    seq: u64,
    packs: &mut PackReader,
) -> Result<(Event, PackRef)> {
    decode_stored_with_raw(&load_stored(place, seq, packs)?, seq)
}

/// The record of an event (see [`load_event`]), not decoded yet.
pub(crate) fn load_stored(place: PackRef, seq: u64, packs: &mut PackReader) -> Result<Vec<u8>> {
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
pub(crate) fn decode_stored(bytes: &[u8], seq: u64) -> Result<Event> {
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
pub(crate) fn decode_stored_with_raw(bytes: &[u8], seq: u64) -> Result<(Event, PackRef)> {
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
            Ok((decode(stored)?.event, decode_ref(raw)?))
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

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

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
