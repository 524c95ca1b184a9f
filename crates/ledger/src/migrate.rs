//! Migration of a layout-2 log to layout 3, in place, on open.
//!
//! Layout 3 writes about half the sled entries per event of layout 2 (sled's cost, open time
//! and page table grow with the number of entries):
//!
//! 1. Event locators: layout 2's one `e` entry per event becomes one `E` bucket per 64
//!    events ([`crate::locators`]). Stored events kept inline (a layout-1 ledger's, migrated
//!    to layout 2 as they were) are appended to a pack first, so every locator is a pack
//!    reference.
//! 2. De-duplication keys: an event with a ctid keeps its key as the value of its `by_ctid`
//!    entry (a duplicate has the same content, so the same ctid: the lookup is a scan of that
//!    ctid's few entries) instead of its own `k` entry; events without a ctid keep theirs.
//!
//! Resumable: each sled batch converts whole buckets (the bucket written, its `e` entries
//! removed) or whole `by_ctid` entries (the key written into it, its `k` entry removed), so a
//! crash leaves every record converted or not, and the next open goes on from there. The
//! layout key is set to 3 only at the end.
//!
//! Migration of a layout-3 log to layout 4, in place, on open (issue 11): the de-duplication
//! key of an AutoDNS XML/JSON notification that carries a poll message is now the message's
//! ([`ledger_event::content_key`]), not the whole notification's with its envelope
//! ([`ledger_event::content_key_v1`], what layout 3 holds). Every event is read in seq order
//! and, where its two keys differ, its `by_ctid` value is rewritten with the new key (and its
//! own time), or, without a ctid, its `dedup` entry under the old key (either form an earlier
//! build wrote) is replaced by one under the new key. Other events (the text format,
//! CentralNic, realtime responses) keep their keys: nothing is written for them.
//!
//! Resumable and idempotent: each sled batch re-keys whole events, up to [`REKEY_PER_BATCH`] seqs
//! in a row, and writes the next seq to re-key (`meta` `rekeyed`) in the same batch; what it
//! writes for an event is a function of that event alone, so re-doing one after a crash writes
//! the same entries. The layout key is set to 4 only at the end (the marker says 4 first, so a
//! layout-3 build refuses the ledger instead of writing old keys into it).

use std::collections::HashMap;

use crate::codec::{be_u64, index_key, split_index_key};
use crate::event_record::{load_event, load_stored};
use crate::ingest::{
    by_ctid_value, dedup_entry_key, encode_own_time, event_dedup_key, event_dedup_key_v1,
};
use crate::locators::{self, BUCKET, BUCKET_BYTES};
use crate::raw::{self, PackWriter};
use crate::store::{Log, META_REKEYED, storage};
use crate::{LedgerError, Result};

/// Layout-2 event entries converted per sled batch (whole buckets).
const EVENTS_PER_BATCH: usize = 64 * BUCKET as usize;
/// `by_ctid` entries converted per sled batch.
const KEYS_PER_BATCH: usize = 10_000;
/// Events re-keyed per sled batch in the migration to layout 4.
pub(crate) const REKEY_PER_BATCH: u64 = 4_096;

/// Migrates the log from layout 2 to layout 3 (see the module docs), then flushes.
pub(crate) fn layout_2_to_3(log: &Log) -> Result<()> {
    move_locators(log)?;
    move_dedup_keys(log)?;
    log.db.flush().map_err(storage("flushing the log"))?;
    Ok(())
}

/// Step 1: `e` entries into `E` buckets.
fn move_locators(log: &Log) -> Result<()> {
    let mut packs: Option<PackWriter> = None;
    let mut entries = log.legacy_events.iter().peekable();
    // The seq the next `e` entry must have: 1, or the one after the buckets a cut-short
    // migration already wrote (each whole). Any gap is refused: it would read as a shorter log.
    let mut expected = match log.locators.iter().next_back() {
        None => 1,
        Some(entry) => {
            let (key, value) = entry.map_err(storage("reading event locators"))?;
            let bucket = be_u64(&key, "event locator key")?;
            if value.len() != BUCKET_BYTES && entries.peek().is_some() {
                return Err(LedgerError::Corrupt {
                    what: format!("event locator bucket {bucket}"),
                    reason: "a migration left it short, with layout-2 events after it".into(),
                });
            }
            bucket
                .checked_add(1)
                .and_then(locators::first_seq)
                .ok_or_else(|| LedgerError::Corrupt {
                    what: format!("event locator bucket {bucket}"),
                    reason: "beyond any seq".into(),
                })?
        }
    };
    while entries.peek().is_some() {
        // Whole buckets only: take a batch's worth, then the rest of the last bucket.
        let mut chunk: Vec<(u64, sled::IVec)> = Vec::with_capacity(EVENTS_PER_BATCH);
        while let Some(entry) = entries.next_if(|entry| match (entry, chunk.last()) {
            (_, None) => true,
            (Ok((key, _)), Some((last, _))) => {
                chunk.len() < EVENTS_PER_BATCH
                    || be_u64(key, "event key")
                        .is_ok_and(|seq| locators::bucket_of(seq) == locators::bucket_of(*last))
            }
            (Err(_), Some(_)) => true,
        }) {
            let (key, value) = entry.map_err(storage("reading layout-2 events"))?;
            let seq = be_u64(&key, "event key")?;
            if seq == 0 {
                return Err(LedgerError::Corrupt {
                    what: "layout-2 event key".into(),
                    reason: "seq 0".into(),
                });
            }
            chunk.push((seq, value));
        }
        // The log must go on without a gap from where it stands.
        let mut batch = sled::Batch::default();
        for (seq, _) in &chunk {
            if *seq != expected {
                return Err(LedgerError::Corrupt {
                    what: format!("layout-2 event {seq}"),
                    reason: format!("the log has a gap before it (expected event {expected})"),
                });
            }
            expected += 1;
            batch.remove(log.legacy_events.key(&seq.to_be_bytes()));
        }
        // Inline stored events go to a pack first (written and synced before the batch).
        let inline = chunk
            .iter()
            .any(|(_, value)| value.starts_with(&ledger_event::stored::MAGIC));
        let mut pack = None;
        if inline {
            if packs.is_none() {
                packs = Some(PackWriter::open(&log.raw_dir)?);
            }
            pack = packs.as_mut().map(PackWriter::begin).transpose()?;
        }
        let places = chunk
            .iter()
            .map(|(seq, value)| match pack.as_mut() {
                Some(pack) if value.starts_with(&ledger_event::stored::MAGIC) => {
                    pack.add(value, &raw::sha256(value))
                }
                _ => reference(value, *seq),
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(pack) = pack {
            pack.commit()?;
        }
        // The chunk starts a bucket (the migration goes bucket by bucket): whole buckets.
        locators::append(log, &mut batch, chunk[0].0, &places)?;
        log.tree
            .apply_batch(batch)
            .map_err(storage("migrating event locators"))?;
    }
    Ok(())
}

/// A layout-2 locator that is a pack reference.
fn reference(value: &[u8], seq: u64) -> Result<crate::raw::PackRef> {
    raw::decode_ref(value).map_err(|e| LedgerError::Corrupt {
        what: format!("event {seq}"),
        reason: format!("neither a stored event nor a pack reference: {e}"),
    })
}

/// Step 2: the dedup keys of events with a ctid into their `by_ctid` entries. Holds every
/// remaining `k` entry in memory (about 80 MB for a million events), once.
fn move_dedup_keys(log: &Log) -> Result<()> {
    let mut key_of: HashMap<u64, [u8; 32]> = HashMap::new();
    for entry in log.dedup.iter() {
        let (key, value) = entry.map_err(storage("reading dedup keys"))?;
        if let (Ok(key), Ok(seq)) = (
            <[u8; 32]>::try_from(key.as_ref()),
            be_u64(&value, "dedup entry"),
        ) {
            key_of.insert(seq, key);
        }
    }
    let mut packs = log.event_reader()?;
    let mut entries = log.by_ctid.iter();
    loop {
        let mut batch = sled::Batch::default();
        let mut converted = 0;
        for entry in entries.by_ref() {
            let (key, value) = entry.map_err(storage("reading by_ctid"))?;
            if value.len() == 32 {
                continue;
            }
            let Some((_, seq)) = split_index_key(&key) else {
                return Err(LedgerError::Corrupt {
                    what: "by_ctid".into(),
                    reason: format!("malformed key {key:?}"),
                });
            };
            let dedup = match key_of.get(&seq) {
                Some(dedup) => *dedup,
                // No `k` entry for it (a damaged layout-2 log): the key is recomputed.
                None => {
                    let place =
                        crate::locators::locate(log, seq)?.ok_or_else(|| LedgerError::Corrupt {
                            what: format!("by_ctid entry of event {seq}"),
                            reason: "points at a missing event".into(),
                        })?;
                    let stored = load_stored(place, seq, &mut packs)?;
                    event_dedup_key(&crate::event_record::decode_stored(&stored, seq)?)
                }
            };
            batch.insert(log.by_ctid.key(&key), &dedup);
            if key_of.get(&seq) == Some(&dedup) {
                batch.remove(log.dedup.key(&dedup));
            }
            converted += 1;
            if converted == KEYS_PER_BATCH {
                break;
            }
        }
        if converted == 0 {
            return Ok(());
        }
        log.tree
            .apply_batch(batch)
            .map_err(storage("migrating dedup keys"))?;
    }
}

/// Migrates the log from layout 3 to layout 4: the dedup keys of events carrying an AutoDNS
/// poll message become the message's (see the module docs), then flushes. Goes on from the
/// `rekeyed` seq a cut-short run left.
pub(crate) fn layout_3_to_4(log: &Log) -> Result<()> {
    let head = log.next_seq()?.saturating_sub(1);
    let mut from = log.meta_counter(META_REKEYED)?.max(1);
    let mut packs = log.event_reader()?;
    while from <= head {
        let to = head.min(from.saturating_add(REKEY_PER_BATCH - 1));
        let mut batch = sled::Batch::default();
        let mut expected = from;
        for entry in locators::range(log, from, Some(to)) {
            let (seq, place) = entry?;
            if seq != expected {
                return Err(LedgerError::Corrupt {
                    what: format!("event {expected}"),
                    reason: "missing from the log (found while re-keying for layout 4)".into(),
                });
            }
            expected += 1;
            let event = load_event(place, seq, &mut packs)?;
            rekey(log, &mut batch, seq, &event)?;
        }
        if expected != to + 1 {
            return Err(LedgerError::Corrupt {
                what: format!("event {expected}"),
                reason: "missing from the log (found while re-keying for layout 4)".into(),
            });
        }
        batch.insert(log.meta.key(META_REKEYED), &(to + 1).to_be_bytes());
        log.tree
            .apply_batch(batch)
            .map_err(storage("re-keying dedup entries"))?;
        from = to + 1;
    }
    log.db.flush().map_err(storage("flushing the log"))?;
    Ok(())
}

/// Adds to `batch` what moves event `seq` from its layout-3 dedup key to its layout-4 one;
/// nothing when they are the same.
fn rekey(log: &Log, batch: &mut sled::Batch, seq: u64, event: &ledger_event::Event) -> Result<()> {
    let new = event_dedup_key(event);
    let old = event_dedup_key_v1(event);
    if new == old {
        return Ok(());
    }
    let own_time = ledger_event::own_time(&event.notification);
    match event.ctid.as_deref() {
        Some(ctid) => batch.insert(
            log.by_ctid.key(&index_key(ctid, seq)),
            by_ctid_value(&new, own_time),
        ),
        None => {
            batch.remove(log.dedup.key(&dedup_entry_key(&old, seq)));
            // The form of the builds before own times: key → seq.
            if let Some(value) = log.dedup.get(old).map_err(storage("reading dedup keys"))?
                && be_u64(&value, "dedup entry").ok() == Some(seq)
            {
                batch.remove(log.dedup.key(&old));
            }
            batch.insert(
                log.dedup.key(&dedup_entry_key(&new, seq)),
                encode_own_time(own_time),
            );
        }
    }
    Ok(())
}
