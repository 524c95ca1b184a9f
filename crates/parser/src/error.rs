//! [`ParseError`]: what is wrong with an input, and where.

use crate::Format;

/// The result of a parse.
pub type Result<T, E = ParseError> = std::result::Result<T, E>;

/// Why an input could not be read as a notification. Every variant says what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input is over the size limit.
    #[error("input is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The input's size.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// Nothing in the input (after the mail headers) looks like a notification.
    #[error("no recognisable notification: {reason}")]
    Unrecognised {
        /// What was found instead.
        reason: String,
    },
    /// The mail around the notification could not be decoded.
    #[error("mail could not be decoded: {reason}")]
    Mime {
        /// What went wrong.
        reason: String,
    },
    /// A text block was opened and never closed.
    #[error("block <{block}> opened on line {line} is never closed")]
    UnclosedBlock {
        /// The block name (`system`).
        block: String,
        /// The line it was opened on.
        line: u32,
    },
    /// A text notification is malformed at a line.
    #[error("line {line}: {reason}")]
    Text {
        /// The 1-based line.
        line: u32,
        /// What is wrong.
        reason: String,
    },
    /// The notification carries no status.
    #[error("{format} notification has no status{hint}", format = format.name())]
    MissingStatus {
        /// The format it was read as.
        format: Format,
        /// Where the status was looked for, with a leading separator (may be empty).
        hint: String,
    },
    /// A status is present but unreadable.
    #[error("line {line}: status {value:?} is not a known status code")]
    BadStatus {
        /// The 1-based line (0 when the format has no lines).
        line: u32,
        /// The status as written.
        value: String,
    },
    /// Broken XML.
    #[error("XML is not well-formed at line {line}, column {column}: {reason}")]
    Xml {
        /// The 1-based line.
        line: u32,
        /// The 1-based column.
        column: u32,
        /// What the XML reader said.
        reason: String,
    },
    /// Broken JSON, or JSON of an unknown shape.
    #[error("JSON is not valid at line {line}, column {column}: {reason}")]
    Json {
        /// The 1-based line.
        line: u32,
        /// The 1-based column.
        column: u32,
        /// What is wrong.
        reason: String,
    },
    /// A CentralNic response is malformed.
    #[error("CentralNic response, line {line}: {reason}")]
    CentralNic {
        /// The 1-based line.
        line: u32,
        /// What is wrong.
        reason: String,
    },
}
