//! Issue 11 through the real binary: one AutoDNS notification delivered as the poll envelope,
//! as the bare message pushed without it, and inside a mail (with another envelope, as a
//! parent-notify copy may be) is one event and two duplicates; a ledger of the build before
//! (layout 3) is migrated on open and finds them too.

use std::path::Path;

use crate::harness::{Sandbox, fixture};

/// A mail carrying `body`.
fn mail(body: &str) -> String {
    format!(
        "From: AutoDNS <robot@autodns.example>\nTo: hostmaster@reseller.example\n\
         Subject: notification\nDate: Mon, 03 May 2021 11:07:02 +0200\n\
         Message-ID: <copy.31807@autodns.example>\nContent-Type: text/plain; charset=utf-8\n\n\
         {body}"
    )
}

/// The poll envelope, the bare message and a mail of the envelope with another stid and
/// summary: ingested in one run, then one by one into a fresh ledger.
fn one_event_two_duplicates(poll: &str, bare: &str, stid: &str, summary: (&str, &str)) {
    let envelope = std::fs::read_to_string(fixture(poll)).expect("the poll fixture");
    assert!(envelope.contains(stid) && envelope.contains(summary.0));
    let reposted = envelope
        .replace(stid, "20210503-app2-copy-1")
        .replace(summary.0, summary.1);
    let sandbox = Sandbox::new();
    let copy = sandbox.write("mail/copy.eml", mail(&reposted));
    let done = sandbox
        .ledger()
        .args(["--json", "ingest"])
        .arg(fixture(poll))
        .arg(fixture(bare))
        .arg(&copy)
        .run()
        .success()
        .json();
    assert_eq!(done["ingested"], 1, "{done:#}");
    assert_eq!(done["duplicates"], 2, "{done:#}");
    assert_eq!(sandbox.ok_json(["--json", "stats"])["events"], 1);

    let sandbox = Sandbox::new();
    let copy = sandbox.write("mail/copy.eml", mail(&reposted));
    let mut outcomes = Vec::new();
    for path in [copy, fixture(bare), fixture(poll)] {
        let done = sandbox
            .ledger()
            .args(["--json", "ingest"])
            .arg(path)
            .run()
            .success()
            .json();
        outcomes.push((done["ingested"].clone(), done["duplicates"].clone()));
    }
    assert_eq!(
        outcomes,
        [
            (1.into(), 0.into()),
            (0.into(), 1.into()),
            (0.into(), 1.into())
        ]
    );
    sandbox.ledger().arg("verify").run().success();
}

#[test]
fn an_xml_notification_as_envelope_bare_and_mail_is_one_event() {
    one_event_two_duplicates(
        "autodns/xml/transfer_start-poll.xml",
        "autodns/xml/transfer_start-push-bare.xml",
        "20210503-app1-test-31807",
        ("<summary>1</summary>", "<summary>2</summary>"),
    );
}

#[test]
fn a_json_notification_as_envelope_bare_and_mail_is_one_event() {
    one_event_two_duplicates(
        "autodns/json/0101-failed-poll.json",
        "autodns/json/0101-failed-push-bare.json",
        "20240212-app2-55310",
        ("\"summary\": 1", "\"summary\": 3"),
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creating a directory");
    for entry in std::fs::read_dir(from).expect("listing a directory") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copying a file");
        }
    }
}

/// `crates/ledger/tests/ledgers/v3-poll/` holds `transfer_start-poll.xml` as written by the
/// build before issue 11; the binary migrates it and takes the bare message and a mail with
/// another envelope as duplicates.
#[test]
fn a_ledger_of_the_build_before_finds_the_bare_message_and_the_copy() {
    let sandbox = Sandbox::new();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/ledger/tests/ledgers/v3-poll"),
        &sandbox.db(),
    );
    let envelope = std::fs::read_to_string(fixture("autodns/xml/transfer_start-poll.xml"))
        .expect("the poll fixture");
    let copy = sandbox.write(
        "mail/copy.eml",
        mail(&envelope.replace("20210503-app1-test-31807", "20210503-app2-copy-1")),
    );
    let done = sandbox
        .ledger()
        .args(["--json", "ingest"])
        .arg(fixture("autodns/xml/transfer_start-push-bare.xml"))
        .arg(&copy)
        .run()
        .success()
        .json();
    assert_eq!(done["ingested"], 0, "{done:#}");
    assert_eq!(done["duplicates"], 2, "{done:#}");
    assert_eq!(sandbox.ok_json(["--json", "stats"])["events"], 9);
    sandbox.ledger().arg("verify").run().success();
    let marker = std::fs::read_to_string(sandbox.db().join("LEDGER")).expect("the marker");
    assert!(marker.starts_with("ledger layout 5"), "{marker}");
}
