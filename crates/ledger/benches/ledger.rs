//! Ledger benchmarks: ingest in batches of 1,000 against raw sled `apply_batch` of the same
//! records, index and projection reads on a large ledger, rebuild.
//!
//! `LEDGER_BENCH_EVENTS` sets the number of notifications (default 20,000).

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ledger::{Ledger, Options};

#[path = "support/corpus.rs"]
mod corpus;
use corpus::corpus;

/// The allocator the `ledger` binary uses (glibc's malloc made ingest a third slower and
/// rebuild almost twice as slow); `LEDGER_BENCH_EVENTS` does not change it.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn events() -> usize {
    std::env::var("LEDGER_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn filled(n: usize) -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = Ledger::open(Options::new(dir.path().join("ledger"))).expect("open");
    ledger.ingest_batch(corpus(n)).expect("ingest");
    (dir, ledger)
}

fn ingest(c: &mut Criterion) {
    let n = events();
    let mut group = c.benchmark_group("ingest");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(format!("ledger_batches_of_1000/{n}"), |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temp dir");
                let ledger = Ledger::open(Options::new(dir.path().join("ledger"))).expect("open");
                (dir, ledger, corpus(n))
            },
            |(dir, ledger, items)| {
                let outcomes = ledger.ingest_batch(items).expect("ingest");
                assert_eq!(outcomes.len(), n);
                (dir, ledger)
            },
            BatchSize::PerIteration,
        )
    });
    // The same number of records, of the same sizes, written by sled alone: one apply_batch
    // and one flush per 1,000.
    group.bench_function(format!("raw_sled_apply_batch/{n}"), |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temp dir");
                let db = sled::Config::new()
                    .path(dir.path().join("raw"))
                    .cache_capacity(Options::new("unused").cache_capacity)
                    .mode(sled::Mode::HighThroughput)
                    .flush_every_ms(None)
                    .open()
                    .expect("sled");
                let tree = db.open_tree("events").expect("tree");
                (dir, db, tree, corpus(n))
            },
            |(dir, db, tree, items)| {
                for (chunk_no, chunk) in items.chunks(1_000).enumerate() {
                    let mut batch = sled::Batch::default();
                    for (i, (raw, _)) in chunk.iter().enumerate() {
                        let seq = (chunk_no * 1_000 + i) as u64;
                        batch.insert(&seq.to_be_bytes(), raw.as_slice());
                    }
                    tree.apply_batch(batch).expect("apply");
                    db.flush().expect("flush");
                }
                (dir, db)
            },
            BatchSize::PerIteration,
        )
    });
    // The records the ledger ends up holding for the same mails (its log and views trees: about
    // 3.3 per mail), written by sled alone in as many batches, in key order (appends: sled's
    // cheapest order; in a shuffled order the same writes took twice as long), the log's with
    // a flush per batch, the views' without, as the ledger does. Records the ledger rewrote
    // across batches are counted once. Every choice here favours sled alone.
    let records = ledger_records(n);
    eprintln!(
        "the ledger's records for {n} mails: {} in the log tree, {} in the views tree",
        records[0].len(),
        records[1].len()
    );
    let batches = n.div_ceil(1_000);
    group.bench_function(
        format!("raw_sled_apply_batch_of_the_ledgers_records/{n}"),
        |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let open = |name: &str| {
                        sled::Config::new()
                            .path(dir.path().join(name))
                            .cache_capacity(Options::new("unused").cache_capacity)
                            .mode(sled::Mode::HighThroughput)
                            // The ledger's own flusher: without it sled wrote these twice as slowly.
                            .flush_every_ms(Some(20))
                            .open()
                            .expect("sled")
                    };
                    let (log, views) = (open("log"), open("views"));
                    let trees = [
                        log.open_tree("log").expect("tree"),
                        views.open_tree("views").expect("tree"),
                    ];
                    (dir, log, views, trees)
                },
                |(dir, log, views, trees)| {
                    for batch in 0..batches {
                        for (tree, records) in trees.iter().zip(&records) {
                            let per = records.len().div_ceil(batches);
                            let mut sled_batch = sled::Batch::default();
                            for (key, value) in records.iter().skip(batch * per).take(per) {
                                sled_batch.insert(key.as_slice(), value.as_slice());
                            }
                            tree.apply_batch(sled_batch).expect("apply");
                        }
                        log.flush().expect("flush");
                    }
                    (dir, log, views)
                },
                BatchSize::PerIteration,
            )
        },
    );
    group.finish();
}

/// Every record of the log and views trees of a ledger holding `n` bench mails, per tree, in
/// key order.
fn ledger_records(n: usize) -> [Vec<(Vec<u8>, Vec<u8>)>; 2] {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger");
    let ledger = Ledger::open(Options::new(&path)).expect("open");
    ledger.ingest_batch(corpus(n)).expect("ingest");
    drop(ledger);
    ["log", "views"].map(|name| {
        let db = sled::open(path.join(name)).expect("reopening the ledger's sled db");
        db.open_tree(name)
            .expect("tree")
            .iter()
            .map(|entry| {
                let (key, value) = entry.expect("record");
                (key.to_vec(), value.to_vec())
            })
            .collect()
    })
}

fn reads(c: &mut Criterion) {
    let n = events();
    let (_dir, ledger) = filled(n);
    let mut group = c.benchmark_group("read");
    group.bench_function(format!("events_by_ctid/{n}"), |b| {
        let mut i = 0usize;
        b.iter(|| {
            // Items 6k+5 (AUTO-ACK) name no transaction of their own.
            i = (i + 6 * 1_319) % (n - n % 6);
            let events = ledger
                .events_by_ctid(&format!("ctid-{i:08}"))
                .expect("query");
            assert_eq!(events.len(), 1);
        })
    });
    group.bench_function(format!("events_by_domain/{n}"), |b| {
        b.iter(|| {
            ledger
                .events_by_domain("domain-42.example.com")
                .expect("query")
        })
    });
    group.sample_size(20);
    group.bench_function(format!("pending_transfers/{n}"), |b| {
        b.iter(|| ledger.pending_transfers(Utc::now()).expect("query"))
    });
    // A past instant: the open transfers started by then, plus the history of every domain
    // with a transfer pending in that week.
    let past = Utc
        .with_ymd_and_hms(2024, 3, 1, 12, 0, 0)
        .single()
        .expect("a valid instant");
    group.bench_function(format!("pending_transfers_as_of_past/{n}"), |b| {
        b.iter(|| ledger.pending_transfers(past).expect("query"))
    });
    group.finish();

    let mut group = c.benchmark_group("rebuild");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(format!("rebuild/{n}"), |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                let report = ledger.rebuild().expect("rebuild");
                assert_eq!(report.events, n as u64);
            }
            started.elapsed()
        })
    });
    group.finish();
}

criterion_group!(benches, ingest, reads);
criterion_main!(benches);
