//! The write path: raw bytes in, events (or duplicates, or quarantine entries) out, appended to
//! the log in one atomic sled batch, then folded into the views in one views batch.
//!
//! Three steps per batch: [`prepare`] (hash, parse, trust check, dedup key, classify: no
//! storage is read, so it can run on any thread), [`stage`] (look the keys up, assign seqs and
//! quarantine ids from a [`Cursor`], write and sync the pack, gather the log entries) and
//! [`commit`] (the writes below that follow the pack). A pipelined ingest
//! (`Ledger::ingest_stream`) stages batch n + 1 while batch n is committed.
//!
//! Order of writes for one batch, and what a crash between them leaves:
//! 1. new raw blobs and the new events (stored form) appended to the current pack in one
//!    write and synced: at worst unreferenced bytes;
//! 2. `views/meta/dirty` set and flushed (once per writing session): the views are now known to
//!    be possibly behind;
//! 3. the log batch (event locators, both indexes, dedup keys, quarantine entries and their
//!    SHA-256 index entries, next seq / next quarantine id / quarantine indexed), then
//!    `log.flush()`: from here the outcomes are reported;
//! 4. the views batch (every changed projection record, `checkpoint`), not flushed. A crash
//!    before it leaves `dirty` set; whoever opens the ledger next catches the views up from
//!    `checkpoint`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ledger_event::{Event, Origin, Source, classify, content_key};
use ledger_parser::{DomainName, Format, Notification, ParseOptions};
use sha2::{Digest, Sha256};

use crate::codec::{be_u64, index_key, index_prefix, split_index_key};
use crate::quarantine::{self, QuarantineRecord, ResponseTuple};
use crate::raw::{self, PackRef, PackWriter};
use crate::store::{
    Log, META_NEXT_QUARANTINE, META_NEXT_SEQ, META_QUARANTINE_INDEXED, Views, storage,
};
use crate::views;
use crate::{IngestOutcome, LedgerError, Options, Result};

/// Items per log batch in `ingest_batch` and `reparse`.
pub(crate) const BATCH: usize = 1_000;

/// What `record_response` knows beside the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResponseContext {
    pub(crate) ctid: String,
    pub(crate) command: Option<String>,
    pub(crate) domain: Option<String>,
}

/// One item to write.
pub(crate) struct Item {
    pub(crate) raw: Vec<u8>,
    pub(crate) origin: Origin,
    pub(crate) response: Option<ResponseContext>,
    /// Set when the item is a quarantine entry being re-parsed: its id and stored record.
    pub(crate) quarantined: Option<(u64, QuarantineRecord)>,
    /// True when the trust policy does not apply (`record_response`, `release`).
    pub(crate) trusted: bool,
}

/// The de-duplication key of an event. A notification's own content key, except for a
/// CentralNic response recorded for an order (`record_response`): the same response text
/// ("200 Command completed successfully") answers many orders, so its key also covers the
/// ctid, command and domain it was recorded with.
pub(crate) fn dedup_key(
    notification: &Notification,
    ctid: Option<&str>,
    command: Option<&str>,
    domain: Option<&str>,
) -> [u8; 32] {
    response_key(
        content_key(notification),
        notification,
        ctid,
        command,
        domain,
    )
}

/// The dedup key of an event with the content key `content`: that key, or for a response
/// recorded for an order (see [`dedup_key`]) a hash of it with the ctid, command and domain.
fn response_key(
    content: [u8; 32],
    notification: &Notification,
    ctid: Option<&str>,
    command: Option<&str>,
    domain: Option<&str>,
) -> [u8; 32] {
    match ctid {
        Some(ctid) if notification.ctid.as_deref() != Some(ctid) => {
            let mut hasher = Sha256::new();
            hasher.update(b"ledger response key v1\0");
            hasher.update(content);
            for part in [Some(ctid), command, domain] {
                hasher.update(part.unwrap_or("").as_bytes());
                hasher.update([0u8]);
            }
            hasher.finalize().into()
        }
        _ => content,
    }
}

/// What a dedup entry says of its event's own time ([`ledger_event::own_time`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryTime {
    /// Written by this build: the event's own time, `None` when it has none.
    Known(Option<DateTime<Utc>>),
    /// Written by an earlier build (a bare key): the own time is read from the event.
    Unrecorded,
}

/// The tags of a dedup entry's own-time part (after the 32-byte key in a `by_ctid` value, the
/// whole value of a `dedup` entry): `0` no own time, `1` then the time in µs (i64 BE).
const NO_OWN_TIME: u8 = 0;
const OWN_TIME: u8 = 1;

/// The own-time part of a dedup entry (see [`EntryTime`]).
pub(crate) fn encode_own_time(time: Option<DateTime<Utc>>) -> Vec<u8> {
    match time {
        None => vec![NO_OWN_TIME],
        Some(time) => {
            let mut out = Vec::with_capacity(9);
            out.push(OWN_TIME);
            out.extend_from_slice(&time.timestamp_micros().to_be_bytes());
            out
        }
    }
}

/// Reads the own-time part of a dedup entry; `what` names it in errors.
pub(crate) fn decode_own_time(bytes: &[u8], what: &str) -> Result<Option<DateTime<Utc>>> {
    let corrupt = |reason: String| LedgerError::Corrupt {
        what: what.to_string(),
        reason,
    };
    match bytes {
        [NO_OWN_TIME] => Ok(None),
        [OWN_TIME, micros @ ..] => {
            let micros: [u8; 8] = micros
                .try_into()
                .map_err(|_| corrupt(format!("own time of {} bytes", micros.len())))?;
            DateTime::from_timestamp_micros(i64::from_be_bytes(micros))
                .map(Some)
                .ok_or_else(|| corrupt("own time out of range".into()))
        }
        _ => Err(corrupt(format!("own-time part {bytes:?}"))),
    }
}

/// The `by_ctid` value of an event: its dedup key, then its own time.
pub(crate) fn by_ctid_value(key: &[u8; 32], own_time: Option<DateTime<Utc>>) -> Vec<u8> {
    let mut value = key.to_vec();
    value.extend(encode_own_time(own_time));
    value
}

/// A `by_ctid` value's dedup key and own time: 32 bytes (an earlier build) or 33 / 41 bytes.
pub(crate) fn split_by_ctid_value(value: &[u8]) -> Result<([u8; 32], EntryTime)> {
    let key: [u8; 32] = value
        .get(..32)
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| LedgerError::Corrupt {
            what: "by_ctid".into(),
            reason: format!("a value of {} bytes", value.len()),
        })?;
    if value.len() == 32 {
        return Ok((key, EntryTime::Unrecorded));
    }
    Ok((
        key,
        EntryTime::Known(decode_own_time(&value[32..], "by_ctid value")?),
    ))
}

/// The `dedup` key of an event without a ctid: its dedup key ++ seq BE (several events may
/// share a content key when their own times are far apart). An earlier build wrote the dedup
/// key alone, with the seq as the value.
pub(crate) fn dedup_entry_key(key: &[u8; 32], seq: u64) -> Vec<u8> {
    let mut out = key.to_vec();
    out.extend_from_slice(&seq.to_be_bytes());
    out
}

/// A `dedup` entry's seq and own time, from its key (after the prefix) and value.
pub(crate) fn split_dedup_entry(key: &[u8], value: &[u8]) -> Result<(u64, EntryTime)> {
    match key.len() {
        32 => Ok((be_u64(value, "dedup entry")?, EntryTime::Unrecorded)),
        40 => Ok((
            be_u64(&key[32..], "dedup key")?,
            EntryTime::Known(decode_own_time(value, "dedup entry")?),
        )),
        n => Err(LedgerError::Corrupt {
            what: "dedup".into(),
            reason: format!("a key of {n} bytes"),
        }),
    }
}

/// The own time of event `seq`, for an entry an earlier build wrote without it.
fn own_time_of_event(log: &Log, seq: u64) -> Result<Option<DateTime<Utc>>> {
    let place = crate::locators::locate(log, seq)?.ok_or_else(|| LedgerError::Corrupt {
        what: "dedup".into(),
        reason: format!("an entry points at missing event {seq}"),
    })?;
    log.with_query_reader(|packs| {
        let event = crate::event_record::load_event(place, seq, packs)?;
        Ok(ledger_event::own_time(&event.notification))
    })
}

/// The event already in the log of which an item with dedup key `key`, own time `own_time`
/// and ctid `ctid` is a copy: the first (lowest seq) with that key whose own time is within
/// [`ledger_event::COPY_WINDOW`] of the item's, or that has none, or the item has none (see
/// [`ledger_event::is_copy`]).
///
/// Layout 3 keeps an event's key in its `by_ctid` entry when it has a ctid, and in `dedup`
/// only when it has none; equal keys mean equal ctids (the key covers the notification's ctid,
/// or the one `record_response` was given), so the ctid's entries are the only place to look.
/// This assumes an order has a handful of events (AutoDNS: a job's results; CentralNic: one
/// response per command): a ctid with thousands would make each delivery for it scan them all.
/// Without a ctid, the events of one key are one prefix scan of `dedup`. An entry written by
/// an earlier build has no own time beside it: the event is read (only when its key matches).
fn stored_duplicate(
    log: &Log,
    key: &[u8; 32],
    own_time: Option<DateTime<Utc>>,
    ctid: Option<&str>,
) -> Result<Option<u64>> {
    let mut candidates: Vec<(u64, EntryTime)> = Vec::new();
    match ctid {
        None => {
            for entry in log.dedup.scan_prefix(key) {
                let (entry_key, value) = entry.map_err(storage("reading dedup keys"))?;
                candidates.push(split_dedup_entry(&entry_key, &value)?);
            }
        }
        Some(ctid) => {
            for entry in log.by_ctid.scan_prefix(&index_prefix(ctid)) {
                let (index, value) = entry.map_err(storage("reading by_ctid"))?;
                if value.get(..32) != Some(key.as_slice()) {
                    continue;
                }
                let (_, time) = split_by_ctid_value(&value)?;
                match split_index_key(&index) {
                    Some((_, seq)) => candidates.push((seq, time)),
                    None => {
                        return Err(LedgerError::Corrupt {
                            what: "by_ctid".into(),
                            reason: format!("malformed key {index:?}"),
                        });
                    }
                }
            }
        }
    }
    candidates.sort_by_key(|(seq, _)| *seq);
    for (seq, time) in candidates {
        let existing = match time {
            EntryTime::Known(time) => time,
            EntryTime::Unrecorded if own_time.is_none() => None,
            EntryTime::Unrecorded => own_time_of_event(log, seq)?,
        };
        if ledger_event::is_copy(own_time, existing) {
            return Ok(Some(seq));
        }
    }
    Ok(None)
}

/// The events of a batch (or of the batch staged before it) by dedup key: their seqs and own
/// times, in seq order.
type RecentKeys = HashMap<[u8; 32], Vec<(u64, Option<DateTime<Utc>>)>>;

/// The first of `recent`'s events with `key` of which an item with `own_time` is a copy.
fn recent_duplicate(
    recent: &RecentKeys,
    key: &[u8; 32],
    own_time: Option<DateTime<Utc>>,
) -> Option<u64> {
    recent.get(key).and_then(|events| {
        events
            .iter()
            .find(|(_, time)| ledger_event::is_copy(own_time, *time))
            .map(|(seq, _)| *seq)
    })
}

/// The dedup key of a stored event (what `verify` recomputes).
pub(crate) fn event_dedup_key(event: &Event) -> [u8; 32] {
    dedup_key(
        &event.notification,
        event.ctid.as_deref(),
        event.command.as_deref(),
        event.domain.as_deref(),
    )
}

/// The dedup key the builds before issue 11 gave a stored event (layout 3: the whole
/// notification's content key, [`ledger_event::content_key_v1`]); the migration to layout 4
/// finds the `dedup` entries they wrote by it.
pub(crate) fn event_dedup_key_v1(event: &Event) -> [u8; 32] {
    response_key(
        ledger_event::content_key_v1(&event.notification),
        &event.notification,
        event.ctid.as_deref(),
        event.command.as_deref(),
        event.domain.as_deref(),
    )
}

enum Prepared {
    /// `stored`: the seq of the event already holding this key, in the log or in the batch
    /// staged just before (the cursor's `recent_keys`) of which it is a copy; the writer lock
    /// and sled's process lock keep it true until the commit. `own_time`: the notification's
    /// own time ([`ledger_event::own_time`]).
    Parsed {
        key: [u8; 32],
        own_time: Option<DateTime<Utc>>,
        stored: Option<u64>,
    },
    Failed {
        /// Why, for the quarantine record.
        reason: String,
        /// True when it parsed but failed the trust policy.
        untrusted: bool,
        /// The quarantine record to write, if any.
        record: Option<Vec<u8>>,
    },
}

/// For a rejected item that is not being re-read from the quarantine: whether it is there
/// already (the same raw bytes, and the same `record_response` context).
enum Kept {
    /// Not yet: a new entry (and its raw bytes) is written.
    New,
    /// Already in the quarantine, under this id: nothing is added.
    Stored(u64, Box<QuarantineRecord>),
    /// The same as the rejected item at this index of the batch: it gets that item's id.
    InBatch(usize),
}

/// What an item came to before any storage is read: a keyed event (its seq, recorded time
/// and raw place still to set), or why it is rejected.
enum Pre {
    Event(Box<Event>, [u8; 32]),
    Rejected {
        reason: String,
        /// True when it parsed but failed the trust policy.
        untrusted: bool,
    },
}

/// A batch parsed, checked and keyed: everything of the write path that reads no storage, so it
/// can be done on another thread while the previous batch is written ([`prepare`]).
pub(crate) struct PreparedBatch {
    items: Vec<Item>,
    shas: Vec<[u8; 32]>,
    pres: Vec<Pre>,
}

impl PreparedBatch {
    /// The batches one after the other, as one (a group commit of items prepared apart).
    pub(crate) fn concat(batches: impl IntoIterator<Item = PreparedBatch>) -> PreparedBatch {
        let mut all = PreparedBatch {
            items: Vec::new(),
            shas: Vec::new(),
            pres: Vec::new(),
        };
        for batch in batches {
            all.items.extend(batch.items);
            all.shas.extend(batch.shas);
            all.pres.extend(batch.pres);
        }
        all
    }
}

/// Hashes, parses and checks one item, and keys and classifies its event.
fn prepare_one(options: &Options, item: &Item, now: DateTime<Utc>) -> ([u8; 32], Pre) {
    let sha = raw::sha256(&item.raw);
    let parse_options = ParseOptions {
        format: item.response.as_ref().map(|_| Format::CentralNic),
        source_tz: options.source_tz,
        max_size: options.max_input_size,
    };
    let notification = match ledger_parser::parse(&item.raw, &parse_options) {
        Ok(notification) => notification,
        Err(error) => {
            let reason = error.to_string();
            return (
                sha,
                Pre::Rejected {
                    reason,
                    untrusted: false,
                },
            );
        }
    };
    if let Some(policy) = options.trust.as_ref().filter(|_| !item.trusted)
        && let Err(reason) = policy.check(notification.mail.as_ref())
    {
        return (
            sha,
            Pre::Rejected {
                reason,
                untrusted: true,
            },
        );
    }
    let ctx = item.response.as_ref();
    let command = ctx.and_then(|c| c.command.clone());
    let ctid = ctx
        .map(|c| c.ctid.clone())
        .or_else(|| notification.ctid.clone());
    let domain = notification
        .domain
        .as_ref()
        .map(|d| d.as_str().to_string())
        .or_else(|| ctx.and_then(|c| c.domain.clone()));
    let key = dedup_key(
        &notification,
        ctid.as_deref(),
        command.as_deref(),
        domain.as_deref(),
    );
    let event = Event {
        seq: 0,
        recorded_at: now,
        occurred_at: notification.occurred_at(),
        kind: classify(&notification, command.as_deref()),
        provider: notification.provider,
        ctid,
        domain,
        command,
        source: Source {
            sha256: sha,
            message_id: notification
                .mail
                .as_ref()
                .and_then(|m| m.message_id.clone()),
            origin: item.origin.clone(),
        },
        notification,
    };
    (sha, Pre::Event(Box::new(event), key))
}

/// Items from which [`prepare`] uses two threads when asked to.
const PARALLEL_PARSE: usize = 64;

/// Hashes, parses, checks and keys every item (no storage is read). With `two_threads`, a
/// large batch's second half is done on another thread: parsing is the largest share of the
/// per-item work outside sled. (A pipelined ingest prepares the next batch on its own thread
/// while this one is written, and asks for two threads only when nothing is being written.)
pub(crate) fn prepare(options: &Options, items: Vec<Item>, two_threads: bool) -> PreparedBatch {
    let now = Utc::now();
    let prepared: Vec<([u8; 32], Pre)> = if !two_threads || items.len() < PARALLEL_PARSE {
        items
            .iter()
            .map(|item| prepare_one(options, item, now))
            .collect()
    } else {
        let (first, second) = items.split_at(items.len() / 2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| {
                second
                    .iter()
                    .map(|item| prepare_one(options, item, now))
                    .collect::<Vec<_>>()
            });
            let mut out: Vec<_> = first
                .iter()
                .map(|item| prepare_one(options, item, now))
                .collect();
            out.extend(
                other
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
            out
        })
    };
    let (shas, pres) = prepared.into_iter().unzip();
    PreparedBatch { items, shas, pres }
}

/// Where the next batch's seqs and quarantine ids start, and what the batch staged before it
/// added (its dedup keys and new quarantine entries), which the log does not show until that
/// batch is committed. A pipelined ingest stages batch n + 1 while batch n is committed
/// (never further ahead: see [`crate::Ledger::ingest_stream`]), so the batch before is the
/// only one the log may not show yet.
pub(crate) struct Cursor {
    next_seq: u64,
    next_quarantine: u64,
    recent_keys: RecentKeys,
    recent_rejects: HashMap<([u8; 32], ResponseTuple), (u64, QuarantineRecord)>,
}

impl Cursor {
    /// The cursor of a log with nothing staged: its counters as stored.
    pub(crate) fn read(log: &Log) -> Result<Cursor> {
        Ok(Cursor {
            next_seq: log.next_seq()?,
            next_quarantine: log.meta_counter(META_NEXT_QUARANTINE)?,
            recent_keys: HashMap::new(),
            recent_rejects: HashMap::new(),
        })
    }
}

/// A batch staged: its raw bytes and stored events written to the pack and synced, its log
/// entries gathered, not yet committed ([`commit`]).
pub(crate) struct Staged {
    batch: sled::Batch,
    /// The seq of the first new event, and where each new event's stored form is.
    first_seq: u64,
    places: Vec<PackRef>,
    appended: Vec<Event>,
    outcomes: Vec<Option<IngestOutcome>>,
}

/// Stages one prepared batch: looks its keys up (in the log and in what `cursor` says the
/// batch before added), assigns seqs and quarantine ids, writes and syncs the pack, and
/// gathers the log entries. A quarantined item that still fails keeps its entry (rewritten
/// only when its reason changed) and is reported `Rejected` with its id. So is a rejected item
/// already in the quarantine (found by the SHA-256 of its raw bytes, and for
/// `record_response` its context), or earlier in the batch: no entry or raw bytes are added.
pub(crate) fn stage(
    log: &Log,
    packs: &mut PackWriter,
    batch: PreparedBatch,
    cursor: &mut Cursor,
) -> Result<Staged> {
    let PreparedBatch { items, shas, pres } = batch;
    if items.is_empty() {
        return Ok(Staged {
            batch: sled::Batch::default(),
            first_seq: cursor.next_seq,
            places: Vec::new(),
            appended: Vec::new(),
            outcomes: Vec::new(),
        });
    }
    let now = Utc::now();

    // Look the keys up; decide which raw bytes must be written.
    let mut events: Vec<Option<Event>> = Vec::with_capacity(items.len());
    let mut prepared = Vec::with_capacity(items.len());
    let mut refs: Vec<Option<PackRef>> = vec![None; items.len()];
    let mut known_raw: HashMap<[u8; 32], usize> = HashMap::new();
    let mut to_write: Vec<usize> = Vec::new();
    // The own times of the items of this batch that will be appended, by key (the same
    // decisions as `seen` below makes).
    let mut keys_in_batch: HashMap<[u8; 32], Vec<Option<DateTime<Utc>>>> = HashMap::new();
    let mut kept: Vec<Kept> = Vec::with_capacity(items.len());
    let mut rejects_in_batch: HashMap<([u8; 32], ResponseTuple), usize> = HashMap::new();
    for ((i, item), pre) in items.iter().enumerate().zip(pres) {
        let (mut needs_raw, prep, event) = match pre {
            Pre::Event(mut event, key) => {
                event.recorded_at = now;
                let own_time = ledger_event::own_time(&event.notification);
                let stored = match stored_duplicate(log, &key, own_time, event.ctid.as_deref())? {
                    Some(seq) => Some(seq),
                    None => recent_duplicate(&cursor.recent_keys, &key, own_time),
                };
                let in_batch = keys_in_batch.get(&key).is_some_and(|times| {
                    times
                        .iter()
                        .any(|time| ledger_event::is_copy(own_time, *time))
                });
                let duplicate = in_batch || stored.is_some();
                if !duplicate {
                    keys_in_batch.entry(key).or_default().push(own_time);
                }
                (
                    !duplicate,
                    Prepared::Parsed {
                        key,
                        own_time,
                        stored,
                    },
                    Some(*event),
                )
            }
            Pre::Rejected { reason, untrusted } => (
                item.quarantined.is_none(),
                Prepared::Failed {
                    reason,
                    untrusted,
                    record: None,
                },
                None,
            ),
        };
        let mut keep = Kept::New;
        if matches!(prep, Prepared::Failed { .. }) && item.quarantined.is_none() {
            let response = response_tuple(item);
            let in_batch = (shas[i], response);
            if let Some(&j) = rejects_in_batch.get(&in_batch) {
                keep = Kept::InBatch(j);
            } else if let Some((id, record)) = quarantine::find(log, &shas[i], &in_batch.1)? {
                keep = Kept::Stored(id, Box::new(record));
            } else if let Some((id, record)) = cursor.recent_rejects.get(&in_batch) {
                keep = Kept::Stored(*id, Box::new(record.clone()));
            } else {
                rejects_in_batch.insert(in_batch, i);
            }
            needs_raw = matches!(keep, Kept::New);
        }
        kept.push(keep);
        if let Some((_, record)) = &item.quarantined {
            refs[i] = Some(record.raw());
        } else if needs_raw {
            // Identical bytes in one batch are stored once; across batches, a new event's raw
            // bytes are new (the same bytes would be a duplicate) and a rejected item's are
            // found through the quarantine's SHA-256 index.
            if let Some(&j) = known_raw.get(&shas[i]) {
                refs[i] = refs[j];
            } else {
                to_write.push(i);
                known_raw.insert(shas[i], i);
            }
        }
        prepared.push(prep);
        events.push(event);
    }

    // 1. Raw blobs and events go to the pack, each event right after its raw bytes (they
    // compress together), in one write committed below, before the log.
    let mut pack = packs.begin()?;
    let mut write_raw = vec![false; items.len()];
    for &i in &to_write {
        write_raw[i] = true;
    }

    // 2. The log batch, committed by `commit`. Seqs and quarantine ids are assigned here from
    // the cursor: only one process holds the log (sled's lock) and the ledger's writer mutex
    // serialises writers inside it (a pipelined ingest holds it throughout), so nothing else
    // can move the counters.
    let mut next_seq = cursor.next_seq;
    let first_seq = next_seq;
    // Where the new events' stored forms are, in seq order (see `locators`).
    let mut places = Vec::with_capacity(items.len());
    let mut next_quarantine = cursor.next_quarantine;
    let mut new_rejects = HashMap::new();
    let mut batch = sled::Batch::default();
    let mut seen: RecentKeys = HashMap::new();
    let mut outcomes = Vec::with_capacity(items.len());
    let mut reject_ids: Vec<Option<u64>> = vec![None; items.len()];
    for (i, item) in items.iter().enumerate() {
        if write_raw[i] {
            refs[i] = Some(pack.add(&item.raw, &shas[i])?);
        }
        if refs[i].is_none()
            && let Some(&j) = known_raw.get(&shas[i])
        {
            refs[i] = refs[j];
        }
        if let Prepared::Failed {
            reason,
            untrusted,
            record,
        } = &mut prepared[i]
        {
            let stored = match &kept[i] {
                Kept::Stored(_, old) => Some(&**old),
                _ => None,
            };
            let old = items[i].quarantined.as_ref().map(|(_, old)| old).or(stored);
            match (old, &kept[i], refs[i]) {
                // Still failing, or delivered again: rewrite the entry only when the reason
                // changed.
                (Some(old), _, _) => {
                    let mut new = old.clone();
                    new.reason = reason.clone();
                    new.untrusted = *untrusted;
                    if new != *old {
                        *record = Some(new.to_bytes()?);
                    }
                }
                (None, Kept::New, Some(raw)) => {
                    let response = response_tuple(&items[i]);
                    let new = QuarantineRecord::new(
                        &items[i].origin,
                        reason.clone(),
                        shas[i],
                        items[i].raw.len() as u64,
                        raw,
                        response.clone(),
                        *untrusted,
                    );
                    *record = Some(new.to_bytes()?);
                    // Its id is known once assigned below.
                    new_rejects.insert((shas[i], response), (0, new));
                }
                // Not kept yet and no raw place, or the same as an earlier item of the batch.
                (None, _, _) => {}
            }
        }
        match &prepared[i] {
            Prepared::Failed {
                reason,
                untrusted,
                record,
            } => {
                let id = match (&item.quarantined, &kept[i]) {
                    (Some((id, _)), _) | (None, Kept::Stored(id, _)) => *id,
                    (None, Kept::InBatch(j)) => {
                        reject_ids[*j].ok_or_else(|| LedgerError::Corrupt {
                            what: "ingest".into(),
                            reason: "a repeated reject before its first".into(),
                        })?
                    }
                    (None, Kept::New) => {
                        next_quarantine += 1;
                        if let Some(entry) = new_rejects.get_mut(&(shas[i], response_tuple(item))) {
                            entry.0 = next_quarantine - 1;
                        }
                        next_quarantine - 1
                    }
                };
                reject_ids[i] = Some(id);
                if let Some(record) = record {
                    batch.insert(log.quarantine.key(&id.to_be_bytes()), record.as_slice());
                    if item.quarantined.is_none() && matches!(kept[i], Kept::New) {
                        batch.insert(
                            log.quarantine_by_sha
                                .key(&quarantine::index_key(&shas[i], id)),
                            &[],
                        );
                    }
                }
                let reason = if *untrusted {
                    format!("untrusted sender: {reason}")
                } else {
                    reason.clone()
                };
                outcomes.push(Some(IngestOutcome::Rejected { id, reason }));
            }
            Prepared::Parsed {
                key,
                own_time,
                stored,
            } => {
                if let Some((id, old)) = &item.quarantined {
                    batch.remove(log.quarantine.key(&id.to_be_bytes()));
                    batch.remove(
                        log.quarantine_by_sha
                            .key(&quarantine::index_key(&old.sha256, *id)),
                    );
                }
                let existing = stored.or_else(|| recent_duplicate(&seen, key, *own_time));
                if let Some(of) = existing {
                    if let Some(event) = events[i].as_mut() {
                        event.seq = 0;
                    }
                    outcomes.push(Some(IngestOutcome::Duplicate { of }));
                    continue;
                }
                let seq = next_seq;
                next_seq += 1;
                let event = events[i].as_mut().expect("a parsed item has an event");
                event.seq = seq;
                let raw = refs[i].ok_or_else(|| LedgerError::Corrupt {
                    what: "ingest".into(),
                    reason: format!("event {seq} has no place for its raw input"),
                })?;
                let stored = crate::event_record::event_record(event, raw);
                places.push(pack.add(&stored, &raw::sha256(&stored))?);
                // The dedup key and the own time go with the ctid entry when there is one (see
                // `stored_duplicate`), else into `dedup`.
                match &event.ctid {
                    Some(ctid) => batch.insert(
                        log.by_ctid.key(&index_key(ctid, seq)),
                        by_ctid_value(key, *own_time),
                    ),
                    None => batch.insert(
                        log.dedup.key(&dedup_entry_key(key, seq)),
                        encode_own_time(*own_time),
                    ),
                }
                if let Some(domain) = &event.domain {
                    batch.insert(log.by_domain.key(&index_key(domain, seq)), &[]);
                }
                seen.entry(*key).or_default().push((seq, *own_time));
                outcomes.push(Some(IngestOutcome::Appended {
                    seq,
                    kind: event.kind,
                }));
            }
        }
    }
    batch.insert(log.meta.key(META_NEXT_SEQ), &next_seq.to_be_bytes());
    batch.insert(
        log.meta.key(META_NEXT_QUARANTINE),
        &next_quarantine.to_be_bytes(),
    );
    // Every entry this batch adds is indexed (and older ones were on open).
    batch.insert(
        log.meta.key(META_QUARANTINE_INDEXED),
        &next_quarantine.to_be_bytes(),
    );
    let mut appended: Vec<Event> = Vec::new();
    for (event, outcome) in events.into_iter().zip(outcomes.iter()) {
        if let (Some(event), Some(IngestOutcome::Appended { .. })) = (event, outcome) {
            appended.push(event);
        }
    }
    pack.commit()?;
    *cursor = Cursor {
        next_seq,
        next_quarantine,
        recent_keys: seen,
        recent_rejects: new_rejects,
    };
    Ok(Staged {
        batch,
        first_seq,
        places,
        appended,
        outcomes,
    })
}

/// Commits a staged batch: the dirty marker (once per writing session), the log batch with the
/// new events' locators in one atomic `apply_batch` and a flush (from here the outcomes are
/// durable), then the views. Batches are committed in the order they were staged.
pub(crate) fn commit(
    log: &Log,
    views: &Views,
    staged: Staged,
) -> Result<Vec<Option<IngestOutcome>>> {
    let Staged {
        mut batch,
        first_seq,
        places,
        appended,
        outcomes,
    } = staged;
    if outcomes.is_empty() {
        return Ok(outcomes);
    }
    views.mark_dirty(first_seq - 1)?;
    // The last locator bucket is read here, not when staging: the batch before may have been
    // committed since.
    crate::locators::append(log, &mut batch, first_seq, &places)?;
    log.tree
        .apply_batch(batch)
        .map_err(storage("appending to the log"))?;
    log.db.flush().map_err(storage("flushing the log"))?;

    // 3. The views. They are at the batch before this one unless an earlier views step failed
    // after its log batch was committed (an I/O error, a record that would not decode): then
    // they are caught up from the log through this batch, so no committed event is left out
    // of them. (Folding them on another thread while the log is written was tried: sled
    // 0.34's concurrency control is one process-wide lock, so it only added contention.)
    crate::test_hook::views_step()?;
    if views.checkpoint()? == Some(first_seq - 1) {
        views::fold_and_commit(views, &appended, first_seq + appended.len() as u64 - 1)?;
    } else {
        views::catch_up(log, views)?;
    }
    Ok(outcomes)
}

/// The `record_response` context of an item as its quarantine record keeps it.
fn response_tuple(item: &Item) -> ResponseTuple {
    item.response
        .as_ref()
        .map(|c| (c.ctid.clone(), c.command.clone(), c.domain.clone()))
}

/// Checks and normalises `record_response`'s arguments.
pub(crate) fn response_context(
    ctid: &str,
    command: Option<&str>,
    domain: Option<&str>,
) -> Result<ResponseContext> {
    let ctid = ctid.trim();
    if ctid.is_empty() {
        return Err(LedgerError::InvalidArgument(
            "the ctid of a response must not be empty".into(),
        ));
    }
    // The index keys are the ctid and a NUL: a control character (a NUL above all) would make
    // one order's key a prefix of another's. The parser refuses them in notifications.
    if let Some(c) = ctid.chars().find(|c| c.is_control()) {
        return Err(LedgerError::InvalidArgument(format!(
            "the ctid {ctid:?} holds the control character {c:?}; a ctid must not"
        )));
    }
    let domain = match domain {
        Some(text) => Some(
            DomainName::parse(text)
                .ok_or_else(|| {
                    LedgerError::InvalidArgument(format!("{text:?} is not a domain name"))
                })?
                .as_str()
                .to_string(),
        ),
        None => None,
    };
    Ok(ResponseContext {
        ctid: ctid.to_string(),
        command: command
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty()),
        domain,
    })
}
