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

use std::collections::HashMap;

use crate::codec::{be_u64, load_stored, split_index_key};
use crate::ingest::event_dedup_key;
use crate::locators::{self, BUCKET, BUCKET_BYTES};
use crate::raw::{self, PackWriter};
use crate::store::{Log, storage};
use crate::{LedgerError, Result};

/// Layout-2 event entries converted per sled batch (whole buckets).
const EVENTS_PER_BATCH: usize = 64 * BUCKET as usize;
/// `by_ctid` entries converted per sled batch.
const KEYS_PER_BATCH: usize = 10_000;

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
fn reference(value: &[u8], seq: u64) -> Result<ledger_event::RawRef> {
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
                    event_dedup_key(&crate::codec::decode_stored(&stored, seq)?)
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
