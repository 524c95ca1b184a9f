//! Parsing faults of issue 10 end to end: what the real binary makes of an untyped event
//! notification, a body that is not a notification, two notifications in one body, a ctid with
//! a NUL, and the smaller readings (JSON 0104 START, `autoupdate_dns_success`, HTML-only mail).

use serde_json::Value;

use crate::harness::{Sandbox, fixture};

/// The kinds of a domain's events, as `show --domain --json` lists them.
fn kinds(sandbox: &Sandbox, domain: &str) -> Vec<String> {
    let shown = sandbox.ok_json(["--json", "show", "--domain", domain]);
    shown["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_vendors_untyped_transfer_start_is_pending() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("autodns/xml/transfer_start-untyped-poll.xml"))
        .arg(fixture("autodns/json/transfer_start-untyped-poll.json"))
        .run()
        .success();
    assert_eq!(kinds(&sandbox, "example.com"), ["transfer_out_started"]);
    let shown = sandbox.ok_json(["--json", "show", "--domain", "example.com"]);
    let said = shown["events"][0]["diagnostics"].to_string();
    assert!(
        said.contains("notify has no <type>; it carries a transfer timetable with a start"),
        "{said}"
    );

    // XML: the auto-NACK on 8 May 2021 05:05:56 Berlin (CEST).
    let pending = sandbox.ok_json(["--json", "pending-transfers", "--at", "2021-05-05 12:00"]);
    let pending = pending.as_array().expect("array");
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["domain"], "example.com");
    assert_eq!(pending[0]["deadline_at"], "2021-05-08T03:05:56Z");
    assert_eq!(pending[0]["default_action"], "nack");
    let table = sandbox.ok_stdout(["pending-transfers", "--at", "2021-05-05 12:00"]);
    assert!(
        table.contains("example.com") && table.contains("2021-05-08 03:05:56 UTC (05:05:56 CEST)"),
        "{table}"
    );

    // JSON: the auto-NACK on 24 January 2022 04:54:42 +01:00.
    let pending = sandbox.ok_json(["--json", "pending-transfers", "--at", "2022-01-20 12:00"]);
    let domains: Vec<&Value> = pending
        .as_array()
        .expect("array")
        .iter()
        .map(|p| &p["domain"])
        .collect();
    // The XML one, never answered, is still pending then, overdue since May 2021.
    assert_eq!(domains, ["example.com", "example-untyped.org"]);
    assert_eq!(pending[0]["overdue"], true);
    assert_eq!(pending[1]["deadline_at"], "2022-01-24T03:54:42Z");
    assert_eq!(pending[1]["default_action"], "nack");
    assert_eq!(pending[1]["overdue"], false);
}

#[test]
fn non_notifications_several_notifications_and_nul_ctids_are_rejected_with_the_reason() {
    let sandbox = Sandbox::new();
    let done = sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("mail/generate.py"))
        .arg(fixture("autodns/text/bad/two-notifications.eml"))
        .arg(fixture("autodns/json/bad/0101-ctid-nul-poll.json"))
        .run()
        .expect_code(3);
    let out = done.stdout();
    assert!(
        out.starts_with("ingested 0, duplicates 0, rejected 3"),
        "{out}"
    );
    let rejects = sandbox.ok_json(["--json", "rejects"]);
    let reasons: Vec<(&str, &str)> = rejects
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["origin"].as_str().unwrap_or_default(),
                r["reason"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].0.ends_with("generate.py"));
    assert!(
        reasons[0].1.starts_with("not a notification: ")
            && reasons[0].1.contains("from line 117 to line 469"),
        "{reasons:?}"
    );
    assert_eq!(
        reasons[1].1,
        "2 notifications in one body: <system> at lines 1 and 9; split them into one item each"
    );
    assert_eq!(
        reasons[2].1,
        "the ctid \"order-17\\0b\" holds the control character '\\0' at data[0].ctid; a ctid or \
         domain must not"
    );
    // Nothing of them became an event: neither order nor domain is known.
    sandbox
        .ledger()
        .args(["show", "--ctid", "c-1"])
        .run()
        .expect_code(1);
    sandbox
        .ledger()
        .args(["show", "--domain", "example-two.net"])
        .run()
        .expect_code(1);
    let table = sandbox.ok_stdout(["rejects"]);
    assert!(table.contains("2 notifications in one body"), "{table}");
}

#[test]
fn json_readings_and_html_only_mail() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("autodns/json/0104-transfer-start-poll-json.json"))
        .arg(fixture(
            "autodns/json/autoupdate_dns_success-poll-json.json",
        ))
        .arg(fixture("mail/html-only.eml"))
        .run()
        .success();
    assert_eq!(kinds(&sandbox, "exampledomain.eu"), ["transfer_in_started"]);
    assert_eq!(kinds(&sandbox, "example.aq"), ["domain_updated"]);
    let order = sandbox.ok_json(["--json", "show", "--ctid", "mime-0101"]);
    assert_eq!(order["events"][0]["kind"], "domain_created");
}

#[test]
fn orders_status_takes_the_readmes_spelling_and_claps() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("autodns/text/greeting-before-system.eml"))
        .run()
        .success();
    for spelling in ["in_progress", "in-progress"] {
        let orders = sandbox.ok_json(["--json", "orders", "--status", spelling]);
        let ctids: Vec<&Value> = orders
            .as_array()
            .expect("array")
            .iter()
            .map(|o| &o["ctid"])
            .collect();
        assert_eq!(ctids, ["n0102-1"], "--status {spelling}");
    }
}
