//! `cargo xtask crash`: the crash-safety harness of the real `ledger` binary.
//!
//! 1. Writes a deterministic mbox corpus (with the generator's duplicates and bad input) and
//!    ingests it into a fresh *reference* ledger in one uninterrupted run.
//! 2. Loops: starts `ledger ingest --commit-log LOG --batch B` (B cycles through 1, 50, 1000)
//!    over the whole corpus into a *crash* ledger and SIGKILLs it after a delay drawn from a
//!    seeded rng (while it opens, early, anywhere, near the end). After each kill the crash
//!    ledger must `verify` clean, its events must be gap-free, distinct in content and equal,
//!    seq by seq, to the reference's, and every item the commit log reports must be there
//!    exactly once (appended seqs reported once each, duplicates pointing at the reference's
//!    seq, reject ids present with the same origin and reason).
//!    When a kill leaves the crash ledger complete, the round ends (step 3) and the next kill
//!    starts a fresh crash ledger, so kills keep landing while new events are appended.
//! 3. A final uninterrupted run, then the crash ledger must equal the reference: the same
//!    events in the same order (everything but `recorded_at`), the same projections
//!    (`orders`, `failed-creates --all`, `inventory`, `pending-transfers --at`), the same
//!    `stats` counts and the same *distinct* rejects.
//!
//! Rejects are compared as a set of (origin, sha256, reason): the ledger quarantines a bad
//! item again each time it is ingested again (the quarantine has no de-duplication), so a
//! crash ledger that re-read the corpus N times holds up to N copies of each; their ids and
//! `received_at` differ by design. What must hold is that no reject is lost or invented.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::Layout;

/// The batch sizes the crash runs cycle through.
const BATCHES: [usize; 3] = [1, 50, 1000];
/// The instant `pending-transfers` is judged at: inside the generator's two years (2023–2024).
const PENDING_AT: &str = "2024-01-01T00:00:00Z";
/// The longest a crash run is left running before its kill, whatever the estimate says.
const MAX_DELAY: Duration = Duration::from_secs(90);

/// What `cargo xtask crash` was asked for.
pub struct Config {
    /// How many kills.
    pub kills: usize,
    /// Corpus size (mails).
    pub count: u64,
    /// Seed of the corpus and of the kill schedule.
    pub seed: u64,
    /// Scratch directory; default `target/crash` of the current target dir.
    pub work: Option<PathBuf>,
}

/// Where a kill was aimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Aim {
    /// Within the first 40 ms: while the binary starts and opens sled.
    Open,
    /// In the first quarter of the expected run.
    Early,
    /// Anywhere in the expected run.
    Anywhere,
    /// Around the expected end (80–110 %).
    End,
}

/// One crash run's record, for the summary.
struct KillRecord {
    batch: usize,
    aim: Aim,
    delay: Duration,
    /// The run had already finished when the kill was due.
    completed: bool,
    /// Events the run appended (log head after minus before).
    appended: u64,
    /// Items the run's commit log reported (ingested, duplicate or rejected).
    logged: u64,
    /// A torn last line of the commit log was dropped.
    torn_line: bool,
}

/// What the reference run said about one corpus item (by origin).
#[derive(Debug, Clone)]
enum Canon {
    /// It is (or duplicates) the event at this seq.
    Seq(u64),
    /// It was rejected for this reason.
    Rejected(String),
}

/// The observable state of a ledger.
struct Snapshot {
    /// Every event's JSON without `recorded_at`, by seq order.
    events: Vec<Value>,
    orders: Value,
    failed_creates: Value,
    inventory: Value,
    pending: Value,
    /// Distinct (origin, sha256, reason) of the rejects.
    rejects: BTreeSet<(String, String, String)>,
    /// Reject id → (origin, reason).
    reject_ids: HashMap<u64, (String, String)>,
    /// `stats` without the sizes and the reject count.
    stats: Value,
    /// Reject records (with repeats).
    quarantined: u64,
}

/// The `ledger` binary and helpers to run it.
struct Binary {
    path: PathBuf,
}

impl Binary {
    fn command(&self, db: &Path) -> Command {
        let mut c = Command::new(&self.path);
        c.env_remove("LEDGER_DB").arg("--db").arg(db);
        c
    }

    /// Runs a read command to completion; its stdout when it exits 0.
    fn read(&self, db: &Path, args: &[&str]) -> Result<String, String> {
        let out = self
            .command(db)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("starting ledger {args:?}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`ledger {}` exited {:?}: {}{}",
                args.join(" "),
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        String::from_utf8(out.stdout).map_err(|e| format!("ledger {args:?}: not UTF-8: {e}"))
    }

    fn json(&self, db: &Path, args: &[&str]) -> Result<Value, String> {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.read(db, &all)?;
        serde_json::from_str(&text).map_err(|e| format!("ledger {args:?}: not JSON: {e}"))
    }

    fn snapshot(&self, db: &Path) -> Result<Snapshot, String> {
        let mut events = Vec::new();
        for (i, line) in self.read(db, &["export"])?.lines().enumerate() {
            let mut v: Value = serde_json::from_str(line)
                .map_err(|e| format!("export line {}: not JSON: {e}", i + 1))?;
            if let Some(o) = v.as_object_mut() {
                o.remove("recorded_at");
            }
            events.push(v);
        }
        let rejects_json = self.json(db, &["rejects"])?;
        let mut rejects = BTreeSet::new();
        let mut reject_ids = HashMap::new();
        let list = rejects_json.as_array().ok_or("rejects: not an array")?;
        for r in list {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            rejects.insert((text("origin"), text("sha256"), text("reason")));
            if let Some(id) = r["id"].as_u64() {
                reject_ids.insert(id, (text("origin"), text("reason")));
            }
        }
        let mut stats = self.json(db, &["stats"])?;
        let quarantined = stats["quarantined"].as_u64().unwrap_or(0);
        if let Some(o) = stats.as_object_mut() {
            o.remove("disk_bytes");
            o.remove("quarantined");
        }
        Ok(Snapshot {
            events,
            orders: self.json(db, &["orders"])?,
            failed_creates: self.json(db, &["failed-creates", "--all"])?,
            inventory: self.json(db, &["inventory"])?,
            pending: self.json(db, &["pending-transfers", "--at", PENDING_AT])?,
            rejects,
            reject_ids,
            stats,
            quarantined,
        })
    }
}

/// Builds the release binary of the current target dir.
fn build_release() -> Result<Binary, String> {
    let (path, _) = crate::build_release_ledger()?;
    Ok(Binary { path })
}

/// Runs the harness; `Err` names the first violation.
pub fn run(config: &Config) -> Result<(), String> {
    let started = Instant::now();
    let binary = build_release()?;
    let work = match &config.work {
        Some(w) => w.clone(),
        None => binary
            .path
            .parent()
            .and_then(Path::parent)
            .ok_or("target dir")?
            .join("crash"),
    };
    fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let corpus = work.join(format!("corpus-{}-{}.mbox", config.count, config.seed));
    if !corpus.exists() {
        let summary = crate::corpus::write(
            &corpus,
            config.count,
            config.seed,
            Layout::Mbox,
            crate::corpus::Shape::FIXED,
        )?;
        eprintln!("corpus: {summary}");
    }
    let corpus_arg = corpus.to_str().ok_or("corpus path is not UTF-8")?;

    // The reference.
    let ref_db = work.join("reference");
    let ref_log = work.join("reference.log");
    remove(&ref_db)?;
    remove(&ref_log)?;
    let t = Instant::now();
    let status = binary
        .command(&ref_db)
        .args(["ingest", "--no-progress", "--batch", "1000", "--commit-log"])
        .arg(&ref_log)
        .arg(corpus_arg)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("reference ingest: {e}"))?;
    let ref_time = t.elapsed();
    if !matches!(status.code(), Some(0 | 3)) {
        return Err(format!("reference ingest exited {status}"));
    }
    let reference = binary.snapshot(&ref_db)?;
    let canon = read_reference_log(&ref_log)?;
    let items = canon.len() as u64;
    eprintln!(
        "reference: {items} items, {} events, {} rejects in {:.1} s",
        reference.events.len(),
        reference.quarantined,
        ref_time.as_secs_f64()
    );

    // The crash runs.
    let db = work.join("crash-ledger");
    let log = work.join("crash.log");
    remove(&db)?;
    remove(&log)?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x6b69_6c6c);
    // Expected duration of a whole run per batch size: a guess, then measured progress.
    let mut expected: HashMap<usize, Duration> = BATCHES
        .iter()
        .map(|&b| (b, ref_time.mul_f64(if b == 1 { 20.0 } else { 1.5 })))
        .collect();
    let mut state = CrashState::default();
    let mut records = Vec::new();
    for k in 0..config.kills {
        let batch = BATCHES[k % BATCHES.len()];
        let aim = match rng.random_range(0..4) {
            0 => Aim::Open,
            1 => Aim::Early,
            2 => Aim::Anywhere,
            _ => Aim::End,
        };
        let whole = expected[&batch].as_secs_f64();
        let secs = match aim {
            Aim::Open => rng.random_range(0.0..0.040),
            Aim::Early => rng.random_range(0.0..0.25) * whole,
            Aim::Anywhere => rng.random_range(0.0..1.0) * whole,
            Aim::End => rng.random_range(0.8..1.1) * whole,
        };
        let delay = Duration::from_secs_f64(secs).min(MAX_DELAY);
        let head_before = state.head;
        let record = crash_run(&binary, &db, &log, corpus_arg, batch, aim, delay, &state)
            .and_then(|mut record| {
                check(&binary, &db, &log, &reference, &canon, &mut state)?;
                record.appended = state.head - head_before;
                Ok(record)
            })
            .map_err(|e| {
                format!(
                    "kill {} (batch {batch}, {aim:?}, after {:.3} s): {e}\n(ledger kept at {})",
                    k + 1,
                    delay.as_secs_f64(),
                    db.display()
                )
            })?;
        // Learn how long a whole run of this batch size takes from this run's progress.
        if record.completed {
            expected.insert(batch, record.delay.max(Duration::from_millis(50)));
        } else if record.logged > 0 {
            let per_item = record.delay.as_secs_f64() / record.logged as f64;
            expected.insert(batch, Duration::from_secs_f64(per_item * items as f64));
        }
        eprintln!(
            "kill {:>3}: batch {:>4} {:<8} after {:>7.3} s: {}, {} events appended, {} items logged{}",
            k + 1,
            batch,
            format!("{aim:?}"),
            delay.as_secs_f64(),
            if record.completed {
                "had finished"
            } else {
                "killed mid-run"
            },
            record.appended,
            record.logged,
            if record.torn_line {
                ", torn log line dropped"
            } else {
                ""
            }
        );
        records.push(record);
        // A complete crash ledger only meets duplicates: finish the round and start afresh, so
        // later kills land while new events are being appended.
        if state.head == reference.events.len() as u64 && k + 1 < config.kills {
            finish_round(
                &binary, &db, &log, corpus_arg, &reference, &canon, &mut state,
            )?;
            eprintln!(
                "round {} complete: equal to the reference; starting a fresh crash ledger",
                state.rounds
            );
            remove(&db)?;
            remove(&log)?;
            state.log_offset = 0;
            state.reported.clear();
            state.head = 0;
        }
    }

    let crashed = finish_round(
        &binary, &db, &log, corpus_arg, &reference, &canon, &mut state,
    )?;
    summary(&records, &state, &reference, &crashed, started.elapsed());
    Ok(())
}

/// Ends a round: one uninterrupted run, the checks, and the crash ledger must equal the
/// reference.
fn finish_round(
    binary: &Binary,
    db: &Path,
    log: &Path,
    corpus: &str,
    reference: &Snapshot,
    canon: &HashMap<String, Canon>,
    state: &mut CrashState,
) -> Result<Snapshot, String> {
    let status = binary
        .command(db)
        .args(["ingest", "--no-progress", "--batch", "1000", "--commit-log"])
        .arg(log)
        .arg(corpus)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("final ingest: {e}"))?;
    if !matches!(status.code(), Some(0 | 3)) {
        return Err(format!("final ingest exited {status}"));
    }
    check(binary, db, log, reference, canon, state)
        .map_err(|e| format!("after round {}'s final run: {e}", state.rounds + 1))?;
    let crashed = binary.snapshot(db)?;
    compare(reference, &crashed).map_err(|e| format!("round {}: {e}", state.rounds + 1))?;
    state.rounds += 1;
    Ok(crashed)
}

fn remove(path: &Path) -> Result<(), String> {
    let result = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("removing {}: {e}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Origin → what the reference made of it.
fn read_reference_log(path: &Path) -> Result<HashMap<String, Canon>, String> {
    let file = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut canon = HashMap::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("reading {}: {e}", path.display()))?;
        let v: Value = serde_json::from_str(&line)
            .map_err(|e| format!("reference log line {}: {e}", i + 1))?;
        let path = v["path"].as_str().unwrap_or_default().to_string();
        let c = match v["outcome"].as_str() {
            Some("ingested") => Canon::Seq(v["seq"].as_u64().ok_or("ingested without seq")?),
            Some("duplicate") => Canon::Seq(
                v["duplicate_of"]
                    .as_u64()
                    .ok_or("duplicate without duplicate_of")?,
            ),
            Some("rejected") => Canon::Rejected(v["reason"].as_str().unwrap_or_default().into()),
            other => return Err(format!("reference log line {}: outcome {other:?}", i + 1)),
        };
        if canon.insert(path.clone(), c).is_some() {
            return Err(format!("reference log names {path} twice"));
        }
    }
    Ok(canon)
}

/// What the checks carry from one kill to the next.
#[derive(Default)]
struct CrashState {
    /// Bytes of the commit log already checked.
    log_offset: u64,
    /// Seqs some run reported as appended (each must be reported once).
    reported: HashSet<u64>,
    /// The log head after the previous check.
    head: u64,
    /// Events found in the log that no commit-log line reported (committed, then killed before
    /// the line was written): allowed, counted.
    unreported: u64,
    /// Reject ids checked so far.
    rejects_checked: u64,
    /// Rounds finished (a crash ledger filled and found equal to the reference).
    rounds: u64,
}

/// One crash run: start, kill after `delay` (unless it finished), drop a torn log line.
#[allow(clippy::too_many_arguments)]
fn crash_run(
    binary: &Binary,
    db: &Path,
    log: &Path,
    corpus: &str,
    batch: usize,
    aim: Aim,
    delay: Duration,
    state: &CrashState,
) -> Result<KillRecord, String> {
    let mut child = binary
        .command(db)
        .args(["ingest", "--no-progress", "--batch", &batch.to_string()])
        .arg("--commit-log")
        .arg(log)
        .arg(corpus)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting ingest: {e}"))?;
    let started = Instant::now();
    let mut completed = None;
    while started.elapsed() < delay {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            completed = Some(status);
            break;
        }
        std::thread::sleep(Duration::from_millis(2).min(delay.saturating_sub(started.elapsed())));
    }
    let completed = match completed {
        Some(status) => Some(status),
        None => child.try_wait().map_err(|e| e.to_string())?,
    };
    if let Some(status) = completed {
        if !matches!(status.code(), Some(0 | 3)) {
            return Err(format!("an uninterrupted ingest exited {status}"));
        }
    } else {
        child.kill().map_err(|e| format!("SIGKILL: {e}"))?;
        child.wait().map_err(|e| e.to_string())?;
    }
    let torn_line = drop_torn_line(log)?;
    let logged = count_lines_from(log, state.log_offset)?;
    Ok(KillRecord {
        batch,
        aim,
        delay: if completed.is_some() {
            started.elapsed().min(delay)
        } else {
            delay
        },
        completed: completed.is_some(),
        appended: 0,
        logged,
        torn_line,
    })
}

/// A kill can land while the commit log's buffer is half written: cut the file back to its last
/// complete line (the item it named is committed and comes back as a duplicate).
fn drop_torn_line(log: &Path) -> Result<bool, String> {
    let mut file = match fs::OpenOptions::new().read(true).write(true).open(log) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("{}: {e}", log.display())),
    };
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    if len == 0 {
        return Ok(false);
    }
    let back = len.min(1 << 20);
    file.seek(SeekFrom::Start(len - back))
        .map_err(|e| e.to_string())?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(|e| e.to_string())?;
    if tail.last() == Some(&b'\n') {
        return Ok(false);
    }
    let keep = match tail.iter().rposition(|&b| b == b'\n') {
        Some(i) => len - back + i as u64 + 1,
        None if back == len => 0,
        None => return Err("a commit log line longer than 1 MiB".into()),
    };
    file.set_len(keep).map_err(|e| e.to_string())?;
    Ok(true)
}

fn count_lines_from(log: &Path, offset: u64) -> Result<u64, String> {
    let mut file = match fs::File::open(log) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.to_string()),
    };
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| e.to_string())?;
    Ok(BufReader::new(file).lines().count() as u64)
}

/// The checks after every run (killed or not).
fn check(
    binary: &Binary,
    db: &Path,
    log: &Path,
    reference: &Snapshot,
    canon: &HashMap<String, Canon>,
    state: &mut CrashState,
) -> Result<(), String> {
    if !db.exists() {
        // Killed before the ledger was created: nothing can have been reported.
        return match count_lines_from(log, state.log_offset)? {
            0 => Ok(()),
            n => Err(format!(
                "the commit log has {n} new lines but there is no ledger"
            )),
        };
    }
    let verify = binary
        .command(db)
        .arg("verify")
        .output()
        .map_err(|e| format!("verify: {e}"))?;
    if !verify.status.success() {
        return Err(format!(
            "`ledger verify` exited {:?}:\n{}{}",
            verify.status.code(),
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr)
        ));
    }
    let snap = binary.snapshot(db)?;
    let n = snap.events.len() as u64;
    // Gap-free seqs 1..=n, distinct contents, and the reference's events in the same order.
    let mut shas = HashSet::new();
    for (i, event) in snap.events.iter().enumerate() {
        let seq = event["seq"].as_u64();
        if seq != Some(i as u64 + 1) {
            return Err(format!(
                "event {} has seq {seq:?}: seqs are not gap-free",
                i + 1
            ));
        }
        let sha = event["source"]["sha256"].as_str().unwrap_or_default();
        if !shas.insert(sha.to_string()) {
            return Err(format!("seq {}: content {sha} is stored twice", i + 1));
        }
        match reference.events.get(i) {
            Some(r) if r == event => {}
            Some(r) => return Err(format!("seq {}: {event} but the reference has {r}", i + 1)),
            None => return Err(format!("seq {} is beyond the reference's head", i + 1)),
        }
    }
    if snap.stats["events"].as_u64() != Some(n) {
        return Err(format!(
            "stats says {} events, export {n}",
            snap.stats["events"]
        ));
    }
    if n < state.head {
        return Err(format!("the log shrank from {} to {n} events", state.head));
    }
    // Every reject is one of the reference's (origin, sha256, reason).
    if let Some(extra) = snap.rejects.difference(&reference.rejects).next() {
        return Err(format!("a reject the reference does not have: {extra:?}"));
    }

    // The new commit log lines.
    let file = match fs::File::open(log) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::File::open("/dev/null").map_err(|e| format!("opening /dev/null: {e}"))?
        }
        Err(e) => return Err(format!("commit log {}: {e}", log.display())),
    };
    let mut reader = BufReader::new(file);
    reader
        .seek(SeekFrom::Start(state.log_offset))
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    let mut reported_now = HashSet::new();
    loop {
        line.clear();
        let read = reader.read_line(&mut line).map_err(|e| e.to_string())?;
        if read == 0 {
            break;
        }
        state.log_offset += read as u64;
        let v: Value = serde_json::from_str(line.trim_end())
            .map_err(|e| format!("commit log line {line:?}: {e}"))?;
        let path = v["path"].as_str().unwrap_or_default();
        let expected = canon
            .get(path)
            .ok_or_else(|| format!("commit log names {path}, which the reference never saw"))?;
        match (v["outcome"].as_str(), expected) {
            (Some("ingested"), Canon::Seq(s)) => {
                let seq = v["seq"].as_u64().ok_or("ingested without seq")?;
                if seq != *s {
                    return Err(format!("{path} ingested as seq {seq}, reference seq {s}"));
                }
                if seq > n {
                    return Err(format!(
                        "{path} reported committed as seq {seq}, head is {n}"
                    ));
                }
                if !state.reported.insert(seq) {
                    return Err(format!("seq {seq} ({path}) reported appended twice"));
                }
                reported_now.insert(seq);
            }
            (Some("duplicate"), Canon::Seq(s)) => {
                let of = v["duplicate_of"].as_u64().ok_or("duplicate without of")?;
                if of != *s || of > n {
                    return Err(format!(
                        "{path} reported a duplicate of {of}; reference {s}, head {n}"
                    ));
                }
            }
            (Some("rejected"), Canon::Rejected(reason)) => {
                let id = v["reject_id"]
                    .as_u64()
                    .ok_or("rejected without reject_id")?;
                match snap.reject_ids.get(&id) {
                    Some((origin, r)) if origin == path && r == reason => {}
                    other => {
                        return Err(format!(
                            "{path} reported as reject #{id} ({reason}); the ledger has {other:?}"
                        ));
                    }
                }
                state.rejects_checked += 1;
            }
            (outcome, expected) => {
                return Err(format!(
                    "{path}: commit log says {outcome:?}, the reference {expected:?}"
                ));
            }
        }
    }
    // Appended events that no line reported: committed, killed before the log line.
    state.unreported += (state.head + 1..=n)
        .filter(|s| !reported_now.contains(s))
        .count() as u64;
    state.head = n;
    Ok(())
}

/// After the final run: the crash ledger equals the reference.
fn compare(reference: &Snapshot, crashed: &Snapshot) -> Result<(), String> {
    if reference.events.len() != crashed.events.len() {
        return Err(format!(
            "{} events after the final run, the reference has {}",
            crashed.events.len(),
            reference.events.len()
        ));
    }
    let pairs = [
        ("orders", &reference.orders, &crashed.orders),
        (
            "failed-creates --all",
            &reference.failed_creates,
            &crashed.failed_creates,
        ),
        ("inventory", &reference.inventory, &crashed.inventory),
        ("pending-transfers", &reference.pending, &crashed.pending),
        ("stats", &reference.stats, &crashed.stats),
    ];
    for (what, r, c) in pairs {
        if r != c {
            return Err(format!(
                "`{what}` differs from the reference:\nreference: {r}\ncrashed:   {c}"
            ));
        }
    }
    if reference.rejects != crashed.rejects {
        let missing: Vec<_> = reference.rejects.difference(&crashed.rejects).collect();
        return Err(format!("rejects missing after the final run: {missing:?}"));
    }
    Ok(())
}

fn summary(
    records: &[KillRecord],
    state: &CrashState,
    reference: &Snapshot,
    crashed: &Snapshot,
    elapsed: Duration,
) {
    let mid = records.iter().filter(|r| !r.completed).count();
    println!(
        "crash harness: {} kills ({mid} mid-run, {} after the run had completed), every check passed",
        records.len(),
        records.len() - mid
    );
    let mut by: BTreeMap<(usize, Aim), (usize, usize)> = BTreeMap::new();
    for r in records {
        let e = by.entry((r.batch, r.aim)).or_default();
        e.0 += 1;
        if !r.completed {
            e.1 += 1;
        }
    }
    println!("| batch | aimed at | kills | mid-run |");
    println!("|---:|---|---:|---:|");
    for ((batch, aim), (kills, mid)) in &by {
        println!("| {batch} | {aim:?} | {kills} | {mid} |");
    }
    let mut appended: Vec<u64> = records
        .iter()
        .filter(|r| !r.completed)
        .map(|r| r.appended)
        .collect();
    appended.sort_unstable();
    if let (Some(min), Some(max)) = (appended.first(), appended.last()) {
        println!(
            "events committed per killed run: min {min}, median {}, max {max}; \
             killed with nothing committed: {}",
            appended[appended.len() / 2],
            appended.iter().filter(|&&a| a == 0).count()
        );
    }
    println!(
        "commit log: {} torn last lines dropped; {} events committed but killed before their log line; {} reject ids checked",
        records.iter().filter(|r| r.torn_line).count(),
        state.unreported,
        state.rejects_checked
    );
    println!(
        "final: {} events equal to the reference seq by seq; projections, stats and {} distinct rejects equal \
         ({} reject records in the crash ledger, {} in the reference: re-ingested bad input is quarantined again)",
        crashed.events.len(),
        reference.rejects.len(),
        crashed.quarantined,
        reference.quarantined
    );
    println!(
        "{} rounds (a fresh crash ledger each, filled by killed runs, completed by one \
         uninterrupted run and compared with the reference)",
        state.rounds
    );
    println!("time: {:.1} s", elapsed.as_secs_f64());
}
