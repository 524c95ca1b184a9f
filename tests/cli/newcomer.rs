//! The newcomer's first hour: short per-command help, durations that say their format and
//! refuse to be negative, a trust policy set before the first ingest, a typo in it, a ledger
//! that cannot be written, Ctrl-C during an ingest.

use crate::harness::{Sandbox, fixture};

#[test]
fn a_commands_help_lists_its_own_flags_and_names_the_global_ones_once() {
    let sandbox = Sandbox::new();
    for flag in ["--help", "-h"] {
        let help = sandbox
            .ledger()
            .args(["pending-transfers", flag])
            .run()
            .success()
            .stdout();
        assert!(help.contains("--due-within <DURATION>"), "{help}");
        assert!(
            !help.contains("--trust-policy <FILE>") && !help.contains("--source-tz <ZONE>"),
            "global flags are not listed again: {help}"
        );
        assert!(
            help.contains(
                "Global options (--db, --json, --source-tz, --trust-policy, --wait): see `ledger --help`"
            ),
            "{help}"
        );
    }
    let help = sandbox
        .ledger()
        .args(["help", "show"])
        .run()
        .success()
        .stdout();
    assert!(
        help.contains("--ctid <ID>") && !help.contains("--trust-policy <FILE>"),
        "{help}"
    );
    let top = sandbox.ledger().arg("--help").run().success().stdout();
    for flag in [
        "--db <PATH>",
        "--source-tz <ZONE>",
        "--json",
        "--trust-policy <FILE>",
        "--wait <DURATION>",
    ] {
        assert_eq!(top.matches(flag).count(), 1, "{flag} once in: {top}");
    }
    // The global flags are still accepted after a command's name.
    let done = sandbox
        .ledger()
        .args([
            "pending-transfers",
            "--json",
            "--source-tz",
            "UTC",
            "--wait",
            "1s",
        ])
        .run()
        .expect_code(1);
    assert!(done.stderr().contains("no ledger at"), "{}", done.stderr());
}

#[test]
fn durations_document_their_format() {
    let sandbox = Sandbox::new();
    let help = sandbox
        .ledger()
        .args(["pending-transfers", "--help"])
        .run()
        .success()
        .stdout()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(help.matches("`90m`, `48h`, `2d`").count(), 2, "{help}");
}

#[test]
fn a_negative_duration_is_one_clear_usage_error() {
    let sandbox = Sandbox::new();
    for args in [
        vec!["pending-transfers", "--due-within", "-5h"],
        vec!["pending-transfers", "--due-within=-5h"],
        vec!["pending-transfers", "--fail-if-due-within", "-2d"],
        vec!["pending-transfers", "--fail-if-due-within=-90m"],
    ] {
        let done = sandbox.ledger().args(&args).run().expect_code(64);
        let stderr = done.stderr();
        let flag = args[1].split('=').next().unwrap_or_default();
        assert!(
            stderr.starts_with(&format!("error: {flag} \"-")),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr
                .lines()
                .next()
                .is_some_and(|l| l.ends_with("a duration cannot be negative")),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("unexpected argument"), "{stderr}");
    }
}

/// The commands that only read, with the arguments to run them by: a fault in the trust
/// policy must not stop them.
const READERS: [&[&str]; 10] = [
    &["show", "--domain", "example.com"],
    &[
        "pending-transfers",
        "--at",
        "2010-05-21T12:00:00Z",
        "--fail-if-due-within",
        "48h",
    ],
    &["failed-creates", "--all"],
    &["orders"],
    &["inventory"],
    &["rejects"],
    &["verify"],
    &["stats", "--json"],
    &["export"],
    &["rebuild"],
];

/// Runs every reader; returns the exit status, stdout and stderr of each. With `warning`,
/// asserts that stderr starts with one line that starts so, and returns stderr without it.
#[track_caller]
fn run_readers(sandbox: &Sandbox, warning: Option<&str>) -> Vec<(i32, String, String)> {
    READERS
        .iter()
        .map(|args| {
            let done = sandbox.ledger().args(*args).run();
            let mut stderr = done.stderr();
            if let Some(warning) = warning {
                let (first, rest) = stderr.split_once('\n').unwrap_or((&stderr, ""));
                assert!(
                    first.starts_with(warning),
                    "{args:?}: {warning:?} not the start of: {stderr}"
                );
                stderr = rest.to_string();
            }
            // `stats` shows sizes, which a rebuild may change: keep only its event count;
            // `rebuild` says how long it took: keep what comes before.
            let stdout = match args[0] {
                "stats" => done.json()["events"].to_string(),
                "rebuild" => done
                    .stdout()
                    .split(" in ")
                    .next()
                    .unwrap_or_default()
                    .into(),
                _ => done.stdout(),
            };
            (done.code(), stdout, stderr)
        })
        .collect()
}

#[test]
fn a_fault_in_the_trust_policy_stops_the_writers_and_the_readers_warn() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("autodns/seed/05-1403-transfer-out-start.eml"))
        .run()
        .success();
    let before = run_readers(&sandbox, None);
    assert_eq!(
        before[1].0, 2,
        "the deadline is within 48h: {:?}",
        before[1]
    );
    assert!(
        before
            .iter()
            .all(|(_, _, stderr)| !stderr.contains("warning")),
        "{before:?}"
    );
    let policy = sandbox.db().join("trust.conf");
    let path = policy.display().to_string();
    for (text, fault) in [
        // A typo in a directive: line 3, column 3.
        (
            "# AutoDNS only\nsender autodns.example\n  require-authentification\n",
            format!("trust policy {path}:3:3: unknown directive \"require-authentification\""),
        ),
        // A bad value: line 1, column 8.
        (
            "sender robot@\n",
            format!("trust policy {path}:1:8: \"robot@\" is not an address or domain"),
        ),
        // A policy that names no sender would make every mail untrusted.
        (
            "# to do: our senders\n",
            format!("trust policy {path} names no sender"),
        ),
    ] {
        std::fs::write(&policy, text).expect("writing the policy");
        for args in [
            &["ingest", "--json"][..],
            &["reparse"][..],
            &["release", "1"][..],
        ] {
            let mut run = sandbox.ledger().args(args);
            if args[0] == "ingest" {
                run = run.arg(fixture("autodns/seed/06-0101-create-success.eml"));
            }
            let done = run.run().expect_code(1);
            let first = done.stderr().lines().next().unwrap_or_default().to_string();
            assert!(
                first.starts_with(&format!("error: {fault}")),
                "{args:?}: {fault:?} not at the start of {first:?}"
            );
            assert_eq!(done.stdout(), "", "{args:?}");
        }
        // The readers answer as before, each with one warning line.
        let warning = format!("warning: {fault}");
        assert_eq!(run_readers(&sandbox, Some(&warning)), before, "{text:?}");
    }
    // Nothing was ingested meanwhile.
    let stats = sandbox.ok_json(["--trust-policy", "/dev/null", "--json", "stats"]);
    assert_eq!(stats["events"], 1, "{stats:#}");
    // An explicit --trust-policy that cannot be read is the same.
    std::fs::remove_file(&policy).expect("removing the policy");
    let missing = sandbox.path("no-such-policy.conf");
    let done = sandbox
        .ledger()
        .arg("--trust-policy")
        .arg(&missing)
        .arg("ingest")
        .arg(fixture("autodns/seed/06-0101-create-success.eml"))
        .run()
        .expect_code(1);
    assert!(
        done.stderr().starts_with(&format!(
            "error: cannot read the trust policy {}",
            missing.display()
        )),
        "{}",
        done.stderr()
    );
    let done = sandbox
        .ledger()
        .arg("--trust-policy")
        .arg(&missing)
        .arg("orders")
        .run()
        .success();
    assert!(
        done.stderr()
            .starts_with("warning: cannot read the trust policy"),
        "{}",
        done.stderr()
    );
}

/// A mail from AutoDNS's robot (trusted by `sender autodns.example`) and a bare body (never
/// trusted under a policy), in `in/`.
fn genuine_and_bare(sandbox: &Sandbox) -> std::path::PathBuf {
    let genuine =
        std::fs::read(fixture("autodns/seed/06-0101-create-success.eml")).expect("a fixture");
    sandbox.write("in/1-genuine.eml", genuine);
    sandbox.write(
        "in/2-bare.txt",
        "<system>\ntask: 0101\nstatus: S0101 [ok]\ntransaction: x1\n</system>\n",
    );
    sandbox.path("in")
}

#[test]
fn init_creates_an_empty_ledger_with_its_trust_policy_and_is_idempotent() {
    let sandbox = Sandbox::new();
    let help = sandbox.ok_stdout(["init", "--help"]);
    assert!(
        help.contains("Usage: ledger init [OPTIONS]") && help.contains("--trust-policy <FILE>"),
        "{help}"
    );
    let text = "# AutoDNS only\nsender autodns.example\n";
    let policy = sandbox.write("policy.conf", text);
    let done = sandbox
        .ledger()
        .arg("init")
        .arg("--trust-policy")
        .arg(&policy)
        .run()
        .success();
    let db = sandbox.db().display().to_string();
    let copied = sandbox.db().join("trust.conf");
    assert!(
        done.stdout()
            .starts_with(&format!("created an empty ledger at {db}\n")),
        "{}",
        done.stdout()
    );
    assert!(
        done.stdout().contains(&format!(
            "trust policy: {} (copied from {})",
            copied.display(),
            policy.display()
        )),
        "{}",
        done.stdout()
    );
    assert_eq!(std::fs::read_to_string(&copied).expect("copied"), text);
    // An empty ledger: readers answer (no "no ledger at").
    assert_eq!(sandbox.ok_json(["--json", "stats"])["events"], 0);
    assert_eq!(sandbox.ok_stdout(["orders"]), "no orders\n");

    // Again, with the same policy or none: it says so and changes nothing.
    for args in [
        vec![
            "init".to_string(),
            "--trust-policy".into(),
            policy.display().to_string(),
        ],
        vec!["init".to_string()],
    ] {
        let again = sandbox.ledger().args(&args).run().success();
        assert!(
            again
                .stdout()
                .starts_with(&format!("a ledger is already at {db}: nothing to create\n")),
            "{args:?}: {}",
            again.stdout()
        );
        assert!(
            again
                .stdout()
                .contains(&format!("trust policy: {}", copied.display())),
            "{}",
            again.stdout()
        );
    }
    let json = sandbox.ok_json(["--json", "init"]);
    assert_eq!(json["created"], false, "{json:#}");
    assert_eq!(json["trust_policy"], copied.display().to_string());

    // The policy applies to the first ingest without naming it: the bare body is untrusted.
    let summary = sandbox
        .ledger()
        .args(["--json", "ingest"])
        .arg(genuine_and_bare(&sandbox))
        .run()
        .expect_code(3)
        .json();
    assert_eq!(summary["ingested"], 1, "{summary:#}");
    assert!(
        summary["items"][1]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("untrusted")),
        "{summary:#}"
    );

    // A different policy does not replace the ledger's.
    let other = sandbox.write("other.conf", "sender centralnic.example\n");
    let done = sandbox
        .ledger()
        .arg("init")
        .arg("--trust-policy")
        .arg(&other)
        .run()
        .expect_code(1)
        .expect_stderr("differs from");
    assert!(done.stderr().contains("not replaced"), "{}", done.stderr());
    assert_eq!(std::fs::read_to_string(&copied).expect("kept"), text);
}

#[test]
fn init_refuses_a_bad_policy_and_creates_nothing() {
    let sandbox = Sandbox::new();
    for (text, fault) in [
        (
            "sender autodns.example\nsendr robot@autodns.example\n",
            ":2:1: unknown directive \"sendr\"",
        ),
        (
            "sender autodns.example\nauthserv-id\n",
            ":2:1: authserv-id needs a value",
        ),
        ("# later\n", " names no sender"),
    ] {
        let policy = sandbox.write("policy.conf", text);
        let done = sandbox
            .ledger()
            .arg("init")
            .arg("--trust-policy")
            .arg(&policy)
            .run()
            .expect_code(1);
        assert!(
            done.stderr()
                .starts_with(&format!("error: trust policy {}{fault}", policy.display())),
            "{text:?}: {}",
            done.stderr()
        );
        assert!(!sandbox.db().exists(), "{text:?}: nothing is created");
    }
    // A directory that is something else is not made a ledger, nor given a policy.
    let policy = sandbox.write("policy.conf", "sender autodns.example\n");
    sandbox.write("ledger/notes.txt", "mine");
    sandbox
        .ledger()
        .arg("init")
        .arg("--trust-policy")
        .arg(&policy)
        .run()
        .expect_code(1)
        .expect_stderr("is not a ledger this build can open");
    assert!(!sandbox.db().join("trust.conf").exists());
    assert!(!sandbox.db().join("LEDGER").exists());
}

#[test]
fn a_trust_conf_written_by_hand_before_the_first_ingest_is_used_not_refused() {
    let sandbox = Sandbox::new();
    sandbox.write("ledger/trust.conf", "sender autodns.example\n");
    // Not a ledger yet: readers say there is none (not "not a ledger").
    sandbox
        .ledger()
        .arg("orders")
        .run()
        .expect_code(1)
        .expect_stderr(&format!("error: no ledger at {}", sandbox.db().display()));
    let summary = sandbox
        .ledger()
        .args(["--json", "ingest"])
        .arg(genuine_and_bare(&sandbox))
        .run()
        .expect_code(3)
        .json();
    assert_eq!(summary["ingested"], 1, "{summary:#}");
    assert_eq!(summary["rejected"], 1, "{summary:#}");
    assert!(
        summary["items"][1]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("untrusted")),
        "the hand-written policy applied: {summary:#}"
    );
    assert_eq!(
        std::fs::read_to_string(sandbox.db().join("trust.conf")).expect("kept"),
        "sender autodns.example\n"
    );
    assert!(sandbox.db().join("LEDGER").is_file());
}

/// Makes everything under `path` read-only (`writable: false`: directories 0555, files 0444)
/// or gives the write bits back (0755, 0644).
fn set_writable(path: &std::path::Path, writable: bool) {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path).expect("metadata");
    if meta.is_dir() {
        // Give a directory its bits back before reading it, take them after.
        if writable {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        for entry in std::fs::read_dir(path).expect("listing") {
            set_writable(&entry.expect("an entry").path(), writable);
        }
        if !writable {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        }
    } else if meta.is_file() {
        let mode = if writable { 0o644 } else { 0o444 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

/// How to run `ledger` as a user the read-only bits apply to: as this user when they deny it
/// writing into `read_only` (a directory made read-only), else (root, who bypasses permission
/// bits) as `nobody` through `setpriv`, if it is there and `nobody` can run the binary. `None`
/// when neither works.
fn without_write_permission(sandbox: &Sandbox, read_only: &std::path::Path) -> Option<Vec<String>> {
    let probe = read_only.join("probe");
    if std::fs::File::create(&probe).is_err() {
        return Some(Vec::new());
    }
    let _ = std::fs::remove_file(&probe);
    let setpriv: Vec<String> = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
    ]
    .map(String::from)
    .to_vec();
    let runs = sandbox.ledger_via(&setpriv).arg("--version").run().code() == 0;
    runs.then_some(setpriv)
}

/// A ledger this user may not write gives one clear error naming it, for readers and writers.
///
/// What runs as root (CI runs the tests as root, and root bypasses permission bits): the
/// ledger is made read-only as here, and `ledger` is run as `nobody` through util-linux's
/// `setpriv`, so the kernel really denies it (the ledger's files stay owned by root, as when a
/// cron job of another user meets a ledger root created). As another user, `ledger` runs as
/// that user against the read-only files. Without `setpriv` as root, the test prints that it is
/// skipped and returns; `a_file_where_the_ledger_or_its_database_should_be_names_the_path`
/// covers the same error path as root in any case.
#[test]
fn a_ledger_this_user_cannot_write_is_one_clear_error_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let mail = sandbox.write(
        "in/start.eml",
        std::fs::read(fixture("autodns/seed/05-1403-transfer-out-start.eml")).expect("a fixture"),
    );
    sandbox.ledger().arg("ingest").arg(&mail).run().success();
    // `nobody` must reach the sandbox (a temporary directory is 0700) and read the mail.
    std::fs::set_permissions(sandbox.dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    std::fs::set_permissions(sandbox.path("in"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    set_writable(&sandbox.db(), false);
    let Some(wrapper) = without_write_permission(&sandbox, &sandbox.db()) else {
        set_writable(&sandbox.db(), true);
        println!(
            "skipped: this user bypasses permission bits (root) and cannot run ledger as \
             another user (no setpriv, or nobody cannot run the binary)"
        );
        return;
    };
    let db = sandbox.db().display().to_string();
    let commands: [&[&str]; 5] = [
        &["pending-transfers"],
        &["orders"],
        &["show", "--domain", "example.com"],
        &["init"],
        &["ingest", "--no-progress"],
    ];
    for args in commands {
        let mut run = sandbox.ledger_via(&wrapper).args(args);
        if args[0] == "ingest" {
            run = run.arg(&mail);
        }
        let done = run.run().expect_code(1);
        let stderr = done.stderr();
        assert!(
            stderr.starts_with(&format!(
                "error: cannot write the ledger at {db}: permission denied ("
            )),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("\nhint: ledger opens its files for writing even to read: run it as the user who owns"),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 2, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A new ledger in a directory this user may not write into.
    let new = sandbox.db().join("new");
    let done = sandbox
        .ledger_at_via(&new, &wrapper)
        .arg("init")
        .run()
        .expect_code(1);
    assert!(
        done.stderr().starts_with(&format!(
            "error: cannot write the ledger at {}: permission denied (creating {})",
            new.display(),
            new.display()
        )),
        "{}",
        done.stderr()
    );
    assert!(
        done.stderr()
            .contains(&format!("run it as the user who owns {db} (uid ")),
        "{}",
        done.stderr()
    );
    set_writable(&sandbox.db(), true);
    // The ledger is as it was.
    assert_eq!(sandbox.ok_json(["--json", "stats"])["events"], 1);
}

/// What root meets too: a file where the ledger's directory, a directory above it, or its
/// database's directory should be. Each is one error naming the path, exit 1, no panic.
#[test]
fn a_file_where_the_ledger_or_its_database_should_be_names_the_path() {
    let sandbox = Sandbox::new();
    let mail = fixture("autodns/seed/05-1403-transfer-out-start.eml");
    let file = sandbox.write("file", "not a directory");
    let cases = [
        (
            file.clone(),
            format!(
                "error: {} is not a ledger this build can open: it is a file, not a directory",
                file.display()
            ),
        ),
        (
            file.join("ledger"),
            format!(
                "error: reading {}: Not a directory",
                file.join("ledger/LEDGER").display()
            ),
        ),
    ];
    for (db, message) in cases {
        for args in [&["ingest"][..], &["orders"][..]] {
            let mut run = sandbox.ledger_at(&db).args(args);
            if args[0] == "ingest" {
                run = run.arg(&mail);
            }
            let done = run.run().expect_code(1);
            assert!(
                done.stderr().starts_with(&message),
                "{args:?}: {}",
                done.stderr()
            );
            assert!(!done.stderr().contains("panicked"), "{}", done.stderr());
        }
    }
    // A ledger whose log database is a file: sled's I/O error, with the path it was opening.
    sandbox.ledger().arg("ingest").arg(&mail).run().success();
    let log = sandbox.db().join("log");
    std::fs::remove_dir_all(&log).expect("removing the log");
    std::fs::write(&log, "").expect("a file instead");
    let done = sandbox
        .ledger()
        .arg("ingest")
        .arg(&mail)
        .run()
        .expect_code(1);
    assert!(
        done.stderr().starts_with(&format!(
            "error: opening the database {}: Not a directory",
            log.display()
        )),
        "{}",
        done.stderr()
    );
    assert!(
        done.stderr()
            .contains("hint: a part of that path is a file where a directory should be"),
        "{}",
        done.stderr()
    );
    assert!(
        !done.stderr().contains("storage error"),
        "{}",
        done.stderr()
    );
}

/// An mbox of `count` distinct AutoDNS create notifications (order-0 … order-{count-1}).
fn big_mbox(sandbox: &Sandbox, count: usize) -> std::path::PathBuf {
    let mut mbox = String::with_capacity(count * 360);
    for i in 0..count {
        mbox.push_str(&format!(
            "From robot@autodns.example Mon May 17 08:44:00 2010\n\
             From: AutoDNS Robot <robot@autodns.example>\n\
             To: reseller@example.com\n\
             Subject: order {i}\n\
             Date: Mon, 17 May 2010 08:44:00 +0200\n\
             Message-ID: <{i}@autodns.example>\n\
             \n\
             <system>\nuser: ExampleUser\ntask: 0101\n\
             status: S0101 [Domain has been registered successfully.]\n\
             transaction: order-{i}\n</system>\n\n"
        ));
    }
    sandbox.write("big.mbox", mbox)
}

/// Ctrl-C during an ingest: it stops at a batch boundary, says what it committed (exactly what
/// the commit log, written only after each flush, holds), exits 130; a rerun of the same command
/// goes on and ends with what one uninterrupted ingest has.
#[test]
fn ctrl_c_during_an_ingest_reports_what_was_committed_and_a_rerun_goes_on() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    // About six seconds of debug-build ingest on a 2-core machine, in batches of 100: the
    // signal comes right after the first batch is committed, long before the end.
    const MAILS: usize = 20_000;
    let sandbox = Sandbox::new();
    let mbox = big_mbox(&sandbox, MAILS);
    let commit_log = sandbox.path("committed.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .env_remove("LEDGER_DB")
        .arg("--db")
        .arg(sandbox.db())
        .args(["ingest", "--no-progress", "--batch", "100", "--commit-log"])
        .arg(&commit_log)
        .arg(&mbox)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ledger ingest");
    let lines = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .map(|text| text.lines().count())
            .unwrap_or(0)
    };
    // Wait until something is committed (the commit log is written after each flush).
    let started = Instant::now();
    while lines(&commit_log) == 0 {
        assert!(
            child.try_wait().expect("polling the ingest").is_none(),
            "the ingest ended before anything was committed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "nothing committed in two minutes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let signalled = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("running kill");
    assert!(signalled.success(), "kill -INT failed");
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the ingest") {
            break status;
        }
        if stopped.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the ingest did not stop within a minute of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("reading stderr");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .expect("reading stdout");
    assert_eq!(
        status.code(),
        Some(130),
        "exit status 130 after Ctrl-C (not the end of the input: make it bigger if the ingest \
         won the race)\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // "interrupted: N items committed (N new, 0 duplicates, 0 rejected), the rest …"
    let committed: usize = stderr
        .strip_prefix("interrupted: ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no interrupted line: {stderr}"));
    assert!(
        stderr.contains(&format!(
            "interrupted: {committed} items committed ({committed} new, 0 duplicates, 0 rejected), \
             the rest of the input not read; rerun the same command to go on"
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        committed > 0 && committed < MAILS,
        "interrupted half way: {committed} of {MAILS}"
    );
    // Exactly what was reported is in the ledger, and in the commit log.
    assert_eq!(lines(&commit_log), committed);
    assert_eq!(
        sandbox.ok_json(["--json", "stats"])["events"],
        committed as u64
    );
    assert!(
        stdout.starts_with(&format!("ingested {committed}, duplicates 0, rejected 0")),
        "{stdout}"
    );

    // The same command again goes on: what is in comes back as duplicates, nothing twice.
    let rerun = sandbox
        .ledger()
        .args(["--json", "ingest", "--no-progress", "--batch", "100"])
        .arg(&mbox)
        .run()
        .success()
        .json();
    assert_eq!(rerun["interrupted"], false);
    assert_eq!(
        rerun["duplicates"], committed as u64,
        "{}",
        rerun["duplicates"]
    );
    assert_eq!(rerun["ingested"], (MAILS - committed) as u64);
    let resumed = sandbox.ok_json(["--json", "stats"]);

    // One uninterrupted ingest of the same input, for comparison.
    let once = Sandbox::new();
    once.ledger()
        .args(["ingest", "--no-progress"])
        .arg(&mbox)
        .run()
        .success();
    let one_shot = once.ok_json(["--json", "stats"]);
    assert_eq!(resumed["events"], one_shot["events"]);
    assert_eq!(resumed["events"], MAILS as u64);
    sandbox.ledger().arg("verify").run().success();
}
