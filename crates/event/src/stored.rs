//! The versioned storage form of events.
//!
//! A stored event is an envelope around a bincode payload:
//!
//! | bytes | what |
//! | --- | --- |
//! | 0..4 | magic [`MAGIC`] (`LEVT`) |
//! | 4..6 | format version, u16 little-endian ([`FORMAT_VERSION`] when written by this build) |
//! | 6.. | the payload: a [`v1::StoredEventV1`] encoded with bincode 2, `config::standard()` |
//!
//! The payload is made of mirror types ([`v1`]) that are separate from the domain types, so a
//! change of [`Event`] or of the parser's types cannot silently change what is on disk: it fails
//! to compile in the conversions instead. Enums are explicit `u8` tags, instants are Unix seconds
//! plus nanoseconds, domains are text.
//!
//! To change the layout: add a `v2` module with its mirror types, bump [`FORMAT_VERSION`], keep
//! the `v1` decoder in [`decode_event`], and check in a golden file per version
//! (`tests/golden/event_vN.bin`).
//!
//! ```
//! use ledger_event::stored::{decode_event, FORMAT_VERSION, MAGIC};
//! use ledger_event::EventError;
//!
//! let mut record = MAGIC.to_vec();
//! record.extend_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
//! assert!(matches!(decode_event(&record), Err(EventError::UnknownVersion { .. })));
//! ```

pub mod v1;

use crate::{Event, EventError, Result};

/// The newest stored-record format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;

/// The magic bytes at the start of every stored event.
pub const MAGIC: [u8; 4] = *b"LEVT";

/// The length of the envelope before the payload: magic and version.
pub const ENVELOPE_LEN: usize = MAGIC.len() + 2;

/// The most bytes a payload may claim while it decodes. It bounds the memory a corrupt length
/// prefix can make the decoder allocate; parsed notifications are far smaller (inputs are
/// limited to 16 MiB).
const DECODE_LIMIT: usize = 1 << 30;

/// The bincode configuration of every payload version so far. The limit only bounds decoding;
/// it does not change the bytes.
fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

/// Encodes an event into its stored form: a versioned envelope around a bincode payload.
pub fn encode_event(event: &Event) -> Vec<u8> {
    let stored = v1::StoredEventV1::from(event);
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    // Encoding into a Vec fails only if the writer fails, and a Vec never does.
    bincode::encode_into_std_write(&stored, &mut out, config())
        .expect("encoding into a Vec cannot fail");
    out
}

/// Decodes a stored event, whatever version this build can read.
///
/// Errors: [`EventError::NotAnEnvelope`] for a record too short or with other magic bytes,
/// [`EventError::UnknownVersion`] for a version this build does not read,
/// [`EventError::Decode`] for a payload that does not decode (or has bytes left over), and
/// [`EventError::Invalid`] for one that decodes to an impossible event (an unknown tag).
pub fn decode_event(bytes: &[u8]) -> Result<Event> {
    let (version, payload) = open_envelope(bytes)?;
    match version {
        1 => {
            let stored: v1::StoredEventV1 = decode_payload(version, payload)?;
            Event::try_from(stored)
        }
        found => Err(EventError::UnknownVersion {
            found,
            supported: FORMAT_VERSION,
        }),
    }
}

/// Splits a record into its version and payload, checking the magic.
fn open_envelope(bytes: &[u8]) -> Result<(u16, &[u8])> {
    let Some((magic, rest)) = bytes.split_first_chunk::<4>() else {
        return Err(too_short(bytes));
    };
    let Some((version, payload)) = rest.split_first_chunk::<2>() else {
        return Err(too_short(bytes));
    };
    if *magic != MAGIC {
        return Err(EventError::NotAnEnvelope {
            reason: format!("magic bytes {magic:02x?}, expected {MAGIC:02x?} (\"LEVT\")"),
        });
    }
    Ok((u16::from_le_bytes(*version), payload))
}

/// The error for a record shorter than the envelope.
fn too_short(bytes: &[u8]) -> EventError {
    EventError::NotAnEnvelope {
        reason: format!(
            "{} bytes, shorter than the {ENVELOPE_LEN}-byte envelope",
            bytes.len()
        ),
    }
}

/// Decodes a whole payload; bytes left over are an error.
fn decode_payload<T: bincode::Decode<()>>(version: u16, payload: &[u8]) -> Result<T> {
    let (value, read) =
        bincode::decode_from_slice(payload, config()).map_err(|e| EventError::Decode {
            version,
            reason: e.to_string(),
        })?;
    if read != payload.len() {
        return Err(EventError::Decode {
            version,
            reason: format!("{} bytes left over after the payload", payload.len() - read),
        });
    }
    Ok(value)
}
