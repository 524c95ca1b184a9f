//! `cargo xtask push-bench`: acknowledged AutoDNS pushes per second of `ledger serve` (the
//! release binary) against the baseline a reseller would write instead (Python's
//! `ThreadingHTTPServer`, one SQLite commit per request), with the same load generator and the
//! same bodies, in interleaved rounds.
//!
//! The load generator is here: `senders` threads, each with its own HTTP/1.1 keep-alive
//! connection (a small hand-rolled client: one `write` per request, responses framed by
//! `Content-Length`), each pushing distinct notifications (XML and JSON, poll envelopes and
//! bare messages, every one with its own message id, ctid and domain) one after the other and
//! timing each request from its first byte written to its last byte read. Only a 200 whose
//! body says `"outcome":"ingested"` counts as an acknowledged push.
//!
//! After each ledger run: the commit histogram from `GET /metrics`, SIGTERM, `ledger verify`,
//! and the ledger's event count must equal the acknowledged pushes. After each baseline run:
//! SQLite's `integrity_check`, and its row count must equal the acknowledged pushes.
//!
//! The generator, the server and (for the ledger) its flushes share the machine's cores: the
//! figures are of the whole loop on one machine, not of the server alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// What `cargo xtask push-bench` was asked for.
pub struct Config {
    /// Interleaved rounds (each: one ledger run, one baseline run).
    pub rounds: usize,
    /// Concurrent senders (threads, one keep-alive connection each).
    pub senders: usize,
    /// How long each run sends (ignored with `count`).
    pub duration: Duration,
    /// Send exactly this many pushes per run instead (split over the senders).
    pub count: Option<u64>,
    /// Which servers.
    pub servers: Servers,
    /// This `ledger` binary instead of building the release one (to compare two builds).
    pub binary: Option<PathBuf>,
    /// Also read an order's history over HTTP and through the socket while the pushes run.
    pub reads: bool,
    /// Serve a copy of this ledger (a 1M-event one, say) instead of an empty one, so reads
    /// and pushes meet a ledger of that size; its events are counted before the run.
    pub ledger_from: Option<PathBuf>,
    /// Scratch directory (ledgers, SQLite files, the script); default a fresh one under the
    /// system's temp dir, removed afterwards.
    pub work: Option<PathBuf>,
}

/// Which servers a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Servers {
    /// `ledger serve` and the baseline, interleaved.
    Both,
    /// `ledger serve` only.
    Ledger,
    /// The Python/SQLite baseline only.
    Baseline,
}

/// The baseline: what a reseller would write instead of `ledger serve`. One SQLite connection
/// in WAL mode with `synchronous=FULL` behind a lock (one connection per thread would fight
/// over SQLite's write lock, whose busy handler sleeps), one transaction and one commit per
/// request, 200 only after the commit. Duplicates (the same bytes) are answered `duplicate`.
const BASELINE_PY: &str = r#"
import hashlib, http.server, json, os, sqlite3, sys, threading

DB = sys.argv[1]
PATH = "/push/autodns/" + os.environ["BASELINE_PUSH_TOKEN"]

def connect():
    db = sqlite3.connect(DB, timeout=60, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db

db = connect()
if sys.argv[2:] == ["check"]:
    print(db.execute("PRAGMA integrity_check").fetchone()[0])
    print(db.execute("SELECT count(*) FROM notifications").fetchone()[0])
    sys.exit(0)
db.execute("""CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    sha256 BLOB NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    peer TEXT NOT NULL,
    body BLOB NOT NULL)""")
lock = threading.Lock()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        if self.path != PATH:
            return self.answer(404, {"error": "no such path"})
        length = int(self.headers.get("Content-Length", "0"))
        if length > 1024 * 1024:
            return self.answer(413, {"error": "too large"})
        body = self.rfile.read(length)
        digest = hashlib.sha256(body).digest()
        with lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                cur = db.execute(
                    "INSERT OR IGNORE INTO notifications (sha256, received_at, peer, body) "
                    "VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?, ?)",
                    (digest, self.client_address[0], body))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        if cur.rowcount == 1:
            self.answer(200, {"outcome": "ingested", "seq": cur.lastrowid})
        else:
            self.answer(200, {"outcome": "duplicate"})

    def answer(self, status, document):
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True

server = Server(("127.0.0.1", 0), Handler)
print("listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
server.serve_forever()
"#;

/// The distinct notifications of one run: sender `sender`'s `n`th push. Four shapes in turn
/// (XML poll envelope of a create job, XML bare transfer notify, JSON poll envelope of a
/// create job, JSON bare transfer notify); each has its own message id, ctid (jobs) and
/// domain, so no two are duplicates. Deterministic: every run pushes the same bodies.
pub(crate) fn notification(sender: usize, n: u64) -> (&'static str, String) {
    let unique = sender as u64 * 100_000_000 + n;
    let id = 1_100_000_000 + unique;
    let ctid = format!("pb-{sender:02}-{n:08}");
    let domain = format!("push-{sender:02}-{n:08}.example");
    let second = n % 60;
    let minute = (n / 60) % 60;
    let hour = 8 + (n / 3600) % 12;
    match n % 4 {
        0 => (
            "application/xml",
            format!(
                r#"<?xml version="1.0" encoding="utf-8"?>
<response>
  <result>
    <data>
      <summary>1</summary>
      <message>
        <id>{id}</id>
        <owner>
          <user>customer</user>
          <context>4</context>
        </owner>
        <job>
          <domain>
            <name>{domain}</name>
            <ownerc>10465800</ownerc>
            <adminc>10465800</adminc>
            <techc>10465800</techc>
            <zonec>10465800</zonec>
            <nserver>
              <name>ns1.example.com</name>
            </nserver>
            <nserver>
              <name>ns2.example.com</name>
            </nserver>
            <period>1</period>
            <authinfo>819fd1d6b1</authinfo>
            <owner>
              <user>customer</user>
              <context>4</context>
            </owner>
          </domain>
          <status>
            <text>Die Domain wurde erfolgreich registriert.</text>
            <code>S0101</code>
            <type>success</type>
            <object>
              <type>domain</type>
              <value>{domain}</value>
            </object>
          </status>
          <ctid>{ctid}</ctid>
        </job>
        <created>2026-12-02 {hour:02}:{minute:02}:{second:02}</created>
      </message>
    </data>
    <status>
      <code>S0905</code>
      <text>The notification was polled successfully.</text>
      <type>success</type>
    </status>
  </result>
  <stid>20261202-app2-{unique}</stid>
</response>
"#
            ),
        ),
        1 => (
            "application/xml",
            format!(
                r#"<?xml version="1.0" encoding="utf-8"?>
<message>
  <id>{id}</id>
  <owner />
  <notify>
    <domain>
      <name>{domain}</name>
    </domain>
    <transfer>
      <gaining_registrar>greg</gaining_registrar>
      <loosing_registrar>lreg</loosing_registrar>
      <start>2026-12-02 {hour:02}:{minute:02}:{second:02}</start>
      <reminder>2026-12-05 {hour:02}:{minute:02}:{second:02}</reminder>
      <autonack>2026-12-07 {hour:02}:{minute:02}:{second:02}</autonack>
      <end>2026-12-07 {hour:02}:{minute:02}:{second:02}</end>
      <owner>
        <user>customer</user>
        <context>4</context>
      </owner>
    </transfer>
    <type>transfer_start</type>
  </notify>
  <created>2026-12-02 {hour:02}:{minute:02}:{second:02}</created>
</message>
"#
            ),
        ),
        2 => (
            "application/json",
            format!(
                r#"{{
    "stid": "20261202-app1-{unique}",
    "status": {{
        "code": "S0905",
        "text": "The notification was polled successfully.",
        "type": "SUCCESS"
    }},
    "object": {{
        "type": "Message",
        "value": "{id}",
        "summary": 1
    }},
    "data": [
        {{
            "id": {id},
            "job": {{
                "created": "2026-12-02T{hour:02}:{minute:02}:{second:02}.000+0100",
                "updated": "2026-12-02T{hour:02}:{minute:02}:{second:02}.000+0100",
                "status": "SUCCESS",
                "execution": "2026-12-02T{hour:02}:{minute:02}:{second:02}.000+0100",
                "subType": "VGRS_com",
                "action": "create",
                "id": {job}
            }},
            "stid": "20261202-app2-{unique}",
            "ctid": "{ctid}",
            "object": {{
                "type": "Domain",
                "value": "{domain}",
                "data": {{
                    "name": "{domain}"
                }}
            }}
        }}
    ]
}}
"#,
                job = 4_300_000_000 + unique
            ),
        ),
        _ => (
            "application/json",
            format!(
                r#"{{
    "id": {id},
    "notify": {{
        "type": "transfer_start",
        "object": {{
            "type": "Transfer",
            "data": {{
                "gainingRegistrar": "greg",
                "loosingRegistrar": "lreg",
                "start": "2026-12-02T{hour:02}:{minute:02}:{second:02}.000+0100",
                "reminder": "2026-12-05T{hour:02}:{minute:02}:{second:02}.000+0100",
                "end": "2026-12-07T{hour:02}:{minute:02}:{second:02}.000+0100"
            }}
        }}
    }},
    "object": {{
        "type": "Domain",
        "value": "{domain}",
        "data": {{
            "name": "{domain}"
        }}
    }}
}}
"#
            ),
        ),
    }
}

/// One HTTP/1.1 response as the load generator reads it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    /// The server will close the connection after it (`Connection: close`, or HTTP/1.0
    /// without keep-alive).
    pub(crate) close: bool,
}

/// Reads one response from a keep-alive connection: the status line, the headers, and a body
/// of exactly `Content-Length` bytes (none for 1xx, 204 and 304; 1xx responses are skipped).
/// A chunked body, a body without a length, or a malformed head is an `InvalidData` error; a
/// connection closed before the response is complete is `UnexpectedEof`.
pub(crate) fn read_response(reader: &mut impl BufRead) -> io::Result<Response> {
    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            ));
        }
        if !line.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside the status line",
            ));
        }
        let text = trim_line(&line)?;
        let mut parts = text.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let status = parts
            .next()
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|s| (100..600).contains(s))
            .ok_or_else(|| bad(format!("not a status line: {text:?}")))?;
        let http10 = match version {
            "HTTP/1.1" => false,
            "HTTP/1.0" => true,
            _ => return Err(bad(format!("not HTTP/1.x: {text:?}"))),
        };
        let mut length = None;
        let mut connection = None;
        loop {
            line.clear();
            if !reader
                .read_until(b'\n', &mut line)
                .map(|_| line.ends_with(b"\n"))?
            {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside the response headers",
                ));
            }
            let header = trim_line(&line)?;
            if header.is_empty() {
                break;
            }
            let (name, value) = header
                .split_once(':')
                .ok_or_else(|| bad(format!("not a header: {header:?}")))?;
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                let n = value
                    .parse::<usize>()
                    .map_err(|_| bad(format!("bad Content-Length: {value:?}")))?;
                if length.is_some_and(|l| l != n) {
                    return Err(bad("two different Content-Length headers".into()));
                }
                length = Some(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(bad(format!("Transfer-Encoding {value:?} is not supported")));
            } else if name.eq_ignore_ascii_case("connection") {
                connection = Some(value.to_ascii_lowercase());
            }
        }
        if (100..200).contains(&status) {
            continue;
        }
        let length = match (status, length) {
            (204 | 304, _) => 0,
            (_, Some(n)) => n,
            (_, None) => return Err(bad(format!("a {status} response without Content-Length"))),
        };
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let close = match connection.as_deref() {
            Some(c) if c.split(',').any(|t| t.trim() == "close") => true,
            Some(c) if c.split(',').any(|t| t.trim() == "keep-alive") => false,
            _ => http10,
        };
        return Ok(Response {
            status,
            body,
            close,
        });
    }
}

/// A line without its CRLF (or LF), as text.
fn trim_line(line: &[u8]) -> io::Result<&str> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    std::str::from_utf8(line)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a response line is not UTF-8"))
}

/// A keep-alive connection of the load generator.
struct Connection {
    addr: SocketAddr,
    stream: Option<BufReader<TcpStream>>,
    request: Vec<u8>,
}

impl Connection {
    fn new(addr: SocketAddr) -> Connection {
        Connection {
            addr,
            stream: None,
            request: Vec::with_capacity(4096),
        }
    }

    fn connect(&mut self) -> io::Result<&mut BufReader<TcpStream>> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            self.stream = Some(BufReader::with_capacity(16 * 1024, stream));
        }
        Ok(self.stream.as_mut().expect("connected just above"))
    }

    /// Sends one request (head and body in one write) and reads its response.
    fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> io::Result<Response> {
        self.request.clear();
        let _ = write!(
            self.request,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: xtask-push-bench\r\n",
            self.addr
        );
        if !body.is_empty() || method == "POST" {
            let _ = write!(
                self.request,
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            );
        }
        self.request.extend_from_slice(b"\r\n");
        self.request.extend_from_slice(body);
        let request = std::mem::take(&mut self.request);
        let result = self.connect().and_then(|stream| {
            stream.get_mut().write_all(&request)?;
            read_response(stream)
        });
        self.request = request;
        match result {
            Ok(response) => {
                if response.close {
                    self.stream = None;
                }
                Ok(response)
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }
}

/// When a run stops.
#[derive(Debug, Clone, Copy)]
enum Stop {
    After(Duration),
    Count(u64),
}

/// What one sender saw.
#[derive(Default)]
struct SenderStats {
    /// Per request, in µs.
    latencies: Vec<u32>,
    ingested: u64,
    /// 200s with another outcome, by outcome.
    other_ok: BTreeMap<String, u64>,
    /// Non-200 answers by status.
    statuses: BTreeMap<u16, u64>,
    /// The first I/O error, which ended this sender.
    error: Option<String>,
}

/// What one run of the load generator measured.
struct Load {
    elapsed: Duration,
    requests: u64,
    ingested: u64,
    other_ok: BTreeMap<String, u64>,
    statuses: BTreeMap<u16, u64>,
    errors: Vec<String>,
    /// Sorted, µs.
    latencies: Vec<u32>,
}

impl Load {
    fn rate(&self) -> f64 {
        self.ingested as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }

    fn oks(&self) -> u64 {
        self.ingested + self.other_ok.values().sum::<u64>()
    }
}

/// The nearest-rank `p` percentile of `sorted` latencies in µs (zero when there are none).
pub(crate) fn percentile<T: Copy + Into<u64>>(sorted: &[T], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    Duration::from_micros(sorted[i - 1].into())
}

/// Runs the load generator against `addr`/`path`: `senders` threads connect, wait for each
/// other, then push until `stop`.
fn load(addr: SocketAddr, path: &str, senders: usize, stop: Stop) -> Result<Load, String> {
    let barrier = Arc::new(Barrier::new(senders + 1));
    let mut handles = Vec::with_capacity(senders);
    for sender in 0..senders {
        let barrier = barrier.clone();
        let path = path.to_string();
        let quota = match stop {
            Stop::After(_) => u64::MAX,
            Stop::Count(n) => n / senders as u64 + u64::from((sender as u64) < n % senders as u64),
        };
        let handle = std::thread::Builder::new()
            .name(format!("sender-{sender}"))
            .spawn(move || {
                let mut stats = SenderStats {
                    latencies: Vec::with_capacity(1 << 16),
                    ..SenderStats::default()
                };
                let mut connection = Connection::new(addr);
                let connected = connection.connect().map(|_| ());
                barrier.wait();
                if let Err(e) = connected {
                    stats.error = Some(format!("connecting: {e}"));
                    return stats;
                }
                let deadline = match stop {
                    Stop::After(d) => Some(Instant::now() + d),
                    Stop::Count(_) => None,
                };
                let mut n = 0;
                while n < quota && deadline.is_none_or(|d| Instant::now() < d) {
                    let (content_type, body) = notification(sender, n);
                    n += 1;
                    let started = Instant::now();
                    let response = connection.send("POST", &path, content_type, body.as_bytes());
                    let took = started.elapsed();
                    let response = match response {
                        Ok(r) => r,
                        Err(e) => {
                            stats.error = Some(format!("push {n}: {e}"));
                            break;
                        }
                    };
                    stats
                        .latencies
                        .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
                    if response.status == 200 {
                        match outcome(&response.body) {
                            Some(o) if o == "ingested" => stats.ingested += 1,
                            o => {
                                *stats
                                    .other_ok
                                    .entry(o.unwrap_or_else(|| "(no outcome)".into()))
                                    .or_default() += 1
                            }
                        }
                    } else {
                        *stats.statuses.entry(response.status).or_default() += 1;
                    }
                }
                stats
            })
            .map_err(|e| format!("starting a sender thread: {e}"))?;
        handles.push(handle);
    }
    barrier.wait();
    let started = Instant::now();
    let mut all = Vec::with_capacity(senders);
    for handle in handles {
        all.push(handle.join().map_err(|_| "a sender thread panicked")?);
    }
    let elapsed = started.elapsed();
    let mut load = Load {
        elapsed,
        requests: 0,
        ingested: 0,
        other_ok: BTreeMap::new(),
        statuses: BTreeMap::new(),
        errors: Vec::new(),
        latencies: Vec::new(),
    };
    for s in all {
        load.requests += s.latencies.len() as u64;
        load.ingested += s.ingested;
        for (k, v) in s.other_ok {
            *load.other_ok.entry(k).or_default() += v;
        }
        for (k, v) in s.statuses {
            *load.statuses.entry(k).or_default() += v;
        }
        load.errors.extend(s.error);
        load.latencies.extend(s.latencies);
    }
    load.latencies.sort_unstable();
    Ok(load)
}

/// The `outcome` of a push's JSON answer.
fn outcome(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("outcome")?.as_str().map(str::to_string)
}

/// What the ledger's `/metrics` said about its group commits during a run.
#[derive(Default)]
struct Commits {
    count: u64,
    sum_seconds: f64,
    /// (upper bound in seconds, cumulative count).
    buckets: Vec<(f64, u64)>,
    /// Items per commit, when the server exports them: (upper bound, cumulative count).
    items_buckets: Vec<(f64, u64)>,
    items_sum: f64,
}

impl Commits {
    fn parse(text: &str) -> Commits {
        let mut c = Commits::default();
        for line in text.lines() {
            let Some((name, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let le = || {
                name.split("le=\"")
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .map(|s| {
                        if s == "+Inf" {
                            f64::INFINITY
                        } else {
                            s.parse().unwrap_or(f64::NAN)
                        }
                    })
            };
            if name == "ledger_commit_duration_seconds_count" {
                c.count = value as u64;
            } else if name == "ledger_commit_duration_seconds_sum" {
                c.sum_seconds = value;
            } else if name.starts_with("ledger_commit_duration_seconds_bucket")
                && let Some(le) = le()
            {
                c.buckets.push((le, value as u64));
            } else if name == "ledger_commit_items_sum" {
                c.items_sum = value;
            } else if name.starts_with("ledger_commit_items_bucket")
                && let Some(le) = le()
            {
                c.items_buckets.push((le, value as u64));
            }
        }
        c
    }

    /// The smallest bucket bound holding at least `p` of the observations.
    fn quantile(buckets: &[(f64, u64)], p: f64) -> Option<f64> {
        let total = buckets.last()?.1;
        let want = (total as f64 * p).ceil() as u64;
        buckets.iter().find(|(_, n)| *n >= want).map(|(le, _)| *le)
    }

    fn summary(&self, pushes: u64) -> String {
        if self.count == 0 {
            return "no commits in /metrics".into();
        }
        let mut s = format!(
            "{} commits, mean {:.2} ms, p50 ≤ {} ms, p99 ≤ {} ms; {:.1} pushes per commit",
            self.count,
            self.sum_seconds * 1000.0 / self.count as f64,
            ms_bound(Self::quantile(&self.buckets, 0.5)),
            ms_bound(Self::quantile(&self.buckets, 0.99)),
            pushes as f64 / self.count as f64
        );
        if !self.items_buckets.is_empty() {
            let _ = write!(
                s,
                " (items per commit: mean {:.1}, p50 ≤ {}, p99 ≤ {})",
                self.items_sum / self.count as f64,
                num_bound(Self::quantile(&self.items_buckets, 0.5)),
                num_bound(Self::quantile(&self.items_buckets, 0.99))
            );
        }
        s
    }
}

fn ms_bound(b: Option<f64>) -> String {
    match b {
        Some(b) if b.is_finite() => format!("{:.1}", b * 1000.0),
        Some(_) => "∞".into(),
        None => "?".into(),
    }
}

fn num_bound(b: Option<f64>) -> String {
    match b {
        Some(b) if b.is_finite() => format!("{b}"),
        Some(_) => "∞".into(),
        None => "?".into(),
    }
}

/// One measured run.
struct Run {
    load: Load,
    /// Commit figures (the ledger only).
    commits: Option<String>,
    /// Reads beside the pushes (the ledger only).
    reads: Option<Reads>,
}

/// Reads taken while the pushes run: an order's history over HTTP (`GET /api/v1/ctid/…`)
/// and through the ledger's socket by the real CLI (`ledger show --ctid … --json`, a process
/// each), one after the other with a pause of 100 ms, as people and cron jobs would read.
#[derive(Default)]
struct Reads {
    /// Sorted, µs.
    http: Vec<u64>,
    /// Sorted, µs.
    cli: Vec<u64>,
    errors: Vec<String>,
}

impl Reads {
    fn summary(&self) -> String {
        let mut s = format!(
            "reads under load: HTTP {} (p50 {}, p99 {}), `show --ctid` via the socket {} (p50 {}, p99 {})",
            self.http.len(),
            ms(percentile(&self.http, 0.5)),
            ms(percentile(&self.http, 0.99)),
            self.cli.len(),
            ms(percentile(&self.cli, 0.5)),
            ms(percentile(&self.cli, 0.99)),
        );
        if let Some(e) = self.errors.first() {
            let _ = write!(s, "; {} errors, first: {e}", self.errors.len());
        }
        s
    }
}

/// Reads `ctid`'s history until `done`, once it exists (the first push of sender 0 makes it).
fn reader(
    binary: PathBuf,
    db: PathBuf,
    addr: SocketAddr,
    done: Arc<std::sync::atomic::AtomicBool>,
) -> Reads {
    use std::sync::atomic::Ordering;
    let ctid = "pb-00-00000000";
    let path = format!("/api/v1/ctid/{ctid}");
    let mut reads = Reads::default();
    let mut http = Connection::new(addr);
    // Until the order exists.
    while !done.load(Ordering::SeqCst) {
        match http.send("GET", &path, "", b"") {
            Ok(r) if r.status == 200 => break,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    while !done.load(Ordering::SeqCst) {
        let started = Instant::now();
        match http.send("GET", &path, "", b"") {
            Ok(r) if r.status == 200 => reads.http.push(started.elapsed().as_micros() as u64),
            Ok(r) => reads.errors.push(format!("GET {path}: {}", r.status)),
            Err(e) => reads.errors.push(format!("GET {path}: {e}")),
        }
        let started = Instant::now();
        let out = Command::new(&binary)
            .env_remove("LEDGER_DB")
            .arg("--db")
            .arg(&db)
            .args(["show", "--ctid", ctid, "--json"])
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(out) if out.status.success() => reads.cli.push(started.elapsed().as_micros() as u64),
            Ok(out) => reads.errors.push(format!(
                "show --ctid: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => reads.errors.push(format!("show --ctid: {e}")),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reads.http.sort_unstable();
    reads.cli.sort_unstable();
    reads
}

/// A started server: the child and the address its stdout or stderr named.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
    /// The rest of the output it names its address on, read on a thread.
    output: std::thread::JoinHandle<String>,
}

/// Reads `lines` until one says `listening on http://ADDR`; the rest is drained on a thread.
pub(crate) fn started(mut child: Child, lines: Box<dyn Read + Send>) -> Result<Server, String> {
    let mut reader = BufReader::new(lines);
    let mut seen = String::new();
    let addr = loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the server exited before listening: {seen}"));
            }
            Ok(_) => {}
        }
        if let Some(rest) = line.trim().strip_prefix("listening on http://") {
            let addr = rest.split_whitespace().next().unwrap_or_default();
            match addr.parse::<SocketAddr>() {
                Ok(a) => break a,
                Err(_) => return Err(format!("cannot read the address in {line:?}")),
            }
        }
        seen.push_str(&line);
    };
    let output = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = reader.read_to_string(&mut rest);
        rest
    });
    Ok(Server {
        child,
        addr,
        output,
    })
}

impl Server {
    /// SIGTERM, then waits (up to 30 s) for it to exit; its exit code and what it printed.
    pub(crate) fn stop(mut self) -> Result<(Option<i32>, String), String> {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling our own child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return Err("the server did not stop within 30 s of SIGTERM".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let output = self.output.join().unwrap_or_default();
        Ok((status.code(), output))
    }
}

/// A secret for the push path, different in each run.
fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("bench{:x}{:x}", std::process::id(), nanos)
}

fn ledger_run(
    binary: &Path,
    dir: &Path,
    senders: usize,
    stop: Stop,
    with_reads: bool,
    from: Option<&Path>,
) -> Result<Run, String> {
    let db = dir.join("ledger");
    remove_dir(&db)?;
    let before = match from {
        Some(from) => {
            copy_ledger(from, &db)?;
            event_count(binary, &db)?
        }
        None => 0,
    };
    let token = token();
    let mut child = Command::new(binary)
        .env_remove("LEDGER_DB")
        .env_remove("LEDGER_API_TOKEN")
        .env("LEDGER_PUSH_TOKEN", &token)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {} serve: {e}", binary.display()))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let server = started(child, Box::new(stderr))?;
    let path = format!("/push/autodns/{token}");
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reading = with_reads.then(|| {
        let (binary, db, addr, done) =
            (binary.to_path_buf(), db.clone(), server.addr, done.clone());
        std::thread::spawn(move || reader(binary, db, addr, done))
    });
    let measured = load(server.addr, &path, senders, stop);
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let reads = match reading {
        Some(handle) => Some(handle.join().map_err(|_| "the reader thread panicked")?),
        None => None,
    };
    let metrics = Connection::new(server.addr).send("GET", "/metrics", "", b"");
    let (code, output) = server.stop()?;
    let load = measured?;
    if code != Some(0) {
        return Err(format!("ledger serve exited {code:?}: {output}"));
    }
    let metrics = metrics.map_err(|e| format!("GET /metrics: {e}"))?;
    let commits = Commits::parse(&String::from_utf8_lossy(&metrics.body)).summary(load.oks());

    let out = Command::new(binary)
        .env_remove("LEDGER_DB")
        .arg("--db")
        .arg(&db)
        .arg("verify")
        .output()
        .map_err(|e| format!("ledger verify: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ledger verify failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let events = event_count(binary, &db)?;
    if events != before + load.ingested {
        return Err(format!(
            "the ledger holds {events} events but it held {before} and {} pushes were \
             acknowledged as ingested",
            load.ingested
        ));
    }
    remove_dir(&db)?;
    Ok(Run {
        load,
        commits: Some(commits),
        reads,
    })
}

/// The events `ledger --json stats` counts in the ledger at `db`.
fn event_count(binary: &Path, db: &Path) -> Result<u64, String> {
    let out = Command::new(binary)
        .env_remove("LEDGER_DB")
        .arg("--db")
        .arg(db)
        .args(["--json", "stats"])
        .output()
        .map_err(|e| format!("ledger stats: {e}"))?;
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("ledger --json stats: not JSON: {e}"))?;
    stats["events"]
        .as_u64()
        .ok_or_else(|| "stats without events".to_string())
}

/// Copies the ledger directory `from` to `to` (`cp -a`: packs, sled files, trust policy).
fn copy_ledger(from: &Path, to: &Path) -> Result<(), String> {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .map_err(|e| format!("cp -a {}: {e}", from.display()))?;
    if !status.success() {
        return Err(format!(
            "cp -a {} {} failed: {status}",
            from.display(),
            to.display()
        ));
    }
    Ok(())
}

fn baseline_run(dir: &Path, senders: usize, stop: Stop) -> Result<Run, String> {
    let script = dir.join("baseline.py");
    std::fs::write(&script, BASELINE_PY).map_err(|e| format!("{}: {e}", script.display()))?;
    let db = dir.join("baseline.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    let token = token();
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(&db)
        .env("BASELINE_PUSH_TOKEN", &token)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting python3 {}: {e}", script.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let server = started(child, Box::new(stdout))?;
    let path = format!("/push/autodns/{token}");
    let measured = load(server.addr, &path, senders, stop);
    // Python's default SIGTERM ends it at once: every acknowledged push is committed already.
    let _ = server.stop()?;
    let load = measured?;
    let out = Command::new("python3")
        .arg(&script)
        .arg(&db)
        .arg("check")
        .env("BASELINE_PUSH_TOKEN", &token)
        .output()
        .map_err(|e| format!("python3 {} check: {e}", script.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    if !out.status.success() || lines.next() != Some("ok") {
        return Err(format!(
            "the baseline's SQLite integrity_check failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let rows: u64 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("no row count from the check: {text}"))?;
    if rows != load.ingested {
        return Err(format!(
            "the baseline holds {rows} rows but {} pushes were acknowledged as ingested",
            load.ingested
        ));
    }
    Ok(Run {
        load,
        commits: None,
        reads: None,
    })
}

fn remove_dir(path: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(format!("removing {}: {e}", path.display()))
        }
        _ => Ok(()),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn describe(name: &str, round: usize, run: &Run) -> String {
    let l = &run.load;
    let mut s = format!(
        "round {round} {name:<8}: {:>8.0} acknowledged pushes/s ({} in {:.2} s), latency p50 {} p99 {} max {}",
        l.rate(),
        l.ingested,
        l.elapsed.as_secs_f64(),
        ms(l.percentile(0.5)),
        ms(l.percentile(0.99)),
        ms(l.latencies
            .last()
            .map_or(Duration::ZERO, |&u| { Duration::from_micros(u64::from(u)) })),
    );
    if l.requests != l.ingested {
        let _ = write!(
            s,
            "; {} requests: other 200s {:?}, statuses {:?}",
            l.requests, l.other_ok, l.statuses
        );
    }
    if !l.errors.is_empty() {
        let _ = write!(
            s,
            "; {} senders ended on an error, first: {}",
            l.errors.len(),
            l.errors[0]
        );
    }
    if let Some(c) = &run.commits {
        let _ = write!(s, "\n    ledger commits: {c}");
    }
    if let Some(r) = &run.reads {
        let _ = write!(s, "\n    {}", r.summary());
    }
    s
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

/// Runs the benchmark and prints each round, the medians and the targets.
pub fn run(config: &Config) -> Result<(), String> {
    if config.senders == 0 || config.rounds == 0 {
        return Err("--senders and --rounds must be at least 1".into());
    }
    let binary = match &config.binary {
        Some(b) => b.clone(),
        None => crate::build_release_ledger()?.0,
    };
    let (dir, scratch) = match &config.work {
        Some(w) => (w.clone(), false),
        None => (
            std::env::temp_dir().join(format!("ledger-push-bench-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stop = match config.count {
        Some(n) => Stop::Count(n),
        None => Stop::After(config.duration),
    };
    eprintln!(
        "push-bench: {} senders (one HTTP/1.1 keep-alive connection each), {}, {} round(s), in {}",
        config.senders,
        match stop {
            Stop::After(d) => format!("{:.0} s per run", d.as_secs_f64()),
            Stop::Count(n) => format!("{n} pushes per run"),
        },
        config.rounds,
        dir.display()
    );
    let mut ledger = Vec::new();
    let mut baseline = Vec::new();
    for round in 1..=config.rounds {
        if config.servers != Servers::Baseline {
            let run = ledger_run(
                &binary,
                &dir,
                config.senders,
                stop,
                config.reads,
                config.ledger_from.as_deref(),
            )
            .map_err(|e| format!("round {round}, ledger: {e}"))?;
            println!("{}", describe("ledger", round, &run));
            ledger.push(run);
        }
        if config.servers != Servers::Ledger {
            let run = baseline_run(&dir, config.senders, stop)
                .map_err(|e| format!("round {round}, baseline: {e}"))?;
            println!("{}", describe("baseline", round, &run));
            baseline.push(run);
        }
    }
    let summary = |runs: &[Run]| {
        (
            median(runs.iter().map(|r| r.load.rate()).collect()),
            median(
                runs.iter()
                    .map(|r| r.load.percentile(0.5).as_secs_f64() * 1000.0)
                    .collect(),
            ),
            median(
                runs.iter()
                    .map(|r| r.load.percentile(0.99).as_secs_f64() * 1000.0)
                    .collect(),
            ),
        )
    };
    println!();
    let (lr, lp50, lp99) = summary(&ledger);
    let (br, bp50, bp99) = summary(&baseline);
    if !ledger.is_empty() {
        println!(
            "median ledger  : {lr:.0} acknowledged pushes/s, p50 {lp50:.1} ms, p99 {lp99:.1} ms \
             (target ≥ 5000/s with p99 < 50 ms: {})",
            if lr >= 5000.0 && lp99 < 50.0 {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    if !baseline.is_empty() {
        println!(
            "median baseline: {br:.0} acknowledged pushes/s, p50 {bp50:.1} ms, p99 {bp99:.1} ms"
        );
    }
    if !ledger.is_empty() && !baseline.is_empty() {
        let ratios: Vec<f64> = ledger
            .iter()
            .zip(&baseline)
            .map(|(l, b)| l.load.rate() / b.load.rate())
            .collect();
        let per_round = ratios
            .iter()
            .map(|r| format!("{r:.1}"))
            .collect::<Vec<_>>()
            .join(", ");
        let m = median(ratios);
        println!(
            "ledger / baseline: {m:.1}x median (rounds: {per_round}) (target ≥ 10x: {})",
            if m >= 10.0 { "met" } else { "NOT met" }
        );
    }
    if scratch {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Response, read_response};
    use std::io::{BufReader, ErrorKind, Read};

    /// Hands out its bytes a few at a time, as a socket may.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn responses(bytes: &[u8], step: usize) -> Vec<std::io::Result<Response>> {
        let mut reader = BufReader::with_capacity(7, Trickle(bytes, step));
        let mut out = Vec::new();
        loop {
            let r = read_response(&mut reader);
            let end = r.is_err();
            out.push(r);
            if end {
                return out;
            }
        }
    }

    #[test]
    fn keep_alive_responses_are_framed_by_content_length() {
        let bytes = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 22\r\n\r\n{\"outcome\":\"ingested\"}\
            HTTP/1.1 100 Continue\r\n\r\n\
            HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno\
            HTTP/1.1 204 No Content\r\n\r\n\
            HTTP/1.0 200 OK\nContent-Length: 0\n\n";
        for step in [1, 3, 1000] {
            let got = responses(bytes, step);
            let ok: Vec<&Response> = got.iter().filter_map(|r| r.as_ref().ok()).collect();
            assert_eq!(
                ok,
                [
                    &Response {
                        status: 200,
                        body: b"{\"outcome\":\"ingested\"}".to_vec(),
                        close: false
                    },
                    &Response {
                        status: 503,
                        body: b"no".to_vec(),
                        close: true
                    },
                    &Response {
                        status: 204,
                        body: Vec::new(),
                        close: false
                    },
                    &Response {
                        status: 200,
                        body: Vec::new(),
                        close: true
                    },
                ],
                "read {step} bytes at a time"
            );
            let last = got.last().and_then(|r| r.as_ref().err()).map(|e| e.kind());
            assert_eq!(last, Some(ErrorKind::UnexpectedEof));
        }
    }

    #[test]
    fn broken_responses_are_errors() {
        let kind = |bytes: &[u8]| {
            read_response(&mut BufReader::new(bytes))
                .err()
                .map(|e| e.kind())
        };
        // Cut inside the body and inside the headers.
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"),
            Some(ErrorKind::UnexpectedEof)
        );
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\r\nContent-Len"),
            Some(ErrorKind::UnexpectedEof)
        );
        for bad in [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\n\r\nno length",
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"SSH-2.0-OpenSSH\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        ] {
            assert_eq!(
                kind(bad),
                Some(ErrorKind::InvalidData),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn notifications_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for sender in [0, 1, 63] {
            for n in 0..200 {
                assert!(seen.insert(super::notification(sender, n).1));
            }
        }
    }
}
