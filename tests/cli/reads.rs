//! Each read command, in human and JSON form, over the fixtures.

use crate::harness::{Sandbox, fixture};
use serde_json::Value;

fn loaded() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("autodns/seed"))
        .arg(fixture("autodns/xml"))
        .arg(fixture("autodns/json"))
        .run()
        .expect_code(3);
    sandbox
}

#[test]
fn show_a_domain_in_both_forms() {
    let sandbox = loaded();
    let human = sandbox.ok_stdout(["show", "--domain", "EXAMPLE.COM"]);
    assert!(human.starts_with("domain example.com\n"), "{human}");
    assert!(human.contains("transfer_out_started"), "{human}");
    // Times show UTC and the source zone.
    assert!(
        human.contains("2010-05-17 06:44:00 UTC (08:44:00 CEST)"),
        "{human}"
    );

    let json = sandbox.ok_json(["--json", "show", "--domain", "example.com"]);
    assert_eq!(json["domain"], "example.com");
    let events = json["events"].as_array().expect("events");
    assert!(events.len() >= 2);
    // Oldest first.
    let times: Vec<&str> = events
        .iter()
        .filter_map(|e| e["occurred_at"].as_str())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    // The domain's state, from its own records: the XML transfer started in May 2021 is
    // still open (and overdue), the domain has not left, no create of it failed.
    let state = &json["state"];
    assert_eq!(
        state["pending_transfer"]["domain"], "example.com",
        "{state:#}"
    );
    assert_eq!(
        state["pending_transfer"]["default_action"], "nack",
        "{state:#}"
    );
    assert_eq!(state["pending_transfer"]["overdue"], true, "{state:#}");
    assert_eq!(state["in_inventory"], true, "{state:#}");
    assert_eq!(
        state["open_failed_creates"],
        serde_json::json!([]),
        "{state:#}"
    );

    // A domain that left: the transfer was answered ACK on 19 May 2010, nothing pending.
    let gone = sandbox.ok_json(["--json", "show", "--domain", "example.at"]);
    let state = &gone["state"];
    assert_eq!(state["in_inventory"], false, "{state:#}");
    assert_eq!(state["departed"]["reason"], "answered_ack", "{state:#}");
    assert_eq!(state["departed"]["at"], "2010-05-19T09:05:12Z", "{state:#}");
    assert!(state["pending_transfer"].is_null(), "{state:#}");
}

#[test]
fn show_an_unknown_order_says_so() {
    let sandbox = loaded();
    sandbox
        .ledger()
        .args(["show", "--ctid", "no-such-order"])
        .run()
        .expect_code(1)
        .expect_stderr("no events for order (ctid) \"no-such-order\"");
}

#[test]
fn orders_failed_creates_and_pending_transfers_as_tables() {
    let sandbox = loaded();
    let orders = sandbox.ok_stdout(["orders", "--status", "failed"]);
    assert!(orders.starts_with("CTID"), "{orders}");
    assert!(orders.contains("201005061621"), "{orders}");
    assert!(
        !orders.contains("bf296d8dffc4"),
        "a succeeded order is filtered out: {orders}"
    );

    let failed = sandbox
        .ledger()
        .arg("failed-creates")
        .run()
        .success()
        .stdout();
    assert!(
        failed.contains("201005061621") && failed.contains("E0101"),
        "{failed}"
    );

    let pending = sandbox.ok_stdout(["pending-transfers", "--at", "2010-05-18 14:00"]);
    assert!(pending.contains("example.com"), "{pending}");
    assert!(pending.contains("auto-NACK: domain stays"), "{pending}");
    assert!(
        pending.contains("2010-05-22 00:43:53 UTC (02:43:53 CEST)"),
        "{pending}"
    );
}

#[test]
fn export_since_a_position_is_json_lines() {
    let sandbox = loaded();
    let all = sandbox.ledger().arg("export").run().success().json_lines();
    let tail = sandbox
        .ledger()
        .args(["export", "--since", "10"])
        .run()
        .success()
        .json_lines();
    assert_eq!(tail.len(), all.len() - 9);
    assert_eq!(tail[0]["seq"], 10);
}

#[test]
fn rebuild_verify_and_stats() {
    let sandbox = loaded();
    let before = sandbox.ok_json(["--json", "orders"]);
    let rebuilt = sandbox.ok_json(["--json", "rebuild"]);
    assert!(
        rebuilt["events"].as_u64().is_some_and(|n| n > 17),
        "{rebuilt:#}"
    );
    let after = sandbox.ok_json(["--json", "orders"]);
    assert_eq!(
        before, after,
        "a rebuild from the log gives the projections that were kept"
    );

    let verify = sandbox.ok_json(["--json", "verify"]);
    assert_eq!(verify["clean"], true, "{verify:#}");
    let human = sandbox.ledger().arg("verify").run().success().stdout();
    assert!(human.contains("match a fresh fold of the log"), "{human}");

    let stats = sandbox.ok_json(["--json", "stats"]);
    assert_eq!(stats["events"], rebuilt["events"]);
    assert!(stats["disk_bytes"].as_u64().is_some_and(|b| b > 0));
    let human = sandbox.ledger().arg("stats").run().success().stdout();
    assert!(human.contains("events"), "{human}");
}

#[test]
fn inventory_and_rebuild_for_people() {
    let sandbox = loaded();
    let inventory = sandbox.ledger().arg("inventory").run().success().stdout();
    assert!(inventory.starts_with("domains that left ("), "{inventory}");
    assert!(
        inventory.contains("example.org") && inventory.contains("auto_ack"),
        "{inventory}"
    );
    assert!(inventory.contains("OwnerC imports ("), "{inventory}");
    assert!(
        inventory.contains("12345"),
        "the new owner-c of the guide's import: {inventory}"
    );
    let rebuilt = sandbox.ledger().arg("rebuild").run().success().stdout();
    assert!(
        rebuilt.starts_with("rebuilt every projection from "),
        "{rebuilt}"
    );
}

#[test]
fn empty_answers_say_so() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("autodns/seed/06-0101-create-success.eml"))
        .run()
        .success();
    let failed = sandbox
        .ledger()
        .arg("failed-creates")
        .run()
        .success()
        .stdout();
    assert_eq!(failed, "no failed creates\n");
    let rejects = sandbox.ledger().arg("rejects").run().success().stdout();
    assert_eq!(rejects, "no rejected input\n");
    let pending = sandbox.ok_json(["--json", "pending-transfers"]);
    assert_eq!(pending, serde_json::json!([]));
}

/// A pending transfer whose deadline nobody can tell (a CentralNic FOREIGN_TRANSFER_PENDING
/// carries no timetable) is listed by any `--due-within` and trips `--fail-if-due-within`:
/// the reseller must act, and silence is the wrong default.
#[test]
fn an_unknown_deadline_is_listed_and_alarms() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture(
            "centralnic/own_statusevent_foreign_transfer_pending_no_dates.txt",
        ))
        .run()
        .success();
    let at = "2024-03-02 12:00";

    let listed = sandbox.ok_json([
        "--json",
        "pending-transfers",
        "--at",
        at,
        "--due-within",
        "1h",
    ]);
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["domain"], "example-away.com");
    assert_eq!(listed[0]["deadline_at"], Value::Null);
    assert_eq!(listed[0]["flags"], serde_json::json!(["deadline_unknown"]));

    let table = sandbox.ok_stdout(["pending-transfers", "--at", at, "--due-within", "90m"]);
    assert!(
        table.contains("example-away.com") && table.contains("deadline unknown"),
        "{table}"
    );

    sandbox
        .ledger()
        .args([
            "pending-transfers",
            "--at",
            at,
            "--fail-if-due-within",
            "1h",
        ])
        .run()
        .expect_code(2)
        .expect_stderr("example-away.com: deadline unknown");
}

/// A CentralNic `FOREIGN_TRANSFER_PENDING` event with its dates: `execute date` is the deadline
/// (the registry approves an unanswered transfer, the domain leaves), `requested date` the start.
#[test]
fn a_centralnic_foreign_transfer_has_its_execute_date_as_deadline() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture(
            "centralnic/own_statusevent_foreign_transfer_pending.txt",
        ))
        .run()
        .success();
    let listed = sandbox.ok_json(["--json", "pending-transfers", "--at", "2024-03-02 12:00"]);
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["domain"], "example-away.com");
    assert_eq!(listed[0]["started_at"], "2024-03-01T09:15:00Z");
    assert_eq!(listed[0]["deadline_at"], "2024-03-06T09:15:00Z");
    assert_eq!(listed[0]["default_action"], "ack");
    assert_eq!(listed[0]["flags"], serde_json::json!([]));
    // Four days before the deadline: not due within a day, due within five.
    let within = |window: &str| {
        sandbox
            .ok_json([
                "--json",
                "pending-transfers",
                "--at",
                "2024-03-02 12:00",
                "--due-within",
                window,
            ])
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!((within("1d"), within("5d")), (0, 1));
}
