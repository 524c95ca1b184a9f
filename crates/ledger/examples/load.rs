//! Loads files (or mbox files, `*.mbox`) into a ledger in batches of 1,000 and prints the time
//! and the disk used per event: `cargo run -p ledger --release --example load -- LEDGER FILE…`
//! (`LEDGER_CACHE_MB` sets sled's cache).
//! The layout-1 fixture `crates/ledger/tests/ledgers/v1/` was made with this example as of commit d4f4183
//! (before the layout-2 writer).

use std::path::{Path, PathBuf};
use std::time::Instant;

use ledger::{Ledger, Options};
use ledger_event::Origin;

/// The allocator the `ledger` binary uses, so the figures compare.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Splits an mbox into its messages (at lines starting `From `), dropping the `From ` line.
fn mbox(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if line.starts_with(b"From ") {
            out.extend(current.take());
            current = Some(Vec::new());
        } else if let Some(message) = current.as_mut() {
            message.extend_from_slice(line);
        }
    }
    out.extend(current);
    out
}

fn du(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => du(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: load LEDGER FILE…")?);
    let mut items = Vec::new();
    for file in args {
        let bytes = std::fs::read(&file)?;
        if file.ends_with(".mbox") {
            for (i, message) in mbox(&bytes).into_iter().enumerate() {
                items.push((message, Origin::new(format!("{file}#{i}"))));
            }
        } else {
            items.push((bytes, Origin::new(file)));
        }
    }
    let n = items.len();
    let started = Instant::now();
    let mut options = Options::new(&path);
    if let Some(mb) = std::env::var("LEDGER_CACHE_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        options.cache_capacity = mb * 1024 * 1024;
    }
    let ledger = Ledger::open(options.clone())?;
    let opened = started.elapsed();
    let outcomes = ledger.ingest_batch(items)?;
    let ingested = started.elapsed() - opened;
    let stats = ledger.stats()?;
    drop(ledger);
    let bytes = du(&path);
    println!(
        "{n} items ({} outcomes) in {:.2} s: {:.0}/s; open {} ms; {} events, {} quarantined; \
         disk {bytes} bytes = {:.0} bytes/event",
        outcomes.len(),
        ingested.as_secs_f64(),
        n as f64 / ingested.as_secs_f64(),
        opened.as_millis(),
        stats.events,
        stats.quarantined,
        bytes as f64 / stats.events.max(1) as f64
    );
    let started = Instant::now();
    let ledger = Ledger::open(options)?;
    let reopened = started.elapsed();
    let started = Instant::now();
    let report = ledger.rebuild()?;
    println!(
        "reopen {} ms; rebuild {} events in {:.2} s: {:.0}/s",
        reopened.as_millis(),
        report.events,
        started.elapsed().as_secs_f64(),
        report.events as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}
