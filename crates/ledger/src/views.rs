//! Keeping the views (`PATH/views/`) in step with the log: the incremental fold after an
//! ingest, catching up from `checkpoint` after a crash, and `rebuild`.

use std::time::Instant;

use ledger_event::Event;
use serde::Serialize;

use crate::Result;
use crate::event_record::{decode_stored, load_event, load_stored};
use crate::projections::{ProjectionId, Working};
use crate::spill::{Fold, Merged};
use crate::store::{
    Log, Space, VIEWS_CHECKPOINT, VIEWS_VERSION, VIEWS_VERSION_KEY, Views, storage,
};

/// What [`crate::Ledger::rebuild`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    /// Events folded.
    pub events: u64,
    /// How long it took.
    pub elapsed_ms: u64,
    /// How many times the fold outgrew its memory ([`crate::Options::fold_memory`]) and was
    /// spilled to disk.
    pub spills: u64,
}

/// Events folded per views batch while catching up.
const CATCH_UP_CHUNK: usize = 5_000;
/// Records per batch written during a rebuild.
const WRITE_CHUNK: usize = 4_096;
/// Events per message from the rebuild's decoding thread.
const DECODE_CHUNK: usize = 256;

/// Folds `events` (the log's newest, ending at `head`) into the stored projections and commits
/// every changed record with `checkpoint = head` in one atomic views batch (not flushed: see
/// [`Views::mark_dirty`]). The records the folds read are loaded first (the fallible part);
/// the folds then run in memory.
pub(crate) fn fold_and_commit(views: &Views, events: &[Event], head: u64) -> Result<()> {
    let mut working = Working::over_stored();
    // The sled views are the loader (`store.rs`): a `get` per key.
    let mut loader = views;
    working.load(events, &mut loader)?;
    for event in events {
        working.apply(event);
    }
    let mut batch = sled::Batch::default();
    add_changes(&mut batch, views, working)?;
    batch.insert(views.meta.key(VIEWS_CHECKPOINT), &head.to_be_bytes());
    views
        .tree
        .apply_batch(batch)
        .map_err(storage("updating the views"))
}

/// Adds every changed projection record to `batch`.
fn add_changes(batch: &mut sled::Batch, views: &Views, working: Working) -> Result<()> {
    for (id, changes) in working.into_changes()? {
        let space = views.tree(id);
        for (key, value) in changes {
            match value {
                Some(bytes) => batch.insert(space.key(&key), bytes),
                None => batch.remove(space.key(&key)),
            }
        }
    }
    Ok(())
}

/// Events sent from the reading thread of a rebuild: stored forms (seq, bytes) for the folding
/// thread to decode, or already decoded when the folding thread was behind.
enum Chunk {
    Stored(Vec<(u64, Vec<u8>)>),
    Decoded(Vec<Event>),
}

/// Sends the stored forms of the log's events up to `head`, in chunks, then returns; a read
/// error is sent as the last message. When the folding thread is behind (the channel is full),
/// this thread decodes the chunk itself before sending it: decoding is the largest share of a
/// rebuild, and this balances it between the two threads (one thread decoding everything was
/// the bottleneck either way).
fn read_log(
    log: &Log,
    head: u64,
    packs: &mut crate::raw::PackReader,
    sender: &std::sync::mpsc::SyncSender<Result<Chunk>>,
) {
    let mut chunk = Vec::with_capacity(DECODE_CHUNK);
    let send = |chunk: Vec<(u64, Vec<u8>)>| -> bool {
        match sender.try_send(Ok(Chunk::Stored(chunk))) {
            Ok(()) => true,
            Err(std::sync::mpsc::TrySendError::Full(Ok(Chunk::Stored(chunk)))) => {
                let decoded = chunk
                    .iter()
                    .map(|(seq, stored)| decode_stored(stored, *seq))
                    .collect::<Result<Vec<_>>>()
                    .map(Chunk::Decoded);
                sender.send(decoded).is_ok()
            }
            Err(_) => false,
        }
    };
    for entry in crate::locators::range(log, 1, Some(head)) {
        let loaded = entry.and_then(|(seq, place)| Ok((seq, load_stored(place, seq, packs)?)));
        match loaded {
            Ok(stored) => chunk.push(stored),
            Err(error) => {
                let _ = sender.send(Err(error));
                return;
            }
        }
        if chunk.len() == DECODE_CHUNK && !send(std::mem::take(&mut chunk)) {
            return;
        }
    }
    send(chunk);
}

/// Reads the events `from..=to` of the log.
pub(crate) fn read_events(log: &Log, from: u64, to: u64) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    let mut packs = log.event_reader()?;
    for entry in crate::locators::range(log, from, Some(to)) {
        let (seq, place) = entry?;
        out.push(load_event(place, seq, &mut packs)?);
    }
    Ok(out)
}

/// Brings the views up to the log's head: folds what `checkpoint` has not seen, or rebuilds
/// when the views were never built, were cut short, or are ahead of the log. Returns how many
/// events were folded.
pub(crate) fn catch_up(log: &Log, views: &Views) -> Result<u64> {
    let head = log.next_seq()? - 1;
    let checkpoint = match views.checkpoint()? {
        Some(checkpoint) if checkpoint <= head && !views.is_outdated()? => checkpoint,
        _ => return Ok(rebuild(log, views)?.events),
    };
    let mut folded = 0;
    let mut from = checkpoint + 1;
    while from <= head {
        let to = head.min(from + CATCH_UP_CHUNK as u64 - 1);
        let events = read_events(log, from, to)?;
        folded += events.len() as u64;
        fold_and_commit(views, &events, to)?;
        from = to + 1;
    }
    views.clear_dirty()?;
    Ok(folded)
}

/// Settles the views when a writer is done (`Ledger::flush`, drop): at the log's head, the
/// dirty marker is cleared; behind it (a views step failed after its log batch was
/// committed), they are caught up first. Without a checkpoint (a rebuild cut short), beyond
/// the head or of another version, nothing is done and the marker stays: the next open
/// rebuilds, not a drop.
pub(crate) fn settle(log: &Log, views: &Views) -> Result<()> {
    let head = log.next_seq()? - 1;
    match views.checkpoint()? {
        Some(checkpoint) if checkpoint == head => views.clear_dirty(),
        Some(checkpoint) if checkpoint < head && !views.is_outdated()? => {
            catch_up(log, views).map(|_| ())
        }
        _ => Ok(()),
    }
}

/// Re-folds every event of the log (events are decoded on a second thread while this one
/// folds) in bounded memory (a [`Fold`]: what outgrows [`Views::fold_memory`] is spilled to
/// sorted runs and read back when needed), then makes the stored views equal to the fold,
/// writing only the records that differ, in big batches. The checkpoint is removed first, so a
/// rebuild cut short is redone on next open.
pub(crate) fn rebuild(log: &Log, views: &Views) -> Result<RebuildReport> {
    let started = Instant::now();
    let head = log.next_seq()? - 1;
    views
        .meta
        .remove(VIEWS_CHECKPOINT)
        .map_err(storage("clearing the checkpoint"))?;
    views.mark_dirty(head)?;
    let mut fold = Fold::new(&views.fold_dir, views.fold_memory)?;
    let mut events = 0u64;
    // The second thread reads the stored forms (log order, packs, decompression); this one
    // decodes, folds and drops the events, except the chunks the second thread decodes when
    // this one is behind (see `read_log`).
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<Chunk>>(2);
    std::thread::scope(|scope| -> Result<()> {
        let mut packs = log.event_reader()?;
        let reader = scope.spawn(move || read_log(log, head, &mut packs, &sender));
        for chunk in receiver {
            let decoded = match chunk? {
                Chunk::Stored(stored) => stored
                    .iter()
                    .map(|(seq, stored)| decode_stored(stored, *seq))
                    .collect::<Result<Vec<_>>>()?,
                Chunk::Decoded(decoded) => decoded,
            };
            events += decoded.len() as u64;
            fold.fold(&decoded)?;
        }
        reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Ok(())
    })?;
    let spills = fold.spills();
    let mut fresh = fold.finish()?;

    // Only what differs from the fresh fold is written: a merge of the stored records (read in
    // key order as the merge goes) with the fold's (its runs merged in key order): neither is
    // ever held whole.
    let mut batch = sled::Batch::default();
    let mut in_batch = 0;
    for id in ProjectionId::ALL {
        let space = views.tree(id);
        diff(space, id, &mut fresh, |change| {
            match change {
                Difference::Differs(key, value) => batch.insert(space.key(&key), value),
                Difference::Missing(key, value) => batch.insert(space.key(&key), value),
                Difference::Extra(key) => batch.remove(space.key(&key)),
            }
            in_batch += 1;
            if in_batch >= WRITE_CHUNK {
                views
                    .tree
                    .apply_batch(std::mem::take(&mut batch))
                    .map_err(storage("writing a view"))?;
                in_batch = 0;
            }
            Ok(())
        })?;
    }
    batch.insert(views.meta.key(VIEWS_CHECKPOINT), &head.to_be_bytes());
    batch.insert(
        views.meta.key(VIEWS_VERSION_KEY),
        &VIEWS_VERSION.to_be_bytes(),
    );
    views
        .tree
        .apply_batch(batch)
        .map_err(storage("writing the checkpoint"))?;
    views.clear_dirty()?;
    Ok(RebuildReport {
        events,
        elapsed_ms: started.elapsed().as_millis() as u64,
        spills,
    })
}

/// How a stored projection record differs from a fresh fold's.
pub(crate) enum Difference {
    /// Both have the key, with other bytes (the fold's given).
    Differs(sled::IVec, Vec<u8>),
    /// Only the stored views have the key.
    Extra(sled::IVec),
    /// Only the fold has the key (its bytes given).
    Missing(Vec<u8>, Vec<u8>),
}

/// Walks the stored records of `tree` and the fold's (`fresh`, at that tree) side by side in
/// key order, handing `found` each difference in key order. `found` may write the tree: only
/// at or before the key read last, which sled's iterator has passed.
pub(crate) fn diff(
    space: &Space,
    tree: ProjectionId,
    fresh: &mut Merged,
    mut found: impl FnMut(Difference) -> Result<()>,
) -> Result<()> {
    let mut stored = space.iter();
    let mut next_stored = || stored.next().transpose().map_err(storage("reading a view"));
    let mut current = next_stored()?;
    let mut want = fresh.next_in(tree)?;
    loop {
        let order = match (&current, &want) {
            (None, None) => return Ok(()),
            (Some((key, _)), Some((wanted, _))) => key.as_ref().cmp(wanted.as_slice()),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                if let Some((key, _)) = current.take() {
                    found(Difference::Extra(key))?;
                }
                current = next_stored()?;
            }
            std::cmp::Ordering::Greater => {
                if let Some((key, value)) = want.take() {
                    found(Difference::Missing(key, value))?;
                }
                want = fresh.next_in(tree)?;
            }
            std::cmp::Ordering::Equal => {
                if let (Some((key, old)), Some((_, value))) = (current.take(), want.take())
                    && old.as_ref() != value.as_slice()
                {
                    found(Difference::Differs(key, value))?;
                }
                current = next_stored()?;
                want = fresh.next_in(tree)?;
            }
        }
    }
}
