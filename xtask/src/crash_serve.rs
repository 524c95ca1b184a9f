//! `cargo xtask crash-serve`: SIGKILL `ledger serve` at random moments under concurrent pushes.
//!
//! 16 senders each own a share of N distinct AutoDNS poll messages (a message id and domain of
//! their own) and push them over HTTP/1.1, one at a time, retrying any push that did not get an
//! answer (the server was killed under it) once a new server is up: what AutoDNS itself would
//! do, or its fallback mail. The server is SIGKILLed once a random share of the pushes still
//! to go has been answered, plus a random few milliseconds (a seeded rng), restarted on the
//! same ledger, and so on for `kills` rounds; a last round runs until every
//! push is answered and ends with SIGTERM. Then:
//!
//! * `ledger verify` is clean;
//! * every push answered 200 `ingested` is in the ledger at the seq it was given, with its
//!   domain, and every push answered `duplicate` points at the event of the same message;
//! * the ledger holds exactly one event per message (the retries of pushes whose 200 was lost
//!   to a kill are duplicates, never second events), and nothing else.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

/// What `cargo xtask crash-serve` was asked for.
pub struct Config {
    /// How many SIGKILLs.
    pub kills: usize,
    /// How many distinct notifications are pushed in all.
    pub count: u64,
    /// Seed of the kill schedule.
    pub seed: u64,
}

/// Concurrent senders.
const SENDERS: u64 = 16;

/// A distinct poll message: its own id and domain.
fn notification(n: u64) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><response><result><data><summary>1</summary>\
         <message><id>{id}</id><notify><domain><name>crash-{n}.example</name></domain><transfer>\
         <gaining_registrar>greg</gaining_registrar><loosing_registrar>lreg</loosing_registrar>\
         <start>2021-05-03 11:05:56</start><reminder>2021-05-06 11:05:56</reminder>\
         <autonack>2021-05-08 05:05:56</autonack><end>2021-05-08 11:05:56</end></transfer>\
         <type>transfer_start</type></notify><created>2021-05-03 11:05:57</created></message>\
         </data><status><code>S0905</code><text>The notification was polled successfully.</text>\
         <type>success</type></status></result><stid>20210503-crash-{n}</stid></response>",
        id = 7_000_000 + n
    )
    .into_bytes()
}

/// What a push was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Ingested(u64),
    Duplicate(u64),
}

/// One push on its own connection; `None` when no answer came (refused, reset, cut off).
fn push(addr: SocketAddr, body: &[u8]) -> Result<Option<Answer>, String> {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return Ok(None);
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let head = format!(
        "POST /push/autodns HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    if stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .is_err()
    {
        return Ok(None);
    }
    let mut raw = Vec::new();
    if stream.read_to_end(&mut raw).is_err() || raw.is_empty() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Ok(None);
    };
    if !head.starts_with("HTTP/1.1 200") {
        // A 503 is an answer that says "not kept": retried like no answer.
        if head.starts_with("HTTP/1.1 503") {
            return Ok(None);
        }
        return Err(format!("unexpected answer: {head}"));
    }
    let doc: Value = serde_json::from_str(body).map_err(|e| format!("{e}: {body}"))?;
    match doc["outcome"].as_str() {
        Some("ingested") => Ok(doc["seq"].as_u64().map(Answer::Ingested)),
        Some("duplicate") => Ok(doc["duplicate_of"].as_u64().map(Answer::Duplicate)),
        other => Err(format!("push answered {other:?}: {body}")),
    }
}

/// A server process and the address it listens on.
struct Server {
    child: Child,
    addr: SocketAddr,
}

fn start(binary: &Path, db: &Path) -> Result<Server, String> {
    let mut child = Command::new(binary)
        .env_remove("LEDGER_DB")
        .arg("--db")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting serve: {e}"))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let line = lines
        .next()
        .ok_or("serve ended before it listened")?
        .map_err(|e| e.to_string())?;
    let addr = line
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| format!("serve said {line:?}"))?
        .parse()
        .map_err(|e| format!("{line:?}: {e}"))?;
    // Keep reading stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(Server { child, addr })
}

/// Runs the harness; `Err` names the first violation.
pub fn run(config: &Config) -> Result<(), String> {
    let started = Instant::now();
    let (binary, target) = crate::build_release_ledger()?;
    let work = target.join("crash-serve");
    let db = work.join("ledger");
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    }
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);

    // Each sender's queue of messages still to be answered, and all answers given.
    let queues: Vec<Arc<Mutex<Vec<u64>>>> = (0..SENDERS)
        .map(|s| {
            Arc::new(Mutex::new(
                (0..config.count)
                    .filter(|n| n % SENDERS == s)
                    .rev()
                    .collect(),
            ))
        })
        .collect();
    let answers: Arc<Mutex<BTreeMap<u64, Answer>>> = Arc::default();
    let mut unanswered_attempts = 0u64;
    let mut rounds = 0usize;
    loop {
        let last = rounds == config.kills;
        let server = start(&binary, &db)?;
        let addr = server.addr;
        let stop = Arc::new(AtomicBool::new(false));
        let senders: Vec<_> = queues
            .iter()
            .map(|queue| {
                let (queue, answers, stop) = (queue.clone(), answers.clone(), stop.clone());
                std::thread::spawn(move || -> Result<u64, String> {
                    let mut misses = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let Some(n) = queue.lock().map_err(|e| e.to_string())?.last().copied()
                        else {
                            break;
                        };
                        match push(addr, &notification(n))? {
                            Some(answer) => {
                                answers.lock().map_err(|e| e.to_string())?.insert(n, answer);
                                queue.lock().map_err(|e| e.to_string())?.pop();
                            }
                            None => {
                                // Killed under it: retried against the next server.
                                misses += 1;
                                break;
                            }
                        }
                    }
                    Ok(misses)
                })
            })
            .collect();
        let mut server = server;
        if last {
            for sender in senders {
                unanswered_attempts += sender.join().map_err(|_| "a sender panicked")??;
            }
            let pending: usize = queues
                .iter()
                .map(|q| q.lock().map(|q| q.len()).unwrap_or(usize::MAX))
                .sum();
            if pending > 0 {
                return Err(format!(
                    "{pending} pushes never answered by a running server"
                ));
            }
            let _ = Command::new("kill")
                .args(["-TERM", &server.child.id().to_string()])
                .status();
            let status = server.child.wait().map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!("serve ended {status} after SIGTERM"));
            }
            break;
        }
        // Killed once a random share of what is left has been answered (so every kill lands
        // under load), plus a few random milliseconds (so it lands anywhere in a write).
        let answered_before = answers.lock().map_err(|e| e.to_string())?.len() as u64;
        let left = config.count - answered_before;
        let per_round = (left / (config.kills - rounds + 1) as u64).max(1);
        let target = answered_before + rng.random_range(1..=per_round * 2).min(left);
        let waiting = Instant::now();
        while (answers.lock().map_err(|e| e.to_string())?.len() as u64) < target
            && waiting.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        let delay = Duration::from_micros(rng.random_range(0..20_000));
        std::thread::sleep(delay);
        server.child.kill().map_err(|e| format!("SIGKILL: {e}"))?;
        let _ = server.child.wait();
        stop.store(true, Ordering::Relaxed);
        for sender in senders {
            unanswered_attempts += sender.join().map_err(|_| "a sender panicked")??;
        }
        rounds += 1;
        let answered = answers.lock().map_err(|e| e.to_string())?.len();
        eprintln!(
            "kill {rounds}/{}: {answered} of {} answered",
            config.kills, config.count
        );
    }

    // The checks.
    let ledger = |args: &[&str]| -> Result<String, String> {
        let out = Command::new(&binary)
            .env_remove("LEDGER_DB")
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "ledger {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    ledger(&["verify"])?;
    let mut domain_of_seq: HashMap<u64, String> = HashMap::new();
    for line in ledger(&["export"])?.lines() {
        let event: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let seq = event["seq"].as_u64().ok_or("an event without a seq")?;
        let domain = event["domain"]
            .as_str()
            .ok_or("an event without a domain")?;
        if domain_of_seq.insert(seq, domain.to_string()).is_some() {
            return Err(format!("seq {seq} twice"));
        }
    }
    let answers = answers.lock().map_err(|e| e.to_string())?;
    let mut ingested = 0u64;
    let mut duplicates = 0u64;
    for (n, answer) in answers.iter() {
        let want = format!("crash-{n}.example");
        let seq = match answer {
            Answer::Ingested(seq) => {
                ingested += 1;
                *seq
            }
            Answer::Duplicate(seq) => {
                duplicates += 1;
                *seq
            }
        };
        match domain_of_seq.get(&seq) {
            Some(domain) if *domain == want => {}
            other => {
                return Err(format!(
                    "message {n} was answered {answer:?}, but that event is {other:?}"
                ));
            }
        }
    }
    let mut domains: Vec<&String> = domain_of_seq.values().collect();
    domains.sort();
    domains.dedup();
    if domain_of_seq.len() as u64 != config.count || domains.len() as u64 != config.count {
        return Err(format!(
            "{} events for {} distinct domains; {} messages were pushed",
            domain_of_seq.len(),
            domains.len(),
            config.count
        ));
    }
    println!(
        "crash-serve: {} SIGKILLs under {SENDERS} concurrent senders, {} messages: every one \
         answered and in the ledger exactly once ({ingested} answered `ingested`, {duplicates} \
         answered `duplicate`: retries of pushes that were durable but whose answer the kill \
         cut off); {unanswered_attempts} pushes got no answer and were retried; verify clean; \
         {:.0} s",
        config.kills,
        config.count,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
