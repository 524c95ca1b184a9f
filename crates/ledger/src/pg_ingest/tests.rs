//! The PostgreSQL write path against sled's, on the same input: a throwaway cluster per test
//! (crates/pgtest), a role and a database of its own, connected through ledger-pgconn.
//! Without a server the tests are skipped with a banner (a failure under `CI`).
//!
//! The input is the project's fixtures and corpus mails: with `LEDGER_PG_CORPUS` set, the
//! files of `cargo xtask corpus --format files --out DIR` (in delivery order); else the
//! bench corpus (`benches/support/corpus.rs`) stands in, and the test says so.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Barrier;

use chrono::{DateTime, Utc};
use ledger_event::{Event, Origin};
use postgres::Client;

use super::{ingest_stream, prepare_batch, write_batch};
use crate::decide::Item;
use crate::ingest::{event_dedup_key, prepare, response_context};
use crate::postgres::{read, read_meta};
use crate::projections::{ProjectionId, VIEWS_VERSION, Working};
use crate::quarantine::QuarantineRecord;
use crate::store::Views;
use crate::{IngestOutcome, Ledger, Options, QuarantineEntry};

// The postgres primitives' tests load it too: each test module has its own copy.
#[allow(clippy::duplicate_mod)]
#[path = "../../benches/support/corpus.rs"]
mod corpus;

/// Items to ingest, as `Ledger::ingest_batch` takes them.
type Batch = Vec<(Vec<u8>, Origin)>;

use crate::postgres::tests::{DATABASE, Db};

/// Every file under `dir`, sorted by path.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A file as an item to ingest, its origin the path below `root`.
fn read_item(root: &Path, path: &Path) -> (Vec<u8>, Origin) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    (bytes, Origin::new(name))
}

/// Every file of `fixtures/` (mails, bodies, mailboxes, bad input), as items.
fn fixtures() -> Batch {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    files(&root)
        .iter()
        .map(|path| read_item(&root, path))
        .collect()
}

/// The corpus's files (`LEDGER_PG_CORPUS`), the first `n`, if the variable is set.
fn corpus_files(n: usize) -> Option<(PathBuf, Vec<PathBuf>)> {
    let dir = PathBuf::from(std::env::var_os("LEDGER_PG_CORPUS")?);
    let mut paths = files(&dir);
    assert!(
        paths.len() >= n,
        "LEDGER_PG_CORPUS={} holds {} files, {n} wanted",
        dir.display(),
        paths.len()
    );
    paths.truncate(n);
    Some((dir, paths))
}

/// `n` corpus mails: `cargo xtask corpus`'s when `LEDGER_PG_CORPUS` names them, else the
/// bench corpus's.
fn corpus_mails(n: usize) -> Batch {
    match corpus_files(n) {
        Some((dir, paths)) => paths.iter().map(|path| read_item(&dir, path)).collect(),
        None => {
            eprintln!(
                "LEDGER_PG_CORPUS is not set: the bench corpus stands in for `cargo xtask corpus \
                 --format files` (set it to such a directory for the realistic mix)"
            );
            corpus::corpus(n)
        }
    }
}

fn items(batch: &[(Vec<u8>, Origin)]) -> Vec<Item> {
    batch
        .iter()
        .map(|(raw, origin)| Item {
            raw: raw.clone(),
            origin: origin.clone(),
            response: None,
            quarantined: None,
            trusted: false,
        })
        .collect()
}

/// An AutoDNS create result as a mail with this `Date`.
fn mail(date: &str, transaction: &str) -> (Vec<u8>, Origin) {
    let bytes = format!(
        "From: AutoDNS Robot <robot@autodns.example>\n\
         To: hostmaster@reseller.example\n\
         Subject: AutoDNS notification\n\
         Date: {date}\n\
         Message-ID: <{transaction}.{date}@autodns.example>\n\
         \n\
         <system>\nuser: ExampleUser\ntask: 0101\n\
         status: S0101 [Domain has been registered successfully.]\n\
         success_value: domain: example-{transaction}.de\ntransaction: {transaction}\n\
         </system>\n"
    );
    (bytes.into_bytes(), Origin::new(format!("window/{date}")))
}

fn garbage(text: &str) -> (Vec<u8>, Origin) {
    (text.as_bytes().to_vec(), Origin::new("garbage"))
}

/// The recorded time sled gave the events of a batch (its one `now`), to give PostgreSQL the
/// same: an event without a time of its own is folded at it. Now when nothing was appended.
fn recorded_time(sled: &Ledger, outcomes: &[IngestOutcome]) -> DateTime<Utc> {
    outcomes
        .iter()
        .find_map(|outcome| match outcome {
            IngestOutcome::Appended { seq, .. } => Some(*seq),
            _ => None,
        })
        .map(|seq| {
            sled.export(seq)
                .next()
                .expect("the appended event")
                .expect("it reads")
                .recorded_at
        })
        .unwrap_or_else(Utc::now)
}

/// Every event of the PostgreSQL log, decoded, checked against its row's seq.
fn pg_events(client: &mut Client) -> Vec<Event> {
    read::events_in(client, 1..u64::MAX)
        .expect("events")
        .into_iter()
        .map(|stored| {
            let event = ledger_event::stored::decode_event(&stored.stored).expect("decodes");
            assert_eq!(event.seq, stored.seq);
            assert_eq!(event.source.sha256, stored.raw_sha);
            event
        })
        .collect()
}

type Records = BTreeMap<ProjectionId, Vec<(Vec<u8>, Vec<u8>)>>;

/// Every projection record of the PostgreSQL views, per tree, in key order.
fn pg_views(client: &mut Client) -> Records {
    ProjectionId::ALL
        .into_iter()
        .map(|id| {
            let records = read::view_prefix(client, u16::from(id.id()), b"", None).expect("views");
            (id, records)
        })
        .collect()
}

/// Every projection record of the sled views at `options.path` (not open elsewhere).
fn sled_views(options: &Options) -> Records {
    let views = Views::open(options).expect("the sled views open");
    ProjectionId::ALL
        .into_iter()
        .map(|id| {
            let records = views
                .tree(id)
                .iter()
                .map(|entry| {
                    let (key, value) = entry.expect("a sled record");
                    (key.to_vec(), value.to_vec())
                })
                .collect();
            (id, records)
        })
        .collect()
}

/// The records of a fresh fold of `events` (what `verify` compares with).
fn fresh_fold(events: &[Event]) -> Records {
    let mut working = Working::fresh();
    for event in events {
        working.apply(event);
    }
    working
        .into_changes()
        .expect("the records encode")
        .into_iter()
        .map(|(id, changes)| {
            let records = changes
                .into_iter()
                .filter_map(|(key, record)| Some((key, record?)))
                .collect();
            (id, records)
        })
        .collect()
}

/// The PostgreSQL quarantine as entries, with the time received left out (each store stamps
/// its own).
fn pg_quarantine(client: &mut Client) -> Vec<QuarantineEntry> {
    read::rejects_in(client, 1..u64::MAX)
        .expect("quarantine")
        .into_iter()
        .map(|stored| {
            let record = QuarantineRecord::from_bytes(&stored.record, stored.id).expect("decodes");
            assert_eq!(record.sha256, stored.raw_sha);
            assert!(
                read::raw_by_sha(client, &stored.raw_sha)
                    .expect("reads")
                    .is_some_and(|raw| raw.len() as u64 == record.size),
                "the raw input of quarantine entry {} is kept",
                stored.id
            );
            untimed(record.entry(stored.id).expect("an entry"))
        })
        .collect()
}

fn untimed(mut entry: QuarantineEntry) -> QuarantineEntry {
    entry.received_at = DateTime::UNIX_EPOCH;
    entry
}

/// Asserts two stores' records equal, per tree, naming the first difference.
fn assert_records_equal(left: &Records, right: &Records, what: &str) {
    for id in ProjectionId::ALL {
        let (a, b) = (&left[&id], &right[&id]);
        if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
            panic!(
                "{what}: tree {} differs at record {i} of {} / {}: {:?} / {:?}",
                id.name(),
                a.len(),
                b.len(),
                a.get(i).map(|(k, _)| String::from_utf8_lossy(k)),
                b.get(i).map(|(k, _)| String::from_utf8_lossy(k)),
            );
        }
    }
}

#[test]
fn postgres_ingests_what_sled_does_with_the_same_outcomes_events_quarantine_and_records() {
    let Some((_db, mut client)) = Db::migrated("postgres_ingests_what_sled_does") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = Options::new(dir.path().join("ledger"));
    let sled = Ledger::open(options.clone()).expect("the sled ledger opens");

    let mut input = fixtures();
    assert!(input.len() > 100, "{} fixtures", input.len());
    input.extend(corpus_mails(3_000));
    let mut batches: Vec<Batch> = input.chunks(700).map(<[_]>::to_vec).collect();
    // Delivered again: the first 300 (fixtures and mails), 100 corpus mails, 10 of them twice
    // in the batch.
    let mut again = input[..300].to_vec();
    again.extend_from_slice(&input[1_000..1_100]);
    again.extend_from_slice(&input[1_000..1_010]);
    batches.push(again);
    // The 24-hour window: a copy two minutes later and one 23 hours later are the event, one
    // 25 hours later a new fact; across batches too, and 147 days later. Garbage is kept
    // once, and found again in the next batch.
    let first = "Tue, 13 Jan 2026 09:02:41 +0000";
    batches.push(vec![
        mail(first, "window-1"),
        mail("Tue, 13 Jan 2026 09:04:41 +0000", "window-1"),
        mail("Wed, 14 Jan 2026 08:02:41 +0000", "window-1"),
        garbage("this is not a notification of any provider\n"),
        garbage("this is not a notification of any provider\n"),
    ]);
    batches.push(vec![
        mail("Wed, 14 Jan 2026 10:02:41 +0000", "window-1"),
        mail(first, "window-1"),
        mail("Fri, 10 Jun 2026 09:02:41 +0000", "window-1"),
        garbage("this is not a notification of any provider\n"),
        garbage("neither is this\n"),
    ]);

    let (mut appended, mut duplicates, mut rejected) = (0, 0, 0);
    let mut batch_outcomes = Vec::new();
    for (n, batch) in batches.iter().enumerate() {
        let expected = sled.ingest_batch(batch.clone()).expect("sled ingests");
        let now = recorded_time(&sled, &expected);
        let got = write_batch(&mut client, prepare_batch(&options, items(batch)), now)
            .expect("PostgreSQL ingests");
        assert_eq!(got.len(), batch.len());
        for (i, (pg, sled)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(pg, sled, "batch {n}, item {i} ({})", batch[i].1);
        }
        for outcome in &got {
            match outcome {
                IngestOutcome::Appended { .. } => appended += 1,
                IngestOutcome::Duplicate { .. } => duplicates += 1,
                IngestOutcome::Rejected { .. } => rejected += 1,
            }
        }
        batch_outcomes.push(got);
    }
    // The window's cases came out as they should (and as sled's).
    let window = &batch_outcomes[batch_outcomes.len() - 2..];
    let IngestOutcome::Appended { seq: w1, .. } = window[0][0] else {
        panic!("the first window mail is new: {:?}", window[0][0]);
    };
    assert_eq!(window[0][1], IngestOutcome::Duplicate { of: w1 });
    assert_eq!(window[0][2], IngestOutcome::Duplicate { of: w1 });
    assert!(matches!(window[1][0], IngestOutcome::Appended { .. }));
    assert_eq!(window[1][1], IngestOutcome::Duplicate { of: w1 });
    assert!(matches!(window[1][2], IngestOutcome::Appended { .. }));
    let ids: Vec<u64> = [&window[0][3], &window[0][4], &window[1][3], &window[1][4]]
        .iter()
        .map(|outcome| match outcome {
            IngestOutcome::Rejected { id, .. } => *id,
            other => panic!("garbage is rejected, not {other:?}"),
        })
        .collect();
    assert_eq!((ids[0], ids[1], ids[2]), (ids[0], ids[0], ids[0]));
    assert_eq!(ids[3], ids[0] + 1);

    // Responses recorded for an order: a CentralNic answer, and garbage, whose quarantine
    // entry keeps its context (the same bytes ingested plainly are another entry).
    let response = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/centralnic/hxdoc_adddomain_200.txt"),
    )
    .expect("a CentralNic fixture");
    let responses = [
        (
            response.clone(),
            "rr-1",
            Some("AddDomain"),
            Some("rr-1.example"),
        ),
        (response, "rr-1", Some("AddDomain"), Some("rr-1.example")),
        (
            b"this is not a notification of any provider\n".to_vec(),
            "rr-2",
            Some("AddDomain"),
            None,
        ),
    ];
    for (raw, ctid, command, domain) in responses {
        let origin = Origin::new(format!("response/{ctid}"));
        let expected = sled
            .record_response(&raw, ctid, command, domain, origin.clone())
            .expect("sled records");
        let item = Item {
            raw,
            origin,
            response: Some(response_context(ctid, command, domain).expect("a context")),
            quarantined: None,
            trusted: true,
        };
        let now = recorded_time(&sled, std::slice::from_ref(&expected));
        let got =
            write_batch(&mut client, prepare_batch(&options, vec![item]), now).expect("records");
        assert_eq!(got, [expected]);
    }
    eprintln!(
        "{} items: {appended} appended, {duplicates} duplicates, {rejected} rejected",
        batches.iter().map(Vec::len).sum::<usize>()
    );
    assert!(appended > 2_500, "{appended} appended");
    assert!(duplicates >= 410, "{duplicates} duplicates");
    assert!(rejected >= 9, "{rejected} rejected");

    // The same log, raw inputs and quarantine.
    let sled_events: Vec<Event> = sled
        .export(1)
        .collect::<crate::Result<_>>()
        .expect("sled's log reads");
    let events = pg_events(&mut client);
    assert_eq!(events.len(), sled_events.len());
    for (pg, sled) in events.iter().zip(&sled_events) {
        assert_eq!(pg, sled, "event {}", sled.seq);
    }
    for event in events.iter().step_by(13) {
        assert_eq!(
            read::raw_of_event(&mut client, event.seq).expect("reads"),
            Some(sled.raw(event).expect("sled's raw input")),
            "the raw input of event {}",
            event.seq
        );
    }
    let sled_quarantine: Vec<QuarantineEntry> = sled
        .quarantine()
        .expect("sled's quarantine")
        .into_iter()
        .map(untimed)
        .collect();
    assert!(sled_quarantine.len() >= 5, "{sled_quarantine:?}");
    assert_eq!(pg_quarantine(&mut client), sled_quarantine);
    let meta = read_meta(&mut client).expect("meta");
    let head = events.len() as u64;
    assert_eq!((meta.next_seq, meta.checkpoint), (head + 1, head));
    assert_eq!(meta.views_version, VIEWS_VERSION as i32);

    // The same projection records, byte for byte, and they are a fold of the log.
    drop(sled);
    let records = pg_views(&mut client);
    assert_records_equal(&records, &sled_views(&options), "PostgreSQL / sled");
    assert_records_equal(&records, &fresh_fold(&events), "PostgreSQL / a fresh fold");
    for id in [
        ProjectionId::Transfers,
        ProjectionId::Orders,
        ProjectionId::FailedCreates,
        ProjectionId::CreateMarks,
        ProjectionId::Departures,
        ProjectionId::KindCounts,
        ProjectionId::Counts,
        ProjectionId::OrdersByState,
        ProjectionId::TransfersByDeadline,
        ProjectionId::TransferSpans,
    ] {
        assert!(!records[&id].is_empty(), "no {} records", id.name());
    }
    // Retired in views version 8: nothing writes it.
    assert!(
        records
            .get(&ProjectionId::TransfersByWeek)
            .is_none_or(|r| r.is_empty()),
        "transfers_by_week records were written"
    );
}

#[test]
fn two_writers_over_overlapping_input_keep_each_notification_once_gap_free_and_folded() {
    let Some((db, _client)) = Db::migrated("two_writers_through_the_engine") else {
        return;
    };
    let mails = corpus_mails(3_000);
    let junk = garbage("this is not a notification of any provider\n");
    // Writer A has mails 0..2000, writer B 1000..3000 in reverse (the middle third is both's),
    // each in batches of 250 with the same garbage in its first; B repeats a mail in each.
    let mut a: Batch = vec![junk.clone()];
    a.extend_from_slice(&mails[..2_000]);
    let mut b: Batch = vec![junk];
    b.extend(mails[1_000..].iter().rev().cloned());
    let b: Vec<Batch> = b
        .chunks(250)
        .map(|chunk| {
            let mut batch = chunk.to_vec();
            batch.push(chunk[chunk.len() / 2].clone());
            batch
        })
        .collect();
    let a: Vec<Batch> = a.chunks(250).map(<[_]>::to_vec).collect();

    let options = Options::new("postgres-ledger");
    let barrier = Barrier::new(2);
    let written: Vec<Vec<(Batch, Vec<IngestOutcome>)>> = std::thread::scope(|scope| {
        let runs: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|input| {
                let (db, barrier, options) = (&db, &barrier, &options);
                scope.spawn(move || {
                    let mut client = db.connect();
                    barrier.wait();
                    input
                        .into_iter()
                        .map(|batch| {
                            let prepared = prepare_batch(options, items(&batch));
                            let outcomes = write_batch(&mut client, prepared, Utc::now())
                                .expect("a writer's batch commits");
                            (batch, outcomes)
                        })
                        .collect()
                })
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("a writer"))
            .collect()
    });

    let mut client = db.connect();
    let events = pg_events(&mut client);
    let head = events.len() as u64;
    // Every outcome names an event of the log with its item's key; no seq was appended twice;
    // the seqs are 1..=head.
    let key_of_seq: HashMap<u64, [u8; 32]> = events
        .iter()
        .map(|event| (event.seq, event_dedup_key(event)))
        .collect();
    let mut appended = Vec::new();
    // Each rejected input has one quarantine entry, whoever delivered it.
    let mut rejects: HashMap<u64, [u8; 32]> = HashMap::new();
    let mut reject_ids: HashMap<[u8; 32], u64> = HashMap::new();
    for (batch, outcomes) in written.iter().flatten() {
        let prepared = prepare(&options, items(batch), false);
        assert_eq!(outcomes.len(), batch.len());
        for ((outcome, pre), sha) in outcomes.iter().zip(&prepared.pres).zip(&prepared.shas) {
            let key = match pre {
                crate::decide::Pre::Event(_, key) => Some(*key),
                crate::decide::Pre::Rejected { .. } => None,
            };
            match outcome {
                IngestOutcome::Appended { seq, .. } => {
                    appended.push(*seq);
                    assert_eq!(key_of_seq.get(seq), key.as_ref(), "appended {seq}");
                }
                IngestOutcome::Duplicate { of } => {
                    assert_eq!(key_of_seq.get(of), key.as_ref(), "a duplicate of {of}");
                }
                IngestOutcome::Rejected { id, .. } => {
                    assert_eq!(*rejects.entry(*id).or_insert(*sha), *sha, "entry {id}");
                    assert_eq!(*reject_ids.entry(*sha).or_insert(*id), *id, "entry {id}");
                }
            }
        }
    }
    appended.sort_unstable();
    assert_eq!(
        appended,
        (1..=head).collect::<Vec<u64>>(),
        "gap-free, once each"
    );
    let kept = read::rejects_in(&mut client, 1..u64::MAX).expect("read");
    assert_eq!(
        kept.iter().map(|entry| entry.id).collect::<Vec<_>>(),
        (1..=rejects.len() as u64).collect::<Vec<_>>()
    );

    // As many events per notification as one sled ledger fed both inputs one after the other.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sled = Ledger::open(Options::new(dir.path().join("ledger"))).expect("sled opens");
    for batch in a.iter().chain(&b) {
        sled.ingest_batch(batch.clone()).expect("sled ingests");
    }
    let per_key = |events: &[Event]| {
        let mut counts: BTreeMap<[u8; 32], usize> = BTreeMap::new();
        for event in events {
            *counts.entry(event_dedup_key(event)).or_default() += 1;
        }
        counts
    };
    let sled_events: Vec<Event> = sled
        .export(1)
        .collect::<crate::Result<_>>()
        .expect("sled's log reads");
    assert!(sled_events.len() >= 2_900, "{}", sled_events.len());
    assert_eq!(
        sled.quarantine().expect("sled's quarantine").len(),
        kept.len()
    );
    assert_eq!(
        per_key(&events),
        per_key(&sled_events),
        "each notification once"
    );

    // The views two writers kept, batch by batch in turns, are a fresh fold of the log.
    let meta = read_meta(&mut client).expect("meta");
    assert_eq!((meta.next_seq, meta.checkpoint), (head + 1, head));
    assert_records_equal(&pg_views(&mut client), &fresh_fold(&events), "two writers");
}

/// A reject released (the trust policy refused its sender; a person vouches for it) leaves the
/// quarantine and becomes an event whose raw input is the one kept with the reject, as in
/// sled; a copy delivered again from the refused sender is judged as sled judges it.
#[test]
fn a_released_reject_leaves_the_quarantine_as_in_sled() {
    let Some((_db, mut client)) = Db::migrated("a_released_reject_leaves_the_quarantine") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut options = Options::new(dir.path().join("ledger"));
    options.trust =
        Some(crate::TrustPolicy::parse("sender robot@autodns.example\n").expect("a trust policy"));
    let sled = Ledger::open(options.clone()).expect("the sled ledger opens");
    let trusted = mail("Tue, 13 Jan 2026 09:02:41 +0000", "trusted-1");
    let (bytes, origin) = mail("Tue, 13 Jan 2026 09:03:41 +0000", "spoofed-1");
    let text = String::from_utf8(bytes).expect("text");
    let spoofed = (
        text.replace("robot@autodns.example>", "robot@evil.example>")
            .into_bytes(),
        origin,
    );
    let batch = vec![trusted, spoofed.clone()];
    let expected = sled.ingest_batch(batch.clone()).expect("sled ingests");
    let now = recorded_time(&sled, &expected);
    let got = write_batch(&mut client, prepare_batch(&options, items(&batch)), now)
        .expect("PostgreSQL ingests");
    assert_eq!(got, expected);
    let IngestOutcome::Rejected { id, .. } = got[1] else {
        panic!("the spoofed sender is refused: {:?}", got[1]);
    };

    let expected = sled.release(id).expect("sled releases");
    let stored = read::rejects_in(&mut client, id..id + 1)
        .expect("reads")
        .pop()
        .expect("the entry");
    let record = QuarantineRecord::from_bytes(&stored.record, id).expect("decodes");
    let raw = read::raw_by_sha(&mut client, &record.sha256)
        .expect("reads")
        .expect("kept");
    assert_eq!(raw, spoofed.0);
    let item = Item {
        raw,
        origin: Origin::new(record.origin.clone()),
        response: None,
        quarantined: Some((id, record)),
        trusted: true,
    };
    let now = recorded_time(&sled, std::slice::from_ref(&expected));
    let got = write_batch(&mut client, prepare_batch(&options, vec![item]), now)
        .expect("PostgreSQL releases");
    assert_eq!(got, [expected]);
    assert!(matches!(got[0], IngestOutcome::Appended { seq: 2, .. }));
    assert!(pg_quarantine(&mut client).is_empty());
    assert!(sled.quarantine().expect("sled's quarantine").is_empty());
    let events = pg_events(&mut client);
    assert_eq!(
        events,
        sled.export(1)
            .collect::<crate::Result<Vec<_>>>()
            .expect("sled's log")
    );
    assert_eq!(
        read::raw_of_event(&mut client, 2).expect("reads"),
        Some(spoofed.0.clone())
    );
    // Delivered again, still from the refused sender.
    let again = vec![spoofed];
    let expected = sled.ingest_batch(again.clone()).expect("sled ingests");
    let got = write_batch(
        &mut client,
        prepare_batch(&options, items(&again)),
        Utc::now(),
    )
    .expect("PostgreSQL ingests");
    assert_eq!(got, expected);
    drop(sled);
    assert_records_equal(&pg_views(&mut client), &sled_views(&options), "released");
}

/// A failure inside the transaction (here: a stored projection record that does not decode)
/// leaves nothing of the batch: no event, raw input, quarantine entry or record, the counters
/// as they were.
#[test]
fn a_batch_that_fails_in_its_fold_leaves_nothing() {
    let Some((db, mut client)) = Db::migrated("a_batch_that_fails_in_its_fold") else {
        return;
    };
    let options = Options::new("postgres-ledger");
    let mails = corpus_mails(20);
    write_batch(
        &mut client,
        prepare_batch(&options, items(&mails[..10])),
        Utc::now(),
    )
    .expect("first batch");
    let before = read_meta(&mut client).expect("meta");
    db.cluster
        .psql(
            DATABASE,
            &format!(
                "UPDATE views SET record = '\\x' WHERE projection = {}",
                ProjectionId::Counts.id()
            ),
        )
        .expect("damage");
    let tables = |client: &mut Client| {
        ["events", "raw", "quarantine", "views"].map(|table| {
            client
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .expect("count")
                .get::<_, i64>(0)
        })
    };
    let rows = tables(&mut client);
    let mut batch = mails[10..].to_vec();
    batch.push(garbage("not a notification\n"));
    let error = write_batch(
        &mut client,
        prepare_batch(&options, items(&batch)),
        Utc::now(),
    )
    .expect_err("the damaged record fails the load");
    assert!(error.to_string().contains("counts"), "{error}");
    assert_eq!(read_meta(&mut client).expect("meta"), before);
    assert_eq!(tables(&mut client), rows);
}

/// `cargo test --release -p ledger --lib pg_ingest::tests::ingest_throughput -- --ignored
/// --nocapture`, with `LEDGER_PG_CORPUS` (a `cargo xtask corpus --format files` directory,
/// else the bench corpus), `LEDGER_PG_BENCH_EVENTS` (100,000) and `LEDGER_PG_BENCH_FSYNC`
/// (`on,off`; `sled` runs the same input into a sled ledger, read as lazily): the whole write
/// path (files read and prepared on a second thread, decide, store, fold, commit per batch of
/// 1,000) into a throwaway cluster, per fsync setting.
#[test]
#[ignore = "a measurement: run it by hand, see BENCHMARKS.md"]
fn ingest_throughput() {
    let n: usize = std::env::var("LEDGER_PG_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let fsyncs = std::env::var("LEDGER_PG_BENCH_FSYNC").unwrap_or_else(|_| "on,off".into());
    let files = corpus_files(n);
    let generated = match &files {
        Some(_) => Vec::new(),
        None => corpus::corpus(n),
    };
    let input = || -> Box<dyn Iterator<Item = (Vec<u8>, Origin)> + Send> {
        match &files {
            Some((dir, paths)) => {
                let (dir, paths) = (dir.clone(), paths.clone());
                Box::new(paths.into_iter().map(move |path| read_item(&dir, &path)))
            }
            None => Box::new(generated.clone().into_iter()),
        }
    };
    for fsync in fsyncs.split(',') {
        if fsync == "sled" {
            // The same input into a sled ledger, for the figures beside (as `ledger ingest`
            // writes: batches of 1,000, pipelined).
            let dir = tempfile::tempdir().expect("a temporary directory");
            let sled = Ledger::open(Options::new(dir.path().join("ledger"))).expect("opens");
            let mut mails = input();
            let batches = std::iter::from_fn(move || {
                let batch: Vec<_> = mails.by_ref().take(1_000).collect();
                (!batch.is_empty()).then_some((batch, ()))
            });
            let started = std::time::Instant::now();
            sled.ingest_stream(batches, |(), _| ControlFlow::Continue(()))
                .expect("sled ingests");
            sled.flush().expect("flushes");
            let elapsed = started.elapsed().as_secs_f64();
            let stats = sled.stats().expect("stats");
            println!(
                "sled: {n} items ({} events) in {elapsed:.2} s: {:.0} notifications/s; {} B per \
                 event on disk",
                stats.events,
                n as f64 / elapsed,
                stats.disk_bytes / stats.events.max(1)
            );
            continue;
        }
        let Some((db, mut client)) = Db::migrated("ingest_throughput") else {
            return;
        };
        db.cluster
            .psql(
                "postgres",
                &format!("ALTER SYSTEM SET fsync = {fsync}; SELECT pg_reload_conf();"),
            )
            .expect("fsync");
        let shown: String = db
            .connect()
            .query_one("SHOW fsync", &[])
            .expect("show")
            .get(0);
        assert_eq!(shown, fsync);
        let items = input().map(|(raw, origin)| Item {
            raw,
            origin,
            response: None,
            quarantined: None,
            trusted: false,
        });
        let options = Options::new("postgres-ledger");
        let (mut appended, mut duplicates, mut rejected) = (0u64, 0u64, 0u64);
        let started = std::time::Instant::now();
        ingest_stream(&mut client, &options, items, |outcomes| {
            for outcome in outcomes {
                match outcome {
                    IngestOutcome::Appended { .. } => appended += 1,
                    IngestOutcome::Duplicate { .. } => duplicates += 1,
                    IngestOutcome::Rejected { .. } => rejected += 1,
                }
            }
            ControlFlow::Continue(())
        })
        .expect("ingests");
        let elapsed = started.elapsed().as_secs_f64();
        let mut size = |table: &str| -> i64 {
            client
                .query_one(&format!("SELECT pg_total_relation_size('{table}')"), &[])
                .expect("size")
                .get(0)
        };
        let tables = ["events", "raw", "quarantine", "views"].map(|table| (table, size(table)));
        let total: i64 = tables.iter().map(|(_, bytes)| bytes).sum();
        println!(
            "fsync={fsync}: {n} items ({appended} appended, {duplicates} duplicates, {rejected} \
             rejected) in {elapsed:.2} s: {:.0} notifications/s; {} B per event in the database \
             ({})",
            n as f64 / elapsed,
            total / appended.max(1) as i64,
            tables
                .iter()
                .map(|(table, bytes)| format!("{table} {} B/event", bytes / appended.max(1) as i64))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
