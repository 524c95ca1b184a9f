//! Reads: plain statements under MVCC, no lock, so a reader never waits for a writer and sees
//! what the last commit left (each statement its own snapshot; run several in one REPEATABLE
//! READ transaction for one snapshot across them).

use std::ops::Range;

use postgres::GenericClient;

use super::error::{PgError, PgResult, query};
use super::meta::{from_int8, int8};
use super::raw::decompress;

/// An event as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredEvent {
    /// Its seq.
    pub(crate) seq: u64,
    /// Its stored form (a `LEVT` envelope).
    pub(crate) stored: Vec<u8>,
    /// SHA-256 of its raw input.
    pub(crate) raw_sha: [u8; 32],
}

/// A quarantine entry as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredReject {
    /// Its id.
    pub(crate) id: u64,
    /// SHA-256 of its raw input.
    pub(crate) raw_sha: [u8; 32],
    /// The engine's record.
    pub(crate) record: Vec<u8>,
}

/// The events of an order (by its ctid), in seq order.
pub(crate) fn events_by_order(
    client: &mut impl GenericClient,
    order_id: &str,
) -> PgResult<Vec<StoredEvent>> {
    events(
        client,
        "SELECT seq, stored, raw_sha FROM events WHERE order_id = $1 ORDER BY seq",
        &[&order_id],
        "reading an order's events",
    )
}

/// The events of a domain, in seq order.
pub(crate) fn events_by_domain(
    client: &mut impl GenericClient,
    domain: &str,
) -> PgResult<Vec<StoredEvent>> {
    events(
        client,
        "SELECT seq, stored, raw_sha FROM events WHERE domain = $1 ORDER BY seq",
        &[&domain],
        "reading a domain's events",
    )
}

/// The events with seqs in `seqs`, in seq order (page through the log with ranges of a few
/// thousand).
pub(crate) fn events_in(
    client: &mut impl GenericClient,
    seqs: Range<u64>,
) -> PgResult<Vec<StoredEvent>> {
    let start = int8(seqs.start.min(i64::MAX as u64), "seq")?;
    let end = int8(seqs.end.min(i64::MAX as u64), "seq")?;
    events(
        client,
        "SELECT seq, stored, raw_sha FROM events WHERE seq >= $1 AND seq < $2 ORDER BY seq",
        &[&start, &end],
        "reading events",
    )
}

fn events(
    client: &mut impl GenericClient,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
    operation: &'static str,
) -> PgResult<Vec<StoredEvent>> {
    let rows = client.query(sql, params).map_err(query(operation))?;
    rows.iter()
        .map(|row| {
            let seq = from_int8(row.get(0), "events.seq")?;
            Ok(StoredEvent {
                seq,
                stored: row.get(1),
                raw_sha: sha(row.get(2), || format!("the raw_sha of event {seq}"))?,
            })
        })
        .collect()
}

/// The raw input of the event at `seq` (decompressed, its length and SHA-256 checked), or
/// `None` when there is no such event.
pub(crate) fn raw_of_event(client: &mut impl GenericClient, seq: u64) -> PgResult<Option<Vec<u8>>> {
    let seq = int8(seq, "seq")?;
    raw(
        client,
        "SELECT r.sha256, r.size, r.zstd FROM events e JOIN raw r ON r.sha256 = e.raw_sha \
         WHERE e.seq = $1",
        &seq,
    )
}

/// The raw input with this SHA-256 (decompressed and checked), if kept.
pub(crate) fn raw_by_sha(
    client: &mut impl GenericClient,
    sha256: &[u8; 32],
) -> PgResult<Option<Vec<u8>>> {
    raw(
        client,
        "SELECT sha256, size, zstd FROM raw WHERE sha256 = $1",
        &sha256.as_slice(),
    )
}

fn raw(
    client: &mut impl GenericClient,
    sql: &str,
    param: &(dyn postgres::types::ToSql + Sync),
) -> PgResult<Option<Vec<u8>>> {
    let row = client
        .query_opt(sql, &[param])
        .map_err(query("reading a raw input"))?;
    row.map(|row| decompress(row.get(0), row.get(1), row.get(2)))
        .transpose()
}

/// The records of `projection` under `keys` (one query), as (key, record) in key order;
/// keys without a record are left out.
pub(crate) fn view_records(
    client: &mut impl GenericClient,
    projection: u16,
    keys: &[&[u8]],
) -> PgResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let projection = smallint(projection)?;
    let rows = client
        .query(
            "SELECT key, record FROM views WHERE projection = $1 AND key = ANY($2) ORDER BY key",
            &[&projection, &keys],
        )
        .map_err(query("reading projection records"))?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// The records of `projection` whose keys start with `prefix`, in key order (a range scan of
/// the primary key: bytea compares bytewise). At most `limit` records when given.
pub(crate) fn view_prefix(
    client: &mut impl GenericClient,
    projection: u16,
    prefix: &[u8],
    limit: Option<u64>,
) -> PgResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let projection = smallint(projection)?;
    let limit = limit.map(|n| int8(n, "limit")).transpose()?;
    let rows = match successor(prefix) {
        Some(end) => client.query(
            "SELECT key, record FROM views WHERE projection = $1 AND key >= $2 AND key < $3 \
             ORDER BY key LIMIT $4",
            &[&projection, &prefix, &end, &limit],
        ),
        None => client.query(
            "SELECT key, record FROM views WHERE projection = $1 AND key >= $2 \
             ORDER BY key LIMIT $3",
            &[&projection, &prefix, &limit],
        ),
    }
    .map_err(query("scanning projection records"))?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// The quarantine entries with ids in `ids`, in id order.
pub(crate) fn rejects_in(
    client: &mut impl GenericClient,
    ids: Range<u64>,
) -> PgResult<Vec<StoredReject>> {
    let start = int8(ids.start.min(i64::MAX as u64), "quarantine id")?;
    let end = int8(ids.end.min(i64::MAX as u64), "quarantine id")?;
    let rows = client
        .query(
            "SELECT id, raw_sha, record FROM quarantine WHERE id >= $1 AND id < $2 ORDER BY id",
            &[&start, &end],
        )
        .map_err(query("reading the quarantine"))?;
    rows.iter()
        .map(|row| {
            let id = from_int8(row.get(0), "quarantine.id")?;
            Ok(StoredReject {
                id,
                raw_sha: sha(row.get(1), || {
                    format!("the raw_sha of quarantine entry {id}")
                })?,
                record: row.get(2),
            })
        })
        .collect()
}

/// The smallest byte string greater than every string starting with `prefix`; `None` when
/// there is none (an empty prefix, or all 0xFF).
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|&b| b != 0xFF)?;
    let mut end = prefix[..=last].to_vec();
    end[last] += 1;
    Some(end)
}

fn smallint(projection: u16) -> PgResult<i16> {
    i16::try_from(projection)
        .map_err(|_| PgError::Invalid(format!("projection id {projection} is past smallint")))
}

fn sha(bytes: &[u8], what: impl FnOnce() -> String) -> PgResult<[u8; 32]> {
    bytes.try_into().map_err(|_| PgError::Corrupt {
        what: what(),
        reason: format!("{} bytes, not 32", bytes.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::successor;

    #[test]
    fn the_successor_of_a_prefix_bounds_its_range() {
        assert_eq!(successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(successor(&[1, 0xFF, 0xFF]), Some(vec![2]));
        assert_eq!(successor(&[0xFF, 0xFF]), None);
        assert_eq!(successor(b""), None);
    }
}
