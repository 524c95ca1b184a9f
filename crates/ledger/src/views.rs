//! Keeping the views (`PATH/views/`) in step with the log: the incremental fold after an
//! ingest, catching up from `checkpoint` after a crash, and `rebuild`.

use std::time::Instant;

use ledger_event::Event;

use crate::codec::{be_u64, load_event};
use crate::projections::Projections;
use crate::store::{Log, VIEWS_CHECKPOINT, VIEWS_VERSION, VIEWS_VERSION_KEY, Views, storage};
use crate::{RebuildReport, Result};

/// Events folded per views batch while catching up.
const CATCH_UP_CHUNK: usize = 5_000;
/// Records per batch written during a rebuild.
const WRITE_CHUNK: usize = 50_000;
/// Events per message from the rebuild's decoding thread.
const DECODE_CHUNK: usize = 1_000;

/// Folds `events` (the log's newest, ending at `head`) into the stored projections and commits
/// every changed record with `checkpoint = head` in one atomic views batch (not flushed: see
/// [`Views::mark_dirty`]).
pub(crate) fn fold_and_commit(views: &Views, events: &[Event], head: u64) -> Result<()> {
    let mut projections = Projections::new(Some(&views.trees));
    for event in events {
        projections.apply(event)?;
    }
    let mut batch = sled::Batch::default();
    add_changes(&mut batch, views, &projections)?;
    batch.insert(views.meta.key(VIEWS_CHECKPOINT), &head.to_be_bytes());
    views
        .tree
        .apply_batch(batch)
        .map_err(storage("updating the views"))
}

/// Adds every changed projection record to `batch`.
fn add_changes(batch: &mut sled::Batch, views: &Views, projections: &Projections) -> Result<()> {
    for (space, changes) in views.trees.iter().zip(projections.encoded()?) {
        for (key, value) in changes {
            match value {
                Some(bytes) => batch.insert(space.key(&key), bytes),
                None => batch.remove(space.key(&key)),
            }
        }
    }
    Ok(())
}

/// Reads the events `from..=to` of the log.
pub(crate) fn read_events(log: &Log, from: u64, to: u64) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    let mut packs = log.event_reader()?;
    for entry in log
        .events
        .range(&from.to_be_bytes(), Some(&to.to_be_bytes()))
    {
        let (key, value) = entry.map_err(storage("reading the log"))?;
        let seq = be_u64(&key, "event key")?;
        out.push(load_event(&value, seq, &mut packs)?);
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

/// Clears the views and re-folds every event of the log in memory (events are decoded on a
/// second thread while this one folds), then writes the records in big batches. The checkpoint
/// is removed first, so a rebuild cut short is redone on next open.
pub(crate) fn rebuild(log: &Log, views: &Views) -> Result<RebuildReport> {
    let started = Instant::now();
    let head = log.next_seq()? - 1;
    views
        .meta
        .remove(VIEWS_CHECKPOINT)
        .map_err(storage("clearing the checkpoint"))?;
    views.mark_dirty(head)?;
    for space in &views.trees {
        let mut batch = sled::Batch::default();
        let mut in_batch = 0;
        for entry in space.iter() {
            let (key, _) = entry.map_err(storage("reading a view"))?;
            batch.remove(space.key(&key));
            in_batch += 1;
            if in_batch == WRITE_CHUNK {
                views
                    .tree
                    .apply_batch(std::mem::take(&mut batch))
                    .map_err(storage("clearing a view"))?;
                in_batch = 0;
            }
        }
        views
            .tree
            .apply_batch(batch)
            .map_err(storage("clearing a view"))?;
    }
    let mut projections = Projections::new(None);
    let mut events = 0u64;
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<Vec<Event>>>(4);
    std::thread::scope(|scope| -> Result<()> {
        let mut packs = log.event_reader()?;
        scope.spawn(move || {
            let mut chunk = Vec::with_capacity(DECODE_CHUNK);
            for entry in log.events.range(&[], Some(&head.to_be_bytes())) {
                let decoded = entry
                    .map_err(storage("reading the log"))
                    .and_then(|(key, value)| {
                        load_event(&value, be_u64(&key, "event key")?, &mut packs)
                    });
                match decoded {
                    Ok(event) => chunk.push(event),
                    Err(error) => {
                        let _ = sender.send(Err(error));
                        return;
                    }
                }
                if chunk.len() == DECODE_CHUNK
                    && sender.send(Ok(std::mem::take(&mut chunk))).is_err()
                {
                    return;
                }
            }
            let _ = sender.send(Ok(chunk));
        });
        for chunk in receiver {
            for event in chunk? {
                projections.apply(&event)?;
                events += 1;
            }
        }
        Ok(())
    })?;
    let mut batch = sled::Batch::default();
    let mut in_batch = 0;
    for (space, changes) in views.trees.iter().zip(projections.encoded()?) {
        for (key, value) in changes {
            if let Some(bytes) = value {
                batch.insert(space.key(&key), bytes);
                in_batch += 1;
            }
            if in_batch == WRITE_CHUNK {
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
