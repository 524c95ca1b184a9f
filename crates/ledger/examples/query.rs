//! Times the everyday reads of an existing ledger: opening (the log's sled database alone,
//! the whole ledger, the views alone), `events_by_ctid`, `pending_transfers` now and in the
//! past: `cargo run -p ledger --release --example query -- LEDGER [PAST-RFC3339]`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ledger::{Ledger, Options};

/// The allocator the `ledger` binary uses, so the figures compare.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    println!("{what}: {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = std::path::PathBuf::from(args.next().ok_or("usage: query LEDGER [PAST]")?);
    let past: DateTime<Utc> = match args.next() {
        Some(text) => DateTime::parse_from_rfc3339(&text)?.with_timezone(&Utc),
        None => Utc::now() - chrono::Duration::days(365),
    };
    timed("sled::open of log/", || {
        sled::Config::new().path(path.join("log")).open()
    })?;
    let views = timed("Ledger::open_views", || {
        Ledger::open_views(Options::new(&path))
    })?;
    let pending = timed("pending_transfers(now), views only", || {
        views.pending_transfers(Utc::now())
    })?;
    println!("  {} pending now", pending.len());
    drop(views);
    let ledger = timed("Ledger::open", || Ledger::open(Options::new(&path)))?;
    let stats = ledger.stats()?;
    println!("  {} events", stats.events);
    let ctids: Vec<String> = ledger
        .export(stats.events.saturating_sub(50_000).max(1))
        .filter_map(|e| e.ok().and_then(|e| e.ctid))
        .step_by(97)
        .take(1_000)
        .collect();
    let started = Instant::now();
    let mut found = 0;
    for ctid in &ctids {
        found += ledger.events_by_ctid(ctid)?.len();
    }
    let each = started.elapsed() / ctids.len().max(1) as u32;
    println!(
        "events_by_ctid: {:.1} µs each ({} ctids, {found} events)",
        each.as_secs_f64() * 1e6,
        ctids.len()
    );
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        ledger.pending_transfers(Utc::now())?;
        best = best.min(started.elapsed());
    }
    println!(
        "pending_transfers(now): {:.2} ms (best of 5)",
        best.as_secs_f64() * 1e3
    );
    let then = timed(&format!("pending_transfers({past})"), || {
        ledger.pending_transfers(past)
    })?;
    println!("  {} pending then", then.len());
    Ok(())
}
