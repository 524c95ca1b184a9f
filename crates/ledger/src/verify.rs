//! `verify`: every difference between what is stored and a fresh fold of the log, one line each.

use ledger_event::Event;
use serde::Serialize;

use crate::Result;
use crate::codec::{be_u64, hex, index_key, split_index_key};
use crate::event_record::{load_event, load_event_and_raw};
use crate::ingest::{
    EntryTime, decode_own_time, dedup_entry_key, event_dedup_key, split_by_ctid_value,
    split_dedup_entry,
};
use crate::projections::ProjectionId;
use crate::quarantine::{self, QuarantineRecord};
use crate::raw;
use crate::spill::Fold;
use crate::store::{Log, META_NEXT_QUARANTINE, META_QUARANTINE_INDEXED, Views, storage};
use crate::views::Difference;

/// Events folded at once.
const FOLD_CHUNK: usize = 256;

/// What [`crate::Ledger::verify`] found: every difference between the stored indexes and projections
/// and a fresh fold of the log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// Each difference, one line.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// True when nothing differs.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the log's indexes and dedup keys, and every projection against a fresh fold.
pub(crate) fn verify(log: &Log, views: &Views) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let problems = &mut report.problems;
    let head = log.next_seq()? - 1;
    // The fresh fold, in bounded memory (spilled as a rebuild's is), fed in chunks.
    let mut fresh = Fold::new(&views.fold_dir, views.fold_memory)?;
    let mut chunk: Vec<Event> = Vec::with_capacity(FOLD_CHUNK);
    let mut expected_seq = 1u64;
    let mut packs = log.event_reader()?;
    // How many entries each index must hold (one per decoded event with a ctid / a domain),
    // and whether one of them was missing: with none missing and no more entries than that,
    // every entry is one an event asked for, so the index walk below need not know which
    // event has which name (nothing is kept per event). Otherwise it reads the event of each
    // entry again.
    let mut expected_entries = [0u64; 2];
    let mut entry_missing = [false; 2];

    // Every event: decodes, is in sequence, is in its indexes and its dedup key, and its raw
    // bytes read back whole.
    for entry in crate::locators::range(log, 1, None) {
        let (seq, place) = match entry {
            Ok(entry) => entry,
            Err(e) => {
                problems.push(format!("events: {e}"));
                continue;
            }
        };
        report.events += 1;
        if seq != expected_seq {
            problems.push(format!(
                "events: seq {seq} follows {} (gap)",
                expected_seq - 1
            ));
        }
        expected_seq = seq + 1;
        let (event, raw_place) = match load_event_and_raw(place, seq, &mut packs) {
            Ok(loaded) => loaded,
            Err(e) => {
                problems.push(format!("event {seq}: does not decode: {e}"));
                continue;
            }
        };
        expected_entries[0] += u64::from(event.ctid.is_some());
        expected_entries[1] += u64::from(event.domain.is_some());
        if event.seq != seq {
            problems.push(format!(
                "event {seq}: stored under seq {seq} but says seq {}",
                event.seq
            ));
        }
        let dedup_key = event_dedup_key(&event);
        let own_time = ledger_event::own_time(&event.notification);
        // An event with a ctid keeps its dedup key and own time in its by_ctid entry (an
        // earlier build's entry: the key alone); one without, in dedup.
        if let Some(ctid) = &event.ctid {
            match log
                .by_ctid
                .get(index_key(ctid, seq))
                .map_err(storage("reading by_ctid"))?
            {
                Some(value) => match split_by_ctid_value(&value) {
                    Ok((key, _)) if key != dedup_key => problems.push(format!(
                        "event {seq}: its by_ctid entry under {ctid:?} holds dedup key {} instead of {}",
                        hex(&key),
                        hex(&dedup_key)
                    )),
                    Ok((_, EntryTime::Known(time))) if time != own_time => problems.push(format!(
                        "event {seq}: its by_ctid entry under {ctid:?} holds own time {time:?} instead of {own_time:?}"
                    )),
                    Ok(_) => {}
                    Err(e) => problems.push(format!("event {seq}: {e}")),
                },
                None => {
                    entry_missing[0] = true;
                    problems.push(format!("event {seq}: missing from by_ctid under {ctid:?}"));
                }
            }
        }
        if let Some(domain) = &event.domain
            && !log
                .by_domain
                .contains_key(index_key(domain, seq))
                .map_err(storage("reading by_domain"))?
        {
            entry_missing[1] = true;
            problems.push(format!(
                "event {seq}: missing from by_domain under {domain:?}"
            ));
        }
        if event.ctid.is_none() {
            // This build's entry (key ++ seq → own time), else an earlier build's (key → seq).
            match log
                .dedup
                .get(dedup_entry_key(&dedup_key, seq))
                .map_err(storage("reading dedup"))?
            {
                Some(value) => match decode_own_time(&value, "dedup entry") {
                    Ok(time) if time == own_time => {}
                    Ok(time) => problems.push(format!(
                        "event {seq}: its dedup entry holds own time {time:?} instead of {own_time:?}"
                    )),
                    Err(e) => problems.push(format!("event {seq}: {e}")),
                },
                None => match log.dedup.get(dedup_key).map_err(storage("reading dedup"))? {
                    Some(bytes) if bytes.as_ref() == seq.to_be_bytes() => {}
                    Some(bytes) => problems.push(format!(
                        "event {seq}: its dedup key points at {}",
                        be_u64(&bytes, "dedup entry")
                            .map_or_else(|e| e.to_string(), |s| s.to_string())
                    )),
                    None => problems.push(format!("event {seq}: its dedup key is missing")),
                },
            }
        }
        // The raw bytes are read back (they share a block with the event, mostly: the block
        // just decompressed) and must be the bytes the event was recorded from.
        match packs.read(raw_place) {
            Ok(bytes) if raw::sha256(&bytes) == event.source.sha256 => {}
            Ok(_) => problems.push(format!(
                "event {seq}: its raw bytes are not the ones it was recorded from (SHA-256)"
            )),
            Err(e) => problems.push(format!("event {seq}: its raw bytes cannot be read: {e}")),
        }
        chunk.push(event);
        if chunk.len() == FOLD_CHUNK {
            fresh.fold(&chunk)?;
            chunk.clear();
        }
    }
    fresh.fold(&chunk)?;
    drop(chunk);
    if expected_seq - 1 != head {
        problems.push(format!(
            "meta: next seq says head {head}, the log ends at {}",
            expected_seq - 1
        ));
    }

    // Every index entry points at an event with that ctid / domain: without a missing entry,
    // a count says so (every expected entry is there, and there are no more); otherwise each
    // entry's event is read again.
    for (which, (name, tree)) in [("by_ctid", &log.by_ctid), ("by_domain", &log.by_domain)]
        .into_iter()
        .enumerate()
    {
        let (mut entries, mut malformed) = (0u64, Vec::new());
        for entry in tree.iter() {
            let (key, _) = entry.map_err(storage("reading an index"))?;
            if split_index_key(&key).is_none() {
                malformed.push(format!("{name}: malformed key {key:?}"));
                continue;
            }
            entries += 1;
        }
        if entries == expected_entries[which] && !entry_missing[which] {
            problems.append(&mut malformed);
            continue;
        }
        for entry in tree.iter() {
            let (key, _) = entry.map_err(storage("reading an index"))?;
            let Some((prefix, seq)) = split_index_key(&key) else {
                problems.push(format!("{name}: malformed key {key:?}"));
                continue;
            };
            let prefix = String::from_utf8_lossy(prefix);
            let Some(place) = crate::locators::locate(log, seq)? else {
                problems.push(format!("{name}[{prefix:?}]: points at missing event {seq}"));
                continue;
            };
            // An event that does not decode was reported above.
            let Ok(event) = load_event(place, seq, &mut packs) else {
                continue;
            };
            let actual = if which == 0 { event.ctid } else { event.domain };
            if actual.as_deref() != Some(prefix.as_ref()) {
                problems.push(format!(
                    "{name}[{prefix:?}]: points at event {seq}, which has {actual:?}"
                ));
            }
        }
    }
    for entry in log.dedup.iter() {
        let (key, value) = entry.map_err(storage("reading dedup"))?;
        match split_dedup_entry(&key, &value) {
            Ok((seq, _)) if seq >= 1 && seq <= head => {}
            Ok((seq, _)) => problems.push(format!("dedup: an entry points at missing event {seq}")),
            Err(e) => problems.push(format!("dedup: {e}")),
        }
    }
    // Every quarantine record decodes and is in the SHA-256 index; every index entry points
    // at a record with that SHA-256; the index covers every id given out.
    for entry in log.quarantine.iter() {
        let (key, value) = entry.map_err(storage("reading the quarantine"))?;
        let id = be_u64(&key, "quarantine key").unwrap_or(0);
        match QuarantineRecord::from_bytes(&value, id) {
            Ok(record) => {
                if !log
                    .quarantine_by_sha
                    .contains_key(quarantine::index_key(&record.sha256, id))
                    .map_err(storage("reading the quarantine index"))?
                {
                    problems.push(format!(
                        "quarantine {id}: missing from the sha256 index under {}",
                        hex(&record.sha256)
                    ));
                }
            }
            Err(e) => problems.push(format!("quarantine {id}: {e}")),
        }
    }
    for entry in log.quarantine_by_sha.iter() {
        let (key, _) = entry.map_err(storage("reading the quarantine index"))?;
        let (sha, id) = match (key.len(), be_u64(key.get(32..).unwrap_or_default(), "id")) {
            (40, Ok(id)) => (hex(&key[..32]), id),
            _ => {
                problems.push(format!("quarantine sha256 index: malformed key {key:?}"));
                continue;
            }
        };
        match log
            .quarantine
            .get(id.to_be_bytes())
            .map_err(storage("reading the quarantine"))?
        {
            None => problems.push(format!(
                "quarantine sha256 index[{sha}]: points at missing entry {id}"
            )),
            Some(bytes) => match QuarantineRecord::from_bytes(&bytes, id) {
                Ok(record) if hex(&record.sha256) == sha => {}
                Ok(record) => problems.push(format!(
                    "quarantine sha256 index[{sha}]: points at entry {id}, which has {}",
                    hex(&record.sha256)
                )),
                // Reported above.
                Err(_) => {}
            },
        }
    }
    let indexed = log.meta_counter(META_QUARANTINE_INDEXED)?;
    let next_quarantine = log.meta_counter(META_NEXT_QUARANTINE)?;
    if indexed < next_quarantine {
        problems.push(format!(
            "meta: the quarantine is indexed below id {indexed}, ids are given out below \
             {next_quarantine}"
        ));
    }

    // The views: checkpoint, then each projection record against the fresh fold.
    match views.checkpoint()? {
        Some(checkpoint) if checkpoint == head => {}
        other => problems.push(format!(
            "views: checkpoint is {other:?}, the log head is {head}"
        )),
    }
    if views.is_outdated()? {
        problems.push("views: written by a build with other projection records".into());
    }
    // Each tree's stored records against the fold's, both walked in key order.
    let mut fresh = fresh.finish()?;
    for id in ProjectionId::ALL {
        let name = id.name();
        let mut missing = Vec::new();
        crate::views::diff(views.tree(id), id, &mut fresh, |difference| {
            match difference {
                Difference::Differs(key, _) => problems.push(format!(
                    "{name}[{}]: stored record differs from a fresh fold",
                    show_key(id, &key)
                )),
                Difference::Extra(key) => problems.push(format!(
                    "{name}[{}]: stored record has no counterpart in a fresh fold",
                    show_key(id, &key)
                )),
                // Reported after the tree's stored records, as they always were.
                Difference::Missing(key, _) => missing.push(format!(
                    "{name}[{}]: missing (a fresh fold has it)",
                    show_key(id, &key)
                )),
            }
            Ok(())
        })?;
        problems.append(&mut missing);
    }
    Ok(report)
}

fn show_key(tree: ProjectionId, key: &[u8]) -> String {
    if tree == crate::projections::failed_creates::TREE
        && let Ok(seq) = be_u64(key, "key")
    {
        return format!("seq {seq}");
    }
    if let Some(described) = crate::projections::transfer_index::describe(tree, key) {
        return described;
    }
    String::from_utf8_lossy(key).replace('\0', ":")
}
