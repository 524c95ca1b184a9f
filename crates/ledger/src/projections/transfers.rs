//! Pending outgoing transfers, by domain.
//!
//! Opened by `TransferOutStarted`; `TransferOutReminded` supplies `reminder_at` when the
//! timetable lacks `kk_reminder`; closed by `TransferOutAnswered(_)`, `TransferOutAutoAcked`,
//! `TransferOutAutoNacked` and `DomainAway`. The record keeps the latest start and the latest
//! close: the transfer is open iff a start exists and no close is at or after it, whatever the
//! order the notifications arrived in.

use ledger_event::{Event, EventKind};

use super::stamp::{Stamp, keep_latest};
use crate::codec::{micros, time};
use crate::table::Table;
use crate::{DefaultAction, PendingTransfer, Result};

/// The stored tree.
pub(crate) const TREE: &str = "transfers";

/// What is known of a domain's outgoing transfers.
#[derive(Debug, Clone, Default, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct TransferRecord {
    start: Option<StartFact>,
    last_reminder: Option<Stamp>,
    last_close: Option<Stamp>,
}

/// The latest start with its timetable (µs).
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
struct StartFact {
    stamp: Stamp,
    transaction: Option<String>,
    kk_start: Option<i64>,
    kk_reminder: Option<i64>,
    kk_autoack: Option<i64>,
    kk_autonack: Option<i64>,
    kk_end: Option<i64>,
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
        }
    }
}

/// Folds one event.
pub(crate) fn apply(table: &mut Table<TransferRecord>, event: &Event) -> Result<()> {
    if !event.kind.is_transfer_out() {
        return Ok(());
    }
    let Some(domain) = event.domain.as_deref() else {
        return Ok(());
    };
    let stamp = Stamp::of(event);
    let record = table
        .entry(domain.as_bytes())?
        .get_or_insert_with(TransferRecord::default);
    match event.kind {
        EventKind::TransferOutStarted if record.start.as_ref().is_none_or(|s| s.stamp < stamp) => {
            record.start = Some(StartFact::of(event));
        }
        EventKind::TransferOutReminded => keep_latest(&mut record.last_reminder, stamp),
        EventKind::TransferOutAnswered(_)
        | EventKind::TransferOutAutoAcked
        | EventKind::TransferOutAutoNacked
        | EventKind::DomainAway => keep_latest(&mut record.last_close, stamp),
        _ => {}
    }
    Ok(())
}

impl TransferRecord {
    /// The pending transfer this record stands for, if it is open.
    pub(crate) fn pending(&self, domain: &str) -> Result<Option<PendingTransfer>> {
        let Some(start) = &self.start else {
            return Ok(None);
        };
        if self
            .last_close
            .is_some_and(|close| close.at >= start.stamp.at)
        {
            return Ok(None);
        }
        let t = |m: Option<i64>| m.map(|m| time(m, "transfer record")).transpose();
        let reminder = start.kk_reminder.or(self
            .last_reminder
            .filter(|r| r.at >= start.stamp.at)
            .map(|r| r.at));
        let (deadline, action) = match (start.kk_autoack, start.kk_autonack) {
            (Some(ack), _) => (Some(ack), Some(DefaultAction::Ack)),
            (None, Some(nack)) => (Some(nack), Some(DefaultAction::Nack)),
            (None, None) => (start.kk_end, None),
        };
        Ok(Some(PendingTransfer {
            domain: domain.to_string(),
            transaction: start.transaction.clone(),
            started_at: t(Some(start.kk_start.unwrap_or(start.stamp.at)))?,
            reminder_at: t(reminder)?,
            deadline_at: t(deadline)?,
            default_action: action,
            end_at: t(start.kk_end)?,
            seq: start.stamp.seq,
        }))
    }
}
