//! Ingest: events, indexes, de-duplication, quarantine and reparse, CentralNic responses.

use std::ops::ControlFlow;

use ledger::{IngestOutcome, Ledger, LedgerError, Options, OrderState, QuarantineReason};
use ledger_event::{EventKind, Origin};
use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};

use crate::support::{create, fixture, mail, open, seed_mails, update};

#[test]
fn seed_mails_become_events_found_by_ctid_and_domain() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let mut kinds = Vec::new();
    for (name, bytes) in seed_mails() {
        match ledger.ingest(&bytes, Origin::new(&name)).unwrap() {
            IngestOutcome::Appended { kind, .. } => kinds.push((name, kind)),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert_eq!(kinds.len(), 17);
    assert!(kinds.contains(&(
        "01-1403008-transfer-out-autoack.eml".into(),
        EventKind::TransferOutAutoAcked
    )));
    assert!(kinds.contains(&(
        "07-0101-create-failed.eml".into(),
        EventKind::DomainCreateFailed
    )));

    // The transfer-in of q1273s146x50: start, two autoupdates, two ACKs (seed 12–16).
    let order = ledger.events_by_ctid("q1273s146x50").unwrap();
    let names: Vec<&str> = order.iter().map(|e| e.source.origin.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "12-0104-transfer-in-start.eml",
            "13-0102-autoupdate.eml",
            "14-0102-autoupdate-ownerc-import.eml",
            "15-0104001-transfer-in-ack-ownerc-import.eml",
            "16-0104001-transfer-in-ack.eml",
        ]
    );
    assert!(order.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(
        order
            .iter()
            .all(|e| e.ctid.as_deref() == Some("q1273s146x50"))
    );

    // By domain, any case or trailing dot.
    let org = ledger.events_by_domain("EXAMPLE.org.").unwrap();
    assert_eq!(org.len(), 1);
    assert_eq!(org[0].kind, EventKind::TransferOutAutoAcked);
    assert_eq!(
        org[0].source.message_id.as_deref(),
        Some("20100516194330.1403008.124124124@autodns.example")
    );
    let com: Vec<EventKind> = ledger
        .events_by_domain("example.com")
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        com,
        [
            EventKind::TransferOutReminded,
            EventKind::TransferOutStarted
        ]
    );
    assert!(ledger.events_by_ctid("no-such-order").unwrap().is_empty());
    assert!(matches!(
        ledger.events_by_domain("not a domain"),
        Err(LedgerError::InvalidArgument(_))
    ));

    // The raw bytes come back as received; the export is the whole log in order.
    assert_eq!(
        ledger.raw(&org[0]).unwrap(),
        fixture("autodns/seed/01-1403008-transfer-out-autoack.eml")
    );
    let exported: Vec<u64> = ledger.export(1).map(|e| e.unwrap().seq).collect();
    assert_eq!(exported, (1..=17).collect::<Vec<_>>());
    assert_eq!(ledger.export(16).count(), 2);

    let stats = ledger.stats().unwrap();
    assert_eq!(stats.events, 17);
    assert_eq!(stats.quarantined, 0);
    assert_eq!(stats.kinds.iter().map(|(_, n)| n).sum::<u64>(), 17);
    assert!(stats.disk_bytes > 0);
}

#[test]
fn a_notification_delivered_twice_with_other_headers_is_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let body = create(true, "bf296d8dffc4");
    let first = mail(
        "Mon, 10 May 2010 10:00:00 +0200",
        "a@autodns.example",
        &body,
    );
    let copy = mail(
        "Mon, 10 May 2010 10:00:00 +0200",
        "parent-copy@reseller.example",
        &body,
    )
    .into_iter()
    .collect::<Vec<u8>>();
    let copy = [
        b"X-Forwarded-For: parent@reseller.example\n".as_slice(),
        &copy,
    ]
    .concat();
    let outcome = ledger.ingest(&first, Origin::new("inbox/1")).unwrap();
    let IngestOutcome::Appended { seq, kind } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(kind, EventKind::DomainCreated);
    assert_eq!(
        ledger.ingest(&copy, Origin::new("inbox/2")).unwrap(),
        IngestOutcome::Duplicate { of: seq }
    );
    assert_eq!(
        ledger.ingest(&first, Origin::new("inbox/1 again")).unwrap(),
        IngestOutcome::Duplicate { of: seq }
    );
    assert_eq!(ledger.events_by_ctid("bf296d8dffc4").unwrap().len(), 1);
    assert_eq!(ledger.order("bf296d8dffc4").unwrap().unwrap().events, 1);

    // Within one batch too, outcomes in input order.
    let other = mail(
        "Mon, 10 May 2010 11:00:00 +0200",
        "b@autodns.example",
        &create(false, "201005061621"),
    );
    let outcomes = ledger
        .ingest_batch(vec![
            (other.clone(), Origin::new("batch/1")),
            (copy, Origin::new("batch/2")),
            (other, Origin::new("batch/3")),
        ])
        .unwrap();
    let IngestOutcome::Appended { seq: new, .. } = outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(outcomes[1], IngestOutcome::Duplicate { of: seq });
    assert_eq!(outcomes[2], IngestOutcome::Duplicate { of: new });
    assert_eq!(ledger.stats().unwrap().events, 2);
}

#[test]
fn garbage_is_rejected_kept_in_quarantine_and_not_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let garbage = fixture("bad/garbage.bin");
    let unclosed = fixture("bad/unclosed-system.txt");
    let IngestOutcome::Rejected { id, reason } = ledger
        .ingest(&garbage, Origin::new("bad/garbage.bin"))
        .unwrap()
    else {
        panic!("garbage was accepted")
    };
    assert!(!reason.is_empty());
    let second = ledger
        .ingest(&unclosed, Origin::new("bad/unclosed-system.txt"))
        .unwrap();
    assert!(
        matches!(&second, IngestOutcome::Rejected { id: next, reason } if *next == id + 1 && reason.contains("never closed")),
        "{second:?}"
    );
    let quarantine = ledger.quarantine().unwrap();
    assert_eq!(quarantine.len(), 2);
    assert_eq!(quarantine[0].origin, Origin::new("bad/garbage.bin"));
    assert_eq!(quarantine[0].size, garbage.len() as u64);
    assert_eq!(quarantine[0].sha256.len(), 64);
    assert!(
        matches!(&quarantine[1].reason, QuarantineReason::Unparsable(r) if r.contains("never closed"))
    );
    assert_eq!(ledger.stats().unwrap().events, 0);
    // Still garbage to this parser: nothing changes.
    let report = ledger.reparse().unwrap();
    assert_eq!(
        (report.tried, report.still_rejected, report.appended),
        (2, 2, 0)
    );
    assert_eq!(ledger.quarantine().unwrap().len(), 2);
    assert!(ledger.verify().unwrap().is_clean());
}

/// The reparse mechanism: a rejected item's raw bytes are kept, so when the parser (or, here,
/// the configuration) changes, `reparse` turns it into an event. A parser upgrade is simulated
/// honestly by the size limit: the item is refused under a small limit and parses under the
/// default one after reopening.
#[test]
fn reparse_after_a_limit_change_appends_the_item_and_empties_the_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let big = fixture("autodns/text/ref-0104001-success-text.txt");
    let dup = fixture("autodns/seed/06-0101-create-success.eml");
    {
        let mut options = Options::new(&path);
        options.max_input_size = 300;
        let ledger = Ledger::open(options).unwrap();
        let outcome = ledger.ingest(&big, Origin::new("15.eml")).unwrap();
        assert!(
            matches!(&outcome, IngestOutcome::Rejected { reason, .. } if reason.contains("over the limit")),
            "{outcome:?}"
        );
        assert!(matches!(
            ledger.ingest(&dup, Origin::new("06.eml")).unwrap(),
            IngestOutcome::Rejected { .. }
        ));
        assert_eq!(ledger.quarantine().unwrap().len(), 2);
    }
    let ledger = Ledger::open(Options::new(&path)).unwrap();
    // The create success arrives again meanwhile, under the new limit.
    assert!(matches!(
        ledger.ingest(&dup, Origin::new("06 again.eml")).unwrap(),
        IngestOutcome::Appended { seq: 1, .. }
    ));
    let report = ledger.reparse().unwrap();
    assert_eq!(
        (
            report.tried,
            report.appended,
            report.duplicates,
            report.still_rejected
        ),
        (2, 1, 1, 0)
    );
    assert!(ledger.quarantine().unwrap().is_empty());
    let events = ledger.events_by_ctid("qs1258619858").unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::TransferInAcked);
    assert_eq!(events[0].source.origin, Origin::new("15.eml"));
    assert_eq!(ledger.raw(&events[0]).unwrap(), big);
    let imports = ledger.inventory().unwrap().owner_c_imports;
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0].owner_c.as_deref(), Some("10431169"));
    assert!(ledger.verify().unwrap().is_clean());
}

#[test]
fn centralnic_responses_drive_order_states_including_resubmit() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let temporary = fixture("centralnic/own_temporary_421_crlf.txt");
    let created = fixture("centralnic/own_adddomain_200_domain.txt");
    let failed = fixture("centralnic/own_adddomain_504_missing_attribute.txt");

    // Each response answers an AddDomain and appends an event: of this kind.
    let record = |raw: &[u8], ctid: &str, domain: Option<&str>| match ledger
        .record_response(raw, ctid, Some("AddDomain"), domain, Origin::new("api"))
        .unwrap()
    {
        IngestOutcome::Appended { kind, .. } => kind,
        other => panic!("{ctid}: {other:?}"),
    };
    assert_eq!(
        record(&temporary, "order-7", Some("Example-New.com")),
        EventKind::CommandTemporaryFailure
    );
    let order = ledger.order("order-7").unwrap().unwrap();
    assert_eq!(order.state, OrderState::Resubmit);
    assert_eq!(order.last_status.as_ref().unwrap().code, "421");
    assert_eq!(order.domain.as_deref(), Some("example-new.com"));

    // The same 421 text answering another order is not a duplicate of the first.
    assert_eq!(
        record(&temporary, "order-8", None),
        EventKind::CommandTemporaryFailure
    );
    assert_eq!(record(&created, "order-7", None), EventKind::DomainCreated);
    let order = ledger.order("order-7").unwrap().unwrap();
    assert_eq!((order.state, order.events), (OrderState::Succeeded, 2));

    assert_eq!(
        record(&failed, "order-9", Some("other.com")),
        EventKind::DomainCreateFailed
    );
    assert_eq!(
        ledger.order("order-9").unwrap().unwrap().state,
        OrderState::Failed
    );
    let failures = ledger.failed_creates().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].domain.as_deref(), Some("other.com"));
    assert_eq!(failures[0].resolved_by, None);

    // AutoDNS orders beside them: N… in progress, then S….
    for (date, status, state) in [
        (
            "Mon, 10 May 2010 10:00:00 +0200",
            "N0102",
            OrderState::InProgress,
        ),
        (
            "Mon, 10 May 2010 10:05:00 +0200",
            "S0102",
            OrderState::Succeeded,
        ),
    ] {
        let raw = mail(date, status, &update(status, "4bed8920b56fb"));
        ledger.ingest(&raw, Origin::new(status)).unwrap();
        assert_eq!(ledger.order("4bed8920b56fb").unwrap().unwrap().state, state);
    }
    let orders: Vec<String> = ledger
        .orders()
        .unwrap()
        .into_iter()
        .map(|o| o.ctid)
        .collect();
    assert_eq!(orders, ["4bed8920b56fb", "order-7", "order-8", "order-9"]);

    // The orders of each state, and their counts, follow each order as its state changes
    // (order-7 went Resubmit → Succeeded, 4bed8920b56fb InProgress → Succeeded).
    let in_state = |state: OrderState| -> Vec<String> {
        ledger
            .orders_in_state(state, 10)
            .unwrap()
            .into_iter()
            .map(|o| o.ctid)
            .collect()
    };
    assert_eq!(
        in_state(OrderState::Succeeded),
        ["4bed8920b56fb", "order-7"]
    );
    assert_eq!(in_state(OrderState::Resubmit), ["order-8"]);
    assert_eq!(in_state(OrderState::Failed), ["order-9"]);
    assert!(in_state(OrderState::InProgress).is_empty());
    assert_eq!(
        ledger.order_counts().unwrap(),
        ledger::OrderCounts {
            in_progress: 0,
            succeeded: 2,
            failed: 1,
            resubmit: 1,
        }
    );
    assert_eq!(
        ledger
            .orders_in_state(OrderState::Succeeded, 1)
            .unwrap()
            .len(),
        1
    );

    assert!(matches!(
        ledger.record_response(&created, "  ", None, None, Origin::new("api")),
        Err(LedgerError::InvalidArgument(_))
    ));
    assert!(ledger.verify().unwrap().is_clean());
}

/// A stream of batches: each batch's outcomes come back with its tag, in order, once written; a
/// batch larger than a write (1,000 items) is written in pieces and handed back whole; a
/// duplicate of an item in the batch before is still found (through the cursor when it was
/// staged before that batch was committed, else through the log: thread timing decides, and
/// `ledger.rs`'s unit test stages ahead on purpose); the views hold every batch when the stream
/// returns.
#[test]
fn ingest_stream_hands_back_each_batch_with_its_tag() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let item = |n: usize| {
        let ctid = format!("stream-{n:05}");
        let status = if n.is_multiple_of(2) {
            "S0102"
        } else {
            "N0102"
        };
        (
            mail(
                "Mon, 10 May 2010 10:00:00 +0200",
                &format!("{ctid}@autodns.example"),
                &update(status, &ctid),
            ),
            Origin::new(format!("stream/{n}")),
        )
    };
    let big: Vec<_> = (0..2_500).map(item).collect();
    // The parent-notify copy of the big batch's last item, and a new order.
    let (last, _) = item(2_499);
    let copy = [
        b"X-Forwarded-For: parent@reseller.example\n".as_slice(),
        &last,
    ]
    .concat();
    let batches = vec![
        (vec![item(10_000)], "first"),
        (big, "big"),
        (
            vec![(copy, Origin::new("stream/copy")), item(10_001)],
            "after",
        ),
        (Vec::new(), "empty"),
    ];
    let mut handed = Vec::new();
    ledger
        .ingest_stream(batches, |tag, outcomes| {
            handed.push((tag, outcomes));
            ControlFlow::Continue(())
        })
        .unwrap();
    let tags: Vec<&str> = handed.iter().map(|(tag, _)| *tag).collect();
    assert_eq!(tags, ["first", "big", "after", "empty"]);
    let counts: Vec<usize> = handed.iter().map(|(_, o)| o.len()).collect();
    assert_eq!(counts, [1, 2_500, 2, 0]);
    // Seqs follow input order across the pieces of the big batch.
    let seqs: Vec<u64> = handed[1]
        .1
        .iter()
        .map(|outcome| match outcome {
            IngestOutcome::Appended { seq, .. } => *seq,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(seqs, (2..=2_501).collect::<Vec<u64>>());
    assert_eq!(handed[2].1[0], IngestOutcome::Duplicate { of: 2_501 });
    assert!(matches!(
        handed[2].1[1],
        IngestOutcome::Appended { seq: 2_502, .. }
    ));
    let stats = ledger.stats().unwrap();
    assert_eq!(stats.events, 2_502);
    let order = ledger.order("stream-02499").unwrap().unwrap();
    assert_eq!((order.state, order.events), (OrderState::InProgress, 1));
    assert_eq!(ledger.verify().unwrap().problems, Vec::<String>::new());
}

/// `ControlFlow::Break` from the callback stops the stream after that batch: the batches after
/// it are not written, even the one already prepared.
#[test]
fn ingest_stream_stops_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let batches = (0..5).map(|n| {
        let ctid = format!("stop-{n}");
        let raw = mail(
            "Mon, 10 May 2010 10:00:00 +0200",
            &format!("{ctid}@autodns.example"),
            &update("S0102", &ctid),
        );
        (vec![(raw, Origin::new(format!("stop/{n}")))], n)
    });
    let mut seen = Vec::new();
    ledger
        .ingest_stream(batches, |n, _| {
            seen.push(n);
            if n == 1 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(seen, [0, 1]);
    assert_eq!(ledger.stats().unwrap().events, 2);
    assert!(ledger.events_by_ctid("stop-2").unwrap().is_empty());
}

/// Items of one batch: raw bytes and origin.
type Items = Vec<(Vec<u8>, Origin)>;

/// A pipelined stream gives exactly the outcomes of ingesting the same items one by one: the
/// same seqs, the same `Duplicate { of }` and the same quarantine ids, whatever the batch sizes
/// (empty, one, a few, around the 1,000-item write, over two writes) and however the copies and the
/// garbage fall across batch boundaries. Each seed takes every size once, in an order and with
/// items drawn by a seeded generator, so a failure names its seed.
#[test]
fn a_stream_gives_the_outcomes_of_one_by_one_ingest() {
    // Orders with an update each; every other one delivered again as a parent-notify copy
    // (other headers, same content), and every seventh item garbage (quarantined once).
    let pool: Vec<Vec<u8>> = (0..40)
        .map(|i| {
            if i % 7 == 0 {
                format!("\x00 not a notification {i} \x00").into_bytes()
            } else {
                let ctid = format!("pool-{}", i / 2);
                let mail = mail(
                    "Mon, 10 May 2010 10:00:00 +0200",
                    &format!("{i}@autodns.example"),
                    &update("S0102", &ctid),
                );
                if i % 2 == 0 {
                    [
                        b"X-Forwarded-For: parent@reseller.example\n".as_slice(),
                        &mail,
                    ]
                    .concat()
                } else {
                    mail
                }
            }
        })
        .collect();
    for seed in 1..=2u8 {
        let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
        let mut below = |n: u64| rng.random_range(0..n);
        // Every size once, in an order of the seed's.
        let mut sizes = [0, 1, 3, 999, 1_000, 1_001, 2_100];
        for i in (1..sizes.len()).rev() {
            sizes.swap(i, below(i as u64 + 1) as usize);
        }
        let batches: Vec<(Items, usize)> = sizes
            .into_iter()
            .enumerate()
            .map(|(b, len)| {
                let items = (0..len)
                    .map(|k| {
                        let raw = pool[below(pool.len() as u64) as usize].clone();
                        (raw, Origin::new(format!("{b}/{k}")))
                    })
                    .collect();
                (items, b)
            })
            .collect();

        let dir = tempfile::tempdir().unwrap();
        let one_by_one = Ledger::open(Options::new(dir.path().join("one"))).unwrap();
        let mut want = Vec::new();
        for (items, _) in &batches {
            for (raw, origin) in items {
                want.push(one_by_one.ingest(raw, origin.clone()).unwrap());
            }
        }
        let stream = Ledger::open(Options::new(dir.path().join("stream"))).unwrap();
        let mut got = Vec::new();
        stream
            .ingest_stream(batches, |_, outcomes| {
                got.extend(outcomes);
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(got.len(), want.len(), "seed {seed}");
        for (i, (got, want)) in got.iter().zip(&want).enumerate() {
            assert_eq!(got, want, "seed {seed}, item {i}");
        }
        assert!(
            want.iter()
                .any(|o| matches!(o, IngestOutcome::Duplicate { .. })),
            "seed {seed} draws copies"
        );
        assert!(stream.verify().unwrap().is_clean(), "seed {seed}");
        assert_eq!(
            stream.quarantine().unwrap().len(),
            one_by_one.quarantine().unwrap().len(),
            "seed {seed}"
        );
    }
}

/// A polled JSON create job of `ctid` (`ctid` is spliced into the JSON as written).
fn json_create(ctid_json: &str, domain: &str) -> Vec<u8> {
    format!(
        r#"{{"stid":"20240212-app1-1","status":{{"code":"S0905","type":"SUCCESS"}},
            "data":[{{"id":1,"job":{{"status":"SUCCESS","action":"create"}},
            "ctid":"{ctid_json}","object":{{"type":"Domain","value":"{domain}"}}}}]}}"#
    )
    .into_bytes()
}

#[test]
fn a_ctid_with_a_nul_is_rejected_so_no_order_shows_another_orders_events() {
    // Index keys are the ctid and a NUL: a ctid `a\0b` would be found under `a` too.
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let own = ledger
        .ingest(&json_create("a", "example-a.com"), Origin::new("a.json"))
        .unwrap();
    assert!(matches!(own, IngestOutcome::Appended { .. }), "{own:?}");
    let nul = ledger
        .ingest(
            &json_create("a\\u0000b", "example-b.com"),
            Origin::new("nul.json"),
        )
        .unwrap();
    let IngestOutcome::Rejected { reason, .. } = &nul else {
        panic!("a NUL ctid must be rejected: {nul:?}")
    };
    assert_eq!(
        reason,
        "the ctid \"a\\0b\" holds the control character '\\0' at data[0].ctid; a ctid or domain \
         must not"
    );
    let events = ledger.events_by_ctid("a").unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.domain.as_deref())
            .collect::<Vec<_>>(),
        [Some("example-a.com")],
        "only order a's own event"
    );
    assert_eq!(ledger.quarantine().unwrap().len(), 1, "the reject is kept");
    assert!(ledger.verify().unwrap().is_clean());

    // `record_response` refuses such a ctid too.
    let ok = fixture("centralnic/hxdoc_adddomain_200.txt");
    assert!(matches!(
        ledger.record_response(&ok, "a\0b", Some("AddDomain"), None, Origin::new("api")),
        Err(LedgerError::InvalidArgument(message)) if message.contains("control character")
    ));
}

/// `fixtures/autodns/repeat/`: example-shop.de transferred out in January and again in June,
/// each answered NACK by an S0106 with a byte-identical body (no transaction, no time of its
/// own) but a new `Date` and Message-ID; the January start and the June answer each have a
/// parent-notify copy (other headers, seconds and minutes later). Both transfers close, the
/// copies are duplicates, and the same holds in any order of delivery and in one batch.
#[test]
fn the_same_answer_months_apart_is_two_facts_and_copies_are_one() {
    use chrono::{TimeZone, Utc};
    let files = [
        "01-1403-start-2026-01.eml",
        "02-1403-start-2026-01-parent-copy.eml",
        "03-0106-nack-2026-01.eml",
        "04-1403-start-2026-06.eml",
        "05-0106-nack-2026-06.eml",
        "06-0106-nack-2026-06-parent-copy.eml",
    ];
    let items: Vec<_> = files
        .iter()
        .map(|f| (fixture(&format!("autodns/repeat/{f}")), Origin::new(*f)))
        .collect();
    let june_end = Utc.with_ymd_and_hms(2026, 6, 20, 0, 0, 0).unwrap();
    // One by one, in order.
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let outcomes: Vec<_> = items
        .iter()
        .map(|(raw, origin)| ledger.ingest(raw, origin.clone()).unwrap())
        .collect();
    assert!(
        matches!(outcomes[1], IngestOutcome::Duplicate { of: 1 }),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[4], IngestOutcome::Appended { seq: 4, .. }),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[5], IngestOutcome::Duplicate { of: 4 }),
        "{outcomes:?}"
    );
    assert_eq!(ledger.stats().unwrap().events, 4);
    assert!(ledger.pending_transfers(june_end).unwrap().is_empty());
    let january_end = Utc.with_ymd_and_hms(2026, 1, 31, 0, 0, 0).unwrap();
    assert!(ledger.pending_transfers(january_end).unwrap().is_empty());
    let answers = ledger.events_by_domain("example-shop.de").unwrap();
    assert_eq!(answers.len(), 4);
    assert!(ledger.verify().unwrap().is_clean());
    drop(ledger);

    // The June mails first, then January's; and everything in one batch.
    for order in [[3, 4, 5, 0, 1, 2], [0, 1, 2, 3, 4, 5]] {
        let dir = tempfile::tempdir().unwrap();
        let ledger = open(dir.path());
        let batch: Vec<_> = order.iter().map(|&i| items[i].clone()).collect();
        let outcomes = if order[0] == 0 {
            ledger.ingest_batch(batch).unwrap()
        } else {
            batch
                .into_iter()
                .map(|(raw, origin)| ledger.ingest(&raw, origin).unwrap())
                .collect()
        };
        let duplicates = outcomes
            .iter()
            .filter(|o| matches!(o, IngestOutcome::Duplicate { .. }))
            .count();
        assert_eq!(duplicates, 2, "{order:?}: {outcomes:?}");
        assert_eq!(ledger.stats().unwrap().events, 4, "{order:?}");
        assert!(ledger.pending_transfers(june_end).unwrap().is_empty());
        let report = ledger.verify().unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
    }
}

/// A bare body (no `Date`, no `created`) has no own time: it de-duplicates on content alone,
/// against an event with or without one, as before own times counted.
#[test]
fn an_item_without_its_own_time_dedups_on_content_alone() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let mail = fixture("autodns/repeat/05-0106-nack-2026-06.eml");
    let text = String::from_utf8(mail).unwrap();
    let body = text.split_once("\n\n").unwrap().1.as_bytes().to_vec();
    let first = ledger.ingest(&body, Origin::new("bare")).unwrap();
    assert!(matches!(first, IngestOutcome::Appended { seq: 1, .. }));
    for f in ["03-0106-nack-2026-01.eml", "05-0106-nack-2026-06.eml"] {
        let again = ledger
            .ingest(&fixture(&format!("autodns/repeat/{f}")), Origin::new(f))
            .unwrap();
        assert_eq!(again, IngestOutcome::Duplicate { of: 1 }, "{f}");
    }
    assert_eq!(
        ledger.ingest(&body, Origin::new("bare again")).unwrap(),
        IngestOutcome::Duplicate { of: 1 }
    );
    assert!(ledger.verify().unwrap().is_clean());
}
