//! The key layouts of the two indexes that make the pending-transfers questions cost what they
//! answer (issue 15), and how a question reads them. `transfer_spans` is a bare-key tree,
//! `transfers_by_deadline` a covering index (each entry holds its open transfer); the transfers
//! fold only writes them ([`super::transfers::apply`]): it knows from a domain's record which keys are
//! stored.
//!
//! * [`DEADLINE_TREE`], the open transfers by deadline: `0 ++ deadline ++ domain` (the
//!   deadline as an order-preserving 8-byte key) for a known deadline, `1 ++ domain` for an
//!   unknown one, each holding the open transfer as `transfers_open` does (a covering index:
//!   no lookup per row). "Due by `by`" (a deadline at or before `by`, overdue ones included, or
//!   unknown) is one range scan and one prefix scan, in the order the answer is listed in
//!   (deadline, then domain; unknown deadlines last).
//! * [`SPANS_TREE`] (bare keys), every span a transfer of a domain was pending in, for questions about a
//!   past instant (an interval index). An ended span `[from, until)` is written under the
//!   canonical blocks of a segment tree over days: the fewest aligned power-of-two runs of days
//!   that cover its days exactly (at most two a level, [`MAX_LEVEL`] + 1 levels), each key
//!   `level ++ block ++ domain ++ from ++ until`. Whatever its length, a span has a few keys,
//!   and the one block of each level that holds an instant's day is one prefix scan: a
//!   question reads the spans that overlap the instant's day at level 0 and only spans that
//!   contain the instant above, and drops by the bounds in the key those that do not contain
//!   it. An open span (the domain's transfer pending to this day, in `transfers_open`) is one
//!   key `0xFF ++ from ++ domain`: the ones open at a past instant are one range scan up to
//!   it, so transfers left open for years by lost closing mails are read only by questions
//!   about instants after they started (where they are in the answer).

use super::ProjectionId;

/// The open transfers by deadline.
pub(crate) const DEADLINE_TREE: ProjectionId = ProjectionId::TransfersByDeadline;
/// The pending spans, by the days they cover (ended) or by their start (open).
pub(crate) const SPANS_TREE: ProjectionId = ProjectionId::TransferSpans;

/// [`DEADLINE_TREE`]: the tag of a known deadline.
const KNOWN: u8 = 0;
/// [`DEADLINE_TREE`]: the tag of an unknown deadline (after every known one).
const UNKNOWN: u8 = 1;

/// [`SPANS_TREE`]: the leaf of the segment tree, a day in µs.
const LEAF: i64 = 86_400 * 1_000_000;
/// [`SPANS_TREE`]: the highest level (a block of 2^27 days). Every day an `i64` of µs can
/// name lies in block −1 or 0 of it, so every span decomposes ([`tests`] check it).
pub(crate) const MAX_LEVEL: u8 = 27;
/// [`SPANS_TREE`]: the tag of an open span (above every level).
const OPEN: u8 = 0xFF;
/// The bytes of a time in a key.
const TIME: usize = 8;

/// A time as an order-preserving big-endian key part.
pub(crate) fn time_key(at: i64) -> [u8; TIME] {
    ((at as u64) ^ (1 << 63)).to_be_bytes()
}

/// The time a [`time_key`] stands for.
pub(crate) fn key_time(key: [u8; TIME]) -> i64 {
    (u64::from_be_bytes(key) ^ (1 << 63)) as i64
}

/// The [`DEADLINE_TREE`] key of an open transfer of `domain` with `deadline` (µs).
pub(crate) fn deadline_key(deadline: Option<i64>, domain: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + TIME + domain.len());
    match deadline {
        Some(at) => {
            key.push(KNOWN);
            key.extend_from_slice(&time_key(at));
        }
        None => key.push(UNKNOWN),
    }
    key.extend_from_slice(domain.as_bytes());
    key
}

/// The [`DEADLINE_TREE`] keys of the transfers due by `by` (µs) with a known deadline: from
/// the first key up to this one, exclusive.
pub(crate) fn due_end(by: i64) -> Vec<u8> {
    match by.checked_add(1) {
        Some(after) => {
            let mut key = vec![KNOWN];
            key.extend_from_slice(&time_key(after));
            key
        }
        None => vec![UNKNOWN],
    }
}

/// The first [`DEADLINE_TREE`] key of a known deadline.
pub(crate) const DUE_START: &[u8] = &[KNOWN];
/// The [`DEADLINE_TREE`] prefix of the unknown deadlines.
pub(crate) const UNKNOWN_PREFIX: &[u8] = &[UNKNOWN];

/// The domain of a [`DEADLINE_TREE`] key.
pub(crate) fn deadline_domain(key: &[u8]) -> Option<&[u8]> {
    match *key.first()? {
        KNOWN => key.get(1 + TIME..),
        UNKNOWN => key.get(1..),
        _ => None,
    }
}

/// A span a transfer was pending in: `[from, until)` (µs), `until` `None` while it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) from: i64,
    pub(crate) until: Option<i64>,
}

/// The leaf (day) of an instant.
fn leaf(at: i64) -> i64 {
    at.div_euclid(LEAF)
}

/// The canonical blocks `(level, block)` covering the leaves `first..=last` exactly: from
/// `first` on, each the largest aligned block that starts there and ends by `last`.
fn blocks(first: i64, last: i64) -> Vec<(u8, i64)> {
    let mut out = Vec::new();
    let mut at = first;
    while at <= last {
        let mut level = 0u8;
        while level < MAX_LEVEL {
            let size = 1i64 << (level + 1);
            if at & (size - 1) != 0 || at + (size - 1) > last {
                break;
            }
            level += 1;
        }
        out.push((level, at >> level));
        at += 1i64 << level;
    }
    out
}

/// Adds the [`SPANS_TREE`] keys of `span` of `domain` to `keys`.
pub(crate) fn span_keys(span: Span, domain: &str, keys: &mut Vec<Vec<u8>>) {
    let Some(until) = span.until else {
        let mut key = Vec::with_capacity(1 + TIME + domain.len());
        key.push(OPEN);
        key.extend_from_slice(&time_key(span.from));
        key.extend_from_slice(domain.as_bytes());
        keys.push(key);
        return;
    };
    if until <= span.from {
        return;
    }
    for (level, block) in blocks(leaf(span.from), leaf(until - 1)) {
        let mut key = Vec::with_capacity(1 + 3 * TIME + domain.len());
        key.push(level);
        key.extend_from_slice(&time_key(block));
        key.extend_from_slice(domain.as_bytes());
        key.extend_from_slice(&time_key(span.from));
        key.extend_from_slice(&time_key(until));
        keys.push(key);
    }
}

/// The [`SPANS_TREE`] prefix of the block of `level` that holds the instant `at` (µs).
pub(crate) fn level_prefix(level: u8, at: i64) -> [u8; 1 + TIME] {
    let mut prefix = [level; 1 + TIME];
    prefix[1..].copy_from_slice(&time_key(leaf(at) >> level));
    prefix
}

/// The first [`SPANS_TREE`] key of an open span.
pub(crate) const OPEN_START: &[u8] = &[OPEN];

/// The [`SPANS_TREE`] keys of the spans open since `at` (µs) or before: from
/// [`OPEN_START`] up to this one, exclusive; `None`: to the end of the tree.
pub(crate) fn open_end(at: i64) -> Option<Vec<u8>> {
    let after = at.checked_add(1)?;
    let mut key = vec![OPEN];
    key.extend_from_slice(&time_key(after));
    Some(key)
}

/// The domain of a [`SPANS_TREE`] key read for the instant `at`, when its span contains `at`
/// (an open span is read only up to `at`: it does).
pub(crate) fn span_domain_at(key: &[u8], at: i64) -> Option<&[u8]> {
    if key.first()? == &OPEN {
        return key.get(1 + TIME..);
    }
    let bounds = key.len().checked_sub(2 * TIME)?;
    let domain = key.get(1 + TIME..bounds)?;
    let (from, until) = key[bounds..].split_at(TIME);
    let from = key_time(from.try_into().ok()?);
    let until = key_time(until.try_into().ok()?);
    (from <= at && at < until).then_some(domain)
}

/// A key of [`DEADLINE_TREE`] or [`SPANS_TREE`] as a person reads it (`verify`'s lines);
/// `None` when it is not such a key.
pub(crate) fn describe(tree: ProjectionId, key: &[u8]) -> Option<String> {
    let instant = |bytes: &[u8]| -> Option<String> {
        let at = key_time(bytes.try_into().ok()?);
        Some(match chrono::DateTime::from_timestamp_micros(at) {
            Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            None => format!("{at} µs"),
        })
    };
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    if tree == DEADLINE_TREE {
        let domain = text(deadline_domain(key)?);
        return Some(match key[0] {
            KNOWN => format!("due {}:{domain}", instant(key.get(1..1 + TIME)?)?),
            _ => format!("deadline unknown:{domain}"),
        });
    }
    if tree != SPANS_TREE {
        return None;
    }
    if key.first()? == &OPEN {
        let from = instant(key.get(1..1 + TIME)?)?;
        return Some(format!("open from {from}:{}", text(key.get(1 + TIME..)?)));
    }
    let bounds = key.len().checked_sub(2 * TIME)?;
    let domain = text(key.get(1 + TIME..bounds)?);
    Some(format!(
        "level {} block {}:{domain} {} to {}",
        key[0],
        key_time(key.get(1..1 + TIME)?.try_into().ok()?),
        instant(&key[bounds..bounds + TIME])?,
        instant(&key[bounds + TIME..])?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spans' keys read for an instant, as a question reads them: every level's block of
    /// the instant, then the open spans up to it.
    fn read_at(keys: &[Vec<u8>], at: i64) -> Vec<Vec<u8>> {
        let mut sorted = keys.to_vec();
        sorted.sort();
        let mut found = Vec::new();
        for level in 0..=MAX_LEVEL {
            let prefix = level_prefix(level, at);
            for key in sorted.iter().filter(|k| k.starts_with(&prefix)) {
                if let Some(domain) = span_domain_at(key, at) {
                    found.push(domain.to_vec());
                }
            }
        }
        let end = open_end(at);
        for key in &sorted {
            if key.as_slice() >= OPEN_START
                && end.as_ref().is_none_or(|end| key < end)
                && let Some(domain) = span_domain_at(key, at)
            {
                found.push(domain.to_vec());
            }
        }
        found
    }

    /// The blocks of a leaf range are disjoint, aligned, cover it exactly, and are at most two
    /// a level; at the extremes of an `i64` of µs too.
    #[test]
    fn blocks_cover_a_range_exactly_with_few_keys() {
        let extremes = (leaf(i64::MIN), leaf(i64::MAX));
        assert!(extremes.0 >> MAX_LEVEL >= -1 && extremes.1 >> MAX_LEVEL <= 0);
        let ranges = [
            (0, 0),
            (-1, 0),
            (5, 9),
            (-9, 30),
            (1000, 1000 + 364),
            (-700_000, 19_000),
            extremes,
        ];
        for (first, last) in ranges {
            let blocks = blocks(first, last);
            let mut next = first;
            for &(level, block) in &blocks {
                assert_eq!(block << level, next, "{first}..={last}: {blocks:?}");
                next += 1i64 << level;
            }
            assert_eq!(next, last + 1, "{first}..={last}");
            for level in 0..=MAX_LEVEL {
                assert!(blocks.iter().filter(|b| b.0 == level).count() <= 2);
            }
        }
    }

    /// An instant finds exactly the spans that contain it, each once: spans of a few minutes
    /// to centuries, around 1970 and a day's edges, open ones from before and after it.
    #[test]
    fn an_instant_reads_exactly_the_spans_that_contain_it() {
        let day = LEAF;
        let spans = [
            (0, Some(1)),
            (-day, Some(day)),
            (day / 2, Some(5 * day + 3)),
            (-40 * 365 * day, Some(60 * 365 * day)),
            (3 * day, Some(3 * day + 60_000_000)),
            (7 * day - 1, Some(7 * day)),
            (2 * day, None),
            (-3 * day, None),
            (i64::MIN, Some(i64::MAX)),
        ];
        let mut keys = Vec::new();
        for (n, &(from, until)) in spans.iter().enumerate() {
            span_keys(Span { from, until }, &format!("d{n}.example"), &mut keys);
        }
        let probes = [
            i64::MIN,
            -40 * 365 * day - 1,
            -day - 1,
            -day,
            -1,
            0,
            1,
            day / 2,
            2 * day - 1,
            2 * day,
            3 * day + 59_999_999,
            3 * day + 60_000_000,
            5 * day + 2,
            5 * day + 3,
            7 * day - 1,
            7 * day,
            60 * 365 * day,
            i64::MAX - 1,
        ];
        for at in probes {
            let mut got = read_at(&keys, at);
            got.sort();
            let mut want: Vec<Vec<u8>> = spans
                .iter()
                .enumerate()
                .filter(|(_, (from, until))| *from <= at && until.is_none_or(|u| at < u))
                .map(|(n, _)| format!("d{n}.example").into_bytes())
                .collect();
            want.sort();
            assert_eq!(got, want, "at {at}");
        }
    }

    /// Deadline keys sort by deadline, then domain, unknown ones last; the due range ends
    /// after `by` itself.
    #[test]
    fn deadline_keys_sort_as_the_answer_is_listed() {
        let keys = [
            deadline_key(Some(-5), "z.example"),
            deadline_key(Some(7), "a.example"),
            deadline_key(Some(7), "b.example"),
            deadline_key(Some(8), "a.example"),
            deadline_key(None, "a.example"),
        ];
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        let end = due_end(7);
        assert!(keys[2] < end && keys[3] > end);
        assert!(keys[0].as_slice() > DUE_START && keys[4].starts_with(UNKNOWN_PREFIX));
        assert_eq!(due_end(i64::MAX), UNKNOWN_PREFIX);
        assert_eq!(deadline_domain(&keys[1]), Some(&b"a.example"[..]));
        assert_eq!(deadline_domain(&keys[4]), Some(&b"a.example"[..]));
        assert_eq!(
            describe(DEADLINE_TREE, &deadline_key(Some(0), "a.example")).as_deref(),
            Some("due 1970-01-01T00:00:00Z:a.example")
        );
    }
}
