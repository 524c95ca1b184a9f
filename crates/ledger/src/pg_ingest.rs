//! The write path on PostgreSQL (issue 14): the engine sled runs ([`crate::ingest::prepare`],
//! [`decide::decide`], [`Working::load`] and the folds), over one PostgreSQL transaction per
//! batch. No decision is made here: this module answers the engine's lookups from the
//! database and stores what the engine decided.
//!
//! Per batch of up to [`ingest::BATCH`] items:
//! 1. **prepare** (hash, parse, trust check, dedup key, classify; and the raw inputs
//!    compressed), before the transaction and on another thread in [`ingest_stream`], one
//!    batch ahead of the writes;
//! 2. [`pg::WriteTxn::begin`]: a transaction with the seq lock (the one `ledger_meta`
//!    row, `FOR UPDATE`), so what the lookups answer holds until the commit;
//! 3. **decide** over the transaction ([`decide::WriteTxn`]: one `= ANY($1)` query for the
//!    batch's dedup keys, one for its rejects' raw inputs);
//! 4. the write set, each kind of row in one statement: the raw inputs, the events,
//!    the new quarantine entries, the rewritten ones (rare: one statement each), the removed
//!    ones;
//! 5. the fold: [`Working::load`] through the transaction ([`Loader`]: one query per round,
//!    every tree at once), [`Working::apply`] in memory, the changed records in one upsert
//!    and one delete, and the checkpoint;
//! 6. COMMIT. Only once it returned are the outcomes handed back: an error anywhere before
//!    means nothing of the batch is committed (the transaction is rolled back).
//!
//! The projection records are sled's, byte for byte (the same folds over the same events);
//! so are the events' stored forms. What differs is storage only: raw inputs are found by
//! their SHA-256, and a quarantine record's sled pack place is left empty ([`NO_PLACE`]).
//!
//! Not reachable from the `Ledger` API or the CLI yet: the storage trait that lets `Ledger`
//! run on either backend comes next.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use ledger_event::Event;

use crate::decide::{
    self, DedupQuery, EntryTime, Item, PreparedBatch, QuarantineChange, RawSource, RejectKey,
    StoredKeys, WriteSet,
};
use crate::ingest;
use crate::postgres as pg;
use crate::postgres::{CompressedRaw, PgError};
use crate::projections::{Found, FoundIn, Loader, ProjectionId, VIEWS_VERSION, Working};
use crate::quarantine::QuarantineRecord;
use crate::raw::PackRef;
use crate::{IngestOutcome, LedgerError, Options, Result};

/// The pack place a quarantine record written on PostgreSQL holds: none (pack 0 is never a
/// sled pack). Its raw input is the `raw` row of its SHA-256.
pub(crate) const NO_PLACE: PackRef = PackRef {
    pack: 0,
    offset: 0,
    len: 0,
};

/// A PostgreSQL primitive's error as the engine's.
pub(crate) fn from_pg(error: PgError) -> LedgerError {
    match error {
        PgError::Query { operation, source } => LedgerError::Database { operation, source },
        PgError::Corrupt { what, reason } => LedgerError::Corrupt { what, reason },
        PgError::Invalid(reason) => LedgerError::Corrupt {
            what: "a PostgreSQL write set".into(),
            reason,
        },
        other @ (PgError::NoLedger
        | PgError::SchemaNewer { .. }
        | PgError::SchemaOlder { .. }
        | PgError::SchemaMismatch { .. }) => LedgerError::NotALedger {
            path: "the PostgreSQL database".into(),
            reason: other.to_string(),
        },
    }
}

/// One batch's PostgreSQL write transaction as the engine sees it: the lookups of
/// [`decide::WriteTxn`] and the stored records of [`Loader`], one statement per call, inside
/// the transaction (under the seq lock, its own writes included).
struct Engine<'t, 'c> {
    txn: &'t mut pg::WriteTxn<'c>,
}

impl decide::WriteTxn for Engine<'_, '_> {
    fn next_ids(&mut self) -> Result<(u64, u64)> {
        Ok((self.txn.next_seq(), self.txn.next_quarantine()))
    }

    /// One `dedup_key = ANY($1)` query. Every row records its own time, so no entry is
    /// [`EntryTime::Unrecorded`]; the ctid is not needed (the key has its own index).
    fn duplicates(&mut self, queries: &[DedupQuery<'_>]) -> Result<StoredKeys> {
        let keys: Vec<[u8; 32]> = queries.iter().map(|query| query.key).collect();
        let mut found: StoredKeys = HashMap::with_capacity(keys.len());
        for entry in self.txn.dedup_entries(&keys).map_err(from_pg)? {
            found
                .entry(entry.key)
                .or_default()
                .push((entry.seq, EntryTime::Known(entry.own_time)));
        }
        Ok(found)
    }

    fn own_time(&mut self, seq: u64) -> Result<Option<DateTime<Utc>>> {
        self.txn
            .own_time(seq)
            .map_err(from_pg)?
            .ok_or_else(|| LedgerError::Corrupt {
                what: "events".into(),
                reason: format!("a dedup entry points at missing event {seq}"),
            })
    }

    /// One `raw_sha = ANY($1)` query; of the entries found, the oldest whose record has the
    /// asked bytes and response context answers, as sled's index does
    /// (`quarantine::find`: a record that does not decode is no match, `verify` reports it).
    fn rejects(
        &mut self,
        keys: &[RejectKey],
    ) -> Result<HashMap<RejectKey, (u64, QuarantineRecord)>> {
        let mut shas: Vec<[u8; 32]> = keys.iter().map(|key| key.0).collect();
        shas.sort_unstable();
        shas.dedup();
        let wanted: HashSet<&RejectKey> = keys.iter().collect();
        let mut found = HashMap::new();
        for stored in self.txn.rejects_with_raw(&shas).map_err(from_pg)? {
            let Ok(record) = QuarantineRecord::from_bytes(&stored.record, stored.id) else {
                continue;
            };
            if record.sha256 != stored.raw_sha {
                continue;
            }
            let key = (record.sha256, record.response.clone());
            if wanted.contains(&key) {
                found.entry(key).or_insert((stored.id, record));
            }
        }
        Ok(found)
    }
}

/// The `views` table as the working set's loader: one query per round of a batch, every tree's
/// keys at once ([`Loader::read_trees`]), or one per tree asked alone.
impl Loader for Engine<'_, '_> {
    fn read(&mut self, tree: ProjectionId, keys: &[Vec<u8>], found: &mut Found<'_>) -> Result<()> {
        let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let records = self
            .txn
            .view_records(u16::from(tree.id()), &keys)
            .map_err(from_pg)?;
        for (key, record) in records {
            found(&key, &record)?;
        }
        Ok(())
    }

    fn read_trees(
        &mut self,
        asks: &[(ProjectionId, Vec<Vec<u8>>)],
        found: &mut FoundIn<'_>,
    ) -> Result<()> {
        let (mut trees, mut keys) = (Vec::new(), Vec::new());
        for (tree, tree_keys) in asks {
            for key in tree_keys {
                trees.push(u16::from(tree.id()));
                keys.push(key.as_slice());
            }
        }
        let records = self.txn.view_records_of(&trees, &keys).map_err(from_pg)?;
        for (id, key, record) in records {
            let tree = ProjectionId::ALL
                .into_iter()
                .find(|tree| u16::from(tree.id()) == id)
                .ok_or_else(|| LedgerError::Corrupt {
                    what: "views".into(),
                    reason: format!("a record of projection {id}, which this build does not know"),
                })?;
            found(tree, &key, &record)?;
        }
        Ok(())
    }
}

/// A batch prepared for PostgreSQL: the engine's prepared batch ([`ingest::prepare`]), and the
/// raw inputs it may keep already compressed, so zstd runs before the transaction (on the
/// preparing thread of [`ingest_stream`]), not under the seq lock.
pub(crate) struct Prepared {
    batch: PreparedBatch,
    compressed: HashMap<[u8; 32], CompressedRaw>,
}

/// Prepares a batch for [`write_batch`]: [`ingest::prepare`] (on this thread), then every
/// distinct raw input not already kept in the quarantine compressed.
pub(crate) fn prepare_batch(options: &Options, items: Vec<Item>) -> Prepared {
    let batch = ingest::prepare(options, items, false);
    let mut compressed = HashMap::with_capacity(batch.items.len());
    for (item, sha) in batch.items.iter().zip(&batch.shas) {
        if item.quarantined.is_none() {
            compressed
                .entry(*sha)
                .or_insert_with(|| CompressedRaw::with_sha(*sha, &item.raw));
        }
    }
    Prepared { batch, compressed }
}

/// Refuses to fold into views that are not at the log's head in this build's shape (both are
/// written in every batch's transaction, so only a rebuild cut short or another build leaves
/// them so; rebuilding PostgreSQL views is not in this build). Views never written (a new
/// ledger) get this build's shape.
fn check_views(txn: &mut pg::WriteTxn<'_>) -> Result<()> {
    let meta = txn.meta();
    let (checkpoint, next_seq, shape) = (meta.checkpoint, meta.next_seq, meta.views_version);
    let version = i32::try_from(VIEWS_VERSION).expect("the views version fits an integer");
    let corrupt = |reason: String| LedgerError::Corrupt {
        what: "the PostgreSQL views".into(),
        reason,
    };
    if checkpoint + 1 != next_seq {
        return Err(corrupt(format!(
            "they hold events up to {checkpoint}, the log's head is {}: they must be rebuilt",
            next_seq - 1
        )));
    }
    match shape {
        v if v == version => Ok(()),
        0 if next_seq == 1 => {
            txn.set_views_version(version);
            Ok(())
        }
        other => Err(corrupt(format!(
            "their records have shape {other}, this build folds shape {version}: they must be \
             rebuilt"
        ))),
    }
}

/// Decides, writes, folds and commits one prepared batch (at most [`ingest::BATCH`] items) in
/// one transaction on `client`; `now` is the new events' recorded time. The outcomes (in
/// batch order) are returned only once the COMMIT returned; on an error nothing of the batch
/// is committed.
pub(crate) fn write_batch(
    client: &mut ::postgres::Client,
    prepared: Prepared,
    now: DateTime<Utc>,
) -> Result<Vec<IngestOutcome>> {
    let Prepared { batch, compressed } = prepared;
    if batch.items.is_empty() {
        return Ok(Vec::new());
    }
    let mut txn = pg::WriteTxn::begin(client).map_err(from_pg)?;
    check_views(&mut txn)?;
    let decision = decide::decide(&mut Engine { txn: &mut txn }, batch, now)?;
    let appended = store(&mut txn, decision.writes, compressed)?;
    fold(&mut txn, &appended)?;
    txn.commit().map_err(from_pg)?;
    Ok(decision.outcomes.into_iter().flatten().collect())
}

/// Stores a write set in the transaction: raw inputs, events, quarantine changes, each kind
/// in one statement (a rewritten entry in one each); a raw input is taken from `compressed`
/// (else compressed here). Returns the appended events.
fn store(
    txn: &mut pg::WriteTxn<'_>,
    writes: WriteSet,
    mut compressed: HashMap<[u8; 32], CompressedRaw>,
) -> Result<Vec<Event>> {
    let WriteSet {
        first_seq,
        next_seq,
        next_quarantine,
        raws,
        events,
        quarantine,
    } = writes;
    let broken = |reason: String| LedgerError::Corrupt {
        what: "a PostgreSQL write set".into(),
        reason,
    };
    if first_seq != txn.next_seq() {
        return Err(broken(format!(
            "decided from seq {first_seq}, the transaction is at {}",
            txn.next_seq()
        )));
    }
    let compressed: Vec<CompressedRaw> = raws
        .iter()
        .map(|raw| {
            compressed
                .remove(&raw.sha256)
                .unwrap_or_else(|| CompressedRaw::with_sha(raw.sha256, &raw.bytes))
        })
        .collect();
    txn.insert_raw(&compressed).map_err(from_pg)?;

    // The raw inputs of the entries leaving the quarantine, for the events they become.
    let leaving: HashMap<u64, [u8; 32]> = quarantine
        .iter()
        .filter_map(|change| match change {
            QuarantineChange::Removed { id, record } => Some((*id, record.sha256)),
            _ => None,
        })
        .collect();
    let stored: Vec<Vec<u8>> = events
        .iter()
        .map(|new| ledger_event::stored::encode_event(&new.event))
        .collect();
    let rows = events
        .iter()
        .zip(&stored)
        .map(|(new, stored)| {
            let seq = new.event.seq;
            let raw_sha = match new.raw {
                RawSource::New(index) => raws.get(index).map(|raw| raw.sha256),
                RawSource::Quarantined(id) => leaving.get(&id).copied(),
            }
            .ok_or_else(|| broken(format!("event {seq} has no raw input")))?;
            Ok(pg::NewEvent {
                seq,
                stored: stored.as_slice(),
                order_id: new.event.ctid.as_deref(),
                domain: new.event.domain.as_deref(),
                dedup_key: new.key,
                own_time: new.own_time,
                raw_sha,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    txn.append_events(&rows).map_err(from_pg)?;
    drop(rows);

    let mut new_rejects = Vec::new();
    let mut rewritten = Vec::new();
    let mut removed = Vec::new();
    for change in quarantine {
        match change {
            QuarantineChange::New {
                id,
                origin,
                reason,
                untrusted,
                sha256,
                size,
                response,
                raw: _,
            } => {
                let context = response
                    .clone()
                    .map(|(ctid, command, domain)| pg::ResponseContext {
                        ctid,
                        command,
                        domain,
                    });
                let record = QuarantineRecord::new(
                    &origin, reason, sha256, size, NO_PLACE, response, untrusted,
                )
                .to_bytes()?;
                new_rejects.push((id, sha256, context, record));
            }
            QuarantineChange::Changed { id, record } => rewritten.push((id, record.to_bytes()?)),
            QuarantineChange::Removed { id, .. } => removed.push(id),
        }
    }
    let rows: Vec<pg::NewReject<'_>> = new_rejects
        .iter()
        .map(|(id, sha256, context, record)| pg::NewReject {
            id: *id,
            raw_sha: *sha256,
            response: context.as_ref(),
            record: record.as_slice(),
        })
        .collect();
    txn.insert_rejects(&rows).map_err(from_pg)?;
    for (id, record) in &rewritten {
        if !txn.replace_reject(*id, record).map_err(from_pg)? {
            return Err(broken(format!("quarantine entry {id} to rewrite is gone")));
        }
    }
    // An entry another writer released meanwhile is gone: its item is not appended twice.
    if txn.remove_rejects(&removed).map_err(from_pg)? != removed.len() as u64 {
        return Err(broken(format!(
            "of the quarantine entries {removed:?} leaving, some are gone"
        )));
    }
    if (txn.next_seq(), txn.next_quarantine()) != (next_seq, next_quarantine) {
        return Err(broken(format!(
            "the write set ends at seq {next_seq} and quarantine id {next_quarantine}, the \
             transaction at {} and {}",
            txn.next_seq(),
            txn.next_quarantine()
        )));
    }
    Ok(events.into_iter().map(|new| new.event).collect())
}

/// Folds the appended events into the stored views inside the transaction: the records the
/// folds read loaded through it, the changed ones written back (one upsert, one delete), the
/// checkpoint at the new head.
fn fold(txn: &mut pg::WriteTxn<'_>, appended: &[Event]) -> Result<()> {
    if appended.is_empty() {
        return Ok(());
    }
    let mut working = Working::over_stored();
    working.load(appended, &mut Engine { txn: &mut *txn })?;
    for event in appended {
        working.apply(event);
    }
    let changes = working.into_changes()?;
    let rows: Vec<pg::ViewChange<'_>> = changes
        .iter()
        .flat_map(|(id, changes)| {
            changes.iter().map(|(key, record)| pg::ViewChange {
                projection: u16::from(id.id()),
                key: key.as_slice(),
                record: record.as_deref(),
            })
        })
        .collect();
    txn.apply_views(&rows).map_err(from_pg)?;
    let head = txn.next_seq() - 1;
    txn.set_checkpoint(head).map_err(from_pg)
}

/// Ingests a stream of items in batches of [`ingest::BATCH`], each in one transaction
/// ([`write_batch`]), and hands each batch's outcomes (in input order) to `committed` once
/// its COMMIT returned. The items are read and prepared on a second thread, one batch ahead
/// of the writes (preparing reads no storage, so it may run ahead). `committed` returning
/// [`ControlFlow::Break`] stops the stream after that batch; an error stops it too and is
/// returned, with the batch that failed not committed and unreported.
pub(crate) fn ingest_stream<I, F>(
    client: &mut ::postgres::Client,
    options: &Options,
    items: I,
    mut committed: F,
) -> Result<()>
where
    I: IntoIterator<Item = Item>,
    I::IntoIter: Send,
    F: FnMut(Vec<IngestOutcome>) -> ControlFlow<()>,
{
    let mut items = items.into_iter();
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Prepared>(1);
        let preparer = scope.spawn(move || {
            loop {
                let batch: Vec<Item> = items.by_ref().take(ingest::BATCH).collect();
                if batch.is_empty() || sender.send(prepare_batch(options, batch)).is_err() {
                    return;
                }
            }
        });
        let mut written = || -> Result<()> {
            for batch in &receiver {
                let outcomes = write_batch(client, batch, Utc::now())?;
                if committed(outcomes).is_break() {
                    break;
                }
            }
            Ok(())
        };
        let result = written();
        // Dropping the receiver stops the preparing thread at its next batch.
        drop(receiver);
        preparer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        result
    })
}

#[cfg(test)]
mod tests;
