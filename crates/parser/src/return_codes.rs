//! CentralNic Reseller (RRPproxy / HEXONET) return codes: the catalog of seed 000 plus
//! HEXONET's 425 and 510, with their texts and classes.
//!
//! The first digit decides the class: `2xx` success, `4xx` temporary (resubmit later), `5xx`
//! permanent. [`lookup`] answers for any code, catalogued or not.
//!
//! ```
//! use ledger_parser::return_codes::{lookup, ReturnCodeClass};
//! let rc = lookup(421);
//! assert_eq!(rc.class, ReturnCodeClass::Temporary);
//! assert_eq!(rc.text, Some("Command failed due to server error. Client should try again"));
//! // Unknown codes still classify by their first digit.
//! assert_eq!(lookup(299).class, ReturnCodeClass::Success);
//! assert_eq!(lookup(299).text, None);
//! ```

use crate::StatusClass;

/// What a return code means for the command it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnCodeClass {
    /// `2xx`: the command was executed.
    Success,
    /// `4xx`: the command failed for now; resubmit it later.
    Temporary,
    /// `5xx` (and any code not starting with 2 or 4): the command failed.
    Permanent,
}

impl ReturnCodeClass {
    /// The class of a code by its first digit: 2 success, 4 temporary, anything else permanent
    /// (a code the protocol does not define cannot be trusted to succeed later).
    pub fn of(code: u16) -> ReturnCodeClass {
        match code / 100 {
            2 => ReturnCodeClass::Success,
            4 => ReturnCodeClass::Temporary,
            _ => ReturnCodeClass::Permanent,
        }
    }

    /// The notification [`StatusClass`] this class maps to.
    pub fn status_class(self) -> StatusClass {
        match self {
            ReturnCodeClass::Success => StatusClass::Success,
            ReturnCodeClass::Temporary => StatusClass::Temporary,
            ReturnCodeClass::Permanent => StatusClass::Permanent,
        }
    }

    /// The lower-case name (`success`, `temporary`, `permanent`).
    pub fn name(self) -> &'static str {
        match self {
            ReturnCodeClass::Success => "success",
            ReturnCodeClass::Temporary => "temporary",
            ReturnCodeClass::Permanent => "permanent",
        }
    }
}

/// One return code: its number, its documented text (if catalogued) and its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReturnCode {
    /// The 3-digit code.
    pub code: u16,
    /// The documented English text; `None` for a code not in the catalog, or one (HEXONET's
    /// 510) whose wording is not documented here.
    pub text: Option<&'static str>,
    /// What the code means for the command.
    pub class: ReturnCodeClass,
}

const fn rc(code: u16, text: &'static str, class: ReturnCodeClass) -> ReturnCode {
    ReturnCode {
        code,
        text: Some(text),
        class,
    }
}

use ReturnCodeClass::{Permanent as P, Success as S, Temporary as T};

/// Every catalogued code, in ascending order: the table of seed 000 plus HEXONET's 425 and 510.
pub static CATALOG: &[ReturnCode] = &[
    rc(200, "Command completed successfully", S),
    rc(210, "Domain name available", S),
    rc(211, "Domain name not available", S),
    rc(212, "Name server available", S),
    rc(213, "Name server not available", S),
    rc(214, "Contact available", S),
    rc(215, "Contact not available", S),
    rc(218, "Request is available", S),
    rc(219, "Request is not available", S),
    rc(
        220,
        "Command completed successfully. Server closing connection",
        S,
    ),
    rc(
        420,
        "Command failed due to server error. Server closing connection",
        T,
    ),
    rc(
        421,
        "Command failed due to server error. Client should try again",
        T,
    ),
    rc(
        422,
        "Abuse detected! The account has been temporarily locked! Please standby some minutes.",
        T,
    ),
    rc(423, "error (socket error)", T),
    // HEXONET: the account's usage limit was exceeded; retry later.
    rc(425, "Usage exceeded", T),
    rc(500, "Invalid command name", P),
    rc(501, "Invalid command option", P),
    rc(502, "Invalid entity value", P),
    rc(503, "Invalid attribute name", P),
    rc(504, "Missing required attribute", P),
    rc(505, "Invalid attribute value syntax", P),
    rc(506, "Invalid option value", P),
    rc(507, "Invalid command format", P),
    rc(508, "Missing required entity", P),
    rc(509, "Missing command option", P),
    // HEXONET: permanent; its wording is not documented in the sources at hand.
    ReturnCode {
        code: 510,
        text: None,
        class: P,
    },
    rc(
        520,
        "Server closing connection. Client should try opening new connection",
        P,
    ),
    rc(521, "Too many sessions open. Server closing connection", P),
    rc(530, "Authentication failed", P),
    rc(531, "Authorization failed", P),
    rc(532, "Domain names linked with name server", P),
    rc(533, "Domain name has active name servers", P),
    rc(534, "Domain name has not been flagged for transfer", P),
    rc(535, "Restricted IP address", P),
    rc(536, "Domain already flagged for transfer", P),
    rc(540, "Attribute value is not unique", P),
    rc(541, "Invalid attribute value", P),
    rc(542, "Invalid old value for an attribute", P),
    rc(543, "Final or implicit attribute cannot be updated", P),
    rc(544, "Entity on hold", P),
    rc(545, "Entity reference not found", P),
    rc(546, "Credit limit exceeded", P),
    rc(547, "Invalid command sequence", P),
    rc(548, "Domain is not up for renewal", P),
    rc(549, "Command failed", P),
    rc(550, "Parent domain not registered", P),
    rc(551, "Parent domain status does not allow for operation", P),
    rc(552, "Domain status does not allow for operation", P),
    rc(553, "Operation not allowed. Domain pending transfer", P),
    rc(554, "Domain already registered", P),
    rc(555, "Domain already renewed", P),
    rc(556, "Maximum registration period exceeded", P),
    rc(557, "Object status prohibits operation", P),
    rc(560, "Resource is disabled", P),
    rc(561, "Resource still in use", P),
    rc(562, "Email address already uses forwarding", P),
    rc(563, "Email address already uses mailspace", P),
    rc(
        564,
        "Email domain already linked to a different mailspace",
        P,
    ),
];

/// Looks a code up in the [`CATALOG`]. A code not catalogued gets `text: None` and the class of
/// its first digit: 2 success, 4 temporary, and anything else (5, but also 1, 3, 6–9)
/// permanent.
pub fn lookup(code: u16) -> ReturnCode {
    CATALOG
        .iter()
        .find(|rc| rc.code == code)
        .copied()
        .unwrap_or(ReturnCode {
            code,
            text: None,
            class: ReturnCodeClass::of(code),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_sorted_and_classes_follow_first_digit() {
        for pair in CATALOG.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
        for rc in CATALOG {
            assert_eq!(rc.class, ReturnCodeClass::of(rc.code), "code {}", rc.code);
            assert_eq!(lookup(rc.code), *rc);
        }
    }

    #[test]
    fn unknown_codes_classify_by_first_digit() {
        assert_eq!(lookup(201).class, ReturnCodeClass::Success);
        assert_eq!(lookup(499).class, ReturnCodeClass::Temporary);
        assert_eq!(lookup(599).class, ReturnCodeClass::Permanent);
        assert_eq!(lookup(300).class, ReturnCodeClass::Permanent);
        assert_eq!(lookup(100).text, None);
    }
}
