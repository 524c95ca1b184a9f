//! The whole seed guide (seed 003): ingest every example as a mail, then check each order's
//! history, the pending transfers at a fixed instant and the failed creates.

use serde_json::Value;

use crate::harness::{Sandbox, fixture};

fn seeded() -> Sandbox {
    let sandbox = Sandbox::new();
    let done = sandbox
        .ledger()
        .args(["--json", "ingest"])
        .arg(fixture("autodns/seed"))
        .run();
    // The directory holds a README beside the 17 mails: it is rejected (and kept), not dropped.
    let summary = done.expect_code(3).json();
    assert_eq!(summary["ingested"], 17, "{summary:#}");
    assert_eq!(summary["duplicates"], 0);
    assert_eq!(summary["rejected"], 1);
    sandbox
}

fn kinds(show: &Value) -> Vec<String> {
    show["events"]
        .as_array()
        .expect("events array")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_string())
        .collect()
}

#[test]
fn every_order_of_the_guide_has_its_history_and_state() {
    let sandbox = seeded();
    // (ctid, kinds oldest first, order state, last status code)
    let cases: &[(&str, &[&str], &str, &str)] = &[
        ("bf296d8dffc4", &["domain_created"], "succeeded", "S0101"),
        ("201005061621", &["domain_create_failed"], "failed", "E0101"),
        ("4bed8920b56fb", &["domain_updated"], "succeeded", "S0102"),
        ("bed7c6845726", &["domain_update_failed"], "failed", "E0102"),
        ("qs1282921089", &["authinfo_deleted"], "succeeded", "S0102"),
        ("29a489dadaf0", &["domain_deleted"], "succeeded", "S0103"),
        (
            "e3ec9bc8ec70",
            &["transfer_in_nacked"],
            "failed",
            "E0104001",
        ),
    ];
    for (ctid, expected_kinds, state, code) in cases {
        let show = sandbox.ok_json(["--json", "show", "--ctid", ctid]);
        assert_eq!(show["ctid"], *ctid);
        assert_eq!(kinds(&show), *expected_kinds, "ctid {ctid}");
        assert_eq!(
            show["state"]["state"], *state,
            "ctid {ctid}: {:#}",
            show["state"]
        );
        assert_eq!(show["state"]["last_status"]["code"], *code, "ctid {ctid}");
    }
}

#[test]
fn the_transfer_in_order_collects_start_autoupdates_and_acks() {
    let sandbox = seeded();
    let show = sandbox.ok_json(["--json", "show", "--ctid", "q1273s146x50"]);
    let mut got = kinds(&show);
    got.sort();
    assert_eq!(
        got,
        [
            "domain_updated",
            "ownerc_imported",
            "transfer_in_acked",
            "transfer_in_acked",
            "transfer_in_started"
        ]
    );
    assert_eq!(show["state"]["state"], "succeeded");
    let import = show["events"]
        .as_array()
        .and_then(|events| events.iter().find(|e| e["kind"] == "ownerc_imported"))
        .expect("an ownerc_imported event");
    assert_eq!(import["owner_c"], "12345");
    assert_eq!(import["domain"], "test.es");
    assert_eq!(import["notices"][0]["code"], "MSG01050");
    // The event carries the contract's keys.
    for key in [
        "seq",
        "kind",
        "provider",
        "ctid",
        "domain",
        "task",
        "status",
        "notices",
        "occurred_at",
        "recorded_at",
        "source",
    ] {
        assert!(
            import.get(key).is_some(),
            "event JSON lacks {key}: {import:#}"
        );
    }
    assert_eq!(import["status"]["class"], "success");
    assert_eq!(import["source"]["sha256"].as_str().map(str::len), Some(64));
    assert!(
        import["source"]["message_id"]
            .as_str()
            .is_some_and(|m| !m.contains('<'))
    );
}

#[test]
fn pending_transfers_at_a_fixed_instant() {
    let sandbox = seeded();
    let pending = sandbox.ok_json([
        "--json",
        "pending-transfers",
        "--at",
        "2010-05-18T12:00:00Z",
    ]);
    let pending = pending.as_array().expect("array");
    assert_eq!(pending.len(), 1, "{pending:#?}");
    let t = &pending[0];
    assert_eq!(t["domain"], "example.com");
    assert_eq!(t["transaction"], "1234");
    // kk_* times are Berlin wall-clock time: CEST, UTC+2, in May 2010.
    assert_eq!(t["started_at"], "2010-05-17T06:43:53Z");
    assert_eq!(t["reminder_at"], "2010-05-20T06:43:53Z");
    assert_eq!(t["deadline_at"], "2010-05-22T00:43:53Z");
    assert_eq!(t["default_action"], "nack");
    assert_eq!(t["end_at"], "2010-05-22T06:43:53Z");
    assert_eq!(t["overdue"], false);

    // After the deadline it is overdue, and the monitoring flag fires.
    let late = sandbox
        .ledger()
        .args([
            "--json",
            "pending-transfers",
            "--at",
            "2010-05-22T01:00:00Z",
            "--fail-if-due-within",
            "1h",
        ])
        .run()
        .expect_code(2)
        .json();
    assert_eq!(late[0]["overdue"], true);

    // A day before the deadline, a 12-hour window is quiet and a 2-day window fires.
    sandbox
        .ledger()
        .args([
            "pending-transfers",
            "--at",
            "2010-05-21 02:00",
            "--fail-if-due-within",
            "12h",
        ])
        .run()
        .success();
    sandbox
        .ledger()
        .args([
            "pending-transfers",
            "--at",
            "2010-05-21 02:00",
            "--fail-if-due-within",
            "2days",
        ])
        .run()
        .expect_code(2);
}

#[test]
fn failed_creates_of_the_guide() {
    let sandbox = seeded();
    let failed = sandbox.ok_json(["--json", "failed-creates"]);
    let failed = failed.as_array().expect("array");
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["ctid"], "201005061621");
    assert_eq!(failed[0]["status"]["code"], "E0101");
    assert_eq!(failed[0]["domain"], Value::Null);
}

#[test]
fn domains_that_left_and_ownerc_imports() {
    let sandbox = seeded();
    let inventory = sandbox.ok_json(["--json", "inventory"]);
    let mut departed: Vec<(String, String)> = inventory["departed"]
        .as_array()
        .expect("departed")
        .iter()
        .map(|d| {
            (
                d["domain"].as_str().unwrap_or_default().into(),
                d["reason"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    departed.sort();
    assert_eq!(
        departed,
        [
            ("example.at".to_string(), "answered_ack".to_string()),
            ("example.org".to_string(), "auto_ack".to_string())
        ]
    );
    let imports = inventory["owner_c_imports"].as_array().expect("imports");
    assert!(
        imports
            .iter()
            .any(|i| i["owner_c"] == "12345" && i["domain"] == "test.es"),
        "{imports:#?}"
    );
}

#[test]
fn the_mislabelled_delete_failed_example_is_a_transfer_in_start() {
    let sandbox = seeded();
    let export = sandbox
        .ledger()
        .args(["export"])
        .run()
        .success()
        .json_lines();
    let mislabelled = export
        .iter()
        .find(|e| {
            e["source"]["origin"]
                .as_str()
                .is_some_and(|o| o.contains("12-0104-transfer-in-start"))
        })
        .expect("the 12-… mail was ingested");
    assert_eq!(mislabelled["kind"], "transfer_in_started");
    assert_eq!(mislabelled["status"]["code"], "S0104");
    // Positions are gap-free from 1.
    let seqs: Vec<u64> = export.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert_eq!(seqs, (1..=17).collect::<Vec<u64>>());
}
