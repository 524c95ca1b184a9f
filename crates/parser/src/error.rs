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
    /// A text body is not a notification: inside the span of its blocks, more lines are neither
    /// `key: value` nor a continuation than are (a script, a log, a document that merely holds
    /// a `<system>` line). Text before the first block and after the last never counts.
    #[error(
        "not a notification: {stray} of the {counted} lines from line {first} to line {last} \
         are neither `key: value` nor a continuation (the first on line {first_stray})"
    )]
    NotANotification {
        /// The lines that are neither `key: value` nor a continuation.
        stray: u32,
        /// Every line counted (the stray ones and the `key: value` lines and continuations).
        counted: u32,
        /// The line of the first block's opening tag.
        first: u32,
        /// The line of the last block's closing tag.
        last: u32,
        /// The first stray line.
        first_stray: u32,
    },
    /// A body holds more than one notification (several `<system>` blocks): never merged.
    #[error(
        "{count} notifications in one body: <{block}> at lines {lines}; split them into one \
         item each",
        count = lines.len(),
        lines = list_lines(lines)
    )]
    SeveralNotifications {
        /// The block that repeats (`system`).
        block: String,
        /// The line each of them opens on.
        lines: Vec<u32>,
    },
    /// A ctid or a domain holds a control character (a NUL would make one order's index key a
    /// prefix of another's).
    #[error(
        "the {what} {value:?} holds the control character {character:?}{place}; a ctid or \
         domain must not"
    )]
    ControlCharacter {
        /// What holds it: `ctid`, `domain`.
        what: String,
        /// The value as read.
        value: String,
        /// The first control character in it.
        character: char,
        /// Where it stood, with a leading separator (` on line 4`, ` at data[0].ctid`).
        place: String,
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

/// `1 and 9`, `1, 9 and 17`.
fn list_lines(lines: &[u32]) -> String {
    match lines.split_last() {
        None => String::new(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => {
            let rest: Vec<String> = rest.iter().map(u32::to_string).collect();
            format!("{} and {last}", rest.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_notifications_lists_the_lines() {
        let two = ParseError::SeveralNotifications {
            block: "system".into(),
            lines: vec![1, 9],
        };
        assert_eq!(
            two.to_string(),
            "2 notifications in one body: <system> at lines 1 and 9; split them into one item each"
        );
        let three = ParseError::SeveralNotifications {
            block: "system".into(),
            lines: vec![1, 9, 17],
        };
        assert!(
            three
                .to_string()
                .starts_with("3 notifications in one body: <system> at lines 1, 9 and 17;")
        );
    }
}
