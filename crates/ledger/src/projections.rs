//! The projections: their public shapes, and [`Projections`], the set of pure folds that keeps
//! them.
//!
//! Each projection is a fold `apply(records, &Event)` over per-entity records
//! ([`transfers`], [`failed_creates`], [`orders`], [`inventory`], [`kinds`]). The same code runs
//! incrementally at ingest, on catch-up, in `rebuild` and in `verify`. Every record is a
//! function of the *set* of its entity's events (facts are ordered by
//! [`Event::effective_time`] with seq as tie-break), so the answer does not depend on the order
//! the notifications arrived in.

pub(crate) mod counts;
pub(crate) mod failed_creates;
pub(crate) mod inventory;
pub(crate) mod kinds;
pub(crate) mod orders;
mod stamp;
pub(crate) mod transfers;

use chrono::{DateTime, Utc};
use ledger_event::Event;
use ledger_parser::Status;
use serde::Serialize;

use crate::Result;
use crate::table::{Changes, Table};

/// What a record keyed by [`entity_key`] is about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entity {
    /// A domain (`d\0domain`).
    Domain,
    /// An order, by ctid (`c\0ctid`).
    Order,
}

/// The key of a domain's or an order's record in a projection tree that holds both (create
/// marks, OwnerC imports).
pub(crate) fn entity_key(entity: Entity, name: &str) -> Vec<u8> {
    let tag = match entity {
        Entity::Domain => b'd',
        Entity::Order => b'c',
    };
    let mut key = Vec::with_capacity(name.len() + 2);
    key.push(tag);
    key.push(0);
    key.extend_from_slice(name.as_bytes());
    key
}

/// What happens at a pending transfer's deadline if nobody answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultAction {
    /// AUTO-ACK (`kk_autoack`): the transfer is confirmed, the domain leaves.
    Ack,
    /// AUTO-NACK (`kk_autonack`): the transfer is refused, the domain stays.
    Nack,
}

/// An outgoing transfer that has started and not been closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingTransfer {
    /// The domain leaving.
    pub domain: String,
    /// The transaction AutoDNS assigned to the transfer, if known.
    pub transaction: Option<String>,
    /// `kk_start` (else the start notification's time).
    pub started_at: Option<DateTime<Utc>>,
    /// `kk_reminder` (else the latest reminder notification's time).
    pub reminder_at: Option<DateTime<Utc>>,
    /// `kk_autoack` / `kk_autonack` (else `kk_end`): when the default action happens.
    pub deadline_at: Option<DateTime<Utc>>,
    /// What happens at the deadline; `None` when the timetable does not say.
    pub default_action: Option<DefaultAction>,
    /// `kk_end`.
    pub end_at: Option<DateTime<Utc>>,
    /// The seq of the event that opened it.
    pub seq: u64,
    /// A time of its timetable fell in a DST gap of the source zone (it never happened on the
    /// wall clock; read one hour later).
    pub dst_gap: bool,
    /// A time of its timetable fell in a DST overlap (it happened twice; the earlier instant
    /// is taken).
    pub dst_overlap: bool,
    /// The start carries no time of its own (no `kk_start`, a mail without `Date`): it is
    /// ordered by when it was recorded.
    pub time_recorded: bool,
}

impl PendingTransfer {
    /// True when the deadline has passed at `at`.
    pub fn overdue(&self, at: DateTime<Utc>) -> bool {
        self.deadline_at.is_some_and(|d| d <= at)
    }
}

/// A create that failed (E0101, CentralNic AddDomain 5xx).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedCreate {
    /// The order id.
    pub ctid: Option<String>,
    /// The domain, if the notification named it.
    pub domain: Option<String>,
    /// The failure status.
    pub status: Option<Status>,
    /// `error:` id.
    pub error: Option<String>,
    /// The registry's answer.
    pub nic_response: Option<String>,
    /// The failing event.
    pub seq: u64,
    /// When it failed.
    pub failed_at: DateTime<Utc>,
    /// The seq of a later successful create of the same domain (or order), if any.
    pub resolved_by: Option<u64>,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Accepted and running (AutoDNS `N…`).
    InProgress,
    /// Done (AutoDNS `S…`, CentralNic 2xx).
    Succeeded,
    /// Failed (AutoDNS `E…`, CentralNic 5xx).
    Failed,
    /// Failed for now: resubmit later (CentralNic 4xx).
    Resubmit,
}

impl OrderState {
    /// The lower-case name used in JSON, tables and `--status`.
    pub fn name(self) -> &'static str {
        match self {
            OrderState::InProgress => "in_progress",
            OrderState::Succeeded => "succeeded",
            OrderState::Failed => "failed",
            OrderState::Resubmit => "resubmit",
        }
    }
}

/// How many orders stand in each state ([`crate::Ledger::order_counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OrderCounts {
    /// Accepted and running.
    pub in_progress: u64,
    /// Done.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
    /// To resubmit.
    pub resubmit: u64,
}

impl OrderCounts {
    /// The count of one state.
    pub fn of(&self, state: OrderState) -> u64 {
        match state {
            OrderState::InProgress => self.in_progress,
            OrderState::Succeeded => self.succeeded,
            OrderState::Failed => self.failed,
            OrderState::Resubmit => self.resubmit,
        }
    }
}

/// One order (ctid) and its latest status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// The order id.
    pub ctid: String,
    /// Where it stands.
    pub state: OrderState,
    /// The latest status.
    pub last_status: Option<Status>,
    /// The domain, if any event of the order named it.
    pub domain: Option<String>,
    /// The latest event of the order (by effective time, then seq).
    pub seq: u64,
    /// How many events the order has.
    pub events: u64,
}

/// Why a domain left the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DepartureReason {
    /// S1403008 AUTO-ACK.
    AutoAck,
    /// S0106 answered ACK.
    AnsweredAck,
    /// `domain_away` notify.
    DomainAway,
}

/// A domain that left the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Departure {
    /// The domain.
    pub domain: String,
    /// Why it left.
    pub reason: DepartureReason,
    /// When.
    pub at: DateTime<Utc>,
    /// The event that says so.
    pub seq: u64,
}

/// An OwnerC import (notice MSG01050) with the new owner-c handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerCImport {
    /// The domain, if known.
    pub domain: Option<String>,
    /// The order id.
    pub ctid: Option<String>,
    /// The new owner-c handle from the reply, if given.
    pub owner_c: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The event that says so.
    pub seq: u64,
}

/// What the projections say of one domain ([`crate::Ledger::domain_state`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainState {
    /// The domain, lower case, Unicode.
    pub domain: String,
    /// Its outgoing transfer pending at the instant asked about, if any.
    pub pending_transfer: Option<PendingTransfer>,
    /// Its latest departure (it left the reseller), if any.
    pub departure: Option<Departure>,
    /// Its latest OwnerC import, if any.
    pub owner_c_import: Option<OwnerCImport>,
    /// Its failed creates, resolved ones included, by time.
    pub failed_creates: Vec<FailedCreate>,
}

/// Inventory changes: domains that left, OwnerC imports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Domains that left, by domain.
    pub departed: Vec<Departure>,
    /// OwnerC imports, latest per domain (or order).
    pub owner_c_imports: Vec<OwnerCImport>,
}

/// How many projection trees there are.
pub(crate) const TREE_COUNT: usize = 12;

/// The names of every projection tree, in the order [`Projections::encoded`] lists them.
pub(crate) const TREES: [&str; TREE_COUNT] = [
    transfers::TREE,
    orders::TREE,
    failed_creates::TREE,
    failed_creates::MARKS_TREE,
    inventory::DEPARTURES_TREE,
    inventory::IMPORTS_TREE,
    kinds::TREE,
    transfers::OPEN_TREE,
    transfers::BY_WEEK_TREE,
    transfers::LATEST_TREE,
    counts::TREE,
    orders::BY_STATE_TREE,
];

/// The working set of every projection while events are folded.
pub(crate) struct Projections {
    pub(crate) transfers: Table<transfers::TransferRecord>,
    pub(crate) orders: Table<orders::OrderRecord>,
    pub(crate) failures: Table<failed_creates::FailureRecord>,
    pub(crate) marks: Table<failed_creates::CreateMarks>,
    pub(crate) departures: Table<inventory::DepartureRecord>,
    pub(crate) imports: Table<inventory::ImportRecord>,
    pub(crate) kinds: Table<u64>,
    pub(crate) open_transfers: Table<transfers::OpenTransfer>,
    pub(crate) transfer_weeks: Table<()>,
    pub(crate) latest_transfer_fact: Table<i64>,
    pub(crate) counts: Table<u64>,
    pub(crate) order_states: Table<()>,
}

impl Projections {
    /// A working set reading through to the stored trees (`base`, in [`TREES`] order), or a
    /// fresh fold from nothing when `base` is `None`.
    pub(crate) fn new(base: Option<&[crate::store::Space; TREE_COUNT]>) -> Self {
        let tree = |i: usize| base.map(|b| b[i].clone());
        Projections {
            transfers: Table::new(TREES[0], tree(0)),
            orders: Table::new(TREES[1], tree(1)),
            failures: Table::new(TREES[2], tree(2)),
            marks: Table::new(TREES[3], tree(3)),
            departures: Table::new(TREES[4], tree(4)),
            imports: Table::new(TREES[5], tree(5)),
            kinds: Table::new(TREES[6], tree(6)),
            open_transfers: Table::new(TREES[7], tree(7)),
            transfer_weeks: Table::new(TREES[8], tree(8)),
            latest_transfer_fact: Table::new(TREES[9], tree(9)),
            counts: Table::new(TREES[10], tree(10)),
            order_states: Table::new(TREES[11], tree(11)),
        }
    }

    /// Folds one event into every projection.
    pub(crate) fn apply(&mut self, event: &Event) -> Result<()> {
        transfers::apply(
            transfers::TransferTables {
                records: &mut self.transfers,
                open: &mut self.open_transfers,
                by_week: &mut self.transfer_weeks,
                latest: &mut self.latest_transfer_fact,
                counts: &mut self.counts,
            },
            event,
        )?;
        orders::apply(
            orders::OrderTables {
                records: &mut self.orders,
                by_state: &mut self.order_states,
                counts: &mut self.counts,
            },
            event,
        )?;
        failed_creates::apply(&mut self.failures, &mut self.marks, &mut self.counts, event)?;
        inventory::apply(&mut self.departures, &mut self.imports, event)?;
        kinds::apply(&mut self.kinds, event)
    }

    /// Every changed record, encoded and sorted by key, per tree in [`TREES`] order.
    pub(crate) fn into_encoded(self) -> Result<[Changes; TREE_COUNT]> {
        let Projections {
            transfers,
            orders,
            failures,
            marks,
            departures,
            imports,
            kinds,
            open_transfers,
            transfer_weeks,
            latest_transfer_fact,
            counts,
            order_states,
        } = self;
        // After a rebuild's fold, encoding and sorting the two largest working sets (one
        // record per ctid) on a second thread saves a good part of what is left; an ingest
        // batch's few thousand records are not worth a thread.
        let (orders, marks) = if orders.len() + marks.len() > PARALLEL_ENCODE {
            std::thread::scope(|scope| {
                let orders = scope.spawn(|| orders.into_encoded());
                let marks = marks.into_encoded();
                let orders = orders
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (orders, marks)
            })
        } else {
            (orders.into_encoded(), marks.into_encoded())
        };
        Ok([
            transfers.into_encoded()?,
            orders?,
            failures.into_encoded()?,
            marks?,
            departures.into_encoded()?,
            imports.into_encoded()?,
            kinds.into_encoded()?,
            open_transfers.into_encoded()?,
            transfer_weeks.into_encoded()?,
            latest_transfer_fact.into_encoded()?,
            counts.into_encoded()?,
            order_states.into_encoded()?,
        ])
    }
}

/// Records from which [`Projections::into_encoded`] uses a second thread.
const PARALLEL_ENCODE: usize = 50_000;
