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
    let mut stats = sandbox
        .ledger()
        .args(["--json", "stats"])
        .run()
        .success()
        .json();
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
    let list = sandbox
        .ledger()
        .args(["--json", "rejects"])
        .run()
        .success()
        .json();
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
    for line in std::fs::read_to_string(&ref_log).expect("reference log").lines() {
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
    assert!(killed_mid_run >= 3, "only {killed_mid_run} kills landed mid-run");

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
        assert!(Instant::now() < deadline, "{} never got a line", path.display());
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
    let events = export(&sandbox);
    let mut shas: Vec<&Value> = events.iter().map(|e| &e["source"]["sha256"]).collect();
    let mut expected_shas: Vec<&Value> = expected_events
        .iter()
        .map(|e| &e["source"]["sha256"])
        .collect();
    let total = shas.len();
    shas.sort_by_key(|v| v.to_string());
    shas.dedup();
    assert_eq!(shas.len(), total, "a notification stored twice");
    expected_shas.sort_by_key(|v| v.to_string());
    // The same raw mails may have come first from either file: compare the set of contents.
    assert_eq!(shas, expected_shas);
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
        &["ingest", "--no-progress", overlapping.to_str().expect("utf-8")][..],
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
        assert!(refused.stdout().is_empty(), "{args:?} printed {}", refused.stdout());
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
    let show = spawn(&sandbox, &["--json", "--wait", "60s", "show", "--ctid", &ctid], false);
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
