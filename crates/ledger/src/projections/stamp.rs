//! [`Stamp`]: when a fact happened, for ordering facts whatever order they arrived in.

use ledger_event::Event;

use crate::codec::micros;

/// An event's effective time (µs; the mail `Date`, else when it was recorded) and its seq as a
/// tie-break. Stamps order facts; records keep the latest stamp of each kind of fact, so a
/// record is a function of the set of its events, not of their arrival order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, bincode::Encode, bincode::Decode,
)]
pub(crate) struct Stamp {
    /// Effective time, µs since the epoch.
    pub(crate) at: i64,
    /// The event's seq.
    pub(crate) seq: u64,
}

impl Stamp {
    /// The stamp of an event.
    pub(crate) fn of(event: &Event) -> Self {
        Stamp {
            at: micros(event.effective_time()),
            seq: event.seq,
        }
    }
}

/// Keeps the later of `slot` and `stamp`.
pub(crate) fn keep_latest(slot: &mut Option<Stamp>, stamp: Stamp) {
    if slot.is_none_or(|old| old < stamp) {
        *slot = Some(stamp);
    }
}
