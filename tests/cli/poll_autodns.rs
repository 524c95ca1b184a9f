//! `ledger poll autodns` through the real binary against the local AutoDNS poll server of
//! `autodns.rs` (the documented protocol, 429 and 503 now and then, one message that is neither
//! a job nor a notify).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::autodns::{AutoDns, PASSWORD, USER, fixture_messages, ids};
use crate::harness::Sandbox;

/// `ledger --json poll autodns --endpoint … --user …` with the password in the environment.
fn poll(sandbox: &Sandbox, server: &AutoDns, password: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ledger"));
    command
        .env_remove("LEDGER_DB")
        .env("LEDGER_AUTODNS_PASSWORD", password)
        .arg("--db")
        .arg(sandbox.db())
        .args(["--json", "poll", "autodns", "--endpoint"])
        .arg(server.endpoint())
        .args(["--user", USER, "--context", "4"]);
    command
}

/// No window of one second holds more than 3 requests.
fn assert_paced(requests: &[(Instant, String, String, u16)]) {
    for (i, (start, ..)) in requests.iter().enumerate() {
        let within = requests[i..]
            .iter()
            .take_while(|(at, ..)| *at < *start + Duration::from_secs(1))
            .count();
        assert!(within <= 3, "{within} requests within a second from #{i}");
    }
    // A 429 with Retry-After: 1 is honoured.
    for pair in requests.windows(2) {
        if pair[0].3 == 429 {
            let gap = pair[1].0 - pair[0].0;
            assert!(gap >= Duration::from_millis(990), "retried after {gap:?}");
        }
    }
}

#[test]
fn every_message_is_ingested_once_and_confirmed_once() {
    let messages = fixture_messages();
    let server = AutoDns::start(messages.clone());
    let sandbox = Sandbox::new();
    let output = poll(&sandbox, &server, PASSWORD).output().expect("running");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // One message is a reject (kept), so the exit status is 3, as for ingest.
    assert_eq!(output.status.code(), Some(3), "{stdout}\n{stderr}");
    let done: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(done["ingested"], 9, "{done:#}");
    assert_eq!(done["rejected"], 1, "{done:#}");
    assert_eq!(done["confirmed"], 10, "{done:#}");
    assert_eq!(done["left"], 0, "{done:#}");
    let reject = &done["items"][7];
    assert_eq!(reject["path"], "poll/autodns/1099");
    assert!(
        reject["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("neither a job nor a notify"),
        "{reject:#}"
    );
    // The summary counted down: 10 queued at the first fetch, 1 at the last.
    assert_eq!(done["items"][0]["summary"], 10);
    assert_eq!(done["items"][9]["summary"], 1);
    server.with(|q| {
        assert_eq!(q.confirmed, ids(&messages));
        assert!(q.faults.is_empty(), "{:?}", q.faults);
        assert!(q.requests.iter().any(|r| r.3 == 429), "no 429 was tried");
        assert!(q.requests.iter().any(|r| r.3 == 503), "no 503 was tried");
        assert_paced(&q.requests);
        let span = q.requests.last().expect("requests").0 - q.requests[0].0;
        let rate = (q.requests.len() - 1) as f64 / span.as_secs_f64();
        assert!(rate < 3.0, "{rate:.2} requests/s");
        eprintln!(
            "{} requests in {span:?}: {rate:.2}/s (429/503 retries included)",
            q.requests.len()
        );
    });
    let stats = sandbox.ok_json(["--json", "stats"]);
    assert_eq!(stats["events"], 9, "{stats:#}");
    let rejects = sandbox.ok_json(["--json", "rejects"]);
    assert_eq!(rejects.as_array().map(Vec::len), Some(1), "{rejects:#}");
    // An empty queue, as `data: []` this time: nothing to do, exit 0.
    server.with(|q| q.empty_as_array = true);
    let output = poll(&sandbox, &server, PASSWORD).output().expect("running");
    assert_eq!(output.status.code(), Some(0));
    let done: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(done["confirmed"], 0, "{done:#}");
    assert_eq!(done["left"], 0, "{done:#}");
}

#[test]
fn a_wrong_password_is_a_clear_error_and_confirms_nothing() {
    let messages = fixture_messages();
    let server = AutoDns::start(messages.clone());
    let sandbox = Sandbox::new();
    let output = poll(&sandbox, &server, "wrong").output().expect("running");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(
            "error: AutoDNS refused the login of user \"reseller\" in context 4 (401 Unauthorized)"
        ),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1
    );
    server.with(|q| {
        assert!(q.confirmed.is_empty());
        assert_eq!(q.messages.len(), messages.len());
        // A 401 is not retried.
        assert_eq!(q.requests.len(), 1, "{:?}", q.requests.len());
    });
}

#[test]
fn a_password_file_others_can_read_is_refused() {
    let server = AutoDns::start(Vec::new());
    let sandbox = Sandbox::new();
    let file = sandbox.write("autodns.password", format!("{PASSWORD}\n"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let mut command = poll(&sandbox, &server, "");
    command
        .env_remove("LEDGER_AUTODNS_PASSWORD")
        .arg("--password-file")
        .arg(&file);
    let output = command.output().expect("running");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is readable by every user"), "{stderr}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let output = command.output().expect("running");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    server.with(|q| assert!(q.faults.is_empty(), "{:?}", q.faults));
}

#[test]
fn a_kill_between_commit_and_confirm_leaves_the_message_queued_and_the_rerun_finds_a_duplicate() {
    let messages = fixture_messages();
    let server = AutoDns::start(messages.clone());
    let third = messages[2]["id"].to_string();
    server.with(|q| {
        q.stall_put_of = Some(third.clone());
        q.flaky = false;
    });
    let sandbox = Sandbox::new();
    let mut child = poll(&sandbox, &server, PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting");
    server.wait_stalled();
    // The third message is committed (its PUT went out only after), not confirmed: SIGKILL.
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    server.with(|q| {
        assert_eq!(q.confirmed, ids(&messages[..2]));
        assert_eq!(q.messages.len(), messages.len() - 2);
    });
    let stats = sandbox.ok_json(["--json", "stats"]);
    assert_eq!(stats["events"], 3, "{stats:#}");

    // The rerun: the third message comes again in another envelope (new stid, summary).
    server.with(|q| q.flaky = true);
    let output = poll(&sandbox, &server, PASSWORD).output().expect("running");
    let done: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(output.status.code(), Some(3), "{done:#}");
    assert_eq!(done["items"][0]["path"], format!("poll/autodns/{third}"));
    assert_eq!(done["items"][0]["outcome"], "duplicate", "{done:#}");
    assert_eq!(done["items"][0]["summary"], messages.len() - 2);
    assert_eq!(done["duplicates"], 1, "{done:#}");
    assert_eq!(done["ingested"], 6, "{done:#}");
    server.with(|q| {
        assert_eq!(q.confirmed, ids(&messages), "each confirmed once, in order");
        assert!(q.messages.is_empty());
    });
    let stats = sandbox.ok_json(["--json", "stats"]);
    assert_eq!(stats["events"], 9, "{stats:#}");
    sandbox.ledger().arg("verify").run().success();
}
