//! Code catalogs: AutoDNS task codes, status codes and notices.
//! TODO(parser helper A): the task-code and notice catalogs with their meanings.

use crate::{Status, StatusClass, StatusPrefix};

/// Reads an AutoDNS status code as written (`S0101`, `e0104001`, `N0102`) with its optional text
/// into a [`Status`]. `None` if it is not `S`/`E`/`N` followed by 4 to 7 digits.
///
/// ```
/// use ledger_parser::{codes::autodns_status, StatusClass};
/// let s = autodns_status("S1403008", Some("AUTO-ACK".into())).unwrap();
/// assert_eq!(s.code, "S1403008");
/// assert_eq!(s.task_code(), "1403008");
/// assert_eq!(s.class, StatusClass::Success);
/// assert!(autodns_status("X0101", None).is_none());
/// ```
pub fn autodns_status(code: &str, text: Option<String>) -> Option<Status> {
    let code = code.trim();
    let mut chars = code.chars();
    let prefix = match chars.next()?.to_ascii_uppercase() {
        'S' => StatusPrefix::Success,
        'E' => StatusPrefix::Error,
        'N' => StatusPrefix::Notify,
        _ => return None,
    };
    let digits = chars.as_str();
    if !(4..=7).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let class = match prefix {
        StatusPrefix::Success => StatusClass::Success,
        StatusPrefix::Error => StatusClass::Permanent,
        StatusPrefix::Notify => StatusClass::InProgress,
    };
    Some(Status { code: code.to_ascii_uppercase(), prefix: Some(prefix), text, class })
}
