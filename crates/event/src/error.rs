//! [`EventError`]: why a stored event could not be read.

/// The result of decoding a stored event.
pub type Result<T, E = EventError> = std::result::Result<T, E>;

/// Why a stored record could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The record is shorter than its envelope, or its magic bytes are wrong.
    #[error("stored record is not an event envelope ({reason})")]
    NotAnEnvelope {
        /// What is wrong.
        reason: String,
    },
    /// The record was written by a format version this build does not know.
    #[error("stored record has format version {found}; this build reads up to version {supported}")]
    UnknownVersion {
        /// The version found.
        found: u16,
        /// The newest version this build reads.
        supported: u16,
    },
    /// The payload does not decode.
    #[error("stored record (version {version}) does not decode: {reason}")]
    Decode {
        /// The envelope's version.
        version: u16,
        /// What bincode said.
        reason: String,
    },
    /// The payload decodes to something that is not a valid event (an unknown kind tag…).
    #[error("stored record (version {version}) is invalid: {reason}")]
    Invalid {
        /// The envelope's version.
        version: u16,
        /// What is wrong.
        reason: String,
    },
}
