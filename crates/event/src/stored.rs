//! The versioned storage form of events. TODO(event helper): stored mirror types (bincode
//! 2.0.1), the envelope, and a golden-bytes test.

use crate::{Event, Result};

/// The newest stored-record format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;

/// Encodes an event into its stored form: a versioned envelope around a bincode payload.
pub fn encode_event(event: &Event) -> Vec<u8> {
    let _ = event;
    todo!()
}

/// Decodes a stored event, whatever version this build can read.
pub fn decode_event(bytes: &[u8]) -> Result<Event> {
    let _ = bytes;
    todo!()
}
