//! Sniffing the format of a body from its first bytes.
//!
//! | body starts with (after whitespace and a BOM) | format |
//! | --- | --- |
//! | `<system>` (or has a line that does) | [`Format::AutoDnsText`] |
//! | `<?xml`, `<response`, `<message` (a bare poll message) | [`Format::AutoDnsXml`] |
//! | `{` | [`Format::AutoDnsJson`] |
//! | `[RESPONSE]`, or any line `code = NNN` | [`Format::CentralNic`] |

use crate::{Format, ParseError, Result};

/// How many characters of the first line an [`ParseError::Unrecognised`] reason quotes.
const QUOTE_CHARS: usize = 60;

/// Which format a body is written in; [`ParseError::Unrecognised`] quoting the first non-empty
/// line when it is none of them.
///
/// ```
/// use ledger_parser::{sniff, Format};
/// assert_eq!(sniff("\u{feff}\n<system>\nuser: x\n</system>").unwrap(), Format::AutoDnsText);
/// assert_eq!(sniff("[RESPONSE]\ncode = 200\n").unwrap(), Format::CentralNic);
/// let err = sniff("Dear customer,\nhello").unwrap_err();
/// assert_eq!(err.to_string(), "no recognisable notification: the body starts with \"Dear customer,\"");
/// ```
///
/// # Errors
///
/// [`ParseError::Unrecognised`] when the body is none of the formats.
pub fn sniff(body: &str) -> Result<Format> {
    sniff_format(body).ok_or_else(|| ParseError::Unrecognised {
        reason: describe(body),
    })
}

/// The format of a body, or `None` if it is none the crate reads.
pub(crate) fn sniff_format(body: &str) -> Option<Format> {
    let head = trim_start(body);
    if starts_with_ignore_case(head, "<system>") {
        return Some(Format::AutoDnsText);
    }
    if head.starts_with("<?xml")
        || starts_with_ignore_case(head, "<response")
        || is_bare_message(head)
    {
        return Some(Format::AutoDnsXml);
    }
    if head.starts_with('{') {
        return Some(Format::AutoDnsJson);
    }
    if starts_with_ignore_case(head, "[RESPONSE]") {
        return Some(Format::CentralNic);
    }
    for line in head.lines() {
        let line = line.trim();
        if starts_with_ignore_case(line, "<system>") {
            return Some(Format::AutoDnsText);
        }
        if is_code_line(line) {
            return Some(Format::CentralNic);
        }
    }
    None
}

/// The body without leading whitespace and byte-order marks.
pub(crate) fn trim_start(body: &str) -> &str {
    body.trim_start_matches(|c: char| c == '\u{feff}' || c.is_whitespace())
}

/// A short description of what a body starts with, for an error.
pub(crate) fn describe(body: &str) -> String {
    match body.lines().map(str::trim).find(|l| !l.is_empty()) {
        None if body.is_empty() => "the body is empty".to_string(),
        None => "the body holds only white space".to_string(),
        Some(line) => {
            let quoted: String = line.chars().take(QUOTE_CHARS).collect();
            let more = if line.chars().count() > QUOTE_CHARS {
                "…"
            } else {
                ""
            };
            format!("the body starts with {quoted:?}{more}")
        }
    }
}

/// True for a CentralNic `code = 200` line (any case, spaces optional).
fn is_code_line(line: &str) -> bool {
    let Some((key, value)) = line.split_once('=') else {
        return false;
    };
    let value = value.trim();
    key.trim().eq_ignore_ascii_case("code")
        && value.len() == 3
        && value.bytes().all(|b| b.is_ascii_digit())
}

/// True when the body starts with a `<message>` element (a bare AutoDNS poll message).
fn is_bare_message(head: &str) -> bool {
    head.strip_prefix("<message").is_some_and(|rest| {
        rest.starts_with(|c: char| c == '>' || c == '/' || c.is_ascii_whitespace())
    })
}

/// `str::starts_with`, ASCII case-insensitive.
fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str, expected: Option<Format>) {
        assert_eq!(sniff_format(body), expected, "sniffing {body:?}");
    }

    #[test]
    fn formats() {
        check("<system>\nuser: x\n</system>", Some(Format::AutoDnsText));
        check("\u{feff}\r\n  <SYSTEM>\r\n", Some(Format::AutoDnsText));
        check(
            "Dear customer,\n\n<system>\ntask: 0101\n</system>",
            Some(Format::AutoDnsText),
        );
        check(
            "<?xml version=\"1.0\"?><response/>",
            Some(Format::AutoDnsXml),
        );
        check("  <response><result/></response>", Some(Format::AutoDnsXml));
        check("\n{\"stid\": \"x\"}", Some(Format::AutoDnsJson));
        check("[RESPONSE]\ncode = 200\nEOF\n", Some(Format::CentralNic));
        check("description = ok\nCODE=421\n", Some(Format::CentralNic));
        check("code = 2000\n", None);
        check("Hello there\n", None);
        check("", None);
    }

    #[test]
    fn reasons_quote_the_first_line() {
        assert_eq!(describe(""), "the body is empty");
        assert_eq!(describe(" \n\t\n"), "the body holds only white space");
        assert_eq!(
            describe("\n  Hello there \nmore"),
            "the body starts with \"Hello there\""
        );
        let long = "x".repeat(100);
        assert!(describe(&long).ends_with("\"…"));
    }
}
