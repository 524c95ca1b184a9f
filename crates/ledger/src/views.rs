//! Keeping the views (`PATH/views/`) in step with the log: the incremental fold after an
//! ingest, catching up from `checkpoint` after a crash, and `rebuild`.

use std::time::Instant;

use ledger_event::Event;
use ledger_event::stored::decode_event;
use sled::Transactional;
use sled::transaction::TransactionError;

use crate::codec::be_u64;
use crate::projections::Projections;
use crate::store::{
    Log, VIEWS_CHECKPOINT, VIEWS_DIRTY, VIEWS_VERSION, VIEWS_VERSION_KEY, Views, storage,
};
use crate::{LedgerError, RebuildReport, Result};

/// Events folded per views transaction while catching up.
const CATCH_UP_CHUNK: usize = 5_000;
/// Records held in memory during a rebuild before they are written.
const REBUILD_CHUNK: usize = 200_000;

/// Folds `events` (the log's newest, ending at `head`) into the stored projections and commits
/// every changed record with `checkpoint = head` in one views transaction that also removes the
/// dirty marker, then flushes.
pub(crate) fn fold_and_commit(views: &Views, events: &[Event], head: u64) -> Result<()> {
    let mut projections = Projections::new(Some(&views.trees));
    for event in events {
        projections.apply(event)?;
    }
    let changes = projections.encoded()?;
    let mut trees: Vec<sled::Tree> = views.trees.to_vec();
    trees.push(views.meta.clone());
    let result = trees.as_slice().transaction(|tx| {
        for (tree, changes) in tx.iter().zip(&changes) {
            for (key, value) in changes {
                match value {
                    Some(bytes) => tree.insert(key.as_slice(), bytes.as_slice())?,
                    None => tree.remove(key.as_slice())?,
                };
            }
        }
        let meta = &tx[tx.len() - 1];
        meta.insert(VIEWS_CHECKPOINT, &head.to_be_bytes())?;
        meta.remove(VIEWS_DIRTY)?;
        Ok::<_, sled::transaction::ConflictableTransactionError<LedgerError>>(())
    });
    match result {
        Ok(()) => {}
        Err(TransactionError::Abort(error)) => return Err(error),
        Err(TransactionError::Storage(source)) => {
            return Err(LedgerError::Storage {
                operation: "updating the views",
                source,
            });
        }
    }
    views.db.flush().map_err(storage("flushing the views"))?;
    Ok(())
}

/// Reads the events `from..=to` of the log.
pub(crate) fn read_events(log: &Log, from: u64, to: u64) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    for entry in log.events.range(from.to_be_bytes()..=to.to_be_bytes()) {
        let (key, value) = entry.map_err(storage("reading the log"))?;
        let seq = be_u64(&key, "event key")?;
        out.push(decode_event(&value).map_err(|source| LedgerError::StoredEvent { seq, source })?);
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
    if folded == 0 && views.is_dirty()? {
        views
            .meta
            .remove(VIEWS_DIRTY)
            .map_err(storage("clearing the views marker"))?;
        views.db.flush().map_err(storage("flushing the views"))?;
    }
    Ok(folded)
}

/// Clears the views and re-folds every event of the log, in memory per chunk, written in big
/// batches. The checkpoint is removed first, so a rebuild cut short is redone on next open.
pub(crate) fn rebuild(log: &Log, views: &Views) -> Result<RebuildReport> {
    let started = Instant::now();
    let head = log.next_seq()? - 1;
    views
        .meta
        .remove(VIEWS_CHECKPOINT)
        .map_err(storage("clearing the checkpoint"))?;
    views
        .meta
        .insert(VIEWS_DIRTY, &head.to_be_bytes())
        .map_err(storage("marking the views dirty"))?;
    views.db.flush().map_err(storage("flushing the views"))?;
    for tree in &views.trees {
        tree.clear().map_err(storage("clearing a view"))?;
    }
    let mut projections = Projections::new(Some(&views.trees));
    let mut events = 0u64;
    for entry in log.events.range(..=head.to_be_bytes()) {
        let (key, value) = entry.map_err(storage("reading the log"))?;
        let seq = be_u64(&key, "event key")?;
        let event =
            decode_event(&value).map_err(|source| LedgerError::StoredEvent { seq, source })?;
        projections.apply(&event)?;
        events += 1;
        if projections.len() >= REBUILD_CHUNK {
            write_batches(views, &projections)?;
            projections.clear();
        }
    }
    write_batches(views, &projections)?;
    let mut batch = sled::Batch::default();
    batch.insert(VIEWS_CHECKPOINT, &head.to_be_bytes());
    batch.insert(VIEWS_VERSION_KEY, &VIEWS_VERSION.to_be_bytes());
    batch.remove(VIEWS_DIRTY);
    views
        .meta
        .apply_batch(batch)
        .map_err(storage("writing the checkpoint"))?;
    views.db.flush().map_err(storage("flushing the views"))?;
    Ok(RebuildReport {
        events,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

fn write_batches(views: &Views, projections: &Projections) -> Result<()> {
    for (tree, changes) in views.trees.iter().zip(projections.encoded()?) {
        let mut batch = sled::Batch::default();
        for (key, value) in changes {
            match value {
                Some(bytes) => batch.insert(key, bytes),
                None => batch.remove(key),
            }
        }
        tree.apply_batch(batch).map_err(storage("writing a view"))?;
    }
    Ok(())
}
