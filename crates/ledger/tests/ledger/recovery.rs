//! Reopening, locking, and a crash between the log write and the views write.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use ledger::{IngestOutcome, Ledger, LedgerError, Options};
use ledger_event::Origin;

use crate::support::{fixture, mail, open, transfer_start};

#[test]
fn reopening_after_drop_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (events, pending, quarantine) = {
        let ledger = open(dir.path());
        ledger
            .ingest(
                &fixture("autodns/seed/05-1403-transfer-out-start.eml"),
                Origin::new("05"),
            )
            .unwrap();
        ledger
            .ingest(
                &fixture("autodns/seed/07-0101-create-failed.eml"),
                Origin::new("07"),
            )
            .unwrap();
        ledger.ingest(b"hello", Origin::new("junk")).unwrap();
        (
            ledger.export(1).map(|e| e.unwrap()).collect::<Vec<_>>(),
            ledger.pending_transfers(Utc::now()).unwrap(),
            ledger.quarantine().unwrap(),
        )
    };
    let ledger = open(dir.path());
    assert_eq!(
        ledger.export(1).map(|e| e.unwrap()).collect::<Vec<_>>(),
        events
    );
    assert_eq!(ledger.pending_transfers(Utc::now()).unwrap(), pending);
    assert_eq!(ledger.quarantine().unwrap(), quarantine);
    // New events continue the sequence.
    let outcome = ledger
        .ingest(
            &fixture("autodns/seed/06-0101-create-success.eml"),
            Origin::new("06"),
        )
        .unwrap();
    assert!(
        matches!(outcome, ledger::IngestOutcome::Appended { seq: 3, .. }),
        "{outcome:?}"
    );
    drop(ledger);
    // A views-only reader sees the same projections.
    let reader = Ledger::open_views(Options::new(dir.path().join("ledger"))).unwrap();
    assert_eq!(reader.pending_transfers(Utc::now()).unwrap(), pending);
    assert!(matches!(
        reader.events_by_ctid("x"),
        Err(LedgerError::InvalidArgument(_))
    ));
}

#[test]
fn a_locked_ledger_gives_locked_after_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let _holder = open(dir.path());
    let mut options = Options::new(dir.path().join("ledger"));
    options.wait = Duration::from_millis(300);
    let started = Instant::now();
    let result = Ledger::open(options);
    assert!(
        matches!(result, Err(LedgerError::Locked { .. })),
        "{:?}",
        result.err()
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn a_directory_that_is_not_a_ledger_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    assert!(matches!(
        Ledger::open(Options::new(dir.path())),
        Err(LedgerError::NotALedger { .. })
    ));
    let newer = dir.path().join("newer");
    std::fs::create_dir(&newer).unwrap();
    std::fs::write(newer.join("LEDGER"), "ledger layout 99\n").unwrap();
    assert!(matches!(
        Ledger::open(Options::new(&newer)),
        Err(LedgerError::NotALedger { .. })
    ));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A crash after the log transaction and before the views transaction: simulated by putting
/// back the views as they were before the second ingest, with the dirty marker the writer sets
/// before writing the log.
#[test]
fn a_crash_between_the_log_and_the_views_is_caught_up_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let first = mail(
        "Mon, 17 May 2010 08:44:00 +0200",
        "1@a",
        &transfer_start(
            "example.com",
            "1234",
            "2010-05-17 08:43:53",
            "2010-05-22 02:43:53",
        ),
    );
    let second = mail(
        "Wed, 19 May 2010 09:00:00 +0200",
        "2@a",
        &transfer_start(
            "example.net",
            "555",
            "2010-05-19 08:59:00",
            "2010-05-24 08:59:00",
        ),
    );
    {
        let ledger = open(dir.path());
        ledger.ingest(&first, Origin::new("1")).unwrap();
    }
    copy_dir(&path.join("views"), &dir.path().join("views-before"));
    {
        let ledger = open(dir.path());
        ledger.ingest(&second, Origin::new("2")).unwrap();
        assert_eq!(ledger.pending_transfers(Utc::now()).unwrap().len(), 2);
    }
    std::fs::remove_dir_all(path.join("views")).unwrap();
    copy_dir(&dir.path().join("views-before"), &path.join("views"));
    {
        let views = crate::support::open_sled(&path.join("views"));
        // Layout 2: one tree, the views' meta under the prefix `m`.
        views
            .open_tree("views")
            .unwrap()
            .insert("mdirty", &2u64.to_be_bytes())
            .unwrap();
        views.flush().unwrap();
    }
    // A views-only reader notices the marker and catches up before answering.
    let reader = Ledger::open_views(Options::new(&path)).unwrap();
    let pending = reader.pending_transfers(Utc::now()).unwrap();
    let domains: Vec<&str> = pending.iter().map(|t| t.domain.as_str()).collect();
    assert_eq!(domains, ["example.com", "example.net"]);
    drop(reader);
    let ledger = Ledger::open(Options::new(&path)).unwrap();
    let report = ledger.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

/// `tests/ledgers/v1/`: a layout-1 ledger (one sled tree per kind, uncompressed version-1
/// stored events) made by an earlier build. This build migrates it on open (to layout 2, then
/// 3: the inline stored events move to a pack).
#[test]
fn a_layout_1_ledger_is_migrated_on_open_and_reads_as_before() {
    let (_dir, path) = migrated_fixture_reads_as_before("v1");
    let log = crate::support::open_sled(&path.join("log"));
    assert!(!log.tree_names().iter().any(|n| n.as_ref() == b"events"));
}

/// `tests/ledgers/v2/`: a layout-2 ledger (one locator entry per event, a dedup entry per
/// event) made by the build before layout 3. This build migrates it on open.
#[test]
fn a_layout_2_ledger_is_migrated_on_open_and_reads_as_before() {
    let (_dir, path) = migrated_fixture_reads_as_before("v2");
    let (_db, tree) = raw_log(&path);
    // No layout-2 locators left; dedup entries only for the events without a ctid.
    assert_eq!(tree.scan_prefix(b"e").count(), 0);
    assert_eq!(tree.scan_prefix(b"E").count(), 1);
    assert!(tree.scan_prefix(b"k").count() < 18);
}

/// A migration to layout 3 cut short goes on at the next open and ends as an uninterrupted
/// one does. What a crash part-way leaves is made here with sled directly: the layout-2
/// locators already turned into a bucket, half the `by_ctid` entries already holding their
/// dedup keys (and their `k` entries gone), the layout key still 2.
#[test]
fn a_layout_2_migration_cut_short_is_finished_on_the_next_open() {
    let (_dir, path) = fixture_copy("v2");
    {
        let (db, tree) = raw_log(&path);
        let mut batch = sled::Batch::default();
        let mut bucket = Vec::new();
        for entry in tree.scan_prefix(b"e") {
            let (key, value) = entry.unwrap();
            assert_eq!(value.len(), 16, "a layout-2 pack reference");
            bucket.extend_from_slice(&value);
            batch.remove(key);
        }
        let mut bucket_key = vec![b'E'];
        bucket_key.extend_from_slice(&0u64.to_be_bytes());
        batch.insert(bucket_key, bucket);
        let dedup: std::collections::HashMap<Vec<u8>, Vec<u8>> = tree
            .scan_prefix(b"k")
            .map(|entry| {
                let (key, seq) = entry.unwrap();
                (seq.to_vec(), key.to_vec())
            })
            .collect();
        let by_ctid: Vec<_> = tree.scan_prefix(b"c").map(|e| e.unwrap().0).collect();
        assert!(by_ctid.len() > 4);
        for key in &by_ctid[..by_ctid.len() / 2] {
            let dedup_key = &dedup[&key[key.len() - 8..]];
            batch.insert(key.clone(), &dedup_key[1..]);
            batch.remove(dedup_key.as_slice());
        }
        tree.apply_batch(batch).unwrap();
        db.flush().unwrap();
    }
    let ledger = Ledger::open(Options::new(&path)).unwrap();
    let report = ledger.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(ledger.stats().unwrap().events, 18);
    // Every event's input again: a duplicate of that event, found through either form of key.
    for event in ledger.export(1).map(|e| e.unwrap()) {
        let file = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join(&event.source.origin.0);
        let again = ledger
            .ingest(&std::fs::read(file).unwrap(), Origin::new("again"))
            .unwrap();
        assert_eq!(again, IngestOutcome::Duplicate { of: event.seq });
    }
    drop(ledger);
    let (_db, tree) = raw_log(&path);
    assert_eq!(tree.scan_prefix(b"e").count(), 0);
    assert!(tree.scan_prefix(b"c").all(|e| e.unwrap().1.len() == 32));
}

/// A layout-2 log with an event missing is refused by the migration (it would read as a
/// shorter log), not migrated around the hole.
#[test]
fn a_layout_2_log_with_a_gap_is_not_migrated() {
    let (_dir, path) = fixture_copy("v2");
    {
        let (db, tree) = raw_log(&path);
        let mut key = vec![b'e'];
        key.extend_from_slice(&5u64.to_be_bytes());
        assert!(tree.remove(key).unwrap().is_some());
        db.flush().unwrap();
    }
    match Ledger::open(Options::new(&path)) {
        Err(LedgerError::Corrupt { what, reason }) => {
            assert_eq!(what, "layout-2 event 6");
            assert!(reason.contains("expected event 5"), "{reason}");
        }
        other => panic!("expected Corrupt, got {:?}", other.map(|_| "a ledger")),
    }
}

/// Event locators are buckets of 64; a bucket short of 64 that is not the last one is a hole
/// in the log: reads report it instead of skipping the missing events, and `verify` names it.
#[test]
fn a_short_locator_bucket_before_the_last_is_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    {
        let ledger = open(dir.path());
        let items = (0..130)
            .map(|i| {
                let body = crate::support::create(true, &format!("gap-{i}"));
                (
                    mail("Mon, 01 Mar 2021 10:00:00 +0100", &format!("{i}@a"), &body),
                    Origin::new(format!("gap/{i}")),
                )
            })
            .collect();
        ledger.ingest_batch(items).unwrap();
        assert_eq!(ledger.export(1).filter(|e| e.is_ok()).count(), 130);
    }
    {
        let (db, tree) = raw_log(&path);
        let mut key = vec![b'E'];
        key.extend_from_slice(&0u64.to_be_bytes());
        let bucket = tree.get(&key).unwrap().unwrap();
        assert_eq!(bucket.len(), 64 * 16);
        tree.insert(&key, &bucket[..63 * 16]).unwrap();
        db.flush().unwrap();
    }
    let ledger = Ledger::open(Options::new(&path)).unwrap();
    let read: Vec<_> = ledger.export(1).collect();
    // The hole is reported once, where it is; the events after it are still read.
    assert_eq!(read.iter().filter(|e| e.is_ok()).count(), 129);
    assert!(
        matches!(read[63], Err(LedgerError::Corrupt { .. })),
        "{:?}",
        read[63]
    );
    assert_eq!(read[64].as_ref().unwrap().seq, 65);
    let report = ledger.verify().unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains("short of 64")),
        "{:?}",
        report.problems
    );
}

/// Index entries that point at the wrong event, or at none, are each reported by `verify`
/// (which checks them against the events it has just read, not by reading them again).
#[test]
fn stray_index_entries_are_reported() {
    let (_dir, path) = fixture_copy("v2");
    let ledger = Ledger::open(Options::new(&path)).unwrap();
    assert!(ledger.verify().unwrap().is_clean());
    let seq1 = ledger.export(1).next().unwrap().unwrap();
    drop(ledger);
    {
        let (db, tree) = raw_log(&path);
        let entry = |space: u8, name: &str, seq: u64| {
            let mut key = vec![space];
            key.extend_from_slice(name.as_bytes());
            key.push(0);
            key.extend_from_slice(&seq.to_be_bytes());
            key
        };
        tree.insert(entry(b'c', "not-its-ctid", 1), &[7u8; 32])
            .unwrap();
        tree.insert(entry(b'd', "not-its-domain.example", 1), &[])
            .unwrap();
        tree.insert(entry(b'c', "no-such-event", 999), &[7u8; 32])
            .unwrap();
        db.flush().unwrap();
    }
    let ledger = Ledger::open(Options::new(&path)).unwrap();
    let problems = ledger.verify().unwrap().problems;
    assert_eq!(problems.len(), 3, "{problems:?}");
    let expected = [
        format!(
            "by_ctid[\"not-its-ctid\"]: points at event 1, which has {:?}",
            seq1.ctid
        ),
        "by_ctid[\"no-such-event\"]: points at missing event 999".to_string(),
        format!(
            "by_domain[\"not-its-domain.example\"]: points at event 1, which has {:?}",
            seq1.domain
        ),
    ];
    for line in expected {
        assert!(problems.contains(&line), "{line} not in {problems:?}");
    }
}

/// A copy of `tests/ledgers/NAME` in a temporary directory, and its path.
fn fixture_copy(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    copy_dir(&ledger_fixture(name), &path);
    (dir, path)
}

/// The log database of the (closed) ledger at `path` and its one tree, opened with sled
/// directly, to make what a crash or a damaged disk leaves.
fn raw_log(path: &std::path::Path) -> (sled::Db, sled::Tree) {
    let db = crate::support::open_sled(&path.join("log"));
    let tree = db.open_tree("log").unwrap();
    (db, tree)
}

/// `tests/ledgers/NAME`.
fn ledger_fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ledgers")).join(name)
}

/// Copies `tests/ledgers/NAME` (the 17 seed mails, a bare body and a quarantined input,
/// loaded by an earlier build), opens it with this build, and checks that it reads, event for
/// event, as a fresh ingest of the same files, that its duplicates are still recognised and
/// that it takes new events. Returns the migrated ledger's directory and path (closed).
fn migrated_fixture_reads_as_before(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, path) = fixture_copy(name);
    let layout = name.trim_start_matches('v');
    assert!(
        std::fs::read_to_string(path.join("LEDGER"))
            .unwrap()
            .starts_with(&format!("ledger layout {layout}"))
    );
    {
        let ledger = Ledger::open(Options::new(&path)).unwrap();
        let stats = ledger.stats().unwrap();
        assert_eq!((stats.events, stats.quarantined), (18, 1));
        let events: Vec<_> = ledger.export(1).map(|e| e.unwrap()).collect();
        assert_eq!(events.len(), 18);
        assert!(
            events
                .iter()
                .enumerate()
                .all(|(i, e)| e.seq == i as u64 + 1)
        );
        // The same as a fresh ingest of the same inputs by this build, event for event.
        let fresh_dir = tempfile::tempdir().unwrap();
        let fresh = open(fresh_dir.path());
        for event in &events {
            let file = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .join(&event.source.origin.0);
            fresh
                .ingest(&std::fs::read(file).unwrap(), event.source.origin.clone())
                .unwrap();
        }
        for (old, new) in events.iter().zip(fresh.export(1).map(|e| e.unwrap())) {
            assert_eq!(
                (old.seq, old.kind, &old.ctid, &old.domain, &old.notification),
                (new.seq, new.kind, &new.ctid, &new.domain, &new.notification)
            );
            assert_eq!(
                ledger
                    .events_by_ctid(old.ctid.as_deref().unwrap_or("-"))
                    .unwrap()
                    .len(),
                fresh
                    .events_by_ctid(old.ctid.as_deref().unwrap_or("-"))
                    .unwrap()
                    .len()
            );
        }
        let by_ctid = ledger.events_by_ctid("q1273s146x50").unwrap();
        assert!(!by_ctid.is_empty());
        // Raw bytes as received: the fixture was loaded from the workspace's fixtures/.
        for event in &by_ctid {
            let file = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .join(&event.source.origin.0);
            assert_eq!(ledger.raw(event).unwrap(), std::fs::read(file).unwrap());
        }
        assert_eq!(ledger.events_by_domain("example.com").unwrap().len(), 3);
        let pending = ledger
            .pending_transfers(Utc.with_ymd_and_hms(2010, 5, 18, 12, 0, 0).unwrap())
            .unwrap();
        assert!(pending.iter().any(|t| t.domain == "example.com"));
        let kept = ledger.quarantine().unwrap();
        assert_eq!(kept.len(), 1);
        // Its quarantine entry was indexed on open: the same bytes again are that entry.
        let file = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join(&kept[0].origin.0);
        let outcome = ledger
            .ingest(&std::fs::read(file).unwrap(), Origin::new("again"))
            .unwrap();
        assert!(
            matches!(outcome, IngestOutcome::Rejected { id, .. } if id == kept[0].id),
            "{outcome:?}"
        );
        assert_eq!(ledger.quarantine().unwrap(), kept);
        // New events are written in the new form beside the old ones.
        let outcome = ledger
            .ingest(
                &crate::support::mail(
                    "Mon, 01 Mar 2021 10:00:00 +0100",
                    "new@a",
                    &crate::support::create(true, "after-migration"),
                ),
                Origin::new("new"),
            )
            .unwrap();
        assert!(matches!(outcome, IngestOutcome::Appended { seq: 19, .. }));
        // A seed mail again is still recognised as a duplicate (dedup keys were migrated).
        let seed = crate::support::fixture("autodns/seed/06-0101-create-success.eml");
        assert!(matches!(
            ledger.ingest(&seed, Origin::new("again")).unwrap(),
            IngestOutcome::Duplicate { .. }
        ));
        let report = ledger.verify().unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
    }
    assert!(
        std::fs::read_to_string(path.join("LEDGER"))
            .unwrap()
            .starts_with("ledger layout 5")
    );
    let ledger = Ledger::open(Options::new(&path)).unwrap();
    assert_eq!(ledger.stats().unwrap().events, 19);
    assert_eq!(ledger.events_by_ctid("after-migration").unwrap().len(), 1);
    assert!(ledger.verify().unwrap().is_clean());
    (dir, path)
}

/// A damaged pack is found by `verify` (each record's SHA-256 is checked, the events' and their
/// raw bytes') and reading an event in the damaged block fails with `Corrupt` instead of
/// returning wrong data. Two batches make two blocks; a byte in the middle of the first
/// block's compressed frame is flipped.
#[test]
fn a_damaged_pack_block_is_reported_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let mails = crate::support::seed_mails();
    // The seqs each batch appended (its block's events).
    let mut batches: Vec<Vec<u64>> = Vec::new();
    {
        let ledger = open(dir.path());
        for half in mails.chunks(9) {
            let items = half
                .iter()
                .map(|(name, bytes)| (bytes.clone(), Origin::new(name)))
                .collect();
            let appended = ledger
                .ingest_batch(items)
                .unwrap()
                .into_iter()
                .filter_map(|outcome| match outcome {
                    IngestOutcome::Appended { seq, .. } => Some(seq),
                    _ => None,
                })
                .collect();
            batches.push(appended);
        }
        assert!(ledger.verify().unwrap().is_clean());
    }
    assert!(batches.len() == 2 && batches.iter().all(|seqs| !seqs.is_empty()));
    let pack = path.join("raw").join("pack-000001.zst");
    let mut bytes = std::fs::read(&pack).unwrap();
    // The first block: magic (4), compressed length (4 LE), record count (4), frame.
    let frame = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    assert!(bytes.len() > 12 + frame, "a second block follows");
    bytes[12 + frame / 2] ^= 0x5a;
    std::fs::write(&pack, bytes).unwrap();

    let ledger = Ledger::open(Options::new(&path)).unwrap();
    let report = ledger.verify().unwrap();
    assert!(!report.is_clean());
    // The damaged events (the event or its raw bytes), then the projections they no longer
    // fold into.
    let mut undecodable = 0;
    let damaged: std::collections::BTreeSet<u64> = report
        .problems
        .iter()
        .filter_map(|p| p.strip_prefix("event "))
        .map(|p| {
            let (seq, what) = p.split_once(':').unwrap();
            if what.contains("does not decode") {
                undecodable += 1;
            } else {
                assert!(what.contains("raw bytes"), "{p}");
            }
            seq.parse().unwrap()
        })
        .collect();
    assert!(!damaged.is_empty(), "{:?}", report.problems);
    // Only the first batch's events are in the damaged block.
    assert!(
        damaged.iter().all(|seq| batches[0].contains(seq)),
        "{damaged:?} against the first batch's {:?}",
        batches[0]
    );
    let failing = ledger.export(1).filter(|e| e.is_err()).count();
    assert_eq!(failing, undecodable);
    assert!(
        ledger
            .export(1)
            .filter_map(|e| e.err())
            .all(|e| matches!(e, LedgerError::Corrupt { .. }))
    );
}

/// `tests/ledgers/v3/`: a layout-3 ledger written by the build before de-duplication looked at
/// own times (bare keys in `c`, key → seq in `k`). A re-ingest of the same inputs with this
/// build finds every one a duplicate of the same event (the seed mbox, a bare body, the
/// January transfer of example-shop.de and its parent-notify copy), and verify passes; the June
/// transfer then closes, its S0106 (the January answer's body, months later) being a new fact.
#[test]
fn a_ledger_of_the_build_before_own_times_still_finds_every_duplicate() {
    let (_dir, path) = fixture_copy("v3");
    let ledger = Ledger::open(Options::new(&path)).unwrap();
    let stats = ledger.stats().unwrap();
    assert_eq!((stats.events, stats.quarantined), (20, 1));
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let mut inputs: Vec<(Vec<u8>, Origin)> = Vec::new();
    let mbox = std::fs::read(root.join("fixtures/mailboxes/seed.mbox")).unwrap();
    let mut current: Option<Vec<u8>> = None;
    for line in mbox.split_inclusive(|b| *b == b'\n') {
        if line.starts_with(b"From ") {
            inputs.extend(current.take().map(|m| (m, Origin::new("mbox"))));
            current = Some(Vec::new());
        } else if let Some(message) = current.as_mut() {
            message.extend_from_slice(line);
        }
    }
    inputs.extend(current.map(|m| (m, Origin::new("mbox"))));
    assert_eq!(inputs.len(), 17);
    for file in [
        "fixtures/autodns/text/ref-1403-start-text.txt",
        "fixtures/autodns/repeat/01-1403-start-2026-01.eml",
        "fixtures/autodns/repeat/02-1403-start-2026-01-parent-copy.eml",
        "fixtures/autodns/repeat/03-0106-nack-2026-01.eml",
    ] {
        inputs.push((std::fs::read(root.join(file)).unwrap(), Origin::new(file)));
    }
    // One by one and in a batch (the pipelined stream).
    let one_by_one: Vec<_> = inputs
        .iter()
        .map(|(raw, origin)| ledger.ingest(raw, origin.clone()).unwrap())
        .collect();
    let batched = ledger.ingest_batch(inputs.clone()).unwrap();
    assert_eq!(one_by_one, batched);
    assert!(
        one_by_one
            .iter()
            .all(|o| matches!(o, IngestOutcome::Duplicate { .. })),
        "{one_by_one:?}"
    );
    assert_eq!(ledger.stats().unwrap().events, 20);
    let report = ledger.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);

    // June: a new start, the same S0106 body months later (a new fact), its parent copy.
    let june: Vec<_> = [
        "04-1403-start-2026-06.eml",
        "05-0106-nack-2026-06.eml",
        "06-0106-nack-2026-06-parent-copy.eml",
    ]
    .iter()
    .map(|f| {
        let raw = std::fs::read(root.join("fixtures/autodns/repeat").join(f)).unwrap();
        ledger.ingest(&raw, Origin::new(*f)).unwrap()
    })
    .collect();
    assert!(
        matches!(june[0], IngestOutcome::Appended { seq: 21, .. }),
        "{june:?}"
    );
    assert!(
        matches!(june[1], IngestOutcome::Appended { seq: 22, .. }),
        "{june:?}"
    );
    assert_eq!(june[2], IngestOutcome::Duplicate { of: 22 });
    let after_june = Utc.with_ymd_and_hms(2026, 6, 20, 0, 0, 0).unwrap();
    let pending: Vec<_> = ledger
        .pending_transfers(after_june)
        .unwrap()
        .into_iter()
        .filter(|t| t.domain == "example-shop.de")
        .collect();
    assert!(pending.is_empty(), "{pending:?}");
    let report = ledger.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

/// The inputs of `tests/ledgers/v3-poll/`, in the order (and so the seqs) they were ingested.
const V3_POLL: [&str; 9] = [
    "autodns/xml/0101-failed-poll.xml",
    "autodns/xml/transfer_start-poll.xml",
    "autodns/xml/domain_away-poll.xml",
    "autodns/xml/N0101-realtime.xml",
    "autodns/json/0101-failed-poll.json",
    "autodns/json/transfer_start-poll-json.json",
    "autodns/json/0101-success-poll-json.json",
    "autodns/json/0103101-success-realtime.json",
    "mail/xml-attachment.eml",
];

/// Checks a copy of `tests/ledgers/v3-poll/` opened by this build: layout 5, verify clean,
/// every input again a duplicate of its event, and the same poll messages in another envelope
/// or bare also duplicates (their keys were migrated), while realtime answers keep theirs.
fn v3_poll_finds_its_duplicates(ledger: &Ledger, path: &std::path::Path) {
    assert!(
        std::fs::read_to_string(path.join("LEDGER"))
            .unwrap()
            .starts_with("ledger layout 5")
    );
    assert_eq!(ledger.stats().unwrap().events, 9);
    let report = ledger.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    for (i, file) in V3_POLL.iter().enumerate() {
        assert_eq!(
            ledger.ingest(&fixture(file), Origin::new("again")).unwrap(),
            IngestOutcome::Duplicate { of: i as u64 + 1 },
            "{file}"
        );
    }
    let text = |rel: &str| String::from_utf8(fixture(rel)).unwrap();
    let reposted = [
        // (seq, body): another stid and summary, or the bare message, or a mail of it.
        (
            1,
            text("autodns/xml/0101-failed-poll.xml")
                .replace("20100506-app1-5522", "20991231-app9-1")
                .replace("<summary>2</summary>", "<summary>1</summary>"),
        ),
        (1, text("autodns/xml/0101-failed-push-bare.xml")),
        (
            2,
            text("autodns/xml/transfer_start-poll.xml")
                .replace("20210503-app1-test-31807", "20991231-app9-2")
                .replace("<summary>1</summary>", "<summary>4</summary>"),
        ),
        (2, text("autodns/xml/transfer_start-push-bare.xml")),
        (
            5,
            text("autodns/json/0101-failed-poll.json")
                .replace("20240212-app2-55310", "20991231-app9-5")
                .replace("\"summary\": 1", "\"summary\": 2"),
        ),
        (5, text("autodns/json/0101-failed-push-bare.json")),
        (
            6,
            text("autodns/json/transfer_start-poll-json.json")
                .replace("20220119-app3-dev-5016", "20991231-app9-6")
                .replace(
                    "The notification was polled successfully.",
                    "Die Benachrichtigung wurde abgeholt.",
                ),
        ),
        (6, text("autodns/json/transfer_start-push-bare.json")),
    ];
    for (seq, body) in &reposted {
        assert_eq!(
            ledger
                .ingest(body.as_bytes(), Origin::new("reposted"))
                .unwrap(),
            IngestOutcome::Duplicate { of: *seq },
            "{body}"
        );
    }
    // Another message id is another event; a realtime answer with another stid too.
    let other = text("autodns/xml/transfer_start-push-bare.xml")
        .replace("<id>1005360835</id>", "<id>1005360899</id>");
    assert!(matches!(
        ledger
            .ingest(other.as_bytes(), Origin::new("other"))
            .unwrap(),
        IngestOutcome::Appended { seq: 10, .. }
    ));
    let realtime = text("autodns/xml/N0101-realtime.xml")
        .replace("20240115-app3-88120", "20240115-app3-88121");
    assert!(matches!(
        ledger
            .ingest(realtime.as_bytes(), Origin::new("other"))
            .unwrap(),
        IngestOutcome::Appended { seq: 11, .. }
    ));
    let report = ledger.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

/// `tests/ledgers/v3-poll/`: a layout-3 ledger of AutoDNS XML/JSON poll and realtime
/// notifications written by the build before issue 11, whose keys cover the poll envelope.
/// This build migrates it to layout 4 on open (the keys of its poll messages become the
/// messages'), so the same notification in another envelope, bare or in a mail is still found.
/// The raw log is then compared: realtime events kept their entries byte for byte.
#[test]
fn a_layout_3_ledger_of_poll_messages_is_re_keyed_and_finds_its_duplicates() {
    let (_dir, path) = fixture_copy("v3-poll");
    assert!(
        std::fs::read_to_string(path.join("LEDGER"))
            .unwrap()
            .starts_with("ledger layout 3")
    );
    let before: Vec<(Vec<u8>, Vec<u8>)> = {
        let (_db, tree) = raw_log(&path);
        tree.iter()
            .map(|e| e.unwrap())
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect()
    };
    {
        let ledger = Ledger::open(Options::new(&path)).unwrap();
        assert_eq!(ledger.stats().unwrap().events, 9);
        assert!(ledger.verify().unwrap().is_clean());
    }
    let (db, tree) = raw_log(&path);
    let entry = |key: &[u8]| tree.get(key).unwrap().map(|v| v.to_vec());
    // The realtime answers (ctids order-2024-000117 and cancel-7781) kept their `c` values.
    for (key, value) in &before {
        let is_realtime =
            key.starts_with(b"corder-2024-000117\0") || key.starts_with(b"ccancel-7781\0");
        if is_realtime {
            assert_eq!(entry(key).as_ref(), Some(value));
        }
    }
    // The poll messages with a ctid got new keys in their `c` values; those without, new `k`s.
    let changed = before
        .iter()
        .filter(|(key, value)| key[0] == b'c' && entry(key).as_ref() != Some(value))
        .count();
    assert_eq!(changed, 3, "0101 XML, 0101 JSON, the XML job in a mail");
    // transfer_start XML and JSON, domain_away, the bare JSON job.
    assert_eq!(tree.scan_prefix(b"k").count(), 4);
    assert!(
        before
            .iter()
            .filter(|(key, _)| key[0] == b'k')
            .all(|(key, _)| entry(key).is_none()),
        "every layout-3 `k` entry was replaced"
    );
    let mut layout = b"m".to_vec();
    layout.extend_from_slice(b"layout");
    // Re-keyed (layout 4), then layout 5, which rewrites nothing.
    assert_eq!(entry(&layout), Some(5u32.to_be_bytes().to_vec()));
    drop(tree);
    drop(db);
    let ledger = Ledger::open(Options::new(&path)).unwrap();
    v3_poll_finds_its_duplicates(&ledger, &path);
}

/// A migration to layout 4 cut short goes on at the next open, and re-doing events already
/// re-keyed writes the same entries. What a crash part-way leaves is made with sled directly:
/// the re-keyed entries of events 1 to 4 (from a migrated copy), the layout-3 ones of 5 to 9,
/// the progress key at 5, the layout key still 3; and, second, a migrated log whose layout key
/// was never set to 4 and whose progress key was lost (everything is re-done).
#[test]
fn a_layout_3_migration_cut_short_is_finished_on_the_next_open() {
    let (_migrated_dir, migrated) = fixture_copy("v3-poll");
    drop(Ledger::open(Options::new(&migrated)).unwrap());
    let after: Vec<(Vec<u8>, Vec<u8>)> = {
        let (_db, tree) = raw_log(&migrated);
        tree.iter()
            .map(|e| e.unwrap())
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect()
    };
    // The seq of a `c` or `k` entry (the last 8 bytes of its key).
    let seq_of = |key: &[u8]| u64::from_be_bytes(key[key.len() - 8..].try_into().unwrap());
    let (_dir, path) = fixture_copy("v3-poll");
    {
        let (db, tree) = raw_log(&path);
        let mut batch = sled::Batch::default();
        for entry in tree.scan_prefix(b"k") {
            let (key, _) = entry.unwrap();
            assert_eq!(
                key.len(),
                41,
                "a layout-3 `k` entry of this build: key ++ seq"
            );
            if seq_of(&key) <= 4 {
                batch.remove(key);
            }
        }
        for (key, value) in &after {
            if (key[0] == b'c' || key[0] == b'k') && seq_of(key) <= 4 {
                batch.insert(key.clone(), value.clone());
            }
        }
        let mut progress = b"m".to_vec();
        progress.extend_from_slice(b"rekeyed");
        batch.insert(progress, &5u64.to_be_bytes());
        tree.apply_batch(batch).unwrap();
        db.flush().unwrap();
    }
    std::fs::write(path.join("LEDGER"), "ledger layout 4\n").unwrap();
    {
        let ledger = Ledger::open(Options::new(&path)).unwrap();
        v3_poll_finds_its_duplicates(&ledger, &path);
    }

    // A finished migration whose layout key still says 3, without its progress key.
    {
        let (db, tree) = raw_log(&migrated);
        let mut layout = b"m".to_vec();
        layout.extend_from_slice(b"layout");
        tree.insert(layout, &3u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let ledger = Ledger::open(Options::new(&migrated)).unwrap();
    drop(ledger);
    let redone: Vec<(Vec<u8>, Vec<u8>)> = {
        let (_db, tree) = raw_log(&migrated);
        tree.iter()
            .map(|e| e.unwrap())
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect()
    };
    assert_eq!(redone, after, "re-keying again writes the same entries");
    let ledger = Ledger::open(Options::new(&migrated)).unwrap();
    v3_poll_finds_its_duplicates(&ledger, &migrated);
}
