//! A fold of the whole log in bounded memory, for `rebuild` and `verify`: the working set is
//! written out as a sorted *run* whenever it outgrows its budget, later events load what they
//! read back from the runs (the same [`Loader`] path an ingest takes over the stored views),
//! and the result is every run merged in key order, the newest record of a key winning.
//!
//! A run is a file of entries sorted by (tree id, key): `tree u8, key length u32 LE, key,
//! tag u8` (0: the key was removed; 1: a record follows, `length u32 LE, bytes`). Beside it,
//! in memory, a block index (the first key of every [`BLOCK`] bytes, and where it is) and a
//! Bloom filter of its keys (about [`BLOOM_BITS`] bits a key): a key no run holds, the common
//! case, costs one cache line per run; a key one holds, one read of a block. When there are
//! [`MAX_RUNS`], they are merged into one (removals kept: harmless, as nothing older is left,
//! and dropped only when the result is merged for the last time). The files
//! live in a directory of their own, emptied when a fold starts and removed when it ends.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use ledger_event::Event;

use crate::projections::table::Changes;
use crate::projections::{Found, Loader, ProjectionId, TREE_COUNT, Working};
use crate::{LedgerError, Result};

/// Bytes of a run between two entries of its block index.
const BLOCK: u64 = 16 * 1024;
/// Bits of a run's Bloom filter per key.
const BLOOM_BITS: usize = 12;
/// Runs kept before they are merged into one.
const MAX_RUNS: usize = 8;
/// What one record of a working set costs in memory, about (its key, the record, the hash
/// table around them), to turn a byte budget into a number of records. Measured on the
/// proportional 1M corpus (`BENCHMARKS.md`).
pub(crate) const BYTES_PER_RECORD: usize = 300;
/// The most events folded between two looks at the budget.
const MAX_STEP: usize = 4_096;

/// One entry of a run: the tree's id, the key, the record (`None`: removed).
type Entry = (u8, Vec<u8>, Option<Vec<u8>>);

/// An I/O error on `path` (the path is copied only when there is one).
fn io<'a>(
    operation: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> LedgerError + 'a {
    move |source| LedgerError::Io {
        operation,
        path: path.to_path_buf(),
        source,
    }
}

/// The tree of a pinned id read back from a run.
fn tree_of(id: u8) -> Result<ProjectionId> {
    ProjectionId::ALL
        .get(usize::from(id))
        .copied()
        .ok_or_else(|| LedgerError::Corrupt {
            what: "spilled fold".into(),
            reason: format!("tree id {id}"),
        })
}

/// A fold of events into fresh projections whose working set stays under a budget.
pub(crate) struct Fold {
    working: Working,
    runs: Runs,
    /// Records the working set may hold before it is spilled.
    budget: usize,
    /// Events folded between two looks at the budget.
    step: usize,
    /// How many times the working set was spilled.
    spills: u64,
}

impl Fold {
    /// A fold from nothing, spilling into `dir` (emptied first) whenever the working set holds
    /// more than `budget` bytes' worth of records (see [`BYTES_PER_RECORD`]).
    pub(crate) fn new(dir: &Path, budget: usize) -> Result<Fold> {
        let records = (budget / BYTES_PER_RECORD).max(1);
        Ok(Fold {
            working: Working::fresh(),
            runs: Runs::new(dir)?,
            budget: records,
            step: (records / 8).clamp(1, MAX_STEP),
            spills: 0,
        })
    }

    /// Folds `events` (the log's next ones, in seq order).
    pub(crate) fn fold(&mut self, events: &[Event]) -> Result<()> {
        for events in events.chunks(self.step) {
            if !self.runs.is_empty() {
                self.working.load(events, &mut self.runs)?;
            }
            for event in events {
                self.working.apply(event);
            }
            if self.working.records() > self.budget {
                let full = std::mem::replace(&mut self.working, Working::over_stored());
                self.runs.spill(full.into_changes()?)?;
                self.spills += 1;
            }
        }
        Ok(())
    }

    /// How many times the working set was spilled so far.
    pub(crate) fn spills(&self) -> u64 {
        self.spills
    }

    /// Every record of the fold, in (tree, key) order.
    pub(crate) fn finish(self) -> Result<Merged> {
        let last = Source::Memory(Memory::new(self.working.into_changes()?));
        self.runs.merged(Some(last))
    }
}

/// The runs spilled so far, oldest first, in their directory.
struct Runs {
    dir: PathBuf,
    runs: Vec<Run>,
    /// The number of the next run's file.
    next: u64,
}

/// One run: its file, block index and Bloom filter.
struct Run {
    path: PathBuf,
    file: File,
    len: u64,
    entries: usize,
    /// The first (tree, key) of each block and its offset, in order.
    index: Vec<(u8, Box<[u8]>, u64)>,
    bloom: Bloom,
}

/// What a run says of a key.
enum Lookup {
    /// Not in this run: ask an older one.
    Absent,
    /// Removed (a `None` entry).
    Removed,
    /// The record's bytes.
    Record(Vec<u8>),
}

impl Runs {
    fn new(dir: &Path) -> Result<Runs> {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("clearing", dir)(e)),
        }
        std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
        Ok(Runs {
            dir: dir.to_path_buf(),
            runs: Vec::new(),
            next: 0,
        })
    }

    fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Writes a working set's changes as the newest run; merges the runs into one when there
    /// are [`MAX_RUNS`].
    fn spill(&mut self, changes: [(ProjectionId, Changes); TREE_COUNT]) -> Result<()> {
        let entries = changes.iter().map(|(_, c)| c.len()).sum();
        let mut source = Source::Memory(Memory::new(changes));
        let run = self.write(entries, || source.next())?;
        self.runs.push(run);
        if self.runs.len() >= MAX_RUNS {
            let entries = self.runs.iter().map(|r| r.entries).sum();
            let mut merged = self.merged_runs(None, false)?;
            let run = self.write(entries, || merged.next_entry())?;
            for old in std::mem::replace(&mut self.runs, vec![run]) {
                std::fs::remove_file(&old.path).map_err(io("removing", &old.path))?;
            }
        }
        Ok(())
    }

    /// Writes the entries `next` gives (sorted, at most `entries`) as a new run.
    fn write(
        &mut self,
        entries: usize,
        mut next: impl FnMut() -> Result<Option<Entry>>,
    ) -> Result<Run> {
        let path = self.dir.join(format!("run-{:06}", self.next));
        self.next += 1;
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io("creating", &path))?;
        let mut out = BufWriter::with_capacity(256 * 1024, &file);
        let mut bloom = Bloom::new(entries);
        let (mut index, mut at, mut block_start, mut written) = (Vec::new(), 0u64, None, 0);
        while let Some((tree, key, value)) = next()? {
            if block_start.is_none_or(|start| at - start >= BLOCK) {
                index.push((tree, key.clone().into_boxed_slice(), at));
                block_start = Some(at);
            }
            bloom.insert(tree, &key);
            let mut head = Vec::with_capacity(10);
            head.push(tree);
            head.extend_from_slice(&length(key.len())?.to_le_bytes());
            out.write_all(&head)
                .and_then(|()| out.write_all(&key))
                .map_err(io("writing", &path))?;
            at += head.len() as u64 + key.len() as u64;
            match &value {
                None => out.write_all(&[0]).map_err(io("writing", &path))?,
                Some(bytes) => {
                    let mut tag = vec![1];
                    tag.extend_from_slice(&length(bytes.len())?.to_le_bytes());
                    out.write_all(&tag)
                        .and_then(|()| out.write_all(bytes))
                        .map_err(io("writing", &path))?;
                    at += 4 + bytes.len() as u64;
                }
            }
            at += 1;
            written += 1;
        }
        out.flush().map_err(io("writing", &path))?;
        drop(out);
        Ok(Run {
            path,
            file,
            len: at,
            entries: written,
            index,
            bloom,
        })
    }

    /// Every run merged, newest winning, removals dropped, then `last` (newer than any run).
    fn merged(self, last: Option<Source>) -> Result<Merged> {
        let mut merged = self.merged_runs(last, true)?;
        merged.keep = Some(self);
        Ok(merged)
    }

    /// The runs (and `last`, newest) merged; `drop_removed`: leave out removed keys.
    fn merged_runs(&self, last: Option<Source>, drop_removed: bool) -> Result<Merged> {
        let mut sources = Vec::with_capacity(self.runs.len() + 1);
        for run in &self.runs {
            let file = File::open(&run.path).map_err(io("opening", &run.path))?;
            sources.push(Source::File(RunReader {
                path: run.path.clone(),
                input: BufReader::with_capacity(256 * 1024, file),
            }));
        }
        sources.extend(last);
        Merged::new(sources, drop_removed)
    }
}

impl Run {
    fn lookup(&self, tree: u8, key: &[u8], hash: (u64, u64)) -> Result<Lookup> {
        if !self.bloom.may_hold(hash) {
            return Ok(Lookup::Absent);
        }
        let i = self
            .index
            .partition_point(|(t, k, _)| (*t, k.as_ref()) <= (tree, key));
        let Some(start) = i.checked_sub(1).map(|i| self.index[i].2) else {
            return Ok(Lookup::Absent);
        };
        let end = self.index.get(i).map_or(self.len, |(_, _, at)| *at);
        let mut block = vec![0; usize::try_from(end - start).unwrap_or(usize::MAX)];
        self.file
            .read_exact_at(&mut block, start)
            .map_err(io("reading", &self.path))?;
        let mut input = block.as_slice();
        while let Some((t, k, value)) = read_entry(&mut input, &self.path)? {
            match (t, k.as_slice()).cmp(&(tree, key)) {
                std::cmp::Ordering::Less => continue,
                std::cmp::Ordering::Greater => break,
                std::cmp::Ordering::Equal => {
                    return Ok(value.map_or(Lookup::Removed, Lookup::Record));
                }
            }
        }
        Ok(Lookup::Absent)
    }
}

/// The runs as the [`Loader`] of a working set: the newest run that knows a key answers.
impl Loader for Runs {
    fn read(&mut self, tree: ProjectionId, keys: &[Vec<u8>], found: &mut Found<'_>) -> Result<()> {
        let id = tree.id();
        for key in keys {
            let hash = Bloom::hash(id, key);
            for run in self.runs.iter().rev() {
                match run.lookup(id, key, hash)? {
                    Lookup::Absent => continue,
                    Lookup::Removed => break,
                    Lookup::Record(bytes) => {
                        found(key, &bytes)?;
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Drop for Runs {
    fn drop(&mut self) {
        // Best effort: a directory left behind is emptied by the next fold.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A length as stored in a run.
fn length(len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| LedgerError::Corrupt {
        what: "spilled fold".into(),
        reason: format!("a key or record of {len} bytes"),
    })
}

/// Reads one entry from `input`; `None` at its end.
fn read_entry(input: &mut impl Read, path: &Path) -> Result<Option<Entry>> {
    let mut tree = [0u8; 1];
    if input.read(&mut tree).map_err(io("reading", path))? == 0 {
        return Ok(None);
    }
    let read_bytes = |input: &mut dyn Read| -> Result<Vec<u8>> {
        let mut len = [0u8; 4];
        input.read_exact(&mut len).map_err(io("reading", path))?;
        let mut bytes = vec![0; u32::from_le_bytes(len) as usize];
        input.read_exact(&mut bytes).map_err(io("reading", path))?;
        Ok(bytes)
    };
    let key = read_bytes(input)?;
    let mut tag = [0u8; 1];
    input.read_exact(&mut tag).map_err(io("reading", path))?;
    let value = match tag[0] {
        0 => None,
        1 => Some(read_bytes(input)?),
        other => {
            return Err(LedgerError::Corrupt {
                what: format!("spilled fold {}", path.display()),
                reason: format!("entry tag {other}"),
            });
        }
    };
    Ok(Some((tree[0], key, value)))
}

/// A run read from its start.
struct RunReader {
    path: PathBuf,
    input: BufReader<File>,
}

/// A working set's changes as a source of entries, in order.
struct Memory {
    trees: std::vec::IntoIter<(ProjectionId, Changes)>,
    current: Option<(u8, <Changes as IntoIterator>::IntoIter)>,
}

impl Memory {
    fn new(changes: [(ProjectionId, Changes); TREE_COUNT]) -> Memory {
        Memory {
            trees: Vec::from(changes).into_iter(),
            current: None,
        }
    }
}

/// Where a merge reads entries from.
enum Source {
    File(RunReader),
    Memory(Memory),
}

impl Source {
    fn next(&mut self) -> Result<Option<Entry>> {
        match self {
            Source::File(run) => read_entry(&mut run.input, &run.path),
            Source::Memory(memory) => loop {
                if let Some((tree, entries)) = memory.current.as_mut()
                    && let Some((key, value)) = entries.next()
                {
                    return Ok(Some((*tree, key, value)));
                }
                match memory.trees.next() {
                    Some((id, changes)) => memory.current = Some((id.id(), changes.into_iter())),
                    None => return Ok(None),
                }
            },
        }
    }
}

/// Sources merged in (tree, key) order; of a key in several, the newest (last) source's
/// entry wins.
pub(crate) struct Merged {
    sources: Vec<Source>,
    heads: Vec<Option<Entry>>,
    drop_removed: bool,
    /// The record taken out of order by [`Merged::next_in`], for the next tree.
    pending: Option<(u8, Vec<u8>, Vec<u8>)>,
    /// The runs read (their files go when the merge is dropped).
    keep: Option<Runs>,
}

impl Merged {
    fn new(mut sources: Vec<Source>, drop_removed: bool) -> Result<Merged> {
        let heads = sources
            .iter_mut()
            .map(Source::next)
            .collect::<Result<Vec<_>>>()?;
        Ok(Merged {
            sources,
            heads,
            drop_removed,
            pending: None,
            keep: None,
        })
    }

    /// The next entry of the merge (removed keys included unless dropped).
    fn next_entry(&mut self) -> Result<Option<Entry>> {
        loop {
            let mut best: Option<usize> = None;
            for (i, head) in self.heads.iter().enumerate() {
                let Some((tree, key, _)) = head else { continue };
                best = match best.and_then(|b| self.heads[b].as_ref()) {
                    // A later source with an equal key is newer: it wins.
                    Some((t, k, _)) if (*t, k.as_slice()) < (*tree, key.as_slice()) => best,
                    _ => Some(i),
                };
            }
            let Some(best) = best else { return Ok(None) };
            let entry = self.heads[best].take();
            self.heads[best] = self.sources[best].next()?;
            let Some(entry) = entry else { return Ok(None) };
            // Older sources holding the same key are passed.
            for i in 0..self.sources.len() {
                while self.heads[i]
                    .as_ref()
                    .is_some_and(|(t, k, _)| (*t, k.as_slice()) == (entry.0, entry.1.as_slice()))
                {
                    self.heads[i] = self.sources[i].next()?;
                }
            }
            if self.drop_removed && entry.2.is_none() {
                continue;
            }
            return Ok(Some(entry));
        }
    }

    /// The next record of `tree` (key, bytes), if the merge has one more: trees are asked in
    /// [`ProjectionId::ALL`] order.
    pub(crate) fn next_in(&mut self, tree: ProjectionId) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let id = tree.id();
        loop {
            let (t, key, value) = match self.pending.take() {
                Some(record) => record,
                None => match self.next_entry()? {
                    Some((t, key, Some(value))) => (t, key, value),
                    Some((_, _, None)) => continue,
                    None => return Ok(None),
                },
            };
            tree_of(t)?;
            match t.cmp(&id) {
                std::cmp::Ordering::Equal => return Ok(Some((key, value))),
                std::cmp::Ordering::Greater => {
                    self.pending = Some((t, key, value));
                    return Ok(None);
                }
                // A tree asked for after its records: not the way this is used.
                std::cmp::Ordering::Less => {
                    return Err(LedgerError::Corrupt {
                        what: "spilled fold".into(),
                        reason: format!("tree {t} read after tree {id}"),
                    });
                }
            }
        }
    }
}

/// A blocked Bloom filter: each key sets 7 bits of one 512-bit block (one cache line).
struct Bloom {
    blocks: Vec<[u64; 8]>,
}

impl Bloom {
    fn new(keys: usize) -> Bloom {
        Bloom {
            blocks: vec![[0; 8]; (keys * BLOOM_BITS).div_ceil(512).max(1)],
        }
    }

    /// Two 64-bit hashes of a key of a tree.
    fn hash(tree: u8, key: &[u8]) -> (u64, u64) {
        use std::hash::Hasher;
        let mut hasher = rustc_hash::FxHasher::default();
        hasher.write_u8(tree);
        hasher.write(key);
        let a = fmix(hasher.finish() ^ key.len() as u64);
        (a, fmix(a ^ 0x9e37_79b9_7f4a_7c15))
    }

    /// The block of a key's hash among `blocks`, and its bits there (word, mask).
    fn bits(blocks: usize, (a, b): (u64, u64)) -> (usize, impl Iterator<Item = (usize, u64)>) {
        let block = (a % blocks as u64) as usize;
        let bits = (0..7).map(move |i| {
            let bit = (b >> (i * 9)) & 511;
            ((bit / 64) as usize, 1u64 << (bit % 64))
        });
        (block, bits)
    }

    fn insert(&mut self, tree: u8, key: &[u8]) {
        let (block, bits) = Bloom::bits(self.blocks.len(), Bloom::hash(tree, key));
        for (word, mask) in bits {
            self.blocks[block][word] |= mask;
        }
    }

    fn may_hold(&self, hash: (u64, u64)) -> bool {
        let (block, mut bits) = Bloom::bits(self.blocks.len(), hash);
        bits.all(|(word, mask)| self.blocks[block][word] & mask != 0)
    }
}

/// MurmurHash3's 64-bit finaliser: spreads FxHash's bits.
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Changes of one tree (`Counts`), the others empty.
    fn changes(entries: &[(&str, Option<&str>)]) -> [(ProjectionId, Changes); TREE_COUNT] {
        ProjectionId::ALL.map(|id| {
            let changes = if id == ProjectionId::Counts {
                entries
                    .iter()
                    .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
                    .collect()
            } else {
                Vec::new()
            };
            (id, changes)
        })
    }

    /// What the runs hand a working set for `keys`.
    fn loaded(runs: &mut Runs, keys: &[&str]) -> Vec<(String, String)> {
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.as_bytes().to_vec()).collect();
        let mut out = Vec::new();
        runs.read(ProjectionId::Counts, &keys, &mut |k, v| {
            out.push((
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            ));
            Ok(())
        })
        .expect("reads");
        out
    }

    /// Every record of the merge of `runs`, with `last` newest.
    fn merged(runs: Runs, last: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
        let mut merged = runs
            .merged(Some(Source::Memory(Memory::new(changes(last)))))
            .expect("merges");
        let mut out = Vec::new();
        for id in ProjectionId::ALL {
            while let Some((k, v)) = merged.next_in(id).expect("reads") {
                assert_eq!(id, ProjectionId::Counts);
                out.push((
                    String::from_utf8_lossy(&k).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                ));
            }
        }
        out
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The newest run that knows a key answers for it, a removal hides what older runs hold,
    /// and merging the runs into one (at [`MAX_RUNS`]) changes none of it.
    #[test]
    fn the_newest_run_wins_and_a_removal_hides_older_records() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut runs = Runs::new(&dir.path().join("fold")).expect("made");
        runs.spill(changes(&[
            ("a", Some("1")),
            ("b", Some("1")),
            ("c", Some("1")),
        ]))
        .expect("spills");
        runs.spill(changes(&[("b", Some("2")), ("c", None)]))
            .expect("spills");
        let want = pairs(&[("a", "1"), ("b", "2")]);
        assert_eq!(loaded(&mut runs, &["a", "b", "c", "d"]), want);
        // Up to MAX_RUNS runs, then one: the answers stay.
        for i in 0..MAX_RUNS - 2 {
            let key = format!("x{i}");
            runs.spill(changes(&[(key.as_str(), Some("3"))]))
                .expect("spills");
        }
        assert_eq!(runs.runs.len(), 1, "merged into one");
        assert_eq!(loaded(&mut runs, &["a", "b", "c", "d"]), want);
        assert_eq!(
            merged(runs, &[("a", None), ("d", Some("4"))]),
            pairs(&[
                ("b", "2"),
                ("d", "4"),
                ("x0", "3"),
                ("x1", "3"),
                ("x2", "3"),
                ("x3", "3"),
                ("x4", "3"),
                ("x5", "3"),
            ])
        );
        assert!(!dir.path().join("fold").exists(), "removed with the merge");
    }

    /// A run of many blocks finds every key it holds, and none it does not (beyond what its
    /// Bloom filter lets through, which the block read then turns away).
    #[test]
    fn a_run_of_many_blocks_finds_each_key() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut runs = Runs::new(&dir.path().join("fold")).expect("made");
        let keys: Vec<String> = (0..20_000).map(|i| format!("key-{i:06}")).collect();
        let value = "v".repeat(40);
        let entries: Vec<(&str, Option<&str>)> = keys
            .iter()
            .map(|k| (k.as_str(), Some(value.as_str())))
            .collect();
        runs.spill(changes(&entries)).expect("spills");
        assert!(
            runs.runs[0].index.len() > 40,
            "{}",
            runs.runs[0].index.len()
        );
        let asked: Vec<&str> = keys.iter().map(String::as_str).step_by(7).collect();
        assert_eq!(loaded(&mut runs, &asked).len(), asked.len());
        let absent: Vec<String> = (0..20_000).map(|i| format!("key-{i:06}x")).collect();
        let absent: Vec<&str> = absent.iter().map(String::as_str).collect();
        assert!(loaded(&mut runs, &absent).is_empty());
        let hash = |k: &String| Bloom::hash(ProjectionId::Counts.id(), k.as_bytes());
        let passed = (0..20_000)
            .map(|i| format!("other-{i}"))
            .filter(|k| runs.runs[0].bloom.may_hold(hash(k)))
            .count();
        assert!(
            passed < 400,
            "{passed} of 20,000 absent keys passed the filter"
        );
    }
}
