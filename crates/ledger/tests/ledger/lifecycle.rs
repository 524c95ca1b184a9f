//! Projections over realistic lifecycles, whatever the arrival order; rebuild and verify.

use std::collections::HashMap;

use chrono::{TimeZone, Utc};
use ledger::{DefaultAction, DepartureReason, Ledger};
use ledger_event::Origin;
use proptest::prelude::*;

use crate::support::{create, fixture, mail, open, transfer_reminder, transfer_start, update};

/// A realistic stretch of mail: three outgoing transfers (one auto-acked, one reminded and
/// still open, one still open), a create that failed then succeeded, an order in progress
/// then done, an OwnerC import. Each item: (name, mail).
fn lifecycle() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "org-start",
            mail(
                "Tue, 11 May 2010 19:43:10 +0200",
                "1@a",
                &transfer_start(
                    "example.org",
                    "124124124",
                    "2010-05-11 19:43:02",
                    "2010-05-16 19:43:02",
                ),
            ),
        ),
        (
            "org-reminder",
            mail(
                "Fri, 14 May 2010 19:43:10 +0200",
                "2@a",
                &transfer_reminder("example.org", "124124124"),
            ),
        ),
        (
            "org-autoack",
            fixture("autodns/seed/01-1403008-transfer-out-autoack.eml"),
        ),
        (
            "com-start",
            fixture("autodns/seed/05-1403-transfer-out-start.eml"),
        ),
        (
            "com-reminder",
            fixture("autodns/seed/04-1403006-transfer-out-reminder.eml"),
        ),
        (
            "net-start",
            mail(
                "Wed, 19 May 2010 09:00:00 +0200",
                "3@a",
                &transfer_start(
                    "example.net",
                    "555",
                    "2010-05-19 08:59:00",
                    "2010-05-24 08:59:00",
                ),
            ),
        ),
        (
            "create-failed",
            mail(
                "Thu, 06 May 2010 16:21:00 +0200",
                "4@a",
                &create(false, "201005061621"),
            ),
        ),
        (
            "create-ok",
            mail(
                "Fri, 07 May 2010 09:00:00 +0200",
                "5@a",
                &create(true, "201005061621"),
            ),
        ),
        (
            "update-running",
            mail(
                "Mon, 10 May 2010 10:00:00 +0200",
                "6@a",
                &update("N0102", "4bed8920b56fb"),
            ),
        ),
        (
            "update-done",
            mail(
                "Mon, 10 May 2010 10:05:00 +0200",
                "7@a",
                &update("S0102", "4bed8920b56fb"),
            ),
        ),
        (
            "ownerc",
            fixture("autodns/seed/14-0102-autoupdate-ownerc-import.eml"),
        ),
    ]
}

/// Every projection, as text, with each seq replaced by the name of its item, so ledgers fed
/// in different orders compare equal when they hold the same facts.
fn projections(ledger: &Ledger) -> String {
    let names: HashMap<u64, String> = ledger
        .export(1)
        .map(|e| e.unwrap())
        .map(|e| (e.seq, e.source.origin.0))
        .collect();
    let name = |seq: u64| {
        names
            .get(&seq)
            .cloned()
            .unwrap_or_else(|| format!("missing {seq}"))
    };
    let at = Utc.with_ymd_and_hms(2010, 6, 1, 0, 0, 0).unwrap();
    let mut out = String::new();
    for mut t in ledger.pending_transfers(at).unwrap() {
        let opened_by = name(t.seq);
        t.seq = 0;
        out += &format!("pending {opened_by} {t:?}\n");
    }
    let mut failed: Vec<String> = ledger
        .failed_creates()
        .unwrap()
        .into_iter()
        .map(|mut f| {
            let (by, resolved) = (name(f.seq), f.resolved_by.map(name));
            (f.seq, f.resolved_by) = (0, None);
            format!("failed {by} resolved by {resolved:?} {f:?}\n")
        })
        .collect();
    failed.sort();
    out.extend(failed);
    for mut o in ledger.orders().unwrap() {
        let latest = name(o.seq);
        o.seq = 0;
        out += &format!("order latest {latest} {o:?}\n");
    }
    let inventory = ledger.inventory().unwrap();
    for mut d in inventory.departed {
        let by = name(d.seq);
        d.seq = 0;
        out += &format!("departed {by} {d:?}\n");
    }
    for mut i in inventory.owner_c_imports {
        let by = name(i.seq);
        i.seq = 0;
        out += &format!("import {by} {i:?}\n");
    }
    let stats = ledger.stats().unwrap();
    // The counts `stats` keeps agree with the listings they count.
    assert_eq!(stats.orders, ledger.orders().unwrap().len() as u64);
    let open_failures = ledger
        .failed_creates()
        .unwrap()
        .iter()
        .filter(|f| f.resolved_by.is_none())
        .count();
    assert_eq!(stats.failed_creates, open_failures as u64);
    // The open-transfers count (kept by the fold, not by listing) is the listing's length: a
    // systematic counting error would pass `verify`, which folds with the same code.
    assert_eq!(
        stats.pending_transfers,
        ledger.pending_transfers(chrono::Utc::now()).unwrap().len() as u64
    );
    out += &format!(
        "orders {} open failed creates {}\n",
        stats.orders, stats.failed_creates
    );
    let mut kinds = stats.kinds;
    kinds.sort();
    out += &format!("kinds {kinds:?}\n");
    out
}

fn ingest_in(ledger: &Ledger, items: &[(&'static str, Vec<u8>)]) {
    for (name, bytes) in items {
        let outcome = ledger.ingest(bytes, Origin::new(*name)).unwrap();
        assert!(
            matches!(outcome, ledger::IngestOutcome::Appended { .. }),
            "{name}: {outcome:?}"
        );
    }
}

#[test]
fn the_lifecycle_in_order_gives_the_expected_projections() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    ingest_in(&ledger, &lifecycle());
    let at = Utc.with_ymd_and_hms(2010, 5, 21, 0, 0, 0).unwrap();
    let pending = ledger.pending_transfers(at).unwrap();
    let domains: Vec<&str> = pending.iter().map(|t| t.domain.as_str()).collect();
    // Sorted by deadline: example.com (AUTO-NACK 2010-05-22 02:43:53 Berlin) then example.net.
    assert_eq!(domains, ["example.com", "example.net"]);
    let com = &pending[0];
    assert_eq!(com.transaction.as_deref(), Some("1234"));
    assert_eq!(
        com.started_at,
        Some(Utc.with_ymd_and_hms(2010, 5, 17, 6, 43, 53).unwrap())
    );
    assert_eq!(
        com.reminder_at,
        Some(Utc.with_ymd_and_hms(2010, 5, 20, 6, 43, 53).unwrap())
    );
    assert_eq!(
        com.deadline_at,
        Some(Utc.with_ymd_and_hms(2010, 5, 22, 0, 43, 53).unwrap())
    );
    assert_eq!(com.default_action, Some(DefaultAction::Nack));
    assert!(!com.overdue(at));
    assert!(com.overdue(Utc.with_ymd_and_hms(2010, 5, 23, 0, 0, 0).unwrap()));
    // Before example.net started, only example.com was pending.
    let before = ledger
        .pending_transfers(Utc.with_ymd_and_hms(2010, 5, 18, 0, 0, 0).unwrap())
        .unwrap();
    assert_eq!(before.len(), 1);

    let failed = ledger.failed_creates().unwrap();
    assert_eq!(failed.len(), 1);
    let ok = ledger.events_by_ctid("201005061621").unwrap();
    assert_eq!(failed[0].resolved_by, Some(ok[1].seq));
    assert_eq!(failed[0].status.as_ref().unwrap().code, "E0101");

    let inventory = ledger.inventory().unwrap();
    assert_eq!(inventory.departed.len(), 1);
    assert_eq!(inventory.departed[0].domain, "example.org");
    assert_eq!(inventory.departed[0].reason, DepartureReason::AutoAck);
    assert_eq!(
        inventory.owner_c_imports[0].owner_c.as_deref(),
        Some("12345")
    );
    // Transfer-out facts are not orders.
    assert!(ledger.order("1234").unwrap().is_none());
    assert!(ledger.verify().unwrap().is_clean());
}

#[test]
fn a_start_delivered_after_its_auto_ack_leaves_nothing_open() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let items = lifecycle();
    let pick = |n: &str| items.iter().find(|(name, _)| *name == n).unwrap().clone();
    ingest_in(&ledger, &[pick("org-autoack"), pick("org-reminder")]);
    let at = Utc.with_ymd_and_hms(2010, 6, 1, 0, 0, 0).unwrap();
    assert!(ledger.pending_transfers(at).unwrap().is_empty());
    ingest_in(&ledger, &[pick("org-start")]);
    assert!(
        ledger.pending_transfers(at).unwrap().is_empty(),
        "the late start reopened the transfer"
    );
    // And the other way round, the success of a create before its failure resolves it.
    ingest_in(&ledger, &[pick("create-ok"), pick("create-failed")]);
    let failed = ledger.failed_creates().unwrap();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].resolved_by.is_some());
}

#[test]
fn rebuild_equals_the_incremental_fold_and_verify_finds_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    {
        let ledger = open(dir.path());
        ingest_in(&ledger, &lifecycle());
        let incremental = projections(&ledger);
        let report = ledger.rebuild().unwrap();
        assert_eq!(report.events, 11);
        assert_eq!(projections(&ledger), incremental);
        let report = ledger.verify().unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
        assert_eq!(report.events, 11);
    }
    // Tamper with a stored order and drop an index entry, behind the ledger's back.
    {
        // Layout 2: one tree per database; orders are the views' prefix 1, by_ctid the log's `c`.
        let views = crate::support::open_sled(&path.join("views"));
        let tree = views.open_tree("views").unwrap();
        let record = tree.get(b"\x014bed8920b56fb").unwrap().unwrap();
        let mut changed = record.to_vec();
        let last = changed.len() - 1;
        changed[last] = changed[last].wrapping_add(1);
        tree.insert(b"\x014bed8920b56fb", changed).unwrap();
        // And a stray order no event made.
        tree.insert(b"\x01stray-order", record.to_vec()).unwrap();
        views.flush().unwrap();
        let log = crate::support::open_sled(&path.join("log"));
        let by_ctid = log.open_tree("log").unwrap();
        let key = by_ctid
            .scan_prefix(b"c201005061621\0")
            .next()
            .unwrap()
            .unwrap()
            .0;
        by_ctid.remove(key).unwrap();
        log.flush().unwrap();
    }
    let ledger = open(dir.path());
    let report = ledger.verify().unwrap();
    assert_eq!(report.problems.len(), 3, "{:?}", report.problems);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.starts_with("orders[stray-order]") && p.contains("no counterpart")),
        "{:?}",
        report.problems
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.starts_with("orders[4bed8920b56fb]")),
        "{:?}",
        report.problems
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("missing from by_ctid")),
        "{:?}",
        report.problems
    );
    // rebuild repairs the views (not the log's index).
    ledger.rebuild().unwrap();
    let report = ledger.verify().unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
}

/// `domain_state` reads a domain's records by key; it says what the listing queries say of
/// that domain, now and as of earlier instants.
#[test]
fn domain_state_agrees_with_the_listings() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    ingest_in(&ledger, &lifecycle());
    for (name, raw) in crate::support::seed_mails() {
        ledger.ingest(&raw, Origin::new(name)).unwrap();
    }
    // A failed create that names its domain (the seed's names only its order).
    let failed_create = "<system>\nuser: ExampleUser\ntask: 0101\n\
        status: E0101 [Domain could not be registered.]\ntransaction: f-1\n\
        success_value: domain: failed.example\n</system>\n";
    ledger
        .ingest(
            &mail("Mon, 17 May 2010 10:00:00 +0200", "f@a", failed_create),
            Origin::new("failed"),
        )
        .unwrap();
    let domains: std::collections::BTreeSet<String> =
        ledger.export(1).filter_map(|e| e.unwrap().domain).collect();
    assert!(domains.len() >= 4, "{domains:?}");
    let instants = [
        Utc::now(),
        Utc.with_ymd_and_hms(2010, 5, 12, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2010, 6, 1, 0, 0, 0).unwrap(),
    ];
    let inventory = ledger.inventory().unwrap();
    let failed = ledger.failed_creates().unwrap();
    let mut seen_pending = 0;
    for at in instants {
        let pending = ledger.pending_transfers(at).unwrap();
        for domain in &domains {
            let state = ledger.domain_state(&domain.to_uppercase(), at).unwrap();
            assert_eq!(&state.domain, domain);
            let expected = pending.iter().find(|t| &t.domain == domain);
            assert_eq!(
                state.pending_transfer.as_ref(),
                expected,
                "{domain} at {at}"
            );
            seen_pending += usize::from(expected.is_some());
            assert_eq!(
                state.departure.as_ref(),
                inventory.departed.iter().find(|d| &d.domain == domain)
            );
            assert_eq!(
                state.owner_c_import.as_ref(),
                inventory
                    .owner_c_imports
                    .iter()
                    .find(|o| o.domain.as_ref() == Some(domain))
            );
            let mut expected: Vec<_> = failed
                .iter()
                .filter(|f| f.domain.as_ref() == Some(domain))
                .cloned()
                .collect();
            expected.sort_by_key(|f| (f.failed_at, f.seq));
            assert_eq!(state.failed_creates, expected, "{domain}");
        }
    }
    assert!(seen_pending > 0, "no pending transfer was compared");
    let states: Vec<_> = domains
        .iter()
        .map(|d| ledger.domain_state(d, Utc::now()).unwrap())
        .collect();
    assert!(states.iter().any(|s| s.departure.is_some()));
    assert!(states.iter().any(|s| s.owner_c_import.is_some()));
    assert!(states.iter().any(|s| !s.failed_creates.is_empty()));
    assert!(ledger.domain_state("not a domain", Utc::now()).is_err());
}

/// A rebuild reads the log on one thread and folds on another, handing the decoding to
/// whichever is free, in chunks of a few hundred events: on a log of many chunks, every
/// rebuild gives the incremental fold.
#[test]
fn a_rebuild_of_many_chunks_equals_the_incremental_fold() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let items: Vec<(Vec<u8>, Origin)> = (0..3_000)
        .map(|i| {
            let domain = format!("domain-{}.example", i % 300);
            let ctid = format!("ctid-{i:05}");
            let body = match i % 5 {
                0 => create(true, &ctid),
                1 => create(false, &ctid),
                2 => update("S0102", &ctid),
                3 => transfer_start(&domain, &ctid, "2010-05-06 10:00:00", "2010-05-11 10:00:00"),
                _ => transfer_reminder(&domain, &ctid),
            };
            let date = format!("Thu, 06 May 2010 {:02}:{:02}:00 +0200", i / 60 % 24, i % 60);
            (
                mail(&date, &format!("{i}@autodns.example"), &body),
                Origin::new(format!("gen/{i}")),
            )
        })
        .collect();
    ledger.ingest_batch(items).unwrap();
    let incremental = projections(&ledger);
    let orders = ledger.orders().unwrap();
    assert_eq!(orders.len(), 1_800);
    for _ in 0..3 {
        assert_eq!(ledger.rebuild().unwrap().events, 3_000);
        assert_eq!(projections(&ledger), incremental);
        assert_eq!(ledger.orders().unwrap(), orders);
    }
    let report = ledger.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    drop(ledger);
    // Damaged views: every order record changed and thousands of stray ones, more than one
    // write batch of the rebuild's merge (which writes while it reads the stored records).
    {
        let db = crate::support::open_sled(&dir.path().join("ledger/views"));
        let tree = db.open_tree("views").unwrap();
        for entry in tree.scan_prefix([1u8]) {
            let (key, value) = entry.unwrap();
            let mut value = value.to_vec();
            value.push(0);
            tree.insert(key, value).unwrap();
        }
        for i in 0..6_000 {
            tree.insert(format!("\x01stray-{i:05}"), b"x".as_slice())
                .unwrap();
        }
        db.flush().unwrap();
    }
    let ledger = open(dir.path());
    assert!(ledger.verify().unwrap().problems.len() > 7_000);
    ledger.rebuild().unwrap();
    assert_eq!(projections(&ledger), incremental);
    assert_eq!(ledger.orders().unwrap(), orders);
    let report = ledger.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

/// Every projection record of the views (the views' meta, prefix `m`, left out), as stored.
fn views_records(path: &std::path::Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let db = crate::support::open_sled(&path.join("views"));
    let tree = db.open_tree("views").unwrap();
    tree.iter()
        .map(|e| e.unwrap())
        .filter(|(k, _)| k.first() != Some(&b'm'))
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect()
}

/// The AutoDNS guide's mails, `rounds` times over, each round under one of a few domains and
/// orders shared with other rounds (so a domain's transfers and an order's events span the
/// whole log: starts, reminders, auto-acks, ACK answers, auto-nacks, failed creates resolved
/// rounds later, OwnerC imports), with generated creates, updates and transfers between them.
fn shared_rounds(rounds: usize) -> Vec<(Vec<u8>, Origin)> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seed = crate::support::seed_mails();
    let mut items = Vec::new();
    for round in 0..rounds {
        // Each round's mails are dated a month after the last round's.
        let month = format!("{} {}", MONTHS[(4 + round) % 12], 2010 + (4 + round) / 12);
        for (name, raw) in &seed {
            let text = String::from_utf8_lossy(raw)
                .replace("May 2010", &month)
                .replace("example.com", &format!("d{}.example.com", round % 7))
                .replace("example.org", &format!("d{}.example.org", round % 5))
                .replace("transaction: ", &format!("transaction: r{}-", round % 11));
            items.push((text.into_bytes(), Origin::new(format!("{round}/{name}"))));
        }
        for i in 0..30 {
            let domain = format!("d{}.example.com", (round + i) % 7);
            let ctid = format!("g{}-{}", round % 13, i % 6);
            let body = match i % 5 {
                0 => create(true, &ctid),
                1 => create(false, &ctid),
                2 => update("S0102", &ctid),
                3 => transfer_start(&domain, &ctid, "2010-05-06 10:00:00", "2010-05-11 10:00:00"),
                _ => transfer_reminder(&domain, &ctid),
            };
            let date = format!(
                "Thu, {:02} {month} {:02}:{:02}:00 +0200",
                1 + i % 28,
                i % 24,
                round % 60
            );
            items.push((
                mail(&date, &format!("{round}.{i}@autodns.example"), &body),
                Origin::new(format!("{round}/gen/{i}")),
            ));
        }
    }
    items
}

/// A rebuild and a verify whose fold may hold a single record spill it after every event
/// (and merge the spilled runs into one every eight spills) on mail whose domains and orders
/// span the whole log: the views they leave are byte for byte the incremental fold's (and an
/// unbounded rebuild's), and verify, spilling the same way, finds them clean. A spill or a
/// merge of runs that lost or revived a record would show here.
#[test]
fn a_fold_spilled_after_every_event_equals_the_unbounded_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let (incremental, events) = {
        let ledger = open(dir.path());
        ledger.ingest_batch(shared_rounds(60)).unwrap();
        let answers = projections(&ledger);
        let report = ledger.rebuild().unwrap();
        assert_eq!(report.spills, 0, "the default budget holds this log");
        assert_eq!(projections(&ledger), answers);
        (answers, report.events)
    };
    assert!(events > 2_000, "{events}");
    let unbounded = views_records(&path);
    // Few records for so many events: every domain and order has many.
    assert!(unbounded.len() > 500, "{}", unbounded.len());

    // Damage the views first, so the bounded rebuild has to write what it folded.
    {
        let db = crate::support::open_sled(&path.join("views"));
        let tree = db.open_tree("views").unwrap();
        for (i, (key, value)) in unbounded.iter().enumerate() {
            match i % 3 {
                0 => drop(tree.remove(key).unwrap()),
                1 => drop(tree.insert(key, [value.as_slice(), b"x"].concat()).unwrap()),
                _ => {}
            }
        }
        db.flush().unwrap();
    }
    let mut options = ledger::Options::new(&path);
    options.fold_memory = 1;
    {
        let ledger = Ledger::open(options.clone()).unwrap();
        let report = ledger.verify().unwrap();
        assert!(
            report.problems.len() > unbounded.len() / 2,
            "{}",
            report.problems.len()
        );
        let report = ledger.rebuild().unwrap();
        assert_eq!(report.events, events);
        assert!(
            report.spills + 1 >= events,
            "spilled {} times",
            report.spills
        );
        assert_eq!(projections(&ledger), incremental);
        let report = ledger.verify().unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
    }
    assert!(
        views_records(&path) == unbounded,
        "the bounded rebuild's views differ"
    );
    assert!(!path.join("fold").exists(), "the spilled runs are removed");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Every arrival order of the lifecycle gives the projections of the in-order fold.
    #[test]
    fn every_arrival_order_gives_the_in_order_projections(order in Just((0..11usize).collect::<Vec<_>>()).prop_shuffle()) {
        let items = lifecycle();
        let dir = tempfile::tempdir().unwrap();
        let expected = {
            let ledger = Ledger::open(ledger::Options::new(dir.path().join("in-order"))).unwrap();
            ingest_in(&ledger, &items);
            projections(&ledger)
        };
        let shuffled: Vec<_> = order.iter().map(|&i| items[i].clone()).collect();
        let ledger = Ledger::open(ledger::Options::new(dir.path().join("shuffled"))).unwrap();
        // Half one by one, the rest in one batch.
        let (first, rest) = shuffled.split_at(shuffled.len() / 2);
        ingest_in(&ledger, first);
        ledger.ingest_batch(rest.iter().map(|(n, b)| (b.clone(), Origin::new(*n))).collect()).unwrap();
        prop_assert_eq!(projections(&ledger), expected);
        prop_assert!(ledger.verify().unwrap().is_clean());
    }
}

/// `stats` reads kept counts: a failed create counts as open until a create of the same order
/// resolves it, each ctid counts once as an order, and a rebuild gives the same counts.
#[test]
fn stats_counts_follow_failures_and_their_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let deliver = |date: &str, id: &str, body: String| {
        ledger
            .ingest(&mail(date, id, &body), Origin::new(id))
            .unwrap();
    };
    let counts = || {
        let stats = ledger.stats().unwrap();
        (stats.orders, stats.failed_creates)
    };
    assert_eq!(counts(), (0, 0));
    deliver(
        "Mon, 10 May 2010 10:00:00 +0200",
        "1@a",
        create(false, "order-1"),
    );
    deliver(
        "Mon, 10 May 2010 10:01:00 +0200",
        "2@a",
        create(false, "order-2"),
    );
    assert_eq!(counts(), (2, 2));
    // order-1 is retried and succeeds: resolved. An update of order-1 is no new order.
    deliver(
        "Mon, 10 May 2010 11:00:00 +0200",
        "3@a",
        create(true, "order-1"),
    );
    deliver(
        "Mon, 10 May 2010 11:05:00 +0200",
        "4@a",
        update("S0102", "order-1"),
    );
    assert_eq!(counts(), (2, 1));
    // A success dated before order-2's failure does not resolve it.
    deliver(
        "Mon, 10 May 2010 09:00:00 +0200",
        "5@a",
        create(true, "order-2"),
    );
    assert_eq!(counts(), (2, 1));
    ledger.rebuild().unwrap();
    assert_eq!(counts(), (2, 1));
    assert!(ledger.verify().unwrap().is_clean());
}

/// Runs a fold killed midway left in `PATH/fold/` are removed when the ledger is next opened
/// for writing (they can be gigabytes), and the ledger is unharmed.
#[test]
fn runs_left_by_a_killed_fold_are_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let answers = {
        let ledger = Ledger::open(ledger::Options::new(&path)).unwrap();
        ingest_in(&ledger, &lifecycle());
        projections(&ledger)
    };
    let left = path.join("fold");
    std::fs::create_dir_all(&left).unwrap();
    std::fs::write(left.join("run-000000"), vec![7u8; 64 * 1024]).unwrap();
    let ledger = Ledger::open(ledger::Options::new(&path)).unwrap();
    assert!(!left.exists(), "the runs left behind are still there");
    assert_eq!(projections(&ledger), answers);
    assert!(ledger.verify().unwrap().is_clean());
}
