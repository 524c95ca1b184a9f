//! `serve --maildir DIR`: mail delivered into a Maildir (procmail, Dovecot's LDA, fetchmail)
//! ingested as it arrives. `DIR/new` is watched (inotify through `notify`) and rescanned every
//! 30 s (and once at start, for what arrived while the server was down); each file is
//! committed, and only then moved to `DIR/cur` with the info `:2,S` (seen), so a restart does
//! not read it again. A file that does not parse is kept as a reject by the ledger and moved
//! all the same; one that cannot be read is reported once and left in `new/`.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use ledger::Ledger;
use ledger_event::Origin;
use ledger_server::{Stop, Worker};
use notify::Watcher;

/// The worker's name: its metrics' `source` and its stderr lines' prefix.
pub const NAME: &str = "maildir";

/// How often `new/` is read whole even when the watcher said nothing.
const RESCAN: Duration = Duration::from_secs(30);
/// The same when no watcher could be set up: polling only.
const RESCAN_UNWATCHED: Duration = Duration::from_secs(1);
/// The first wait after the ledger failed to commit (doubling, up to the rescan interval).
const HOLD: Duration = Duration::from_secs(1);
/// How long the worker waits for an event before it looks whether the server is stopping.
const STEP: Duration = Duration::from_millis(250);

/// Why a directory cannot be watched as a Maildir.
#[derive(Debug, thiserror::Error)]
pub enum MaildirError {
    /// `new/` or `cur/` is missing or not a directory.
    #[error("{} is not a Maildir: {} is not a directory", dir.display(), missing.display())]
    NotAMaildir {
        /// The directory given.
        dir: PathBuf,
        /// What is missing.
        missing: PathBuf,
    },
}

/// Refuses a directory without `new/` and `cur/`, before the server starts.
pub fn check(dir: &Path) -> Result<(), MaildirError> {
    for sub in ["new", "cur"] {
        let path = dir.join(sub);
        if !path.is_dir() {
            return Err(MaildirError::NotAMaildir {
                dir: dir.to_path_buf(),
                missing: path,
            });
        }
    }
    Ok(())
}

/// A worker that ingests what is delivered into the Maildir `dir` until the server stops.
pub fn worker(ledger: Arc<Ledger>, dir: PathBuf) -> Worker {
    Worker::new(NAME, move |stop| {
        Maildir {
            new: dir.join("new"),
            cur: dir.join("cur"),
            unreadable: HashSet::new(),
        }
        .run(&ledger, &stop)
    })
}

/// The Maildir being watched.
struct Maildir {
    new: PathBuf,
    cur: PathBuf,
    /// Files of `new/` that could not be read, reported once each.
    unreadable: HashSet<OsString>,
}

impl Maildir {
    fn run(&mut self, ledger: &Ledger, stop: &Stop) {
        let (events, woken) = channel::<notify::Result<notify::Event>>();
        let watcher = notify::recommended_watcher(move |event| {
            let _ = events.send(event);
        })
        .and_then(|mut watcher| {
            watcher.watch(&self.new, notify::RecursiveMode::NonRecursive)?;
            Ok(watcher)
        });
        let (_watcher, rescan) = match watcher {
            Ok(watcher) => {
                stop.say(format!(
                    "watching {} (and reading it whole every {}s)",
                    self.new.display(),
                    RESCAN.as_secs()
                ));
                (Some(watcher), RESCAN)
            }
            Err(e) => {
                stop.error(format!(
                    "cannot watch {}: {e}; reading it every second instead",
                    self.new.display()
                ));
                (None, RESCAN_UNWATCHED)
            }
        };
        let mut rescan = rescan;
        // At once: what arrived while the server was down.
        let mut next_scan = Instant::now();
        // After the ledger failed: no scan before then, whatever the watcher says.
        let mut held_until = Instant::now();
        let mut failures = 0u32;
        loop {
            if stop.is_stopping() {
                return;
            }
            let now = Instant::now();
            if now >= next_scan {
                next_scan = Instant::now() + rescan;
                if self.scan(ledger, stop) {
                    failures = 0;
                } else {
                    failures += 1;
                    held_until = Instant::now() + super::backoff(HOLD, failures, rescan.max(HOLD));
                    next_scan = next_scan.min(held_until.max(Instant::now() + HOLD));
                }
                continue;
            }
            match woken.recv_timeout((next_scan - now).min(STEP)) {
                Ok(Ok(_)) => {
                    // Whatever it was, `new/` is read whole: drop the events queued meanwhile.
                    while woken.try_recv().is_ok() {}
                    next_scan = next_scan.min(held_until.max(Instant::now()));
                }
                Ok(Err(e)) => stop.error(format!("watching {}: {e}", self.new.display())),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    if rescan != RESCAN_UNWATCHED {
                        stop.error(format!(
                            "the watcher of {} ended; reading it every second instead",
                            self.new.display()
                        ));
                        rescan = RESCAN_UNWATCHED;
                        next_scan = next_scan.min(Instant::now() + rescan);
                    }
                    if !stop.sleep(STEP) {
                        return;
                    }
                }
            }
        }
    }

    /// Ingests every file in `new/`, oldest name first, until the server stops or the ledger
    /// fails (then the rest waits for the next scan, and this says false).
    fn scan(&mut self, ledger: &Ledger, stop: &Stop) -> bool {
        let entries = match std::fs::read_dir(&self.new) {
            Ok(entries) => entries,
            Err(e) => {
                stop.error(format!("cannot read {}: {e}", self.new.display()));
                return true;
            }
        };
        let mut names: Vec<OsString> = entries
            .filter_map(Result::ok)
            .filter(|entry| match entry.file_type() {
                Ok(t) if t.is_file() => true,
                // A link to a file, or one that leads nowhere (said when it is read); never a
                // FIFO or a device, which a read would block on.
                Ok(t) if t.is_symlink() => {
                    std::fs::metadata(entry.path()).map_or(true, |target| target.is_file())
                }
                _ => false,
            })
            .map(|entry| entry.file_name())
            .filter(|name| !name.as_bytes().starts_with(b"."))
            .collect();
        names.sort();
        self.unreadable.retain(|name| names.contains(name));
        for name in names {
            if stop.is_stopping() {
                return true;
            }
            if let Err(e) = self.deliver(ledger, &name, stop) {
                stop.error(format!(
                    "cannot commit {}: {e}; it stays in new/ and is tried again at the next \
                     scan",
                    self.new.join(&name).display()
                ));
                return false;
            }
        }
        true
    }

    /// Ingests one file of `new/` and, once committed, moves it to `cur/` marked seen.
    fn deliver(
        &mut self,
        ledger: &Ledger,
        name: &OsStr,
        stop: &Stop,
    ) -> Result<(), ledger::LedgerError> {
        let path = self.new.join(name);
        let raw = match std::fs::read(&path) {
            Ok(raw) => raw,
            // Taken by another reader of the Maildir meanwhile (a link that leads nowhere is
            // still there: unreadable).
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && std::fs::symlink_metadata(&path).is_err() =>
            {
                return Ok(());
            }
            Err(e) => {
                if self.unreadable.insert(name.to_os_string()) {
                    stop.error(format!("cannot read {}: {e}; left in new/", path.display()));
                }
                return Ok(());
            }
        };
        self.unreadable.remove(name);
        let origin = Origin::new(format!("maildir/{}", name.to_string_lossy()));
        let outcome = ledger.ingest(&raw, origin)?;
        stop.fetched(&outcome);
        let target = self.cur.join(seen(name));
        if let Err(e) = std::fs::rename(&path, &target) {
            stop.error(format!(
                "{} is committed but could not be moved to {}: {e}; it will be read again \
                 (and found a duplicate)",
                path.display(),
                target.display()
            ));
        }
        Ok(())
    }
}

/// A Maildir file name with the seen flag: `NAME:2,S`, or the flags it has with `S` added
/// (kept in ASCII order, as the convention asks).
fn seen(name: &OsStr) -> OsString {
    let bytes = name.as_bytes();
    let Some(at) = bytes.windows(3).position(|w| w == b":2,") else {
        let mut marked = bytes.to_vec();
        marked.extend_from_slice(b":2,S");
        return OsString::from_vec(marked);
    };
    let (base, flags) = bytes.split_at(at + 3);
    let mut flags = flags.to_vec();
    if !flags.contains(&b'S') {
        flags.push(b'S');
        flags.sort_unstable();
    }
    let mut marked = base.to_vec();
    marked.extend_from_slice(&flags);
    OsString::from_vec(marked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_adds_the_flag_once_in_order() {
        let s = |name: &str| seen(OsStr::new(name)).into_string().expect("UTF-8");
        assert_eq!(s("1733.M1P2.host"), "1733.M1P2.host:2,S");
        assert_eq!(s("1733.M1P2.host:2,"), "1733.M1P2.host:2,S");
        assert_eq!(s("1733.M1P2.host:2,FT"), "1733.M1P2.host:2,FST");
        assert_eq!(s("1733.M1P2.host:2,RS"), "1733.M1P2.host:2,RS");
    }
}
