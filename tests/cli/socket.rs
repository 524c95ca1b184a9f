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
        Server::start_with(db, &[])
    }

    /// Starts `ledger serve` with more flags.
    fn start_with(db: &Path, flags: &[&str]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ledger"));
        command
            .arg("--db")
            .arg(db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(flags);
        Server::spawn(command)
    }

    /// Starts `ledger serve` under `umask` (through `sh -c 'umask M; exec ledger …'`).
    fn start_with_umask(db: &Path, umask: &str) -> Server {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!(
                "umask {umask}; exec \"$0\" --db \"$1\" serve --listen 127.0.0.1:0"
            ))
            .arg(env!("CARGO_BIN_EXE_ledger"))
            .arg(db);
        Server::spawn(command)
    }

    fn spawn(mut command: Command) -> Server {
        let mut child = command
            .env_remove("LEDGER_DB")
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

/// Under a umask of 000 the socket still never has another mode than 0660: a watcher that
/// lists the ledger's directory while the server starts sees no socket with another mode and
/// no private directory other users could enter, and nothing but `ledger.sock` is left.
#[test]
fn the_socket_is_never_seen_with_another_mode_under_umask_000() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let sandbox = Sandbox::new();
    load(&sandbox, &sandbox.db());
    let before: Vec<_> = std::fs::read_dir(sandbox.db())
        .expect("listing the ledger")
        .map(|e| e.expect("an entry").file_name())
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let watcher = {
        let (db, done, seen) = (sandbox.db(), done.clone(), seen.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let Ok(entries) = std::fs::read_dir(&db) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let Ok(meta) = entry.metadata() else { continue };
                    let mode = meta.permissions().mode() & 0o777;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let wrong = (meta.file_type().is_socket() && mode != 0o660)
                        || (name.starts_with(".ledger.sock") && meta.is_dir() && mode != 0o700);
                    if wrong {
                        seen.lock()
                            .expect("the list")
                            .push(format!("{name} {mode:o}"));
                    }
                }
            }
        })
    };
    let server = Server::start_with_umask(&sandbox.db(), "000");
    done.store(true, Ordering::Relaxed);
    watcher.join().expect("the watcher");
    assert_eq!(*seen.lock().expect("the list"), Vec::<String>::new());
    let meta = std::fs::metadata(sandbox.db().join("ledger.sock")).expect("the socket");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    let mut after: Vec<_> = std::fs::read_dir(sandbox.db())
        .expect("listing the ledger")
        .map(|e| e.expect("an entry").file_name())
        .filter(|name| !before.contains(name))
        .collect();
    after.sort();
    assert_eq!(after, ["ledger.sock"]);
    assert!(!sandbox.ok_stdout(["orders"]).is_empty());
    let _ = &server.addr;
    server.stop();
}

/// A private directory a killed server left while binding is removed by the next one.
#[test]
fn a_binding_directory_left_by_a_killed_server_is_removed() {
    let sandbox = Sandbox::new();
    load(&sandbox, &sandbox.db());
    let left = sandbox.db().join(".ledger.sock.999999.tmp");
    std::fs::create_dir(&left).expect("mkdir");
    std::fs::write(left.join("ledger.sock"), b"").expect("a file in it");
    let server = Server::start(&sandbox.db());
    assert!(!left.exists());
    server.stop();
}

/// `ingest ARGS` into the ledger at `db`: stdout (the elapsed time left out), stderr, status.
fn ingest(sandbox: &Sandbox, db: &Path, json: bool) -> (String, String, i32) {
    let mut run = sandbox.ledger_at(db);
    if json {
        run = run.arg("--json");
    }
    let done = run
        .arg("ingest")
        .arg(fixture("autodns/seed"))
        .arg(fixture("autodns/xml"))
        .arg(fixture("autodns/json"))
        .run();
    let stdout = if json {
        let mut value = done.json();
        value["elapsed_ms"] = serde_json::Value::Null;
        format!("{value:#}")
    } else {
        let text = done.stdout();
        match text.split_once(" items in ") {
            Some((head, tail)) => {
                format!("{head}{}", tail.split_once('\n').map_or("", |(_, t)| t))
            }
            None => text,
        }
    };
    (stdout, done.stderr(), done.code())
}

fn record(sandbox: &Sandbox, db: &Path) -> Done {
    sandbox
        .ledger_at(db)
        .args([
            "--json",
            "record-response",
            "--ctid",
            "cnr-0001",
            "--command",
            "AddDomain",
            "--domain",
            "example-taken.com",
        ])
        .arg(fixture(
            "centralnic/own_adddomain_504_missing_attribute.txt",
        ))
        .run()
}

#[test]
fn ingest_and_record_response_while_held_commit_through_the_server() {
    let sandbox = Sandbox::new();
    let alone = sandbox.path("alone");
    let held = sandbox.db();
    // An empty ledger to serve.
    sandbox.ledger_at(&held).arg("init").run().success();
    let server = Server::start(&held);
    for json in [false, true] {
        let a = ingest(&sandbox, &alone, json);
        let h = ingest(&sandbox, &held, json);
        assert_eq!(a, h, "ingest alone and through the server (json: {json})");
        assert_eq!(h.2, 3, "some fixtures are rejected: {}", h.1);
    }
    let a = record(&sandbox, &alone);
    let h = record(&sandbox, &held);
    assert_eq!(a.code(), 0, "{}", a.stderr());
    assert_eq!((a.stdout(), a.stderr()), (h.stdout(), h.stderr()));
    // A flag the server does not share is said in one line, and the server's applies.
    let differs = sandbox
        .ledger_at(&held)
        .args(["--source-tz", "UTC", "ingest"])
        .arg(fixture("autodns/seed/06-0101-create-success.eml"))
        .run()
        .success();
    let stderr = differs.stderr();
    assert_eq!(
        stderr.lines().next().unwrap_or_default(),
        "note: the ledger is held by `ledger serve`, whose settings apply to these items: \
         source zone Europe/Berlin (not UTC)"
    );
    assert!(
        differs.stdout().contains("duplicates 1"),
        "{}",
        differs.stdout()
    );
    server.stop();
    // A response recorded today carries the second each ledger recorded it (the two may be a
    // second apart): that instant is not compared, the rest of its line is.
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let recorded_now = |text: String| -> String {
        text.lines()
            .map(|line| match line.find(&today) {
                Some(at) => {
                    let end = line[at..].find(')').map_or(line.len(), |e| at + e + 1);
                    format!("{}<recorded today>{}", &line[..at], &line[end..])
                }
                None => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    // The events are in the ledger once the server is gone.
    for args in [
        vec!["orders"],
        vec!["failed-creates", "--all"],
        vec!["pending-transfers", "--at", "2010-05-20 12:00"],
        vec!["inventory"],
    ] {
        assert_eq!(
            recorded_now(
                sandbox
                    .ledger_at(&alone)
                    .args(&args)
                    .run()
                    .success()
                    .stdout()
            ),
            recorded_now(
                sandbox
                    .ledger_at(&held)
                    .args(&args)
                    .run()
                    .success()
                    .stdout()
            ),
            "{args:?}"
        );
    }
    let events = |db: &Path| {
        sandbox
            .ledger_at(db)
            .arg("export")
            .run()
            .success()
            .json_lines()
    };
    assert_eq!(events(&alone).len(), events(&held).len());
    assert!(!events(&held).is_empty());
}

#[test]
fn a_socket_nobody_answers_on_a_locked_ledger_is_said() {
    let sandbox = Sandbox::new();
    load(&sandbox, &sandbox.db());
    // A server that is stopped (SIGSTOP) holds the lock and answers nobody: its socket
    // accepts connections into the backlog, so make it a socket file nobody listens on.
    let server = Server::start(&sandbox.db());
    let socket = sandbox.db().join("ledger.sock");
    std::fs::remove_file(&socket).expect("removing the socket");
    let stale = std::os::unix::net::UnixListener::bind(&socket).expect("binding");
    drop(stale);
    sandbox
        .ledger()
        .arg("orders")
        .run()
        .expect_code(1)
        .expect_stderr("is held by a process that does not answer on")
        .expect_stderr("--wait");
    server.stop();
}

#[test]
fn an_item_over_the_servers_limit_is_kept_whole_through_it() {
    let sandbox = Sandbox::new();
    let big = sandbox.write("big.eml", vec![b'x'; 16 * 1024 * 1024 + 10]);
    let alone = sandbox.path("alone");
    let held = sandbox.db();
    sandbox.ledger_at(&held).arg("init").run().success();
    let server = Server::start(&held);
    let run = |db: &Path| {
        let done = sandbox.ledger_at(db).arg("ingest").arg(&big).run();
        let text = done.stdout();
        let summary = text.split_once(" items in ").map_or("", |(head, _)| head);
        let rest = text.split_once('\n').map_or("", |(_, rest)| rest);
        (done.code(), format!("{summary}\n{rest}"), done.stderr())
    };
    let a = run(&alone);
    let h = run(&held);
    assert_eq!(a, h);
    assert_eq!(a.0, 3, "{a:?}");
    let reject = |db: &Path| {
        let rejects = sandbox
            .ledger_at(db)
            .args(["--json", "rejects"])
            .run()
            .success()
            .json();
        (rejects[0]["size"].clone(), rejects[0]["sha256"].clone())
    };
    let through = reject(&held);
    server.stop();
    assert_eq!(reject(&alone), through);
    assert_eq!(reject(&held), through);
    assert_eq!(through.0, 16 * 1024 * 1024 + 10);
}

/// The socket is the access control: a user in the ledger directory's group reads through it,
/// another is told it may not connect. Run as `nobody` through `setpriv` (as root, who
/// bypasses permission bits); skipped, and says so, when that cannot be done.
#[test]
fn the_directorys_group_may_use_the_socket_and_others_are_told_they_may_not() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    load(&sandbox, &sandbox.db());
    let as_nobody = |groups: &str| -> Vec<String> {
        let mut wrapper: Vec<String> = ["setpriv", "--reuid=65534", "--regid=65534"]
            .map(String::from)
            .to_vec();
        wrapper.push(groups.to_string());
        wrapper.push("--".into());
        wrapper
    };
    let outsider = as_nobody("--clear-groups");
    let is_root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    if !is_root || sandbox.ledger_via(&outsider).arg("--version").run().code() != 0 {
        println!("skipped: needs root and setpriv, and nobody able to run the binary");
        return;
    }
    // The operators' group (any gid nobody is not in), owning the ledger; the sandbox above
    // it only traversable.
    let operators = "4242";
    std::fs::set_permissions(sandbox.dir.path(), std::fs::Permissions::from_mode(0o711))
        .expect("chmod");
    std::os::unix::fs::chown(sandbox.db(), None, Some(4242)).expect("chgrp");
    // Others may traverse the ledger's directory (0771), so what stops them is the socket's
    // own mode; with 0770 they would not reach the socket at all (and are told the ledger is
    // not theirs to write).
    std::fs::set_permissions(sandbox.db(), std::fs::Permissions::from_mode(0o771)).expect("chmod");
    let server = Server::start(&sandbox.db());
    let member = as_nobody(&format!("--groups={operators}"));
    let root_says = sandbox.ok_stdout(["orders"]);
    let member_says = sandbox
        .ledger_via(&member)
        .arg("orders")
        .run()
        .success()
        .stdout();
    assert_eq!(member_says, root_says);
    sandbox
        .ledger_via(&outsider)
        .arg("orders")
        .run()
        .expect_code(1)
        .expect_stderr("may not connect to")
        .expect_stderr("permission denied");
    server.stop();
}

/// Sends `head` (the request line and headers, without the blank line) and then `body` over
/// the ledger's socket, ignoring a write the server refused (it answers before reading
/// everything), and returns the status line of the answer.
fn raw_request(db: &Path, head: &str, body: &[&[u8]]) -> String {
    use std::io::{Read, Write};
    let mut stream =
        std::os::unix::net::UnixStream::connect(db.join("ledger.sock")).expect("connecting");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("a read timeout");
    let _ =
        stream.write_all(format!("{head}\r\nHost: ledger\r\nConnection: close\r\n\r\n").as_bytes());
    for piece in body {
        if stream.write_all(piece).is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    answer.lines().next().unwrap_or_default().to_string()
}

/// The files in the ledger's `spill/` directory (where the socket spools an oversize item).
fn spilled(db: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(db.join("spill"))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// An item over `--socket-item-limit` is answered 413, whether its `Content-Length` says so
/// or a chunked body passes the limit, and nothing of it is kept (no reject, no spooled file);
/// one within the limit is still kept whole.
#[test]
fn an_item_over_the_socket_limit_is_413_and_nothing_is_kept() {
    let sandbox = Sandbox::new();
    let db = sandbox.db();
    sandbox.ledger_at(&db).arg("init").run().success();
    let limit = 17 * 1024 * 1024;
    let server = Server::start_with(&db, &["--socket-item-limit", &limit.to_string()]);
    let post = "POST /api/v1/ingest-oversize?origin=raw HTTP/1.1";
    let status = raw_request(
        &db,
        &format!("{post}\r\nContent-Length: {}", limit + 1),
        &[],
    );
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    let chunk = vec![b'x'; 1024 * 1024];
    let framed = [
        format!("{:x}\r\n", chunk.len()).into_bytes(),
        chunk,
        b"\r\n".to_vec(),
    ]
    .concat();
    let pieces: Vec<&[u8]> = std::iter::repeat_n(framed.as_slice(), 18).collect();
    let status = raw_request(
        &db,
        &format!("{post}\r\nTransfer-Encoding: chunked"),
        &pieces,
    );
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert_eq!(spilled(&db), Vec::<PathBuf>::new());
    let rejects = sandbox
        .ledger_at(&db)
        .args(["--json", "rejects"])
        .run()
        .success()
        .json();
    assert_eq!(rejects.as_array().map(Vec::len), Some(0), "{rejects}");
    // Through the CLI the answer is said (the server closes the connection before the whole
    // item was sent), with the way out.
    let bigger = sandbox.write("bigger.eml", vec![b'x'; limit as usize + 1024 * 1024]);
    sandbox
        .ledger_at(&db)
        .arg("ingest")
        .arg(&bigger)
        .run()
        .expect_code(1)
        .expect_stderr("answered 413: an item through the socket is at most")
        .expect_stderr("--socket-item-limit");
    assert_eq!(spilled(&db), Vec::<PathBuf>::new());
    let big = sandbox.write("big.eml", vec![b'x'; 16 * 1024 * 1024 + 10]);
    sandbox
        .ledger_at(&db)
        .arg("ingest")
        .arg(&big)
        .run()
        .expect_code(3);
    let rejects = sandbox
        .ledger_at(&db)
        .args(["--json", "rejects"])
        .run()
        .success()
        .json();
    assert_eq!(rejects[0]["size"], 16 * 1024 * 1024 + 10);
    server.stop();
    assert_eq!(spilled(&db), Vec::<PathBuf>::new());
}

/// An item that does not arrive whole within `--socket-item-timeout` is answered 408, and
/// its spooled part is removed.
#[test]
fn an_item_that_does_not_arrive_in_time_is_408_and_nothing_is_kept() {
    let sandbox = Sandbox::new();
    let db = sandbox.db();
    sandbox.ledger_at(&db).arg("init").run().success();
    let server = Server::start_with(&db, &["--socket-item-timeout", "2s"]);
    let status = raw_request(
        &db,
        "POST /api/v1/ingest-oversize?origin=slow HTTP/1.1\r\nContent-Length: 20000000",
        &[&[b'x'; 4096]],
    );
    assert!(status.starts_with("HTTP/1.1 408"), "{status}");
    assert_eq!(spilled(&db), Vec::<PathBuf>::new());
    let rejects = sandbox
        .ledger_at(&db)
        .args(["--json", "rejects"])
        .run()
        .success()
        .json();
    assert_eq!(rejects.as_array().map(Vec::len), Some(0), "{rejects}");
    server.stop();
}
