//! Project tasks, run as `cargo xtask …`:
//!
//! * `cargo xtask corpus --count N --seed S --format mbox|maildir|files --out PATH
//!   [--span fixed|proportional] [--lost 0.001]`: a deterministic corpus of realistic
//!   notification mails with realistic lifecycles, streamed (constant memory at any count).
//! * `cargo xtask bench --sizes 1000000,10000000 [--span proportional]`: end-to-end figures of
//!   the real binary (ingest throughput by tenth and peak memory, disk per event and its split,
//!   the open cost, query latency, rebuild and verify time and memory), one column per size,
//!   as the Markdown tables of `BENCHMARKS.md`.
//! * `cargo xtask crash --kills 40 --count 20000 [--seed 7]`: the crash-safety harness (SIGKILL
//!   during ingest, then verify, the commit log and equality with an uninterrupted reference).
//! * `cargo xtask crash-serve --kills 30 --count 5000 [--seed 7]`: SIGKILL `ledger serve` under
//!   concurrent pushes; every answered push is in the ledger once, retries never make a second
//!   event, verify is clean.
//! * `cargo xtask push-bench [--rounds 3] [--seconds 10] [--reads]`: acknowledged AutoDNS pushes
//!   per second and their latency, `ledger serve` against a Python/SQLite baseline, from 64
//!   concurrent keep-alive senders, interleaved rounds; with `--reads`, the latency of reads
//!   (HTTP and `ledger show --ctid` through the socket) while the pushes run.
//! * `cargo xtask screenshots [--out docs/screenshots]`: the dashboard in headless Chromium at
//!   desktop and phone widths, over a ledger of the fixtures.
//! * `cargo xtask page-bench [--events 1000000]`: how long the dashboard takes to render from
//!   `ledger serve` at that size.

mod bench;
mod corpus;
mod crash;
mod crash_serve;
mod dashboard;
mod mime;
mod push_bench;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

/// How a corpus is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// One mbox file.
    Mbox,
    /// A Maildir (`cur/`, `new/`, `tmp/`).
    Maildir,
    /// One `.eml` file per mail, in subdirectories of 1,000.
    Files,
}

#[derive(Subcommand)]
enum Task {
    /// Screenshots of the dashboard (main page, a search; desktop and phone widths).
    Screenshots {
        /// Where the PNGs go.
        #[arg(long, default_value = "docs/screenshots")]
        out: PathBuf,
    },
    /// How long `ledger serve` takes to render the dashboard at a size of ledger.
    PageBench {
        /// Events in the ledger (the corpus's mails).
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Timed requests of each page.
        #[arg(long, default_value_t = 30)]
        requests: usize,
        /// Where the corpus and the ledger are kept (and reused by a later run).
        #[arg(long)]
        work: Option<PathBuf>,
    },
    /// Write a deterministic corpus of notification mails.
    Corpus {
        /// How many notifications (mails) to write.
        #[arg(long, default_value_t = 10_000)]
        count: u64,
        /// The seed: the same seed and count give the same bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How to write it.
        #[arg(long, value_enum, default_value = "mbox")]
        format: Layout,
        /// Where (a file for mbox, a directory otherwise).
        #[arg(long)]
        out: PathBuf,
        /// How the corpus spans time: `fixed` (about 3.8 years whatever the count, 5 % of
        /// outgoing transfers never answered: the corpus of the figures before issue 15, byte
        /// for byte) or `proportional` (a million notifications a year, every transfer closed
        /// but for lost mails).
        #[arg(long, value_enum, default_value = "fixed")]
        span: corpus::Span,
        /// With `--span proportional`: the share of transfers' closing mails that are lost,
        /// leaving those transfers open forever.
        #[arg(long, default_value_t = corpus::DEFAULT_LOST)]
        lost: f64,
        /// A pool of this many domains the lifecycles take in turn (a large reseller holds
        /// about half a million), instead of a new domain for every lifecycle (the default, and
        /// the corpus of every figure taken before).
        #[arg(long)]
        domains: Option<u64>,
    },
    /// Run the end-to-end benchmark of the release binary and print the table.
    Bench {
        /// Corpus sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
        sizes: Vec<u64>,
        /// Scratch directory (corpora and ledgers); default: a directory under target/.
        #[arg(long)]
        work: Option<PathBuf>,
        /// How many times each query is timed (the median is reported).
        #[arg(long, default_value_t = 15)]
        repeat: usize,
        /// The corpora's span (as for `corpus`); seed 42.
        #[arg(long, value_enum, default_value = "fixed")]
        span: corpus::Span,
        /// With `--span proportional`: the share of closing mails lost (as for `corpus`).
        #[arg(long, default_value_t = corpus::DEFAULT_LOST)]
        lost: f64,
        /// A pool of this many domains (as for `corpus`).
        #[arg(long)]
        domains: Option<u64>,
    },
    /// Kill `ledger ingest` at random moments and check nothing reported committed is lost.
    Crash {
        /// How many kills.
        #[arg(long, default_value_t = 40)]
        kills: usize,
        /// Corpus size (mails).
        #[arg(long, default_value_t = 20_000)]
        count: u64,
        /// Seed of the corpus and of the kill schedule.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Scratch directory (corpus, ledgers, commit logs); default: target/crash.
        #[arg(long)]
        work: Option<PathBuf>,
    },
    /// SIGKILL `ledger serve` under concurrent pushes and check every answered push is kept once.
    CrashServe {
        /// How many kills.
        #[arg(long, default_value_t = 30)]
        kills: usize,
        /// How many distinct notifications are pushed.
        #[arg(long, default_value_t = 5_000)]
        count: u64,
        /// Seed of the kill schedule.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Push throughput: `ledger serve` and a Python/SQLite baseline under concurrent
    /// keep-alive senders pushing distinct AutoDNS notifications, in interleaved rounds.
    PushBench {
        /// Interleaved rounds (each: a ledger run, then a baseline run).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Concurrent senders, each with its own keep-alive connection.
        #[arg(long, default_value_t = 64)]
        senders: usize,
        /// How long each run sends, in seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Send this many pushes per run instead of for a duration.
        #[arg(long)]
        count: Option<u64>,
        /// Which servers to measure.
        #[arg(long, value_enum, default_value = "both")]
        servers: push_bench::Servers,
        /// Measure this `ledger` binary instead of building the release one (to compare two
        /// builds run against run).
        #[arg(long)]
        binary: Option<PathBuf>,
        /// Also read an order's history while the pushes run, over HTTP and by `ledger show
        /// --ctid` through the socket (a read every ~100 ms each), and report their latency.
        #[arg(long)]
        reads: bool,
        /// Serve a copy of this ledger instead of an empty one (a 1M-event ledger, to measure
        /// reads and pushes at that size); the copy is removed after the run.
        #[arg(long)]
        ledger_from: Option<PathBuf>,
        /// Scratch directory (kept); default: a fresh one under the system's temp dir, removed
        /// afterwards.
        #[arg(long)]
        work: Option<PathBuf>,
    },
}

/// Builds the release `ledger` binary into the current target dir (`CARGO_TARGET_DIR`, else
/// `target/`); returns the binary's path and the target dir.
pub fn build_release_ledger() -> Result<(PathBuf, PathBuf), String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("workspace root")?
        .to_path_buf();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "ledger"])
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build --release --bin ledger failed".into());
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok((target.join("release/ledger"), target))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Screenshots { out } => dashboard::screenshots(&out),
        Task::PageBench {
            events,
            requests,
            work,
        } => dashboard::page_bench(events, requests, work),
        Task::Corpus {
            count,
            seed,
            format,
            out,
            span,
            lost,
            domains,
        } => corpus::write(
            &out,
            count,
            seed,
            format,
            corpus::Shape {
                span,
                lost,
                domains,
            },
        )
        .map(|summary| eprintln!("{summary}")),
        Task::Bench {
            sizes,
            work,
            repeat,
            span,
            lost,
            domains,
        } => bench::run(&bench::Config {
            sizes,
            work,
            repeat,
            shape: corpus::Shape {
                span,
                lost,
                domains,
            },
        }),
        Task::Crash {
            kills,
            count,
            seed,
            work,
        } => crash::run(&crash::Config {
            kills,
            count,
            seed,
            work,
        }),
        Task::CrashServe { kills, count, seed } => {
            crash_serve::run(&crash_serve::Config { kills, count, seed })
        }
        Task::PushBench {
            rounds,
            senders,
            seconds,
            count,
            servers,
            binary,
            reads,
            ledger_from,
            work,
        } => std::time::Duration::try_from_secs_f64(seconds)
            .map_err(|e| format!("--seconds {seconds}: {e}"))
            .and_then(|duration| {
                push_bench::run(&push_bench::Config {
                    rounds,
                    senders,
                    duration,
                    count,
                    servers,
                    binary,
                    reads,
                    ledger_from,
                    work,
                })
            }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
