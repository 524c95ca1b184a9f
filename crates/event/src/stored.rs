//! The versioned storage form of events.
//!
//! A stored event is an envelope around a bincode payload:
//!
//! | bytes | what |
//! | --- | --- |
//! | 0..4 | magic [`MAGIC`] (`LEVT`) |
//! | 4..6 | format version, u16 little-endian ([`FORMAT_VERSION`] when written by this build) |
//! | 6.. | the payload: a [`v2::StoredEventV2`] (version 2, written by this build) or a [`v1::StoredEventV1`] (version 1, read only) encoded with bincode 2, `config::standard()` |
//!
//! The payload is made of mirror types ([`v1`]) that are separate from the domain types, so a
//! change of [`Event`] or of the parser's types cannot silently change what is on disk: it fails
//! to compile in the conversions instead. Enums are explicit `u8` tags, instants are Unix seconds
//! plus nanoseconds, domains are text.
//!
//! To change the layout: add a `vN` module with its mirror types, bump [`FORMAT_VERSION`], keep
//! the older decoders in [`decode`], and check in a golden file per version
//! (`tests/golden/event_vN.bin`). Version 2 (issue 14) dropped the pack reference version 1
//! carried: where a backend keeps an event's raw input is the backend's to know. A version-1
//! record still says where it was ([`Decoded::v1_raw`]), and old records are never rewritten.
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
pub mod v2;

use crate::{Event, EventError, Result};

/// The newest stored-record format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 2;

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
    let stored = v2::StoredEventV2::from(event);
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    // Encoding into a Vec fails only if the writer fails, and a Vec never does.
    bincode::encode_into_std_write(&stored, &mut out, config())
        .expect("encoding into a Vec cannot fail");
    out
}

/// A decoded stored event, with what only a version-1 record also held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The event.
    pub event: Event,
    /// Where a version-1 record says the sled ledger put the event's raw input; `None` for
    /// later versions, whose backend keeps that beside the record.
    pub v1_raw: Option<v1::StoredRawRefV1>,
}

/// Decodes a stored event, whatever version this build can read, and what a version-1 record
/// says of its raw input.
///
/// Errors: [`EventError::NotAnEnvelope`] for a record too short or with other magic bytes,
/// [`EventError::UnknownVersion`] for a version this build does not read,
/// [`EventError::Decode`] for a payload that does not decode (or has bytes left over), and
/// [`EventError::Invalid`] for one that decodes to an impossible event (an unknown tag).
pub fn decode(bytes: &[u8]) -> Result<Decoded> {
    let (version, payload) = open_envelope(bytes)?;
    match version {
        1 => {
            let stored: v1::StoredEventV1 = decode_payload(version, payload)?;
            let (event, raw) = stored.into_parts()?;
            Ok(Decoded {
                event,
                v1_raw: Some(raw),
            })
        }
        2 => {
            let stored: v2::StoredEventV2 = decode_payload(version, payload)?;
            Ok(Decoded {
                event: Event::try_from(stored)?,
                v1_raw: None,
            })
        }
        found => Err(EventError::UnknownVersion {
            found,
            supported: FORMAT_VERSION,
        }),
    }
}

/// Decodes a stored event, whatever version this build can read (see [`decode`] for the
/// errors).
pub fn decode_event(bytes: &[u8]) -> Result<Event> {
    decode(bytes).map(|decoded| decoded.event)
}

/// Encodes a version-1 record of `event` whose raw input was put at `raw`: what builds before
/// issue 14 wrote. Only for tests and tools that need old records; this build writes
/// [`encode_event`].
pub fn encode_event_v1(event: &Event, raw: v1::StoredRawRefV1) -> Vec<u8> {
    let stored = v1::StoredEventV1::new(event, raw);
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&1u16.to_le_bytes());
    // Encoding into a Vec fails only if the writer fails, and a Vec never does.
    bincode::encode_into_std_write(&stored, &mut out, config())
        .expect("encoding into a Vec cannot fail");
    out
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
