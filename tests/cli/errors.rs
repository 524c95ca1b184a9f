//! The errors a person will meet: one clear line each, a non-zero exit, no panic.

use std::time::Duration;

use crate::harness::{Sandbox, fixture};

#[track_caller]
fn assert_one_clear_line(stderr: &str, needle: &str) {
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.lines().next().is_some_and(|l| l.contains(needle)),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
}

#[test]
fn a_missing_path() {
    let sandbox = Sandbox::new();
    let done = sandbox
        .ledger()
        .args(["ingest", "/nonexistent/mails"])
        .run()
        .expect_code(1);
    assert_one_clear_line(
        &done.stderr(),
        "cannot read /nonexistent/mails: no such file or directory",
    );
    assert!(
        !sandbox.db().exists(),
        "no ledger is created for a run that cannot start"
    );
}

#[test]
fn reading_a_ledger_that_does_not_exist() {
    let sandbox = Sandbox::new();
    let done = sandbox
        .ledger()
        .arg("pending-transfers")
        .run()
        .expect_code(1);
    assert_one_clear_line(&done.stderr(), "no ledger at");
    done.expect_stderr("hint: run `ledger init` or `ledger ingest");
}

#[test]
fn an_unknown_zone_and_a_bad_instant() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("autodns/seed/05-1403-transfer-out-start.eml"))
        .run()
        .success();
    let cases: [(&[&str], &str); 3] = [
        (
            &["--source-tz", "Mars/Olympus", "pending-transfers"],
            "unknown time zone \"Mars/Olympus\"",
        ),
        (
            &["pending-transfers", "--at", "next tuesday"],
            "--at \"next tuesday\" is not an instant",
        ),
        (
            &["pending-transfers", "--due-within", "soonish"],
            "--due-within \"soonish\" is not a duration",
        ),
    ];
    for (args, message) in cases {
        let done = sandbox.ledger().args(args).run().expect_code(1);
        assert_one_clear_line(&done.stderr(), message);
    }
}

#[test]
fn a_usage_mistake_exits_64_not_2() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .args(["pending-transfers", "--no-such-flag"])
        .run()
        .expect_code(64)
        .expect_stderr("--no-such-flag");
}

/// An `--at` that never happened (inside the spring DST gap in the source zone) is refused with
/// exit 64; one that happened twice (the autumn overlap) is taken as the earlier, with a warning.
#[test]
fn an_at_inside_a_dst_gap_is_refused() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("autodns/seed"))
        .run()
        // The folder's README.md is no notification: kept as a reject.
        .expect_code(3);
    let done = sandbox
        .ledger()
        .args(["pending-transfers", "--at", "2026-03-29 02:30"])
        .run()
        .expect_code(64);
    assert_one_clear_line(
        &done.stderr(),
        "--at \"2026-03-29 02:30\" falls in a DST gap of Europe/Berlin",
    );
    sandbox
        .ledger()
        .args(["pending-transfers", "--at", "2026-10-25 02:30"])
        .run()
        .success()
        .expect_stderr("DST overlap); taking the earlier, 2026-10-25T00:30:00+00:00");
}

#[test]
fn a_directory_without_permission() {
    if is_root() {
        // Root reads every directory whatever its mode: nothing to see here.
        eprintln!("skipped: running as root");
        return;
    }
    let sandbox = Sandbox::new();
    let dir = sandbox.path("locked");
    std::fs::create_dir_all(&dir).expect("mkdir");
    set_mode(&dir, 0o000);
    let done = sandbox.ledger().arg("ingest").arg(&dir).run();
    set_mode(&dir, 0o755);
    let done = done.expect_code(1);
    assert_one_clear_line(&done.stderr(), "permission denied");
}

#[test]
fn a_ledger_held_by_another_running_ledger() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("autodns/seed/05-1403-transfer-out-start.eml"))
        .run()
        .success();
    // An ingest reading a slow standard input holds the ledger.
    let mut holder = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .arg("--db")
        .arg(sandbox.db())
        .args(["ingest", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting the holder");
    std::thread::sleep(Duration::from_millis(700));

    let done = sandbox.ledger().arg("orders").run().expect_code(1);
    assert_one_clear_line(&done.stderr(), "locked by another process");
    done.expect_stderr("--wait");

    // With --wait, the reader waits for the holder to finish.
    let stdin = holder.stdin.take();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        drop(stdin);
    });
    let waited = sandbox.ok_json(["--wait", "20s", "--json", "orders"]);
    release.join().expect("release thread");
    let _ = holder.wait();
    assert!(waited.as_array().is_some());
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
