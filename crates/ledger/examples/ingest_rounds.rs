//! Times `Ledger::ingest_batch` of the bench corpus (`benches/support/corpus.rs`) into a fresh
//! ledger, round after round, and prints each round and the best and median:
//! `cargo run -p ledger --release --example ingest_rounds -- [MAILS] [ROUNDS]` (20,000 and 5).
//!
//! For comparing two builds on a machine whose speed drifts (a shared VM): build this example
//! at each commit, copy the two binaries aside, and run them alternately, several rounds each
//! time, so that both see the same drift (`BENCHMARKS.md` has the loop).

use std::time::Instant;

use ledger::{Ledger, Options};

#[path = "../benches/support/corpus.rs"]
mod corpus;

/// The allocator the `ledger` binary uses, so the figures compare.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mails: usize = args.next().map_or(Ok(20_000), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(5), |a| a.parse())?;
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let dir = tempfile::tempdir()?;
        let ledger = Ledger::open(Options::new(dir.path().join("ledger")))?;
        let items = corpus::corpus(mails);
        let started = Instant::now();
        let outcomes = ledger.ingest_batch(items)?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        assert_eq!(outcomes.len(), mails, "one outcome per mail");
        println!("round {ms:.1} ms ({:.1} k/s)", mails as f64 / ms);
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    if let (Some(best), Some(median)) = (times.first(), times.get(times.len() / 2)) {
        println!("best {best:.1} ms, median {median:.1} ms over {rounds} rounds of {mails} mails");
    }
    Ok(())
}
