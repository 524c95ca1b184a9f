//! The views' layout (version 8): what this build stores for the seed mails, byte for byte,
//! and views of the versions before (6, no count of the open transfers; 7, a week index
//! instead of the deadline and interval indexes) rebuilt on open.

use chrono::Utc;
use ledger::{Ledger, Options};
use ledger_event::Origin;

use crate::support::{mail, open, open_sled, seed_mails, transfer_start};

/// The golden dump of the views of the seed mails (`key hex = value hex`, one record a line).
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/views_v8.txt");

/// Every record of the views tree but the checkpoint and the dirty marker, as text.
fn dump_views(path: &std::path::Path) -> String {
    let db = open_sled(&path.join("views"));
    let tree = db.open_tree("views").unwrap();
    let mut out = String::new();
    for entry in tree.iter() {
        let (key, value) = entry.unwrap();
        if key.as_ref() == b"mcheckpoint" || key.as_ref() == b"mdirty" {
            continue;
        }
        out.push_str(&format!("{} = {}\n", hex(&key), hex(&value)));
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The views this build writes for the seed mails are the golden ones. When this fails, the
/// views' layout changed (a tree, a key or a record's shape): bump `VIEWS_VERSION` in
/// `store.rs` (views of another version are rebuilt on open), then write the new dump with
/// `LEDGER_BLESS=1 cargo test -p ledger --test ledger -- layout` and rename the file.
#[test]
fn the_views_of_the_seed_mails_are_those_of_layout_8() {
    let dir = tempfile::tempdir().unwrap();
    {
        let ledger = open(dir.path());
        for (name, raw) in seed_mails() {
            ledger.ingest(&raw, Origin::new(name)).unwrap();
        }
    }
    let dump = dump_views(&dir.path().join("ledger"));
    // The version is stored with the records (u32 BE under `mversion`).
    assert!(dump.contains(&format!("{} = 00000008\n", hex(b"mversion"))));
    if std::env::var_os("LEDGER_BLESS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(GOLDEN).parent().unwrap()).unwrap();
        std::fs::write(GOLDEN, &dump).unwrap();
    }
    let golden = std::fs::read_to_string(GOLDEN).unwrap();
    assert!(
        dump == golden,
        "the views' layout changed: bump VIEWS_VERSION (see this test's doc)\n{dump}"
    );
}

/// Views of version 6 (written before the open transfers were counted) are rebuilt on the
/// first open: `stats` then counts the pending transfers as `pending_transfers` lists them,
/// and the count follows opens and closes afterwards.
#[test]
fn views_of_version_6_are_rebuilt_and_count_the_open_transfers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let start = |domain: &str, n: usize, kk_start: &str| {
        mail(
            "Mon, 17 May 2010 08:44:00 +0200",
            &format!("{n}@a"),
            &transfer_start(domain, &format!("{n}"), kk_start, "2010-05-22 02:43:53"),
        )
    };
    {
        let ledger = open(dir.path());
        for (n, domain) in ["a.example", "b.example", "c.example"].iter().enumerate() {
            ledger
                .ingest(
                    &start(domain, n, "2010-05-17 08:43:53"),
                    Origin::new(format!("{n}")),
                )
                .unwrap();
        }
        assert_eq!(ledger.stats().unwrap().pending_transfers, 3);
    }
    {
        // What a version-6 build left: the same records without the count.
        let db = open_sled(&path.join("views"));
        let tree = db.open_tree("views").unwrap();
        let mut count_key = vec![10u8];
        count_key.extend_from_slice(b"open_transfers");
        assert!(tree.remove(&count_key).unwrap().is_some());
        tree.insert(b"mversion", &6u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let ledger = Ledger::open(Options::new(&path)).unwrap();
    let pending = |ledger: &Ledger| {
        (
            ledger.stats().unwrap().pending_transfers,
            ledger.pending_transfers(Utc::now()).unwrap().len() as u64,
        )
    };
    assert_eq!(pending(&ledger), (3, 3));
    assert!(ledger.verify().unwrap().is_clean());

    // An AUTO-ACK closes one; a start dated after now (a fact in the future: the open set
    // does not answer for now) is not pending yet.
    let auto_ack = mail(
        "Sat, 22 May 2010 02:44:00 +0200",
        "ack@a",
        "<system>\nuser: ExampleUser\ntask: 1403008\n\
         status: S1403008 [The request was not answered in time. AUTO-ACK was processed.]\n\
         success_value: domain: a.example\nlast_transaction: 0\nkk_answer: AUTOACK\n</system>\n",
    );
    ledger.ingest(&auto_ack, Origin::new("ack")).unwrap();
    assert_eq!(pending(&ledger), (2, 2));
    ledger
        .ingest(
            &start("d.example", 9, "2099-05-17 08:43:53"),
            Origin::new("future"),
        )
        .unwrap();
    assert_eq!(pending(&ledger), (2, 2));
    let report = ledger.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    drop(ledger);
    assert!(dump_views(&path).contains(&format!("{} = 00000008\n", hex(b"mversion"))));
}

/// Views of version 7 (a week index of ended spans under id 8, no deadline index, no
/// interval index) are rebuilt on the first open: the week keys an older build left are
/// removed, the two indexes written, and "due within" and a past instant answer from them.
#[test]
fn views_of_version_7_are_rebuilt_with_the_deadline_and_interval_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    {
        let ledger = open(dir.path());
        for (n, domain) in ["a.example", "b.example", "c.example"].iter().enumerate() {
            let raw = mail(
                "Mon, 17 May 2010 08:44:00 +0200",
                &format!("{n}@a"),
                &transfer_start(
                    domain,
                    &format!("{n}"),
                    "2010-05-17 08:43:53",
                    "2010-05-22 02:43:53",
                ),
            );
            ledger.ingest(&raw, Origin::new(format!("{n}"))).unwrap();
        }
        let auto_ack = mail(
            "Sat, 22 May 2010 02:44:00 +0200",
            "ack@a",
            "<system>\nuser: ExampleUser\ntask: 1403008\n\
             status: S1403008 [The request was not answered in time. AUTO-ACK was processed.]\n\
             success_value: domain: a.example\nlast_transaction: 0\nkk_answer: AUTOACK\n</system>\n",
        );
        ledger.ingest(&auto_ack, Origin::new("ack")).unwrap();
    }
    let prefixes = |dump: &str| -> Vec<String> {
        let mut tags: Vec<String> = dump.lines().map(|l| l[..2].to_string()).collect();
        tags.dedup();
        tags
    };
    {
        // What a version-7 build left: no key of the two indexes (ids 12, 13), a week key
        // (id 8) for the span a.example was pending in.
        let db = open_sled(&path.join("views"));
        let tree = db.open_tree("views").unwrap();
        for id in [12u8, 13] {
            for entry in tree.scan_prefix([id]) {
                tree.remove(entry.unwrap().0).unwrap();
            }
        }
        let mut week_key = vec![8u8];
        week_key.extend_from_slice(&((2107i64 as u64) ^ (1 << 63)).to_be_bytes());
        week_key.extend_from_slice(b"a.example");
        tree.insert(week_key, &[]).unwrap();
        tree.insert(b"mversion", &7u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let old = dump_views(&path);
    assert!(prefixes(&old).contains(&"08".to_string()));
    let ledger = Ledger::open(Options::new(&path)).unwrap();
    let now = Utc::now();
    let due = ledger
        .pending_transfers_due(now, now + chrono::Duration::hours(48))
        .unwrap();
    let domains: Vec<&str> = due.iter().map(|t| t.domain.as_str()).collect();
    assert_eq!(domains, ["b.example", "c.example"]);
    assert!(due.iter().all(|t| t.overdue(now)));
    let at = chrono::DateTime::parse_from_rfc3339("2010-05-20T00:00:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(ledger.pending_transfers(at).unwrap().len(), 3);
    let report = ledger.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    drop(ledger);
    let new = dump_views(&path);
    let tags = prefixes(&new);
    assert!(!tags.contains(&"08".to_string()), "{new}");
    assert!(
        tags.contains(&"0c".to_string()) && tags.contains(&"0d".to_string()),
        "{new}"
    );
    assert!(new.contains(&format!("{} = 00000008\n", hex(b"mversion"))));
}
