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
