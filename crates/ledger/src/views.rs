//! Keeping the views (`PATH/views/`) in step with the log: the incremental fold after an
//! ingest, catching up from `checkpoint` after a crash, and `rebuild`.

use std::time::Instant;

use ledger_event::Event;
use serde::Serialize;

use crate::Result;
use crate::event_record::{decode_stored, load_event, load_stored};
use crate::projections::Working;
use crate::store::{Log, VIEWS_CHECKPOINT, VIEWS_VERSION, VIEWS_VERSION_KEY, Views, storage};

/// What [`crate::Ledger::rebuild`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    /// Events folded.
    pub events: u64,
    /// How long it took.
    pub elapsed_ms: u64,
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

/// Re-folds every event of the log in memory (events are decoded on a second thread while
/// this one folds), then makes the stored views equal to the fold, writing only the records
/// that differ, in big batches. The checkpoint is removed first, so a rebuild cut short is
/// redone on next open.
pub(crate) fn rebuild(log: &Log, views: &Views) -> Result<RebuildReport> {
    let started = Instant::now();
    let head = log.next_seq()? - 1;
    views
        .meta
        .remove(VIEWS_CHECKPOINT)
        .map_err(storage("clearing the checkpoint"))?;
    views.mark_dirty(head)?;
    let mut working = Working::fresh();
    let mut events = 0u64;
    // The second thread reads the stored forms (log order, packs, decompression); this one
    // decodes, folds and drops the events, except the chunks the second thread decodes when
    // this one is behind (see `read_log`).
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<Chunk>>(2);
    std::thread::scope(|scope| -> Result<()> {
        let mut packs = log.event_reader()?;
        let reader = scope.spawn(move || read_log(log, head, &mut packs, &sender));
        for chunk in receiver {
            match chunk? {
                Chunk::Stored(stored) => {
                    for (seq, stored) in stored {
                        working.apply(&decode_stored(&stored, seq)?);
                        events += 1;
                    }
                }
                Chunk::Decoded(decoded) => {
                    for event in decoded {
                        working.apply(&event);
                        events += 1;
                    }
                }
            }
        }
        reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Ok(())
    })?;

    // Only what differs from the fresh fold is written: a merge of the stored records (read in
    // key order as the merge goes, never all held at once) with the fold's (sorted by key).
    let mut batch = sled::Batch::default();
    let mut in_batch = 0;
    for (id, changes) in working.into_changes()? {
        let space = views.tree(id);
        let mut fresh = changes
            .into_iter()
            .filter_map(|(key, value)| value.map(|v| (key, v)))
            .peekable();
        // The stored records, read as the merge goes (writes below only touch keys at or
        // before the one read last, which sled's iterator has passed).
        let mut stored = space.iter();
        let mut next_stored = || stored.next().transpose().map_err(storage("reading a view"));
        let mut current = next_stored()?;
        loop {
            let order = match (&current, fresh.peek()) {
                (None, None) => break,
                (Some((key, _)), Some((want, _))) => key.as_ref().cmp(want.as_slice()),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Less => {
                    if let Some((key, _)) = current.take() {
                        batch.remove(space.key(&key));
                        in_batch += 1;
                    }
                    current = next_stored()?;
                }
                std::cmp::Ordering::Greater => {
                    if let Some((key, value)) = fresh.next() {
                        batch.insert(space.key(&key), value);
                        in_batch += 1;
                    }
                }
                std::cmp::Ordering::Equal => {
                    if let (Some((_, old)), Some((key, value))) = (current.take(), fresh.next())
                        && old.as_ref() != value.as_slice()
                    {
                        batch.insert(space.key(&key), value);
                        in_batch += 1;
                    }
                    current = next_stored()?;
                }
            }
            if in_batch >= WRITE_CHUNK {
                views
                    .tree
                    .apply_batch(std::mem::take(&mut batch))
                    .map_err(storage("writing a view"))?;
                in_batch = 0;
            }
        }
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
    })
}
