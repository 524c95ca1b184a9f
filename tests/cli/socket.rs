//! While `ledger serve` holds a ledger, the other commands go through its socket
//! (`PATH/ledger.sock`) and print what they print alone.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::harness::{Done, Sandbox, fixture};

/// A running `ledger serve --listen 127.0.0.1:0` on a ledger.
struct Server {
    child: Child,
    /// Its loopback address, as it said on stderr.
    addr: String,
    /// What else it said on stderr up to the socket line.
    said: String,
}

impl Server {
    fn start(db: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ledger"))
            .env_remove("LEDGER_DB")
            .arg("--db")
            .arg(db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting ledger serve");
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut lines = BufReader::new(stderr).lines();
        let mut addr = None;
        let mut said = String::new();
        // The socket line comes after the loopback ones, once everything is bound.
        for line in lines.by_ref() {
            let line = line.expect("reading the server's stderr");
            said.push_str(&line);
            said.push('\n');
            if let Some(rest) = line.strip_prefix("listening on http://") {
                addr = rest.split_whitespace().next().map(String::from);
            }
            if line.contains("ledger.sock") {
                break;
            }
        }
        let addr = addr.unwrap_or_else(|| panic!("the server did not start:\n{said}"));
        // Keep draining its stderr so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, addr, said }
    }

    /// SIGTERM, then waits for it to end.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success());
        let status = self.child.wait().expect("waiting for the server");
        assert!(status.success(), "the server exited {status}");
    }

    /// SIGKILL: the socket file stays behind.
    fn kill(mut self) {
        self.child.kill().expect("killing the server");
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn load(sandbox: &Sandbox, db: &Path) {
    sandbox
        .ledger_at(db)
        .arg("ingest")
        .arg(fixture("autodns/seed"))
        .arg(fixture("autodns/xml"))
        .arg(fixture("autodns/json"))
        .run()
        .expect_code(3);
}

/// Every read command, in human and JSON form (times fixed where a command would take now).
fn reads(ctid: &str) -> Vec<Vec<String>> {
    let forms: Vec<Vec<&str>> = vec![
        vec!["show", "--ctid", ctid],
        vec!["show", "--ctid", "no-such-order"],
        vec!["show", "--domain", "EXAMPLE.COM"],
        vec!["show", "--domain", "nothing-here.example"],
        vec!["pending-transfers", "--at", "2010-05-20 12:00"],
        vec!["pending-transfers", "--at", "2030-01-01T00:00:00Z"],
        vec![
            "pending-transfers",
            "--at",
            "2010-05-18T00:00:00Z",
            "--due-within",
            "3d",
        ],
        vec![
            "pending-transfers",
            "--at",
            "2010-05-18T00:00:00Z",
            "--fail-if-due-within",
            "5d",
        ],
        vec!["failed-creates"],
        vec!["failed-creates", "--all"],
        vec!["orders"],
        vec!["orders", "--status", "failed,in-progress"],
        vec!["inventory"],
        vec!["rejects"],
        vec!["rejects", "--all"],
        vec!["stats"],
        vec!["export"],
        vec!["export", "--since", "5"],
    ];
    let mut all = Vec::new();
    for form in forms {
        let args: Vec<String> = form.iter().map(|s| s.to_string()).collect();
        let mut json = vec!["--json".to_string()];
        json.extend(args.clone());
        all.push(args);
        all.push(json);
    }
    all
}

/// stdout, stderr and exit status of each read.
fn run_reads(sandbox: &Sandbox, db: &Path, ctid: &str) -> Vec<(Vec<String>, Done)> {
    reads(ctid)
        .into_iter()
        .map(|args| {
            let done = sandbox.ledger_at(db).args(&args).run();
            (args, done)
        })
        .collect()
}

fn assert_same(alone: &[(Vec<String>, Done)], held: &[(Vec<String>, Done)]) {
    for ((args, a), (_, h)) in alone.iter().zip(held) {
        assert_eq!(
            a.code(),
            h.code(),
            "exit status of {args:?}: {}",
            h.stderr()
        );
        assert_eq!(a.stdout(), h.stdout(), "stdout of {args:?}");
        assert_eq!(a.stderr(), h.stderr(), "stderr of {args:?}");
    }
}

fn a_ctid(sandbox: &Sandbox, db: &Path) -> String {
    let orders = sandbox
        .ledger_at(db)
        .args(["--json", "orders"])
        .run()
        .success()
        .json();
    orders[0]["ctid"]
        .as_str()
        .expect("an order with a ctid")
        .to_string()
}

fn reads_equal_alone_and_held(sandbox: &Sandbox, db: &Path) {
    load(sandbox, db);
    let ctid = a_ctid(sandbox, db);
    let alone = run_reads(sandbox, db, &ctid);
    // Not vacuous: the exit 2 of --fail-if-due-within and some tables are among them.
    assert!(alone.iter().any(|(_, d)| d.code() == 2));
    assert!(alone.iter().filter(|(_, d)| d.code() == 0).count() > 20);

    let server = Server::start(db);
    assert!(db.join("ledger.sock").exists(), "{}", server.said);
    // The store is locked: a command that needs it to itself says who holds it.
    sandbox
        .ledger_at(db)
        .arg("verify")
        .run()
        .expect_code(1)
        .expect_stderr("held by `ledger serve`");
    let held = run_reads(sandbox, db, &ctid);
    assert_same(&alone, &held);
    server.stop();
    assert!(!db.join("ledger.sock").exists());
    let again = run_reads(sandbox, db, &ctid);
    assert_same(&alone, &again);
}

#[test]
fn every_read_prints_the_same_while_the_ledger_is_held() {
    let sandbox = Sandbox::new();
    reads_equal_alone_and_held(&sandbox, &sandbox.db());
}

#[test]
fn a_ledger_too_deep_for_a_socket_address_is_served_and_read() {
    let sandbox = Sandbox::new();
    let mut db: PathBuf = sandbox.db();
    while db.as_os_str().len() < 150 {
        db.push("a-directory-with-a-long-name");
    }
    assert!(db.join("ledger.sock").as_os_str().len() > 108);
    reads_equal_alone_and_held(&sandbox, &db);
}

#[test]
fn a_second_server_on_the_same_ledger_is_refused() {
    let sandbox = Sandbox::new();
    load(&sandbox, &sandbox.db());
    let server = Server::start(&sandbox.db());
    sandbox
        .ledger()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .run()
        .expect_code(1)
        .expect_stderr("the ledger is already served by another process: it answers on")
        .expect_stderr("ledger.sock");
    // The first one still answers.
    sandbox.ok_stdout(["stats"]);
    server.stop();
}

#[test]
fn a_socket_left_by_a_killed_server_is_replaced() {
    let sandbox = Sandbox::new();
    load(&sandbox, &sandbox.db());
    let before = sandbox.ok_stdout(["orders"]);
    Server::start(&sandbox.db()).kill();
    let socket = sandbox.db().join("ledger.sock");
    assert!(socket.exists(), "a killed server leaves its socket");
    // Nobody answers there and the store is free: the commands open it themselves.
    assert_eq!(sandbox.ok_stdout(["orders"]), before);
    let server = Server::start(&sandbox.db());
    assert!(!server.said.contains("error"), "{}", server.said);
    assert_eq!(sandbox.ok_stdout(["orders"]), before);
    server.stop();
}

#[test]
fn the_socket_has_mode_0660() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let sandbox = Sandbox::new();
    load(&sandbox, &sandbox.db());
    let server = Server::start(&sandbox.db());
    let meta = std::fs::metadata(sandbox.db().join("ledger.sock")).expect("the socket");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    let dir = std::fs::metadata(sandbox.db()).expect("the ledger");
    assert_eq!((meta.uid(), meta.gid()), (dir.uid(), dir.gid()));
    let _ = &server.addr;
    server.stop();
}
