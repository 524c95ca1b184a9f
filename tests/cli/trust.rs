//! Trusted senders: a forged notification changes nothing until a person releases it.

use crate::harness::{Sandbox, fixture};

const POLICY: &str = "# Only AutoDNS's robots, with a passing DKIM/SPF result from our own server.\n\
                      sender autodns.example\n\
                      require-authentication\n\
                      authserv-id mail.reseller.example\n";

#[test]
fn a_forged_sender_is_kept_as_untrusted_and_released_by_a_person() {
    let sandbox = Sandbox::new();
    let policy = sandbox.write("trust.conf", POLICY);
    let genuine = std::fs::read_to_string(fixture("autodns/seed/05-1403-transfer-out-start.eml"))
        .expect("fixture");
    // Someone forges an AUTO-ACK for the same domain, so that it would look gone.
    let forged =
        std::fs::read_to_string(fixture("autodns/seed/01-1403008-transfer-out-autoack.eml"))
            .expect("fixture")
            .replace(
                "From: AutoDNS Robot <Robot@AutoDNS.example>",
                "From: AutoDNS <robot@autodns-support.example>",
            )
            .replace("example.org", "example.com")
            .replace(
                "Date: Sun, 16 May 2010 19:43:30 +0200",
                "Date: Tue, 18 May 2010 09:00:00 +0200",
            )
            .replace(
                "Authentication-Results: mail.reseller.example;",
                "Authentication-Results: mx.autodns-support.example;",
            );
    assert!(
        forged.contains("autodns-support.example"),
        "the fixture's From line changed"
    );
    sandbox.write("in/1-genuine.eml", &genuine);
    sandbox.write("in/2-forged.eml", &forged);

    let summary = sandbox
        .ledger()
        .arg("--trust-policy")
        .arg(&policy)
        .args(["--json", "ingest"])
        .arg(sandbox.path("in"))
        .run()
        .expect_code(3)
        .json();
    assert_eq!(summary["ingested"], 1);
    assert_eq!(summary["rejected"], 1);
    let reason = summary["items"][1]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(reason.starts_with("untrusted sender"), "{reason}");

    // The forged close changed no projection: the transfer is still pending.
    let at = [
        "--json",
        "pending-transfers",
        "--at",
        "2010-05-18T12:00:00Z",
    ];
    let pending = sandbox.ok_json(at);
    assert_eq!(pending[0]["domain"], "example.com");

    let rejects = sandbox.ok_json(["--json", "rejects"]);
    assert!(
        rejects[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("untrusted")),
        "{rejects:#}"
    );
    let id = rejects[0]["id"].as_u64().expect("an id");

    // A person looks and vouches for it: now it counts.
    let released = sandbox.ok_stdout(["release", &id.to_string()]);
    assert!(released.contains("transfer_out_auto_acked"), "{released}");
    let pending = sandbox.ok_json(at);
    assert_eq!(pending.as_array().map(Vec::len), Some(0), "{pending:#}");
    let rejects = sandbox.ok_json(["--json", "rejects"]);
    assert_eq!(rejects.as_array().map(Vec::len), Some(0));
}

#[test]
fn a_policy_in_the_ledger_directory_applies_and_a_broken_one_is_refused() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("autodns/seed/06-0101-create-success.eml"))
        .run()
        .success();
    sandbox.write("ledger/trust.conf", "sender robot@autodns.example\n");
    // A bare body has no sender to check.
    let bare = sandbox.write(
        "bare.txt",
        "<system>\ntask: 0101\nstatus: S0101 [ok]\ntransaction: x1\n</system>\n",
    );
    let done = sandbox
        .ledger()
        .args(["--json", "ingest"])
        .arg(&bare)
        .run()
        .expect_code(3)
        .json();
    assert!(
        done["items"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("untrusted")),
        "{done:#}"
    );
    // The seed mail's sender is trusted by address, whatever its case.
    let ok = sandbox
        .ledger()
        .args(["--json", "ingest"])
        .arg(fixture("autodns/seed/07-0101-create-failed.eml"))
        .run()
        .success()
        .json();
    assert_eq!(ok["ingested"], 1);

    // A broken policy stops the writers (with where the fault is); readers warn and answer.
    sandbox.write("ledger/trust.conf", "sender\n");
    let broken = sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("autodns/seed/08-0102-update-success.eml"))
        .run()
        .expect_code(1);
    assert!(
        broken
            .stderr()
            .contains("trust.conf:1:1: sender needs a value"),
        "{}",
        broken.stderr()
    );
    let orders = sandbox.ledger().arg("orders").run().success();
    assert!(
        orders.stderr().starts_with("warning: trust policy ")
            && orders
                .stderr()
                .contains("trust.conf:1:1: sender needs a value"),
        "{}",
        orders.stderr()
    );
}
