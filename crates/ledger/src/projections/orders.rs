//! Orders, by ctid: the latest status by effective time (tie: seq) and the state it means.
//!
//! Transfer-out facts are not orders (their transaction is AutoDNS's own), nor are events
//! without a ctid.

use ledger_event::Event;
use ledger_parser::StatusClass;

use super::counts;
use super::stamp::{Stamp, keep_latest};
use crate::codec::StoredStatus;
use crate::table::Table;
use crate::{Order, OrderState, Result};

/// The stored tree.
pub(crate) const TREE: &str = "orders";

/// What is known of one order.
#[derive(Debug, Clone, Default, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct OrderRecord {
    latest_status: Option<(Stamp, StoredStatus)>,
    domain: Option<(Stamp, String)>,
    events: u64,
    latest: Option<Stamp>,
}

/// Folds one event (a new order counts in `counts`).
pub(crate) fn apply(
    table: &mut Table<OrderRecord>,
    counts: &mut Table<u64>,
    event: &Event,
) -> Result<()> {
    if event.kind.is_transfer_out() {
        return Ok(());
    }
    let Some(ctid) = event.ctid.as_deref() else {
        return Ok(());
    };
    let stamp = Stamp::of(event);
    let entry = table.entry(ctid.as_bytes())?;
    if entry.is_none() {
        counts::increment(counts, counts::ORDERS)?;
    }
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
    Ok(())
}

impl OrderRecord {
    /// The order this record stands for.
    pub(crate) fn order(&self, ctid: &str) -> Result<Order> {
        let (state, last_status) = match &self.latest_status {
            Some((_, status)) => (state_of(status.class()?), Some(status.status()?)),
            None => (OrderState::InProgress, None),
        };
        Ok(Order {
            ctid: ctid.to_string(),
            state,
            last_status,
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
