//! Rejects that must not get stuck: an input over the size limit is kept whole (its true size,
//! the SHA-256 of all of it) so a larger limit admits it later, and a person can dismiss a
//! reject so `reparse` stops reporting it.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{Sandbox, fixture};

/// The default limit of one item (16 MiB).
const LIMIT: usize = 16 * 1024 * 1024;

/// A real notification (the guide's create success) with a signature that takes it over the
/// limit: 17,710,000-odd bytes, as a mail with a large quoted thread would be.
fn oversize_mail() -> Vec<u8> {
    let mut mail =
        std::fs::read(fixture("autodns/seed/06-0101-create-success.eml")).expect("the seed mail");
    mail.extend_from_slice(b"\n-- \n");
    while mail.len() <= LIMIT + 900_000 {
        mail.extend_from_slice(&[b'x'; 76]);
        mail.push(b'\n');
    }
    mail
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn rejects(sandbox: &Sandbox, all: bool) -> Vec<Value> {
    let mut args = vec!["--json", "rejects"];
    if all {
        args.push("--all");
    }
    sandbox.ok_json(args).as_array().expect("an array").clone()
}

#[test]
fn an_oversize_input_is_kept_whole_and_a_larger_limit_admits_it() {
    let sandbox = Sandbox::new();
    let mail = oversize_mail();
    let path = sandbox.write("in/big.eml", &mail);
    sandbox
        .ledger()
        .arg("ingest")
        .arg(&path)
        .run()
        .expect_code(3)
        .expect_stdout(&format!("input is {} bytes, over the limit", mail.len()));
    let kept = rejects(&sandbox, false);
    assert_eq!(kept.len(), 1, "{kept:#?}");
    assert_eq!(kept[0]["size"], json!(mail.len()));
    assert_eq!(kept[0]["sha256"], hex(&mail));
    // Delivered again: the same reject, not a second copy.
    sandbox
        .ledger()
        .arg("ingest")
        .arg(&path)
        .run()
        .expect_code(3);
    assert_eq!(rejects(&sandbox, false).len(), 1);
    // Still over the default limit: still rejected, not read.
    sandbox.ledger().arg("reparse").run().expect_code(3);
    // Admitted by a limit above its size: an event, and the reject leaves the list.
    sandbox
        .ledger()
        .args(["reparse", "--max-size", "20000000"])
        .run()
        .success()
        .expect_stdout("1 became events");
    assert_eq!(rejects(&sandbox, true), Vec::<Value>::new());
    let order = sandbox.ok_json(["--json", "show", "--ctid", "bf296d8dffc4"]);
    assert_eq!(order["events"][0]["kind"], "domain_created", "{order:#}");
    assert_eq!(order["events"][0]["source"]["sha256"], hex(&mail));
    sandbox.ledger().arg("verify").run().success();
}

/// In an mbox, the message over the limit is kept whole (its bytes as the mbox holds them,
/// unescaped) and the messages around it are ingested.
#[test]
fn an_oversize_message_in_an_mbox_is_kept_whole_and_the_rest_goes_on() {
    let sandbox = Sandbox::new();
    let mail = oversize_mail();
    let small = |name: &str| std::fs::read(fixture(name)).expect("a seed mail");
    let mut mbox = Vec::new();
    for message in [
        small("autodns/seed/05-1403-transfer-out-start.eml"),
        mail.clone(),
        small("autodns/seed/07-0101-create-failed.eml"),
    ] {
        mbox.extend_from_slice(b"From robot@autodns.example Mon Jan  1 00:00:00 2024\n");
        mbox.extend_from_slice(&message);
        if !message.ends_with(b"\n") {
            mbox.push(b'\n');
        }
        mbox.push(b'\n');
    }
    let path = sandbox.write("in/mail.mbox", &mbox);
    let summary = sandbox
        .ledger()
        .args(["--json", "ingest"])
        .arg(&path)
        .run()
        .expect_code(3)
        .json();
    assert_eq!(
        (&summary["ingested"], &summary["rejected"]),
        (&json!(2), &json!(1)),
        "{summary:#}"
    );
    let kept = rejects(&sandbox, false);
    assert_eq!(kept.len(), 1, "{kept:#?}");
    assert!(
        kept[0]["origin"]
            .as_str()
            .is_some_and(|o| o.ends_with("#2"))
    );
    let want = if mail.ends_with(b"\n") {
        mail.clone()
    } else {
        [&mail[..], b"\n"].concat()
    };
    assert_eq!(kept[0]["size"], json!(want.len()));
    assert_eq!(kept[0]["sha256"], hex(&want));
}

#[test]
fn a_dismissed_reject_is_kept_but_no_longer_outstanding() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("bad"))
        .run()
        .expect_code(3);
    let all = rejects(&sandbox, false);
    assert!(all.len() > 2, "{all:#?}");
    for entry in &all {
        let id = entry["id"].to_string();
        sandbox
            .ledger()
            .args([
                "rejects",
                "--dismiss",
                &id,
                "--reason",
                "test garbage, not mail",
            ])
            .run()
            .success()
            .expect_stdout(&format!("dismissed reject #{id}"));
    }
    // Nothing outstanding: reparse succeeds, the list is empty and says what it leaves out.
    sandbox
        .ledger()
        .arg("reparse")
        .run()
        .success()
        .expect_stdout(&format!("{} dismissed rejects not re-read", all.len()));
    assert_eq!(rejects(&sandbox, false), Vec::<Value>::new());
    let listed = sandbox.ok_stdout(["rejects"]);
    assert!(listed.contains("dismissed rejects not listed"), "{listed}");
    // Kept, with the reason a person gave.
    let kept = rejects(&sandbox, true);
    assert_eq!(kept.len(), all.len());
    assert!(
        kept.iter()
            .all(|e| e["dismissed"]["reason"] == "test garbage, not mail"),
        "{kept:#?}"
    );
    // A dismissal needs a reason, and an id that exists.
    sandbox
        .ledger()
        .args(["rejects", "--dismiss", "1"])
        .run()
        .expect_code(64);
    sandbox
        .ledger()
        .args(["rejects", "--dismiss", "999", "--reason", "x"])
        .run()
        .expect_code(1)
        .expect_stderr("no quarantine entry 999");
    sandbox.ledger().arg("verify").run().success();
}
