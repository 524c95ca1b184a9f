//! The stored form of a quarantine entry: `QUARANTINE_MAGIC ++ version u16 BE ++ bincode`.

use chrono::Utc;
use ledger_event::{Origin, RawRef};

use crate::codec::{decode, encode, from_micros, micros};
use crate::{LedgerError, QuarantineEntry, QuarantineReason, Result};

const QUARANTINE_MAGIC: &[u8; 2] = b"LQ";
/// The quarantine record version this build writes and reads.
const VERSION: u16 = 1;

/// A quarantined item as stored (version 1).
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct QuarantineRecord {
    pub(crate) origin: String,
    /// The parser's message.
    pub(crate) reason: String,
    pub(crate) received_at: i64,
    pub(crate) sha256: [u8; 32],
    pub(crate) size: u64,
    pub(crate) raw_pack: u32,
    pub(crate) raw_offset: u64,
    pub(crate) raw_len: u32,
    /// For a CentralNic response recorded with `record_response`: ctid, command, domain.
    pub(crate) response: Option<(String, Option<String>, Option<String>)>,
}

impl QuarantineRecord {
    /// A record for an item received now.
    pub(crate) fn new(
        origin: &Origin,
        reason: String,
        sha256: [u8; 32],
        size: u64,
        raw: RawRef,
        response: Option<(String, Option<String>, Option<String>)>,
    ) -> Self {
        QuarantineRecord {
            origin: origin.0.clone(),
            reason,
            received_at: micros(Utc::now()),
            sha256,
            size,
            raw_pack: raw.pack,
            raw_offset: raw.offset,
            raw_len: raw.len,
            response,
        }
    }

    /// Where its raw bytes are.
    pub(crate) fn raw(&self) -> RawRef {
        RawRef {
            pack: self.raw_pack,
            offset: self.raw_offset,
            len: self.raw_len,
        }
    }

    /// The stored bytes.
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(64 + self.origin.len() + self.reason.len());
        out.extend_from_slice(QUARANTINE_MAGIC);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&encode(self, "quarantine record")?);
        Ok(out)
    }

    /// Reads stored bytes; `id` names the entry in errors.
    pub(crate) fn from_bytes(bytes: &[u8], id: u64) -> Result<Self> {
        let what = format!("quarantine entry {id}");
        if bytes.len() < 4 || &bytes[..2] != QUARANTINE_MAGIC {
            return Err(LedgerError::Corrupt {
                what,
                reason: "not a quarantine record".into(),
            });
        }
        let version = u16::from_be_bytes([bytes[2], bytes[3]]);
        if version != VERSION {
            return Err(LedgerError::Corrupt {
                what,
                reason: format!("record version {version}; this build reads version {VERSION}"),
            });
        }
        decode(&bytes[4..], &what)
    }

    /// The public entry.
    pub(crate) fn entry(&self, id: u64) -> Result<QuarantineEntry> {
        Ok(QuarantineEntry {
            id,
            origin: Origin(self.origin.clone()),
            reason: QuarantineReason::Unparsable(self.reason.clone()),
            received_at: from_micros(self.received_at).ok_or_else(|| LedgerError::Corrupt {
                what: format!("quarantine entry {id}"),
                reason: "received_at out of range".into(),
            })?,
            sha256: crate::codec::hex(&self.sha256),
            size: self.size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_refuses_other_versions() {
        let raw = RawRef {
            pack: 2,
            offset: 77,
            len: 12,
        };
        let record = QuarantineRecord::new(
            &Origin::new("mail/1.eml"),
            "line 3: bad".into(),
            [7; 32],
            99,
            raw,
            None,
        );
        let bytes = record.to_bytes().unwrap();
        let back = QuarantineRecord::from_bytes(&bytes, 1).unwrap();
        assert_eq!(back, record);
        assert_eq!(back.raw(), raw);
        let mut newer = bytes.clone();
        newer[3] = 9;
        assert!(matches!(
            QuarantineRecord::from_bytes(&newer, 1),
            Err(LedgerError::Corrupt { .. })
        ));
        assert!(QuarantineRecord::from_bytes(b"LQ", 1).is_err());
    }
}
