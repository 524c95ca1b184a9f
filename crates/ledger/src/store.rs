//! Opening the two sled databases of a ledger (`log/`, `views/`), the layout marker, and the
//! key spaces each one holds.
//!
//! Since layout 2, each database keeps everything in ONE sled tree, each kind of record under
//! a one-byte key prefix (a [`Space`]), so that a write of many records of several kinds is
//! one `apply_batch` (atomic in sled, and far cheaper than a multi-tree transaction). Layout 3
//! has about two log entries per event instead of four (see [`crate::migrate`]); layout 4
//! is layout 3 with the dedup keys of AutoDNS poll messages keyed on the
//! message (issue 11); layout 5 (this build's) is layout 4 with each new event kept as an event
//! record beside where its raw input is (`codec::EVENT_RECORD`, issue 14). Layouts 1 (one tree
//! per kind), 2, 3 and 4 are migrated on open: see [`Log::open`].

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::codec::be_u64;
use crate::error::io;
use crate::projections::{Found, Loader, ProjectionId, TREE_COUNT};
use crate::{LedgerError, Options, Result};

/// The layout version this build writes and reads (layouts 1, 2 and 3 are migrated on open).
pub(crate) const LAYOUT_VERSION: u32 = 5;
/// The marker file's name and first line's prefix.
const MARKER: &str = "LEDGER";
const MARKER_PREFIX: &str = "ledger layout ";

/// Keys of the log's `meta` tree.
pub(crate) const META_LAYOUT: &[u8] = b"layout";
pub(crate) const META_NEXT_SEQ: &[u8] = b"next_seq";
/// The next seq the migration to layout 4 re-keys (its progress; removed at its end).
pub(crate) const META_REKEYED: &[u8] = b"rekeyed";
pub(crate) const META_NEXT_QUARANTINE: &[u8] = b"next_quarantine";
/// Quarantine ids below this value are in the quarantine's SHA-256 index (absent: 1, none).
/// Every write batch of this build sets it to `next_quarantine`; a ledger last written by an
/// older build (no index) has it lower, and [`Log::open`] indexes the rest.
pub(crate) const META_QUARANTINE_INDEXED: &[u8] = b"quarantine_indexed";
/// Keys of the views' `meta` tree.
pub(crate) const VIEWS_CHECKPOINT: &[u8] = b"checkpoint";
pub(crate) const VIEWS_DIRTY: &[u8] = b"dirty";
pub(crate) const VIEWS_VERSION_KEY: &[u8] = b"version";
/// The shape of the projection records this build writes (the model's: every store keeps it).
pub(crate) use crate::projections::VIEWS_VERSION;

/// A sled error while `operation`.
pub(crate) fn storage(operation: &'static str) -> impl FnOnce(sled::Error) -> LedgerError {
    move |source| LedgerError::Storage { operation, source }
}

/// A fresh name for a marker being written, before it is moved into place: unique to this
/// process and call, so concurrent creators never write into each other's draft.
fn marker_draft(path: &Path) -> PathBuf {
    static DRAFTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = DRAFTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    path.join(format!(
        "{MARKER}.{}-{n}{MARKER_DRAFT_SUFFIX}",
        std::process::id()
    ))
}
const MARKER_DRAFT_SUFFIX: &str = ".draft";

/// Whether `name` may be in a directory before it is a ledger: a marker draft (of any process:
/// a directory holding only drafts is still a new ledger, being created by someone), or the
/// trust policy ([`crate::TRUST_POLICY_FILE`]), which a person may write before the first
/// ingest so that the ledger never holds an unchecked mail.
fn precedes_a_ledger(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|n| {
        (n.starts_with(MARKER) && n.ends_with(MARKER_DRAFT_SUFFIX)) || n == crate::TRUST_POLICY_FILE
    })
}

/// True when `path` holds a ledger (its `LEDGER` marker).
pub(crate) fn is_ledger(path: &Path) -> bool {
    path.join(MARKER).is_file()
}

/// Writes the `LEDGER` marker file for this build's layout: the content is written whole to a
/// draft and synced, then renamed into place (replacing an older layout's marker after a
/// migration) and the directory synced, so a reader sees no marker, the old one or the new one,
/// never a part of one, even after a power loss. Two processes creating the same new ledger
/// both rename a draft of the same content into place, so either way the marker is complete
/// and both open the same ledger.
pub(crate) fn write_marker(path: &Path) -> Result<()> {
    let draft = marker_draft(path);
    let written = (|| {
        let mut file = std::fs::File::create(&draft)?;
        std::io::Write::write_all(
            &mut file,
            format!("{MARKER_PREFIX}{LAYOUT_VERSION}\n").as_bytes(),
        )?;
        file.sync_all()
    })();
    if let Err(source) = written {
        let _ = std::fs::remove_file(&draft);
        return Err(io("writing", &draft)(source));
    }
    let marker = path.join(MARKER);
    if let Err(source) = std::fs::rename(&draft, &marker) {
        let _ = std::fs::remove_file(&draft);
        return Err(io("renaming", &draft)(source));
    }
    std::fs::File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(io("syncing", path))
}

/// Checks (or, for a new ledger, writes) the `LEDGER` marker file and returns the layout
/// version it names. `create`: a missing or empty directory (or one holding only a trust
/// policy) becomes a ledger.
pub(crate) fn check_marker(path: &Path, create: bool) -> Result<u32> {
    let marker = path.join(MARKER);
    let not_a_ledger = |reason: String| LedgerError::NotALedger {
        path: path.to_path_buf(),
        reason,
    };
    if path.is_file() {
        return Err(not_a_ledger("it is a file, not a directory".into()));
    }
    match std::fs::read_to_string(&marker) {
        Ok(text) => {
            let version = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix(MARKER_PREFIX))
                .and_then(|v| v.trim().parse::<u32>().ok())
                .ok_or_else(|| {
                    not_a_ledger(format!("{} is not a ledger marker", marker.display()))
                })?;
            if version > LAYOUT_VERSION {
                return Err(not_a_ledger(format!(
                    "layout version {version} is newer than this build's {LAYOUT_VERSION}"
                )));
            }
            Ok(version)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !create {
                return Err(not_a_ledger("no LEDGER marker".into()));
            }
            let occupied = match std::fs::read_dir(path) {
                Ok(entries) => entries
                    .filter_map(|entry| entry.ok())
                    .any(|entry| !precedes_a_ledger(&entry.file_name())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(source) => return Err(io("listing", path)(source)),
            };
            if occupied {
                // Another process may have put its marker in place since we looked.
                if marker.exists() {
                    return check_marker(path, false);
                }
                return Err(not_a_ledger(
                    "the directory is not empty and has no LEDGER marker".into(),
                ));
            }
            std::fs::create_dir_all(path).map_err(io("creating", path))?;
            write_marker(path)?;
            check_marker(path, false)
        }
        Err(source) => Err(io("reading", &marker)(source)),
    }
}

/// How long a lock is retried even when `Options::wait` is zero.
const LOCK_GRACE: Duration = Duration::from_millis(250);

/// Opens one sled database, retrying while another process holds its lock, until
/// `options.wait` has passed. sled's background flusher runs every `options.background_flush`
/// (20 ms unless told otherwise): besides syncing, it
/// is the only place sled 0.34 cleans segments (rewrites the live pages of mostly-dead
/// segments so they can be reused, up to half of each interval); without it the files only
/// grow (on the xtask corpus: 1,300 bytes per event; every 50 ms: 1,530; every second: 1,800;
/// never: 2,900).
/// Writes still flush explicitly before reporting.
pub(crate) fn open_db(options: &Options, dir: &Path) -> Result<sled::Db> {
    let started = Instant::now();
    loop {
        let config = sled::Config::new()
            .path(dir)
            .cache_capacity(options.cache_capacity)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(Some(
                u64::try_from(options.background_flush.as_millis())
                    .unwrap_or(u64::MAX)
                    .max(1),
            ));
        match config.open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                let waited = started.elapsed();
                // A sled database dropped a moment ago in this process may release its lock
                // a little later (its background thread and epoch-deferred drops): a short
                // grace period whatever `options.wait` says.
                if waited >= options.wait.max(LOCK_GRACE) {
                    return Err(LedgerError::Locked {
                        path: options.path.clone(),
                        waited_ms: waited.as_millis() as u64,
                    });
                }
                std::thread::sleep(
                    Duration::from_millis(25).min(options.wait.max(LOCK_GRACE) - waited),
                );
            }
            // An I/O error names the database's directory (sled's own error does not).
            Err(sled::Error::Io(source)) => {
                return Err(LedgerError::Io {
                    operation: "opening the database",
                    path: dir.to_path_buf(),
                    source,
                });
            }
            Err(source) => {
                return Err(LedgerError::Storage {
                    operation: "opening the database",
                    source,
                });
            }
        }
    }
}

/// A key space: the records of one kind inside a shared sled tree, under a one-byte key
/// prefix. Keys given to and returned by its methods are without the prefix.
#[derive(Clone)]
pub(crate) struct Space {
    tree: sled::Tree,
    prefix: u8,
}

/// One entry of a [`Space`]: the key without its prefix, and the value.
pub(crate) type Entry = sled::Result<(sled::IVec, sled::IVec)>;

impl Space {
    fn new(tree: &sled::Tree, prefix: u8) -> Space {
        Space {
            tree: tree.clone(),
            prefix,
        }
    }

    /// The full key of `key` in the shared tree.
    pub(crate) fn key(&self, key: &[u8]) -> Vec<u8> {
        let mut full = Vec::with_capacity(key.len() + 1);
        full.push(self.prefix);
        full.extend_from_slice(key);
        full
    }

    fn strip(entry: sled::Result<(sled::IVec, sled::IVec)>) -> Entry {
        entry.map(|(k, v)| (sled::IVec::from(k.get(1..).unwrap_or_default()), v))
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: impl AsRef<[u8]>) -> sled::Result<Option<sled::IVec>> {
        self.tree.get(self.key(key.as_ref()))
    }

    /// True when `key` is present.
    pub(crate) fn contains_key(&self, key: impl AsRef<[u8]>) -> sled::Result<bool> {
        self.tree.contains_key(self.key(key.as_ref()))
    }

    /// Writes one record (outside a batch: meta values).
    pub(crate) fn insert(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> sled::Result<()> {
        self.tree
            .insert(self.key(key.as_ref()), value.as_ref())
            .map(|_| ())
    }

    /// Removes one record (outside a batch).
    pub(crate) fn remove(&self, key: impl AsRef<[u8]>) -> sled::Result<()> {
        self.tree.remove(self.key(key.as_ref())).map(|_| ())
    }

    /// Every entry, by key.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = Entry> + use<> {
        self.tree.scan_prefix([self.prefix]).map(Space::strip)
    }

    /// The entries whose key starts with `prefix`.
    pub(crate) fn scan_prefix(&self, prefix: &[u8]) -> impl Iterator<Item = Entry> + use<> {
        self.tree.scan_prefix(self.key(prefix)).map(Space::strip)
    }

    /// The entries with keys from `from` (inclusive) to `to` (inclusive; `None`: the end).
    pub(crate) fn range(
        &self,
        from: &[u8],
        to: Option<&[u8]>,
    ) -> impl Iterator<Item = Entry> + use<> {
        let end = match to {
            Some(to) => Bound::Included(self.key(to)),
            None => match self.prefix.checked_add(1) {
                Some(next) => Bound::Excluded(vec![next]),
                None => Bound::Unbounded,
            },
        };
        self.tree
            .range::<Vec<u8>, _>((Bound::Included(self.key(from)), end))
            .map(Space::strip)
    }

    /// How many entries (a scan).
    pub(crate) fn len(&self) -> usize {
        self.tree.scan_prefix([self.prefix]).count()
    }
}

/// The largest stored event read back (its stored form holds the notification's fields, so
/// it can outgrow its raw input).
const EVENT_LIMIT: usize = 256 * 1024 * 1024;

/// Prefixes of the log's key spaces.
mod log_prefix {
    /// Layout 2's one locator per event (seq BE → reference); migrated to `LOCATORS`.
    pub(super) const EVENTS: u8 = b'e';
    pub(super) const LOCATORS: u8 = b'E';
    pub(super) const BY_CTID: u8 = b'c';
    pub(super) const BY_DOMAIN: u8 = b'd';
    pub(super) const DEDUP: u8 = b'k';
    pub(super) const META: u8 = b'm';
    pub(super) const QUARANTINE: u8 = b'q';
    pub(super) const QUARANTINE_BY_SHA: u8 = b'h';
}

/// The name of the one tree of each database.
const LOG_TREE: &str = "log";
const VIEWS_TREE: &str = "views";
/// The trees of layout 1's log, by the prefix their records get in layout 2 (`None`: not
/// kept: layout 2 has no index of events' raw bytes; the quarantine's is built on open).
const LAYOUT1_LOG_TREES: [(&str, Option<u8>); 7] = [
    ("events", Some(log_prefix::EVENTS)),
    ("by_ctid", Some(log_prefix::BY_CTID)),
    ("by_domain", Some(log_prefix::BY_DOMAIN)),
    ("dedup", Some(log_prefix::DEDUP)),
    ("meta", Some(log_prefix::META)),
    ("raw", None),
    ("quarantine", Some(log_prefix::QUARANTINE)),
];

/// The `log` database: one tree, a key space per kind of record.
pub(crate) struct Log {
    pub(crate) db: sled::Db,
    /// The shared tree every write batch goes to.
    pub(crate) tree: sled::Tree,
    /// Where each event's stored form is: buckets of 64 references, see [`crate::locators`].
    pub(crate) locators: Space,
    /// Layout 2's locators (one entry per event), read only by the migration to layout 3.
    pub(crate) legacy_events: Space,
    /// ctid ++ 0x00 ++ seq BE → the event's de-duplication key (32 bytes; empty in layout 2).
    pub(crate) by_ctid: Space,
    pub(crate) by_domain: Space,
    /// De-duplication key → seq, for events without a ctid (an event with one keeps its key
    /// in its `by_ctid` entry).
    pub(crate) dedup: Space,
    pub(crate) meta: Space,
    pub(crate) quarantine: Space,
    /// The quarantine by the SHA-256 of its raw bytes: sha256 (32) ++ id BE → empty.
    pub(crate) quarantine_by_sha: Space,
    pub(crate) raw_dir: PathBuf,
    /// See [`Log::with_query_reader`].
    query_reader: std::sync::Mutex<Option<crate::raw::PackReader>>,
}

impl Log {
    /// Opens (creating) the log of the ledger at `options.path`. A layout-1 log (one tree per
    /// kind) is migrated to layout 2: its records are copied under their prefixes in batches,
    /// the layout key is written last and flushed, then the old trees are dropped and the
    /// marker file rewritten. A crash during the copy leaves the old trees whole and no layout
    /// key, so the next open starts the copy again. A layout-2 log is then migrated to layout 3
    /// ([`crate::migrate::layout_2_to_3`], resumable), and a layout-3 log to layout 4
    /// ([`crate::migrate::layout_3_to_4`]: the dedup keys of poll messages, resumable). Quarantine records not yet in the quarantine's
    /// SHA-256 index (written by an older build) are then indexed, see
    /// [`crate::quarantine::index_unindexed`]. Returns the log and whether it was migrated
    /// (the views are then rebuilt).
    pub(crate) fn open(options: &Options) -> Result<(Log, bool)> {
        let db = open_db(options, &options.path.join("log"))?;
        let tree = db
            .open_tree(LOG_TREE)
            .map_err(storage("opening the log tree"))?;
        let space = |prefix| Space::new(&tree, prefix);
        let log = Log {
            locators: space(log_prefix::LOCATORS),
            legacy_events: space(log_prefix::EVENTS),
            by_ctid: space(log_prefix::BY_CTID),
            by_domain: space(log_prefix::BY_DOMAIN),
            dedup: space(log_prefix::DEDUP),
            meta: space(log_prefix::META),
            quarantine: space(log_prefix::QUARANTINE),
            quarantine_by_sha: space(log_prefix::QUARANTINE_BY_SHA),
            raw_dir: options.path.join("raw"),
            query_reader: std::sync::Mutex::new(None),
            tree: tree.clone(),
            db,
        };
        let mut migrated = false;
        let version = match log
            .meta
            .get(META_LAYOUT)
            .map_err(storage("reading the layout version"))?
        {
            Some(bytes) => {
                let version = u32::from_be_bytes(bytes.as_ref().try_into().map_err(|_| {
                    LedgerError::Corrupt {
                        what: "layout version".into(),
                        reason: "not 4 bytes".into(),
                    }
                })?);
                if version > LAYOUT_VERSION {
                    return Err(LedgerError::NotALedger {
                        path: options.path.clone(),
                        reason: format!(
                            "layout version {version} is newer than this build's {LAYOUT_VERSION}"
                        ),
                    });
                }
                version
            }
            None => {
                migrated = log.migrate_layout_1()?;
                // A layout-1 log becomes layout 2 here (and 3 just below); a new one is
                // born in this build's layout.
                let version = if migrated { 2 } else { LAYOUT_VERSION };
                log.set_layout(version)?;
                if migrated {
                    for (name, _) in LAYOUT1_LOG_TREES {
                        log.db
                            .drop_tree(name)
                            .map_err(storage("dropping a layout-1 tree"))?;
                    }
                    log.db.flush().map_err(storage("flushing the log"))?;
                }
                version
            }
        };
        let mut version = version;
        if version == 2 {
            // The marker says 4 before anything moves: a layout-2 (or 3) build reads it and
            // refuses the ledger, so none writes layout-2 records into a log half way to 3. The
            // meta key says 2 until the migration is done, so this build resumes it.
            write_marker(&options.path)?;
            crate::migrate::layout_2_to_3(&log)?;
            log.set_layout(3)?;
            version = 3;
        }
        if version == 3 {
            // The same for the re-keying of poll messages (issue 11): a layout-3 build would
            // look up and write the keys of the whole notification.
            write_marker(&options.path)?;
            crate::migrate::layout_3_to_4(&log)?;
            log.set_layout(4)?;
            log.meta
                .remove(META_REKEYED)
                .map_err(storage("clearing the re-keying progress"))?;
            version = 4;
        }
        if version == 4 {
            // Layout 5 (issue 14) writes each new event's record as an event record (the
            // stored event, version 2, beside where its raw input is: `codec::EVENT_RECORD`)
            // instead of a version-1 event carrying the place itself. Nothing old is rewritten;
            // the marker and the meta key say 5 before the first such record is written, so a
            // layout-4 build refuses the ledger instead of failing on records it cannot read.
            write_marker(&options.path)?;
            log.set_layout(5)?;
        }
        crate::quarantine::index_unindexed(&log)?;
        Ok((log, migrated))
    }

    /// Writes the layout version into `meta` and flushes.
    fn set_layout(&self, version: u32) -> Result<()> {
        self.meta
            .insert(META_LAYOUT, version.to_be_bytes())
            .map_err(storage("writing the layout version"))?;
        self.db.flush().map_err(storage("flushing the log"))?;
        Ok(())
    }

    /// Copies a layout-1 log's trees (if any) into the shared tree. Returns whether there was
    /// one. Stored events are copied as they are (their own version is kept).
    fn migrate_layout_1(&self) -> Result<bool> {
        let names = self.db.tree_names();
        let present = |name: &str| names.iter().any(|n| n.as_ref() == name.as_bytes());
        if !present("meta") {
            return Ok(false);
        }
        self.tree
            .clear()
            .map_err(storage("clearing a cut-short migration"))?;
        for (name, prefix) in LAYOUT1_LOG_TREES {
            let Some(prefix) = prefix.filter(|_| present(name)) else {
                continue;
            };
            let old = self
                .db
                .open_tree(name)
                .map_err(storage("opening a layout-1 tree"))?;
            let mut batch = sled::Batch::default();
            let mut in_batch = 0;
            for entry in old.iter() {
                let (key, value) = entry.map_err(storage("reading a layout-1 tree"))?;
                if name == "meta" && key.as_ref() == META_LAYOUT {
                    continue;
                }
                batch.insert(Space::new(&self.tree, prefix).key(&key), value);
                in_batch += 1;
                if in_batch == 10_000 {
                    self.tree
                        .apply_batch(std::mem::take(&mut batch))
                        .map_err(storage("migrating the log"))?;
                    in_batch = 0;
                }
            }
            self.tree
                .apply_batch(batch)
                .map_err(storage("migrating the log"))?;
        }
        Ok(true)
    }

    /// A reader of the stored events in the packs, in file order.
    pub(crate) fn event_reader(&self) -> Result<crate::raw::PackReader> {
        crate::raw::PackReader::new(&self.raw_dir, EVENT_LIMIT)
    }

    /// Runs `read` with the reader for scattered reads of stored events (queries), kept across
    /// calls (its zstd context, open pack and last block are reused).
    pub(crate) fn with_query_reader<T>(
        &self,
        read: impl FnOnce(&mut crate::raw::PackReader) -> Result<T>,
    ) -> Result<T> {
        // A panic while reading leaves at worst a stale window or block cache, which the next
        // read checks against its reference.
        let mut slot = self
            .query_reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            *slot = Some(crate::raw::PackReader::scattered(
                &self.raw_dir,
                EVENT_LIMIT,
            )?);
        }
        read(slot.as_mut().expect("the reader was made just above"))
    }

    /// The seq the next event gets (seqs start at 1).
    pub(crate) fn next_seq(&self) -> Result<u64> {
        self.meta_counter(META_NEXT_SEQ)
    }

    /// A counter of `meta` (1 when unset).
    pub(crate) fn meta_counter(&self, key: &[u8]) -> Result<u64> {
        match self.meta.get(key).map_err(storage("reading log meta"))? {
            Some(bytes) => be_u64(&bytes, "log meta counter"),
            None => Ok(1),
        }
    }
}

/// The prefix of the views' meta space (projections use their [`ProjectionId::id`]).
const VIEWS_META: u8 = b'm';

/// The `views` database: one tree, a key space per projection and one for meta.
pub(crate) struct Views {
    pub(crate) db: sled::Db,
    /// The shared tree every write batch goes to.
    pub(crate) tree: sled::Tree,
    /// The projections' key spaces, by [`ProjectionId::index`] (prefix: [`ProjectionId::id`]).
    pub(crate) trees: [Space; TREE_COUNT],
    pub(crate) meta: Space,
    /// Where `rebuild` and `verify` spill their fold (`PATH/fold/`, see `spill.rs`).
    pub(crate) fold_dir: PathBuf,
    /// The memory their fold may hold ([`Options::fold_memory`]).
    pub(crate) fold_memory: usize,
    /// True while this process has set the dirty marker (see [`Views::mark_dirty`]).
    marked: std::sync::atomic::AtomicBool,
}

impl Views {
    /// Opens (creating) the views of the ledger at `options.path`. Trees of layout 1 (one per
    /// projection) are dropped: the views are derived, and rebuilt when no checkpoint is set.
    pub(crate) fn open(options: &Options) -> Result<Views> {
        let db = open_db(options, &options.path.join("views"))?;
        let tree = db
            .open_tree(VIEWS_TREE)
            .map_err(storage("opening the views tree"))?;
        let mut dropped = false;
        for name in db.tree_names() {
            if name.as_ref() != VIEWS_TREE.as_bytes() && name.as_ref() != b"__sled__default" {
                db.drop_tree(name)
                    .map_err(storage("dropping a layout-1 views tree"))?;
                dropped = true;
            }
        }
        if dropped {
            tree.clear().map_err(storage("clearing the views"))?;
            db.flush().map_err(storage("flushing the views"))?;
        }
        let trees: [Space; TREE_COUNT] = ProjectionId::ALL.map(|id| Space::new(&tree, id.id()));
        let meta = Space::new(&tree, VIEWS_META);
        Ok(Views {
            db,
            tree,
            trees,
            meta,
            fold_dir: options.path.join("fold"),
            fold_memory: options.fold_memory,
            marked: std::sync::atomic::AtomicBool::new(false),
        })
    }
    /// The last seq folded; `None` when the views were never built (or a rebuild was cut short).
    pub(crate) fn checkpoint(&self) -> Result<Option<u64>> {
        self.meta
            .get(VIEWS_CHECKPOINT)
            .map_err(storage("reading the views checkpoint"))?
            .map(|b| be_u64(&b, "views checkpoint"))
            .transpose()
    }

    /// True when the views were written by a build with other projection records (version 1
    /// had no version key).
    pub(crate) fn is_outdated(&self) -> Result<bool> {
        let stored = self
            .meta
            .get(VIEWS_VERSION_KEY)
            .map_err(storage("reading the views version"))?;
        Ok(stored.as_deref() != Some(&VIEWS_VERSION.to_be_bytes()[..]))
    }

    /// Sets the dirty marker (and flushes it) once per writing session: from the first write
    /// until the ledger is closed ([`Views::clear_dirty`]), the views may be behind the log.
    /// No other process can open the views meanwhile (sled's lock), so the marker only
    /// matters after a crash, when it sends `open_views` through a full open and catch-up.
    /// This spares a views flush per write; the views themselves are not flushed per write
    /// either (they are derived: a crash loses at most the tail the catch-up redoes).
    pub(crate) fn mark_dirty(&self, head: u64) -> Result<()> {
        use std::sync::atomic::Ordering;
        if !self.marked.load(Ordering::Acquire) {
            self.meta
                .insert(VIEWS_DIRTY, head.to_be_bytes())
                .map_err(storage("marking the views dirty"))?;
            self.db.flush().map_err(storage("flushing the views"))?;
            self.marked.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Flushes the views, then removes the dirty marker (the views are caught up).
    pub(crate) fn clear_dirty(&self) -> Result<()> {
        self.db.flush().map_err(storage("flushing the views"))?;
        if self.is_dirty()? {
            self.meta
                .remove(VIEWS_DIRTY)
                .map_err(storage("clearing the views marker"))?;
            self.db.flush().map_err(storage("flushing the views"))?;
        }
        self.marked
            .store(false, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// True when a writer marked the views as behind the log and did not finish.
    pub(crate) fn is_dirty(&self) -> Result<bool> {
        self.meta
            .contains_key(VIEWS_DIRTY)
            .map_err(storage("reading the views marker"))
    }

    /// The key space of a projection.
    pub(crate) fn tree(&self, id: ProjectionId) -> &Space {
        &self.trees[id.index()]
    }
}

/// The sled views as the [`Loader`] of a working set: one `get` per key.
impl Loader for &Views {
    fn read(&mut self, tree: ProjectionId, keys: &[Vec<u8>], found: &mut Found<'_>) -> Result<()> {
        let space = self.tree(tree);
        for key in keys {
            if let Some(bytes) = space
                .get(key)
                .map_err(storage("reading a projection record"))?
            {
                found(key, &bytes)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Creators racing on a new directory all see one complete marker and leave no draft
    /// (CI once caught a reader between the marker's truncation and its write).
    #[test]
    fn concurrent_creators_agree_on_one_marker() {
        for _ in 0..50 {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let path = dir.path().join("ledger");
            let results: Vec<Result<u32>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..8)
                    .map(|_| scope.spawn(|| check_marker(&path, true)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("no panic"))
                    .collect()
            });
            for result in results {
                assert_eq!(
                    result.expect("every creator opens the ledger"),
                    LAYOUT_VERSION
                );
            }
            let names: Vec<_> = std::fs::read_dir(&path)
                .expect("the ledger directory")
                .map(|e| e.expect("an entry").file_name())
                .collect();
            assert_eq!(names, vec![std::ffi::OsString::from(MARKER)]);
        }
    }

    #[test]
    fn a_directory_holding_only_a_trust_policy_becomes_a_ledger_around_it() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let policy = dir.path().join(crate::TRUST_POLICY_FILE);
        std::fs::write(&policy, "sender autodns.example\n").expect("a policy");
        assert!(!is_ledger(dir.path()));
        assert_eq!(
            check_marker(dir.path(), true).expect("created"),
            LAYOUT_VERSION
        );
        assert!(is_ledger(dir.path()));
        assert_eq!(
            std::fs::read_to_string(&policy).expect("the policy is kept"),
            "sender autodns.example\n"
        );
    }

    #[test]
    fn a_directory_with_other_files_is_not_made_a_ledger() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("notes.txt"), "mine").expect("a file");
        let err = check_marker(dir.path(), true).expect_err("refused");
        assert!(err.to_string().contains("not empty"), "{err}");
        assert!(!dir.path().join(MARKER).exists());
    }
}
