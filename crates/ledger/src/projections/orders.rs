//! Orders, by ctid: the latest status by effective time (tie: seq) and the state it means;
//! and the orders of each state (`BY_STATE_TREE`, with a count per state in `counts`), so the
//! dashboard lists the failed orders without walking every order.
//!
//! Transfer-out facts are not orders (their transaction is AutoDNS's own), nor are events
//! without a ctid.

use ledger_event::Event;
use ledger_parser::StatusClass;

use super::stamp::{Stamp, keep_latest};
use super::table::{KeySet, Table};
use super::{ProjectionId, Reads, counts};
use crate::codec::StoredStatus;
use crate::{Order, OrderState, Result};

/// The stored tree.
pub(crate) const TREE: ProjectionId = ProjectionId::Orders;
/// The orders of each state: key [`state_key`] (the state's byte, then the ctid), no value.
pub(crate) const BY_STATE_TREE: ProjectionId = ProjectionId::OrdersByState;

/// The tables the orders fold writes.
pub(crate) struct OrderTables<'a> {
    pub(crate) records: &'a mut Table<OrderRecord>,
    pub(crate) by_state: &'a mut KeySet,
    pub(crate) counts: &'a mut Table<u64>,
}

/// The one-byte tag of a state in [`BY_STATE_TREE`].
pub(crate) fn state_tag(state: OrderState) -> u8 {
    match state {
        OrderState::InProgress => b'p',
        OrderState::Succeeded => b's',
        OrderState::Failed => b'f',
        OrderState::Resubmit => b'r',
    }
}

/// The key of an order in [`BY_STATE_TREE`].
pub(crate) fn state_key(state: OrderState, ctid: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(ctid.len() + 1);
    key.push(state_tag(state));
    key.extend_from_slice(ctid.as_bytes());
    key
}

/// Every order state.
const STATES: [OrderState; 4] = [
    OrderState::InProgress,
    OrderState::Succeeded,
    OrderState::Failed,
    OrderState::Resubmit,
];

/// The name of a state's count in `counts`: `orders_` ++ [`OrderState::name`].
pub(crate) fn count_name(state: OrderState) -> &'static [u8] {
    match state {
        OrderState::InProgress => b"orders_in_progress",
        OrderState::Succeeded => b"orders_succeeded",
        OrderState::Failed => b"orders_failed",
        OrderState::Resubmit => b"orders_resubmit",
    }
}

/// What is known of one order.
#[derive(Debug, Clone, Default, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct OrderRecord {
    latest_status: Option<(Stamp, StoredStatus)>,
    domain: Option<(Stamp, String)>,
    events: u64,
    latest: Option<Stamp>,
}

/// The ctid of the order `event` is a fact of, if it is one.
fn order_ctid(event: &Event) -> Option<&str> {
    if event.kind.is_transfer_out() {
        return None;
    }
    event.ctid.as_deref()
}

/// The records [`apply`] reads: the order's record, and the counts of orders and of every
/// state (which ones change depends on the record). [`BY_STATE_TREE`] is only written.
pub(crate) fn reads(event: &Event, reads: &mut Reads) {
    let Some(ctid) = order_ctid(event) else {
        return;
    };
    reads.want(TREE, ctid.as_bytes());
    reads.want(counts::TREE, counts::ORDERS);
    for state in STATES {
        reads.want(counts::TREE, count_name(state));
    }
}

/// Folds one event (a new order counts in `counts`; an order whose state changes moves in
/// [`BY_STATE_TREE`] and between the states' counts).
pub(crate) fn apply(tables: OrderTables<'_>, event: &Event) {
    let OrderTables {
        records: table,
        by_state,
        counts,
    } = tables;
    let Some(ctid) = order_ctid(event) else {
        return;
    };
    let stamp = Stamp::of(event);
    let entry = table.entry(ctid.as_bytes());
    let before = match entry.as_ref() {
        Some(record) => Some(record.state()),
        None => {
            counts::increment(counts, counts::ORDERS);
            None
        }
    };
    let record = entry.get_or_insert_with(OrderRecord::default);
    record.events += 1;
    keep_latest(&mut record.latest, stamp);
    if let Some(status) = event.status()
        && record
            .latest_status
            .as_ref()
            .is_none_or(|(s, _)| *s < stamp)
    {
        record.latest_status = Some((stamp, StoredStatus::of(status)));
    }
    if let Some(domain) = &event.domain
        && record.domain.as_ref().is_none_or(|(s, _)| *s < stamp)
    {
        record.domain = Some((stamp, domain.clone()));
    }
    let after = record.state();
    if before != Some(after) {
        if let Some(before) = before {
            by_state.remove(state_key(before, ctid));
            counts::decrement(counts, count_name(before));
        }
        by_state.add(state_key(after, ctid));
        counts::increment(counts, count_name(after));
    }
}

/// An order record with every field set, for the golden-bytes test of the views.
#[cfg(test)]
pub(crate) fn sample() -> OrderRecord {
    let status = ledger_parser::Status {
        code: "E0101".into(),
        prefix: Some(ledger_parser::StatusPrefix::Error),
        text: Some("Domain could not be registered.".into()),
        class: StatusClass::Permanent,
    };
    OrderRecord {
        latest_status: Some((Stamp { at: 1_000, seq: 4 }, StoredStatus::of(&status))),
        domain: Some((Stamp { at: 900, seq: 3 }, "bücher.example".into())),
        events: 300,
        latest: Some(Stamp {
            at: 1_000,
            seq: 70_000,
        }),
    }
}

impl OrderRecord {
    /// Where the order stands (in progress until a status says otherwise).
    fn state(&self) -> OrderState {
        match &self.latest_status {
            Some((_, status)) => state_of(status.class()),
            None => OrderState::InProgress,
        }
    }

    /// The order this record stands for.
    pub(crate) fn order(&self, ctid: &str) -> Result<Order> {
        Ok(Order {
            ctid: ctid.to_string(),
            state: self.state(),
            last_status: self
                .latest_status
                .as_ref()
                .map(|(_, status)| status.status())
                .transpose()?,
            domain: self.domain.as_ref().map(|(_, d)| d.clone()),
            seq: self.latest.map_or(0, |s| s.seq),
            events: self.events,
        })
    }
}

/// The order state a status class means.
pub(crate) fn state_of(class: StatusClass) -> OrderState {
    match class {
        StatusClass::InProgress => OrderState::InProgress,
        StatusClass::Success => OrderState::Succeeded,
        StatusClass::Permanent => OrderState::Failed,
        StatusClass::Temporary => OrderState::Resubmit,
    }
}
