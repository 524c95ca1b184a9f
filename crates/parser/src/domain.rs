//! [`DomainName`]: a lower-cased domain name, IDNs kept in Unicode.

use serde::Serialize;

use crate::{ParseError, Result};

/// A domain name as the ledger keys it: lower case, Unicode form for IDNs
/// (`müller.de`, never `xn--mller-kva.de`), no trailing dot. The ASCII form is derivable.
///
/// ```
/// use ledger_parser::DomainName;
/// let d = DomainName::parse("XN--MLLER-KVA.de.").unwrap();
/// assert_eq!(d.as_str(), "müller.de");
/// assert_eq!(d.ascii().as_deref(), Some("xn--mller-kva.de"));
/// assert!(DomainName::parse("not a domain").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct DomainName(String);

impl DomainName {
    /// Reads a domain name from text (Unicode or punycode, any case). `None` if it is not one.
    pub fn parse(text: &str) -> Option<DomainName> {
        let text = text.trim().trim_end_matches('.');
        if text.is_empty()
            || text.len() > 253
            || text.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return None;
        }
        let (unicode, result) = idna::domain_to_unicode(text);
        if result.is_err() || unicode.is_empty() || !unicode.contains('.') {
            return None;
        }
        Some(DomainName(unicode.to_lowercase()))
    }

    /// The Unicode form, lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ASCII (punycode) form; `None` if the name cannot be encoded.
    pub fn ascii(&self) -> Option<String> {
        idna::domain_to_ascii(&self.0).ok()
    }
}

/// [`ParseError::ControlCharacter`] when `value` (a ctid or a domain as read) holds a control
/// character: index keys are the value and a NUL, so a NUL inside one would make it a prefix of
/// another. `line` is where it stood, if the format has lines.
pub(crate) fn check_key(what: &str, value: &str, line: Option<u32>) -> Result<()> {
    check_key_at(
        what,
        value,
        &line.map_or(String::new(), |l| format!(" on line {l}")),
    )
}

/// [`check_key`] with the place written out (` on line 4`, ` at data[0].ctid`).
pub(crate) fn check_key_at(what: &str, value: &str, place: &str) -> Result<()> {
    match value.chars().find(|c| c.is_control()) {
        Some(character) => Err(ParseError::ControlCharacter {
            what: what.to_string(),
            value: value.to_string(),
            character,
            place: place.to_string(),
        }),
        None => Ok(()),
    }
}

impl std::fmt::Display for DomainName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
