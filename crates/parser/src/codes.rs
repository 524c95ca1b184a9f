//! Code catalogs: AutoDNS task codes, status codes and notices.
//!
//! The catalogs say what a code means for a human reading a report; the ledger decides on the
//! codes themselves, never on the texts. A code missing from a catalog is kept as read: the
//! lookups return `None`, they do not refuse it.

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
    Some(Status {
        code: code.to_ascii_uppercase(),
        prefix: Some(prefix),
        text,
        class,
    })
}

/// The notice that an owner contact was imported: read the new `owner-c` from `<reply>`.
pub const NOTICE_OWNERC_IMPORTED: &str = "MSG01050";
/// The notice that a name-server update is still pending.
pub const NOTICE_NSERVER_PENDING: &str = "MSG01055";
/// The notice that an order (a delete, a cancelation) will be executed at expiration.
pub const NOTICE_EXECUTED_AT_EXPIRATION: &str = "MSG010315";
/// The notice that the registry removed the domain from the reseller's inventory.
pub const NOTICE_REGISTRY_REMOVED: &str = "MSG010409";
/// The notice that the order deleted the domain's existing AuthInfo.
pub const NOTICE_AUTHINFO_DELETED: &str = "MSG011304";

/// Every AutoDNS task code the ledger knows, with its meaning.
const TASKS: &[(&str, &str)] = &[
    ("0101", "domain create"),
    (
        "0102",
        "domain update (also the AUTOUPDATE after a transfer)",
    ),
    ("0103", "domain delete"),
    ("0103101", "domain cancelation created"),
    ("0104", "incoming domain transfer started"),
    ("0104001", "incoming domain transfer final (ACK or NACK)"),
    ("0104010", "owner change started"),
    ("0104011", "owner change final"),
    (
        "0106",
        "outgoing domain transfer answered (kk_answer ACK or NACK)",
    ),
    ("1403", "outgoing domain transfer started"),
    (
        "1403005",
        "outgoing domain transfer AUTO-NACK: the domain stays",
    ),
    ("1403006", "outgoing domain transfer reminder"),
    (
        "1403008",
        "outgoing domain transfer AUTO-ACK: the domain leaves the inventory",
    ),
    ("0301", "contact create"),
    ("0302", "contact update"),
    ("0905", "poll info"),
    ("0906", "poll confirm"),
];

/// Every AutoDNS notice code the ledger knows, with its meaning.
const NOTICES: &[(&str, &str)] = &[
    (
        NOTICE_OWNERC_IMPORTED,
        "the owner contact was imported (new owner-c in <reply>)",
    ),
    (
        NOTICE_NSERVER_PENDING,
        "the name-server update is still pending",
    ),
    (
        NOTICE_EXECUTED_AT_EXPIRATION,
        "the order will be executed at expiration",
    ),
    (
        NOTICE_REGISTRY_REMOVED,
        "the registry removed the domain from the inventory",
    ),
    (
        NOTICE_AUTHINFO_DELETED,
        "the existing AuthInfo was deleted by the order",
    ),
];

/// What an AutoDNS task code means (`0101` → domain create). Accepts the code with or without
/// its status prefix (`S0101`). `None` for a code not in the catalog.
///
/// ```
/// use ledger_parser::codes::task_meaning;
/// assert_eq!(task_meaning("1403008"), task_meaning("S1403008"));
/// assert!(task_meaning("0104001").unwrap().contains("incoming domain transfer"));
/// assert_eq!(task_meaning("9999"), None);
/// ```
pub fn task_meaning(code: &str) -> Option<&'static str> {
    let code = code.trim();
    let digits = match code.as_bytes().first() {
        Some(b'S' | b's' | b'E' | b'e' | b'N' | b'n') => code.get(1..).unwrap_or(""),
        _ => code,
    };
    TASKS
        .iter()
        .find(|(c, _)| *c == digits)
        .map(|(_, meaning)| *meaning)
}

/// What an AutoDNS notice code means (`MSG01050` → owner contact imported); any case.
/// `None` for a code not in the catalog.
///
/// ```
/// use ledger_parser::codes::{notice_meaning, NOTICE_AUTHINFO_DELETED};
/// assert!(notice_meaning(NOTICE_AUTHINFO_DELETED).unwrap().contains("AuthInfo"));
/// assert!(notice_meaning("msg01050").is_some());
/// assert_eq!(notice_meaning("MSG99999"), None);
/// ```
pub fn notice_meaning(code: &str) -> Option<&'static str> {
    let code = code.trim();
    NOTICES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, meaning)| *meaning)
}

/// True if `code` has the shape of an AutoDNS notice code: `MSG` and 5 to 6 digits (any case).
///
/// ```
/// use ledger_parser::codes::is_notice_code;
/// assert!(is_notice_code("MSG010409"));
/// assert!(!is_notice_code("MSG12"));
/// ```
pub fn is_notice_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() >= 8
        && bytes.len() <= 9
        && bytes
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"MSG"))
        && bytes
            .get(3..)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
}
