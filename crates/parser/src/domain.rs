//! [`DomainName`]: a lower-cased domain name, IDNs kept in Unicode.

use serde::Serialize;

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
        if text.is_empty() || text.len() > 253 || text.chars().any(|c| c.is_whitespace()) {
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

impl std::fmt::Display for DomainName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
