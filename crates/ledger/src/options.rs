//! [`Options`]: how to open a ledger.

use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;

use crate::TrustPolicy;

/// How to open a ledger.
#[derive(Debug, Clone)]
pub struct Options {
    /// The ledger's directory (created if missing).
    pub path: PathBuf,
    /// The zone naive provider times are read in (default Europe/Berlin).
    pub source_tz: Tz,
    /// How long to wait for another process's lock before giving up (default: zero; a lock
    /// is always retried for 250 ms, the time a database closed in this process may take to
    /// release it).
    pub wait: Duration,
    /// sled's page cache of each of the two databases, in bytes (default 16 MiB; sled's own
    /// default is 1 GiB). sled holds two to three times its nominal cache: a 1M-notification
    /// ingest peaked at 191 MB with 16 MiB, 258 MB with 32 MiB and 380 MB with 64 MiB, and was
    /// no slower with the smallest (41.7 s against 44.6 s); queries read a handful of pages.
    pub cache_capacity: u64,
    /// The largest input accepted, in bytes (default 16 MiB).
    pub max_input_size: usize,
    /// Which senders a notification may come from (default: `None`, every sender). A parsed
    /// item failing the policy is quarantined as [`crate::QuarantineReason::Untrusted`].
    pub trust: Option<TrustPolicy>,
    /// How often sled's background flusher runs in each database (default 20 ms). Besides
    /// syncing, it is where sled 0.34 cleans its segments, so a bulk ingest leaves less on disk
    /// the more often it runs (`store::open_db`); each run also syncs its database's file,
    /// which a process taking many small writes pays for (a long-running server, whose writes
    /// flush the log explicitly anyway). Writes flush before they report, whatever this is.
    /// It is never off: below 1 ms it is 1 ms.
    pub background_flush: Duration,
    /// How much memory the fold of `rebuild` and `verify` may hold, in bytes, about (default
    /// 128 MiB): past it, the records folded so far are spilled to sorted runs in
    /// `PATH/fold/` and read back from there when a later event needs one, so either command
    /// runs in bounded memory whatever the size of the log (`ARCHITECTURE.md`). sled's caches
    /// and the reading threads come on top.
    pub fold_memory: usize,
}

impl Options {
    /// Options with defaults for a ledger at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Options {
            path: path.into(),
            source_tz: ledger_parser::DEFAULT_SOURCE_TZ,
            wait: Duration::ZERO,
            cache_capacity: 16 * 1024 * 1024,
            max_input_size: ledger_parser::DEFAULT_MAX_SIZE,
            trust: None,
            background_flush: Duration::from_millis(20),
            fold_memory: 128 * 1024 * 1024,
        }
    }
}
