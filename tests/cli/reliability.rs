//! Reliability of the real binary: SIGKILL during ingest (a small version of `cargo xtask
//! crash`), concurrent use of one ledger, and hostile or broken input.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Sandbox, fixture};

// ---------------------------------------------------------------------------------------------
// Inputs built from the seed mails.

/// Every seed mail (the AutoDNS guide's examples as real mails), in name order.
fn seed_mails() -> Vec<(String, Vec<u8>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixture("autodns/seed"))
        .expect("reading the seed directory")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, std::fs::read(&p).expect("reading a seed mail"))
        })
        .collect()
}

/// One seed mail by name prefix.
fn seed(prefix: &str) -> Vec<u8> {
    seed_mails()
        .into_iter()
        .find(|(name, _)| name.starts_with(prefix))
        .map(|(_, bytes)| bytes)
        .unwrap_or_else(|| panic!("no seed mail {prefix}"))
}

/// An mbox (mboxrd) of `mails`: an envelope line before each, `From ` lines escaped, a blank
/// line after each.
fn mbox(mails: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for mail in mails {
        out.extend_from_slice(b"From robot@autodns.example Thu May  6 09:12:44 2010\n");
        for line in mail.split_inclusive(|&b| b == b'\n') {
            let rest = line
                .iter()
                .position(|&b| b != b'>')
                .map_or(&line[..0], |i| &line[i..]);
            if rest.starts_with(b"From ") {
                out.push(b'>');
            }
            out.extend_from_slice(line);
        }
        if !mail.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    out
}

/// The value of the first `key: value` line.
fn line_value(mail: &[u8], key: &str) -> Option<String> {
    String::from_utf8_lossy(mail)
        .lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
}

/// A deterministic corpus of `count` mails from the 7-bit seed mails that carry a ctid: each
/// with its own ctid and Message-ID; every 10th a copy of an earlier one under another
/// Message-ID (a duplicate), every 50th garbage (rejected).
fn corpus(count: usize) -> Vec<Vec<u8>> {
    let templates: Vec<(Vec<u8>, String, String)> = seed_mails()
        .into_iter()
        .filter_map(|(_, mail)| {
            let text = String::from_utf8_lossy(&mail);
            if !text.contains("Content-Transfer-Encoding: 7bit") {
                return None;
            }
            let ctid = line_value(&mail, "transaction:")?;
            let id = line_value(&mail, "Message-ID:")?;
            Some((mail, ctid, id))
        })
        .collect();
    assert!(templates.len() >= 5, "seed mails to vary");
    let mut mails: Vec<Vec<u8>> = Vec::with_capacity(count);
    for i in 0..count {
        let mail = if i % 50 == 49 {
            let mut junk = format!("Subject: junk {i}\n\n").into_bytes();
            junk.extend((0..200u32).map(|k| ((k * 37 + i as u32 * 11) % 251) as u8));
            junk
        } else if i % 10 == 9 {
            let earlier = String::from_utf8_lossy(&mails[i / 2]).into_owned();
            let id = line_value(earlier.as_bytes(), "Message-ID:").unwrap_or_default();
            earlier
                .replace(&id, &format!("<copy-{i}@relay.example>"))
                .into_bytes()
        } else {
            let (template, ctid, id) = &templates[i % templates.len()];
            String::from_utf8_lossy(template)
                .replace(ctid.as_str(), &format!("{ctid}v{i}"))
                .replace(id.as_str(), &format!("<{i}.corpus@autodns.example>"))
                .into_bytes()
        };
        mails.push(mail);
    }
    mails
}

// ---------------------------------------------------------------------------------------------
// Crash safety: a small version of `cargo xtask crash`.

/// A ledger's events (without `recorded_at`, which is the time of the write).
fn export(sandbox: &Sandbox) -> Vec<Value> {
    sandbox
        .ledger()
        .arg("export")
        .run()
        .success()
        .json_lines()
        .into_iter()
        .map(|mut e| {
            if let Some(o) = e.as_object_mut() {
                o.remove("recorded_at");
            }
            e
        })
        .collect()
}

/// The projections' answers.
fn projections(sandbox: &Sandbox) -> Vec<Value> {
    let mut out = Vec::new();
    for args in [
        &["orders"][..],
        &["failed-creates", "--all"],
        &["inventory"],
        &["pending-transfers", "--at", "2010-05-18T12:00:00Z"],
    ] {
        out.push(
            sandbox
                .ledger()
                .arg("--json")
                .args(args)
                .run()
                .success()
                .json(),
        );
    }
    let mut stats = sandbox.ok_json(["--json", "stats"]);
    if let Some(o) = stats.as_object_mut() {
        // Sizes differ; re-read bad input is quarantined again on every run.
        o.remove("disk_bytes");
        o.remove("quarantined");
    }
    out.push(stats);
    out
}

/// The distinct (origin, reason) of a ledger's rejects, and id → (origin, reason).
fn rejects(sandbox: &Sandbox) -> (HashSet<(String, String)>, HashMap<u64, String>) {
    let list = sandbox.ok_json(["--json", "rejects"]);
    let mut set = HashSet::new();
    let mut ids = HashMap::new();
    for r in list.as_array().expect("rejects is an array") {
        let origin = r["origin"].as_str().expect("origin").to_string();
        let reason = r["reason"].as_str().expect("reason").to_string();
        assert!(!reason.is_empty(), "a reject without a reason: {r}");
        ids.insert(r["id"].as_u64().expect("id"), origin.clone());
        set.insert((origin, reason));
    }
    (set, ids)
}

#[test]
fn sigkill_during_ingest_loses_nothing_reported_committed() {
    let reference = Sandbox::new();
    let crashed = Sandbox::new();
    let corpus_path = reference.write("corpus.mbox", mbox(&corpus(2_000)));
    let ref_log = reference.path("reference.log");

    let started = Instant::now();
    reference
        .ledger()
        .args(["ingest", "--no-progress", "--commit-log"])
        .arg(&ref_log)
        .arg(&corpus_path)
        .run()
        .expect_code(3);
    let whole = started.elapsed();
    let ref_events = export(&reference);
    let ref_projections = projections(&reference);
    let (ref_rejects, _) = rejects(&reference);
    // Origin → the seq it is (or duplicates), or None when rejected.
    let mut canon: HashMap<String, Option<u64>> = HashMap::new();
    for line in std::fs::read_to_string(&ref_log)
        .expect("reference log")
        .lines()
    {
        let v: Value = serde_json::from_str(line).expect("a JSON line");
        let seq = v["seq"].as_u64().or(v["duplicate_of"].as_u64());
        canon.insert(v["path"].as_str().expect("path").to_string(), seq);
    }
    assert_eq!(canon.len(), 2_000);
    assert!(ref_events.len() > 1_500, "{} events", ref_events.len());
    assert_eq!(ref_rejects.len(), 40);

    let db = crashed.db();
    let log = crashed.path("crash.log");
    let mut offset = 0usize;
    let mut reported: HashSet<u64> = HashSet::new();
    let mut killed_mid_run = 0;
    // (batch, when): kills while it opens, early, midway and near the end of a whole run.
    let schedule = [
        (1, Duration::from_millis(15)),
        (50, whole.mul_f64(0.3)),
        (1000, whole.mul_f64(0.6)),
        (1, whole.mul_f64(0.5)),
        (50, whole.mul_f64(0.9)),
        (1000, whole.mul_f64(0.97)),
    ];
    for (k, &(batch, delay)) in schedule.iter().enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ledger"))
            .env_remove("LEDGER_DB")
            .arg("--db")
            .arg(&db)
            .args(["ingest", "--no-progress", "--batch", &batch.to_string()])
            .arg("--commit-log")
            .arg(&log)
            .arg(&corpus_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting ingest");
        std::thread::sleep(delay);
        match child.try_wait().expect("polling the child") {
            Some(status) => assert_eq!(status.code(), Some(3), "kill {k}: an uninterrupted run"),
            None => {
                child.kill().expect("SIGKILL");
                child.wait().expect("reaping the child");
                killed_mid_run += 1;
            }
        }
        if !db.exists() {
            continue;
        }
        crashed.ledger().arg("verify").run().success();
        let events = export(&crashed);
        // Gap-free, distinct content, the reference's events in the reference's order.
        let shas: HashSet<&str> = events
            .iter()
            .map(|e| e["source"]["sha256"].as_str().expect("sha256"))
            .collect();
        assert_eq!(shas.len(), events.len(), "kill {k}: a content stored twice");
        for (i, event) in events.iter().enumerate() {
            assert_eq!(event["seq"], i as u64 + 1, "kill {k}: seqs not gap-free");
            assert_eq!(event, &ref_events[i], "kill {k}: seq {} differs", i + 1);
        }
        let (_, reject_ids) = rejects(&crashed);
        // Every committed item the log reports is there, once.
        let text = std::fs::read(&log).unwrap_or_default();
        // A kill may tear the last line (the item is committed and comes back as a duplicate).
        let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for line in String::from_utf8_lossy(&text[offset.min(complete)..complete]).lines() {
            let v: Value = serde_json::from_str(line).expect("a JSON line");
            let path = v["path"].as_str().expect("path");
            let expected = canon[path];
            match v["outcome"].as_str() {
                Some("ingested") => {
                    let seq = v["seq"].as_u64().expect("seq");
                    assert_eq!(Some(seq), expected, "kill {k}: {path}");
                    assert!(seq as usize <= events.len(), "kill {k}: {path} lost");
                    assert!(reported.insert(seq), "kill {k}: seq {seq} appended twice");
                }
                Some("duplicate") => {
                    assert_eq!(v["duplicate_of"].as_u64(), expected, "kill {k}: {path}")
                }
                _ => {
                    assert_eq!(expected, None, "kill {k}: {path} rejected");
                    let id = v["reject_id"].as_u64().expect("reject id");
                    assert_eq!(reject_ids.get(&id).map(String::as_str), Some(path));
                }
            }
        }
        if complete < text.len() {
            std::fs::write(&log, &text[..complete]).expect("dropping a torn line");
        }
        offset = complete;
    }
    assert!(
        killed_mid_run >= 3,
        "only {killed_mid_run} kills landed mid-run"
    );

    // A last uninterrupted run: the crash ledger equals the reference.
    crashed
        .ledger()
        .args(["ingest", "--no-progress"])
        .arg(&corpus_path)
        .run()
        .expect_code(3);
    crashed.ledger().arg("verify").run().success();
    assert_eq!(export(&crashed), ref_events);
    assert_eq!(projections(&crashed), ref_projections);
    assert_eq!(rejects(&crashed).0, ref_rejects);
}

// ---------------------------------------------------------------------------------------------
// Concurrent use.

/// `ledger --db <sandbox ledger> ARGS...` as a child with piped streams.
fn spawn(sandbox: &Sandbox, args: &[&str], stdin: bool) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ledger"))
        .env_remove("LEDGER_DB")
        .arg("--db")
        .arg(sandbox.db())
        .args(args)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the ledger binary")
}

/// Waits for a child: (exit code, stdout, stderr).
fn finish(child: Child) -> (i32, String, String) {
    let out = child.wait_with_output().expect("waiting for the child");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Polls until `path` has at least one complete line (or fails after 60 s).
fn wait_for_line(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read(path).is_ok_and(|b| b.contains(&b'\n')) {
        assert!(
            Instant::now() < deadline,
            "{} never got a line",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn two_ingests_over_overlapping_mboxes_leave_every_notification_once() {
    let sandbox = Sandbox::new();
    let mails = corpus(300);
    // Two mboxes sharing 100 mails.
    let a = sandbox.write("a.mbox", mbox(&mails[..200]));
    let b = sandbox.write("b.mbox", mbox(&mails[100..]));
    let all = sandbox.write("all.mbox", mbox(&mails));
    let expected = Sandbox::new();
    expected
        .ledger()
        .args(["ingest", "--no-progress"])
        .arg(&all)
        .run()
        .expect_code(3);
    let expected_events = export(&expected);

    let args = |p: &Path| {
        vec![
            "--json".to_string(),
            "--wait".into(),
            "60s".into(),
            "ingest".into(),
            "--no-progress".into(),
            p.display().to_string(),
        ]
    };
    let spawn_ingest = |p: &Path| {
        let args = args(p);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        spawn(&sandbox, &args, false)
    };
    let first = spawn_ingest(&a);
    let second = spawn_ingest(&b);
    let (code_a, out_a, err_a) = finish(first);
    let (code_b, out_b, err_b) = finish(second);
    assert_eq!(code_a, 3, "{err_a}");
    assert_eq!(code_b, 3, "{err_b}");
    let a: Value = serde_json::from_str(&out_a).expect("JSON summary");
    let b: Value = serde_json::from_str(&out_b).expect("JSON summary");
    let n = |v: &Value, k: &str| v[k].as_u64().expect("a count");
    // Every notification once: what one appended, the other found as a duplicate.
    assert_eq!(
        n(&a, "ingested") + n(&b, "ingested"),
        expected_events.len() as u64
    );
    // The same set of notifications as one ingest of all the mails (a parent-notify copy may
    // have come first from either file: compare contents, not raw bytes or positions).
    let contents = |events: Vec<Value>| {
        let mut out: Vec<String> = events
            .into_iter()
            .map(|mut e| {
                if let Some(o) = e.as_object_mut() {
                    for key in ["seq", "source", "recorded_at"] {
                        o.remove(key);
                    }
                }
                e.to_string()
            })
            .collect();
        out.sort();
        out
    };
    let got = contents(export(&sandbox));
    let mut distinct = got.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), got.len(), "a notification stored twice");
    assert_eq!(got, contents(expected_events));
    sandbox.ledger().arg("verify").run().success();
}

#[test]
fn a_locked_ledger_is_refused_in_one_line_or_waited_for() {
    let sandbox = Sandbox::new();
    let mails = corpus(60);
    let log = sandbox.path("commit.log");
    // The holder reads an mbox from a pipe we keep open: it holds the ledger until we close it.
    let log_arg = log.display().to_string();
    let mut holder = spawn(
        &sandbox,
        &[
            "--json",
            "ingest",
            "--no-progress",
            "--batch",
            "1",
            "--commit-log",
            &log_arg,
            "-",
        ],
        true,
    );
    let mut pipe = holder.stdin.take().expect("stdin is piped");
    let first = mbox(&mails[..30]);
    pipe.write_all(&first).expect("feeding the holder");
    // The next envelope line ends mail 30, so the holder commits it.
    pipe.write_all(b"From robot@autodns.example Thu May  6 09:12:44 2010\n")
        .expect("feeding the holder");
    pipe.flush().expect("flushing");
    wait_for_line(&log);

    // Without --wait: exit 1 and one error line that says why.
    let overlapping = sandbox.write("overlap.mbox", mbox(&mails[20..]));
    for args in [
        &[
            "ingest",
            "--no-progress",
            overlapping.to_str().expect("utf-8"),
        ][..],
        &["orders"],
        &["show", "--ctid", "anything"],
        &["pending-transfers"],
    ] {
        let refused = sandbox.ledger().args(args).run().expect_code(1);
        let err = refused.stderr();
        let first_line = err.lines().next().unwrap_or_default();
        assert!(
            first_line.starts_with("error: ") && first_line.contains("locked by another process"),
            "{args:?}: {err}"
        );
        assert!(
            refused.stdout().is_empty(),
            "{args:?} printed {}",
            refused.stdout()
        );
    }

    // With --wait: they wait for the holder, then answer.
    let ctid = line_value(&mails[0], "transaction:").expect("a ctid");
    let ingest = spawn(
        &sandbox,
        &[
            "--json",
            "--wait",
            "60s",
            "ingest",
            "--no-progress",
            overlapping.to_str().expect("utf-8"),
        ],
        false,
    );
    let show = spawn(
        &sandbox,
        &["--json", "--wait", "60s", "show", "--ctid", &ctid],
        false,
    );
    std::thread::sleep(Duration::from_millis(300));
    // Mails 31-60 complete the holder's input.
    let rest = mbox(&mails[30..]);
    let rest = rest
        .strip_prefix(b"From robot@autodns.example Thu May  6 09:12:44 2010\n".as_slice())
        .expect("an envelope line");
    pipe.write_all(rest).expect("feeding the holder");
    drop(pipe);
    let (code, out, err) = finish(holder);
    assert_eq!(code, 3, "{err}");
    let held: Value = serde_json::from_str(&out).expect("JSON");
    let (code, out, err) = finish(ingest);
    assert_eq!(code, 3, "{err}");
    let waited: Value = serde_json::from_str(&out).expect("JSON");
    // The holder had every mail the waiting ingest brings: all duplicates but the junk, which
    // is rejected (and kept) again.
    let junk = |m: &[Vec<u8>]| m.iter().filter(|m| m.starts_with(b"Subject: junk")).count();
    assert_eq!(held["rejected"], junk(&mails) as u64, "{held:#}");
    assert_eq!(waited["ingested"], 0, "{waited:#}");
    assert_eq!(waited["rejected"], junk(&mails[20..]) as u64, "{waited:#}");
    assert_eq!(
        waited["duplicates"],
        (40 - junk(&mails[20..])) as u64,
        "{waited:#}"
    );
    let (code, out, err) = finish(show);
    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(shown["ctid"], ctid.as_str());
    assert!(!shown["events"].as_array().expect("events").is_empty());
    sandbox.ledger().arg("verify").run().success();
}

// ---------------------------------------------------------------------------------------------
// Hostile and broken input: never a panic, never unbounded memory; each item rejected with its
// reason and kept (or reported unreadable), and the run goes on to a good mail.

/// The good mail mixed into every hostile run (not a seed mail, so no hostile variant of a seed
/// mail can make it a duplicate).
const GOOD: &str = "mail/json-attachment.eml";

/// Runs `ledger --json ingest ARGS...` and checks what every hostile run must show: no crash
/// (exit 3: something was rejected), the good mail ingested, every rejected item either kept
/// (listed by `rejects` with its origin and a reason) or reported unreadable with a reason.
/// Returns the summary.
#[track_caller]
fn ingest_hostile(sandbox: &Sandbox, args: &[&Path]) -> Value {
    let done = sandbox
        .ledger()
        .args(["--json", "ingest", "--no-progress"])
        .args(args)
        .arg(fixture(GOOD))
        .run();
    assert!(!done.stderr().contains("panicked"), "{}", done.stderr());
    let summary = done.expect_code(3).json();
    let items = summary["items"].as_array().expect("items");
    let good = items.last().expect("the good mail's item");
    assert_eq!(good["outcome"], "ingested", "{good}");
    assert_eq!(good["kind"], "domain_created", "{good}");

    let kept = sandbox.ok_json(["--json", "rejects"]);
    let kept: HashMap<u64, (String, String)> = kept
        .as_array()
        .expect("rejects")
        .iter()
        .map(|r| {
            (
                r["id"].as_u64().expect("id"),
                (
                    r["origin"].as_str().expect("origin").to_string(),
                    r["reason"].as_str().expect("reason").to_string(),
                ),
            )
        })
        .collect();
    for item in items.iter().filter(|i| i["outcome"] == "rejected") {
        let reason = item["reason"].as_str().expect("a reason");
        assert!(!reason.is_empty(), "{item}");
        if let Some(id) = item["reject_id"].as_u64() {
            let (origin, kept_reason) = kept.get(&id).unwrap_or_else(|| panic!("{item} not kept"));
            // The same bytes are kept once: the record names the first item that brought them.
            let first = items
                .iter()
                .find(|i| i["reject_id"].as_u64() == Some(id))
                .and_then(|i| i["path"].as_str());
            assert_eq!(Some(origin.as_str()), first, "{item}");
            assert_eq!(kept_reason, reason);
        }
    }
    let n = |k: &str| summary[k].as_u64().expect("a count");
    assert_eq!(
        n("ingested") + n("duplicates") + n("rejected"),
        items.len() as u64
    );
    summary
}

/// The outcome of the item from `path`.
fn outcome<'a>(summary: &'a Value, path: &str) -> &'a Value {
    summary["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["path"] == path)
        .unwrap_or_else(|| panic!("no item {path} in {summary:#}"))
}

/// Deterministic pseudo-random bytes (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn arbitrary_bytes_are_rejected_and_kept() {
    let sandbox = Sandbox::new();
    let sizes = [0, 1, 5, 64, 1000, 4096, 65_536, 1 << 20, 3, 17, 333, 9_999];
    for (i, &size) in sizes.iter().enumerate() {
        sandbox.write(&format!("junk/{i:02}.bin"), noise(size, i as u64 + 1));
    }
    // Noise behind an mbox envelope and behind mail headers.
    let mut from = b"From noise Thu May  6 09:12:44 2010\n".to_vec();
    from.extend(noise(5_000, 99));
    sandbox.write("junk/20-envelope.mbox", from);
    let mut headers =
        b"Subject: noise\nContent-Type: multipart/mixed; boundary=x\n\n--x\n".to_vec();
    headers.extend(noise(5_000, 98));
    sandbox.write("junk/21-headers.eml", headers);

    let summary = ingest_hostile(&sandbox, &[&sandbox.path("junk")]);
    assert_eq!(summary["ingested"], 1, "{summary:#}");
    assert_eq!(summary["rejected"], sizes.len() as u64 + 2, "{summary:#}");
    let stats = sandbox.ok_json(["--json", "stats"]);
    assert_eq!(stats["quarantined"], sizes.len() as u64 + 2);
}

#[test]
fn truncated_mails_are_rejected_with_the_place_they_stop() {
    let sandbox = Sandbox::new();
    let seeds = seed_mails();
    let mut cuts = Vec::new();
    for (_, mail) in &seeds {
        let len = mail.len();
        for at in [1, 16, len / 4, len / 2, 3 * len / 4, len - 3] {
            cuts.push(mail[..at].to_vec());
        }
    }
    let path = sandbox.write("truncated.mbox", mbox(&cuts));
    let summary = ingest_hostile(&sandbox, &[&path]);
    let items = summary["items"].as_array().expect("items");
    assert_eq!(items.len(), cuts.len() + 1, "one item per cut mail");
    let origin = path.display().to_string();
    for (i, (name, _)) in seeds.iter().enumerate() {
        // Cut inside the headers: nothing to read, and the reason says so.
        for k in [1, 2] {
            let item = outcome(&summary, &format!("{origin}#{}", i * 6 + k));
            assert_eq!(item["outcome"], "rejected", "{name} cut {k}: {item}");
        }
    }
    assert!(
        summary["rejected"].as_u64().expect("count") >= 2 * seeds.len() as u64,
        "{summary:#}"
    );
    sandbox.ledger().arg("verify").run().success();
}

/// A mail whose body is `depth` multiparts inside each other around `inner`.
fn nested_multipart(depth: usize, inner: &str) -> Vec<u8> {
    let mut mail = String::from(
        "From: robot@autodns.example\nSubject: nested\nDate: Thu, 06 May 2010 09:12:44 +0200\n\
         MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n",
    );
    for i in 1..depth {
        mail.push_str(&format!(
            "--b{}\nContent-Type: multipart/mixed; boundary=\"b{i}\"\n\n",
            i - 1
        ));
    }
    mail.push_str(&format!(
        "--b{}\nContent-Type: text/plain\n\n{inner}\n",
        depth - 1
    ));
    for i in (0..depth).rev() {
        mail.push_str(&format!("--b{i}--\n"));
    }
    mail.into_bytes()
}

#[test]
fn mime_nested_five_thousand_deep_neither_crashes_nor_hides_a_notification() {
    let sandbox = Sandbox::new();
    let junk = sandbox.write("deep-junk.eml", nested_multipart(5_000, "nothing to see"));
    let notification = "<system>\nuser: x\ntask: 0101\nstatus: S0101 [Domain has been registered successfully.]\ntransaction: deep5000\n</system>";
    let deep = sandbox.write(
        "deep-notification.eml",
        nested_multipart(5_000, notification),
    );
    // A mail forwarded 5,000 times: message/rfc822 inside message/rfc822.
    let mut chain = String::new();
    for i in 0..5_000 {
        chain.push_str(&format!(
            "From: a@relay.example\nSubject: Fwd {i}\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\n"
        ));
    }
    chain.push_str(&format!(
        "From: robot@autodns.example\nContent-Type: text/plain\n\n{notification}\n"
    ));
    let chain = sandbox.write("deep-rfc822.eml", chain);

    let summary = ingest_hostile(&sandbox, &[&junk, &deep, &chain]);
    let junk = outcome(&summary, &junk.display().to_string());
    assert_eq!(junk["outcome"], "rejected", "{junk}");
    assert!(
        junk["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no recognisable notification")),
        "{junk}"
    );
    let deep = outcome(&summary, &deep.display().to_string());
    assert_eq!(deep["outcome"], "ingested", "{deep}");
    assert_eq!(deep["kind"], "domain_created", "{deep}");
    // The forward chain is past the MIME reader's nesting limit: rejected with the reason.
    let chain = outcome(&summary, &chain.display().to_string());
    assert_eq!(chain["outcome"], "rejected", "{chain}");
}

/// Runs `ledger ingest ARGS... GOOD` to completion and returns (exit code, peak RSS in bytes).
///
/// The peak is the child's own `VmHWM` (its high-water RSS since it exec'd), read from
/// `/proc/PID/status` every millisecond while it runs: `wait4`'s `ru_maxrss` would not do, as
/// Linux carries the parent's high-water mark (this multi-threaded test process) across the
/// child's exec.
fn peak_rss(sandbox: &Sandbox, args: &[&Path]) -> (i32, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .env_remove("LEDGER_DB")
        .arg("--db")
        .arg(sandbox.db())
        .args(["ingest", "--no-progress"])
        .args(args)
        .arg(fixture(GOOD))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting ledger");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_file) {
            let hwm = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            peak_kb = peak_kb.max(hwm.unwrap_or(0));
        }
        if let Some(status) = child.try_wait().expect("polling the child") {
            return (status.code().unwrap_or(-1), peak_kb * 1024);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Writes `head`, then `len` bytes of `fill` without a newline, then `tail`, in chunks (this
/// test process must not hold 200 MB itself).
fn write_long_line(path: &Path, head: &[u8], fill: u8, len: usize, tail: &[u8]) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("creating a file"));
    file.write_all(head).expect("writing");
    let chunk = vec![fill; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        file.write_all(&chunk[..n]).expect("writing");
        left -= n;
    }
    file.write_all(tail).expect("writing");
    file.flush().expect("writing");
}

/// A 200 MB line without a newline.
const LONG_LINE: usize = 200 << 20;

/// The peak memory allowed while reading it: the item limit (16 MiB) read, parsed and kept a few
/// times over, far under the line's size.
const LONG_LINE_RSS: u64 = 96 << 20;

#[test]
fn a_200_mb_line_in_a_file_is_rejected_in_bounded_memory() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("long.eml");
    write_long_line(&path, b"Subject: long\nX-Long: ", b'a', LONG_LINE, b"");
    let (code, rss) = peak_rss(&sandbox, &[&path]);
    assert_eq!(code, 3);
    // Bounded by the item limit (16 MiB, read and kept once), not by the line: well under it.
    assert!(rss < LONG_LINE_RSS, "peak RSS {} MB", rss >> 20);
    let rejects = sandbox.ok_json(["--json", "rejects"]);
    assert_eq!(rejects[0]["origin"], path.display().to_string());
    assert!(
        rejects[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("over the limit")),
        "{rejects:#}"
    );
    let stats = sandbox.ok_json(["--json", "stats"]);
    assert_eq!(stats["events"], 1, "the good mail after it");
}

#[test]
fn a_200_mb_line_inside_an_mbox_is_rejected_in_bounded_memory_and_the_next_mail_read() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("long.mbox");
    let mut tail = b"\n\n".to_vec();
    tail.extend(mbox(&[seed("12-")]));
    write_long_line(
        &path,
        b"From robot@autodns.example Thu May  6 09:12:44 2010\nSubject: long\nX-Long: ",
        b'a',
        LONG_LINE,
        &tail,
    );
    let (code, rss) = peak_rss(&sandbox, &[&path]);
    assert_eq!(code, 3);
    // Bounded by the item limit (16 MiB, read and kept once), not by the line: well under it.
    assert!(rss < LONG_LINE_RSS, "peak RSS {} MB", rss >> 20);
    let rejects = sandbox.ok_json(["--json", "rejects"]);
    assert_eq!(rejects.as_array().map(Vec::len), Some(1), "{rejects:#}");
    assert_eq!(rejects[0]["origin"], format!("{}#1", path.display()));
    let kinds: Vec<Value> = export(&sandbox)
        .into_iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(kinds, ["transfer_in_started", "domain_created"]);
}

/// An mbox of `count` messages of 5 MiB each, each a rejected item.
fn many_large_messages(sandbox: &Sandbox, name: &str, count: u8) -> PathBuf {
    let path = sandbox.path(name);
    let mut file = std::fs::File::create(&path).expect("creating a file");
    for i in 0..count {
        let part = sandbox.path("part");
        write_long_line(
            &part,
            b"From x Thu May  6 09:12:44 2010\nSubject: big\nX-Long: ",
            b'a' + i,
            5 << 20,
            b"\n\n",
        );
        std::io::copy(&mut std::fs::File::open(&part).expect("a part"), &mut file)
            .expect("appending a part");
    }
    path
}

#[test]
fn many_large_messages_are_ingested_in_bounded_memory() {
    // Memory must not grow with the input: three times the messages, about the same peak
    // (what is left is the allocator's and sled's own, a few MB either way).
    let (small, large) = (Sandbox::new(), Sandbox::new());
    let (code, rss_small) = peak_rss(&small, &[&many_large_messages(&small, "10.mbox", 10)]);
    assert_eq!(code, 3);
    let (code, rss_large) = peak_rss(&large, &[&many_large_messages(&large, "30.mbox", 30)]);
    assert_eq!(code, 3);
    assert!(
        rss_large < rss_small + (16 << 20) && rss_large < 96 << 20,
        "peak RSS {} MB for 50 MB of input, {} MB for 150 MB",
        rss_small >> 20,
        rss_large >> 20
    );
}

#[test]
fn a_mail_over_max_size_is_rejected_kept_whole_and_reparsed_later() {
    let sandbox = Sandbox::new();
    let mail = String::from_utf8(seed("12-")).expect("a 7-bit seed mail");
    let padded = mail.replacen(
        "MIME-Version",
        &format!("X-Padding: {}\nMIME-Version", "p".repeat(8_000)),
        1,
    );
    let big = sandbox.write("big.eml", padded);
    let summary = sandbox
        .ledger()
        .args(["--json", "ingest", "--no-progress", "--max-size", "6000"])
        .arg(&big)
        .arg(fixture(GOOD))
        .run()
        .expect_code(3)
        .json();
    let item = outcome(&summary, &big.display().to_string());
    assert_eq!(item["outcome"], "rejected");
    assert!(
        item["reason"]
            .as_str()
            .is_some_and(|r| r.contains("limit of 6000 bytes")),
        "{item}"
    );
    assert_eq!(summary["ingested"], 1);
    // Kept whole: with the default limit it parses.
    let reparsed = sandbox.ok_json(["--json", "reparse"]);
    assert_eq!(reparsed["appended"], 1, "{reparsed:#}");
}

#[test]
fn a_maildir_with_unreadable_files_and_symlinks_out_of_it() {
    let sandbox = Sandbox::new();
    let outside = sandbox.write("outside/12.eml", seed("12-"));
    sandbox.write("outside/dir/07.eml", seed("07-"));
    let maildir = sandbox.path("Maildir");
    sandbox.write("Maildir/tmp/.keep", "");
    sandbox.write("Maildir/cur/1.eml:2,S", seed("06-"));
    let locked = sandbox.write("Maildir/cur/2.eml:2,S", seed("16-"));
    std::os::unix::fs::symlink(&outside, maildir.join("cur/3-link.eml")).expect("symlink");
    std::os::unix::fs::symlink(sandbox.path("outside/dir"), maildir.join("cur/4-dirlink"))
        .expect("symlink");
    // `new` itself a link to a directory outside.
    std::os::unix::fs::symlink(sandbox.path("outside/dir"), maildir.join("new")).expect("symlink");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    // root (as in CI) reads a mode-000 file anyway: then it is an ordinary mail.
    let privileged = std::fs::read(&locked).is_ok();

    let summary = ingest_hostile(&sandbox, &[&maildir]);
    let at = |rel: &str| outcome(&summary, &maildir.join(rel).display().to_string()).clone();
    assert_eq!(at("cur/1.eml:2,S")["outcome"], "ingested");
    for link in ["cur/3-link.eml", "cur/4-dirlink", "new"] {
        let item = at(link);
        assert_eq!(item["outcome"], "rejected", "{item}");
        assert_eq!(item["reject_id"], Value::Null, "{item}: reported, not kept");
        assert_eq!(
            item["reason"], "symbolic link inside a directory: not followed",
            "{item}"
        );
    }
    let locked_item = at("cur/2.eml:2,S");
    if privileged {
        eprintln!("running as root: a mode-000 file is readable, its check is skipped");
        assert_eq!(locked_item["outcome"], "ingested");
    } else {
        assert_eq!(locked_item["outcome"], "rejected", "{locked_item}");
        assert_eq!(locked_item["reason"], "permission denied");
    }
    // Nothing behind the links was read.
    let kinds: Vec<Value> = export(&sandbox)
        .into_iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert!(
        !kinds.contains(&Value::from("transfer_in_started")),
        "{kinds:?}"
    );
    assert!(
        !kinds.contains(&Value::from("domain_create_failed")),
        "{kinds:?}"
    );
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644)).expect("chmod");
}

#[test]
fn broken_mbox_envelope_lines() {
    let sandbox = Sandbox::new();
    let a = mbox(&[seed("06-")]);
    let b = mbox(&[seed("07-")]);
    let c = mbox(&[seed("12-")]);
    let strip = |m: &[u8]| m[m.iter().position(|&x| x == b'\n').expect("envelope") + 1..].to_vec();
    // Envelope lines without address or date, with bytes that are not UTF-8, or 100 kB long:
    // still separators (a `From ` line after a blank line), so each mail is its own item.
    let mut text = a.clone();
    text.extend_from_slice(b"From \n");
    text.extend(strip(&b));
    text.extend_from_slice(b"From \xff\xfe\x00 garbage\n");
    text.extend(strip(&c));
    text.extend_from_slice(b"From ");
    text.extend(std::iter::repeat_n(b'x', 100_000));
    text.push(b'\n');
    text.extend(strip(&mbox(&[seed("16-")])));
    // An envelope followed by no mail at all.
    text.extend_from_slice(b"From \n\xff\xfe\n\n");
    let broken = sandbox.write("broken.mbox", text);
    // `From` without the space is no envelope: the file is one mail (and its notification is
    // the first mbox's first one again).
    let mut no_space = b"From\n".to_vec();
    no_space.extend(strip(&a));
    let not_mbox = sandbox.write("not-an-mbox", no_space);

    let summary = ingest_hostile(&sandbox, &[&broken, &not_mbox]);
    let origin = broken.display().to_string();
    for (n, kind) in [
        (1, "domain_created"),
        (2, "domain_create_failed"),
        (3, "transfer_in_started"),
        (4, "transfer_in_acked"),
    ] {
        let item = outcome(&summary, &format!("{origin}#{n}"));
        assert_eq!(item["outcome"], "ingested", "{item}");
        assert_eq!(item["kind"], kind, "{item}");
    }
    let item = outcome(&summary, &format!("{origin}#5"));
    assert_eq!(item["outcome"], "rejected", "{item}");
    let item = outcome(&summary, &not_mbox.display().to_string());
    assert_eq!(item["outcome"], "duplicate", "{item}");
    assert_eq!(item["duplicate_of"], 1, "{item}");
}

#[test]
fn invalid_utf8_at_every_line_of_a_seed_mail() {
    let sandbox = Sandbox::new();
    let mail = seed("06-");
    let lines: Vec<&[u8]> = mail.split_inclusive(|&b| b == b'\n').collect();
    let mut variants = Vec::new();
    let mut status_variant = None;
    for i in 0..lines.len() {
        let mut variant = Vec::new();
        for (j, line) in lines.iter().enumerate() {
            if i == j {
                // Two bytes that are never UTF-8, ten bytes in (or at the end of a short line).
                let at = line.len().saturating_sub(1).min(10);
                variant.extend_from_slice(&line[..at]);
                variant.extend_from_slice(b"\xff\xfe");
                variant.extend_from_slice(&line[at..]);
            } else {
                variant.extend_from_slice(line);
            }
        }
        if lines[i].starts_with(b"status: ") {
            status_variant = Some(i + 1);
        }
        variants.push(variant);
    }
    let path = sandbox.write("utf8.mbox", mbox(&variants));
    let summary = ingest_hostile(&sandbox, &[&path]);
    assert_eq!(
        summary["items"].as_array().map(Vec::len),
        Some(lines.len() + 1),
        "one item per variant"
    );
    // The status code itself broken: rejected, like fixtures/bad/invalid-utf8-status.txt.
    let n = status_variant.expect("a status line");
    let item = outcome(&summary, &format!("{}#{n}", path.display()));
    assert_eq!(item["outcome"], "rejected", "{item}");
    // A broken header line is no reason to lose the notification.
    let subject = lines
        .iter()
        .position(|l| l.starts_with(b"Subject:"))
        .expect("a Subject line");
    let item = outcome(&summary, &format!("{}#{}", path.display(), subject + 1));
    assert_ne!(item["outcome"], "rejected", "{item}");
    sandbox.ledger().arg("verify").run().success();
}

#[test]
// mail-parser 0.11.9 hits `debug_assert!(false, "Invalid part ID, could not find multipart.")`
// (src/parsers/message.rs:485) on this input, found by `cargo fuzz run parse` in about 12,000
// runs. Release builds compile the assertion out; the root Cargo.toml turns it off in debug
// builds too (`[profile.dev.package.mail-parser]`), and CI fuzzes with `-O`.
fn a_message_rfc822_inside_a_broken_multipart_does_not_abort_the_run() {
    let sandbox = Sandbox::new();
    let input = sandbox.write(
        "fuzz-crash.eml",
        b"R: 0\nContent-Type: multipart/xd; boundary=\"fwd\n\n--fwdContent-Type: message/rfc822\n\n\
          Content-Type: message/rfc822\n\nm\n\n--fwd--\n",
    );
    let summary = ingest_hostile(&sandbox, &[&input]);
    assert_eq!(
        outcome(&summary, &input.display().to_string())["outcome"],
        "rejected"
    );
}
