//! Classification through real parses: every seed-003 example mail in `fixtures/autodns/seed`,
//! and the event notifications and command responses of the other fixture folders.

use std::path::{Path, PathBuf};

use ledger_event::{EventKind, TransferAnswer, classify};
use ledger_parser::{Notification, ParseOptions, parse};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn parsed(path: &Path) -> Notification {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&bytes, &ParseOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The kind of each seed example, by file name.
const SEED: &[(&str, EventKind)] = &[
    (
        "01-1403008-transfer-out-autoack.eml",
        EventKind::TransferOutAutoAcked,
    ),
    (
        "02-0106-transfer-out-ack-at.eml",
        EventKind::TransferOutAnswered(TransferAnswer::Ack),
    ),
    (
        "03-1403005-transfer-out-autonack.eml",
        EventKind::TransferOutAutoNacked,
    ),
    (
        "04-1403006-transfer-out-reminder.eml",
        EventKind::TransferOutReminded,
    ),
    (
        "05-1403-transfer-out-start.eml",
        EventKind::TransferOutStarted,
    ),
    ("06-0101-create-success.eml", EventKind::DomainCreated),
    ("07-0101-create-failed.eml", EventKind::DomainCreateFailed),
    ("08-0102-update-success.eml", EventKind::DomainUpdated),
    ("09-0102-update-failed.eml", EventKind::DomainUpdateFailed),
    (
        "10-0102-update-authinfo-deleted.eml",
        EventKind::AuthInfoDeleted,
    ),
    ("11-0103-delete-success.eml", EventKind::DomainDeleted),
    // The guide shows it under "Domain Delete / Failed", but its codes say S0104.
    (
        "12-0104-transfer-in-start.eml",
        EventKind::TransferInStarted,
    ),
    ("13-0102-autoupdate.eml", EventKind::DomainUpdated),
    (
        "14-0102-autoupdate-ownerc-import.eml",
        EventKind::OwnerCImported,
    ),
    (
        "15-0104001-transfer-in-ack-ownerc-import.eml",
        EventKind::TransferInAcked,
    ),
    ("16-0104001-transfer-in-ack.eml", EventKind::TransferInAcked),
    (
        "17-0104001-transfer-in-nack.eml",
        EventKind::TransferInNacked,
    ),
];

#[test]
fn every_seed_example_has_its_kind() {
    let dir = fixtures().join("autodns/seed");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".eml"))
        .collect();
    names.sort();
    let listed: Vec<&str> = SEED.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names, listed,
        "every seed mail has an expected kind here, and only those"
    );

    for (name, want) in SEED {
        let n = parsed(&dir.join(name));
        assert_eq!(classify(&n, None), *want, "{name}");
    }
}

#[test]
fn other_fixtures_classify_by_their_codes() {
    let cases: &[(&str, Option<&str>, EventKind)] = &[
        (
            "autodns/text/ref-1403-start-text.txt",
            None,
            EventKind::TransferOutStarted,
        ),
        (
            "autodns/text/ref-0106-ack-text.txt",
            None,
            EventKind::TransferOutAnswered(TransferAnswer::Ack),
        ),
        (
            "autodns/text/ref-0104001-success-text.txt",
            None,
            EventKind::TransferInAcked,
        ),
        (
            "autodns/text/de-0101-latin1.eml",
            None,
            EventKind::DomainCreated,
        ),
        (
            "autodns/json/transfer_start-poll-json.json",
            None,
            EventKind::TransferOutStarted,
        ),
        (
            "autodns/json/domain_away-poll.json",
            None,
            EventKind::DomainAway,
        ),
        (
            "autodns/json/N0102-realtime-json.json",
            None,
            EventKind::OrderInProgress,
        ),
        (
            "autodns/json/0101-success-poll-json.json",
            None,
            EventKind::DomainCreated,
        ),
        (
            "autodns/xml/transfer_start-poll.xml",
            None,
            EventKind::TransferOutStarted,
        ),
        (
            "autodns/xml/domain_away-poll.xml",
            None,
            EventKind::DomainAway,
        ),
        (
            "autodns/xml/N0101-realtime.xml",
            None,
            EventKind::OrderInProgress,
        ),
        (
            "autodns/xml/S0102-authinfo-deleted-realtime.xml",
            None,
            EventKind::AuthInfoDeleted,
        ),
        (
            "centralnic/own_statusevent_foreign_transfer_pending.txt",
            Some("StatusEvent"),
            EventKind::TransferOutStarted,
        ),
        (
            "centralnic/hxdoc_statusevent_200_urlencoded_info.txt",
            Some("StatusEvent"),
            EventKind::TransferInStarted,
        ),
        (
            "centralnic/own_adddomain_200_domain.txt",
            Some("AddDomain"),
            EventKind::DomainCreated,
        ),
        (
            "centralnic/own_adddomain_504_missing_attribute.txt",
            Some("AddDomain"),
            EventKind::DomainCreateFailed,
        ),
        (
            "centralnic/own_temporary_421_crlf.txt",
            Some("AddDomain"),
            EventKind::CommandTemporaryFailure,
        ),
        (
            "centralnic/hxdoc_transferdomain_200.txt",
            Some("TransferDomain"),
            EventKind::TransferInStarted,
        ),
        (
            "centralnic/phpsdk_auth_failed_530.txt",
            Some("StartSession"),
            EventKind::CommandFailed,
        ),
        (
            "centralnic/hxdoc_checkdomain_211.txt",
            Some("CheckDomain"),
            EventKind::CommandSucceeded,
        ),
    ];
    for (file, command, want) in cases {
        let n = parsed(&fixtures().join(file));
        assert_eq!(classify(&n, *command), *want, "{file} ({command:?})");
    }
}
