//! The pending-transfers queries inside the library, on a ledger built by the binary (issue
//! 15): `pending-transfers --at END --due-within 48h` (END: the last event's time) and `--at
//! MIDDLE` (the middle of the log's span), each run `LEDGER_BENCH_RUNS` times (default 31)
//! interleaved, printed as min / median / max with the rows returned.
//!
//! ```sh
//! cargo xtask corpus --count 1000000 --seed 42 --span proportional --out target/c1m.mbox
//! ledger --db target/l1m ingest target/c1m.mbox
//! LEDGER_BENCH_LEDGER=target/l1m cargo bench -p ledger --bench pending
//! ```
//!
//! The ledger is opened whole first (views of another version are rebuilt then, not timed).
//! Both ways of answering `--due-within` are run and must give the same rows.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ledger::{Ledger, Options, PendingTransfer};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A query: its name and what it runs (returning the rows).
type Query<'a> = (&'a str, Box<dyn Fn() -> Vec<PendingTransfer> + 'a>);

fn main() {
    let Some(path) = std::env::var_os("LEDGER_BENCH_LEDGER") else {
        eprintln!(
            "set LEDGER_BENCH_LEDGER to a ledger directory (see the doc of benches/pending.rs)"
        );
        return;
    };
    let runs: usize = std::env::var("LEDGER_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(31);
    let opened = Instant::now();
    let ledger = Ledger::open(Options::new(&path)).expect("open the ledger");
    let head = ledger.readiness().expect("readiness").log_head;
    eprintln!(
        "opened {} ({head} events) in {:.1} s",
        std::path::Path::new(&path).display(),
        opened.elapsed().as_secs_f64()
    );
    let time_of = |seq: u64| -> DateTime<Utc> {
        ledger
            .export(seq)
            .next()
            .expect("an event")
            .expect("the event reads")
            .effective_time()
    };
    let end = time_of(head);
    let middle = time_of(1) + (end - time_of(1)) / 2;
    let window = chrono::Duration::hours(48);
    let queries: Vec<Query<'_>> = vec![
        (
            "--at END --due-within 48h (the whole list, filtered)",
            Box::new(|| {
                let mut all = ledger.pending_transfers(end).expect("pending");
                all.retain(|t| t.deadline_at.is_none_or(|d| d <= end + window));
                all
            }),
        ),
        (
            "--at END --due-within 48h (pending_transfers_due: the deadline index)",
            Box::new(|| {
                ledger
                    .pending_transfers_due(end, end + window)
                    .expect("pending")
            }),
        ),
        (
            "--at END --due-within 48h, the first 100 (first_pending_transfers_due)",
            Box::new(|| {
                ledger
                    .first_pending_transfers_due(end, end + window, 100)
                    .expect("pending")
            }),
        ),
        (
            "--at MIDDLE",
            Box::new(|| ledger.pending_transfers(middle).expect("pending")),
        ),
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); queries.len()];
    let mut rows = vec![0; queries.len()];
    for _ in 0..runs {
        for (i, (_, query)) in queries.iter().enumerate() {
            let started = Instant::now();
            let answer = query();
            times[i].push(started.elapsed());
            rows[i] = answer.len();
        }
    }
    assert_eq!(
        (queries[0].1)(),
        (queries[1].1)(),
        "the deadline index answers what the filtered list does"
    );
    println!("END {end}, MIDDLE {middle}, {runs} runs interleaved");
    for (i, (name, _)) in queries.iter().enumerate() {
        let t = &mut times[i];
        t.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{name}: {} rows, min {:.2} ms, median {:.2} ms, max {:.2} ms",
            rows[i],
            ms(t[0]),
            ms(t[t.len() / 2]),
            ms(t[t.len() - 1])
        );
    }
}
