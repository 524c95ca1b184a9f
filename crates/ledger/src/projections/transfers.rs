//! Pending outgoing transfers, by domain, as of any instant.
//!
//! Opened by `TransferOutStarted`; `TransferOutReminded` supplies `reminder_at` when the
//! timetable lacks `kk_reminder`; closed by `TransferOutAnswered(_)`, `TransferOutAutoAcked`,
//! `TransferOutAutoNacked` and `DomainAway`.
//!
//! A transfer is pending at `at` when a start has a start time (`kk_start`, else the start
//! event's effective time) at or before `at` — the latest such start counts — and no close has
//! an effective time in `[start time, at]`. Facts later than `at` do not count.
//!
//! An *undated* start (no `kk_start`, and a mail without `Date` and no `created`) has only the
//! time it was recorded, which is no time at all when ten years of mail are ingested at once.
//! Its recorded time orders it, but it cannot be shown to be later than a departure (an
//! AUTO-ACK, an ACK answer, a domain gone away): a departure at or before `at` ends it whatever
//! their times, so a domain is never both departed and pending (a transfer out of a domain
//! that left needs a domain that came back, and nothing undated can show that).
//!
//! Five trees keep this, each a function of the *set* of events (arrival order does not
//! matter):
//!
//! * [`TREE`]: domain → [`TransferRecord`], a bounded history: the latest [`HISTORY`] starts
//!   (by start time, then stamp), reminders and closes (by stamp). Questions about an instant
//!   older than the 16th-latest fact of a domain may miss a transfer that far back;
//! * [`OPEN_TREE`]: domain → [`OpenTransfer`], the domains whose latest start is not closed
//!   (the answer for any `at` at or after every known fact), counted in `counts` so `stats`
//!   need not walk it;
//! * [`transfer_index::DEADLINE_TREE`]: the open transfers by deadline (unknown deadlines
//!   apart), each with its [`OpenTransfer`], so "due within" is one range scan of what it
//!   answers;
//! * [`transfer_index::SPANS_TREE`]: every span in which a transfer of the domain was pending
//!   (see [`TransferRecord::pending_spans`]), as an interval index: the candidates for a past
//!   `at` are the spans that contain it, plus the few that overlap its day;
//! * [`LATEST_TREE`]: `latest` → the latest time any transfer fact mentions (µs): an `at` at or
//!   after it is answered from [`OPEN_TREE`] alone.
//!
//! The week index of earlier views (`transfers_by_week`, id 8) is retired: a past question
//! read every open transfer and every span over two years with it.

use ledger_event::{Event, EventKind, TransferAnswer};
use ledger_parser::DstFlag;

use super::counts;
use super::stamp::Stamp;
use super::table::{Index, KeySet, Table};
use super::transfer_index::{self, Span};
use super::{ProjectionId, Reads};
use crate::codec::{micros, time};
use crate::{DefaultAction, PendingTransfer, Result};

/// The per-domain history tree.
pub(crate) const TREE: ProjectionId = ProjectionId::Transfers;
/// The open transfers (latest start not closed).
pub(crate) const OPEN_TREE: ProjectionId = ProjectionId::TransfersOpen;
/// The latest time any transfer fact mentions.
pub(crate) const LATEST_TREE: ProjectionId = ProjectionId::TransfersLatest;
/// The only key of [`LATEST_TREE`].
pub(crate) const LATEST_KEY: &[u8] = b"latest";
/// How many starts, reminders and closes a domain's record keeps (the latest ones).
pub(crate) const HISTORY: usize = 16;

/// What is known of a domain's outgoing transfers: its latest [`HISTORY`] facts of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct TransferRecord {
    /// Sorted by (start time, stamp), oldest first.
    starts: Vec<StartFact>,
    /// Sorted by stamp, oldest first.
    reminders: Vec<Stamp>,
    /// Sorted by stamp, oldest first.
    closes: Vec<CloseFact>,
}

/// A close: when, and whether the domain left with it (AUTO-ACK, ACK, domain away) or stayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bincode::Encode, bincode::Decode)]
struct CloseFact {
    stamp: Stamp,
    departs: bool,
}

/// [`StartFact::dst`] / [`OpenTransfer::dst`]: a time of the timetable fell in a DST gap.
const DST_GAP: u8 = 1;
/// A time of the timetable fell in a DST overlap.
const DST_OVERLAP: u8 = 2;

/// A start with its timetable (µs).
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
struct StartFact {
    stamp: Stamp,
    transaction: Option<String>,
    kk_start: Option<i64>,
    kk_reminder: Option<i64>,
    kk_autoack: Option<i64>,
    kk_autonack: Option<i64>,
    kk_end: Option<i64>,
    /// [`DST_GAP`] | [`DST_OVERLAP`] over the timetable's times.
    dst: u8,
    /// No `kk_start` and no own time: the start time is when it was recorded.
    undated: bool,
}

impl StartFact {
    fn of(event: &Event) -> Self {
        let tt = &event.notification.timetable;
        let at =
            |r: &Option<ledger_parser::TimeReading>| r.as_ref().and_then(|r| r.utc).map(micros);
        StartFact {
            stamp: Stamp::of(event),
            transaction: event.ctid.clone(),
            kk_start: at(&tt.start),
            kk_reminder: at(&tt.reminder),
            kk_autoack: at(&tt.autoack),
            kk_autonack: at(&tt.autonack),
            kk_end: at(&tt.end),
            dst: [&tt.start, &tt.reminder, &tt.autoack, &tt.autonack, &tt.end]
                .into_iter()
                .flatten()
                .fold(0, |bits, r| {
                    bits | match r.dst {
                        DstFlag::Unambiguous => 0,
                        DstFlag::Gap => DST_GAP,
                        DstFlag::Overlap => DST_OVERLAP,
                    }
                }),
            undated: tt.start.as_ref().and_then(|r| r.utc).is_none() && event.occurred_at.is_none(),
        }
    }

    /// True when `close` ends this start if it happened by the instant asked about: a close at
    /// or after the start time, or a departure, whatever its time, for an undated start.
    fn ended_by(&self, close: &CloseFact) -> bool {
        close.stamp.at >= self.started() || (self.undated && close.departs)
    }

    /// `kk_start`, else the start event's effective time.
    fn started(&self) -> i64 {
        self.kk_start.unwrap_or(self.stamp.at)
    }

    /// The order starts are kept and chosen in.
    fn order_key(&self) -> (i64, Stamp) {
        (self.started(), self.stamp)
    }

    /// The latest time this start mentions.
    fn latest_time(&self) -> i64 {
        self.stamp.at.max(self.started())
    }
}

/// An open transfer as stored in [`OPEN_TREE`] (times in µs).
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct OpenTransfer {
    transaction: Option<String>,
    started_at: i64,
    reminder_at: Option<i64>,
    deadline_at: Option<i64>,
    /// 0 unknown, 1 Ack, 2 Nack.
    action: u8,
    end_at: Option<i64>,
    seq: u64,
    /// [`DST_GAP`] | [`DST_OVERLAP`].
    dst: u8,
    /// The start is undated (its time is when it was recorded).
    undated: bool,
}

impl OpenTransfer {
    /// The public shape.
    pub(crate) fn pending(&self, domain: &str) -> Result<PendingTransfer> {
        let t = |m: Option<i64>| m.map(|m| time(m, "open transfer")).transpose();
        Ok(PendingTransfer {
            domain: domain.to_string(),
            transaction: self.transaction.clone(),
            started_at: Some(time(self.started_at, "open transfer")?),
            reminder_at: t(self.reminder_at)?,
            deadline_at: t(self.deadline_at)?,
            default_action: match self.action {
                1 => Some(DefaultAction::Ack),
                2 => Some(DefaultAction::Nack),
                0 => None,
                other => return Err(crate::codec::corrupt_tag("transfer default action", other)),
            },
            end_at: t(self.end_at)?,
            seq: self.seq,
            dst_gap: self.dst & DST_GAP != 0,
            dst_overlap: self.dst & DST_OVERLAP != 0,
            time_recorded: self.undated,
        })
    }
}

/// The working sets of the five trees, and the counts (the open transfers are counted there).
pub(crate) struct TransferTables<'a> {
    pub(crate) records: &'a mut Table<TransferRecord>,
    pub(crate) open: &'a mut Table<OpenTransfer>,
    pub(crate) by_deadline: &'a mut Index<OpenTransfer>,
    pub(crate) spans: &'a mut KeySet,
    pub(crate) latest: &'a mut Table<i64>,
    pub(crate) counts: &'a mut Table<u64>,
}

/// Inserts `item` into a sorted, bounded history (keeps the latest [`HISTORY`]).
fn insert_bounded<T: Clone, K: Ord>(list: &mut Vec<T>, item: T, key: impl Fn(&T) -> K) {
    let k = key(&item);
    let at = list.partition_point(|x| key(x) < k);
    if list.get(at).is_some_and(|x| key(x) == k) {
        return;
    }
    list.insert(at, item);
    if list.len() > HISTORY {
        list.remove(0);
    }
}

/// The domain of a transfer fact, if `event` is one.
fn transfer_domain(event: &Event) -> Option<&str> {
    if !event.kind.is_transfer_out() {
        return None;
    }
    event.domain.as_deref()
}

/// The records [`apply`] reads: the domain's history and open transfer, `latest`, and the
/// open-transfers count. The indexes ([`transfer_index`]) are only written: which of their
/// keys are stored follows from the history and the open transfer.
pub(crate) fn reads(event: &Event, reads: &mut Reads) {
    let Some(domain) = transfer_domain(event) else {
        return;
    };
    reads.want(TREE, domain.as_bytes());
    reads.want(OPEN_TREE, domain.as_bytes());
    reads.want(LATEST_TREE, LATEST_KEY);
    reads.want(counts::TREE, counts::OPEN_TRANSFERS);
}

/// Folds one event (the open transfers are counted in `counts`).
pub(crate) fn apply(tables: TransferTables<'_>, event: &Event) {
    let Some(domain) = transfer_domain(event) else {
        return;
    };
    let stamp = Stamp::of(event);
    let record = tables
        .records
        .entry(domain.as_bytes())
        .get_or_insert_with(TransferRecord::default);
    let spans_before = record.pending_spans();
    let mut latest = stamp.at;
    match event.kind {
        EventKind::TransferOutStarted => {
            let fact = StartFact::of(event);
            latest = fact.latest_time();
            insert_bounded(&mut record.starts, fact, StartFact::order_key);
        }
        EventKind::TransferOutReminded => insert_bounded(&mut record.reminders, stamp, |s| *s),
        EventKind::TransferOutAnswered(TransferAnswer::Ack)
        | EventKind::TransferOutAutoAcked
        | EventKind::DomainAway => {
            let close = CloseFact {
                stamp,
                departs: true,
            };
            insert_bounded(&mut record.closes, close, |c| c.stamp);
        }
        EventKind::TransferOutAnswered(TransferAnswer::Nack) | EventKind::TransferOutAutoNacked => {
            let close = CloseFact {
                stamp,
                departs: false,
            };
            insert_bounded(&mut record.closes, close, |c| c.stamp);
        }
        _ => return,
    }
    let open = record.open_at(None);
    let spans_after = record.pending_spans();
    // A span's keys follow from it and the domain: only the spans that changed change keys.
    if spans_before != spans_after {
        let mut keys = Vec::new();
        for span in spans_before.iter().filter(|s| !spans_after.contains(s)) {
            transfer_index::span_keys(*span, domain, &mut keys);
        }
        for key in keys.drain(..) {
            tables.spans.remove(key);
        }
        for span in spans_after.iter().filter(|s| !spans_before.contains(s)) {
            transfer_index::span_keys(*span, domain, &mut keys);
        }
        for key in keys {
            tables.spans.add(key);
        }
    }
    let slot = tables.open.entry(domain.as_bytes());
    if *slot != open {
        if let Some(before) = slot.as_ref() {
            let key = transfer_index::deadline_key(before.deadline_at, domain);
            tables.by_deadline.remove(key);
        }
        if let Some(after) = open.as_ref() {
            let key = transfer_index::deadline_key(after.deadline_at, domain);
            tables.by_deadline.put(key, after.clone());
        }
    }
    let was_open = slot.is_some();
    let is_open = open.is_some();
    *slot = open;
    counts::track(tables.counts, counts::OPEN_TRANSFERS, was_open, is_open);
    let slot = tables.latest.entry(LATEST_KEY);
    if slot.is_none_or(|old| old < latest) {
        *slot = Some(latest);
    }
}

impl TransferRecord {
    /// Every span in which a start of this record was pending. A start is the one
    /// [`TransferRecord::open_at`] picks from its start time until the next start's, and
    /// pending until the first close that ends it (at or after its start time, or any
    /// departure for an undated start): pending over `[start, min(first close, next start))`,
    /// or from its start on (`until` `None`) when neither came: the open transfer. So
    /// `open_at(Some(at))` answers exactly when `at` lies in one of these spans.
    pub(crate) fn pending_spans(&self) -> Vec<Span> {
        let mut spans = Vec::new();
        for (i, start) in self.starts.iter().enumerate() {
            let from = start.started();
            if start.undated && self.closes.iter().any(|c| c.departs && c.stamp.at < from) {
                // Ended from its start on: never pending (see the module doc).
                continue;
            }
            let closed = self
                .closes
                .iter()
                .filter(|c| start.ended_by(c))
                .map(|c| c.stamp.at)
                .min();
            let next = self.starts.get(i + 1).map(StartFact::started);
            let until = match (closed, next) {
                (Some(c), Some(n)) => Some(c.min(n)),
                (Some(end), None) | (None, Some(end)) => Some(end),
                (None, None) => None,
            };
            if until.is_none_or(|until| until > from) {
                spans.push(Span { from, until });
            }
        }
        spans
    }

    /// The transfer open at `at` (µs; `None`: as of every known fact), if any.
    pub(crate) fn open_at(&self, at: Option<i64>) -> Option<OpenTransfer> {
        let at = at.unwrap_or(i64::MAX);
        let start = self.starts.iter().rev().find(|s| s.started() <= at)?;
        let started = start.started();
        if self
            .closes
            .iter()
            .any(|close| close.stamp.at <= at && start.ended_by(close))
        {
            return None;
        }
        let reminder = start.kk_reminder.or_else(|| {
            self.reminders
                .iter()
                .rev()
                .find(|r| r.at >= started && r.at <= at)
                .map(|r| r.at)
        });
        let (deadline, action) = match (start.kk_autoack, start.kk_autonack) {
            (Some(ack), _) => (Some(ack), 1),
            (None, Some(nack)) => (Some(nack), 2),
            (None, None) => (start.kk_end, 0),
        };
        Some(OpenTransfer {
            transaction: start.transaction.clone(),
            started_at: started,
            reminder_at: reminder,
            deadline_at: deadline,
            action,
            end_at: start.kk_end,
            seq: start.stamp.seq,
            dst: start.dst,
            undated: start.undated,
        })
    }
}

/// A record of each type with every field set, for the golden-bytes test of the views.
#[cfg(test)]
pub(crate) mod samples {
    use super::*;

    /// A history with two starts (one with a full timetable), a reminder and two closes.
    pub(crate) fn transfer_record() -> TransferRecord {
        let full = StartFact {
            stamp: Stamp {
                at: 1_717_027_200_000_000,
                seq: 7,
            },
            transaction: Some("20240530-000001".into()),
            kk_start: Some(1_717_027_100_000_000),
            kk_reminder: Some(1_717_286_400_000_000),
            kk_autoack: Some(1_717_459_200_000_000),
            kk_autonack: Some(1_717_459_300_000_000),
            kk_end: Some(1_717_545_600_000_000),
            dst: DST_GAP | DST_OVERLAP,
            undated: false,
        };
        let undated = StartFact {
            stamp: Stamp { at: -5, seq: 9 },
            transaction: None,
            kk_start: None,
            kk_reminder: None,
            kk_autoack: None,
            kk_autonack: None,
            kk_end: None,
            dst: 0,
            undated: true,
        };
        TransferRecord {
            starts: vec![undated, full],
            reminders: vec![Stamp {
                at: 1_717_286_400_000_001,
                seq: 8,
            }],
            closes: vec![
                CloseFact {
                    stamp: Stamp { at: 1, seq: 10 },
                    departs: true,
                },
                CloseFact {
                    stamp: Stamp {
                        at: i64::MAX,
                        seq: u64::MAX,
                    },
                    departs: false,
                },
            ],
        }
    }

    /// An open transfer with every time known.
    pub(crate) fn open_transfer() -> OpenTransfer {
        OpenTransfer {
            transaction: Some("20240530-000001".into()),
            started_at: 1_717_027_100_000_000,
            reminder_at: Some(1_717_286_400_000_000),
            deadline_at: Some(1_717_459_200_000_000),
            action: 2,
            end_at: Some(1_717_545_600_000_000),
            seq: 300,
            dst: DST_OVERLAP,
            undated: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A day in µs.
    const DAY: i64 = 86_400 * 1_000_000;

    fn start(started: i64, seq: u64) -> StartFact {
        StartFact {
            stamp: Stamp { at: started, seq },
            transaction: None,
            kk_start: Some(started),
            kk_reminder: None,
            kk_autoack: None,
            kk_autonack: None,
            kk_end: None,
            dst: 0,
            undated: false,
        }
    }

    fn close(at: i64, seq: u64) -> CloseFact {
        CloseFact {
            stamp: Stamp { at, seq },
            departs: false,
        }
    }

    /// A start closed 15 days later is pending over those days; a start superseded by a later
    /// start (never closed) is pending until that start; a close at the very start time leaves
    /// nothing pending; the last start, never closed, is pending from its start on.
    #[test]
    fn pending_spans_cover_each_start_until_its_close_or_the_next_start() {
        let day = DAY;
        let record = TransferRecord {
            starts: vec![
                start(0, 1),
                start(30 * day, 3),
                start(45 * day, 4),
                start(60 * day, 5),
            ],
            reminders: Vec::new(),
            closes: vec![close(15 * day, 2), close(45 * day, 6)],
        };
        let spans = record.pending_spans();
        let span = |from: i64, until: Option<i64>| Span { from, until };
        assert_eq!(
            spans,
            [
                span(0, Some(15 * day)),
                span(30 * day, Some(45 * day)),
                span(60 * day, None)
            ]
        );
        // `open_at` answers exactly at the instants inside a span.
        for at in (-day..80 * day).step_by(day as usize / 2) {
            let inside = spans
                .iter()
                .any(|s| s.from <= at && s.until.is_none_or(|u| at < u));
            assert_eq!(record.open_at(Some(at)).is_some(), inside, "{at}");
        }
    }

    /// An undated start recorded after a departure is ended by it (the domain had left);
    /// after a NACK (the domain stayed) it is pending from its recorded time on. A dated start
    /// at the same time is not ended by the earlier departure.
    #[test]
    fn an_undated_start_is_ended_by_any_departure_and_only_by_later_other_closes() {
        let day = DAY;
        let undated = StartFact {
            undated: true,
            kk_start: None,
            ..start(20 * day, 2)
        };
        let departure = CloseFact {
            departs: true,
            ..close(10 * day, 1)
        };
        let record = |start: StartFact, close: CloseFact| TransferRecord {
            starts: vec![start],
            reminders: Vec::new(),
            closes: vec![close],
        };
        let left = record(undated.clone(), departure);
        assert!(left.pending_spans().is_empty());
        assert!((0..40).all(|d| left.open_at(Some(d * day)).is_none()));
        assert!(left.open_at(None).is_none());

        let stayed = record(undated, close(10 * day, 1));
        assert_eq!(stayed.open_at(Some(25 * day)).map(|o| o.seq), Some(2));
        assert!(stayed.open_at(None).is_some_and(|o| o.undated));

        let dated = record(start(20 * day, 2), departure);
        assert!(dated.open_at(None).is_some());
    }

    /// A span of two thousand years (a garbled `kk_start` in year 1) has a few keys, not one
    /// per week or day.
    #[test]
    fn a_span_over_centuries_has_a_few_keys() {
        let year = 365 * DAY;
        let record = TransferRecord {
            starts: vec![start(-1969 * year, 1)],
            reminders: Vec::new(),
            closes: vec![close(56 * year, 2)],
        };
        let mut keys = Vec::new();
        for span in record.pending_spans() {
            transfer_index::span_keys(span, "a.example", &mut keys);
        }
        assert!(keys.len() <= 2 * (transfer_index::MAX_LEVEL as usize + 1));
        assert!(keys.len() > 1, "{keys:?}");
        assert!(record.open_at(Some(0)).is_some());
    }

    #[test]
    fn history_keeps_the_latest_sixteen_whatever_the_insertion_order() {
        let mut forward = Vec::new();
        let mut backward = Vec::new();
        for i in 0..40i64 {
            insert_bounded(&mut forward, i, |x| *x);
            insert_bounded(&mut backward, 39 - i, |x| *x);
        }
        assert_eq!(forward, (24..40).collect::<Vec<_>>());
        assert_eq!(backward, forward);
    }
}
