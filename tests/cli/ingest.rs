//! `ledger ingest` over every kind of input, and `record-response`.

use crate::harness::{Sandbox, fixture};

#[test]
fn an_mbox_made_by_a_standard_mail_library() {
    let sandbox = Sandbox::new();
    let summary = sandbox
        .ledger()
        .args(["--json", "ingest"])
        .arg(fixture("mailboxes/seed.mbox"))
        .run()
        .success()
        .json();
    assert_eq!(summary["ingested"], 17, "{summary:#}");
    let items = summary["items"].as_array().expect("items");
    assert_eq!(items.len(), 17);
    assert!(
        items[0]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("seed.mbox#1")),
        "{:#}",
        items[0]
    );
    assert!(items.iter().all(|i| i["outcome"] == "ingested"));
}

#[test]
fn the_same_mails_from_a_directory_an_mbox_and_a_maildir_are_one_set_of_events() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("mailboxes/seed.maildir"))
        .run()
        .success();
    let again = sandbox
        .ledger()
        .args(["--json", "ingest"])
        .arg(fixture("mailboxes/seed.mbox"))
        .run()
        .success()
        .json();
    assert_eq!(again["ingested"], 0);
    assert_eq!(again["duplicates"], 17);
    let stats = sandbox.ok_json(["--json", "stats"]);
    assert_eq!(stats["events"], 17);
}

#[test]
fn standard_input_one_mail_or_an_mbox() {
    let sandbox = Sandbox::new();
    // One mail, then an mbox of the seed mails (the first of which is now a duplicate).
    let [one, many] = [
        "autodns/seed/05-1403-transfer-out-start.eml",
        "mailboxes/seed.mbox",
    ]
    .map(|input| {
        let bytes = std::fs::read(fixture(input)).expect("fixture");
        let args = ["--json", "ingest", "-"];
        sandbox
            .ledger()
            .args(args)
            .stdin(bytes)
            .run()
            .success()
            .json()
    });
    assert_eq!(one["ingested"], 1);
    assert_eq!(one["items"][0]["path"], "-");
    assert_eq!(one["items"][0]["kind"], "transfer_out_started");
    assert_eq!(many["ingested"], 16);
    assert_eq!(many["duplicates"], 1);
}

#[test]
fn a_parent_notify_copy_with_other_headers_is_a_duplicate() {
    let sandbox = Sandbox::new();
    let original = std::fs::read_to_string(fixture("autodns/seed/07-0101-create-failed.eml"))
        .expect("fixture");
    let copy = original
        .replace("Message-ID: <", "Message-ID: <parent-copy.")
        .replacen("Subject: ", "Subject: [parent] ", 1);
    assert_ne!(copy, original);
    sandbox.write("in/original.eml", &original);
    sandbox.write("in/copy.eml", &copy);
    let summary = sandbox
        .ledger()
        .args(["--json", "ingest"])
        .arg(sandbox.path("in"))
        .run()
        .success()
        .json();
    assert_eq!(summary["ingested"], 1);
    assert_eq!(summary["duplicates"], 1);
    let dup = summary["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["outcome"] == "duplicate"))
        .expect("a duplicate item");
    assert_eq!(dup["duplicate_of"], 1);
}

#[test]
fn bad_input_is_rejected_kept_listed_and_the_run_goes_on() {
    let sandbox = Sandbox::new();
    let done = sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("bad"))
        .arg(fixture("autodns/seed/06-0101-create-success.eml"))
        .run()
        .expect_code(3);
    let out = done.stdout();
    assert!(
        out.starts_with("ingested 1, duplicates 0, rejected 8"),
        "{out}"
    );
    assert!(
        out.contains("unclosed-system.txt: block <system> opened on line 1 is never closed"),
        "{out}"
    );
    assert!(out.contains("missing-status.txt"), "{out}");

    let rejects = sandbox.ok_json(["--json", "rejects"]);
    let rejects = rejects.as_array().expect("array");
    assert_eq!(rejects.len(), 8);
    assert!(
        rejects
            .iter()
            .all(|r| r["reason"].as_str().is_some_and(|s| !s.is_empty()))
    );
    assert!(
        rejects
            .iter()
            .all(|r| r["sha256"].as_str().is_some_and(|s| s.len() == 64))
    );
    let human = sandbox.ledger().arg("rejects").run().success().stdout();
    assert!(human.contains("garbage.bin"), "{human}");
}

#[test]
fn oversize_items_are_rejected_with_the_reason() {
    let sandbox = Sandbox::new();
    let done = sandbox
        .ledger()
        .args(["--json", "ingest", "--max-size", "200"])
        .arg(fixture("autodns/seed/05-1403-transfer-out-start.eml"))
        .run()
        .expect_code(3)
        .json();
    assert_eq!(done["rejected"], 1);
    let reason = done["items"][0]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(reason.contains("limit of 200 bytes"), "{reason}");
}

#[test]
fn reparse_turns_rejects_that_now_parse_into_events() {
    let sandbox = Sandbox::new();
    // Rejected under a small size limit (the whole item is kept), then re-read with the default
    // limit: the same mechanism that re-reads rejects after a parser upgrade.
    sandbox
        .ledger()
        .args(["ingest", "--max-size", "100"])
        .arg(fixture("autodns/seed/06-0101-create-success.eml"))
        .run()
        .expect_code(3);
    let report = sandbox.ok_json(["--json", "reparse"]);
    assert_eq!(report["tried"], 1, "{report:#}");
    assert_eq!(report["appended"], 1, "{report:#}");
    assert_eq!(report["still_rejected"], 0, "{report:#}");
    let rejects = sandbox.ok_json(["--json", "rejects"]);
    assert_eq!(rejects.as_array().map(Vec::len), Some(0));
    let show = sandbox.ok_json(["--json", "show", "--ctid", "bf296d8dffc4"]);
    assert_eq!(show["events"][0]["kind"], "domain_created");
}

#[test]
fn record_a_centralnic_response_for_an_order() {
    let sandbox = Sandbox::new();
    let failed = sandbox
        .ledger()
        .args([
            "--json",
            "record-response",
            "--ctid",
            "cnr-0001",
            "--command",
            "AddDomain",
            "--domain",
            "example-taken.com",
        ])
        .arg(fixture(
            "centralnic/own_adddomain_504_missing_attribute.txt",
        ))
        .run()
        .success()
        .json();
    assert_eq!(failed["kind"], "domain_create_failed");
    let temporary =
        std::fs::read(fixture("centralnic/own_temporary_421_crlf.txt")).expect("fixture");
    sandbox
        .ledger()
        .args([
            "record-response",
            "--ctid",
            "cnr-0002",
            "--command",
            "AddDomain",
            "--domain",
            "example-later.com",
            "-",
        ])
        .stdin(temporary)
        .run()
        .success();

    let orders = sandbox.ok_json(["--json", "orders"]);
    let state_of = |ctid: &str| {
        orders
            .as_array()
            .and_then(|o| o.iter().find(|x| x["ctid"] == ctid))
            .map(|x| x["state"].clone())
    };
    assert_eq!(state_of("cnr-0001"), Some("failed".into()));
    assert_eq!(state_of("cnr-0002"), Some("resubmit".into()));
    let resubmit = sandbox.ok_json(["--json", "orders", "--status", "resubmit"]);
    assert_eq!(resubmit.as_array().map(Vec::len), Some(1));
    assert_eq!(resubmit[0]["last_status"]["code"], "421");
    assert_eq!(resubmit[0]["last_status"]["class"], "temporary");

    let failed = sandbox.ok_json(["--json", "failed-creates"]);
    assert_eq!(failed[0]["ctid"], "cnr-0001");
    assert_eq!(failed[0]["domain"], "example-taken.com");
    assert_eq!(failed[0]["status"]["code"], "504");
}

#[test]
fn the_commit_log_records_each_committed_item() {
    let sandbox = Sandbox::new();
    let log = sandbox.path("commits.jsonl");
    sandbox
        .ledger()
        .args(["ingest", "--batch", "5", "--commit-log"])
        .arg(&log)
        .arg(fixture("mailboxes/seed.mbox"))
        .run()
        .success();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .expect("commit log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 17);
    let seqs: Vec<u64> = lines.iter().filter_map(|l| l["seq"].as_u64()).collect();
    assert_eq!(seqs, (1..=17).collect::<Vec<_>>());
    assert!(
        lines[16]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("seed.mbox#17"))
    );
}

/// `fixtures/autodns/repeat/`: one domain transferred out in January and again in June, each
/// answered NACK by a byte-identical S0106 body in a new mail (new `Date`, new Message-ID), and
/// two parent-notify copies minutes apart. Through the real binary: the June answer is a new
/// fact that closes the June transfer, the copies are duplicates, nothing stays pending.
#[test]
fn the_same_answer_months_apart_closes_both_transfers() {
    let sandbox = Sandbox::new();
    let done = sandbox
        .ledger()
        .args(["--json", "ingest"])
        .arg(fixture("autodns/repeat"))
        .run()
        .success()
        .json();
    assert_eq!(done["ingested"], 4, "{done:#}");
    assert_eq!(done["duplicates"], 2, "{done:#}");
    let shown = sandbox.ok_json(["--json", "show", "--domain", "example-shop.de"]);
    let kinds: Vec<String> = shown["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "transfer_out_started",
            "transfer_out_answered_nack",
            "transfer_out_started",
            "transfer_out_answered_nack"
        ]
    );
    for at in ["2026-01-31 12:00", "2026-07-01 12:00", "2026-12-01 12:00"] {
        let pending = sandbox.ok_json(["--json", "pending-transfers", "--at", at]);
        assert_eq!(pending, serde_json::json!([]), "pending at {at}");
    }
}
