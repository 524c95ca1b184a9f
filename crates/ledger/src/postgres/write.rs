//! [`WriteTxn`]: one batch's write transaction.
//!
//! [`WriteTxn::begin`] opens a READ COMMITTED transaction with `synchronous_commit = on` and
//! takes the seq lock: `SELECT … FROM ledger_meta FOR UPDATE` on the one meta row. Writers
//! therefore run one batch at a time (each waits for the one before to commit or roll back,
//! never longer), and every statement after the lock sees everything committed before it
//! (READ COMMITTED takes a snapshot per statement), so a lookup of dedup keys or rejects made
//! inside the transaction is the truth until this commit: two writers cannot both append one
//! notification. Seqs and quarantine ids come from the locked row and are written back at
//! commit, so they are gap-free: a transaction that does not commit leaves them as they were.
//! Readers take no lock and never wait for a writer (MVCC).
//!
//! The writes are set-based: one statement per kind of row for the whole batch (`INSERT …
//! SELECT FROM UNNEST` of arrays), whatever the batch's size. [`WriteTxn::commit`] returns
//! only once the server answered the COMMIT; an error from it means "not reported committed"
//! (the connection may have died after the server committed: a retry of the same items then
//! finds them, which is what the dedup lookup is for).

use chrono::{DateTime, Utc};
use postgres::{Client, Transaction};
use rustc_hash::FxHashMap;

use super::error::{PgError, PgResult, query};
use super::meta::{COLUMNS, Meta, int8};
use super::raw::CompressedRaw;
use super::read::StoredReject;

/// The channel a commit that appended events notifies, with the new head seq as payload
/// (`LISTEN ledger_events`; delivered only once the transaction committed).
pub(crate) const EVENTS_CHANNEL: &str = "ledger_events";

/// An event to append: its stored form and what the indexes and de-duplication need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewEvent<'a> {
    /// Its seq: the batch's events must continue the log ([`WriteTxn::next_seq`], + 1 each).
    pub(crate) seq: u64,
    /// Its stored form (`ledger_event::stored::encode_event`).
    pub(crate) stored: &'a [u8],
    /// Its order id (ctid), if any.
    pub(crate) order_id: Option<&'a str>,
    /// Its domain (lower case, Unicode), if any.
    pub(crate) domain: Option<&'a str>,
    /// Its de-duplication key.
    pub(crate) dedup_key: [u8; 32],
    /// The notification's own time (`ledger_event::own_time`), if it has one. PostgreSQL
    /// keeps microseconds.
    pub(crate) own_time: Option<DateTime<Utc>>,
    /// SHA-256 of its raw input, which must be in `raw` (inserted in this transaction with
    /// [`WriteTxn::insert_raw`], or earlier).
    pub(crate) raw_sha: [u8; 32],
}

/// An event already in the log under a de-duplication key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DedupEntry {
    /// The key.
    pub(crate) key: [u8; 32],
    /// The event's seq.
    pub(crate) seq: u64,
    /// Its own time, if it has one (microseconds).
    pub(crate) own_time: Option<DateTime<Utc>>,
}

/// The `record_response` context of a rejected input (the ctid, command and domain it was
/// recorded with); an ingested item has none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ResponseContext {
    /// The order id it was recorded for.
    pub(crate) ctid: String,
    /// The CentralNic command, if given.
    pub(crate) command: Option<String>,
    /// The domain, if given.
    pub(crate) domain: Option<String>,
}

/// A quarantine entry to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewReject<'a> {
    /// Its id: the batch's new entries must continue the quarantine
    /// ([`WriteTxn::next_quarantine`], + 1 each).
    pub(crate) id: u64,
    /// SHA-256 of its raw input (in `raw`, as for events).
    pub(crate) raw_sha: [u8; 32],
    /// Its `record_response` context, if any.
    pub(crate) response: Option<&'a ResponseContext>,
    /// The engine's record of it (origin, reason, times, dismissal).
    pub(crate) record: &'a [u8],
}

/// A change of one projection record: put (`Some`) or removed (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ViewChange<'a> {
    /// The projection's pinned id.
    pub(crate) projection: u16,
    /// The record's key.
    pub(crate) key: &'a [u8],
    /// The new record, or `None` to remove it.
    pub(crate) record: Option<&'a [u8]>,
}

/// A stored projection record: its projection's pinned id, its key and its bytes.
pub(crate) type ViewRecord = (u16, Vec<u8>, Vec<u8>);

/// What a commit wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Committed {
    /// The last seq in the log after it (0: the log is empty).
    pub(crate) head: u64,
    /// How many events it appended.
    pub(crate) appended: u64,
}

/// One batch's write transaction, holding the seq lock until [`WriteTxn::commit`] (or until
/// it is dropped, which rolls everything back).
pub(crate) struct WriteTxn<'c> {
    txn: Transaction<'c>,
    /// The meta row as locked at begin.
    locked: Meta,
    next_seq: u64,
    next_quarantine: u64,
    checkpoint: u64,
    views_version: i32,
    /// A new trust policy (the outer `Some`), to write at commit.
    trust_policy: Option<Option<String>>,
}

impl<'c> WriteTxn<'c> {
    /// Begins a write transaction on `client` and takes the seq lock (waiting for a writer
    /// that holds it to commit or roll back). [`PgError::NoLedger`] when the schema is not
    /// there (its row missing); a database without the tables at all gives the query error. Call
    /// `schema::require_current` once per connection first.
    pub(crate) fn begin(client: &'c mut Client) -> PgResult<WriteTxn<'c>> {
        let mut txn = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::ReadCommitted)
            .start()
            .map_err(query("beginning a write"))?;
        txn.batch_execute("SET LOCAL synchronous_commit = on")
            .map_err(query("setting synchronous_commit"))?;
        let rows = txn
            .query(
                &format!("SELECT {COLUMNS} FROM ledger_meta FOR UPDATE"),
                &[],
            )
            .map_err(query("taking the seq lock"))?;
        let locked = match rows.first() {
            Some(row) => Meta::from_row(row)?,
            None => return Err(PgError::NoLedger),
        };
        Ok(WriteTxn {
            txn,
            next_seq: locked.next_seq,
            next_quarantine: locked.next_quarantine,
            checkpoint: locked.checkpoint,
            views_version: locked.views_version,
            trust_policy: None,
            locked,
        })
    }

    /// The meta row as it was when the lock was taken.
    pub(crate) fn meta(&self) -> &Meta {
        &self.locked
    }

    /// The seq the next appended event must have.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The id the next quarantine entry must have.
    pub(crate) fn next_quarantine(&self) -> u64 {
        self.next_quarantine
    }

    /// Every event in the log under any of `keys` (one query for the whole set), by key then
    /// seq; events appended earlier in this transaction included.
    pub(crate) fn dedup_entries(&mut self, keys: &[[u8; 32]]) -> PgResult<Vec<DedupEntry>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<&[u8]> = keys.iter().map(|key| key.as_slice()).collect();
        let rows = self
            .txn
            .query(
                "SELECT dedup_key, seq, own_time FROM events WHERE dedup_key = ANY($1) \
                 ORDER BY dedup_key, seq",
                &[&keys],
            )
            .map_err(query("looking up de-duplication keys"))?;
        rows.iter()
            .map(|row| {
                let key: &[u8] = row.get(0);
                let seq: i64 = row.get(1);
                Ok(DedupEntry {
                    key: key.try_into().map_err(|_| PgError::Corrupt {
                        what: format!("the dedup key of event {seq}"),
                        reason: format!("{} bytes", key.len()),
                    })?,
                    seq: super::meta::from_int8(seq, "events.seq")?,
                    own_time: row.get(2),
                })
            })
            .collect()
    }

    /// The oldest quarantine entry with these raw bytes and this `record_response` context:
    /// its id and record.
    pub(crate) fn find_reject(
        &mut self,
        raw_sha: &[u8; 32],
        response: Option<&ResponseContext>,
    ) -> PgResult<Option<(u64, Vec<u8>)>> {
        let (ctid, command, domain) = response_columns(response);
        let row = self
            .txn
            .query_opt(
                "SELECT id, record FROM quarantine WHERE raw_sha = $1 \
                 AND response_ctid IS NOT DISTINCT FROM $2 \
                 AND response_command IS NOT DISTINCT FROM $3 \
                 AND response_domain IS NOT DISTINCT FROM $4 \
                 ORDER BY id LIMIT 1",
                &[&raw_sha.as_slice(), &ctid, &command, &domain],
            )
            .map_err(query("looking up a rejected input"))?;
        row.map(|row| {
            Ok((
                super::meta::from_int8(row.get(0), "quarantine.id")?,
                row.get(1),
            ))
        })
        .transpose()
    }

    /// The own time of event `seq` as its row keeps it (the outer `None`: no such event).
    pub(crate) fn own_time(&mut self, seq: u64) -> PgResult<Option<Option<DateTime<Utc>>>> {
        let seq = int8(seq, "seq")?;
        let row = self
            .txn
            .query_opt("SELECT own_time FROM events WHERE seq = $1", &[&seq])
            .map_err(query("reading an event's own time"))?;
        Ok(row.map(|row| row.get(0)))
    }

    /// Every quarantine entry whose raw input has one of these SHA-256s (one query for the
    /// whole set), in id order: the engine picks the entry of each (bytes, response context)
    /// from their records.
    pub(crate) fn rejects_with_raw(&mut self, shas: &[[u8; 32]]) -> PgResult<Vec<StoredReject>> {
        if shas.is_empty() {
            return Ok(Vec::new());
        }
        let shas: Vec<&[u8]> = shas.iter().map(|sha| sha.as_slice()).collect();
        let rows = self
            .txn
            .query(
                "SELECT id, raw_sha, record FROM quarantine WHERE raw_sha = ANY($1) ORDER BY id",
                &[&shas],
            )
            .map_err(query("looking up rejected inputs"))?;
        rows.iter()
            .map(|row| {
                let id = super::meta::from_int8(row.get(0), "quarantine.id")?;
                let sha: &[u8] = row.get(1);
                Ok(StoredReject {
                    id,
                    raw_sha: sha.try_into().map_err(|_| PgError::Corrupt {
                        what: format!("the raw_sha of quarantine entry {id}"),
                        reason: format!("{} bytes, not 32", sha.len()),
                    })?,
                    record: row.get(2),
                })
            })
            .collect()
    }

    /// The records of `projection` under `keys` (one query), as this transaction sees them
    /// (its own writes included), as (key, record) in key order; keys without one are left
    /// out.
    pub(crate) fn view_records(
        &mut self,
        projection: u16,
        keys: &[&[u8]],
    ) -> PgResult<Vec<(Vec<u8>, Vec<u8>)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        super::read::view_records(&mut self.txn, projection, keys)
    }

    /// The records under each (projection, key) pair asked, `projections[i]` with `keys[i]`
    /// (one query for all of them, whatever the projections), as (projection, key, record)
    /// in no order; pairs without one are left out.
    pub(crate) fn view_records_of(
        &mut self,
        projections: &[u16],
        keys: &[&[u8]],
    ) -> PgResult<Vec<ViewRecord>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        if projections.len() != keys.len() {
            return Err(PgError::Invalid(format!(
                "{} projections for {} keys",
                projections.len(),
                keys.len()
            )));
        }
        let ids = projections
            .iter()
            .map(|id| {
                i16::try_from(*id)
                    .map_err(|_| PgError::Invalid(format!("projection id {id} is past smallint")))
            })
            .collect::<PgResult<Vec<i16>>>()?;
        let rows = self
            .txn
            .query(
                "SELECT v.projection, v.key, v.record \
                 FROM UNNEST($1::smallint[], $2::bytea[]) AS k(projection, key) \
                 JOIN views v ON v.projection = k.projection AND v.key = k.key",
                &[&ids, &keys],
            )
            .map_err(query("reading projection records"))?;
        rows.iter()
            .map(|row| {
                let id: i16 = row.get(0);
                let id = u16::try_from(id).map_err(|_| PgError::Corrupt {
                    what: "views.projection".into(),
                    reason: format!("negative: {id}"),
                })?;
                Ok((id, row.get(1), row.get(2)))
            })
            .collect()
    }

    /// Inserts raw inputs not already kept (`ON CONFLICT DO NOTHING`: identical bytes are
    /// kept once, across batches too); how many were new.
    pub(crate) fn insert_raw(&mut self, raws: &[CompressedRaw]) -> PgResult<u64> {
        let mut seen = rustc_hash::FxHashSet::default();
        let mut shas: Vec<&[u8]> = Vec::with_capacity(raws.len());
        let mut sizes: Vec<i64> = Vec::with_capacity(raws.len());
        let mut bytes: Vec<&[u8]> = Vec::with_capacity(raws.len());
        for raw in raws {
            if seen.insert(raw.sha256) {
                shas.push(&raw.sha256);
                sizes.push(int8(raw.size, "raw input size")?);
                bytes.push(&raw.zstd);
            }
        }
        if shas.is_empty() {
            return Ok(0);
        }
        self.txn
            .execute(
                "INSERT INTO raw (sha256, size, zstd) \
                 SELECT * FROM UNNEST($1::bytea[], $2::bigint[], $3::bytea[]) \
                 ON CONFLICT (sha256) DO NOTHING",
                &[&shas, &sizes, &bytes],
            )
            .map_err(query("inserting raw inputs"))
    }

    /// Appends events, which must continue the log ([`PgError::Invalid`] otherwise, with
    /// nothing written), in one statement.
    pub(crate) fn append_events(&mut self, events: &[NewEvent<'_>]) -> PgResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let n = events.len();
        let mut seqs = Vec::with_capacity(n);
        let mut stored = Vec::with_capacity(n);
        let mut order_ids = Vec::with_capacity(n);
        let mut domains = Vec::with_capacity(n);
        let mut keys: Vec<&[u8]> = Vec::with_capacity(n);
        let mut own_times = Vec::with_capacity(n);
        let mut raw_shas: Vec<&[u8]> = Vec::with_capacity(n);
        for (i, event) in events.iter().enumerate() {
            let expected = self.next_seq + i as u64;
            if event.seq != expected {
                return Err(PgError::Invalid(format!(
                    "event {} appended where seq {expected} is next",
                    event.seq
                )));
            }
            seqs.push(int8(event.seq, "seq")?);
            stored.push(event.stored);
            order_ids.push(event.order_id);
            domains.push(event.domain);
            keys.push(&event.dedup_key);
            own_times.push(event.own_time);
            raw_shas.push(&event.raw_sha);
        }
        self.txn
            .execute(
                "INSERT INTO events (seq, stored, order_id, domain, dedup_key, own_time, raw_sha) \
                 SELECT * FROM UNNEST($1::bigint[], $2::bytea[], $3::text[], $4::text[], \
                 $5::bytea[], $6::timestamptz[], $7::bytea[])",
                &[
                    &seqs, &stored, &order_ids, &domains, &keys, &own_times, &raw_shas,
                ],
            )
            .map_err(query("appending events"))?;
        self.next_seq += n as u64;
        Ok(())
    }

    /// Inserts new quarantine entries, which must continue the quarantine's ids
    /// ([`PgError::Invalid`] otherwise, with nothing written).
    pub(crate) fn insert_rejects(&mut self, rejects: &[NewReject<'_>]) -> PgResult<()> {
        if rejects.is_empty() {
            return Ok(());
        }
        let n = rejects.len();
        let mut ids = Vec::with_capacity(n);
        let mut shas: Vec<&[u8]> = Vec::with_capacity(n);
        let mut ctids = Vec::with_capacity(n);
        let mut commands = Vec::with_capacity(n);
        let mut domains = Vec::with_capacity(n);
        let mut records = Vec::with_capacity(n);
        for (i, reject) in rejects.iter().enumerate() {
            let expected = self.next_quarantine + i as u64;
            if reject.id != expected {
                return Err(PgError::Invalid(format!(
                    "quarantine entry {} inserted where {expected} is next",
                    reject.id
                )));
            }
            let (ctid, command, domain) = response_columns(reject.response);
            ids.push(int8(reject.id, "quarantine id")?);
            shas.push(&reject.raw_sha);
            ctids.push(ctid);
            commands.push(command);
            domains.push(domain);
            records.push(reject.record);
        }
        self.txn
            .execute(
                "INSERT INTO quarantine \
                 (id, raw_sha, response_ctid, response_command, response_domain, record) \
                 SELECT * FROM UNNEST($1::bigint[], $2::bytea[], $3::text[], $4::text[], \
                 $5::text[], $6::bytea[])",
                &[&ids, &shas, &ctids, &commands, &domains, &records],
            )
            .map_err(query("inserting quarantine entries"))?;
        self.next_quarantine += n as u64;
        Ok(())
    }

    /// Replaces the record of an existing quarantine entry (a dismissal); whether it was
    /// there.
    pub(crate) fn replace_reject(&mut self, id: u64, record: &[u8]) -> PgResult<bool> {
        let id = int8(id, "quarantine id")?;
        self.txn
            .execute(
                "UPDATE quarantine SET record = $2 WHERE id = $1",
                &[&id, &record],
            )
            .map(|rows| rows == 1)
            .map_err(query("updating a quarantine entry"))
    }

    /// Removes quarantine entries (released: their input became an event); how many were
    /// there. Their raw inputs stay (an event refers to them).
    pub(crate) fn remove_rejects(&mut self, ids: &[u64]) -> PgResult<u64> {
        let ids = ids
            .iter()
            .map(|id| int8(*id, "quarantine id"))
            .collect::<PgResult<Vec<i64>>>()?;
        if ids.is_empty() {
            return Ok(0);
        }
        self.txn
            .execute("DELETE FROM quarantine WHERE id = ANY($1)", &[&ids])
            .map_err(query("removing quarantine entries"))
    }

    /// Applies projection changes: the last change of a (projection, key) wins; puts in one
    /// upsert, removals in one delete.
    pub(crate) fn apply_views(&mut self, changes: &[ViewChange<'_>]) -> PgResult<()> {
        // An upsert may not touch a row twice in one statement: keep each key's last change.
        let mut last: FxHashMap<(u16, &[u8]), usize> = FxHashMap::default();
        for (i, change) in changes.iter().enumerate() {
            last.insert((change.projection, change.key), i);
        }
        let mut winners: Vec<usize> = last.into_values().collect();
        winners.sort_unstable();
        let (mut put_ids, mut put_keys, mut put_records) = (Vec::new(), Vec::new(), Vec::new());
        let (mut del_ids, mut del_keys) = (Vec::new(), Vec::new());
        for i in winners {
            let change = &changes[i];
            let projection = i16::try_from(change.projection).map_err(|_| {
                PgError::Invalid(format!(
                    "projection id {} is past smallint",
                    change.projection
                ))
            })?;
            match change.record {
                Some(record) => {
                    put_ids.push(projection);
                    put_keys.push(change.key);
                    put_records.push(record);
                }
                None => {
                    del_ids.push(projection);
                    del_keys.push(change.key);
                }
            }
        }
        if !put_ids.is_empty() {
            self.txn
                .execute(
                    "INSERT INTO views (projection, key, record) \
                     SELECT * FROM UNNEST($1::smallint[], $2::bytea[], $3::bytea[]) \
                     ON CONFLICT (projection, key) DO UPDATE SET record = EXCLUDED.record",
                    &[&put_ids, &put_keys, &put_records],
                )
                .map_err(query("writing projection records"))?;
        }
        if !del_ids.is_empty() {
            self.txn
                .execute(
                    "DELETE FROM views v USING UNNEST($1::smallint[], $2::bytea[]) \
                     AS d(projection, key) WHERE v.projection = d.projection AND v.key = d.key",
                    &[&del_ids, &del_keys],
                )
                .map_err(query("removing projection records"))?;
        }
        Ok(())
    }

    /// Removes every record of a projection (before a rebuild writes it again); how many.
    pub(crate) fn clear_view(&mut self, projection: u16) -> PgResult<u64> {
        let projection = i16::try_from(projection).map_err(|_| {
            PgError::Invalid(format!("projection id {projection} is past smallint"))
        })?;
        self.txn
            .execute("DELETE FROM views WHERE projection = $1", &[&projection])
            .map_err(query("clearing a projection"))
    }

    /// Sets the last seq the views hold, written at commit (it may not pass the log's head).
    pub(crate) fn set_checkpoint(&mut self, seq: u64) -> PgResult<()> {
        if seq >= self.next_seq {
            return Err(PgError::Invalid(format!(
                "checkpoint {seq} past the log's head {}",
                self.next_seq - 1
            )));
        }
        self.checkpoint = seq;
        Ok(())
    }

    /// Sets the shape version of the views' records, written at commit.
    pub(crate) fn set_views_version(&mut self, version: i32) {
        self.views_version = version;
    }

    /// Sets (or with `None` removes) the trust policy's text, written at commit.
    pub(crate) fn set_trust_policy(&mut self, policy: Option<&str>) {
        self.trust_policy = Some(policy.map(str::to_string));
    }

    /// Writes the meta row (when anything in it changed), notifies [`EVENTS_CHANNEL`] when
    /// events were appended, and commits; returns once the server answered the COMMIT.
    pub(crate) fn commit(mut self) -> PgResult<Committed> {
        let appended = self.next_seq - self.locked.next_seq;
        let trust_policy = self
            .trust_policy
            .take()
            .unwrap_or_else(|| self.locked.trust_policy.clone());
        let changed = Meta {
            next_seq: self.next_seq,
            next_quarantine: self.next_quarantine,
            checkpoint: self.checkpoint,
            views_version: self.views_version,
            trust_policy,
        };
        if changed != self.locked {
            self.txn
                .execute(
                    "UPDATE ledger_meta SET next_seq = $1, next_quarantine = $2, \
                     checkpoint = $3, views_version = $4, trust_policy = $5",
                    &[
                        &int8(changed.next_seq, "next seq")?,
                        &int8(changed.next_quarantine, "next quarantine id")?,
                        &int8(changed.checkpoint, "checkpoint")?,
                        &changed.views_version,
                        &changed.trust_policy,
                    ],
                )
                .map_err(query("writing ledger_meta"))?;
        } else {
            // A statement that failed earlier aborted the transaction, and PostgreSQL answers
            // COMMIT on an aborted transaction with a ROLLBACK, not an error: with no meta
            // change to fail on, ask once, so a swallowed failure is never reported committed.
            self.txn
                .batch_execute("SELECT 1")
                .map_err(query("checking the transaction before commit"))?;
        }
        let head = self.next_seq - 1;
        if appended > 0 {
            self.txn
                .execute(
                    "SELECT pg_notify($1, $2)",
                    &[&EVENTS_CHANNEL, &head.to_string()],
                )
                .map_err(query("notifying new events"))?;
        }
        self.txn.commit().map_err(query("committing"))?;
        Ok(Committed { head, appended })
    }
}

/// The quarantine's response columns of a context.
fn response_columns(
    response: Option<&ResponseContext>,
) -> (Option<&str>, Option<&str>, Option<&str>) {
    match response {
        Some(context) => (
            Some(context.ctid.as_str()),
            context.command.as_deref(),
            context.domain.as_deref(),
        ),
        None => (None, None, None),
    }
}
