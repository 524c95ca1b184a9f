//! `ledger serve`'s fetchers through the real binary: the AutoDNS poll queue drained inside the
//! server (against the local AutoDNS server of `autodns.rs`), a Maildir delivery ingested while
//! the server runs, and SIGTERM stopping the server with its workers joined.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::autodns::{AutoDns, PASSWORD, USER, fixture_messages, ids};
use crate::harness::{Sandbox, fixture};
use crate::serve::Server;

/// Starts `ledger --db SANDBOX serve --listen 127.0.0.1:0 ARGS…` with `env` set and waits for
/// the address it prints.
fn start(sandbox: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Server {
    Server::start_with_env(sandbox, "127.0.0.1:0", env, args)
}

/// Waits (`limit` at most) until `done` holds; false when it never did.
fn within(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn events(sandbox: &Sandbox) -> u64 {
    sandbox.ok_json(["--json", "stats"])["events"]
        .as_u64()
        .expect("stats.events")
}

/// The poll flags against `server`, every `every`.
fn poll_flags(server: &AutoDns, every: &str) -> Vec<String> {
    [
        "--poll-autodns-user",
        USER,
        "--poll-autodns-endpoint",
        &server.endpoint(),
        "--poll-autodns-context",
        "4",
        "--poll-autodns-every",
        every,
    ]
    .map(String::from)
    .to_vec()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn serve_drains_the_autodns_queue_each_message_ingested_and_confirmed_once() {
    let messages = fixture_messages();
    let autodns = AutoDns::start(messages.clone());
    let sandbox = Sandbox::new();
    let password = sandbox.write("autodns.password", format!("{PASSWORD}\n"));
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let mut args = poll_flags(&autodns, "1s");
    args.push("--autodns-password-file".into());
    args.push(password.display().to_string());
    let server = start(&sandbox, &strs(&args), &[]);
    // The drain ends when the queue is found empty, and says what it did.
    server.wait_stderr("poll-autodns: 10 messages committed and confirmed (9 new, 0 duplicates, 1 rejected); 0 left");
    // Every message confirmed once, in order, each only after its commit: the events are
    // there, read through the running server.
    autodns.with(|q| {
        assert_eq!(q.confirmed, ids(&messages));
        assert!(q.faults.is_empty(), "{:?}", q.faults);
        assert!(q.requests.iter().any(|r| r.3 == 429), "no 429 was tried");
    });
    assert_eq!(events(&sandbox), 9);
    let rejects = sandbox.ok_json(["--json", "rejects"]);
    assert_eq!(rejects.as_array().map(Vec::len), Some(1), "{rejects:#}");
    assert_eq!(rejects[0]["origin"], "poll/autodns/1099", "{rejects:#}");
    let shown = sandbox.ok_json(["--json", "show", "--ctid", "order-2024-000093"]);
    assert!(shown.to_string().contains("order-2024-000093"), "{shown:#}");
    assert_eq!(
        server.metric(r#"ledger_fetched_total{source="poll-autodns",outcome="ingested"}"#),
        9.0
    );
    assert_eq!(
        server.metric(r#"ledger_fetched_total{source="poll-autodns",outcome="rejected"}"#),
        1.0
    );
    // A message queued later is fetched at the next interval, once.
    let late = messages[0].clone();
    autodns.with(|q| q.messages.push_back(late.clone()));
    assert!(
        within(Duration::from_secs(30), || autodns
            .with(|q| q.messages.is_empty())),
        "the late message was not drained:\n{}",
        server.stderr()
    );
    assert_eq!(
        server.metric(r#"ledger_fetched_total{source="poll-autodns",outcome="duplicate"}"#),
        1.0
    );
    assert_eq!(events(&sandbox), 9);
    let (status, stderr) = server.stop();
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains("poll-autodns: 1 messages committed and confirmed (0 new, 1 duplicates"),
        "{stderr}"
    );
    autodns.with(|q| {
        let mut expected = ids(&messages);
        expected.push(late["id"].to_string());
        assert_eq!(q.confirmed, expected, "each confirmed once");
    });
    sandbox.ledger().arg("verify").run().success();
}

#[test]
fn a_refused_login_stops_the_poll_worker_not_the_server() {
    let autodns = AutoDns::start(fixture_messages());
    let sandbox = Sandbox::new();
    let args = poll_flags(&autodns, "1s");
    let server = start(
        &sandbox,
        &strs(&args),
        &[("LEDGER_AUTODNS_PASSWORD", "wrong")],
    );
    server.wait_stderr("poll-autodns: ended");
    let stderr = server.stderr();
    assert!(
        stderr.contains(
            "poll-autodns: AutoDNS refused the login of user \"reseller\" in context 4 (401 \
             Unauthorized)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("this fetcher stops"), "{stderr}");
    // The server goes on.
    assert!(server.get("/healthz").contains("ok"));
    assert_eq!(
        server.metric(r#"ledger_fetch_errors_total{source="poll-autodns"}"#),
        1.0
    );
    std::thread::sleep(Duration::from_millis(1500));
    autodns.with(|q| {
        assert_eq!(q.requests.len(), 1, "a 401 is not retried");
        assert!(q.confirmed.is_empty());
    });
    let (status, stderr) = server.stop();
    assert!(status.success(), "{status}: {stderr}");
}

#[test]
fn serve_without_the_autodns_password_is_refused_at_start() {
    let autodns = AutoDns::start(Vec::new());
    let sandbox = Sandbox::new();
    let mut command = sandbox.ledger().args(["serve", "--listen", "127.0.0.1:0"]);
    for arg in poll_flags(&autodns, "60s") {
        command = command.arg(arg);
    }
    command
        .run()
        .expect_code(1)
        .expect_stderr("--poll-autodns-user needs the AutoDNS password");
    sandbox
        .ledger()
        .args(["serve", "--listen", "127.0.0.1:0", "--maildir"])
        .arg(sandbox.path("nowhere"))
        .run()
        .expect_code(1)
        .expect_stderr("is not a Maildir");
    sandbox
        .ledger()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--imap",
            "ftp://robot@mail.example/INBOX",
        ])
        .run()
        .expect_code(1)
        .expect_stderr("--imap: ");
    // Refused before the ledger was opened: nothing was made.
    assert!(!sandbox.db().exists());
}

/// A Maildir under the sandbox: `new/`, `cur/`, `tmp/`.
fn maildir(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.path("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).expect("making the Maildir");
    }
    dir
}

/// Delivers `bytes` as a mail delivery agent does: written to `tmp/`, renamed into `new/`.
fn deliver(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join("tmp").join(name);
    std::fs::write(&tmp, bytes).expect("writing into tmp/");
    std::fs::rename(&tmp, dir.join("new").join(name)).expect("renaming into new/");
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("reading a Maildir folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn a_maildir_delivery_is_ingested_while_serve_runs_and_moved_to_cur() {
    let sandbox = Sandbox::new();
    let dir = maildir(&sandbox);
    let mail = std::fs::read(fixture("autodns/text/de-0101-latin1.eml")).expect("a fixture");
    let other = std::fs::read(fixture("autodns/text/ref-1403-start-text.txt")).expect("a fixture");
    // Delivered while the server was down: read at start.
    deliver(&dir, "1000.M1P1.host", &other);
    let server = start(&sandbox, &["--maildir", &dir.display().to_string()], &[]);
    assert!(
        within(Duration::from_secs(10), || names(&dir.join("cur"))
            == ["1000.M1P1.host:2,S"]),
        "the waiting mail was not read at start:\n{}",
        server.stderr()
    );
    assert_eq!(events(&sandbox), 1);

    // A delivery while serve runs: in the ledger within 2 s, then in cur/ marked seen.
    let delivered = Instant::now();
    deliver(&dir, "1001.M2P1.host", &mail);
    assert!(
        within(Duration::from_secs(2), || events(&sandbox) == 2),
        "not ingested within 2 s:\n{}",
        server.stderr()
    );
    eprintln!("a delivery ingested in {:?}", delivered.elapsed());
    assert!(
        within(Duration::from_secs(5), || names(&dir.join("cur")).len()
            == 2),
        "{:?}",
        names(&dir.join("cur"))
    );
    assert_eq!(
        names(&dir.join("cur")),
        ["1000.M1P1.host:2,S", "1001.M2P1.host:2,S"]
    );
    assert!(names(&dir.join("new")).is_empty());

    // The same mail again (another file): a duplicate, moved all the same.
    deliver(&dir, "1002.M3P1.host", &mail);
    // A file that is no notification: kept as a reject, moved all the same.
    deliver(
        &dir,
        "1003.M4P1.host",
        &std::fs::read(fixture("bad/no-notification.eml")).expect("a fixture"),
    );
    assert!(
        within(Duration::from_secs(5), || names(&dir.join("new"))
            .is_empty()),
        "{:?}\n{}",
        names(&dir.join("new")),
        server.stderr()
    );
    assert_eq!(names(&dir.join("cur")).len(), 4);
    assert_eq!(events(&sandbox), 2);
    assert_eq!(
        server.metric(r#"ledger_fetched_total{source="maildir",outcome="duplicate"}"#),
        1.0
    );
    assert_eq!(
        server.metric(r#"ledger_fetched_total{source="maildir",outcome="rejected"}"#),
        1.0
    );
    let rejects = sandbox.ok_json(["--json", "rejects"]);
    assert_eq!(
        rejects[0]["origin"], "maildir/1003.M4P1.host",
        "{rejects:#}"
    );

    // A file that cannot be read (a link that leads nowhere: root reads any file) is said
    // once, counted, and left in new/.
    std::os::unix::fs::symlink(dir.join("gone"), dir.join("new").join("1005.M6P1.host"))
        .expect("a dangling link");
    server.wait_stderr("cannot read");
    deliver(&dir, "1006.M7P1.host", &mail);
    assert!(
        within(Duration::from_secs(5), || names(&dir.join("cur")).len()
            == 5),
        "{}",
        server.stderr()
    );
    assert_eq!(names(&dir.join("new")), ["1005.M6P1.host"]);
    assert_eq!(
        server.stderr().matches("cannot read").count(),
        1,
        "{}",
        server.stderr()
    );
    assert_eq!(
        server.metric(r#"ledger_fetch_errors_total{source="maildir"}"#),
        1.0
    );
    std::fs::remove_file(dir.join("new").join("1005.M6P1.host")).expect("removing the link");
    let (status, stderr) = server.stop();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("maildir: stopped"), "{stderr}");

    // A restart reads only what new/ holds (one more copy: a duplicate), not cur/ again.
    deliver(&dir, "1004.M5P1.host", &mail);
    let server = start(&sandbox, &["--maildir", &dir.display().to_string()], &[]);
    assert!(
        within(Duration::from_secs(10), || names(&dir.join("new"))
            .is_empty()),
        "{}",
        server.stderr()
    );
    assert_eq!(
        server.metric(r#"ledger_fetched_total{source="maildir",outcome="duplicate"}"#),
        1.0
    );
    assert_eq!(
        server.metric(r#"ledger_fetched_total{source="maildir",outcome="ingested"}"#),
        0.0
    );
    let (status, stderr) = server.stop();
    assert!(status.success(), "{status}: {stderr}");
    assert_eq!(events(&sandbox), 2);
    assert_eq!(names(&dir.join("cur")).len(), 6);
    sandbox.ledger().arg("verify").run().success();
}

#[test]
fn sigterm_stops_serve_with_its_workers_joined_while_a_poll_interval_sleeps() {
    let autodns = AutoDns::start(Vec::new());
    autodns.with(|q| q.flaky = false);
    let sandbox = Sandbox::new();
    let dir = maildir(&sandbox);
    let mut args = poll_flags(&autodns, "1h");
    args.push("--maildir".into());
    args.push(dir.display().to_string());
    let server = start(
        &sandbox,
        &strs(&args),
        &[("LEDGER_AUTODNS_PASSWORD", PASSWORD)],
    );
    // The first drain found the queue empty: the worker sleeps its hour.
    assert!(
        within(Duration::from_secs(30), || autodns
            .with(|q| !q.requests.is_empty())),
        "{}",
        server.stderr()
    );
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    let (status, stderr) = server.stop();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        asked.elapsed() < Duration::from_secs(30),
        "{:?}",
        asked.elapsed()
    );
    // Both workers ended before the server said it stopped.
    let end = stderr
        .find("stopped: every request in flight was answered")
        .unwrap_or_else(|| panic!("{stderr}"));
    for worker in ["poll-autodns: stopped", "maildir: stopped"] {
        let at = stderr.find(worker).unwrap_or_else(|| panic!("{stderr}"));
        assert!(at < end, "{stderr}");
    }
    autodns.with(|q| assert_eq!(q.requests.len(), 1, "{:?}", q.requests.len()));
}

/// A write that cannot be kept (a file where the packs' directory goes) acknowledges nothing:
/// the poll message stays queued and the mail stays in new/; once the ledger can write again,
/// both fetchers catch up on their own, and every message is confirmed once.
#[test]
fn a_write_that_cannot_be_kept_acknowledges_nothing_and_the_fetchers_catch_up() {
    let messages = fixture_messages()[..2].to_vec();
    let autodns = AutoDns::start(messages.clone());
    autodns.with(|q| q.flaky = false);
    let sandbox = Sandbox::new();
    sandbox.ledger().arg("init").run().success();
    let in_the_way = sandbox.db().join("raw");
    std::fs::write(&in_the_way, b"in the way").expect("a file");
    let dir = maildir(&sandbox);
    let mail = std::fs::read(fixture("autodns/text/de-0101-latin1.eml")).expect("a fixture");
    let mut args = poll_flags(&autodns, "1s");
    args.push("--maildir".into());
    args.push(dir.display().to_string());
    let server = start(
        &sandbox,
        &strs(&args),
        &[("LEDGER_AUTODNS_PASSWORD", PASSWORD)],
    );
    deliver(&dir, "2000.M1P1.host", &mail);
    server.wait_stderr("maildir: cannot commit");
    server.wait_stderr("(message not confirmed: it stays in the AutoDNS queue)");
    assert_eq!(names(&dir.join("new")), ["2000.M1P1.host"]);
    autodns.with(|q| assert!(q.confirmed.is_empty()));
    assert!(server.metric(r#"ledger_fetch_errors_total{source="poll-autodns"}"#) >= 1.0);
    assert!(server.metric(r#"ledger_fetch_errors_total{source="maildir"}"#) >= 1.0);

    std::fs::remove_file(&in_the_way).expect("clearing the way");
    assert!(
        within(Duration::from_secs(60), || autodns
            .with(|q| q.messages.is_empty())
            && names(&dir.join("new")).is_empty()),
        "the fetchers did not catch up:\n{}",
        server.stderr()
    );
    autodns.with(|q| assert_eq!(q.confirmed, ids(&messages), "each confirmed once"));
    assert_eq!(names(&dir.join("cur")), ["2000.M1P1.host:2,S"]);
    assert_eq!(events(&sandbox), 3);
    let (status, stderr) = server.stop();
    assert!(status.success(), "{status}: {stderr}");
    sandbox.ledger().arg("verify").run().success();
}
