//! `ledger fetch imap://…` against a real Dovecot (Debian's `dovecot-imapd`, installed by
//! `.ci/run`), started by each test in the foreground with a configuration of its own on
//! loopback: plain (a Dovecot without TLS), STARTTLS and IMAPS with a private CA the test
//! makes; the mailbox filled by writing the fixtures' mails into its Maildir, the server's
//! state read back from that Maildir.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Sandbox, fixture};

const USER: &str = "robot";
const PASSWORD: &str = "s3cret pass";

/// A running Dovecot, stopped (SIGTERM, then SIGKILL) when dropped.
struct Dovecot {
    child: Child,
    root: tempfile::TempDir,
    /// The port of `imap://` (STARTTLS offered when TLS is on).
    imap: u16,
    /// The port of `imaps://` (0 without TLS).
    imaps: u16,
}

/// A port free at the moment.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn run(program: &str, args: &[&str], dir: &Path) {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Dovecot {
    /// Starts a Dovecot with TLS (a CA and a server certificate for localhost and 127.0.0.1
    /// signed by it) or without, and waits until it answers.
    fn start(tls: bool) -> Dovecot {
        let found = Command::new("sh")
            .args(["-c", "command -v dovecot"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "dovecot is not installed: these tests need a real IMAP server; install it with \
             `apt-get install -y --no-install-recommends dovecot-imapd` (.ci/run does)"
        );
        let root = tempfile::tempdir().expect("a temporary directory");
        let r = root.path();
        // The mail processes run as nobody: they must reach the Maildir.
        std::fs::set_permissions(r, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        std::fs::create_dir_all(r.join("mail")).expect("mkdir");
        std::fs::write(r.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).expect("passwd");
        let (imap, imaps) = (free_port(), if tls { free_port() } else { 0 });
        let ssl = if tls {
            // The CA the clients are given (`ca_file`) and a certificate for both names.
            let files = ledger_pgtest::make_certificates(
                r,
                &["localhost".to_string(), "127.0.0.1".to_string()],
            )
            .expect("a CA and a server certificate (openssl)");
            format!(
                "ssl = yes\nssl_cert = <{}\nssl_key = <{}\n",
                files.cert.display(),
                files.key.display()
            )
        } else {
            "ssl = no\n".to_string()
        };
        let config = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {r}/run\nstate_dir = {r}/state\n\
             log_path = {r}/dovecot.log\ninfo_log_path = {r}/dovecot.log\n{ssl}\
             disable_plaintext_auth = no\nauth_failure_delay = 0\n\
             mail_location = maildir:{r}/mail/%u/Maildir\n\
             passdb {{\n  driver = passwd-file\n  args = {r}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={r}/mail/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    \
             port = {imap}\n  }}\n  inet_listener imaps {{\n    address = 127.0.0.1\n    \
             port = {imaps}\n  }}\n}}\n",
            r = r.display()
        );
        std::fs::write(r.join("dovecot.conf"), config).expect("config");
        let conf = r.join("dovecot.conf");
        let check = Command::new("dovecot")
            .arg("-n")
            .arg("-c")
            .arg(&conf)
            .output()
            .expect("dovecot -n");
        assert!(
            check.status.success(),
            "dovecot -n: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting dovecot");
        let dovecot = Dovecot {
            child,
            root,
            imap,
            imaps,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", imap)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "dovecot did not listen on {imap}: {}",
                dovecot.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        dovecot
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("dovecot.log")).unwrap_or_default()
    }

    /// The CA certificate (PEM) the server's certificate is signed by.
    fn ca(&self) -> PathBuf {
        self.root.path().join("ca.pem")
    }

    /// A file holding the password, readable by its owner only.
    fn password_file(&self, password: &str) -> PathBuf {
        let path = self
            .root
            .path()
            .join(format!("password-{}", password.len()));
        std::fs::write(&path, format!("{password}\n")).expect("password file");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        path
    }

    /// The Maildir of a folder (`None`: INBOX).
    fn maildir(&self, folder: Option<&str>) -> PathBuf {
        let inbox = self.root.path().join("mail").join(USER).join("Maildir");
        match folder {
            None => inbox,
            Some(name) => inbox.join(format!(".{name}")),
        }
    }

    /// Delivers mails into INBOX as an MDA does: written to `tmp/`, renamed into `new/`.
    fn deliver(&self, mails: &[PathBuf]) {
        let maildir = self.maildir(None);
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("Maildir");
        }
        for (n, mail) in mails.iter().enumerate() {
            let name = format!(
                "{}.M{n}P{}.localhost",
                1_700_000_000 + n,
                std::process::id()
            );
            let tmp = maildir.join("tmp").join(&name);
            std::fs::copy(mail, &tmp).expect("copying a mail");
            std::fs::rename(&tmp, maildir.join("new").join(&name)).expect("delivering");
        }
        run(
            "chown",
            &[
                "-R",
                "nobody:nogroup",
                &self.root.path().join("mail").display().to_string(),
            ],
            self.root.path(),
        );
    }

    fn url(&self, scheme: &str, mailbox: &str) -> String {
        let port = if scheme == "imaps" {
            self.imaps
        } else {
            self.imap
        };
        format!("{scheme}://{USER}@localhost:{port}/{mailbox}")
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The messages of a Maildir folder (`new/` and `cur/`), each with its flags (`S` seen, …).
fn messages(maildir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(maildir.join(sub)) else {
            continue;
        };
        for entry in entries {
            let name = entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            let flags = name.split_once(":2,").map(|(_, f)| f.to_string());
            found.push((name, flags.unwrap_or_default()));
        }
    }
    found
}

/// Every `.eml` fixture mail (the AutoDNS guide's seed and the MIME variants), sorted.
fn fixture_mails() -> Vec<PathBuf> {
    let mut mails = Vec::new();
    for dir in ["autodns/seed", "mail"] {
        for entry in std::fs::read_dir(fixture(dir)).expect("fixtures") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "eml") {
                mails.push(path);
            }
        }
    }
    mails.sort();
    mails
}

/// What two ledgers must agree on: the events (kind, ctid, domain, status; not the raw
/// bytes' SHA-256: the server hands a mail out with CRLF line ends), pending transfers,
/// orders, failed creates.
fn facts(sandbox: &Sandbox) -> Value {
    let export = sandbox.ledger().arg("export").run().success().stdout();
    let mut events: Vec<Value> = export
        .lines()
        .map(|l| {
            let e: Value = serde_json::from_str(l).expect("an event");
            json!([e["kind"], e["ctid"], e["domain"], e["status"]["code"]])
        })
        .collect();
    events.sort_by_key(|e| e.to_string());
    json!({
        "events": events,
        "pending": sandbox.ok_json(["--json", "pending-transfers", "--at", "2021-05-05T00:00:00Z"]),
        "orders": sandbox.ok_json(["--json", "orders"]),
        "failed": sandbox.ok_json(["--json", "failed-creates", "--all"]),
    })
}

/// `ledger ingest` of the same fixture mails, in a ledger of its own.
fn ingested_facts() -> Value {
    let sandbox = Sandbox::new();
    let done = sandbox
        .ledger()
        .args(["--json", "ingest"])
        .args(fixture_mails())
        .run()
        .success()
        .json();
    assert_eq!(
        (done["ingested"].as_u64(), done["duplicates"].as_u64()),
        (Some(23), Some(2))
    );
    facts(&sandbox)
}

/// `ledger --json fetch URL --password-file … ARGS`.
fn fetch(sandbox: &Sandbox, dovecot: &Dovecot, url: &str, args: &[&str]) -> crate::harness::Run {
    sandbox
        .ledger()
        .args(["--json", "fetch", url, "--password-file"])
        .arg(dovecot.password_file(PASSWORD))
        .args(args)
}

/// Every fixture mail fetched over `scheme` gives the events `ledger ingest` gives; the
/// mailbox is left as it was (`--after none`); a rerun fetches nothing.
fn every_fixture_mail(dovecot: &Dovecot, url: &str, ca: bool, transport: &str) -> String {
    let mails = fixture_mails();
    assert_eq!(mails.len(), 25);
    dovecot.deliver(&mails);
    let sandbox = Sandbox::new();
    let ca_file = dovecot.ca().display().to_string();
    let args: &[&str] = if ca { &["--ca-file", &ca_file] } else { &[] };
    let done = fetch(&sandbox, dovecot, url, args).run();
    let stderr = done.stderr();
    let summary = done.success().json();
    assert_eq!(summary["ingested"], 23, "{summary:#}");
    assert_eq!(summary["duplicates"], 2, "{summary:#}");
    assert_eq!(summary["rejected"], 0, "{summary:#}");
    assert_eq!(summary["transport"], transport, "{summary:#}");
    assert_eq!(summary["marked"], 0);
    let items = summary["items"].as_array().expect("items");
    assert_eq!(items.len(), 25);
    let uidvalidity = summary["uidvalidity"].as_u64().expect("uidvalidity");
    for (n, item) in items.iter().enumerate() {
        assert_eq!(item["uid"], n + 1, "{item:#}");
        assert_eq!(
            item["path"],
            format!("{url};UIDVALIDITY={uidvalidity}/;UID={}", n + 1),
            "{item:#}"
        );
    }
    assert_eq!(facts(&sandbox), ingested_facts());
    // Nothing changed on the server.
    let inbox = messages(&dovecot.maildir(None));
    assert_eq!(inbox.len(), 25, "{inbox:?}");
    assert!(
        inbox.iter().all(|(_, flags)| !flags.contains('S')),
        "{inbox:?}"
    );

    let again = fetch(&sandbox, dovecot, url, args).run().success().json();
    assert_eq!(
        (again["ingested"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(0)),
        "{again:#}"
    );
    assert_eq!(again["items"], json!([]));
    assert_eq!(again["last_uid"], 25);
    stderr
}

#[test]
fn plain_imap_to_loopback_fetches_every_fixture_mail_as_ingest_reads_it() {
    let dovecot = Dovecot::start(false);
    let stderr = every_fixture_mail(&dovecot, &dovecot.url("imap", "INBOX"), false, "plain");
    assert!(
        stderr.contains("offers no STARTTLS: the password and the mail go in plain text"),
        "{stderr}"
    );
}

#[test]
fn starttls_fetches_every_fixture_mail_as_ingest_reads_it() {
    let dovecot = Dovecot::start(true);
    let stderr = every_fixture_mail(&dovecot, &dovecot.url("imap", "INBOX"), true, "starttls");
    assert!(!stderr.contains("plain text"), "{stderr}");
}

#[test]
fn imaps_with_a_private_ca_fetches_every_fixture_mail_and_without_it_refuses_the_certificate() {
    let dovecot = Dovecot::start(true);
    let url = dovecot.url("imaps", "INBOX");
    let sandbox = Sandbox::new();
    fetch(&sandbox, &dovecot, &url, &[])
        .run()
        .expect_code(1)
        .expect_stderr("TLS with localhost:")
        .expect_stderr("UnknownIssuer")
        .expect_stderr("--ca-file");
    every_fixture_mail(&dovecot, &url, true, "tls");
}

#[test]
fn after_seen_flags_every_committed_message_seen() {
    let dovecot = Dovecot::start(true);
    dovecot.deliver(&fixture_mails());
    let sandbox = Sandbox::new();
    let ca = dovecot.ca().display().to_string();
    let url = dovecot.url("imaps", "INBOX");
    let done = fetch(
        &sandbox,
        &dovecot,
        &url,
        &["--ca-file", &ca, "--after", "seen"],
    )
    .run()
    .success()
    .json();
    assert_eq!(
        (done["ingested"].as_u64(), done["marked"].as_u64()),
        (Some(23), Some(25))
    );
    let inbox = messages(&dovecot.maildir(None));
    assert_eq!(inbox.len(), 25);
    assert!(
        inbox.iter().all(|(_, flags)| flags.contains('S')),
        "{inbox:?}"
    );
    let again = fetch(
        &sandbox,
        &dovecot,
        &url,
        &["--ca-file", &ca, "--after", "seen"],
    )
    .run()
    .success()
    .json();
    assert_eq!(again["items"], json!([]), "{again:#}");
    assert_eq!(again["marked"], 0);
}

#[test]
fn after_move_moves_every_committed_message_to_processed() {
    let dovecot = Dovecot::start(true);
    dovecot.deliver(&fixture_mails());
    let sandbox = Sandbox::new();
    let ca = dovecot.ca().display().to_string();
    let url = dovecot.url("imap", "INBOX");
    let run = fetch(
        &sandbox,
        &dovecot,
        &url,
        &["--ca-file", &ca, "--after", "move:Processed"],
    )
    .run();
    let stderr = run.stderr();
    let done = run.success().json();
    assert!(
        stderr.contains("created the folder \"Processed\""),
        "{stderr}"
    );
    assert_eq!(
        (done["ingested"].as_u64(), done["marked"].as_u64()),
        (Some(23), Some(25))
    );
    assert_eq!(
        messages(&dovecot.maildir(None)),
        Vec::<(String, String)>::new()
    );
    assert_eq!(messages(&dovecot.maildir(Some("Processed"))).len(), 25);
    // Processed as a mailbox of its own: the same mails, all duplicates now.
    let processed = fetch(
        &sandbox,
        &dovecot,
        &dovecot.url("imap", "Processed"),
        &["--ca-file", &ca],
    )
    .run()
    .success()
    .json();
    assert_eq!(
        (
            processed["ingested"].as_u64(),
            processed["duplicates"].as_u64()
        ),
        (Some(0), Some(25))
    );
}

#[test]
fn a_kill_between_commit_and_mark_then_a_rerun_marks_it_and_ingests_each_notification_once() {
    let dovecot = Dovecot::start(true);
    let mails = fixture_mails();
    dovecot.deliver(&mails);
    let sandbox = Sandbox::new();
    let ca = dovecot.ca().display().to_string();
    let url = dovecot.url("imap", "INBOX");
    let args = ["--ca-file", ca.as_str(), "--after", "move:Processed"];
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .arg("--db")
        .arg(sandbox.db())
        .args(["--json", "fetch", &url, "--password-file"])
        .arg(dovecot.password_file(PASSWORD))
        .args(args)
        .env("LEDGER_TEST_KILL_AFTER_COMMIT", "7")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ledger fetch");
    let stderr = child.stderr.take().expect("stderr piped");
    let mut seen = String::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("stderr");
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("test hook: 7 messages committed") {
            break;
        }
    }
    assert!(seen.contains("test hook: 7 messages committed"), "{seen}");
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    // Seven committed, none moved: the state says which are committed but not marked.
    let state: Value = serde_json::from_slice(
        &std::fs::read(sandbox.db().join("imap-state.json")).expect("the state file"),
    )
    .expect("JSON");
    let mailbox = &state["mailboxes"][format!("{USER}@localhost:{}/INBOX", dovecot.imap)];
    assert_eq!(mailbox["last_uid"], 7, "{state:#}");
    assert_eq!(
        mailbox["unmarked"],
        json!([1, 2, 3, 4, 5, 6, 7]),
        "{state:#}"
    );
    assert_eq!(messages(&dovecot.maildir(None)).len(), 25);
    assert!(messages(&dovecot.maildir(Some("Processed"))).is_empty());

    // A run that marks nothing (`--after none`) reads on but leaves the seven listed for a
    // run that marks (it used to drop them, so they were never moved).
    let none = fetch(
        &sandbox,
        &dovecot,
        &url,
        &["--ca-file", ca.as_str(), "--after", "none"],
    )
    .run();
    assert!(
        none.stderr()
            .contains("7 messages committed by an earlier run are still unmarked"),
        "{}",
        none.stderr()
    );
    let read_on = none.success().json();
    let items = read_on["items"].as_array().expect("items");
    assert_eq!(items.len(), 18, "not one of the seven again: {read_on:#}");
    assert_eq!(items[0]["uid"], 8);
    assert_eq!(read_on["marked"], 0, "{read_on:#}");
    let state: Value = serde_json::from_slice(
        &std::fs::read(sandbox.db().join("imap-state.json")).expect("the state file"),
    )
    .expect("JSON");
    let mailbox = &state["mailboxes"][format!("{USER}@localhost:{}/INBOX", dovecot.imap)];
    assert_eq!(mailbox["last_uid"], 25, "{state:#}");
    assert_eq!(
        mailbox["unmarked"],
        json!([1, 2, 3, 4, 5, 6, 7]),
        "{state:#}"
    );
    assert!(messages(&dovecot.maildir(Some("Processed"))).is_empty());

    // Three more arrive (copies of mails already read: duplicates). A marking run moves the
    // seven and the three it reads; the eighteen the `none` run read stay where they are (that
    // run was asked not to mark them), and nothing is read twice.
    for mail in &mails[..3] {
        append(
            &dovecot,
            "INBOX",
            &std::fs::read(mail).expect("a fixture mail"),
        );
    }
    let run = fetch(&sandbox, &dovecot, &url, &args).run();
    let stderr = run.stderr();
    let done = run.success().json();
    assert!(
        stderr.contains("7 messages committed by an earlier run are marked now"),
        "{stderr}"
    );
    assert_eq!(done["marked_from_before"], 7, "{done:#}");
    assert_eq!(done["marked"], 3, "{done:#}");
    let items = done["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{done:#}");
    assert_eq!(items[0]["uid"], 26);
    assert!(
        items.iter().all(|i| i["outcome"] == "duplicate"),
        "{done:#}"
    );
    assert_eq!(messages(&dovecot.maildir(None)).len(), 18);
    assert_eq!(messages(&dovecot.maildir(Some("Processed"))).len(), 10);
    // Every notification in the ledger once.
    assert_eq!(facts(&sandbox), ingested_facts());
    sandbox.ledger().arg("verify").run().success();
}

#[test]
fn a_wrong_password_is_a_clear_error_and_nothing_is_fetched() {
    let dovecot = Dovecot::start(true);
    dovecot.deliver(&fixture_mails());
    let sandbox = Sandbox::new();
    let ca = dovecot.ca().display().to_string();
    let url = dovecot.url("imap", "INBOX");
    let run = sandbox
        .ledger()
        .args(["fetch", &url, "--ca-file", &ca, "--password-file"])
        .arg(dovecot.password_file("not the password"))
        .run()
        .expect_code(1)
        .expect_stderr(&format!("error: {url}: the login as \"robot\" was refused"))
        .expect_stderr("Authentication failed")
        .expect_stderr("hint: the password comes from --password-file or LEDGER_IMAP_PASSWORD");
    assert!(
        !run.stderr().contains("not the password"),
        "{}",
        run.stderr()
    );
    assert_eq!(run.stdout(), "");
    let stats = sandbox.ok_json(["--json", "stats"]);
    assert_eq!(stats["events"], 0, "{stats:#}");
    // No password at all.
    sandbox
        .ledger()
        .args(["fetch", &url])
        .run()
        .expect_code(1)
        .expect_stderr("no IMAP password: give --password-file FILE or set LEDGER_IMAP_PASSWORD");
}

#[test]
fn a_mailbox_that_does_not_exist_is_a_clear_error() {
    let dovecot = Dovecot::start(true);
    let sandbox = Sandbox::new();
    let ca = dovecot.ca().display().to_string();
    let url = dovecot.url("imaps", "Notifications");
    fetch(&sandbox, &dovecot, &url, &["--ca-file", &ca])
        .run()
        .expect_code(1)
        .expect_stderr(&format!(
            "error: {url}: no mailbox \"Notifications\" on the server"
        ))
        .expect_stderr("doesn't exist");
    // A URL that is not one says what is wrong with it.
    sandbox
        .ledger()
        .args(["fetch", "imap://robot:secret@localhost/INBOX"])
        .run()
        .expect_code(1)
        .expect_stderr("holds a password: give it with --password-file");
}

#[test]
fn while_serve_holds_the_ledger_the_fetch_goes_through_its_socket() {
    let dovecot = Dovecot::start(true);
    dovecot.deliver(&fixture_mails());
    let sandbox = Sandbox::new();
    let mut server = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .arg("--db")
        .arg(sandbox.db())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ledger serve");
    let stderr = server.stderr.take().expect("stderr piped");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.expect("stderr");
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("ledger.sock") {
            break;
        }
    }
    assert!(seen.contains("ledger.sock"), "{seen}");
    std::thread::spawn(move || lines.for_each(drop));
    let ca = dovecot.ca().display().to_string();
    let done = fetch(
        &sandbox,
        &dovecot,
        &dovecot.url("imaps", "INBOX"),
        &["--ca-file", &ca, "--after", "seen"],
    )
    .run()
    .success()
    .json();
    assert_eq!(
        (done["ingested"].as_u64(), done["duplicates"].as_u64()),
        (Some(23), Some(2))
    );
    assert_eq!(sandbox.ok_json(["--json", "stats"])["events"], 23);
    assert!(
        messages(&dovecot.maildir(None))
            .iter()
            .all(|(_, f)| f.contains('S'))
    );
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    assert_eq!(facts(&sandbox), ingested_facts());
}

/// APPENDs `mail` to `mailbox` over a plain connection of its own (the Dovecot without TLS),
/// as another mail client or a delivery agent would, and returns once the server said OK.
fn append(dovecot: &Dovecot, mailbox: &str, mail: &[u8]) {
    use std::io::Write;
    let mut stream = TcpStream::connect(("127.0.0.1", dovecot.imap)).expect("connecting");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut answer = |tag: &str| -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            assert!(
                reader.read_line(&mut line).expect("reading") > 0,
                "closed: {all}"
            );
            all.push_str(&line);
            if tag.is_empty() || line.starts_with(tag) {
                return all;
            }
        }
    };
    answer("");
    write!(stream, "a1 LOGIN {USER} \"{PASSWORD}\"\r\n").expect("LOGIN");
    assert!(answer("a1 ").contains("a1 OK"), "LOGIN");
    let text = String::from_utf8_lossy(mail)
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    write!(stream, "a2 APPEND {mailbox} {{{}}}\r\n", text.len()).expect("APPEND");
    assert!(answer("+").starts_with('+'), "no continuation");
    write!(stream, "{text}\r\n").expect("the literal");
    let done = answer("a2 ");
    assert!(done.contains("a2 OK"), "APPEND: {done}");
    write!(stream, "a3 LOGOUT\r\n").expect("LOGOUT");
}

#[test]
fn serve_imap_ingests_a_message_appended_during_idle_within_2_s() {
    let dovecot = Dovecot::start(false);
    let mails = fixture_mails();
    let (late, early) = mails.split_last().expect("mails");
    dovecot.deliver(early);
    let sandbox = Sandbox::new();
    let mut server = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .arg("--db")
        .arg(sandbox.db())
        .args(["serve", "--listen", "127.0.0.1:0", "--imap"])
        .arg(dovecot.url("imap", "INBOX"))
        .arg("--imap-password-file")
        .arg(dovecot.password_file(PASSWORD))
        .args(["--imap-after", "seen"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ledger serve");
    let stderr = server.stderr.take().expect("stderr piped");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let seen = seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.starts_with("imap: waiting for new mail in") {
                    let _ = tx.send(());
                }
                let mut all = seen.lock().expect("stderr");
                all.push_str(&line);
                all.push('\n');
            }
        });
    }
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| {
            panic!(
                "serve never waited in IDLE:\n{}",
                seen.lock().expect("stderr")
            )
        });
    let events = || sandbox.ok_json(["--json", "stats"])["events"].as_u64();
    assert_eq!(events(), Some(22), "{}", seen.lock().expect("stderr"));

    append(&dovecot, "INBOX", &std::fs::read(late).expect("a fixture"));
    let appended = Instant::now();
    while events() != Some(23) && appended.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = appended.elapsed();
    assert_eq!(events(), Some(23), "{}", seen.lock().expect("stderr"));
    assert!(
        took < Duration::from_secs(2),
        "the appended mail took {took:?} to be ingested"
    );
    eprintln!("ingested {took:?} after the APPEND");

    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let status = server.wait().expect("waiting for serve");
    std::thread::sleep(Duration::from_millis(100));
    let stderr = seen.lock().expect("stderr").clone();
    assert!(status.success(), "{status:?}\n{stderr}");
    assert!(stderr.contains("imap: stopped watching"), "{stderr}");
    assert_eq!(facts(&sandbox), ingested_facts());
    // Every message marked once committed, the appended one too.
    let inbox = messages(&dovecot.maildir(None));
    assert_eq!(inbox.len(), 25);
    assert!(
        inbox.iter().all(|(_, flags)| flags.contains('S')),
        "{inbox:?}"
    );
}

#[test]
fn a_changed_uidvalidity_reads_the_mailbox_again_and_finds_every_message_a_duplicate() {
    let dovecot = Dovecot::start(false);
    dovecot.deliver(&fixture_mails());
    let sandbox = Sandbox::new();
    let url = dovecot.url("imap", "INBOX");
    let first = fetch(&sandbox, &dovecot, &url, &[]).run().success().json();
    assert_eq!(first["ingested"], 23);
    // The server forgets its UIDs (as after a restore or a migration): a new UIDVALIDITY.
    for entry in std::fs::read_dir(dovecot.maildir(None)).expect("the Maildir") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if name == "dovecot-uidlist" || name.starts_with("dovecot.index") {
            std::fs::remove_file(&path).expect("removing");
        }
    }
    let run = fetch(&sandbox, &dovecot, &url, &[]).run();
    let stderr = run.stderr();
    let again = run.success().json();
    assert_ne!(again["uidvalidity"], first["uidvalidity"], "{again:#}");
    assert!(
        stderr.contains(&format!(
            "the mailbox's UIDVALIDITY changed from {} to {}",
            first["uidvalidity"], again["uidvalidity"]
        )),
        "{stderr}"
    );
    assert_eq!(again["reread"], true);
    assert_eq!(
        (again["ingested"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(25)),
        "{again:#}"
    );
    assert_eq!(facts(&sandbox), ingested_facts());
}

#[test]
fn a_mail_that_is_no_notification_is_kept_as_a_reject_marked_and_exits_3() {
    let dovecot = Dovecot::start(false);
    dovecot.deliver(&[
        fixture("autodns/seed/06-0101-create-success.eml"),
        fixture("bad/no-notification.eml"),
        fixture("bad/unclosed-reply.eml"),
    ]);
    let sandbox = Sandbox::new();
    let url = dovecot.url("imap", "INBOX");
    let done = sandbox
        .ledger()
        .args(["fetch", &url, "--after", "seen", "--password-file"])
        .arg(dovecot.password_file(PASSWORD))
        .run()
        .expect_code(3)
        .expect_stdout("ingested 1, duplicates 0, rejected 2; 3 messages marked (seen)")
        .expect_stdout(&format!("rejected {url};UIDVALIDITY="))
        .expect_stdout("(kept as reject #");
    assert_eq!(done.stdout().lines().count(), 3, "{}", done.stdout());
    let inbox = messages(&dovecot.maildir(None));
    assert_eq!(inbox.len(), 3);
    assert!(
        inbox.iter().all(|(_, flags)| flags.contains('S')),
        "{inbox:?}"
    );
    let rejects = sandbox.ok_json(["--json", "rejects"]);
    assert_eq!(rejects.as_array().map(Vec::len), Some(2), "{rejects:#}");
}
