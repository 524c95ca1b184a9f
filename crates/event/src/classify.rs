//! [`classify`]: which fact a notification records, decided from codes only.
//!
//! The order of the decision:
//!
//! 1. an event type (`transfer_start`, CentralNic `DOMAIN_TRANSFER/FOREIGN_TRANSFER_PENDING`)
//!    names the fact directly, whatever envelope status (`S0905` poll info) it came in; an
//!    event notification without a type that carries a transfer timetable with a start and no
//!    answer ([`Notification::is_untyped_transfer_start`]) is a transfer start;
//! 2. a CentralNic response is decided by its return code and the command it answers;
//! 3. an AutoDNS notification is decided by its status prefix (`S`/`E`/`N`), its task code and,
//!    for some tasks, its notices or `kk_answer`.
//!
//! Texts (status texts, descriptions) are never read: they come in the account's language.

use ledger_parser::{Notification, Provider, StatusClass, StatusPrefix};

use crate::{EventKind, TransferAnswer};

/// Notice: the OwnerC was imported (the new `owner-c` is in the reply).
const NOTICE_OWNERC_IMPORTED: &str = "MSG01050";
/// Notice: the update deleted the existing AuthInfo.
const NOTICE_AUTHINFO_DELETED: &str = "MSG011304";

/// Decides the kind of a notification from its codes (task, status, notices, event type,
/// `kk_answer`) and, for a CentralNic response, the command it answers (`AddDomain`; compared
/// case-insensitively). The command is ignored for AutoDNS notifications.
///
/// Anything the codes do not name is [`EventKind::Unknown`]; in particular an `S0106` without a
/// `kk_answer` (or with one that is not ACK, NACK, AUTOACK or AUTONACK) and an `E0106` (the
/// answer did not go through) are `Unknown`, since they do not say where the domain is.
///
/// ```
/// use ledger_event::{classify, EventKind, TransferAnswer};
/// use ledger_parser::{codes::autodns_status, Format, Notification};
///
/// let mut n = Notification::new(Format::AutoDnsText);
/// n.task = Some("0106".into());
/// n.status = autodns_status("S0106", None);
/// n.kk_answer = Some("NACK".into());
/// assert_eq!(classify(&n, None), EventKind::TransferOutAnswered(TransferAnswer::Nack));
///
/// n.status = autodns_status("N0106", None);
/// assert_eq!(classify(&n, None), EventKind::OrderInProgress);
/// ```
pub fn classify(notification: &Notification, command: Option<&str>) -> EventKind {
    if let Some(kind) = notification.event_type.as_deref().and_then(event_type_kind) {
        return kind;
    }
    if notification.is_untyped_transfer_start() {
        return EventKind::TransferOutStarted;
    }
    match notification.provider {
        Provider::CentralNic => centralnic_kind(notification, command),
        Provider::AutoDns => autodns_kind(notification),
    }
}

/// The kind an event type names, if it names one: AutoDNS `notify/type` values and CentralNic
/// StatusEvent `CLASS/SUBCLASS` pairs (both compared case-insensitively).
fn event_type_kind(event_type: &str) -> Option<EventKind> {
    let event_type = event_type.trim().to_ascii_lowercase();
    let kind = match event_type.as_str() {
        "transfer_start" => EventKind::TransferOutStarted,
        "transfer_reminder" => EventKind::TransferOutReminded,
        "transfer_autoack" => EventKind::TransferOutAutoAcked,
        "transfer_autonack" => EventKind::TransferOutAutoNacked,
        "domain_away" => EventKind::DomainAway,
        // The AUTOUPDATE after a transfer set the domain's name servers: a domain update.
        "autoupdate_dns_success" => EventKind::DomainUpdated,
        "domain_transfer/foreign_transfer_pending" => EventKind::TransferOutStarted,
        "domain_transfer/transfer_pending" => EventKind::TransferInStarted,
        _ => return None,
    };
    Some(kind)
}

/// The return code of a CentralNic response: the parsed response's, else the status code.
fn centralnic_code(notification: &Notification) -> Option<u16> {
    match &notification.centralnic {
        Some(response) => Some(response.code),
        None => notification.status.as_ref()?.code.trim().parse().ok(),
    }
}

/// A CentralNic response: the command's domain kinds first, then the code's first digit.
fn centralnic_kind(notification: &Notification, command: Option<&str>) -> EventKind {
    let Some(code) = centralnic_code(notification) else {
        return EventKind::Unknown;
    };
    let class = code / 100;
    let command = command.map(|c| c.trim().to_ascii_lowercase());
    let by_command = match (command.as_deref(), class) {
        (Some("adddomain"), 2) => Some(EventKind::DomainCreated),
        (Some("adddomain"), 5) => Some(EventKind::DomainCreateFailed),
        (Some("modifydomain"), 2) => Some(EventKind::DomainUpdated),
        (Some("modifydomain"), 5) => Some(EventKind::DomainUpdateFailed),
        (Some("deletedomain"), 2) => Some(EventKind::DomainDeleted),
        (Some("deletedomain"), 5) => Some(EventKind::DomainDeleteFailed),
        (Some("transferdomain"), 2) => Some(EventKind::TransferInStarted),
        _ => None,
    };
    by_command.unwrap_or(match class {
        2 => EventKind::CommandSucceeded,
        4 => EventKind::CommandTemporaryFailure,
        5 => EventKind::CommandFailed,
        _ => EventKind::Unknown,
    })
}

/// Splits `S0101` into its prefix and task code; a bare `0101` has no prefix.
fn split_prefix(code: &str) -> (Option<StatusPrefix>, &str) {
    let code = code.trim();
    let prefix = match code.as_bytes().first().map(u8::to_ascii_uppercase) {
        Some(b'S') => StatusPrefix::Success,
        Some(b'E') => StatusPrefix::Error,
        Some(b'N') => StatusPrefix::Notify,
        _ => return (None, code),
    };
    // The first byte is ASCII, so slicing after it stays on a char boundary.
    (Some(prefix), code.get(1..).unwrap_or(""))
}

/// The prefix and task code of an AutoDNS notification, from its status (prefix as read, else
/// from the status class) and, where the status lacks them, from the `task` field.
fn autodns_codes(notification: &Notification) -> Option<(StatusPrefix, String)> {
    let status = notification.status.as_ref();
    let (status_prefix, status_task) = match status {
        Some(s) => split_prefix(&s.code),
        None => (None, ""),
    };
    let (task_prefix, task_field) = match notification.task.as_deref() {
        Some(task) => split_prefix(task),
        None => (None, ""),
    };
    let class_prefix = status.and_then(|s| match s.class {
        StatusClass::Success => Some(StatusPrefix::Success),
        StatusClass::Permanent => Some(StatusPrefix::Error),
        StatusClass::InProgress => Some(StatusPrefix::Notify),
        StatusClass::Temporary => None,
    });
    let prefix = status
        .and_then(|s| s.prefix)
        .or(status_prefix)
        .or(class_prefix)
        .or(task_prefix)?;
    let task = if status_task.is_empty() {
        task_field
    } else {
        status_task
    };
    if task.is_empty() || !task.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((prefix, task.to_string()))
}

/// An AutoDNS notification: prefix, task code, notices, `kk_answer`.
fn autodns_kind(notification: &Notification) -> EventKind {
    use EventKind as K;
    use StatusPrefix::{Error as E, Notify as N, Success as S};

    let Some((prefix, task)) = autodns_codes(notification) else {
        return K::Unknown;
    };
    match (prefix, task.as_str()) {
        (N, _) => K::OrderInProgress,
        (S, "0101") => K::DomainCreated,
        (E, "0101") => K::DomainCreateFailed,
        (S, "0102") if notification.has_notice(NOTICE_OWNERC_IMPORTED) => K::OwnerCImported,
        (S, "0102") if notification.has_notice(NOTICE_AUTHINFO_DELETED) => K::AuthInfoDeleted,
        (S, "0102") => K::DomainUpdated,
        (E, "0102") => K::DomainUpdateFailed,
        (S, "0103" | "0103101") => K::DomainDeleted,
        (E, "0103" | "0103101") => K::DomainDeleteFailed,
        (S, "0104") => K::TransferInStarted,
        (E, "0104") => K::TransferInNacked,
        (S, "0104001") => K::TransferInAcked,
        (E, "0104001") => K::TransferInNacked,
        (S, "0106") => transfer_answer(notification.kk_answer.as_deref()),
        (S, "1403") => K::TransferOutStarted,
        (S, "1403005") => K::TransferOutAutoNacked,
        (S, "1403006") => K::TransferOutReminded,
        (S, "1403008") => K::TransferOutAutoAcked,
        _ => K::Unknown,
    }
}

/// The kind of an answered outgoing transfer (`S0106`) from its `kk_answer`.
fn transfer_answer(kk_answer: Option<&str>) -> EventKind {
    match kk_answer.map(|a| a.trim().to_ascii_uppercase()).as_deref() {
        Some("ACK") => EventKind::TransferOutAnswered(TransferAnswer::Ack),
        Some("NACK") => EventKind::TransferOutAnswered(TransferAnswer::Nack),
        Some("AUTOACK") => EventKind::TransferOutAutoAcked,
        Some("AUTONACK") => EventKind::TransferOutAutoNacked,
        _ => EventKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use ledger_parser::{
        CentralNicResponse, Format, Notice, Notification, Status, StatusClass, codes,
    };

    use super::*;
    use EventKind as K;

    /// An AutoDNS text notification with this status, task field, notices and `kk_answer`.
    fn autodns(
        status: &str,
        task: Option<&str>,
        notices: &[&str],
        kk: Option<&str>,
    ) -> Notification {
        let mut n = Notification::new(Format::AutoDnsText);
        n.status = codes::autodns_status(status, None);
        assert!(n.status.is_some(), "test status {status} must read");
        n.task = task.map(str::to_string);
        n.notices = notices
            .iter()
            .map(|c| Notice {
                code: c.to_string(),
                text: None,
            })
            .collect();
        n.kk_answer = kk.map(str::to_string);
        n
    }

    /// A CentralNic response with this code.
    fn centralnic(code: u16) -> Notification {
        let mut n = Notification::new(Format::CentralNic);
        let class = match code / 100 {
            2 => StatusClass::Success,
            4 => StatusClass::Temporary,
            _ => StatusClass::Permanent,
        };
        n.status = Some(Status {
            code: code.to_string(),
            prefix: None,
            text: None,
            class,
        });
        n.centralnic = Some(CentralNicResponse {
            code,
            description: "Command completed successfully".into(),
            runtime: None,
            queuetime: None,
            properties: Vec::new(),
        });
        n
    }

    /// One AutoDNS case: status, task field, notice codes, `kk_answer`, the kind wanted.
    type AutoDnsCase<'a> = (
        &'a str,
        Option<&'a str>,
        &'a [&'a str],
        Option<&'a str>,
        EventKind,
    );

    #[test]
    fn autodns_codes_table() {
        #[rustfmt::skip]
        let cases: &[AutoDnsCase] = &[
            ("N0101", Some("0101"), &[], None, K::OrderInProgress),
            ("N0102", None, &[], None, K::OrderInProgress),
            ("N0104", Some("0104"), &[], None, K::OrderInProgress),
            ("N0106", Some("0106"), &[], Some("ACK"), K::OrderInProgress),
            ("S0101", Some("0101"), &[], None, K::DomainCreated),
            ("E0101", Some("0101"), &[], None, K::DomainCreateFailed),
            ("S0102", Some("0102"), &[], None, K::DomainUpdated),
            ("S0102", Some("0102"), &["MSG01055"], None, K::DomainUpdated),
            ("S0102", Some("0102"), &["MSG01050"], None, K::OwnerCImported),
            ("S0102", Some("0102"), &["msg01050"], None, K::OwnerCImported),
            ("S0102", Some("0102"), &["MSG011304"], None, K::AuthInfoDeleted),
            ("S0102", Some("0102"), &["MSG011304", "MSG01050"], None, K::OwnerCImported),
            ("S0102", Some("0102"), &["MSG01050", "MSG011304"], None, K::OwnerCImported),
            ("E0102", Some("0102"), &["MSG01050"], None, K::DomainUpdateFailed),
            ("S0103", Some("0103"), &[], None, K::DomainDeleted),
            ("E0103", Some("0103"), &[], None, K::DomainDeleteFailed),
            ("S0103101", Some("0103101"), &["MSG010315"], None, K::DomainDeleted),
            ("E0103101", None, &[], None, K::DomainDeleteFailed),
            ("S0104", Some("0104"), &[], None, K::TransferInStarted),
            ("E0104", Some("0104"), &[], None, K::TransferInNacked),
            ("S0104001", Some("0104001"), &[], None, K::TransferInAcked),
            ("S0104001", Some("0104001"), &["MSG01050"], None, K::TransferInAcked),
            ("E0104001", Some("0104001"), &[], None, K::TransferInNacked),
            ("S0106", Some("0106"), &["MSG010409"], Some("ACK"), K::TransferOutAnswered(TransferAnswer::Ack)),
            ("S0106", Some("0106"), &[], Some("nack"), K::TransferOutAnswered(TransferAnswer::Nack)),
            ("S0106", Some("0106"), &[], Some("AUTOACK"), K::TransferOutAutoAcked),
            ("S0106", Some("0106"), &[], Some("AUTONACK"), K::TransferOutAutoNacked),
            ("S0106", Some("0106"), &[], None, K::Unknown),
            ("S0106", Some("0106"), &[], Some("MAYBE"), K::Unknown),
            ("E0106", Some("0106"), &[], Some("ACK"), K::Unknown),
            ("S1403", Some("1403"), &[], None, K::TransferOutStarted),
            ("S1403005", Some("1403005"), &[], Some("NACK"), K::TransferOutAutoNacked),
            ("S1403006", Some("1403006"), &[], None, K::TransferOutReminded),
            ("S1403008", Some("1403008"), &[], Some("AUTOACK"), K::TransferOutAutoAcked),
            ("E1403", Some("1403"), &[], None, K::Unknown),
            ("S0301", Some("0301"), &[], None, K::Unknown),
            ("S0905", Some("0905"), &[], None, K::Unknown),
            ("S0104010", Some("0104010"), &[], None, K::Unknown),
        ];
        for (status, task, notices, kk, want) in cases {
            let n = autodns(status, *task, notices, *kk);
            assert_eq!(
                classify(&n, None),
                *want,
                "status {status}, notices {notices:?}, kk {kk:?}"
            );
            // The command is ignored for AutoDNS.
            assert_eq!(
                classify(&n, Some("AddDomain")),
                *want,
                "status {status} with a command"
            );
        }
    }

    #[test]
    fn autodns_task_code_with_or_without_prefix() {
        // Status without prefix (class tells success), task field with a prefix, and no status.
        let mut bare = Notification::new(Format::AutoDnsJson);
        bare.status = Some(Status {
            code: "1403008".into(),
            prefix: None,
            text: None,
            class: StatusClass::Success,
        });
        assert_eq!(classify(&bare, None), K::TransferOutAutoAcked);
        bare.status = Some(Status {
            code: "0101".into(),
            prefix: None,
            text: None,
            class: StatusClass::Permanent,
        });
        assert_eq!(classify(&bare, None), K::DomainCreateFailed);

        let mut task_only = Notification::new(Format::AutoDnsText);
        task_only.task = Some("E0104001".into());
        assert_eq!(classify(&task_only, None), K::TransferInNacked);
        task_only.task = Some("0104001".into());
        assert_eq!(
            classify(&task_only, None),
            K::Unknown,
            "no status, no prefix: no outcome"
        );

        // A status code without its task part takes the task field's.
        let mut split = Notification::new(Format::AutoDnsXml);
        split.status = Some(Status {
            code: "S".into(),
            prefix: Some(StatusPrefix::Success),
            text: None,
            class: StatusClass::Success,
        });
        split.task = Some("1403".into());
        assert_eq!(classify(&split, None), K::TransferOutStarted);

        assert_eq!(
            classify(&Notification::new(Format::AutoDnsText), None),
            K::Unknown
        );
    }

    #[test]
    fn never_reads_texts() {
        let mut n = autodns("S0101", Some("0101"), &[], None);
        n.status = codes::autodns_status(
            "S0101",
            Some("Die Domain konnte nicht registriert werden".into()),
        );
        assert_eq!(classify(&n, None), K::DomainCreated);
        n.notices = vec![Notice {
            code: "MSG00000".into(),
            text: Some("OwnerC imported".into()),
        }];
        n.status = codes::autodns_status("S0102", None);
        assert_eq!(classify(&n, None), K::DomainUpdated);
    }

    #[test]
    fn event_types_table() {
        #[rustfmt::skip]
        let cases: &[(Format, &str, EventKind)] = &[
            (Format::AutoDnsJson, "transfer_start", K::TransferOutStarted),
            (Format::AutoDnsXml, "TRANSFER_START", K::TransferOutStarted),
            (Format::AutoDnsJson, "transfer_reminder", K::TransferOutReminded),
            (Format::AutoDnsJson, "transfer_autoack", K::TransferOutAutoAcked),
            (Format::AutoDnsJson, "transfer_autonack", K::TransferOutAutoNacked),
            (Format::AutoDnsXml, "domain_away", K::DomainAway),
            (Format::AutoDnsJson, "autoupdate_dns_success", K::DomainUpdated),
            (Format::AutoDnsXml, "autoupdate_dns_success", K::DomainUpdated),
            (Format::AutoDnsJson, "contact_deleted", K::Unknown),
            (Format::CentralNic, "DOMAIN_TRANSFER/FOREIGN_TRANSFER_PENDING", K::TransferOutStarted),
            (Format::CentralNic, "DOMAIN_TRANSFER/TRANSFER_PENDING", K::TransferInStarted),
            (Format::CentralNic, "DOMAIN_TRANSFER/SOMETHING_ELSE", K::CommandSucceeded),
        ];
        for (format, event_type, want) in cases {
            let mut n = match format {
                Format::CentralNic => centralnic(200),
                _ => autodns("S0905", Some("0905"), &[], None),
            };
            n.format = *format;
            n.event_type = Some(event_type.to_string());
            assert_eq!(
                classify(&n, Some("StatusEvent")),
                *want,
                "event type {event_type}"
            );
        }
    }

    #[test]
    fn an_untyped_notify_with_an_open_timetable_is_a_transfer_start() {
        let start =
            ledger_parser::read_time("2021-05-03 11:05:56", ledger_parser::DEFAULT_SOURCE_TZ);
        for format in [Format::AutoDnsXml, Format::AutoDnsJson] {
            let mut n = autodns("S0905", Some("0905"), &[], None);
            n.format = format;
            n.timetable.start = Some(start.clone());
            assert_eq!(classify(&n, None), K::TransferOutStarted, "{format:?}");
            // XML names the event after its one telling element.
            n.event_type = Some("transfer".into());
            assert_eq!(classify(&n, None), K::TransferOutStarted, "{format:?}");
            // An answer, a type of its own, or no start: not inferred.
            n.kk_answer = Some("NACK".into());
            assert_eq!(classify(&n, None), K::Unknown, "{format:?} answered");
            n.kk_answer = None;
            n.event_type = Some("transfer_cancelled".into());
            assert_eq!(classify(&n, None), K::Unknown, "{format:?} typed");
            n.event_type = None;
            n.timetable.start = None;
            assert_eq!(classify(&n, None), K::Unknown, "{format:?} no start");
        }
        // A text notification is decided by its codes, never inferred.
        let mut text = autodns("S0905", Some("0905"), &[], None);
        text.timetable.start = Some(start);
        assert_eq!(classify(&text, None), K::Unknown);
    }

    #[test]
    fn centralnic_table() {
        #[rustfmt::skip]
        let cases: &[(Option<&str>, u16, EventKind)] = &[
            (Some("AddDomain"), 200, K::DomainCreated),
            (Some("adddomain"), 200, K::DomainCreated),
            (Some("AddDomain"), 549, K::DomainCreateFailed),
            (Some("AddDomain"), 421, K::CommandTemporaryFailure),
            (Some("ModifyDomain"), 200, K::DomainUpdated),
            (Some("ModifyDomain"), 541, K::DomainUpdateFailed),
            (Some("ModifyDomain"), 420, K::CommandTemporaryFailure),
            (Some("DeleteDomain"), 200, K::DomainDeleted),
            (Some("DeleteDomain"), 545, K::DomainDeleteFailed),
            (Some("TransferDomain"), 200, K::TransferInStarted),
            (Some("TransferDomain"), 531, K::CommandFailed),
            (Some("TransferDomain"), 423, K::CommandTemporaryFailure),
            (Some("CheckDomain"), 211, K::CommandSucceeded),
            (Some("StatusAccount"), 200, K::CommandSucceeded),
            (Some("CheckDomains"), 425, K::CommandTemporaryFailure),
            (Some("StartSession"), 530, K::CommandFailed),
            (None, 200, K::CommandSucceeded),
            (None, 422, K::CommandTemporaryFailure),
            (None, 510, K::CommandFailed),
            (None, 100, K::Unknown),
            (Some("AddDomain"), 300, K::Unknown),
        ];
        for (command, code, want) in cases {
            let n = centralnic(*code);
            assert_eq!(classify(&n, *command), *want, "{command:?} answered {code}");
        }
    }

    #[test]
    fn centralnic_code_from_status_when_response_is_missing() {
        let mut n = centralnic(200);
        n.centralnic = None;
        assert_eq!(classify(&n, Some("AddDomain")), K::DomainCreated);
        n.status = None;
        assert_eq!(classify(&n, Some("AddDomain")), K::Unknown);
    }
}
