//! The de-duplication and quarantine decisions of one batch, over a [`WriteTxn`]: which items
//! are new events (and their seqs), which are duplicates of what, which rejects are new
//! quarantine entries (and their ids) and which are already kept; the result is a
//! [`WriteSet`] a store applies, and an outcome per item. No storage type is known here: a
//! store answers the lookups inside its own write transaction (sled: the writer lock and the
//! ingest cursor; PostgreSQL: the lock on the seq row), so nothing else moves the counters or
//! adds a key between the lookups and the write.
//!
//! The decisions, per item in batch order:
//! * a parsed item is a `Duplicate` of the first (lowest seq) event with its dedup key of which
//!   it is a copy ([`ledger_event::is_copy`]: own times within 24 hours, or none on one side):
//!   stored (as the transaction answers), else earlier in the batch; otherwise it is appended
//!   with the next seq. An item re-read from the quarantine leaves it either way;
//! * a rejected item re-read from the quarantine keeps its id (its record rewritten when the
//!   reason changed); another rejected item gets the id of an earlier item of the batch with the
//!   same raw bytes and `record_response` context, else of the stored entry the transaction
//!   finds (rewritten when the reason changed), else the next quarantine id and a new entry;
//! * raw bytes are kept once per batch, and only for new events and new quarantine entries.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ledger_event::{Event, Origin};

use crate::quarantine::{QuarantineRecord, ResponseTuple};
use crate::{IngestOutcome, Result};

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

impl Item {
    /// Its `record_response` context as its quarantine record keeps it.
    pub(crate) fn response_tuple(&self) -> ResponseTuple {
        self.response
            .as_ref()
            .map(|c| (c.ctid.clone(), c.command.clone(), c.domain.clone()))
    }
}

/// What an item came to before any storage is read: a keyed event (its seq, recorded time
/// and raw place still to set), or why it is rejected.
pub(crate) enum Pre {
    Event(Box<Event>, [u8; 32]),
    Rejected {
        reason: String,
        /// True when it parsed but failed the trust policy.
        untrusted: bool,
    },
}

/// A batch parsed, checked and keyed: everything of the write path that reads no storage, so it
/// can be done on another thread while the previous batch is written (`ingest::prepare`).
pub(crate) struct PreparedBatch {
    pub(crate) items: Vec<Item>,
    /// The SHA-256 of each item's raw bytes.
    pub(crate) shas: Vec<[u8; 32]>,
    pub(crate) pres: Vec<Pre>,
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

/// The stored events under each dedup key asked: their seqs and what their entries say of
/// their own times ([`WriteTxn::duplicates`]).
pub(crate) type StoredKeys = HashMap<[u8; 32], Vec<(u64, EntryTime)>>;

/// Events by dedup key, their seqs and own times in seq order (those a batch appends).
pub(crate) type RecentKeys = HashMap<[u8; 32], Vec<(u64, Option<DateTime<Utc>>)>>;

/// What a store's dedup entry says of its event's own time ([`ledger_event::own_time`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryTime {
    /// Written by this build: the event's own time, `None` when it has none.
    Known(Option<DateTime<Utc>>),
    /// Written by an earlier build (a bare key): the own time is read from the event
    /// ([`WriteTxn::own_time`]), and only when the decision needs it.
    Unrecorded,
}

/// One dedup key to look up, with the ctid of the item carrying it (equal keys mean equal
/// ctids, so a store may look among that ctid's events only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DedupQuery<'a> {
    pub(crate) key: [u8; 32],
    pub(crate) ctid: Option<&'a str>,
}

/// A rejected item's identity in the quarantine: the SHA-256 of its raw bytes and its
/// `record_response` context.
pub(crate) type RejectKey = ([u8; 32], ResponseTuple);

/// What one batch's write transaction answers. Every lookup is one call for the whole batch
/// (a PostgreSQL store answers each with one `= ANY($1)` query); the answers must hold until
/// the transaction commits, which the store guarantees by deciding under its writer lock.
/// What an earlier batch of the same transaction (or of a pipelined stream, not yet committed)
/// added counts as stored.
pub(crate) trait WriteTxn {
    /// The next seq and the next quarantine id to assign.
    fn next_ids(&mut self) -> Result<(u64, u64)>;

    /// The stored events under each key asked (a key with none may be absent): their seqs and
    /// what their entries say of their own times, in any order.
    fn duplicates(&mut self, queries: &[DedupQuery<'_>]) -> Result<StoredKeys>;

    /// The own time of stored event `seq` (for an entry an earlier build wrote without it).
    fn own_time(&mut self, seq: u64) -> Result<Option<DateTime<Utc>>>;

    /// The stored quarantine entry of each reject asked, if any (the oldest, when several):
    /// its id and record. A reject without one is absent.
    fn rejects(
        &mut self,
        keys: &[RejectKey],
    ) -> Result<HashMap<RejectKey, (u64, QuarantineRecord)>>;
}

/// Raw bytes to keep: a new event's input, or a new quarantine entry's.
#[derive(Debug)]
pub(crate) struct NewRaw {
    /// The index in the batch of the first item with these bytes.
    pub(crate) item: usize,
    pub(crate) sha256: [u8; 32],
    pub(crate) bytes: Vec<u8>,
}

/// Where an event's or a quarantine entry's raw bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawSource {
    /// Kept by this write set: the index in [`WriteSet::raws`].
    New(usize),
    /// Already stored, as the raw bytes of this quarantine entry (the write set removes it:
    /// [`QuarantineChange::Removed`] holds its record).
    Quarantined(u64),
}

/// An event to append, with what its indexes and dedup entry need.
#[derive(Debug)]
pub(crate) struct NewEvent {
    /// The index in the batch of its item.
    pub(crate) item: usize,
    /// Its seq is set; it is indexed by its `ctid` and `domain`.
    pub(crate) event: Event,
    /// Its dedup key and own time: a store keeps both so a later copy is found
    /// ([`WriteTxn::duplicates`]) without reading the event.
    pub(crate) key: [u8; 32],
    pub(crate) own_time: Option<DateTime<Utc>>,
    pub(crate) raw: RawSource,
}

/// A change of the quarantine.
#[derive(Debug)]
pub(crate) enum QuarantineChange {
    /// A new entry, received now; its raw bytes are `raws[raw]`.
    New {
        id: u64,
        origin: Origin,
        reason: String,
        untrusted: bool,
        sha256: [u8; 32],
        size: u64,
        response: ResponseTuple,
        raw: usize,
    },
    /// A stored entry rewritten (its reason changed).
    Changed { id: u64, record: QuarantineRecord },
    /// An entry that left the quarantine (it parsed: an event or a duplicate now); `record` is
    /// what was stored (its SHA-256 and raw place).
    Removed { id: u64, record: QuarantineRecord },
}

/// Everything one batch writes, in no store's terms. New events are in seq order, from
/// `first_seq`; raws and events are each in batch order (`item`), so a store may interleave
/// them (sled puts an event's stored form right after its raw bytes).
#[derive(Debug)]
pub(crate) struct WriteSet {
    pub(crate) first_seq: u64,
    pub(crate) next_seq: u64,
    pub(crate) next_quarantine: u64,
    pub(crate) raws: Vec<NewRaw>,
    pub(crate) events: Vec<NewEvent>,
    pub(crate) quarantine: Vec<QuarantineChange>,
}

/// A batch decided: what to write, and each item's outcome (in batch order).
pub(crate) struct Decision {
    pub(crate) writes: WriteSet,
    pub(crate) outcomes: Vec<Option<IngestOutcome>>,
}

/// The first of `candidates` (in seq order) of which an item with `own_time` is a copy.
fn stored_copy(
    txn: &mut impl WriteTxn,
    candidates: Option<&Vec<(u64, EntryTime)>>,
    own_time: Option<DateTime<Utc>>,
) -> Result<Option<u64>> {
    let Some(candidates) = candidates else {
        return Ok(None);
    };
    let mut sorted = candidates.clone();
    sorted.sort_by_key(|(seq, _)| *seq);
    for (seq, time) in sorted {
        let existing = match time {
            EntryTime::Known(time) => time,
            EntryTime::Unrecorded if own_time.is_none() => None,
            EntryTime::Unrecorded => txn.own_time(seq)?,
        };
        if ledger_event::is_copy(own_time, existing) {
            return Ok(Some(seq));
        }
    }
    Ok(None)
}

/// A stored record with a new reason: the record to write, if it changed.
fn rewritten(old: &QuarantineRecord, reason: &str, untrusted: bool) -> Option<QuarantineRecord> {
    let mut new = old.clone();
    new.reason = reason.to_string();
    new.untrusted = untrusted;
    (new != *old).then_some(new)
}

/// Decides one prepared batch inside `txn` (see the module's doc); `now` is the new events'
/// recorded time.
pub(crate) fn decide(
    txn: &mut impl WriteTxn,
    batch: PreparedBatch,
    now: DateTime<Utc>,
) -> Result<Decision> {
    let PreparedBatch { items, shas, pres } = batch;
    let (first_seq, first_quarantine) = txn.next_ids()?;

    // The lookups, one call each for the batch.
    let mut queries: Vec<DedupQuery<'_>> = Vec::new();
    let mut reject_keys: Vec<RejectKey> = Vec::new();
    {
        let mut asked_keys = std::collections::HashSet::new();
        let mut asked_rejects = std::collections::HashSet::new();
        for ((item, pre), sha) in items.iter().zip(&pres).zip(&shas) {
            match pre {
                Pre::Event(event, key) => {
                    if asked_keys.insert(*key) {
                        queries.push(DedupQuery {
                            key: *key,
                            ctid: event.ctid.as_deref(),
                        });
                    }
                }
                Pre::Rejected { .. } if item.quarantined.is_none() => {
                    let reject = (*sha, item.response_tuple());
                    if asked_rejects.insert(reject.clone()) {
                        reject_keys.push(reject);
                    }
                }
                Pre::Rejected { .. } => {}
            }
        }
    }
    let stored_keys = txn.duplicates(&queries)?;
    drop(queries);
    let stored_rejects = if reject_keys.is_empty() {
        HashMap::new()
    } else {
        txn.rejects(&reject_keys)?
    };

    let mut next_seq = first_seq;
    let mut next_quarantine = first_quarantine;
    let mut raws: Vec<NewRaw> = Vec::new();
    let mut raw_by_sha: HashMap<[u8; 32], usize> = HashMap::new();
    let mut events: Vec<NewEvent> = Vec::new();
    let mut quarantine: Vec<QuarantineChange> = Vec::new();
    // The events this batch appends, by key, and the new entries it makes, by reject key.
    let mut seen: RecentKeys = HashMap::new();
    let mut rejects_in_batch: HashMap<RejectKey, u64> = HashMap::new();
    let mut outcomes = Vec::with_capacity(items.len());

    // Raw bytes are kept once per batch: the index in `raws` of the bytes of item `i`.
    let mut keep_raw = |i: usize, item: &mut Item, sha: [u8; 32]| -> usize {
        *raw_by_sha.entry(sha).or_insert_with(|| {
            raws.push(NewRaw {
                item: i,
                sha256: sha,
                bytes: std::mem::take(&mut item.raw),
            });
            raws.len() - 1
        })
    };

    for (i, ((mut item, pre), sha)) in items.into_iter().zip(pres).zip(shas).enumerate() {
        match pre {
            Pre::Event(mut event, key) => {
                let quarantined = item.quarantined.take().map(|(id, record)| {
                    quarantine.push(QuarantineChange::Removed { id, record });
                    id
                });
                let own_time = ledger_event::own_time(&event.notification);
                let existing = match stored_copy(txn, stored_keys.get(&key), own_time)? {
                    Some(seq) => Some(seq),
                    None => seen.get(&key).and_then(|events| {
                        events
                            .iter()
                            .find(|(_, time)| ledger_event::is_copy(own_time, *time))
                            .map(|(seq, _)| *seq)
                    }),
                };
                if let Some(of) = existing {
                    outcomes.push(Some(IngestOutcome::Duplicate { of }));
                    continue;
                }
                let raw = match quarantined {
                    Some(id) => RawSource::Quarantined(id),
                    None => RawSource::New(keep_raw(i, &mut item, sha)),
                };
                let seq = next_seq;
                next_seq += 1;
                event.seq = seq;
                event.recorded_at = now;
                seen.entry(key).or_default().push((seq, own_time));
                outcomes.push(Some(IngestOutcome::Appended {
                    seq,
                    kind: event.kind,
                }));
                events.push(NewEvent {
                    item: i,
                    event: *event,
                    key,
                    own_time,
                    raw,
                });
            }
            Pre::Rejected { reason, untrusted } => {
                let shown = if untrusted {
                    format!("untrusted sender: {reason}")
                } else {
                    reason.clone()
                };
                let id = if let Some((id, old)) = item.quarantined.take() {
                    // Still failing: rewrite the entry only when the reason changed.
                    if let Some(record) = rewritten(&old, &reason, untrusted) {
                        quarantine.push(QuarantineChange::Changed { id, record });
                    }
                    id
                } else {
                    let reject = (sha, item.response_tuple());
                    if let Some(&id) = rejects_in_batch.get(&reject) {
                        id
                    } else if let Some((id, old)) = stored_rejects.get(&reject) {
                        // Delivered again: the entry keeps its first origin and time.
                        if let Some(record) = rewritten(old, &reason, untrusted) {
                            quarantine.push(QuarantineChange::Changed { id: *id, record });
                        }
                        *id
                    } else {
                        let id = next_quarantine;
                        next_quarantine += 1;
                        let size = item.raw.len() as u64;
                        let raw = keep_raw(i, &mut item, sha);
                        quarantine.push(QuarantineChange::New {
                            id,
                            origin: item.origin,
                            reason,
                            untrusted,
                            sha256: sha,
                            size,
                            response: reject.1.clone(),
                            raw,
                        });
                        rejects_in_batch.insert(reject, id);
                        id
                    }
                };
                outcomes.push(Some(IngestOutcome::Rejected { id, reason: shown }));
            }
        }
    }
    Ok(Decision {
        writes: WriteSet {
            first_seq,
            next_seq,
            next_quarantine,
            raws,
            events,
            quarantine,
        },
        outcomes,
    })
}

#[cfg(test)]
mod tests {
    //! The decisions on real prepared items (`ingest::prepare`: parsed AutoDNS mails and
    //! unparsable inputs), over a transaction held in memory: what a store answers is a
    //! HashMap here, and each write set is applied to it as a store would.

    use super::*;
    use crate::Options;
    use crate::ingest::prepare;
    use crate::raw::PackRef;

    /// A write transaction over maps: the stored dedup entries, own times of events whose
    /// entries do not record them, quarantine entries, the counters; and what was asked.
    struct MemoryTxn {
        next_seq: u64,
        next_quarantine: u64,
        keys: StoredKeys,
        own_times: HashMap<u64, Option<DateTime<Utc>>>,
        rejects: HashMap<RejectKey, (u64, QuarantineRecord)>,
        duplicate_calls: Vec<Vec<[u8; 32]>>,
        reject_calls: Vec<Vec<RejectKey>>,
        own_time_reads: Vec<u64>,
    }

    impl MemoryTxn {
        fn new() -> Self {
            MemoryTxn {
                next_seq: 1,
                next_quarantine: 1,
                keys: HashMap::new(),
                own_times: HashMap::new(),
                rejects: HashMap::new(),
                duplicate_calls: Vec::new(),
                reject_calls: Vec::new(),
                own_time_reads: Vec::new(),
            }
        }

        /// Stores a write set as a store would (raw places are made up: nothing reads them).
        fn apply(&mut self, writes: &WriteSet) {
            for new in &writes.events {
                self.keys
                    .entry(new.key)
                    .or_default()
                    .push((new.event.seq, EntryTime::Known(new.own_time)));
            }
            for change in &writes.quarantine {
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
                        let place = PackRef {
                            pack: 1,
                            offset: *raw as u64,
                            len: 0,
                        };
                        let record = QuarantineRecord::new(
                            origin,
                            reason.clone(),
                            *sha256,
                            *size,
                            place,
                            response.clone(),
                            *untrusted,
                        );
                        self.rejects
                            .insert((*sha256, response.clone()), (*id, record));
                    }
                    QuarantineChange::Changed { id, record } => {
                        self.rejects.insert(
                            (record.sha256, record.response.clone()),
                            (*id, record.clone()),
                        );
                    }
                    QuarantineChange::Removed { record, .. } => {
                        self.rejects
                            .remove(&(record.sha256, record.response.clone()));
                    }
                }
            }
            self.next_seq = writes.next_seq;
            self.next_quarantine = writes.next_quarantine;
        }
    }

    impl WriteTxn for MemoryTxn {
        fn next_ids(&mut self) -> Result<(u64, u64)> {
            Ok((self.next_seq, self.next_quarantine))
        }

        fn duplicates(&mut self, queries: &[DedupQuery<'_>]) -> Result<StoredKeys> {
            self.duplicate_calls
                .push(queries.iter().map(|query| query.key).collect());
            Ok(queries
                .iter()
                .filter_map(|query| Some((query.key, self.keys.get(&query.key)?.clone())))
                .collect())
        }

        fn own_time(&mut self, seq: u64) -> Result<Option<DateTime<Utc>>> {
            self.own_time_reads.push(seq);
            Ok(self.own_times.get(&seq).copied().flatten())
        }

        fn rejects(
            &mut self,
            keys: &[RejectKey],
        ) -> Result<HashMap<RejectKey, (u64, QuarantineRecord)>> {
            self.reject_calls.push(keys.to_vec());
            Ok(keys
                .iter()
                .filter_map(|key| Some((key.clone(), self.rejects.get(key)?.clone())))
                .collect())
        }
    }

    /// An AutoDNS create result as a mail with this `Date`.
    fn mail(date: &str, transaction: &str) -> Vec<u8> {
        format!(
            "From: AutoDNS Robot <robot@autodns.example>\n\
             To: hostmaster@reseller.example\n\
             Subject: AutoDNS notification\n\
             Date: {date}\n\
             Message-ID: <{transaction}.{date}@autodns.example>\n\
             \n\
             <system>\nuser: ExampleUser\ntask: 0101\n\
             status: S0101 [Domain has been registered successfully.]\n\
             success_value: domain: example-{transaction}.de\ntransaction: {transaction}\n\
             </system>\n"
        )
        .into_bytes()
    }

    const GARBAGE: &[u8] = b"this is not a notification of any provider\n";
    const OTHER_GARBAGE: &[u8] = b"neither is this\n";

    fn item(raw: &[u8]) -> Item {
        Item {
            raw: raw.to_vec(),
            origin: Origin::new("test"),
            response: None,
            quarantined: None,
            trusted: false,
        }
    }

    fn decide_items(txn: &mut MemoryTxn, items: Vec<Item>) -> Decision {
        let options = Options::new("not-opened");
        let decision = decide(txn, prepare(&options, items, false), Utc::now()).expect("decide");
        txn.apply(&decision.writes);
        decision
    }

    fn outcomes(decision: &Decision) -> Vec<IngestOutcome> {
        decision.outcomes.iter().flatten().cloned().collect()
    }

    fn appended(seq: u64) -> IngestOutcome {
        IngestOutcome::Appended {
            seq,
            kind: ledger_event::EventKind::DomainCreated,
        }
    }

    #[test]
    fn copies_within_a_day_are_duplicates_in_the_batch_and_across_batches() {
        let mut txn = MemoryTxn::new();
        let first = mail("Tue, 13 Jan 2026 09:02:41 +0000", "201005061621");
        let copy = mail("Tue, 13 Jan 2026 09:04:41 +0000", "201005061621");
        let other = mail("Tue, 13 Jan 2026 09:02:41 +0000", "201005061622");
        let decision = decide_items(
            &mut txn,
            vec![item(&first), item(&copy), item(&other), item(&first)],
        );
        assert_eq!(
            outcomes(&decision),
            vec![
                appended(1),
                IngestOutcome::Duplicate { of: 1 },
                appended(2),
                IngestOutcome::Duplicate { of: 1 },
            ]
        );
        let writes = &decision.writes;
        assert_eq!((writes.first_seq, writes.next_seq), (1, 3));
        assert_eq!(
            writes
                .events
                .iter()
                .map(|e| (e.item, e.event.seq))
                .collect::<Vec<_>>(),
            vec![(0, 1), (2, 2)]
        );
        // Only the appended events' raw bytes are kept, each event pointing at its own.
        assert_eq!(
            writes.raws.iter().map(|r| r.item).collect::<Vec<_>>(),
            vec![0, 2]
        );
        assert_eq!(writes.raws[1].bytes, other);
        assert_eq!(
            writes.events.iter().map(|e| e.raw).collect::<Vec<_>>(),
            vec![RawSource::New(0), RawSource::New(1)]
        );
        // One lookup for the batch, each key once.
        assert_eq!(txn.duplicate_calls.len(), 1);
        assert_eq!(txn.duplicate_calls[0].len(), 2);
        assert!(txn.reject_calls.is_empty());

        // The next batch finds both stored; the same content 147 days later is a new fact.
        let june = mail("Fri, 10 Jun 2026 09:02:41 +0000", "201005061621");
        let decision = decide_items(&mut txn, vec![item(&copy), item(&june), item(&other)]);
        assert_eq!(
            outcomes(&decision),
            vec![
                IngestOutcome::Duplicate { of: 1 },
                appended(3),
                IngestOutcome::Duplicate { of: 2 },
            ]
        );
        assert_eq!(decision.writes.next_seq, 4);
    }

    #[test]
    fn the_first_stored_copy_answers_and_unrecorded_own_times_are_read_only_when_needed() {
        let mut txn = MemoryTxn::new();
        let june = mail("Fri, 10 Jun 2026 09:02:41 +0000", "201005061621");
        let options = Options::new("not-opened");
        let key = match &prepare(&options, vec![item(&june)], false).pres[0] {
            Pre::Event(_, key) => *key,
            Pre::Rejected { reason, .. } => panic!("the mail did not parse: {reason}"),
        };
        let january = "2026-01-13T09:02:41Z".parse().expect("time");
        let june_time = "2026-06-10T09:02:41Z".parse().expect("time");
        // Stored out of seq order: 9 (June, an earlier build's bare entry), 4 (January), 7
        // (June, recorded).
        txn.keys.insert(
            key,
            vec![
                (9, EntryTime::Unrecorded),
                (4, EntryTime::Known(Some(january))),
                (7, EntryTime::Known(Some(june_time))),
            ],
        );
        txn.own_times.insert(9, Some(june_time));
        txn.next_seq = 10;
        let decision = decide_items(&mut txn, vec![item(&june)]);
        assert_eq!(
            outcomes(&decision),
            vec![IngestOutcome::Duplicate { of: 7 }]
        );
        assert!(
            txn.own_time_reads.is_empty(),
            "7 answered before 9 was read"
        );
        assert!(decision.writes.events.is_empty() && decision.writes.raws.is_empty());
        assert_eq!(decision.writes.next_seq, 10);

        // Without the recorded June entry, the bare one is read and answers.
        txn.keys
            .get_mut(&key)
            .expect("key")
            .retain(|(seq, _)| *seq != 7);
        let decision = decide_items(&mut txn, vec![item(&june)]);
        assert_eq!(
            outcomes(&decision),
            vec![IngestOutcome::Duplicate { of: 9 }]
        );
        assert_eq!(txn.own_time_reads, vec![9]);
    }

    #[test]
    fn a_reject_is_kept_once_in_a_batch_and_found_again_later() {
        let mut txn = MemoryTxn::new();
        let good = mail("Tue, 13 Jan 2026 09:02:41 +0000", "201005061621");
        let decision = decide_items(
            &mut txn,
            vec![
                item(GARBAGE),
                item(&good),
                item(GARBAGE),
                item(OTHER_GARBAGE),
            ],
        );
        let ids: Vec<Option<u64>> = outcomes(&decision)
            .iter()
            .map(|outcome| match outcome {
                IngestOutcome::Rejected { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(ids, vec![Some(1), None, Some(1), Some(2)]);
        let writes = &decision.writes;
        assert_eq!(writes.next_quarantine, 3);
        assert_eq!(
            writes.raws.iter().map(|r| r.item).collect::<Vec<_>>(),
            vec![0, 1, 3],
            "the repeated garbage is kept once"
        );
        let new: Vec<(u64, usize)> = writes
            .quarantine
            .iter()
            .map(|change| match change {
                QuarantineChange::New { id, raw, .. } => (*id, *raw),
                other => panic!("only new entries expected, got {other:?}"),
            })
            .collect();
        assert_eq!(new, vec![(1, 0), (2, 2)]);
        assert_eq!(txn.reject_calls.len(), 1);
        assert_eq!(txn.reject_calls[0].len(), 2, "each reject asked once");

        // Delivered again: the stored id, nothing written; a changed reason rewrites the
        // entry and keeps its first origin.
        let decision = decide_items(&mut txn, vec![item(GARBAGE)]);
        assert!(matches!(
            outcomes(&decision)[..],
            [IngestOutcome::Rejected { id: 1, .. }]
        ));
        assert!(decision.writes.quarantine.is_empty() && decision.writes.raws.is_empty());
        assert_eq!(decision.writes.next_quarantine, 3);
        let key = (raw_sha(GARBAGE), None);
        txn.rejects.get_mut(&key).expect("stored").1.reason = "an older reason".into();
        let decision = decide_items(&mut txn, vec![item(GARBAGE)]);
        match &decision.writes.quarantine[..] {
            [QuarantineChange::Changed { id: 1, record }] => {
                assert_ne!(record.reason, "an older reason");
                assert_eq!(record.origin, "test");
            }
            other => panic!("one rewritten entry expected, got {other:?}"),
        }
    }

    fn raw_sha(bytes: &[u8]) -> [u8; 32] {
        crate::raw::sha256(bytes)
    }

    #[test]
    fn a_quarantined_item_that_parses_leaves_the_quarantine_with_its_raw_bytes() {
        let mut txn = MemoryTxn::new();
        let good = mail("Tue, 13 Jan 2026 09:02:41 +0000", "201005061621");
        let place = PackRef {
            pack: 1,
            offset: 0,
            len: 0,
        };
        let record = QuarantineRecord::new(
            &Origin::new("mail/1.eml"),
            "an older parser refused it".into(),
            raw_sha(&good),
            good.len() as u64,
            place,
            None,
            false,
        );
        let still_bad = QuarantineRecord::new(
            &Origin::new("mail/2.eml"),
            "x".into(),
            raw_sha(GARBAGE),
            GARBAGE.len() as u64,
            place,
            None,
            false,
        );
        let mut reparse = item(&good);
        reparse.quarantined = Some((5, record));
        let mut again = item(GARBAGE);
        again.quarantined = Some((6, still_bad));
        txn.next_quarantine = 7;
        let decision = decide_items(&mut txn, vec![reparse, again]);
        let found = outcomes(&decision);
        assert_eq!(found[0], appended(1));
        assert!(matches!(found[1], IngestOutcome::Rejected { id: 6, .. }));
        let writes = &decision.writes;
        assert!(writes.raws.is_empty(), "both raw inputs are stored already");
        assert_eq!(writes.events[0].raw, RawSource::Quarantined(5));
        assert!(matches!(
            writes.quarantine[..],
            [
                QuarantineChange::Removed { id: 5, .. },
                QuarantineChange::Changed { id: 6, .. }
            ]
        ));
        assert_eq!(writes.next_quarantine, 7);
        assert!(
            txn.reject_calls.is_empty(),
            "a re-read entry is not looked up"
        );
    }
}
