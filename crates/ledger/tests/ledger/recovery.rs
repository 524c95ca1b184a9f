//! Reopening, locking, and a crash between the log write and the views write.

use std::time::{Duration, Instant};

use chrono::Utc;
use ledger::{Ledger, LedgerError, Options};
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
        let views = sled::open(path.join("views")).unwrap();
        views
            .open_tree("meta")
            .unwrap()
            .insert("dirty", &2u64.to_be_bytes())
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
