//! The primitives against a real PostgreSQL: a throwaway cluster per test (crates/pgtest),
//! a role and a database of its own, connected through ledger-pgconn as the CLI will be.
//! Without a server the tests are skipped with a banner (a failure under `CI`).
//!
//! The decision above the primitives is this harness's own ("append if no entry under the
//! key"): the engine's real decision (the 24-hour window, quarantine) comes with the trait.

use std::collections::BTreeSet;
use std::sync::Barrier;

use chrono::Utc;
use ledger_event::{Event, Origin, Source};
use ledger_parser::ParseOptions;
use ledger_pgconn::{Environment, Settings};
use ledger_pgtest::{Cluster, Options};
use postgres::Client;
use postgres::fallible_iterator::FallibleIterator;

use super::schema::{MIGRATIONS, SCHEMA_VERSION, migrate, require_current};
use super::{
    Committed, CompressedRaw, DedupEntry, EVENTS_CHANNEL, Meta, NewEvent, NewReject, PgError,
    PgResult, ResponseContext, ViewChange, WriteTxn, read, read_meta,
};

#[path = "../../benches/support/corpus.rs"]
mod corpus;

/// The ledger's role in a test cluster.
pub(crate) const ROLE: &str = "ledger";
/// The ledger's database in a test cluster.
pub(crate) const DATABASE: &str = "ledger";
/// The projection id the harness keeps a record per order in.
const ORDERS: u16 = 1;

/// A cluster with a non-superuser role owning the ledger's database (the engine's tests in
/// `pg_ingest` use it too).
pub(crate) struct Db {
    pub(crate) cluster: Cluster,
}

impl Db {
    fn start(test: &str) -> Option<Db> {
        let cluster = Cluster::start_or_skip(&Options::default(), test)?;
        cluster.create_role(ROLE, None).expect("role");
        cluster.create_database(DATABASE, ROLE).expect("database");
        Some(Db { cluster })
    }

    /// A started cluster with the schema migrated, and a connection to it.
    pub(crate) fn migrated(test: &str) -> Option<(Db, Client)> {
        let db = Db::start(test)?;
        let mut client = db.connect();
        migrate(&mut client).expect("migrate");
        Some((db, client))
    }

    /// A connection as the ledger's role, through ledger-pgconn.
    pub(crate) fn connect(&self) -> Client {
        let conninfo = format!(
            "host={} port={} user={ROLE} dbname={DATABASE} sslmode=disable",
            self.cluster.host(),
            self.cluster.port()
        );
        Settings::parse(&conninfo, &Environment::empty().with_os_user(ROLE))
            .expect("settings")
            .connect_blocking()
            .expect("connect")
    }

    fn superuser(&self, sql: &str) -> String {
        self.cluster.psql(DATABASE, sql).expect("psql")
    }
}

/// A corpus mail made ready to write, as the engine's prepare step would: parsed, keyed,
/// its raw bytes compressed; the event gets its seq inside the transaction.
struct Prepared {
    event: Event,
    key: [u8; 32],
    own_time: Option<chrono::DateTime<Utc>>,
    raw: CompressedRaw,
}

fn prepare(bytes: &[u8], origin: Origin) -> Prepared {
    let notification =
        ledger_parser::parse(bytes, &ParseOptions::default()).expect("a corpus mail parses");
    let raw = CompressedRaw::new(bytes);
    let key = ledger_event::content_key(&notification);
    let own_time = ledger_event::own_time(&notification);
    let event = Event {
        seq: 0,
        recorded_at: Utc::now(),
        occurred_at: notification.occurred_at(),
        kind: ledger_event::classify(&notification, None),
        provider: notification.provider,
        ctid: notification.ctid.clone(),
        domain: notification.domain.as_ref().map(|d| d.as_str().to_string()),
        command: None,
        source: Source {
            sha256: raw.sha256,
            message_id: notification
                .mail
                .as_ref()
                .and_then(|m| m.message_id.clone()),
            origin,
        },
        notification,
    };
    Prepared {
        event,
        key,
        own_time,
        raw,
    }
}

fn corpus(range: std::ops::Range<usize>) -> Vec<Prepared> {
    corpus::corpus(range.end)
        .into_iter()
        .skip(range.start)
        .map(|(bytes, origin)| prepare(&bytes, origin))
        .collect()
}

/// One batch through the primitives: look the keys up, append what has no entry (once per
/// key in the batch), its raw inputs, a record per order, the checkpoint; commit. The seqs
/// appended.
fn write_batch(client: &mut Client, items: &[&Prepared]) -> PgResult<Vec<u64>> {
    let mut txn = WriteTxn::begin(client)?;
    let keys: Vec<[u8; 32]> = items.iter().map(|item| item.key).collect();
    let mut known: BTreeSet<[u8; 32]> = txn
        .dedup_entries(&keys)?
        .into_iter()
        .map(|entry| entry.key)
        .collect();
    let mut events = Vec::new();
    let mut raws = Vec::new();
    for item in items {
        if known.insert(item.key) {
            let mut event = item.event.clone();
            event.seq = txn.next_seq() + events.len() as u64;
            events.push((event, *item));
            raws.push(item.raw.clone());
        }
    }
    let stored: Vec<Vec<u8>> = events
        .iter()
        .map(|(event, _)| ledger_event::stored::encode_event(event))
        .collect();
    let new: Vec<NewEvent<'_>> = events
        .iter()
        .zip(&stored)
        .map(|((event, item), stored)| NewEvent {
            seq: event.seq,
            stored,
            order_id: event.ctid.as_deref(),
            domain: event.domain.as_deref(),
            dedup_key: item.key,
            own_time: item.own_time,
            raw_sha: item.raw.sha256,
        })
        .collect();
    let seq_bytes: Vec<[u8; 8]> = events.iter().map(|(e, _)| e.seq.to_be_bytes()).collect();
    let views: Vec<ViewChange<'_>> = events
        .iter()
        .zip(&seq_bytes)
        .filter_map(|((event, _), seq)| {
            Some(ViewChange {
                projection: ORDERS,
                key: event.ctid.as_deref()?.as_bytes(),
                record: Some(seq),
            })
        })
        .collect();
    txn.insert_raw(&raws)?;
    txn.append_events(&new)?;
    txn.apply_views(&views)?;
    let head = txn.next_seq() - 1;
    txn.set_checkpoint(head)?;
    txn.commit()?;
    Ok(events.iter().map(|(event, _)| event.seq).collect())
}

fn count(client: &mut Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).expect(sql).get(0)
}

#[test]
fn migrate_creates_the_schema_once_even_from_two_processes_at_once() {
    let Some(db) = Db::start("migrate_creates_the_schema_once") else {
        return;
    };
    let barrier = Barrier::new(2);
    let results: Vec<_> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut client = db.connect();
                    barrier.wait();
                    migrate(&mut client)
                })
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("thread").expect("migrate"))
            .collect()
    });
    // One of them applied every migration, the other found them applied.
    let mut froms: Vec<i32> = results.iter().map(|m| m.from).collect();
    froms.sort();
    assert_eq!(froms, [0, SCHEMA_VERSION]);
    assert!(results.iter().all(|m| m.to == SCHEMA_VERSION));
    let mut client = db.connect();
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM ledger_schema"),
        MIGRATIONS.len() as i64
    );
    // Run again: nothing to do, nothing changed.
    let again = migrate(&mut client).expect("migrate again");
    assert_eq!((again.from, again.to), (SCHEMA_VERSION, SCHEMA_VERSION));
    require_current(&mut client).expect("current");
    let meta = read_meta(&mut client).expect("meta");
    assert_eq!(
        (meta.next_seq, meta.next_quarantine, meta.checkpoint),
        (1, 1, 0)
    );
    assert_eq!(count(&mut client, "SELECT count(*) FROM ledger_meta"), 1);
    for table in ["events", "raw", "quarantine", "views"] {
        assert_eq!(
            count(&mut client, &format!("SELECT count(*) FROM {table}")),
            0
        );
    }
}

#[test]
fn a_schema_newer_than_the_build_is_refused_and_left_alone() {
    let Some((db, mut client)) = Db::migrated("a_schema_newer_than_the_build_is_refused") else {
        return;
    };
    let future = SCHEMA_VERSION + 1;
    db.superuser(&format!(
        "INSERT INTO ledger_schema (version, name) VALUES ({future}, '{future:04}_from_the_future')"
    ));
    match migrate(&mut client) {
        Err(PgError::SchemaNewer { found, supported }) => {
            assert_eq!((found, supported), (future, SCHEMA_VERSION))
        }
        other => panic!("expected SchemaNewer, got {other:?}"),
    }
    let message = require_current(&mut client)
        .expect_err("refused")
        .to_string();
    assert!(message.contains("newer than this build's"), "{message}");
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM ledger_schema"),
        MIGRATIONS.len() as i64 + 1
    );
    // A known version recorded under another name is another build's schema.
    db.superuser(&format!(
        "DELETE FROM ledger_schema WHERE version = {future}; \
         UPDATE ledger_schema SET name = 'something_else' WHERE version = 1"
    ));
    assert!(matches!(
        migrate(&mut client),
        Err(PgError::SchemaMismatch { version: 1, .. })
    ));
}

#[test]
fn a_database_without_the_schema_is_no_ledger() {
    let Some(db) = Db::start("a_database_without_the_schema_is_no_ledger") else {
        return;
    };
    let mut client = db.connect();
    assert!(matches!(
        require_current(&mut client),
        Err(PgError::NoLedger)
    ));
    assert!(matches!(
        WriteTxn::begin(&mut client),
        Err(PgError::Query { .. })
    ));
}

#[test]
fn two_writers_over_overlapping_input_append_each_notification_once_gap_free() {
    let Some((db, _client)) = Db::migrated("two_writers_over_overlapping_input") else {
        return;
    };
    // Writer A has mails 0..600, writer B 300..900 (the middle third is both's), B in reverse,
    // in batches of 50 with a repeat inside each of B's batches.
    let items = corpus(0..900);
    let a: Vec<&Prepared> = items[..600].iter().collect();
    let mut b: Vec<&Prepared> = items[300..].iter().rev().collect();
    b.iter_mut()
        .enumerate()
        .filter(|(i, _)| i % 50 == 49)
        .for_each(|(i, item)| *item = &items[899 - (i - 1)]);
    // What the two wrote, each notification once (B's repeats stand in for 6 of its mails).
    let distinct = a
        .iter()
        .chain(&b)
        .map(|item| item.key)
        .collect::<BTreeSet<_>>()
        .len() as u64;
    assert_eq!(distinct, 894);
    let barrier = Barrier::new(2);
    let appended: Vec<Vec<u64>> = std::thread::scope(|scope| {
        let runs: Vec<_> = [a, b]
            .into_iter()
            .map(|input| {
                let (db, barrier) = (&db, &barrier);
                scope.spawn(move || {
                    let mut client = db.connect();
                    barrier.wait();
                    let mut seqs = Vec::new();
                    for batch in input.chunks(50) {
                        seqs.extend(write_batch(&mut client, batch).expect("write"));
                    }
                    seqs
                })
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("thread"))
            .collect()
    });
    let all: BTreeSet<u64> = appended.iter().flatten().copied().collect();
    assert_eq!(
        appended.iter().map(Vec::len).sum::<usize>(),
        all.len(),
        "no seq twice"
    );
    assert_eq!(all, (1..=distinct).collect::<BTreeSet<u64>>(), "gap-free");
    let mut client = db.connect();
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM events"),
        distinct as i64
    );
    assert_eq!(
        count(&mut client, "SELECT count(DISTINCT dedup_key) FROM events"),
        distinct as i64,
        "each notification once"
    );
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM raw"),
        distinct as i64
    );
    let meta = read_meta(&mut client).expect("meta");
    assert_eq!((meta.next_seq, meta.checkpoint), (distinct + 1, distinct));
    // Every stored event decodes to the mail it was made from, at its seq.
    for stored in read::events_in(&mut client, 1..distinct + 1).expect("events") {
        let event = ledger_event::stored::decode_event(&stored.stored).expect("decodes");
        assert_eq!(event.seq, stored.seq);
        assert_eq!(event.source.sha256, stored.raw_sha);
    }
}

#[test]
fn a_connection_killed_mid_transaction_leaves_nothing_half_written() {
    let Some((db, mut client)) = Db::migrated("a_connection_killed_mid_transaction") else {
        return;
    };
    let items = corpus(0..200);
    write_batch(&mut client, &items[..100].iter().collect::<Vec<_>>()).expect("first batch");
    let before: Meta = read_meta(&mut client).expect("meta");
    let next = before.next_seq;
    let tables = |client: &mut Client| {
        ["events", "raw", "views"]
            .map(|table| count(client, &format!("SELECT count(*) FROM {table}")))
    };
    let rows_before = tables(&mut client);
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .expect("pid")
        .get(0);
    let mut txn = WriteTxn::begin(&mut client).expect("begin");
    let raws: Vec<CompressedRaw> = items[100..].iter().map(|item| item.raw.clone()).collect();
    txn.insert_raw(&raws).expect("raw");
    let stored: Vec<Vec<u8>> = items[100..]
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut event = item.event.clone();
            event.seq = next + i as u64;
            ledger_event::stored::encode_event(&event)
        })
        .collect();
    let new: Vec<NewEvent<'_>> = items[100..]
        .iter()
        .zip(&stored)
        .enumerate()
        .map(|(i, (item, stored))| NewEvent {
            seq: next + i as u64,
            stored,
            order_id: item.event.ctid.as_deref(),
            domain: item.event.domain.as_deref(),
            dedup_key: item.key,
            own_time: item.own_time,
            raw_sha: item.raw.sha256,
        })
        .collect();
    txn.append_events(&new).expect("append");
    txn.apply_views(&[ViewChange {
        projection: ORDERS,
        key: b"killed",
        record: Some(b"never"),
    }])
    .expect("views");
    txn.set_checkpoint(next + 99).expect("checkpoint");
    // Another session ends this one's backend (and waits until it is gone).
    assert_eq!(
        db.superuser(&format!("SELECT pg_terminate_backend({pid}, 10000)"))
            .trim(),
        "t"
    );
    let error = txn.commit().expect_err("the commit cannot succeed");
    assert!(matches!(error, PgError::Query { .. }), "{error}");
    drop(client);

    let mut client = db.connect();
    assert_eq!(read_meta(&mut client).expect("meta"), before);
    assert_eq!(tables(&mut client), rows_before);
    assert_eq!(
        count(&mut client, "SELECT max(seq) FROM events"),
        next as i64 - 1
    );
    // The next writer takes the lock and goes on from the same seq.
    let seqs = write_batch(&mut client, &items[100..].iter().collect::<Vec<_>>()).expect("again");
    assert!(!seqs.is_empty());
    assert_eq!(seqs, (next..next + seqs.len() as u64).collect::<Vec<_>>());
}

#[test]
fn raw_inputs_round_trip_compressed_and_checked() {
    let Some((db, mut client)) = Db::migrated("raw_inputs_round_trip_compressed") else {
        return;
    };
    let items = corpus(0..12);
    let refs: Vec<&Prepared> = items.iter().collect();
    write_batch(&mut client, &refs).expect("write");
    let mails = corpus::corpus(12);
    for (seq, (bytes, _)) in (1..).zip(&mails) {
        let raw = read::raw_of_event(&mut client, seq)
            .expect("read")
            .expect("kept");
        assert_eq!(&raw, bytes, "seq {seq}");
    }
    assert_eq!(read::raw_of_event(&mut client, 13).expect("read"), None);
    // Identical bytes are kept once, in a later batch too.
    let mut txn = WriteTxn::begin(&mut client).expect("begin");
    assert_eq!(txn.insert_raw(&[items[0].raw.clone()]).expect("raw"), 0);
    drop(txn);
    // Kept compressed: a repetitive input is far smaller in the table.
    let big = "user: ExampleUser\n".repeat(2_000).into_bytes();
    let raw = CompressedRaw::new(&big);
    let mut txn = WriteTxn::begin(&mut client).expect("begin");
    assert_eq!(txn.insert_raw(std::slice::from_ref(&raw)).expect("raw"), 1);
    txn.commit().expect("commit");
    let stored: i32 = client
        .query_one(
            "SELECT length(zstd) FROM raw WHERE sha256 = $1",
            &[&raw.sha256.as_slice()],
        )
        .expect("row")
        .get(0);
    assert!(
        (stored as usize) * 20 < big.len(),
        "{stored} of {}",
        big.len()
    );
    assert_eq!(
        read::raw_by_sha(&mut client, &raw.sha256).expect("read"),
        Some(big)
    );
    // A damaged row is reported, not returned.
    let other = CompressedRaw::new(b"other bytes");
    client
        .execute(
            "UPDATE raw SET zstd = $1, size = $2 WHERE sha256 = $3",
            &[&other.zstd, &(other.size as i64), &raw.sha256.as_slice()],
        )
        .expect("damage");
    assert!(matches!(
        read::raw_by_sha(&mut client, &raw.sha256),
        Err(PgError::Corrupt { .. })
    ));
    drop(db);
}

/// A statement that failed inside the transaction (and whose error the caller dropped)
/// aborted it: the commit says so instead of returning what PostgreSQL's ROLLBACK answer
/// would make look like a commit.
#[test]
fn a_transaction_aborted_by_a_failed_statement_is_never_reported_committed() {
    let Some((_db, mut client)) = Db::migrated("aborted_transaction_not_committed") else {
        return;
    };
    let raw = CompressedRaw::new(b"status: N0101\n");
    let mut txn = WriteTxn::begin(&mut client).expect("begin");
    assert_eq!(txn.insert_raw(std::slice::from_ref(&raw)).expect("raw"), 1);
    // A reject whose raw input is not in `raw`: the foreign key fails the statement at the
    // server, and nothing of the meta row has changed (the id is taken only on success).
    let refused = txn.insert_rejects(&[NewReject {
        id: txn.next_quarantine(),
        raw_sha: [7; 32],
        response: None,
        record: b"no such raw input",
    }]);
    assert!(matches!(refused, Err(PgError::Query { .. })), "{refused:?}");
    assert!(
        txn.commit().is_err(),
        "an aborted transaction reported committed"
    );
    assert_eq!(count(&mut client, "SELECT count(*) FROM raw"), 0);
}

#[test]
fn a_damaged_size_is_corrupt_not_a_huge_allocation() {
    let zstd = zstd::bulk::compress(b"x", 3).expect("compress");
    assert!(matches!(
        super::raw::decompress(&[0; 32], i64::MAX, &zstd),
        Err(PgError::Corrupt { .. })
    ));
}

#[test]
fn a_reader_is_not_blocked_by_an_open_write_transaction() {
    let Some((db, mut writer)) = Db::migrated("a_reader_is_not_blocked") else {
        return;
    };
    let items = corpus(0..20);
    write_batch(&mut writer, &items[..10].iter().collect::<Vec<_>>()).expect("first");
    let mut reader = db.connect();
    let mut second_writer = db.connect();
    // A blocked statement fails instead of hanging the test.
    reader
        .batch_execute("SET statement_timeout = '60s'")
        .expect("timeout");
    second_writer
        .batch_execute("SET lock_timeout = '200ms'")
        .expect("timeout");

    let mut txn = WriteTxn::begin(&mut writer).expect("begin");
    let raws: Vec<CompressedRaw> = items[10..].iter().map(|item| item.raw.clone()).collect();
    txn.insert_raw(&raws).expect("raw");
    let mut event = items[10].event.clone();
    event.seq = 11;
    let stored = ledger_event::stored::encode_event(&event);
    txn.append_events(&[NewEvent {
        seq: 11,
        stored: &stored,
        order_id: event.ctid.as_deref(),
        domain: event.domain.as_deref(),
        dedup_key: items[10].key,
        own_time: items[10].own_time,
        raw_sha: items[10].raw.sha256,
    }])
    .expect("append");
    let ctid = event.ctid.clone().expect("a ctid");
    txn.apply_views(&[ViewChange {
        projection: ORDERS,
        key: ctid.as_bytes(),
        record: Some(b"11"),
    }])
    .expect("views");

    // While it holds the seq lock and uncommitted rows, readers answer with the last commit.
    let meta = read_meta(&mut reader).expect("meta while a write is open");
    assert_eq!(meta.next_seq, 11);
    assert_eq!(
        read::events_in(&mut reader, 1..100).expect("events").len(),
        10
    );
    assert!(
        read::events_by_order(&mut reader, &ctid)
            .expect("by order")
            .is_empty()
    );
    assert!(
        read::view_records(&mut reader, ORDERS, &[ctid.as_bytes()])
            .expect("views")
            .is_empty()
    );
    assert!(read::raw_of_event(&mut reader, 5).expect("raw").is_some());
    // A second writer waits for the lock (here: gives up after its lock_timeout).
    match WriteTxn::begin(&mut second_writer) {
        Err(PgError::Query { source, .. }) => assert_eq!(
            source.code(),
            Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE)
        ),
        Err(other) => panic!("expected a lock timeout, got {other}"),
        Ok(_) => panic!("a second writer took the seq lock"),
    }

    let committed: Committed = txn.commit().expect("commit");
    assert_eq!((committed.head, committed.appended), (11, 1));
    assert_eq!(read_meta(&mut reader).expect("meta").next_seq, 12);
    let by_order = read::events_by_order(&mut reader, &ctid).expect("by order");
    assert_eq!(by_order.iter().map(|e| e.seq).collect::<Vec<_>>(), [11]);
    let domain = event.domain.clone().expect("a domain");
    let by_domain = read::events_by_domain(&mut reader, &domain).expect("by domain");
    assert!(by_domain.iter().any(|e| e.seq == 11));
    assert!(by_domain.iter().all(|e| {
        ledger_event::stored::decode_event(&e.stored)
            .expect("decodes")
            .domain
            .as_deref()
            == Some(domain.as_str())
    }));
    assert_eq!(
        read::view_records(&mut reader, ORDERS, &[ctid.as_bytes()]).expect("views"),
        [(ctid.as_bytes().to_vec(), b"11".to_vec())]
    );
    // The second writer gets the lock now.
    second_writer
        .batch_execute("SET lock_timeout = 0")
        .expect("timeout");
    write_batch(&mut second_writer, &items[10..].iter().collect::<Vec<_>>()).expect("second");
    assert_eq!(read_meta(&mut reader).expect("meta").next_seq, 21);
}

#[test]
fn a_commit_that_appended_notifies_listeners_of_the_new_head() {
    let Some((db, mut client)) = Db::migrated("a_commit_that_appended_notifies_listeners") else {
        return;
    };
    let mut listener = db.connect();
    listener
        .batch_execute(&format!("LISTEN {EVENTS_CHANNEL}"))
        .expect("listen");
    let items = corpus(0..5);
    let seqs = write_batch(&mut client, &items.iter().collect::<Vec<_>>()).expect("write");
    // A transaction that appends nothing notifies nothing.
    WriteTxn::begin(&mut client)
        .expect("begin")
        .commit()
        .expect("commit");
    let more = write_batch(&mut client, &[&items[0], &corpus(5..6)[0]]).expect("write");
    let mut notifications = listener.notifications();
    let mut heard = notifications.timeout_iter(std::time::Duration::from_secs(30));
    let payloads: Vec<String> = (0..2)
        .map(|_| {
            let heard = heard.next().expect("no error").expect("a notification");
            assert_eq!(heard.channel(), EVENTS_CHANNEL);
            heard.payload().to_string()
        })
        .collect();
    // In commit order, each the head after its commit; none for the empty commit between.
    assert_eq!(more, [seqs.len() as u64 + 1]);
    assert_eq!(
        payloads,
        [seqs.len().to_string(), (seqs.len() + 1).to_string()]
    );
}

#[test]
fn lookups_inside_the_transaction_see_its_own_writes() {
    let Some((_db, mut client)) = Db::migrated("lookups_inside_the_transaction") else {
        return;
    };
    let items = corpus(0..3);
    write_batch(&mut client, &[&items[0]]).expect("first");
    let mut txn = WriteTxn::begin(&mut client).expect("begin");
    assert_eq!(txn.meta().next_seq, 2);
    let keys = [items[0].key, items[1].key, items[2].key];
    let found: Vec<DedupEntry> = txn.dedup_entries(&keys).expect("lookup");
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].key, found[0].seq), (items[0].key, 1));
    assert_eq!(
        found[0].own_time.map(|t| t.timestamp_micros()),
        items[0].own_time.map(|t| t.timestamp_micros())
    );
    txn.insert_raw(&[items[1].raw.clone()]).expect("raw");
    let mut event = items[1].event.clone();
    event.seq = 2;
    let stored = ledger_event::stored::encode_event(&event);
    let new = NewEvent {
        seq: 2,
        stored: &stored,
        order_id: None,
        domain: None,
        dedup_key: items[1].key,
        own_time: None,
        raw_sha: items[1].raw.sha256,
    };
    // Seqs must continue the log: nothing is written otherwise.
    let wrong = NewEvent {
        seq: 3,
        ..new.clone()
    };
    assert!(matches!(
        txn.append_events(&[wrong]),
        Err(PgError::Invalid(_))
    ));
    txn.append_events(&[new]).expect("append");
    let found = txn.dedup_entries(&keys).expect("lookup");
    assert_eq!(
        found.iter().map(|e| e.seq).collect::<BTreeSet<_>>(),
        BTreeSet::from([1, 2])
    );
    assert_eq!(found.iter().find(|e| e.seq == 2).expect("2").own_time, None);
    assert!(txn.set_checkpoint(3).is_err(), "past the head");
    txn.commit().expect("commit");
}

#[test]
fn rejects_are_found_by_bytes_and_response_context() {
    let Some((_db, mut client)) = Db::migrated("rejects_are_found_by_bytes_and_context") else {
        return;
    };
    let raw = CompressedRaw::new(b"-not a notification-");
    let context = ResponseContext {
        ctid: "ctid-1".into(),
        command: Some("AddDomain".into()),
        domain: None,
    };
    let mut txn = WriteTxn::begin(&mut client).expect("begin");
    assert_eq!(txn.next_quarantine(), 1);
    txn.insert_raw(std::slice::from_ref(&raw)).expect("raw");
    txn.insert_rejects(&[
        NewReject {
            id: 1,
            raw_sha: raw.sha256,
            response: None,
            record: b"as ingested",
        },
        NewReject {
            id: 2,
            raw_sha: raw.sha256,
            response: Some(&context),
            record: b"as a response",
        },
    ])
    .expect("rejects");
    assert!(matches!(
        txn.insert_rejects(&[NewReject {
            id: 7,
            raw_sha: raw.sha256,
            response: None,
            record: b"",
        }]),
        Err(PgError::Invalid(_))
    ));
    txn.commit().expect("commit");

    let mut txn = WriteTxn::begin(&mut client).expect("begin");
    assert_eq!(txn.next_quarantine(), 3);
    assert_eq!(
        txn.find_reject(&raw.sha256, None).expect("find"),
        Some((1, b"as ingested".to_vec()))
    );
    assert_eq!(
        txn.find_reject(&raw.sha256, Some(&context)).expect("find"),
        Some((2, b"as a response".to_vec()))
    );
    let other = ResponseContext {
        domain: Some("example.com".into()),
        ..context.clone()
    };
    assert_eq!(
        txn.find_reject(&raw.sha256, Some(&other)).expect("find"),
        None
    );
    assert_eq!(txn.find_reject(&[0; 32], None).expect("find"), None);
    assert!(txn.replace_reject(1, b"dismissed").expect("dismiss"));
    assert!(!txn.replace_reject(9, b"dismissed").expect("dismiss"));
    assert_eq!(txn.remove_rejects(&[2, 9]).expect("release"), 1);
    txn.commit().expect("commit");
    let kept = read::rejects_in(&mut client, 1..u64::MAX).expect("read");
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].id, kept[0].record.as_slice()),
        (1, &b"dismissed"[..])
    );
    assert_eq!(read_meta(&mut client).expect("meta").next_quarantine, 3);
}

#[test]
fn view_changes_are_applied_last_wins_and_scanned_by_prefix() {
    let Some((_db, mut client)) = Db::migrated("view_changes_are_applied_last_wins") else {
        return;
    };
    let mut txn = WriteTxn::begin(&mut client).expect("begin");
    let put = |projection, key, record| ViewChange {
        projection,
        key,
        record: Some(record),
    };
    txn.apply_views(&[
        put(0, b"d\0a.example", b"1"),
        put(0, b"d\0b.example", b"2"),
        put(0, b"c\0ctid", b"3"),
        put(0, &[0xFF, 0xFF], b"4"),
        put(0, &[0xFF, 0xFF, 0x01], b"5"),
        put(2, b"d\0a.example", b"other projection"),
        put(0, b"d\0a.example", b"1 again"),
    ])
    .expect("views");
    txn.set_views_version(4);
    txn.set_trust_policy(Some("trust robot@autodns.example\n"));
    txn.commit().expect("commit");

    let scan = |client: &mut Client, prefix: &[u8], limit| {
        read::view_prefix(client, 0, prefix, limit)
            .expect("scan")
            .into_iter()
            .map(|(key, record)| (key, String::from_utf8(record).expect("utf-8")))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        scan(&mut client, b"d\0", None),
        [
            (b"d\0a.example".to_vec(), "1 again".to_string()),
            (b"d\0b.example".to_vec(), "2".to_string())
        ]
    );
    assert_eq!(scan(&mut client, b"d\0", Some(1)).len(), 1);
    assert_eq!(scan(&mut client, &[0xFF], None).len(), 2);
    assert_eq!(scan(&mut client, b"", None).len(), 5);
    let meta = read_meta(&mut client).expect("meta");
    assert_eq!(meta.views_version, 4);
    assert_eq!(
        meta.trust_policy.as_deref(),
        Some("trust robot@autodns.example\n")
    );

    let mut txn = WriteTxn::begin(&mut client).expect("begin");
    txn.apply_views(&[
        ViewChange {
            projection: 0,
            key: b"d\0b.example",
            record: None,
        },
        // Removed, then put again in the same batch: the put stands.
        ViewChange {
            projection: 0,
            key: b"c\0ctid",
            record: None,
        },
        put(0, b"c\0ctid", b"back"),
    ])
    .expect("views");
    txn.commit().expect("commit");
    assert_eq!(
        read::view_records(&mut client, 0, &[b"d\0b.example", b"c\0ctid", b"missing"])
            .expect("get"),
        [(b"c\0ctid".to_vec(), b"back".to_vec())]
    );
    let mut txn = WriteTxn::begin(&mut client).expect("begin");
    assert_eq!(txn.clear_view(0).expect("clear"), 4);
    drop(txn);
    assert_eq!(
        scan(&mut client, b"", None).len(),
        4,
        "dropped, so rolled back"
    );
}

/// `cargo test --release -p ledger --lib postgres::tests::append_throughput -- --ignored
/// --nocapture`: 100,000 corpus events in batches of 1,000 through the primitives (a dedup
/// lookup, the raw inputs, the events, one projection record each, the checkpoint, the
/// commit), with the throwaway cluster's `fsync = off` and then with `fsync = on`.
#[test]
#[ignore = "a measurement: run it by hand, see BENCHMARKS.md"]
fn append_throughput() {
    let n: usize = std::env::var("LEDGER_PG_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let items = corpus(0..n);
    for fsync in ["off", "on"] {
        let Some((db, mut client)) = Db::migrated("append_throughput") else {
            return;
        };
        db.cluster
            .psql(
                "postgres",
                &format!("ALTER SYSTEM SET fsync = {fsync}; SELECT pg_reload_conf();"),
            )
            .expect("fsync");
        let mut check = db.connect();
        let shown: String = check.query_one("SHOW fsync", &[]).expect("show").get(0);
        assert_eq!(shown, fsync);
        let started = std::time::Instant::now();
        for batch in items.chunks(1_000) {
            write_batch(&mut client, &batch.iter().collect::<Vec<_>>()).expect("write");
        }
        let elapsed = started.elapsed();
        let bytes = count(
            &mut client,
            "SELECT sum(pg_total_relation_size(c))::bigint FROM unnest(ARRAY['events', 'raw', \
             'views']::regclass[]) AS c",
        );
        println!(
            "fsync={fsync}: {n} events in {:.2} s: {:.0} events/s; {} B/event (events, raw, views with indexes)",
            elapsed.as_secs_f64(),
            n as f64 / elapsed.as_secs_f64(),
            bytes / n as i64
        );
    }
}
