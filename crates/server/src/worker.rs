//! Workers: fetchers that run inside the server, each on its own thread, next to the
//! listeners (the AutoDNS poll, a Maildir, a mailbox). The server starts them once its
//! listeners are bound, tells them to stop when SIGTERM or SIGINT arrives, and joins them
//! before [`crate::run`] returns.
//!
//! A worker ingests with [`ledger::Ledger::ingest`] (the group commit: the follow feed and
//! `/metrics` see its commits like a push's) and reports through its [`Stop`]: what it fetched
//! (`ledger_fetched_total{source,outcome}`) and every error
//! (`ledger_fetch_errors_total{source}`, and a line on stderr). A worker never panics or ends
//! the server on a bad message or a network error: it reports, backs off and retries.

use std::fmt::Display;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use ledger::IngestOutcome;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio::sync::watch;

/// A fetcher the server runs on its own thread: `run` is called once with the worker's
/// [`Stop`] and should return soon after [`Stop::is_stopping`] turns true.
pub struct Worker {
    /// Its name: the `source` label of its metrics and the prefix of its stderr lines
    /// (`poll-autodns`, `maildir`, `imap`).
    pub name: String,
    /// What it does, until told to stop.
    pub run: Box<dyn FnOnce(Stop) + Send>,
}

impl Worker {
    /// A worker named `name` that runs `run`.
    pub fn new(name: impl Into<String>, run: impl FnOnce(Stop) + Send + 'static) -> Worker {
        Worker {
            name: name.into(),
            run: Box::new(run),
        }
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("name", &self.name).finish()
    }
}

/// A worker's handle on the server: whether the server is stopping (SIGTERM, SIGINT), a sleep
/// that ends early when it does, and where the worker reports what it fetched and what failed.
/// Clonable; every clone sees the same stop.
#[derive(Clone)]
pub struct Stop {
    shared: Arc<Shared>,
    source: String,
    metrics: WorkerMetrics,
}

struct Shared {
    stopping: Mutex<bool>,
    changed: Condvar,
    /// The same flag, for async code (`Stop::stopped`).
    watch: watch::Sender<bool>,
}

impl Stop {
    /// Whether the server is stopping: the worker should finish what it holds (commit, then
    /// acknowledge) and return.
    pub fn is_stopping(&self) -> bool {
        *self.lock()
    }

    /// Sleeps `duration`, or less when the server stops meanwhile. True when the whole
    /// duration passed, false when the server is stopping.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut stopping = self.lock();
        loop {
            if *stopping {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            stopping = match self.shared.changed.wait_timeout(stopping, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Returns once the server is stopping (for a worker that runs its own async runtime).
    pub async fn stopped(&self) {
        let mut receiver = self.shared.watch.subscribe();
        let _ = receiver.wait_for(|stopping| *stopping).await;
    }

    /// The worker's name, as its metrics and stderr lines give it.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Counts what the ledger made of one fetched item (`ledger_fetched_total{source,outcome}`).
    pub fn fetched(&self, outcome: &IngestOutcome) {
        let outcome = match outcome {
            IngestOutcome::Appended { .. } => "ingested",
            IngestOutcome::Duplicate { .. } => "duplicate",
            IngestOutcome::Rejected { .. } => "rejected",
        };
        self.metrics
            .fetched
            .get_or_create(&FetchLabel {
                source: self.source.clone(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Reports an error the worker met and goes on from (a network error, a file it cannot
    /// read): one line on stderr, `SOURCE: MESSAGE`, and `ledger_fetch_errors_total{source}`.
    pub fn error(&self, message: impl Display) {
        self.metrics
            .errors
            .get_or_create(&SourceLabel {
                source: self.source.clone(),
            })
            .inc();
        self.say(message);
    }

    /// One line on stderr, `SOURCE: MESSAGE`, counted nowhere (a worker's start, its end).
    pub fn say(&self, message: impl Display) {
        let _ = writeln!(std::io::stderr().lock(), "{}: {message}", self.source);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, bool> {
        match self.shared.stopping.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stop")
            .field("source", &self.source)
            .field("stopping", &self.is_stopping())
            .finish()
    }
}

/// What the server keeps to stop its workers: the shared flag.
pub(crate) struct StopSwitch {
    shared: Arc<Shared>,
}

impl StopSwitch {
    pub(crate) fn new() -> StopSwitch {
        StopSwitch {
            shared: Arc::new(Shared {
                stopping: Mutex::new(false),
                changed: Condvar::new(),
                watch: watch::channel(false).0,
            }),
        }
    }

    /// The handle of the worker named `source`.
    pub(crate) fn handle(&self, source: &str, metrics: &WorkerMetrics) -> Stop {
        metrics.register(source);
        Stop {
            shared: self.shared.clone(),
            source: source.to_string(),
            metrics: metrics.clone(),
        }
    }

    /// Tells every worker to stop.
    pub(crate) fn stop(&self) {
        let mut stopping = match self.shared.stopping.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *stopping = true;
        self.shared.changed.notify_all();
        drop(stopping);
        self.shared.watch.send_replace(true);
    }
}

/// The workers' counters, kept between scrapes.
#[derive(Clone, Default)]
pub(crate) struct WorkerMetrics {
    pub(crate) fetched: Family<FetchLabel, Counter>,
    pub(crate) errors: Family<SourceLabel, Counter>,
}

impl WorkerMetrics {
    /// Makes a worker's counters show (at 0) from its start.
    fn register(&self, source: &str) {
        for outcome in ["ingested", "duplicate", "rejected"] {
            let _ = self.fetched.get_or_create(&FetchLabel {
                source: source.to_string(),
                outcome: outcome.to_string(),
            });
        }
        let _ = self.errors.get_or_create(&SourceLabel {
            source: source.to_string(),
        });
    }
}

/// `source="poll-autodns"|…, outcome="ingested"|"duplicate"|"rejected"`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct FetchLabel {
    source: String,
    outcome: String,
}

/// `source="poll-autodns"|…`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct SourceLabel {
    source: String,
}

/// Starts each worker on its own thread (named `ledger-NAME`). A thread that cannot be
/// started is said on stderr and counted as the worker's error; the others run.
pub(crate) fn start(
    workers: Vec<Worker>,
    switch: &StopSwitch,
    metrics: &WorkerMetrics,
) -> Vec<(String, std::thread::JoinHandle<()>)> {
    let mut threads = Vec::new();
    for worker in workers {
        let stop = switch.handle(&worker.name, metrics);
        let failed = stop.clone();
        let run = worker.run;
        match std::thread::Builder::new()
            .name(format!("ledger-{}", worker.name))
            .spawn(move || run(stop))
        {
            Ok(handle) => threads.push((worker.name, handle)),
            Err(e) => failed.error(format!("cannot start its thread: {e}")),
        }
    }
    threads
}

/// Waits for every worker's thread to end; one that panicked is said on stderr.
pub(crate) fn join(threads: Vec<(String, std::thread::JoinHandle<()>)>) {
    for (name, handle) in threads {
        if handle.join().is_err() {
            let _ = writeln!(
                std::io::stderr().lock(),
                "{name}: the worker panicked (see above); the server went on without it"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_ends_early_when_stopped() {
        let switch = StopSwitch::new();
        let metrics = WorkerMetrics::default();
        let stop = switch.handle("test", &metrics);
        assert!(stop.sleep(Duration::from_millis(1)));
        let sleeper = stop.clone();
        let started = Instant::now();
        let thread = std::thread::spawn(move || sleeper.sleep(Duration::from_secs(60)));
        std::thread::sleep(Duration::from_millis(50));
        switch.stop();
        assert!(!thread.join().expect("the sleeper"));
        assert!(started.elapsed() < Duration::from_secs(30));
        assert!(stop.is_stopping());
        assert!(!stop.sleep(Duration::from_secs(60)));
    }
}
