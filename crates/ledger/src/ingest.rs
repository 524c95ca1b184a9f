//! The write path: raw bytes in, events (or duplicates, or quarantine entries) out, appended to
//! the log in one atomic sled batch, then folded into the views in one views batch.
//!
//! Three steps per batch: [`prepare`] (hash, parse, trust check, dedup key, classify: no
//! storage is read, so it can run on any thread), [`stage`] (the storage-neutral decisions of
//! [`crate::decide`] over a sled [`WriteTxn`]: the log and a [`Cursor`] answer the lookups and
//! give the seqs and quarantine ids; then the [`WriteSet`] becomes the pack write, synced, and
//! the log entries) and [`commit`] (the writes below that follow the pack). A pipelined ingest
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
use ledger_event::{Event, Source, classify, content_key};
use ledger_parser::{DomainName, Format, Notification, ParseOptions};
use sha2::{Digest, Sha256};

use crate::codec::{be_u64, index_key, index_prefix, split_index_key};
use crate::decide::{
    self, Decision, DedupQuery, QuarantineChange, RawSource, RecentKeys, RejectKey, StoredKeys,
    WriteSet, WriteTxn,
};
pub(crate) use crate::decide::{EntryTime, Item, Pre, PreparedBatch, ResponseContext};
use crate::quarantine::{self, QuarantineRecord};
use crate::raw::{self, PackRef, PackWriter};
use crate::store::{
    Log, META_NEXT_QUARANTINE, META_NEXT_SEQ, META_QUARANTINE_INDEXED, Views, storage,
};
use crate::views;
use crate::{IngestOutcome, LedgerError, Options, Result};

/// Items per log batch in `ingest_batch` and `reparse`.
pub(crate) const BATCH: usize = 1_000;

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
/// One batch's write transaction on sled: the log as committed, and what the batch staged
/// before it added (the cursor), under the ledger's writer lock and sled's process lock, so
/// nothing else can add a key or move a counter until the batch is committed.
struct SledTxn<'a> {
    log: &'a Log,
    cursor: &'a Cursor,
}

impl SledTxn<'_> {
    /// The stored events with dedup key `key` (and ctid `ctid`).
    ///
    /// Layout 3 keeps an event's key in its `by_ctid` entry when it has a ctid, and in `dedup`
    /// only when it has none; equal keys mean equal ctids (the key covers the notification's
    /// ctid, or the one `record_response` was given), so the ctid's entries are the only place
    /// to look. This assumes an order has a handful of events (AutoDNS: a job's results;
    /// CentralNic: one response per command): a ctid with thousands would make each delivery
    /// for it scan them all. Without a ctid, the events of one key are one prefix scan of
    /// `dedup`. Then the events of the batch staged before, which the log may not show yet.
    fn events_with_key(
        &self,
        key: &[u8; 32],
        ctid: Option<&str>,
        out: &mut Vec<(u64, EntryTime)>,
    ) -> Result<()> {
        match ctid {
            None => {
                for entry in self.log.dedup.scan_prefix(key) {
                    let (entry_key, value) = entry.map_err(storage("reading dedup keys"))?;
                    out.push(split_dedup_entry(&entry_key, &value)?);
                }
            }
            Some(ctid) => {
                for entry in self.log.by_ctid.scan_prefix(&index_prefix(ctid)) {
                    let (index, value) = entry.map_err(storage("reading by_ctid"))?;
                    if value.get(..32) != Some(key.as_slice()) {
                        continue;
                    }
                    let (_, time) = split_by_ctid_value(&value)?;
                    match split_index_key(&index) {
                        Some((_, seq)) => out.push((seq, time)),
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
        if let Some(recent) = self.cursor.recent_keys.get(key) {
            out.extend(
                recent
                    .iter()
                    .map(|(seq, time)| (*seq, EntryTime::Known(*time))),
            );
        }
        Ok(())
    }
}

impl WriteTxn for SledTxn<'_> {
    fn next_ids(&mut self) -> Result<(u64, u64)> {
        Ok((self.cursor.next_seq, self.cursor.next_quarantine))
    }

    fn duplicates(&mut self, queries: &[DedupQuery<'_>]) -> Result<StoredKeys> {
        let mut found = HashMap::with_capacity(queries.len());
        for query in queries {
            let mut events = Vec::new();
            self.events_with_key(&query.key, query.ctid, &mut events)?;
            if !events.is_empty() {
                found.insert(query.key, events);
            }
        }
        Ok(found)
    }

    fn own_time(&mut self, seq: u64) -> Result<Option<DateTime<Utc>>> {
        own_time_of_event(self.log, seq)
    }

    fn rejects(
        &mut self,
        keys: &[RejectKey],
    ) -> Result<HashMap<RejectKey, (u64, QuarantineRecord)>> {
        let mut found = HashMap::new();
        for key in keys {
            let entry = match quarantine::find(self.log, &key.0, &key.1)? {
                Some(entry) => Some(entry),
                None => self.cursor.recent_rejects.get(key).cloned(),
            };
            if let Some(entry) = entry {
                found.insert(key.clone(), entry);
            }
        }
        Ok(found)
    }
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
    recent_rejects: HashMap<RejectKey, (u64, QuarantineRecord)>,
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

/// Stages one prepared batch: decides it ([`decide::decide`]) over the log and what `cursor`
/// says the batch before added, then writes and syncs the pack and gathers the log entries
/// ([`stage_writes`]), and moves the cursor past it.
pub(crate) fn stage(
    log: &Log,
    packs: &mut PackWriter,
    batch: PreparedBatch,
    cursor: &mut Cursor,
) -> Result<Staged> {
    if batch.items.is_empty() {
        return Ok(Staged {
            batch: sled::Batch::default(),
            first_seq: cursor.next_seq,
            places: Vec::new(),
            appended: Vec::new(),
            outcomes: Vec::new(),
        });
    }
    let decision = decide::decide(&mut SledTxn { log, cursor }, batch, Utc::now())?;
    stage_writes(log, packs, decision, cursor)
}

/// Turns a decided batch into sled's writes: the new raw bytes and the new events' stored
/// forms appended to the pack (each event right after its raw bytes: they compress together)
/// and synced, and the log batch committed by [`commit`]: `by_ctid` (with the dedup key and
/// own time) or `dedup`, `by_domain`, the quarantine and its SHA-256 index, the counters.
/// The cursor then holds the counters and what this batch added.
fn stage_writes(
    log: &Log,
    packs: &mut PackWriter,
    decision: Decision,
    cursor: &mut Cursor,
) -> Result<Staged> {
    let Decision { writes, outcomes } = decision;
    let WriteSet {
        first_seq,
        next_seq,
        next_quarantine,
        raws,
        events,
        quarantine: changes,
    } = writes;
    let corrupt = |reason: String| LedgerError::Corrupt {
        what: "ingest".into(),
        reason,
    };
    // The raw places of the entries leaving the quarantine, for the events they become.
    let leaving: HashMap<u64, PackRef> = changes
        .iter()
        .filter_map(|change| match change {
            QuarantineChange::Removed { id, record } => Some((*id, record.raw())),
            _ => None,
        })
        .collect();

    let mut pack = packs.begin()?;
    let mut raw_places: Vec<PackRef> = Vec::with_capacity(raws.len());
    let mut raws = raws.into_iter().peekable();
    let mut places = Vec::with_capacity(events.len());
    let mut batch = sled::Batch::default();
    let mut recent_keys: RecentKeys = HashMap::new();
    for new in &events {
        while let Some(raw) = raws.next_if(|raw| raw.item <= new.item) {
            raw_places.push(pack.add(&raw.bytes, &raw.sha256)?);
        }
        let seq = new.event.seq;
        let raw = match new.raw {
            RawSource::New(index) => raw_places.get(index).copied(),
            RawSource::Quarantined(id) => leaving.get(&id).copied(),
        }
        .ok_or_else(|| corrupt(format!("event {seq} has no place for its raw input")))?;
        let stored = crate::event_record::event_record(&new.event, raw);
        places.push(pack.add(&stored, &raw::sha256(&stored))?);
        // The dedup key and the own time go with the ctid entry when there is one (see
        // `SledTxn::events_with_key`), else into `dedup`.
        match &new.event.ctid {
            Some(ctid) => batch.insert(
                log.by_ctid.key(&index_key(ctid, seq)),
                by_ctid_value(&new.key, new.own_time),
            ),
            None => batch.insert(
                log.dedup.key(&dedup_entry_key(&new.key, seq)),
                encode_own_time(new.own_time),
            ),
        }
        if let Some(domain) = &new.event.domain {
            batch.insert(log.by_domain.key(&index_key(domain, seq)), &[]);
        }
        recent_keys
            .entry(new.key)
            .or_default()
            .push((seq, new.own_time));
    }
    for raw in raws {
        raw_places.push(pack.add(&raw.bytes, &raw.sha256)?);
    }

    let mut recent_rejects = HashMap::new();
    for change in changes {
        match change {
            QuarantineChange::New {
                id,
                origin,
                reason,
                untrusted,
                sha256,
                size,
                response,
                raw,
            } => {
                let raw = raw_places.get(raw).copied().ok_or_else(|| {
                    corrupt(format!(
                        "quarantine entry {id} has no place for its raw input"
                    ))
                })?;
                let record =
                    QuarantineRecord::new(&origin, reason, sha256, size, raw, response, untrusted);
                batch.insert(
                    log.quarantine.key(&id.to_be_bytes()),
                    record.to_bytes()?.as_slice(),
                );
                batch.insert(
                    log.quarantine_by_sha
                        .key(&quarantine::index_key(&sha256, id)),
                    &[],
                );
                recent_rejects.insert((sha256, record.response.clone()), (id, record));
            }
            QuarantineChange::Changed { id, record } => {
                batch.insert(
                    log.quarantine.key(&id.to_be_bytes()),
                    record.to_bytes()?.as_slice(),
                );
            }
            QuarantineChange::Removed { id, record } => {
                batch.remove(log.quarantine.key(&id.to_be_bytes()));
                batch.remove(
                    log.quarantine_by_sha
                        .key(&quarantine::index_key(&record.sha256, id)),
                );
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
    pack.commit()?;
    *cursor = Cursor {
        next_seq,
        next_quarantine,
        recent_keys,
        recent_rejects,
    };
    Ok(Staged {
        batch,
        first_seq,
        places,
        appended: events.into_iter().map(|new| new.event).collect(),
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
