//! `ledger poll autodns` through the real binary against a local AutoDNS poll server that
//! follows the documented protocol: Basic auth and `X-Domainrobot-Context` checked, a
//! `User-Agent` required, one message per `GET /poll` in a fresh envelope (its own `stid`, the
//! `summary` counting down), `PUT /poll/{id}` confirms it, 429 and 503 now and then. Its
//! queue is made of the fixtures' JSON poll messages and one message that is neither a job
//! nor a notify.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Sandbox, fixture};

const USER: &str = "reseller";
const PASSWORD: &str = "s3cret: with spaces";

/// What the server saw and holds.
#[derive(Default)]
struct Queue {
    messages: VecDeque<Value>,
    /// Every request: when, method, path, the status answered.
    requests: Vec<(Instant, String, String, u16)>,
    /// Ids confirmed, in order.
    confirmed: Vec<String>,
    /// Protocol faults of the client (a missing header, a wrong context).
    faults: Vec<String>,
    /// Requests answered so far (for the 429/503 plan).
    served: u64,
    /// Answer 429/503 now and then.
    flaky: bool,
    /// A `PUT /poll/{id}` for this id is held, never answered, and `stalled` set.
    stall_put_of: Option<String>,
    stalled: bool,
    /// Answer an empty queue with `"data": []` rather than without `data`.
    empty_as_array: bool,
    stid: u64,
}

struct AutoDns {
    addr: SocketAddr,
    queue: Arc<(Mutex<Queue>, Condvar)>,
}

impl AutoDns {
    fn start(messages: Vec<Value>) -> AutoDns {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the AutoDNS server");
        let addr = listener.local_addr().expect("its address");
        let queue = Arc::new((
            Mutex::new(Queue {
                messages: messages.into(),
                flaky: true,
                ..Queue::default()
            }),
            Condvar::new(),
        ));
        let shared = queue.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let shared = shared.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        AutoDns { addr, queue }
    }

    fn endpoint(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Queue) -> T) -> T {
        f(&mut self.queue.0.lock().expect("the queue"))
    }

    /// Waits until a PUT is stalled.
    fn wait_stalled(&self) {
        let (lock, ready) = &*self.queue;
        let guard = lock.lock().expect("the queue");
        let (_guard, timeout) = ready
            .wait_timeout_while(guard, Duration::from_secs(60), |q| !q.stalled)
            .expect("the queue");
        assert!(!timeout.timed_out(), "no PUT was stalled");
    }
}

fn serve(stream: TcpStream, shared: &(Mutex<Queue>, Condvar)) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut stream = stream;
    // Requests on one connection, until the client closes it.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_string());
                if name == "content-length" {
                    length = value.parse().unwrap_or(0);
                }
                headers.push((name, value));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let (status, extra, answer) = {
            let (lock, ready) = shared;
            let mut q = lock.lock().expect("the queue");
            let answer = respond(&mut q, &method, &path, header);
            q.requests
                .push((Instant::now(), method.clone(), path.clone(), answer.0));
            if q.stalled {
                ready.notify_all();
            }
            answer
        };
        if status == 0 {
            // A stalled PUT: hold the connection, never answer.
            std::thread::sleep(Duration::from_secs(120));
            return;
        }
        let body = answer.to_string();
        let reason = match status {
            200 => "OK",
            401 => "Unauthorized",
            404 => "Not Found",
            429 => "Too Many Requests",
            503 => "Service Unavailable",
            _ => "Bad Request",
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: \
             {}\r\n{extra}\r\n",
            body.len()
        );
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(body.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// The answer to one request: status (0: stall), extra header lines, body.
fn respond<'h>(
    q: &mut Queue,
    method: &str,
    path: &str,
    header: impl Fn(&str) -> Option<&'h str>,
) -> (u16, String, Value) {
    use base64::Engine;
    let error = |code: &str, text: &str| json!({"stid": "20260101-err", "status": {"code": code, "text": text, "type": "ERROR"}});
    match header("user-agent") {
        Some(agent) if agent.starts_with("ledger/") => {}
        other => q.faults.push(format!("User-Agent {other:?}")),
    }
    if header("x-domainrobot-context") != Some("4") {
        q.faults.push(format!(
            "X-Domainrobot-Context {:?}",
            header("x-domainrobot-context")
        ));
        return (400, String::new(), error("E0001", "context missing"));
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    );
    if header("authorization") != Some(expected.as_str()) {
        return (401, String::new(), error("E0002", "Login failed."));
    }
    q.served += 1;
    if q.flaky && q.served % 6 == 3 {
        return (
            429,
            "Retry-After: 1\r\n".into(),
            error("E429", "Too many requests."),
        );
    }
    if q.flaky && q.served % 9 == 5 {
        return (503, String::new(), error("E503", "Service unavailable."));
    }
    q.stid += 1;
    let stid = format!("20260101-app1-poll-{}", q.stid);
    match (method, path) {
        ("GET", "/v1/poll") => {
            let summary = q.messages.len();
            let mut envelope = json!({
                "stid": stid,
                "status": {"code": "S0905", "text": "The notification was polled successfully.",
                           "type": "SUCCESS"},
                "object": {"type": "Message", "summary": summary},
            });
            if let Some(message) = q.messages.front() {
                envelope["object"]["value"] = json!(message["id"].to_string());
                envelope["data"] = json!([message]);
            } else if q.empty_as_array {
                envelope["data"] = json!([]);
            }
            (200, String::new(), envelope)
        }
        ("PUT", target) if target.starts_with("/v1/poll/") => {
            let id = &target["/v1/poll/".len()..];
            let front = q.messages.front().map(|m| m["id"].to_string());
            if front.as_deref() != Some(id) {
                return (404, String::new(), error("E0404", "No such message."));
            }
            if q.stall_put_of.as_deref() == Some(id) {
                q.stall_put_of = None;
                q.stalled = true;
                return (0, String::new(), Value::Null);
            }
            q.messages.pop_front();
            q.confirmed.push(id.to_string());
            let done = json!({"stid": stid, "status": {"code": "S0906",
                "text": "The notification was confirmed.", "type": "SUCCESS"}});
            (200, String::new(), done)
        }
        _ => (404, String::new(), error("E0404", "No such route.")),
    }
}

/// The queue: every JSON poll message of the fixtures (the message of each poll envelope,
/// and the bare ones), and one that is neither a job nor a notify.
fn fixture_messages() -> Vec<Value> {
    let read = |rel: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(fixture(rel)).expect("a fixture"))
            .expect("JSON")
    };
    let mut messages = Vec::new();
    for envelope in [
        "0101-failed-poll.json",
        "autoupdate_dns_success-poll-json.json",
        "contact_deleted-poll-json.json",
        "domain_away-poll.json",
        "transfer_start-autoack-poll.json",
        "transfer_start-poll-json.json",
        "transfer_start-untyped-poll.json",
    ] {
        messages.push(read(&format!("autodns/json/{envelope}"))["data"][0].clone());
    }
    for bare in [
        "0101-success-poll-json.json",
        "0104-transfer-start-poll-json.json",
    ] {
        messages.push(read(&format!("autodns/json/{bare}")));
    }
    messages.insert(
        7,
        json!({"id": 1099, "stid": "20260101-app1-odd", "object": {"type": "Domain",
               "value": "neither.example"}}),
    );
    messages
}

fn ids(messages: &[Value]) -> Vec<String> {
    messages.iter().map(|m| m["id"].to_string()).collect()
}

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
