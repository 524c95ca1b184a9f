//! Where each event's stored form is: the log's `E` space, buckets of [`BUCKET`] pack
//! references (layout 3).
//!
//! Seqs are dense (1, 2, 3…), so one sled entry per event only to say where it is would be a
//! million entries per million events: sled 0.34 keeps at most 16 entries in a leaf, and its
//! open time, page table and write cost grow with the number of entries. Instead, bucket
//! `(seq - 1) / 64` (u64 BE) holds the 16-byte references ([`crate::raw::encode_ref`]) of
//! its seqs in order; only the last bucket is partial, and an ingest batch rewrites it once
//! and writes the next ones whole.

use crate::raw::PackRef;

use crate::raw::{decode_ref, encode_ref};
use crate::store::{Log, storage};
use crate::{LedgerError, Result};

/// Seqs per bucket.
pub(crate) const BUCKET: u64 = 64;
/// Bytes of one reference.
const REF: usize = 16;
/// Bytes of a whole bucket.
pub(crate) const BUCKET_BYTES: usize = BUCKET as usize * REF;

/// The bucket holding `seq` (≥ 1) and its position in it.
fn place(seq: u64) -> (u64, usize) {
    let index = seq.saturating_sub(1);
    (index / BUCKET, (index % BUCKET) as usize)
}

/// The bucket holding `seq` (≥ 1).
pub(crate) fn bucket_of(seq: u64) -> u64 {
    place(seq).0
}

/// The first seq of `bucket`; `None` for a key no log can reach (a damaged one).
pub(crate) fn first_seq(bucket: u64) -> Option<u64> {
    bucket.checked_mul(BUCKET)?.checked_add(1)
}

fn corrupt(bucket: u64, reason: String) -> LedgerError {
    LedgerError::Corrupt {
        what: format!("event locator bucket {bucket}"),
        reason,
    }
}

/// The references of a stored bucket, checked for shape.
fn refs(bucket: u64, bytes: &[u8]) -> Result<impl Iterator<Item = Result<PackRef>> + '_> {
    if !bytes.len().is_multiple_of(REF) || bytes.len() / REF > BUCKET as usize {
        return Err(corrupt(
            bucket,
            format!("{} bytes is not a whole number of references", bytes.len()),
        ));
    }
    Ok(bytes.chunks_exact(REF).map(decode_ref))
}

/// Where event `seq`'s stored form is, or `None` when there is no such event.
pub(crate) fn locate(log: &Log, seq: u64) -> Result<Option<PackRef>> {
    if seq == 0 {
        return Ok(None);
    }
    let (bucket, position) = place(seq);
    let Some(bytes) = log
        .locators
        .get(bucket.to_be_bytes())
        .map_err(storage("reading event locators"))?
    else {
        return Ok(None);
    };
    refs(bucket, &bytes)?.nth(position).transpose()
}

/// Adds to `batch` the references of the events `first..first + places.len()`, the log's next
/// seqs: the last (partial) bucket is read and rewritten with them, later buckets are new.
pub(crate) fn append(
    log: &Log,
    batch: &mut sled::Batch,
    first: u64,
    places: &[PackRef],
) -> Result<()> {
    if places.is_empty() {
        return Ok(());
    }
    let (mut bucket, position) = place(first);
    let mut bytes = Vec::with_capacity(BUCKET_BYTES);
    if position > 0 {
        let stored = log
            .locators
            .get(bucket.to_be_bytes())
            .map_err(storage("reading event locators"))?
            .unwrap_or_default();
        if stored.len() != position * REF {
            return Err(corrupt(
                bucket,
                format!(
                    "holds {} bytes where seq {first} expects {}",
                    stored.len(),
                    position * REF
                ),
            ));
        }
        bytes.extend_from_slice(&stored);
    }
    for place in places {
        bytes.extend_from_slice(&encode_ref(*place));
        if bytes.len() == BUCKET_BYTES {
            batch.insert(log.locators.key(&bucket.to_be_bytes()), bytes.as_slice());
            bytes.clear();
            bucket += 1;
        }
    }
    if !bytes.is_empty() {
        batch.insert(log.locators.key(&bucket.to_be_bytes()), bytes);
    }
    Ok(())
}

/// The events `from..=to` (`to`: `None` for the head) with their references, in seq order.
/// A missing bucket, a bucket short of 64 references that is not the last, or a malformed
/// bucket is an error item (a gap in the log: `verify` reports it), and reading goes on.
pub(crate) fn range(
    log: &Log,
    from: u64,
    to: Option<u64>,
) -> impl Iterator<Item = Result<(u64, PackRef)>> + '_ {
    let from = from.max(1);
    let start = place(from).0;
    let end = to.map(|to| place(to.max(1)).0);
    // The bucket expected next, and whether the previous one was short (then it had to be
    // the last).
    let mut expected = Some(start);
    let mut short: Option<u64> = None;
    let end = end.map(u64::to_be_bytes);
    log.locators
        .range(&start.to_be_bytes(), end.as_ref().map(|k| &k[..]))
        .flat_map(move |entry| -> Vec<Result<(u64, PackRef)>> {
            let (key, value) = match entry.map_err(storage("reading event locators")) {
                Ok(entry) => entry,
                Err(e) => return vec![Err(e)],
            };
            let bucket = match crate::codec::be_u64(&key, "event locator key") {
                Ok(bucket) => bucket,
                Err(e) => return vec![Err(e)],
            };
            let gap = if let Some(previous) = short {
                Some(format!(
                    "follows bucket {previous}, which is short of {BUCKET} references"
                ))
            } else if Some(bucket) != expected {
                Some("does not follow the bucket before it".to_string())
            } else {
                None
            };
            expected = bucket.checked_add(1);
            // A gap is reported once, before the bucket after it, which is then read as usual
            // (its seqs come from its key, so they are still right).
            let mut items: Vec<Result<(u64, PackRef)>> = Vec::new();
            if let Some(gap) = gap {
                items.push(Err(corrupt(bucket, gap)));
            }
            let Some(first) = first_seq(bucket) else {
                items.push(Err(corrupt(bucket, "is beyond any seq".into())));
                return items;
            };
            short = (value.len() < BUCKET_BYTES).then_some(bucket);
            match refs(bucket, &value) {
                Ok(refs) => items.extend(
                    refs.enumerate()
                        .map(|(i, r)| r.map(|r| (first + i as u64, r)))
                        .filter(|item| match item {
                            Ok((seq, _)) => *seq >= from && to.is_none_or(|to| *seq <= to),
                            Err(_) => true,
                        }),
                ),
                Err(e) => items.push(Err(e)),
            }
            items
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqs_map_to_buckets_of_64_from_1() {
        assert_eq!(place(1), (0, 0));
        assert_eq!(place(64), (0, 63));
        assert_eq!(place(65), (1, 0));
        assert_eq!(first_seq(1), Some(65));
        assert_eq!(first_seq(u64::MAX / 64 + 1), None);
    }
}
