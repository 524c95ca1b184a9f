//! Group commit: concurrent `ingest` calls share writes, each returns once its own write is
//! durable, and a failed write fails every item in it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ledger::{CommitInfo, IngestOutcome, LedgerError};
use ledger_event::Origin;

use crate::support::{create, mail, open};

/// 16 threads × 50 distinct create results: every one appended exactly once (seqs 1..=800,
/// none twice), in fewer writes than items, and the indexes and projections match a fresh
/// fold. Each thread's second delivery of one of its mails is a duplicate of its first.
#[test]
fn concurrent_ingests_share_writes_and_each_gets_its_own_outcome() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Arc::new(open(dir.path()));
    let writes = Arc::new(AtomicUsize::new(0));
    let items = Arc::new(AtomicUsize::new(0));
    {
        let (writes, items) = (writes.clone(), items.clone());
        assert!(
            ledger.set_commit_observer(Box::new(move |info: CommitInfo| {
                assert!(info.committed);
                writes.fetch_add(1, Ordering::Relaxed);
                items.fetch_add(info.items, Ordering::Relaxed);
            }))
        );
    }
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let ledger = ledger.clone();
            std::thread::spawn(move || {
                let mut seqs = Vec::new();
                for n in 0..50 {
                    let body = create(true, &format!("order-{t}-{n}"));
                    let raw = mail(
                        "Mon, 17 May 2010 08:44:00 +0200",
                        &format!("{t}.{n}@autodns.example"),
                        &body,
                    );
                    match ledger.ingest(&raw, Origin::new(format!("push/{t}/{n}"))) {
                        Ok(IngestOutcome::Appended { seq, .. }) => seqs.push(seq),
                        other => panic!("thread {t} item {n}: {other:?}"),
                    }
                }
                let again = mail(
                    "Mon, 17 May 2010 08:44:00 +0200",
                    &format!("{t}.0@autodns.example"),
                    &create(true, &format!("order-{t}-0")),
                );
                let outcome = ledger
                    .ingest(&again, Origin::new("push/again"))
                    .expect("ingest");
                assert_eq!(outcome, IngestOutcome::Duplicate { of: seqs[0] });
                seqs
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("a writer thread"))
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=800).collect::<Vec<u64>>());
    let (writes, items) = (
        writes.load(Ordering::Relaxed),
        items.load(Ordering::Relaxed),
    );
    assert_eq!(items, 816, "every item was in exactly one write");
    assert!(
        writes < items,
        "{writes} writes for {items} items: no write was shared"
    );
    for t in 0..16 {
        assert_eq!(
            ledger
                .events_by_ctid(&format!("order-{t}-49"))
                .expect("read")
                .len(),
            1
        );
    }
    let report = ledger.verify().expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// A write that cannot be made (a file where the raw packs' directory goes) fails every item
/// of it, each with the error, and commits none; once the cause is gone, writes go on.
#[test]
fn a_failed_group_write_fails_every_item_in_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Arc::new(open(dir.path()));
    let raw = dir.path().join("ledger").join("raw");
    // Not there before the first write: the pack writer makes it then.
    assert!(!raw.exists());
    std::fs::write(&raw, b"not a directory").expect("a file in its place");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let ledger = ledger.clone();
            std::thread::spawn(move || {
                let raw = mail(
                    "Mon, 17 May 2010 08:44:00 +0200",
                    &format!("fail.{t}@autodns.example"),
                    &create(true, &format!("failing-{t}")),
                );
                ledger.ingest(&raw, Origin::new(format!("push/{t}")))
            })
        })
        .collect();
    for t in threads {
        match t.join().expect("a writer thread") {
            Err(LedgerError::InBatch(inner)) => assert!(!inner.to_string().is_empty()),
            Err(other) => assert!(!other.to_string().is_empty()),
            Ok(outcome) => panic!("committed without its packs: {outcome:?}"),
        }
    }
    assert_eq!(ledger.stats().expect("stats").events, 0);
    std::fs::remove_file(&raw).expect("remove the file");
    let raw_mail = mail(
        "Mon, 17 May 2010 08:44:00 +0200",
        "after@autodns.example",
        &create(true, "after"),
    );
    assert!(matches!(
        ledger.ingest(&raw_mail, Origin::new("push/after")),
        Ok(IngestOutcome::Appended { seq: 1, .. })
    ));
}

/// `enqueue` and `lead` without a thread per waiting item: the first caller leads; the ones
/// queued meanwhile are told their outcome through their replier; a lead handed to a caller
/// that is gone passes to the next; a ticket that does not lead writes nothing.
#[test]
fn enqueue_and_lead_pass_outcomes_and_the_lead_through_repliers() {
    use ledger::GroupReply;
    use std::sync::mpsc;

    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open(dir.path());
    let body = |n: usize| create(true, &format!("order-q-{n}")).into_bytes();
    let (tell_first, _first) = mpsc::sync_channel(1);
    let first = ledger
        .enqueue(
            &body(0),
            Origin::new("push/0"),
            Box::new(move |r| tell_first.send(r).is_ok()),
        )
        .expect("enqueue");
    assert!(first.leads);
    let mut waiting = Vec::new();
    for n in 1..4 {
        let (tell, told) = mpsc::sync_channel(1);
        let queued = ledger
            .enqueue(
                &body(n),
                Origin::new(format!("push/{n}")),
                Box::new(move |r| tell.send(r).is_ok()),
            )
            .expect("enqueue");
        assert!(!queued.leads);
        waiting.push((queued, told));
    }
    assert!(matches!(
        ledger.lead(waiting[0].0.ticket),
        Err(LedgerError::InvalidArgument(_))
    ));
    assert!(matches!(
        ledger.lead(first.ticket),
        Ok(IngestOutcome::Appended { seq: 1, .. })
    ));
    for (n, (_, told)) in waiting.iter().enumerate() {
        match told.try_recv() {
            Ok(GroupReply::Done(Ok(IngestOutcome::Appended { seq, .. }))) => {
                assert_eq!(seq, n as u64 + 2)
            }
            other => panic!("item {}: {other:?}", n + 1),
        }
    }

    // A write holds at most 1,000 items: the lead then passes to the first caller left, and
    // over one that is gone.
    let (tell, _told) = mpsc::sync_channel(1);
    let leader = ledger
        .enqueue(
            &body(10),
            Origin::new("push/10"),
            Box::new(move |r| tell.send(r).is_ok()),
        )
        .expect("enqueue");
    let mut filler = Vec::new();
    for n in 0..999 {
        let (tell, told) = mpsc::sync_channel(1);
        let queued = ledger
            .enqueue(
                &body(100 + n),
                Origin::new("push/filler"),
                Box::new(move |r| tell.send(r).is_ok()),
            )
            .expect("enqueue");
        filler.push((queued, told));
    }
    let (gone_tell, gone) = mpsc::sync_channel(1);
    let _gone = ledger
        .enqueue(
            &body(11),
            Origin::new("push/11"),
            Box::new(move |r| gone_tell.send(r).is_ok()),
        )
        .expect("enqueue");
    drop(gone);
    let (next_tell, next_told) = mpsc::sync_channel(1);
    let next = ledger
        .enqueue(
            &body(12),
            Origin::new("push/12"),
            Box::new(move |r| next_tell.send(r).is_ok()),
        )
        .expect("enqueue");
    assert!(ledger.lead(leader.ticket).is_ok());
    for (_, told) in &filler {
        assert!(matches!(
            told.try_recv(),
            Ok(GroupReply::Done(Ok(IngestOutcome::Appended { .. })))
        ));
    }
    assert!(matches!(next_told.try_recv(), Ok(GroupReply::Lead)));
    assert!(matches!(
        ledger.lead(next.ticket),
        Ok(IngestOutcome::Appended { .. })
    ));
    // The gone caller's item was dropped, not written.
    assert!(
        ledger
            .events_by_ctid("order-q-11")
            .expect("read")
            .is_empty()
    );
    // The group has no leader now: the next caller leads.
    let (tell, _told) = mpsc::sync_channel(1);
    let again = ledger
        .enqueue(
            &body(13),
            Origin::new("push/13"),
            Box::new(move |r| tell.send(r).is_ok()),
        )
        .expect("enqueue");
    assert!(again.leads);
    assert!(ledger.lead(again.ticket).is_ok());
}
