//! The stored form of a quarantine entry: `QUARANTINE_MAGIC ++ version u16 BE ++ bincode`.
//! Version 3 added `dismissed`, version 2 `untrusted`; records of versions 1 (always
//! unparsable items) and 2 (never dismissed) are still read.
//!
//! The quarantine's SHA-256 index (`h` in the log: sha256 of the raw bytes ++ id BE → empty)
//! lets a rejected item delivered again find its entry instead of being kept twice. It is
//! written in the same log batch as the record (and removed in the batch that removes it).
//! Records written by an older build, which had no index, are indexed when the log is opened
//! ([`index_unindexed`]): every id below `meta/quarantine_indexed` is indexed.

use chrono::{DateTime, Utc};
use ledger_event::Origin;
use serde::Serialize;

use crate::codec::{be_u64, decode, encode, from_micros, micros};
use crate::raw::PackRef;
use crate::store::{Log, META_NEXT_QUARANTINE, META_QUARANTINE_INDEXED, storage};
use crate::{LedgerError, Result};

/// Why an item sits in the quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineReason {
    /// It did not parse; the parser's message.
    Unparsable(String),
    /// It parsed but failed the trust policy ([`crate::Options::trust`]); why
    /// (`sender x@evil.example is not trusted`).
    Untrusted(String),
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
    /// Its size in bytes: all of it, also for an input over the size limit (kept whole).
    pub size: u64,
    /// Set when a person dismissed it ([`crate::Ledger::dismiss`]).
    pub dismissed: Option<Dismissal>,
}

/// Why and when a person dismissed a quarantine entry: it stays, with its raw bytes, but is no
/// longer outstanding (`reparse` skips it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dismissal {
    /// What the person said.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The context of a CentralNic response recorded with `record_response`: ctid, command,
/// domain (`None` for an ingested item).
pub(crate) type ResponseTuple = Option<(String, Option<String>, Option<String>)>;

/// The key of a record in the quarantine's SHA-256 index (without the space's prefix).
pub(crate) fn index_key(sha256: &[u8; 32], id: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(sha256);
    key[32..].copy_from_slice(&id.to_be_bytes());
    key
}

/// The quarantined item with these raw bytes and this `record_response` context, if any:
/// the oldest such entry (a ledger written by an older build may hold several). An index
/// entry whose record is missing or has other bytes is skipped (`verify` reports it).
pub(crate) fn find(
    log: &Log,
    sha256: &[u8; 32],
    response: &ResponseTuple,
) -> Result<Option<(u64, QuarantineRecord)>> {
    for entry in log.quarantine_by_sha.scan_prefix(sha256) {
        let (key, _) = entry.map_err(storage("reading the quarantine index"))?;
        let Some(id) = key
            .get(32..)
            .and_then(|id| be_u64(id, "quarantine index key").ok())
        else {
            continue;
        };
        let Some(bytes) = log
            .quarantine
            .get(id.to_be_bytes())
            .map_err(storage("reading the quarantine"))?
        else {
            continue;
        };
        // A record that does not decode is no match (`verify` reports it).
        let Ok(record) = QuarantineRecord::from_bytes(&bytes, id) else {
            continue;
        };
        if record.sha256 == *sha256 && record.response == *response {
            return Ok(Some((id, record)));
        }
    }
    Ok(None)
}

/// Indexes the quarantine records an older build wrote (ids from `meta/quarantine_indexed`,
/// or all of them when it is absent, up to `next_quarantine`), in one batch with the new
/// `quarantine_indexed`, then flushes. Nothing to do (no write) on a ledger this build kept.
/// Called on every full open, after the layout migration; only one process holds the log.
pub(crate) fn index_unindexed(log: &Log) -> Result<()> {
    let indexed = log.meta_counter(META_QUARANTINE_INDEXED)?;
    let next = log.meta_counter(META_NEXT_QUARANTINE)?;
    if indexed >= next {
        return Ok(());
    }
    let mut batch = sled::Batch::default();
    for entry in log.quarantine.range(&indexed.to_be_bytes(), None) {
        let (key, value) = entry.map_err(storage("reading the quarantine"))?;
        // A damaged record is left out (`verify` reports it): opening must not fail on it.
        let Ok(id) = be_u64(&key, "quarantine key") else {
            continue;
        };
        let Ok(record) = QuarantineRecord::from_bytes(&value, id) else {
            continue;
        };
        batch.insert(
            log.quarantine_by_sha.key(&index_key(&record.sha256, id)),
            &[],
        );
    }
    batch.insert(log.meta.key(META_QUARANTINE_INDEXED), &next.to_be_bytes());
    log.tree
        .apply_batch(batch)
        .map_err(storage("indexing the quarantine"))?;
    log.db.flush().map_err(storage("flushing the log"))?;
    Ok(())
}

const QUARANTINE_MAGIC: &[u8; 2] = b"LQ";
/// The quarantine record version this build writes (it also reads versions 1 and 2).
const VERSION: u16 = 3;

/// A version 2 record: [`QuarantineRecord`] without `dismissed`.
#[derive(bincode::Decode)]
struct RecordV2 {
    origin: String,
    reason: String,
    received_at: i64,
    sha256: [u8; 32],
    size: u64,
    raw_pack: u32,
    raw_offset: u64,
    raw_len: u32,
    response: Option<(String, Option<String>, Option<String>)>,
    untrusted: bool,
}

/// A version 1 record: [`QuarantineRecord`] without `untrusted`.
#[derive(bincode::Decode)]
struct RecordV1 {
    origin: String,
    reason: String,
    received_at: i64,
    sha256: [u8; 32],
    size: u64,
    raw_pack: u32,
    raw_offset: u64,
    raw_len: u32,
    response: Option<(String, Option<String>, Option<String>)>,
}

/// A quarantined item as stored (version 2).
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
    pub(crate) response: ResponseTuple,
    /// True when it parsed but failed the trust policy (`reason` says why).
    pub(crate) untrusted: bool,
    /// Set when a person dismissed it: why, and when (µs). A dismissed entry stays (its raw
    /// bytes too) but is not re-read by `reparse` nor listed as outstanding.
    pub(crate) dismissed: Option<(String, i64)>,
}

impl QuarantineRecord {
    /// A record for an item received now.
    pub(crate) fn new(
        origin: &Origin,
        reason: String,
        sha256: [u8; 32],
        size: u64,
        raw: PackRef,
        response: ResponseTuple,
        untrusted: bool,
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
            untrusted,
            dismissed: None,
        }
    }

    /// Where its raw bytes are.
    pub(crate) fn raw(&self) -> PackRef {
        PackRef {
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
        match version {
            VERSION => decode(&bytes[4..], &what),
            2 => {
                let v2: RecordV2 = decode(&bytes[4..], &what)?;
                Ok(QuarantineRecord {
                    origin: v2.origin,
                    reason: v2.reason,
                    received_at: v2.received_at,
                    sha256: v2.sha256,
                    size: v2.size,
                    raw_pack: v2.raw_pack,
                    raw_offset: v2.raw_offset,
                    raw_len: v2.raw_len,
                    response: v2.response,
                    untrusted: v2.untrusted,
                    dismissed: None,
                })
            }
            1 => {
                let v1: RecordV1 = decode(&bytes[4..], &what)?;
                Ok(QuarantineRecord {
                    origin: v1.origin,
                    reason: v1.reason,
                    received_at: v1.received_at,
                    sha256: v1.sha256,
                    size: v1.size,
                    raw_pack: v1.raw_pack,
                    raw_offset: v1.raw_offset,
                    raw_len: v1.raw_len,
                    response: v1.response,
                    untrusted: false,
                    dismissed: None,
                })
            }
            _ => Err(LedgerError::Corrupt {
                what,
                reason: format!(
                    "record version {version}; this build reads versions 1 to {VERSION}"
                ),
            }),
        }
    }

    /// The public entry.
    pub(crate) fn entry(&self, id: u64) -> Result<QuarantineEntry> {
        let time = |at: i64| {
            from_micros(at).ok_or_else(|| LedgerError::Corrupt {
                what: format!("quarantine entry {id}"),
                reason: "a time out of range".into(),
            })
        };
        Ok(QuarantineEntry {
            id,
            origin: Origin(self.origin.clone()),
            reason: if self.untrusted {
                QuarantineReason::Untrusted(self.reason.clone())
            } else {
                QuarantineReason::Unparsable(self.reason.clone())
            },
            received_at: time(self.received_at)?,
            sha256: crate::codec::hex(&self.sha256),
            size: self.size,
            dismissed: self
                .dismissed
                .as_ref()
                .map(|(reason, at)| {
                    Ok::<_, LedgerError>(crate::Dismissal {
                        reason: reason.clone(),
                        at: time(*at)?,
                    })
                })
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_refuses_other_versions() {
        let raw = PackRef {
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
            true,
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
        assert!(matches!(
            back.entry(1).unwrap().reason,
            QuarantineReason::Untrusted(_)
        ));
    }

    /// A version 2 record (written by the build before dismissals) reads as not dismissed;
    /// its bytes are what that build wrote (the record above without the last field).
    #[test]
    fn version_2_records_are_read_as_not_dismissed() {
        let raw = PackRef {
            pack: 1,
            offset: 5,
            len: 7,
        };
        let record = QuarantineRecord::new(
            &Origin::new("mail/3.eml"),
            "untrusted".into(),
            [4; 32],
            11,
            raw,
            None,
            true,
        );
        let v3 = record.to_bytes().unwrap();
        assert_eq!(&v3[..4], b"LQ\x00\x03");
        // bincode writes `None` as one 0 byte at the end: version 2 is the same without it.
        assert_eq!(v3.last(), Some(&0));
        let mut v2 = v3[..v3.len() - 1].to_vec();
        v2[3] = 2;
        let back = QuarantineRecord::from_bytes(&v2, 3).unwrap();
        assert_eq!(back, record);
        assert_eq!(back.entry(3).unwrap().dismissed, None);
    }

    #[test]
    fn version_1_records_are_read_as_unparsable() {
        #[derive(bincode::Encode)]
        struct V1 {
            origin: String,
            reason: String,
            received_at: i64,
            sha256: [u8; 32],
            size: u64,
            raw_pack: u32,
            raw_offset: u64,
            raw_len: u32,
            response: Option<(String, Option<String>, Option<String>)>,
        }
        let v1 = V1 {
            origin: "mail/2.eml".into(),
            reason: "no notification".into(),
            received_at: 1_000_000,
            sha256: [3; 32],
            size: 5,
            raw_pack: 1,
            raw_offset: 0,
            raw_len: 9,
            response: None,
        };
        let mut bytes = b"LQ\x00\x01".to_vec();
        bytes.extend(encode(&v1, "v1").unwrap());
        let record = QuarantineRecord::from_bytes(&bytes, 4).unwrap();
        assert!(!record.untrusted);
        assert_eq!(record.origin, "mail/2.eml");
        assert_eq!(
            record.entry(4).unwrap().reason,
            QuarantineReason::Unparsable("no notification".into())
        );
    }
}
