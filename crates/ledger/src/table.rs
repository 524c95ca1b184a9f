//! [`Table`]: the in-memory working set of one projection tree while events are folded.
//!
//! A fold reads an entity's record through the table (from memory, else from the stored tree
//! when there is one), changes it in place, and the table's changes are written back in one
//! go: inside the views transaction of an ingest, in big batches during a rebuild, or compared
//! with the stored tree by `verify`.

use std::fmt::Debug;

use rustc_hash::FxHashMap;

use crate::codec::{decode, encode};
use crate::projections::ProjectionId;
use crate::{LedgerError, Result};

/// Changed entries of a tree, sorted by key: `None` removes the key.
pub(crate) type Changes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// A record a projection keeps per entity.
pub(crate) trait Record:
    bincode::Encode + bincode::Decode<()> + Clone + Debug + PartialEq
{
}

impl<R> Record for R where R: bincode::Encode + bincode::Decode<()> + Clone + Debug + PartialEq {}

/// The working set of one projection tree.
pub(crate) struct Table<R> {
    id: ProjectionId,
    base: Option<crate::store::Space>,
    /// FxHash: keys are the ledger's own (ctids, domains, seqs), and a rebuild hashes each
    /// a few times per event (SipHash was 4 % of a rebuild).
    entries: FxHashMap<Vec<u8>, Option<R>>,
    /// The stored bytes of the records loaded from `base`, so an unchanged record is not
    /// written back.
    stored: FxHashMap<Vec<u8>, sled::IVec>,
}

impl<R: Record> Table<R> {
    /// An empty working set over `base` (the stored tree), or over nothing (a fresh fold).
    pub(crate) fn new(id: ProjectionId, base: Option<crate::store::Space>) -> Self {
        Table {
            id,
            base,
            entries: FxHashMap::default(),
            stored: FxHashMap::default(),
        }
    }

    /// The record of an entity (`None`: no record yet), loaded on first use, to change in place.
    pub(crate) fn entry(&mut self, key: &[u8]) -> Result<&mut Option<R>> {
        if !self.entries.contains_key(key) {
            let loaded = match &self.base {
                Some(tree) => match tree.get(key).map_err(|source| LedgerError::Storage {
                    operation: "reading a projection record",
                    source,
                })? {
                    Some(bytes) => {
                        let record = decode::<R>(&bytes, self.id.name())?;
                        self.stored.insert(key.to_vec(), bytes);
                        Some(record)
                    }
                    None => None,
                },
                None => None,
            };
            self.entries.insert(key.to_vec(), loaded);
        }
        Ok(self
            .entries
            .get_mut(key)
            .expect("the entry was inserted just above"))
    }

    /// How many entities the working set holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every changed entry, encoded and sorted by key: `None` removes the key. An entry that
    /// is as it was stored (or was not stored and still is not) is left out: a fold looks up
    /// more records than it changes (a close of a transfer that was never open, say), and each
    /// write costs sled as much as a change.
    pub(crate) fn into_encoded(self) -> Result<Changes> {
        let mut out = Vec::with_capacity(self.entries.len());
        for (key, value) in self.entries {
            let stored = self.stored.get(&key);
            let bytes = match value {
                Some(record) => Some(encode(&record, self.id.name())?),
                None if stored.is_none() => continue,
                None => None,
            };
            if let (Some(new), Some(old)) = (&bytes, stored)
                && new.as_slice() == old.as_ref()
            {
                continue;
            }
            out.push((key, bytes));
        }
        // Keys are unique: an unstable sort gives the same order.
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}
