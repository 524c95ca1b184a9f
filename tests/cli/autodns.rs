//! A local AutoDNS poll server for the tests, following the documented protocol: Basic auth and
//! `X-Domainrobot-Context` checked, a `User-Agent` required, one message per `GET /poll` in a
//! fresh envelope (its own `stid`, the `summary` counting down), `PUT /poll/{id}` confirms it,
//! 429 and 503 now and then. Its queue is made of the fixtures' JSON poll messages and one
//! message that is neither a job nor a notify ([`fixture_messages`]). Used by `poll_autodns.rs`
//! (the CLI) and `serve_fetchers.rs` (inside `serve`).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::fixture;

pub(crate) const USER: &str = "reseller";
pub(crate) const PASSWORD: &str = "s3cret: with spaces";

/// What the server saw and holds.
#[derive(Default)]
pub(crate) struct Queue {
    pub(crate) messages: VecDeque<Value>,
    /// Every request: when, method, path, the status answered.
    pub(crate) requests: Vec<(Instant, String, String, u16)>,
    /// Ids confirmed, in order.
    pub(crate) confirmed: Vec<String>,
    /// Protocol faults of the client (a missing header, a wrong context).
    pub(crate) faults: Vec<String>,
    /// Requests answered so far (for the 429/503 plan).
    pub(crate) served: u64,
    /// Answer 429/503 now and then.
    pub(crate) flaky: bool,
    /// A `PUT /poll/{id}` for this id is held, never answered, and `stalled` set.
    pub(crate) stall_put_of: Option<String>,
    pub(crate) stalled: bool,
    /// Answer an empty queue with `"data": []` rather than without `data`.
    pub(crate) empty_as_array: bool,
    pub(crate) stid: u64,
}

pub(crate) struct AutoDns {
    pub(crate) addr: SocketAddr,
    pub(crate) queue: Arc<(Mutex<Queue>, Condvar)>,
}

impl AutoDns {
    pub(crate) fn start(messages: Vec<Value>) -> AutoDns {
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

    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Queue) -> T) -> T {
        f(&mut self.queue.0.lock().expect("the queue"))
    }

    /// Waits until a PUT is stalled.
    pub(crate) fn wait_stalled(&self) {
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
pub(crate) fn fixture_messages() -> Vec<Value> {
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

pub(crate) fn ids(messages: &[Value]) -> Vec<String> {
    messages.iter().map(|m| m["id"].to_string()).collect()
}
