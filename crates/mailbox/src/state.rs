//! `PATH/imap-state.json`: per account and mailbox, the UIDVALIDITY seen, the last UID
//! committed into the ledger, and the UIDs committed but not yet marked on the server. It is
//! rewritten whole (a temporary file, fsync, rename, fsync of the directory) after every
//! commit, so a crash leaves either the state before or the state after, never half of one.
//!
//! ```
//! use ledger_mailbox::state::{MailboxState, StateFile};
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("imap-state.json");
//! let mut state = StateFile::load(&path)?;
//! assert_eq!(state.get("robot@127.0.0.1:143/INBOX"), None);
//! state.set("robot@127.0.0.1:143/INBOX", MailboxState { uidvalidity: 7, last_uid: 3, unmarked: vec![3] })?;
//! let again = StateFile::load(&path)?;
//! assert_eq!(again.get("robot@127.0.0.1:143/INBOX").map(|m| m.last_uid), Some(3));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The state file's name inside the ledger's directory.
pub const FILE_NAME: &str = "imap-state.json";

/// The layout of the file this build writes.
const VERSION: u32 = 1;

/// What the ledger remembers of one account's mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxState {
    /// The mailbox's UIDVALIDITY when the UIDs below were read; another value means the UIDs
    /// mean other messages now, and the mailbox is read again from the start.
    pub uidvalidity: u32,
    /// The highest UID committed into the ledger: the next run fetches the UIDs above it.
    pub last_uid: u32,
    /// UIDs committed into the ledger but not yet marked on the server (`--after seen` or
    /// `move:`): the next run marks them first.
    #[serde(default)]
    pub unmarked: Vec<u32>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Document {
    version: u32,
    mailboxes: BTreeMap<String, MailboxState>,
}

/// What went wrong with the state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// It could not be read.
    #[error("cannot read the IMAP state {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not a state file this build can read; it is left as it is.
    #[error("the IMAP state {} is damaged or of another version ({reason}); it is left as it is", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// It could not be written (the state before stays in place).
    #[error("cannot write the IMAP state {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another `ledger fetch` is running on this ledger (it holds the state's lock).
    #[error("another `ledger fetch` is running on this ledger (it holds {})", path.display())]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
}

/// The state file, loaded, with every change written through.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    document: Document,
}

impl StateFile {
    /// Loads the state at `path`; a file that is not there is an empty state.
    pub fn load(path: &Path) -> Result<StateFile, StateError> {
        let document = match std::fs::read(path) {
            Ok(bytes) => {
                let document: Document =
                    serde_json::from_slice(&bytes).map_err(|e| StateError::Damaged {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    })?;
                if document.version != VERSION {
                    return Err(StateError::Damaged {
                        path: path.to_path_buf(),
                        reason: format!("version {}, this build reads {VERSION}", document.version),
                    });
                }
                document
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Document {
                version: VERSION,
                mailboxes: BTreeMap::new(),
            },
            Err(source) => {
                return Err(StateError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Ok(StateFile {
            path: path.to_path_buf(),
            document,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What is remembered of the mailbox `key` ([`crate::MailboxUrl::state_key`]).
    pub fn get(&self, key: &str) -> Option<&MailboxState> {
        self.document.mailboxes.get(key)
    }

    /// Remembers `state` for the mailbox `key` and writes the file before it returns.
    pub fn set(&mut self, key: &str, state: MailboxState) -> Result<(), StateError> {
        self.document.mailboxes.insert(key.to_string(), state);
        self.save()
    }

    /// Writes the whole file: a temporary file beside it, fsync, rename over it, fsync of
    /// the directory.
    fn save(&self) -> Result<(), StateError> {
        let failed = |source| StateError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut text = serde_json::to_vec_pretty(&self.document)
            .map_err(|e| failed(std::io::Error::other(e)))?;
        text.push(b'\n');
        let temporary = self
            .path
            .with_extension(format!("json.tmp-{}", std::process::id()));
        let written = (|| {
            let mut file = File::create(&temporary)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&temporary, &self.path)?;
            File::open(&dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written.map_err(failed)
    }
}

/// The lock that makes one `ledger fetch` at a time use a ledger's state file
/// (`PATH/imap-state.lock`); released when dropped (or when the process ends, however).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Takes the lock beside `state` (`imap-state.json` → `imap-state.lock`), or says who holds it.
    pub fn take(state: &Path) -> Result<StateLock, StateError> {
        let path = state.with_extension("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StateError::Write {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(StateLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StateError::Busy { path }),
            Err(std::fs::TryLockError::Error(source)) => Err(StateError::Write { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_empty_and_every_set_is_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut state = StateFile::load(&path).unwrap();
        assert!(state.get("a").is_none());
        assert!(!path.exists(), "loading writes nothing");
        let first = MailboxState {
            uidvalidity: 1,
            last_uid: 5,
            unmarked: vec![4, 5],
        };
        state.set("a", first.clone()).unwrap();
        let second = MailboxState {
            uidvalidity: 9,
            last_uid: 1,
            unmarked: vec![],
        };
        state.set("b", second.clone()).unwrap();
        let again = StateFile::load(&path).unwrap();
        assert_eq!(again.get("a"), Some(&first));
        assert_eq!(again.get("b"), Some(&second));
        // Nothing is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [FILE_NAME]);
    }

    #[test]
    fn a_damaged_or_foreign_file_is_an_error_and_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "{\"version\": 1, \"mailb").unwrap();
        let error = StateFile::load(&path).unwrap_err().to_string();
        assert!(error.contains("is damaged"), "{error}");
        assert!(error.contains(FILE_NAME), "{error}");
        std::fs::write(&path, r#"{"version": 2, "mailboxes": {}}"#).unwrap();
        let error = StateFile::load(&path).unwrap_err().to_string();
        assert!(error.contains("version 2"), "{error}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            r#"{"version": 2, "mailboxes": {}}"#
        );
    }

    #[test]
    fn a_file_without_unmarked_uids_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(
            &path,
            r#"{"version": 1, "mailboxes": {"a": {"uidvalidity": 3, "last_uid": 8}}}"#,
        )
        .unwrap();
        let state = StateFile::load(&path).unwrap();
        assert_eq!(
            state.get("a"),
            Some(&MailboxState {
                uidvalidity: 3,
                last_uid: 8,
                unmarked: vec![]
            })
        );
    }

    #[test]
    fn one_lock_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let lock = StateLock::take(&path).unwrap();
        let error = StateLock::take(&path).unwrap_err().to_string();
        assert!(
            error.contains("another `ledger fetch` is running"),
            "{error}"
        );
        drop(lock);
        StateLock::take(&path).unwrap();
    }
}
