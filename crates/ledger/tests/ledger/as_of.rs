//! `pending_transfers(at)` answers as of `at`: facts later than `at` do not count.

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use ledger::{DefaultAction, Ledger};
use ledger_event::Origin;
use proptest::prelude::*;

use crate::support::{fixture, mail, open};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

/// Every file of a fixture directory (not its `bad/` subdirectory nor READMEs), by name.
fn fixture_dir(dir: &str) -> Vec<(String, Vec<u8>)> {
    let full = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures")).join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&full)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".md"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| (format!("{dir}/{n}"), fixture(&format!("{dir}/{n}"))))
        .collect()
}

fn domains(ledger: &Ledger, at: DateTime<Utc>) -> Vec<String> {
    let mut out: Vec<String> = ledger
        .pending_transfers(at)
        .unwrap()
        .into_iter()
        .map(|t| t.domain)
        .collect();
    out.sort();
    out
}

#[test]
fn the_fixtures_show_example_com_pending_in_2010_despite_later_starts_and_closes() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    for sub in [
        "autodns/seed",
        "autodns/xml",
        "autodns/json",
        "autodns/text",
    ] {
        let items = fixture_dir(sub)
            .into_iter()
            .map(|(name, bytes)| (bytes, Origin::new(name)))
            .collect();
        ledger.ingest_batch(items).unwrap();
    }
    // The text samples are bare bodies: recorded now, so example.com has facts in 2026 too.
    let at = utc(2010, 5, 18, 12, 0, 0);
    let pending = ledger.pending_transfers(at).unwrap();
    let com = pending
        .iter()
        .find(|t| t.domain == "example.com")
        .unwrap_or_else(|| panic!("example.com is not pending at {at}: {pending:?}"));
    assert_eq!(com.started_at, Some(utc(2010, 5, 17, 6, 43, 53)));
    assert_eq!(com.deadline_at, Some(utc(2010, 5, 22, 0, 43, 53)));
    assert_eq!(com.default_action, Some(DefaultAction::Nack));
    assert_eq!(com.transaction.as_deref(), Some("1234"));
    assert!(!com.overdue(at));
    // Before anything started, nothing was pending.
    assert!(domains(&ledger, utc(2000, 1, 1, 0, 0, 0)).is_empty());
    assert!(ledger.verify().unwrap().is_clean());
    // The same answers after a rebuild.
    ledger.rebuild().unwrap();
    assert_eq!(ledger.pending_transfers(at).unwrap(), pending);
}

fn auto_ack(date: &str) -> Vec<u8> {
    mail(
        date,
        "autoack-com@autodns.example",
        "<system>\nuser: ExampleUser\ntask: 1403008\n\
         status: S1403008 [The request was not answered in time. AUTO-ACK was processed.]\n\
         success_value: domain: example.com\nlast_transaction: 1234\nkk_answer: AUTOACK\n</system>\n",
    )
}

#[test]
fn the_seed_story_at_several_instants() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    ledger
        .ingest(
            &fixture("autodns/seed/05-1403-transfer-out-start.eml"),
            Origin::new("start"),
        )
        .unwrap();
    // Closed (AUTO-ACK) on 2010-05-22 08:00 UTC, after the deadline.
    ledger
        .ingest(
            &auto_ack("Sat, 22 May 2010 10:00:00 +0200"),
            Origin::new("close"),
        )
        .unwrap();

    assert!(
        domains(&ledger, utc(2010, 5, 17, 6, 0, 0)).is_empty(),
        "before the start"
    );
    let between = utc(2010, 5, 18, 12, 0, 0);
    let open_then = ledger.pending_transfers(between).unwrap();
    assert_eq!(open_then.len(), 1);
    assert_eq!(open_then[0].domain, "example.com");
    assert!(!open_then[0].overdue(between));
    let after_deadline = utc(2010, 5, 22, 4, 0, 0);
    let late = ledger.pending_transfers(after_deadline).unwrap();
    assert_eq!(late.len(), 1, "the close after `at` does not count");
    assert!(late[0].overdue(after_deadline));
    assert!(
        domains(&ledger, utc(2010, 5, 22, 8, 0, 0)).is_empty(),
        "closed at that instant"
    );
    assert!(domains(&ledger, utc(2010, 5, 23, 0, 0, 0)).is_empty());
    assert!(domains(&ledger, Utc::now()).is_empty());
    // Starts at exactly kk_start.
    assert_eq!(
        domains(&ledger, utc(2010, 5, 17, 6, 43, 53)),
        ["example.com"]
    );
    assert!(domains(&ledger, utc(2010, 5, 17, 6, 43, 52)).is_empty());
}

#[test]
fn a_later_start_does_not_hide_an_earlier_pending_one() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let later_start = mail(
        "Mon, 01 Mar 2021 10:00:00 +0100",
        "start-2021@autodns.example",
        &crate::support::transfer_start(
            "example.com",
            "2021",
            "2021-03-01 09:59:00",
            "2021-03-06 09:59:00",
        ),
    );
    ledger
        .ingest(&later_start, Origin::new("start-2021"))
        .unwrap();
    ledger
        .ingest(
            &fixture("autodns/seed/05-1403-transfer-out-start.eml"),
            Origin::new("start-2010"),
        )
        .unwrap();
    let pending = ledger.pending_transfers(utc(2010, 5, 18, 0, 0, 0)).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].transaction.as_deref(), Some("1234"));
    let pending = ledger.pending_transfers(utc(2021, 3, 2, 0, 0, 0)).unwrap();
    assert_eq!(pending[0].transaction.as_deref(), Some("2021"));
    // Now: the 2021 start is the latest and open.
    let now = ledger.pending_transfers(Utc::now()).unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].transaction.as_deref(), Some("2021"));
}

/// Facts of two domains over a few weeks, each a mail.
fn facts() -> Vec<(String, Vec<u8>)> {
    let start = |domain: &str, tx: &str, day: u32| {
        mail(
            &format!("{day:02} May 2010 10:00:00 +0200"),
            &format!("start-{domain}-{day}@a"),
            &crate::support::transfer_start(
                domain,
                tx,
                &format!("2010-05-{day:02} 09:59:00"),
                &format!("2010-05-{:02} 09:59:00", day + 5),
            ),
        )
    };
    let close = |domain: &str, day: u32| {
        mail(
            &format!("{day:02} May 2010 12:00:00 +0200"),
            &format!("close-{domain}-{day}@a"),
            &format!(
                "<system>\nuser: ExampleUser\ntask: 1403008\n\
                 status: S1403008 [AUTO-ACK was processed.]\n\
                 success_value: domain: {domain}\nlast_transaction: {domain}-{day}\n\
                 kk_answer: AUTOACK\n</system>\n"
            ),
        )
    };
    let reminder = |domain: &str, day: u32| {
        mail(
            &format!("{day:02} May 2010 11:00:00 +0200"),
            &format!("reminder-{domain}-{day}@a"),
            &crate::support::transfer_reminder(domain, "r"),
        )
    };
    vec![
        ("a-start-2".into(), start("a.example", "a1", 2)),
        ("a-reminder-4".into(), reminder("a.example", 4)),
        ("a-close-6".into(), close("a.example", 6)),
        ("a-start-10".into(), start("a.example", "a2", 10)),
        ("a-close-20".into(), close("a.example", 20)),
        ("b-start-3".into(), start("b.example", "b1", 3)),
        ("b-start-12".into(), start("b.example", "b2", 12)),
        ("b-reminder-14".into(), reminder("b.example", 14)),
    ]
}

fn answers(ledger: &Ledger) -> Vec<String> {
    let mut out = Vec::new();
    for day in [1, 2, 5, 6, 8, 11, 13, 15, 21, 28] {
        let at = utc(2010, 5, day, 9, 0, 0);
        for t in ledger.pending_transfers(at).unwrap() {
            out.push(format!(
                "{day}: {} {:?} {:?} {:?}",
                t.domain, t.transaction, t.started_at, t.reminder_at
            ));
        }
    }
    for t in ledger.pending_transfers(Utc::now()).unwrap() {
        out.push(format!("now: {} {:?}", t.domain, t.transaction));
    }
    out
}

#[test]
fn as_of_answers_follow_the_facts_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    for (name, bytes) in facts() {
        ledger.ingest(&bytes, Origin::new(name)).unwrap();
    }
    let got = answers(&ledger);
    let want = [
        "2: a.example Some(\"a1\")",
        "5: a.example Some(\"a1\")",
        "5: b.example Some(\"b1\")",
        // a1's close is at 10:00 UTC on day 6: still pending at 09:00.
        "6: a.example Some(\"a1\")",
        "6: b.example Some(\"b1\")",
        "8: b.example Some(\"b1\")",
        // By deadline: b1's (day 8, overdue) before a2's (day 15).
        "11: b.example Some(\"b1\")",
        "11: a.example Some(\"a2\")",
        "13: a.example Some(\"a2\")",
        "13: b.example Some(\"b2\")",
        "15: a.example Some(\"a2\")",
        "15: b.example Some(\"b2\")",
        "21: b.example Some(\"b2\")",
        "28: b.example Some(\"b2\")",
        "now: b.example Some(\"b2\")",
    ];
    let short: Vec<String> = got
        .iter()
        .map(|line| {
            line.split(" Some(20")
                .next()
                .unwrap()
                .trim_end()
                .to_string()
        })
        .collect();
    assert_eq!(short, want, "{got:#?}");
    // The reminder of day 4 belongs to a1 (answered at day 5); the one of day 14 to b2, and
    // not yet at day 13.
    assert!(
        got.iter()
            .any(|l| l.starts_with("5: a.example") && l.contains("04T09:00:00Z"))
    );
    assert!(
        got.iter()
            .any(|l| l.starts_with("13: b.example") && l.ends_with("None"))
    );
    assert!(
        got.iter()
            .any(|l| l.starts_with("15: b.example") && l.contains("14T09:00:00Z"))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    /// The as-of answers are a function of the set of facts, not of their arrival order.
    #[test]
    fn as_of_answers_do_not_depend_on_arrival_order(order in Just((0..8usize).collect::<Vec<_>>()).prop_shuffle()) {
        let items = facts();
        let dir = tempfile::tempdir().unwrap();
        let expected = {
            let ledger = Ledger::open(ledger::Options::new(dir.path().join("in-order"))).unwrap();
            for (name, bytes) in &items {
                ledger.ingest(bytes, Origin::new(name.clone())).unwrap();
            }
            answers(&ledger)
        };
        let ledger = Ledger::open(ledger::Options::new(dir.path().join("shuffled"))).unwrap();
        let (first, rest) = order.split_at(order.len() / 2);
        for &i in first {
            ledger.ingest(&items[i].1, Origin::new(items[i].0.clone())).unwrap();
        }
        ledger.ingest_batch(rest.iter().map(|&i| (items[i].1.clone(), Origin::new(items[i].0.clone()))).collect()).unwrap();
        prop_assert_eq!(answers(&ledger), expected);
        prop_assert!(ledger.verify().unwrap().is_clean());
    }
}

/// A start whose pending span is too long to index week by week (a `kk_start` in the year
/// 1900, superseded by a start in 2010) is still found for an instant inside that span, and
/// a question about an ordinary week does not need to read its weeks.
#[test]
fn a_transfer_pending_for_a_century_is_found_in_the_middle_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let start = |date: &str, id: &str, kk_start: &str, autonack: &str| {
        mail(
            date,
            id,
            &crate::support::transfer_start("century.example", id, kk_start, autonack),
        )
    };
    for (raw, origin) in [
        (
            start(
                "Mon, 1 Jan 1900 12:00:00 +0100",
                "old@a",
                "1900-01-01 12:00:00",
                "1900-01-06 12:00:00",
            ),
            "old",
        ),
        (
            start(
                "Mon, 10 May 2010 12:00:00 +0200",
                "new@a",
                "2010-05-10 12:00:00",
                "2010-05-15 12:00:00",
            ),
            "new",
        ),
    ] {
        ledger.ingest(&raw, Origin::new(origin)).unwrap();
    }
    let in_1950 = ledger.pending_transfers(utc(1950, 6, 1, 0, 0, 0)).unwrap();
    assert_eq!(in_1950.len(), 1, "{in_1950:?}");
    assert_eq!(in_1950[0].started_at, Some(utc(1900, 1, 1, 11, 0, 0)));
    let in_2010 = ledger.pending_transfers(utc(2010, 5, 12, 0, 0, 0)).unwrap();
    assert_eq!(in_2010.len(), 1);
    assert_eq!(in_2010[0].started_at, Some(utc(2010, 5, 10, 10, 0, 0)));
    assert!(ledger.verify().unwrap().is_clean());
}
