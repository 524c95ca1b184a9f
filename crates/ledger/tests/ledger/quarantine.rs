//! The quarantine keeps a rejected item once: the same raw bytes delivered again (in another
//! call, in the same batch, or after a crash-recovery re-run) come back with the id they
//! already have. Its SHA-256 index is built on open for entries an older build wrote.

use std::path::Path;

use ledger::{IngestOutcome, Ledger, Options};
use ledger_event::Origin;

use crate::support::{fixture, open};

fn rejected_id(outcome: &IngestOutcome) -> u64 {
    match outcome {
        IngestOutcome::Rejected { id, .. } => *id,
        other => panic!("not rejected: {other:?}"),
    }
}

/// Bytes of every pack file of the ledger at `dir/ledger`.
fn pack_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join("ledger").join("raw"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[track_caller]
fn assert_clean(ledger: &Ledger) {
    let report = ledger.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

#[test]
fn the_same_garbage_twice_is_one_entry_across_calls_and_within_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let garbage = fixture("bad/garbage.bin");
    let unclosed = fixture("bad/unclosed-system.txt");

    // Across two calls: the second finds the entry, writes neither a record nor raw bytes.
    let first = ledger.ingest(&garbage, Origin::new("a/garbage")).unwrap();
    let id = rejected_id(&first);
    let packs = pack_bytes(dir.path());
    let second = ledger.ingest(&garbage, Origin::new("b/garbage")).unwrap();
    assert_eq!(second, first, "same id, same reason");
    assert_eq!(pack_bytes(dir.path()), packs, "raw bytes stored again");
    let quarantine = ledger.quarantine().unwrap();
    assert_eq!(quarantine.len(), 1);
    assert_eq!(quarantine[0].id, id);
    assert_eq!(
        quarantine[0].origin,
        Origin::new("a/garbage"),
        "the first delivery"
    );

    // Within one batch: a new reject twice, beside the known one and a good mail.
    let good = fixture("autodns/seed/06-0101-create-success.eml");
    let outcomes = ledger
        .ingest_batch(vec![
            (unclosed.clone(), Origin::new("batch/1")),
            (good, Origin::new("batch/2")),
            (unclosed.clone(), Origin::new("batch/3")),
            (garbage.clone(), Origin::new("batch/4")),
        ])
        .unwrap();
    let new = rejected_id(&outcomes[0]);
    assert_ne!(new, id);
    assert!(matches!(
        outcomes[1],
        IngestOutcome::Appended { seq: 1, .. }
    ));
    assert_eq!(outcomes[2], outcomes[0]);
    assert_eq!(rejected_id(&outcomes[3]), id);
    let ids: Vec<u64> = ledger.quarantine().unwrap().iter().map(|q| q.id).collect();
    assert_eq!(ids, [id, new]);
    assert_eq!(ledger.stats().unwrap().quarantined, 2);
    assert_clean(&ledger);

    // Ids keep counting from where they were; reparse of still-bad items changes nothing.
    let report = ledger.reparse().unwrap();
    assert_eq!((report.tried, report.still_rejected), (2, 2));
    ledger.rebuild().unwrap();
    assert_clean(&ledger);
    drop(ledger);

    // After reopening (a crash-recovery re-run of the same input): still found.
    let ledger = open(dir.path());
    let again = ledger
        .ingest_batch(vec![
            (garbage.clone(), Origin::new("rerun/1")),
            (unclosed, Origin::new("rerun/2")),
        ])
        .unwrap();
    assert_eq!((rejected_id(&again[0]), rejected_id(&again[1])), (id, new));
    assert_eq!(ledger.quarantine().unwrap().len(), 2);
    let other = rejected_id(&ledger.ingest(b"\x00\x01", Origin::new("other")).unwrap());
    assert_eq!(other, new + 1);
    assert_clean(&ledger);
}

/// A CentralNic response that does not parse is kept per order it was recorded for: its
/// quarantine entry carries the ctid, command and domain a later reparse needs.
#[test]
fn a_bad_response_recorded_for_two_orders_is_two_entries_for_one_order_one() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let bad = b"[RESPONSE]\ncode = \nEOF\n";
    let record = |ctid: &str| {
        ledger
            .record_response(bad, ctid, Some("AddDomain"), None, Origin::new("api"))
            .unwrap()
    };
    let a = rejected_id(&record("order-1"));
    let b = rejected_id(&record("order-2"));
    assert_ne!(a, b);
    assert_eq!(rejected_id(&record("order-1")), a);
    // The same bytes ingested as a mail are not a response to an order.
    let mail = rejected_id(&ledger.ingest(bad, Origin::new("mail")).unwrap());
    assert!(mail != a && mail != b);
    assert_eq!(ledger.quarantine().unwrap().len(), 3);
    assert_clean(&ledger);
}

/// A reparse that turns an entry into an event removes it from the index: the same bytes
/// delivered later are a duplicate of that event, and nothing is left in the quarantine.
#[test]
fn a_reparsed_reject_leaves_the_index_and_comes_back_as_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let big = fixture("autodns/text/ref-0104001-success-text.txt");
    let id = {
        let mut options = Options::new(&path);
        options.max_input_size = 300;
        let ledger = Ledger::open(options).unwrap();
        let id = rejected_id(&ledger.ingest(&big, Origin::new("15.eml")).unwrap());
        assert_eq!(
            rejected_id(&ledger.ingest(&big, Origin::new("15 again.eml")).unwrap()),
            id
        );
        assert_eq!(ledger.quarantine().unwrap().len(), 1);
        id
    };
    // The "parser upgrade": the default limit.
    let ledger = Ledger::open(Options::new(&path)).unwrap();
    let report = ledger.reparse().unwrap();
    assert_eq!((report.tried, report.appended), (1, 1));
    assert!(ledger.quarantine().unwrap().is_empty());
    let seq = ledger.events_by_ctid("qs1258619858").unwrap()[0].seq;
    // verify reports an index entry left pointing at a removed record.
    assert_clean(&ledger);
    assert_eq!(
        ledger.ingest(&big, Origin::new("15 third.eml")).unwrap(),
        IngestOutcome::Duplicate { of: seq }
    );
    assert!(ledger.quarantine().unwrap().is_empty());
    assert_clean(&ledger);
    drop(ledger);

    // Rejected again under the old limit (no index of events' raw bytes): a new entry, not
    // the removed one.
    let mut options = Options::new(&path);
    options.max_input_size = 300;
    let ledger = Ledger::open(options).unwrap();
    let again = rejected_id(&ledger.ingest(&big, Origin::new("15 fourth.eml")).unwrap());
    assert_ne!(again, id);
    assert_clean(&ledger);
}

/// The log tree of a closed ledger, opened with sled directly (layout 2: one tree `log`).
fn log_tree(path: &Path) -> (sled::Db, sled::Tree) {
    let db = crate::support::open_sled(&path.join("log"));
    let tree = db.open_tree("log").unwrap();
    (db, tree)
}

/// What an older build (no index) leaves: the quarantine without `h` entries and without
/// `m quarantine_indexed`, possibly with the same item kept several times. Opening builds the
/// index (the repeats stay: they are the person's to release), and the oldest entry answers a
/// new delivery.
#[test]
fn entries_of_an_older_build_are_indexed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let garbage = fixture("bad/garbage.bin");
    let unclosed = fixture("bad/unclosed-system.txt");
    {
        let ledger = open(dir.path());
        rejected_id(&ledger.ingest(&garbage, Origin::new("1")).unwrap());
        rejected_id(&ledger.ingest(&unclosed, Origin::new("2")).unwrap());
    }
    {
        // Turn it into an older build's ledger: no index, garbage kept twice (ids 1 and 3).
        let (db, tree) = log_tree(&path);
        for key in tree.scan_prefix(b"h").keys() {
            tree.remove(key.unwrap()).unwrap();
        }
        assert!(tree.remove(b"mquarantine_indexed").unwrap().is_some());
        let mut q1 = b"q".to_vec();
        q1.extend(1u64.to_be_bytes());
        let record = tree.get(&q1).unwrap().unwrap();
        let mut q3 = b"q".to_vec();
        q3.extend(3u64.to_be_bytes());
        tree.insert(q3, record).unwrap();
        tree.insert(b"mnext_quarantine", &4u64.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    {
        let ledger = open(dir.path());
        assert_clean(&ledger);
        assert_eq!(ledger.quarantine().unwrap().len(), 3);
        assert_eq!(
            rejected_id(&ledger.ingest(&garbage, Origin::new("again")).unwrap()),
            1
        );
        assert_eq!(
            rejected_id(&ledger.ingest(&unclosed, Origin::new("again")).unwrap()),
            2
        );
        assert_eq!(ledger.quarantine().unwrap().len(), 3);
        // Releasing one repeat leaves the other findable.
        assert!(matches!(
            ledger.release(1).unwrap(),
            IngestOutcome::Rejected { id: 1, .. }
        ));
    }
    {
        // An older build wrote to the ledger after this one: entry 4, not indexed.
        let (db, tree) = log_tree(&path);
        let mut q4 = b"q".to_vec();
        q4.extend(4u64.to_be_bytes());
        let mut q2 = b"q".to_vec();
        q2.extend(2u64.to_be_bytes());
        tree.insert(q4, tree.get(&q2).unwrap().unwrap()).unwrap();
        tree.insert(b"mnext_quarantine", &5u64.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let ledger = open(dir.path());
    assert_clean(&ledger);
    assert_eq!(ledger.quarantine().unwrap().len(), 4);
    let next = rejected_id(&ledger.ingest(b"\x00new", Origin::new("new")).unwrap());
    assert_eq!(next, 5);
    assert_clean(&ledger);
}

/// `verify` reports a record missing from the index and an entry pointing nowhere.
#[test]
fn verify_reports_index_differences() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    {
        let ledger = open(dir.path());
        rejected_id(&ledger.ingest(b"junk", Origin::new("1")).unwrap());
    }
    {
        let (db, tree) = log_tree(&path);
        let keys: Vec<_> = tree.scan_prefix(b"h").keys().map(|k| k.unwrap()).collect();
        assert_eq!(keys.len(), 1);
        tree.remove(&keys[0]).unwrap();
        let mut stray = keys[0].to_vec();
        stray[40] = 9;
        tree.insert(stray, &[]).unwrap();
        db.flush().unwrap();
    }
    let ledger = open(dir.path());
    let problems = ledger.verify().unwrap().problems;
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("quarantine 1: missing from the sha256 index"));
    assert!(problems[1].contains("points at missing entry 9"));
}
