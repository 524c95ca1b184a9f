//! The in-memory working sets of the projection trees while events are folded: [`Table`] (a
//! record per entity), [`KeySet`] (an index of bare keys) and [`Index`] (an index whose
//! entries carry a record).
//!
//! They know no store. Before a fold over stored views, the engine loads every record the
//! fold will read ([`Loadable`]; see
//! [`crate::projections::Working::load`]); the fold then reads and changes them in memory
//! only, and cannot fail. The changes are written back in one go: inside the views
//! transaction of an ingest, in big batches during a rebuild, or compared with the stored
//! tree by `verify`.

use std::fmt::Debug;

use rustc_hash::FxHashMap;

use super::ProjectionId;
use crate::Result;
use crate::codec::{decode, encode};

/// Changed entries of a tree, sorted by key: `None` removes the key.
pub(crate) type Changes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// A record a projection keeps per entity.
pub(crate) trait Record:
    bincode::Encode + bincode::Decode<()> + Clone + Debug + PartialEq
{
}

impl<R> Record for R where R: bincode::Encode + bincode::Decode<()> + Clone + Debug + PartialEq {}

/// What a working set stands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    /// Nothing is stored (a fresh fold: rebuild, verify): a record not in memory has none.
    Fresh,
    /// Stored views: every record a fold reads was loaded before it.
    Stored,
}

/// The working set of one projection tree.
pub(crate) struct Table<R> {
    id: ProjectionId,
    base: Base,
    /// FxHash: keys are the ledger's own (ctids, domains, seqs), and a rebuild hashes each
    /// a few times per event (SipHash was 4 % of a rebuild).
    entries: FxHashMap<Vec<u8>, Option<R>>,
    /// The stored bytes of the records loaded, so an unchanged record is not written back.
    stored: FxHashMap<Vec<u8>, Box<[u8]>>,
}

impl<R: Record> Table<R> {
    /// An empty working set of the tree `id` over `base`.
    pub(crate) fn new(id: ProjectionId, base: Base) -> Self {
        Table {
            id,
            base,
            entries: FxHashMap::default(),
            stored: FxHashMap::default(),
        }
    }

    /// The record of `key` if it is in memory and exists.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&R> {
        self.entries.get(key).and_then(Option::as_ref)
    }

    /// The record of an entity (`None`: no record yet), to change in place. Over stored
    /// views, the key must have been loaded (a fold reading a key its projection did not
    /// declare is a bug, caught by a debug assertion; without it the key reads as absent).
    pub(crate) fn entry(&mut self, key: &[u8]) -> &mut Option<R> {
        if !self.entries.contains_key(key) {
            debug_assert!(
                self.base == Base::Fresh,
                "{}: a fold read {key:?}, which its projection's reads did not ask for",
                self.id.name()
            );
            self.entries.insert(key.to_vec(), None);
        }
        self.entries
            .get_mut(key)
            .expect("the entry was inserted just above")
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

/// A working set that records are loaded into before a fold, whatever their type.
pub(crate) trait Loadable {
    /// True when `key` is in memory (loaded, or made by a fold).
    fn holds(&self, key: &[u8]) -> bool;

    /// Records that the tree holds nothing under `key` (a key asked for and not found); a key
    /// already in memory is left as it is.
    fn load_absent(&mut self, key: &[u8]);

    /// Loads the stored record of `key` (its bytes as stored); an error names the tree.
    fn load_stored(&mut self, key: &[u8], bytes: &[u8]) -> Result<()>;
}

impl<R: Record> Loadable for Table<R> {
    fn holds(&self, key: &[u8]) -> bool {
        self.entries.contains_key(key)
    }

    fn load_absent(&mut self, key: &[u8]) {
        if !self.entries.contains_key(key) {
            self.entries.insert(key.to_vec(), None);
        }
    }

    fn load_stored(&mut self, key: &[u8], bytes: &[u8]) -> Result<()> {
        let record = decode::<R>(bytes, self.id.name())?;
        self.stored.insert(key.to_vec(), bytes.into());
        self.entries.insert(key.to_vec(), Some(record));
        Ok(())
    }
}

/// Whether a key of a [`KeySet`] was stored before this working set, and is now.
#[derive(Debug, Clone, Copy)]
struct Presence {
    stored: bool,
    now: bool,
}

/// The working set of an index tree: bare keys with empty values, which a fold only adds and
/// removes and never reads. The fold knows from its own records whether a key is stored (it
/// adds a key its record did not imply before, and removes one it did), so nothing is loaded:
/// the first change of a key in a working set says what was stored, and a key added and
/// removed again (or the reverse) is not written.
pub(crate) struct KeySet {
    id: ProjectionId,
    base: Base,
    keys: FxHashMap<Vec<u8>, Presence>,
}

impl KeySet {
    /// An empty working set of the tree `id` over `base`.
    pub(crate) fn new(id: ProjectionId, base: Base) -> Self {
        KeySet {
            id,
            base,
            keys: FxHashMap::default(),
        }
    }

    /// Adds `key`, which the fold's records did not imply before (so it is not stored, unless
    /// this working set changed it already).
    pub(crate) fn add(&mut self, key: Vec<u8>) {
        self.keys
            .entry(key)
            .or_insert(Presence {
                stored: false,
                now: false,
            })
            .now = true;
    }

    /// Removes `key`, which the fold's records implied before (so it is stored over stored
    /// views, unless this working set changed it already).
    pub(crate) fn remove(&mut self, key: Vec<u8>) {
        let stored = self.base == Base::Stored;
        self.keys
            .entry(key)
            .or_insert(Presence {
                stored,
                now: stored,
            })
            .now = false;
    }

    /// How many keys the working set holds.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Every changed key, sorted: `Some(empty)` adds it, `None` removes it.
    pub(crate) fn into_encoded(self) -> Changes {
        let mut out: Changes = self
            .keys
            .into_iter()
            .filter_map(|(key, p)| match (p.stored, p.now) {
                (false, true) => Some((key, Some(Vec::new()))),
                (true, false) => Some((key, None)),
                _ => None,
            })
            .collect();
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

impl Loadable for KeySet {
    fn holds(&self, key: &[u8]) -> bool {
        self.keys.contains_key(key)
    }

    fn load_absent(&mut self, key: &[u8]) {
        if !self.keys.contains_key(key) {
            let absent = Presence {
                stored: false,
                now: false,
            };
            self.keys.insert(key.to_vec(), absent);
        }
    }

    fn load_stored(&mut self, key: &[u8], bytes: &[u8]) -> Result<()> {
        if !bytes.is_empty() {
            return Err(crate::LedgerError::Corrupt {
                what: self.id.name().to_string(),
                reason: format!("{} bytes where an index entry holds none", bytes.len()),
            });
        }
        let present = Presence {
            stored: true,
            now: true,
        };
        self.keys.insert(key.to_vec(), present);
        Ok(())
    }
}

/// The working set of an index tree whose entries carry a record (a covering index: a
/// question reads the records in the index's order, with no lookup per entry). As with a
/// [`KeySet`], the fold never reads it and knows from its own records what is stored: it
/// removes the entry its records implied before and puts the one they imply now, so nothing
/// is loaded. A key removed and put back is written again (its record may have changed).
pub(crate) struct Index<R> {
    id: ProjectionId,
    base: Base,
    /// Per key: whether it was stored before this working set, and its record now.
    entries: FxHashMap<Vec<u8>, (bool, Option<R>)>,
}

impl<R: Record> Index<R> {
    /// An empty working set of the tree `id` over `base`.
    pub(crate) fn new(id: ProjectionId, base: Base) -> Self {
        Index {
            id,
            base,
            entries: FxHashMap::default(),
        }
    }

    /// How many entries it holds (changed or not): what a fold in bounded memory counts.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Puts `record` under `key`, which the fold's records did not imply before (unless this
    /// working set removed it first).
    pub(crate) fn put(&mut self, key: Vec<u8>, record: R) {
        self.entries.entry(key).or_insert((false, None)).1 = Some(record);
    }

    /// Removes `key`, which the fold's records implied before (so it is stored over stored
    /// views, unless this working set changed it already).
    pub(crate) fn remove(&mut self, key: Vec<u8>) {
        let stored = self.base == Base::Stored;
        self.entries.entry(key).or_insert((stored, None)).1 = None;
    }

    /// Every changed entry, encoded and sorted by key: `None` removes the key.
    pub(crate) fn into_encoded(self) -> Result<Changes> {
        let mut out = Vec::with_capacity(self.entries.len());
        for (key, (stored, record)) in self.entries {
            match record {
                Some(record) => out.push((key, Some(encode(&record, self.id.name())?))),
                None if stored => out.push((key, None)),
                None => {}
            }
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

impl<R: Record> Loadable for Index<R> {
    fn holds(&self, key: &[u8]) -> bool {
        self.entries.contains_key(key)
    }

    fn load_absent(&mut self, key: &[u8]) {
        if !self.entries.contains_key(key) {
            self.entries.insert(key.to_vec(), (false, None));
        }
    }

    fn load_stored(&mut self, key: &[u8], bytes: &[u8]) -> Result<()> {
        let record = decode::<R>(bytes, self.id.name())?;
        self.entries.insert(key.to_vec(), (true, Some(record)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Over stored views, a record loaded and changed back is not written, one changed is,
    /// one removed is removed, and a key asked for but not stored that stays absent is not.
    #[test]
    fn a_table_writes_only_what_differs_from_what_was_loaded() {
        let mut table: Table<u64> = Table::new(ProjectionId::Counts, Base::Stored);
        let stored = |n: u64| encode(&n, "count").expect("encodes");
        table.load_stored(b"same", &stored(3)).expect("loads");
        table.load_stored(b"changed", &stored(3)).expect("loads");
        table.load_stored(b"removed", &stored(3)).expect("loads");
        table.load_absent(b"absent");
        *table.entry(b"same").get_or_insert(0) += 1;
        *table.entry(b"same").get_or_insert(0) -= 1;
        *table.entry(b"changed").get_or_insert(0) += 1;
        *table.entry(b"removed") = None;
        assert!(table.entry(b"absent").is_none());
        let changes = table.into_encoded().expect("encodes");
        assert_eq!(
            changes,
            [
                (b"changed".to_vec(), Some(stored(4))),
                (b"removed".to_vec(), None)
            ]
        );
    }

    /// A record that does not decode is an error naming its tree, at load time.
    #[test]
    fn a_record_that_does_not_decode_fails_its_load_with_the_tree_name() {
        let mut table: Table<crate::projections::transfers::TransferRecord> =
            Table::new(ProjectionId::Transfers, Base::Stored);
        let error = table
            .load_stored(b"x.example", b"\xff\xff not a record")
            .expect_err("refused");
        assert!(error.to_string().contains("transfers"), "{error}");
    }

    /// Over stored views, a key the fold removes was stored (its records implied it) and one
    /// it adds was not; a key added and removed again within the working set is not written,
    /// and neither is a key removed and added back. In a fresh fold nothing is stored.
    #[test]
    fn a_key_set_writes_the_net_change_of_each_key() {
        let mut keys = KeySet::new(ProjectionId::OrdersByState, Base::Stored);
        keys.remove(b"pA".to_vec());
        keys.add(b"sA".to_vec());
        keys.remove(b"sA".to_vec());
        keys.add(b"pA".to_vec());
        keys.remove(b"pB".to_vec());
        keys.add(b"fB".to_vec());
        assert_eq!(
            keys.into_encoded(),
            [(b"fB".to_vec(), Some(Vec::new())), (b"pB".to_vec(), None)]
        );

        let mut fresh = KeySet::new(ProjectionId::OrdersByState, Base::Fresh);
        fresh.add(b"pA".to_vec());
        fresh.remove(b"pA".to_vec());
        fresh.add(b"sA".to_vec());
        assert_eq!(fresh.into_encoded(), [(b"sA".to_vec(), Some(Vec::new()))]);
    }

    /// Over stored views, an index entry removed is removed, one put is written, one removed
    /// and put back is written again (its record may differ), and one put and removed again
    /// is not written.
    #[test]
    fn an_index_writes_what_the_fold_put_and_removes_what_it_removed() {
        let mut index: Index<u64> = Index::new(ProjectionId::TransfersByDeadline, Base::Stored);
        index.remove(b"old".to_vec());
        index.put(b"new".to_vec(), 1);
        index.remove(b"same".to_vec());
        index.put(b"same".to_vec(), 2);
        index.put(b"brief".to_vec(), 3);
        index.remove(b"brief".to_vec());
        let stored = |n: u64| encode(&n, "index").expect("encodes");
        assert_eq!(
            index.into_encoded().expect("encodes"),
            [
                (b"new".to_vec(), Some(stored(1))),
                (b"old".to_vec(), None),
                (b"same".to_vec(), Some(stored(2))),
            ]
        );
    }
}
