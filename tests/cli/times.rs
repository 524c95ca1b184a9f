//! Times that are not what they seem: wall-clock times in a DST gap or overlap of the source
//! zone, and items without a time of their own (a mail without `Date`).

use serde_json::{Value, json};

use crate::harness::{Sandbox, fixture};

fn ingested(dir: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture(dir))
        .run()
        .success();
    sandbox
}

/// The pending transfer of `domain` at `at`, from `pending-transfers --json`.
fn pending(sandbox: &Sandbox, at: &str, domain: &str) -> Option<Value> {
    let listed = sandbox.ok_json(["--json", "pending-transfers", "--at", at]);
    listed
        .as_array()
        .expect("an array")
        .iter()
        .find(|t| t["domain"] == domain)
        .cloned()
}

/// A text `kk_start` in the spring gap (2026-03-29 02:30 never happened in Berlin), a text
/// `kk_autonack` and an XML `<autonack>` in the autumn overlap (2026-10-25 02:30 happened
/// twice): each is converted as documented, and flagged on the pending transfer and on its
/// event, in JSON and for people, and said in a diagnostic.
#[test]
fn dst_gap_and_overlap_are_flagged_in_every_format() {
    let sandbox = ingested("autodns/dst");

    let gap = pending(&sandbox, "2026-03-30T12:00:00Z", "gap.example").expect("gap pending");
    // Read one hour later: 03:30 CEST.
    assert_eq!(gap["started_at"], "2026-03-29T01:30:00Z");
    assert_eq!(gap["flags"], json!(["dst_gap"]));

    let at = "2026-10-21T12:00:00Z";
    let text = pending(&sandbox, at, "overlap.example").expect("text overlap pending");
    // The earlier instant: 02:30 CEST.
    assert_eq!(text["deadline_at"], "2026-10-25T00:30:00Z");
    assert_eq!(text["flags"], json!(["dst_overlap"]));
    let xml = pending(&sandbox, at, "overlap-xml.example").expect("XML overlap pending");
    assert_eq!(xml["deadline_at"], "2026-10-25T00:45:00Z");
    assert_eq!(xml["flags"], json!(["dst_overlap"]));

    let table = sandbox.ok_stdout(["pending-transfers", "--at", at]);
    let row = |domain: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{domain} ")))
            .unwrap_or_else(|| panic!("no row for {domain}: {table}"))
            .to_string()
    };
    assert!(row("gap.example").contains("DST gap"), "{table}");
    assert!(row("overlap.example").contains("DST overlap"), "{table}");
    assert!(!row("gap.example").contains("DST overlap"), "{table}");

    let shown = sandbox.ok_json(["--json", "show", "--domain", "overlap.example"]);
    let event = &shown["events"][0];
    assert_eq!(event["flags"], json!(["dst_overlap"]));
    let diagnostics = event["diagnostics"].to_string();
    assert!(
        diagnostics.contains("kk_autonack \\\"2026-10-25 02:30:00\\\" occurs twice"),
        "{diagnostics}"
    );
    let human = sandbox.ok_stdout(["show", "--domain", "gap.example"]);
    let history = human.lines().last().expect("a history row");
    assert!(history.contains("DST gap"), "{human}");
}

/// A start whose mail has no `Date` and whose timetable has no `kk_start` has no time of its
/// own: it is ordered by when it was recorded and says so ("time: recorded"), and the dated
/// AUTO-ACK that ended it ends it, so the domain is departed and not pending, in whichever
/// order the two arrive. An undated start with no departure stays pending, flagged.
#[test]
fn an_undated_start_is_shown_as_recorded_and_never_leaves_a_departed_domain_pending() {
    let sandbox = ingested("autodns/undated");
    let later = "2026-12-31T00:00:00Z";
    assert_eq!(pending(&sandbox, later, "left.example"), None);
    let state = sandbox.ok_json(["--json", "show", "--domain", "left.example"]);
    assert_eq!(state["state"]["in_inventory"], false, "{state:#}");
    assert_eq!(state["state"]["departed"]["reason"], "auto_ack");
    assert_eq!(state["state"]["pending_transfer"], Value::Null);
    let start = state["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "transfer_out_started")
        .expect("the start is kept")
        .clone();
    assert_eq!(start["time_source"], "recorded");
    assert_eq!(start["occurred_at"], Value::Null);
    assert_eq!(start["flags"], json!(["time_recorded"]));
    let human = sandbox.ok_stdout(["show", "--domain", "left.example"]);
    assert!(human.contains("(time: recorded)"), "{human}");

    let stays = pending(&sandbox, later, "stays.example").expect("stays pending");
    assert_eq!(stays["flags"], json!(["time_recorded"]));
    assert_eq!(stays["time_source"], "recorded");
    let table = sandbox.ok_stdout(["pending-transfers", "--at", later]);
    assert!(table.contains("time: recorded"), "{table}");

    // The other order: the AUTO-ACK first, the undated start in a later run.
    let apart = Sandbox::new();
    for item in [
        "autodns/undated/02-1403008-autoack-dated.eml",
        "autodns/undated/01-1403-start-no-date-no-kk_start.eml",
    ] {
        apart
            .ledger()
            .arg("ingest")
            .arg(fixture(item))
            .run()
            .success();
    }
    assert_eq!(pending(&apart, later, "left.example"), None);
    apart.ledger().arg("verify").run().success();
}
