//! `ledger serve` over real loopback HTTP: the real binary, a raw HTTP/1.1 client on a
//! `TcpStream` (so a test can also be a sender that never finishes its body), SIGTERM to stop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Sandbox, fixture};

/// A running `ledger serve`.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `ledger --db SANDBOX serve --listen 127.0.0.1:0 ARGS…` and waits for the address
    /// it prints.
    pub(crate) fn start(sandbox: &Sandbox, args: &[&str]) -> Server {
        Server::start_at(sandbox, "127.0.0.1:0", args)
    }

    /// As [`Server::start`], listening on `listen`.
    pub(crate) fn start_at(sandbox: &Sandbox, listen: &str, args: &[&str]) -> Server {
        Server::start_with_env(sandbox, listen, &[], args)
    }

    /// As [`Server::start_at`], with more environment variables.
    pub(crate) fn start_with_env(
        sandbox: &Sandbox,
        listen: &str,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ledger"))
            .env_remove("LEDGER_DB")
            .env_remove("LEDGER_AUTODNS_PASSWORD")
            .envs(env.iter().copied())
            .arg("--db")
            .arg(sandbox.db())
            .args(["serve", "--listen", listen])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting ledger serve");
        let stderr = child.stderr.take().expect("stderr piped");
        let seen = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let seen = seen.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(rest) = line.strip_prefix("listening on http://") {
                        let addr = rest.split_whitespace().next().unwrap_or_default();
                        let _ = tx.send(addr.to_string());
                    }
                    let mut all = seen.lock().expect("stderr lock");
                    all.push_str(&line);
                    all.push('\n');
                }
            });
        }
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("serve printed no address: {}", seen.lock().unwrap()));
        Server {
            child,
            addr: addr.parse().expect("an address"),
            stderr: seen,
        }
    }

    /// Everything the server wrote on stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// Waits (60 s at most) until stderr holds `needle`.
    pub(crate) fn wait_stderr(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.stderr().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "serve never said {needle:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET path` on the loopback listener, which must answer 200: the body.
    pub(crate) fn get(&self, path: &str) -> String {
        let reply = request(self.addr, "GET", path, &[], b"");
        assert_eq!(
            reply.status, 200,
            "GET {path}: {}{}",
            reply.head, reply.body
        );
        reply.body
    }

    /// The value of one metric line (`name{labels}`) in `/metrics`.
    pub(crate) fn metric(&self, series: &str) -> f64 {
        let text = self.get("/metrics");
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    }

    /// Sends SIGTERM and waits (60 s at most) for the exit; the status and all of stderr.
    pub(crate) fn stop(mut self) -> (ExitStatus, String) {
        let done = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(done.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waiting for serve") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop within 60 s of SIGTERM:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(50));
        (status, self.stderr())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status and body.
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// The status line and the headers.
    pub(crate) head: String,
    pub(crate) body: String,
}

impl Reply {
    /// The first value of header `name` (any case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One request on its own connection (`Connection: close`), the whole response read.
pub(crate) fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connecting");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("writing");
    // A server that refuses the body early (413) may close before all of it is written.
    let _ = stream.write_all(body);
    read_reply(&mut stream)
}

fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A reset after the answer (the server closed on an unread body) ends it too.
            Err(e) if !raw.is_empty() => {
                let _ = e;
                break;
            }
            Err(e) => panic!("reading the response: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        head: head.to_string(),
        body,
    }
}

/// The payload of a chunked body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

fn push(addr: SocketAddr, path: &str, body: &[u8]) -> Reply {
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/xml")],
        body,
    )
}

/// The XML and JSON fixtures (not the bad ones), by name.
fn xml_and_json_fixtures() -> Vec<std::path::PathBuf> {
    let mut all = Vec::new();
    for dir in ["autodns/xml", "autodns/json"] {
        for entry in std::fs::read_dir(fixture(dir)).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                all.push(path);
            }
        }
    }
    all.sort();
    all
}

/// What two ledgers must agree on: events (kind, ctid, domain, status, in order of content),
/// pending transfers at an instant, orders, failed creates.
fn facts(sandbox: &Sandbox) -> Value {
    facts_of(sandbox, true)
}

/// [`facts`], without the SHA-256 of each event's input when `with_source` is false (a mail
/// carrying a body is other bytes than the body).
fn facts_of(sandbox: &Sandbox, with_source: bool) -> Value {
    let export = sandbox.ledger().arg("export").run().success().stdout();
    let mut events: Vec<Value> = export
        .lines()
        .map(|l| {
            let e: Value = serde_json::from_str(l).expect("an event");
            json!([
                e["kind"],
                e["ctid"],
                e["domain"],
                e["status"]["code"],
                if with_source {
                    e["source"]["sha256"].clone()
                } else {
                    Value::Null
                }
            ])
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

/// Every XML/JSON fixture pushed gives the same events and projections as ingesting the same
/// files, and as ingesting them as mails; a second push of each is a duplicate of the first; SIGTERM ends it cleanly.
#[test]
fn pushes_of_every_fixture_equal_ingesting_them() {
    let served = Sandbox::new();
    let server = Server::start(&served, &[]);
    let files = xml_and_json_fixtures();
    assert!(files.len() >= 20, "{files:?}");
    let mut first = Vec::new();
    for file in &files {
        let body = std::fs::read(file).expect("fixture");
        let reply = push(server.addr, "/push/autodns", &body);
        assert_eq!(reply.status, 200, "{}: {}", file.display(), reply.body);
        first.push(reply.json());
    }
    for (file, before) in files.iter().zip(&first) {
        let body = std::fs::read(file).expect("fixture");
        let again = push(server.addr, "/push/autodns", &body).json();
        match before["outcome"].as_str() {
            Some("ingested") => {
                assert_eq!(again["outcome"], "duplicate", "{}", file.display());
                assert_eq!(again["duplicate_of"], before["seq"]);
            }
            Some("duplicate") => assert_eq!(again["duplicate_of"], before["duplicate_of"]),
            Some("rejected") => assert_eq!(again["reject_id"], before["reject_id"]),
            other => panic!("{}: outcome {other:?}", file.display()),
        }
    }
    let (status, stderr) = server.stop();
    assert!(status.success(), "{stderr}");

    let ingested = Sandbox::new();
    let _ = ingested.ledger().arg("ingest").args(&files).run();
    assert_eq!(facts(&served), facts(&ingested));

    // The same bodies as AutoDNS mails them (no `Date`, so each keeps its own `created`).
    let mailed = Sandbox::new();
    let mails: Vec<std::path::PathBuf> = files
        .iter()
        .enumerate()
        .map(|(n, file)| {
            let body = std::fs::read(file).expect("fixture");
            let mut mail = format!(
                "From: AutoDNS <robot@autodns.example>\nTo: hostmaster@reseller.example\n\
                 Subject: AutoDNS notification\nMessage-ID: <push-{n}@autodns.example>\n\
                 MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
            )
            .into_bytes();
            mail.extend_from_slice(&body);
            mailed.write(&format!("mail/{n:03}.eml"), mail)
        })
        .collect();
    let _ = mailed.ledger().arg("ingest").args(&mails).run();
    assert_eq!(facts_of(&served, false), facts_of(&mailed, false));
}

#[test]
fn a_push_needs_the_right_token_peer_size_and_method() {
    let sandbox = Sandbox::new();
    let token = sandbox.write("push.token", "s3cret-token\n");
    let mut perms = std::fs::metadata(&token).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
    std::fs::set_permissions(&token, perms).expect("chmod");
    let body = std::fs::read(fixture("autodns/xml/transfer_start-poll.xml")).expect("fixture");

    let server = Server::start(
        &sandbox,
        &["--push-token-file", token.to_str().expect("utf-8")],
    );
    assert_eq!(
        push(server.addr, "/push/autodns/wrong-token", &body).status,
        404
    );
    assert_eq!(push(server.addr, "/push/autodns", &body).status, 404);
    let get = request(server.addr, "GET", "/push/autodns/s3cret-token", &[], b"");
    assert_eq!(get.status, 405);
    // Over 1 MiB: refused from its declared length, before the body is sent (a body the
    // server does not read would make its close a reset, which may eat the answer).
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .write_all(
            b"POST /push/autodns/s3cret-token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1048577\r\n\r\n",
        )
        .expect("write");
    assert_eq!(read_reply(&mut stream).status, 413);
    let ok = push(server.addr, "/push/autodns/s3cret-token", &body);
    assert_eq!(
        (ok.status, ok.json()["outcome"].clone()),
        (200, json!("ingested"))
    );
    let _ = server.stop();

    // Only the allowed peer may push; with a trusted proxy, its appended hop is the peer.
    let server = Server::start(
        &sandbox,
        &[
            "--push-token-file",
            token.to_str().expect("utf-8"),
            "--push-allow",
            "62.116.129.216",
        ],
    );
    assert_eq!(
        push(server.addr, "/push/autodns/s3cret-token", &body).status,
        403
    );
    let _ = server.stop();
    let server = Server::start(
        &sandbox,
        &[
            "--push-token-file",
            token.to_str().expect("utf-8"),
            "--push-allow",
            "62.116.129.216",
            "--trust-forwarded-for",
        ],
    );
    let forged = request(
        server.addr,
        "POST",
        "/push/autodns/s3cret-token",
        &[("X-Forwarded-For", "62.116.129.216, 198.51.100.7")],
        &body,
    );
    assert_eq!(forged.status, 403, "the client's own claim does not count");
    let proxied = request(
        server.addr,
        "POST",
        "/push/autodns/s3cret-token",
        &[("X-Forwarded-For", "198.51.100.7, 62.116.129.216")],
        &body,
    );
    assert_eq!(
        (proxied.status, proxied.json()["outcome"].clone()),
        (200, json!("duplicate"))
    );
    let metrics = request(server.addr, "GET", "/metrics", &[], b"");
    assert!(
        metrics
            .body
            .contains("ledger_push_requests_total{outcome=\"forbidden\"} 1"),
        "{}",
        metrics.body
    );
    let _ = server.stop();
}

/// A sender that never finishes its body is answered 408 after 10 s and nothing is kept; one
/// that never finishes its headers is disconnected after 10 s.
#[test]
fn a_slow_sender_is_timed_out_and_nothing_is_kept() {
    let sandbox = Sandbox::new();
    let server = Server::start(&sandbox, &[]);
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream
        .write_all(
            b"POST /push/autodns HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 500\r\n\r\n<?xml version=\"1.0\"?><response>",
        )
        .expect("write");
    let started = std::time::Instant::now();
    let reply = read_reply(&mut stream);
    assert_eq!(reply.status, 408, "{}", reply.body);
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    let stats = request(server.addr, "GET", "/api/v1/stats", &[], b"").json();
    assert_eq!(
        (stats["events"].clone(), stats["quarantined"].clone()),
        (json!(0), json!(0))
    );

    // One that never finishes its headers is cut off too.
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream
        .write_all(b"POST /push/autodns HTTP/1.1\r\nHost: x\r\nContent-Le")
        .expect("write");
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(25),
        "{waited:?}"
    );
    let _ = server.stop();
}

/// The read API answers the CLI's own documents, in the CLI's value formats; the follow
/// stream sees a new event as it commits.
#[test]
fn the_read_api_answers_the_cli_documents_and_the_feed_follows() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(fixture("autodns/seed"))
        .run()
        .expect_code(3);
    let at = "2010-05-18 12:00";
    let cli_pending = sandbox.ok_json(["--json", "pending-transfers", "--at", at]);
    let cli_domain = sandbox.ok_json(["--json", "show", "--domain", "example.com"]);
    let cli_orders = sandbox.ok_json(["--json", "orders", "--status", "failed"]);
    let cli_stats = sandbox.ok_json(["--json", "stats"]);

    let server = Server::start(&sandbox, &[]);
    let get = |path: &str| request(server.addr, "GET", path, &[], b"");
    assert_eq!(
        get("/api/v1/pending-transfers?at=2010-05-18%2012:00").json(),
        cli_pending
    );
    assert_eq!(get("/api/v1/orders?status=failed").json(), cli_orders);
    let mut domain = get("/api/v1/domain/EXAMPLE.COM").json();
    let mut cli_domain = cli_domain;
    // "now"-relative: the overdue flag of a pending transfer is as of each call.
    for d in [&mut domain, &mut cli_domain] {
        d["state"]["pending_transfer"]["overdue"] = Value::Null;
    }
    assert_eq!(domain, cli_domain);
    let mut stats = get("/api/v1/stats").json();
    let mut cli_stats = cli_stats;
    for s in [&mut stats, &mut cli_stats] {
        s["disk_bytes"] = Value::Null;
    }
    assert_eq!(stats, cli_stats);
    assert_eq!(get("/api/v1/ctid/no-such-order").status, 404);
    assert_eq!(
        get("/api/v1/pending-transfers?at=2026-03-29%2002:30").status,
        400
    );
    assert_eq!(get("/api/v1/pending-transfers?due_within=-5h").status, 400);
    assert_eq!(get("/healthz").status, 200);
    let ready = get("/readyz");
    assert_eq!(ready.status, 200, "{}", ready.body);
    // Ready means the views stand at the log's head, and it says which seq that is.
    let head = cli_stats_events(&sandbox, &server);
    assert!(
        ready.body.contains(&format!("seq {head}")),
        "readyz: {}",
        ready.body
    );

    // The feed: what is there, then a new event as it commits.
    let events = cli_stats_events(&sandbox, &server);
    let mut follow = TcpStream::connect(server.addr).expect("connect");
    follow
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let since = events + 1;
    follow
        .write_all(
            format!("GET /api/v1/events?since={since}&follow=true HTTP/1.1\r\nHost: x\r\n\r\n")
                .as_bytes(),
        )
        .expect("write");
    std::thread::sleep(Duration::from_millis(300));
    let body =
        std::fs::read(fixture("autodns/json/transfer_start-poll-json.json")).expect("fixture");
    let pushed = push(server.addr, "/push/autodns", &body).json();
    assert_eq!(pushed["outcome"], "ingested");
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("\"transfer_out_started\"") {
        let n = follow.read(&mut buf).expect("the feed answers");
        assert!(n > 0, "the feed closed: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(
        seen.contains(&format!("\"seq\":{}", pushed["seq"])),
        "{seen}"
    );
    let (status, _) = server.stop();
    assert!(status.success());
}

fn cli_stats_events(_sandbox: &Sandbox, server: &Server) -> u64 {
    request(server.addr, "GET", "/api/v1/stats", &[], b"").json()["events"]
        .as_u64()
        .expect("a count")
}

/// A durable write made to fail (a file where the packs' directory goes) answers 503 to every
/// push and 200 to none, and keeps nothing.
#[test]
fn a_write_that_cannot_be_kept_is_503_for_every_push() {
    let sandbox = Sandbox::new();
    sandbox.ledger().arg("init").run().success();
    std::fs::write(sandbox.db().join("raw"), b"in the way").expect("a file");
    let server = Server::start(&sandbox, &[]);
    let addr = server.addr;
    let senders: Vec<_> = (0..8)
        .map(|n| {
            std::thread::spawn(move || {
                let body = format!(
                    "<?xml version=\"1.0\"?><response><result><data><summary>1</summary><message><id>{}</id><notify><domain><name>n{n}.example</name></domain><transfer><start>2021-05-03 11:05:56</start><autonack>2021-05-08 05:05:56</autonack></transfer><type>transfer_start</type></notify><created>2021-05-03 11:05:57</created></message></data><status><code>S0905</code><type>success</type></status></result></response>",
                    9000 + n
                );
                push(addr, "/push/autodns", body.as_bytes()).status
            })
        })
        .collect();
    for sender in senders {
        assert_eq!(sender.join().expect("sender"), 503);
    }
    let stats = request(addr, "GET", "/api/v1/stats", &[], b"").json();
    assert_eq!(stats["events"], 0);
    let (status, _) = server.stop();
    assert!(status.success());
}

/// A pushed transfer start with message id `id` for `domain`.
fn transfer_push(id: u32, domain: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?><response><result><data><summary>1</summary><message><id>{id}</id><notify><domain><name>{domain}</name></domain><transfer><start>2021-05-03 11:05:56</start><autonack>2021-05-08 05:05:56</autonack></transfer><type>transfer_start</type></notify><created>2021-05-03 11:05:57</created></message></data><status><code>S0905</code><type>success</type></status></result></response>"
    )
    .into_bytes()
}

/// `/readyz` answers 503, saying where the views and the log stand, while the views are
/// behind the log, and 200 once a write caught them up. The views fall behind when a views
/// step fails after its log batch was committed; `LEDGER_TEST_FAIL_VIEWS_STEP=1` (a test hook
/// of the ledger crate) makes the first write's fail.
#[test]
fn readyz_is_503_while_the_views_are_behind_and_200_once_caught_up() {
    let sandbox = Sandbox::new();
    sandbox.ledger().arg("init").run().success();
    let server = Server::start_with_env(
        &sandbox,
        "127.0.0.1:0",
        &[("LEDGER_TEST_FAIL_VIEWS_STEP", "1")],
        &[],
    );
    let addr = server.addr;
    let ready = request(addr, "GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 200, "{}", ready.body);
    // The log keeps the push; its views step fails, so it is not acknowledged.
    let failed = push(addr, "/push/autodns", &transfer_push(9001, "a.example"));
    assert_eq!(failed.status, 503, "{}", failed.body);
    let behind = request(addr, "GET", "/readyz", &[], b"");
    assert_eq!(behind.status, 503, "{}", behind.body);
    assert!(
        behind
            .body
            .contains("not ready: the views have folded up to seq 0, the log is at 1"),
        "{}",
        behind.body
    );
    let next = push(addr, "/push/autodns", &transfer_push(9002, "b.example"));
    assert_eq!(next.status, 200, "{}", next.body);
    let ready = request(addr, "GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert!(ready.body.contains("seq 2"), "{}", ready.body);
    let pending = request(
        addr,
        "GET",
        "/api/v1/pending-transfers?at=2021-05-04",
        &[],
        b"",
    );
    assert!(pending.body.contains("a.example"), "{}", pending.body);
    assert!(pending.body.contains("b.example"), "{}", pending.body);
    let (status, _) = server.stop();
    assert!(status.success());
    sandbox.ok_stdout(["verify"]);
}

/// Settings that would expose the ledger are refused before anything listens; a token file
/// others can read is refused; a port in use is one clear line.
#[test]
fn unsafe_or_impossible_settings_are_refused_clearly() {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .args(["serve", "--listen", "0.0.0.0:0"])
        .run()
        .expect_code(1)
        .expect_stderr("without a push token");
    let token = sandbox.write("open.token", "abc\n");
    let mut perms = std::fs::metadata(&token).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    std::fs::set_permissions(&token, perms).expect("chmod");
    sandbox
        .ledger()
        .args(["serve", "--push-token-file"])
        .arg(&token)
        .run()
        .expect_code(1)
        .expect_stderr("readable by every user");
    sandbox
        .ledger()
        .args(["serve", "--push-token-file"])
        .arg(Path::new("/nonexistent/push.token"))
        .run()
        .expect_code(1)
        .expect_stderr("--push-token-file /nonexistent/push.token");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("addr").to_string();
    let other = Sandbox::new();
    other
        .ledger()
        .args(["serve", "--listen", &port])
        .run()
        .expect_code(1)
        .expect_stderr("cannot listen on");
}

/// On a non-loopback address the read API needs the bearer token, and the push token is not
/// enough.
#[test]
fn the_api_on_an_exposed_address_needs_its_token() {
    let sandbox = Sandbox::new();
    let write_secret = |name: &str, secret: &str| {
        let path = sandbox.write(name, secret);
        let mut perms = std::fs::metadata(&path).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
        std::fs::set_permissions(&path, perms).expect("chmod");
        path
    };
    let push_token = write_secret("push.token", "push-secret");
    let api_token = write_secret("api.token", "api-secret");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .arg("--db")
        .arg(sandbox.db())
        .args(["serve", "--listen", "0.0.0.0:0", "--push-token-file"])
        .arg(&push_token)
        .arg("--api-token-file")
        .arg(&api_token)
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    BufReader::new(child.stderr.take().expect("stderr"))
        .read_line(&mut line)
        .expect("a line");
    let port: u16 = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    assert_eq!(request(addr, "GET", "/api/v1/stats", &[], b"").status, 401);
    let with_push = [("Authorization", "Bearer push-secret")];
    assert_eq!(
        request(addr, "GET", "/api/v1/stats", &with_push, b"").status,
        401
    );
    let with_api = [("Authorization", "Bearer api-secret")];
    assert_eq!(
        request(addr, "GET", "/api/v1/stats", &with_api, b"").status,
        200
    );
    assert_eq!(request(addr, "GET", "/metrics", &[], b"").status, 401);
    assert_eq!(request(addr, "GET", "/healthz", &[], b"").status, 200);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().expect("exit").success());
}

/// A distinct XML poll message (its own id and domain) for load.
fn distinct_push(n: u64) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><response><result><data><summary>1</summary>\
         <message><id>{n}</id><notify><domain><name>load-{n}.example</name></domain><transfer>\
         <gaining_registrar>greg</gaining_registrar><loosing_registrar>lreg</loosing_registrar>\
         <start>2021-05-03 11:05:56</start><reminder>2021-05-06 11:05:56</reminder>\
         <autonack>2021-05-08 05:05:56</autonack><end>2021-05-08 11:05:56</end></transfer>\
         <type>transfer_start</type></notify><created>2021-05-03 11:05:57</created></message>\
         </data><status><code>S0905</code><text>The notification was polled successfully.</text>\
         <type>success</type></status></result><stid>20210503-load-{n}</stid></response>"
    )
    .into_bytes()
}

/// SIGTERM while 16 senders push: the server exits 0, every answer it gave is a 200, and the
/// ledger holds exactly the pushes answered "ingested", each once.
#[test]
fn sigterm_under_load_answers_what_is_in_flight() {
    let sandbox = Sandbox::new();
    let server = Server::start(&sandbox, &[]);
    let addr = server.addr;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let senders: Vec<_> = (0..16u64)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut answered = Vec::new();
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let n = t * 1_000_000 + i;
                    let Ok(mut stream) = TcpStream::connect(addr) else {
                        break;
                    };
                    let body = distinct_push(n);
                    let head = format!(
                        "POST /push/autodns HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body)).is_err() {
                        break;
                    }
                    let mut raw = Vec::new();
                    if stream.read_to_end(&mut raw).is_err() || raw.is_empty() {
                        // Closed without an answer: only after the server stopped accepting.
                        break;
                    }
                    let text = String::from_utf8_lossy(&raw).into_owned();
                    answered.push((n, text));
                }
                answered
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let (status, stderr) = server.stop();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(status.success(), "{stderr}");
    let answered: Vec<(u64, String)> = senders
        .into_iter()
        .flat_map(|s| s.join().expect("sender"))
        .collect();
    assert!(answered.len() > 50, "too little load: {}", answered.len());
    for (n, text) in &answered {
        assert!(text.starts_with("HTTP/1.1 200"), "push {n}: {text}");
        assert!(
            text.contains("\"outcome\":\"ingested\""),
            "push {n}: {text}"
        );
    }
    let stats = sandbox.ok_json(["--json", "stats"]);
    assert_eq!(stats["events"], json!(answered.len()), "{stats:#}");
    let export = sandbox.ledger().arg("export").run().success().stdout();
    let mut domains: Vec<String> = export
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("event")["domain"].to_string())
        .collect();
    domains.sort();
    domains.dedup();
    assert_eq!(domains.len(), answered.len(), "each push once");
    sandbox.ledger().arg("verify").run().success();
}
