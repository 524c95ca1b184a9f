//! Opening the two sled databases of a ledger (`log/`, `views/`), the layout marker, and the
//! trees each one holds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::codec::be_u64;
use crate::projections::{TREE_COUNT, TREES};
use crate::{LedgerError, Options, Result};

/// The layout version this build writes and reads.
pub(crate) const LAYOUT_VERSION: u32 = 1;
/// The marker file's name and first line's prefix.
const MARKER: &str = "LEDGER";
const MARKER_PREFIX: &str = "ledger layout ";

/// Keys of the log's `meta` tree.
pub(crate) const META_LAYOUT: &[u8] = b"layout";
pub(crate) const META_NEXT_SEQ: &[u8] = b"next_seq";
pub(crate) const META_NEXT_QUARANTINE: &[u8] = b"next_quarantine";
/// Keys of the views' `meta` tree.
pub(crate) const VIEWS_CHECKPOINT: &[u8] = b"checkpoint";
pub(crate) const VIEWS_DIRTY: &[u8] = b"dirty";
pub(crate) const VIEWS_VERSION_KEY: &[u8] = b"version";
/// The shape of the projection records this build writes; views of another shape are rebuilt
/// from the log on open (they are derived data).
pub(crate) const VIEWS_VERSION: u32 = 2;

/// A sled error while `operation`.
pub(crate) fn storage(operation: &'static str) -> impl FnOnce(sled::Error) -> LedgerError {
    move |source| LedgerError::Storage { operation, source }
}

/// Checks (or, for a new ledger, writes) the `LEDGER` marker file. `create`: a missing or
/// empty directory becomes a ledger.
pub(crate) fn check_marker(path: &Path, create: bool) -> Result<()> {
    let marker = path.join(MARKER);
    let not_a_ledger = |reason: String| LedgerError::NotALedger {
        path: path.to_path_buf(),
        reason,
    };
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
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !create {
                return Err(not_a_ledger("no LEDGER marker".into()));
            }
            let occupied = match std::fs::read_dir(path) {
                Ok(mut entries) => entries.next().is_some(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(source) => {
                    return Err(LedgerError::Io {
                        operation: "listing",
                        path: path.into(),
                        source,
                    });
                }
            };
            if occupied {
                return Err(not_a_ledger(
                    "the directory is not empty and has no LEDGER marker".into(),
                ));
            }
            std::fs::create_dir_all(path).map_err(|source| LedgerError::Io {
                operation: "creating",
                path: path.into(),
                source,
            })?;
            std::fs::write(&marker, format!("{MARKER_PREFIX}{LAYOUT_VERSION}\n")).map_err(
                |source| LedgerError::Io {
                    operation: "writing",
                    path: marker.clone(),
                    source,
                },
            )
        }
        Err(source) => Err(LedgerError::Io {
            operation: "reading",
            path: marker,
            source,
        }),
    }
}

/// Opens one sled database, retrying while another process holds its lock, until
/// `options.wait` has passed.
pub(crate) fn open_db(options: &Options, dir: &Path) -> Result<sled::Db> {
    let started = Instant::now();
    loop {
        let config = sled::Config::new()
            .path(dir)
            .cache_capacity(options.cache_capacity)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(None);
        match config.open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                let waited = started.elapsed();
                if waited >= options.wait {
                    return Err(LedgerError::Locked {
                        path: options.path.clone(),
                        waited_ms: waited.as_millis() as u64,
                    });
                }
                std::thread::sleep(Duration::from_millis(75).min(options.wait - waited));
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

/// The `log` database and its trees.
pub(crate) struct Log {
    pub(crate) db: sled::Db,
    pub(crate) events: sled::Tree,
    pub(crate) by_ctid: sled::Tree,
    pub(crate) by_domain: sled::Tree,
    pub(crate) dedup: sled::Tree,
    pub(crate) meta: sled::Tree,
    pub(crate) raw: sled::Tree,
    pub(crate) quarantine: sled::Tree,
    pub(crate) raw_dir: PathBuf,
}

impl Log {
    /// Opens (creating) the log of the ledger at `options.path`.
    pub(crate) fn open(options: &Options) -> Result<Log> {
        let db = open_db(options, &options.path.join("log"))?;
        let tree = |name: &str| db.open_tree(name).map_err(storage("opening a log tree"));
        let log = Log {
            events: tree("events")?,
            by_ctid: tree("by_ctid")?,
            by_domain: tree("by_domain")?,
            dedup: tree("dedup")?,
            meta: tree("meta")?,
            raw: tree("raw")?,
            quarantine: tree("quarantine")?,
            raw_dir: options.path.join("raw"),
            db,
        };
        match log
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
            }
            None => {
                log.meta
                    .insert(META_LAYOUT, &LAYOUT_VERSION.to_be_bytes())
                    .map_err(storage("writing the layout version"))?;
                log.db.flush().map_err(storage("flushing the log"))?;
            }
        }
        Ok(log)
    }

    /// The trees of the ingest transaction, in this order: events, by_ctid, by_domain, dedup,
    /// meta, raw, quarantine.
    pub(crate) fn write_trees(&self) -> [sled::Tree; 7] {
        [
            self.events.clone(),
            self.by_ctid.clone(),
            self.by_domain.clone(),
            self.dedup.clone(),
            self.meta.clone(),
            self.raw.clone(),
            self.quarantine.clone(),
        ]
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

/// The `views` database and its trees.
pub(crate) struct Views {
    pub(crate) db: sled::Db,
    pub(crate) trees: [sled::Tree; TREE_COUNT],
    pub(crate) meta: sled::Tree,
}

impl Views {
    /// Opens (creating) the views of the ledger at `options.path`.
    pub(crate) fn open(options: &Options) -> Result<Views> {
        let db = open_db(options, &options.path.join("views"))?;
        let tree = |name: &str| db.open_tree(name).map_err(storage("opening a views tree"));
        let mut trees = Vec::with_capacity(TREE_COUNT);
        for name in TREES {
            trees.push(tree(name)?);
        }
        let trees: [sled::Tree; TREE_COUNT] = trees
            .try_into()
            .unwrap_or_else(|_| unreachable!("one tree per projection name"));
        let meta = tree("meta")?;
        Ok(Views { db, trees, meta })
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

    /// True when a writer marked the views as behind the log and did not finish.
    pub(crate) fn is_dirty(&self) -> Result<bool> {
        self.meta
            .contains_key(VIEWS_DIRTY)
            .map_err(storage("reading the views marker"))
    }

    /// The tree of a projection by name.
    pub(crate) fn tree(&self, name: &str) -> &sled::Tree {
        let index = TREES
            .iter()
            .position(|t| *t == name)
            .expect("a known projection tree name");
        &self.trees[index]
    }
}
