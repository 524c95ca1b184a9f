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
#[cfg(test)]
mod golden;
pub(crate) mod inventory;
pub(crate) mod kinds;
pub(crate) mod orders;
mod stamp;
pub(crate) mod table;
pub(crate) mod transfer_index;
pub(crate) mod transfers;

use chrono::{DateTime, Utc};
use ledger_event::Event;
use ledger_parser::Status;
use serde::Serialize;

use crate::Result;
use table::{Base, Changes, Index, KeySet, Loadable, Table};

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

/// A projection tree, by its pinned id. The id is data, not a position: it is the tree's
/// one-byte key prefix in the sled views (and names the tree in any other store), so an id
/// never changes and is never reused; a new tree takes a new id (the test
/// `projection_ids_are_pinned` fails when one changes). The record each tree holds is pinned
/// by golden bytes (`tests/golden/views/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub(crate) enum ProjectionId {
    /// Domain → [`transfers::TransferRecord`].
    Transfers = 0,
    /// Ctid → [`orders::OrderRecord`].
    Orders = 1,
    /// Seq BE → [`failed_creates::FailureRecord`].
    FailedCreates = 2,
    /// `d\0domain` / `c\0ctid` → [`failed_creates::CreateMarks`].
    CreateMarks = 3,
    /// Domain → [`inventory::DepartureRecord`].
    Departures = 4,
    /// `d\0domain` / `c\0ctid` → [`inventory::ImportRecord`].
    OwnerCImports = 5,
    /// Kind name → count.
    KindCounts = 6,
    /// Domain → [`transfers::OpenTransfer`].
    TransfersOpen = 7,
    /// Retired in views version 8 (it was week ++ domain → empty): nothing is written to it,
    /// and a rebuild removes what an older build left. Its id is never reused.
    TransfersByWeek = 8,
    /// `latest` → µs.
    TransfersLatest = 9,
    /// Count name → count.
    Counts = 10,
    /// State tag ++ ctid → empty.
    OrdersByState = 11,
    /// The open transfers by deadline → [`transfers::OpenTransfer`] ([`transfer_index`]).
    TransfersByDeadline = 12,
    /// The pending spans of transfers, as an interval index → empty ([`transfer_index`]).
    TransferSpans = 13,
}

/// The shape of the projection records this build writes; views of another shape are rebuilt
/// from the log on open (they are derived data). Every store keeps it beside its views.
/// 5: transfer records keep DST flags, undated starts and which closes are departures.
/// 6: the orders of each state (`orders_by_state`) and a count per state.
/// 7: the open transfers counted in `counts` (`open_transfers`), read by `stats`.
/// 8: the open transfers by deadline and the pending spans as an interval index
///    (`transfers_by_deadline`, `transfer_spans`); the week index (`transfers_by_week`) retired.
pub(crate) const VIEWS_VERSION: u32 = 8;

/// How many projection trees there are.
pub(crate) const TREE_COUNT: usize = 14;

impl ProjectionId {
    /// Every projection tree, by id.
    pub(crate) const ALL: [ProjectionId; TREE_COUNT] = [
        ProjectionId::Transfers,
        ProjectionId::Orders,
        ProjectionId::FailedCreates,
        ProjectionId::CreateMarks,
        ProjectionId::Departures,
        ProjectionId::OwnerCImports,
        ProjectionId::KindCounts,
        ProjectionId::TransfersOpen,
        ProjectionId::TransfersByWeek,
        ProjectionId::TransfersLatest,
        ProjectionId::Counts,
        ProjectionId::OrdersByState,
        ProjectionId::TransfersByDeadline,
        ProjectionId::TransferSpans,
    ];

    /// The pinned id: the tree's key prefix in the sled views.
    pub(crate) const fn id(self) -> u8 {
        self as u8
    }

    /// Where the tree is in [`ProjectionId::ALL`] (and in arrays kept per tree).
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// The tree's name, in errors and `verify`'s lines.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            ProjectionId::Transfers => "transfers",
            ProjectionId::Orders => "orders",
            ProjectionId::FailedCreates => "failed_creates",
            ProjectionId::CreateMarks => "create_marks",
            ProjectionId::Departures => "departures",
            ProjectionId::OwnerCImports => "owner_c_imports",
            ProjectionId::KindCounts => "kind_counts",
            ProjectionId::TransfersOpen => "transfers_open",
            ProjectionId::TransfersByWeek => "transfers_by_week",
            ProjectionId::TransfersLatest => "transfers_latest",
            ProjectionId::Counts => "counts",
            ProjectionId::OrdersByState => "orders_by_state",
            ProjectionId::TransfersByDeadline => "transfers_by_deadline",
            ProjectionId::TransferSpans => "transfer_spans",
        }
    }
}

/// Where the records a working set needs come from before a fold: the engine's side of the
/// boundary, over whatever store holds the views. The working set asks for keys
/// ([`Working::load`]); the loader hands back what is stored, as the bytes it holds.
pub(crate) trait Loader {
    /// Hands `found` the stored bytes of each key of `keys` (sorted, distinct) that the tree
    /// `tree` holds; keys it does not hold are left out. An error of `found` (a record that
    /// does not decode) is returned as it is.
    fn read(&mut self, tree: ProjectionId, keys: &[Vec<u8>], found: &mut Found<'_>) -> Result<()>;

    /// Hands `found` the stored bytes of the keys asked of each tree (each tree once, its keys
    /// sorted and distinct), with the tree. A store that can answer every tree in one request
    /// does so (PostgreSQL: one query for a round of a batch); by default, one
    /// [`Loader::read`] per tree, in the order asked.
    fn read_trees(
        &mut self,
        asks: &[(ProjectionId, Vec<Vec<u8>>)],
        found: &mut FoundIn<'_>,
    ) -> Result<()> {
        for (tree, keys) in asks {
            self.read(*tree, keys, &mut |key, bytes| found(*tree, key, bytes))?;
        }
        Ok(())
    }
}

/// What a [`Loader`] hands each stored record to: its key, and its bytes as stored.
pub(crate) type Found<'a> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'a;

/// What [`Loader::read_trees`] hands each stored record to: its tree, key and stored bytes.
pub(crate) type FoundIn<'a> = dyn FnMut(ProjectionId, &[u8], &[u8]) -> Result<()> + 'a;

/// The keys the folds of a batch will read, per tree: what [`Working::load`] asks a
/// [`Loader`] for. Each projection says what an event reads (`reads` in its module):
/// keys derived from the event (its domain, ctid, seq, kind) and fixed keys (counts,
/// `latest`); the failed creates' fold also reads the failures its marks list
/// ([`failed_creates::reads_after`], a second round).
#[derive(Default)]
pub(crate) struct Reads {
    keys: [rustc_hash::FxHashSet<Vec<u8>>; TREE_COUNT],
}

impl Reads {
    /// Asks for the record of `key` in `tree`.
    pub(crate) fn want(&mut self, tree: ProjectionId, key: &[u8]) {
        let keys = &mut self.keys[tree.index()];
        if !keys.contains(key) {
            keys.insert(key.to_vec());
        }
    }

    /// True when nothing is asked for.
    fn is_empty(&self) -> bool {
        self.keys.iter().all(|keys| keys.is_empty())
    }
}

/// The working set of every projection while events are folded: events in, records out.
/// Over stored views, [`Working::load`] first brings in every record the folds of a batch
/// read; [`Working::apply`] then folds in memory only and cannot fail.
pub(crate) struct Working {
    pub(crate) transfers: Table<transfers::TransferRecord>,
    pub(crate) orders: Table<orders::OrderRecord>,
    pub(crate) failures: Table<failed_creates::FailureRecord>,
    pub(crate) marks: Table<failed_creates::CreateMarks>,
    pub(crate) departures: Table<inventory::DepartureRecord>,
    pub(crate) imports: Table<inventory::ImportRecord>,
    pub(crate) kinds: Table<u64>,
    pub(crate) open_transfers: Table<transfers::OpenTransfer>,
    /// The retired week index: always empty.
    pub(crate) retired_weeks: KeySet,
    pub(crate) latest_transfer_fact: Table<i64>,
    pub(crate) counts: Table<u64>,
    pub(crate) order_states: KeySet,
    pub(crate) transfer_deadlines: Index<transfers::OpenTransfer>,
    pub(crate) transfer_spans: KeySet,
}

impl Working {
    /// A fresh fold, from nothing stored (rebuild, verify): nothing is loaded.
    pub(crate) fn fresh() -> Self {
        Working::new(Base::Fresh)
    }

    /// A fold over stored views (ingest, catch-up): [`Working::load`] each batch of events
    /// before folding it.
    pub(crate) fn over_stored() -> Self {
        Working::new(Base::Stored)
    }

    fn new(base: Base) -> Self {
        Working {
            transfers: Table::new(ProjectionId::Transfers, base),
            orders: Table::new(ProjectionId::Orders, base),
            failures: Table::new(ProjectionId::FailedCreates, base),
            marks: Table::new(ProjectionId::CreateMarks, base),
            departures: Table::new(ProjectionId::Departures, base),
            imports: Table::new(ProjectionId::OwnerCImports, base),
            kinds: Table::new(ProjectionId::KindCounts, base),
            open_transfers: Table::new(ProjectionId::TransfersOpen, base),
            retired_weeks: KeySet::new(ProjectionId::TransfersByWeek, base),
            latest_transfer_fact: Table::new(ProjectionId::TransfersLatest, base),
            counts: Table::new(ProjectionId::Counts, base),
            order_states: KeySet::new(ProjectionId::OrdersByState, base),
            transfer_deadlines: Index::new(ProjectionId::TransfersByDeadline, base),
            transfer_spans: KeySet::new(ProjectionId::TransferSpans, base),
        }
    }

    /// Loads, through `loader`, every stored record the folds of `events` read that the
    /// working set does not hold yet: one read per key, every tree's keys at once
    /// ([`Loader::read_trees`]), in two rounds
    /// (the keys the events name, then the failures the loaded create marks list). A stored
    /// record that does not decode is an error naming its tree; after it, the working set
    /// must not be folded.
    pub(crate) fn load(&mut self, events: &[Event], loader: &mut dyn Loader) -> Result<()> {
        let mut reads = Reads::default();
        for event in events {
            transfers::reads(event, &mut reads);
            orders::reads(event, &mut reads);
            failed_creates::reads(event, &mut reads);
            inventory::reads(event, &mut reads);
            kinds::reads(event, &mut reads);
        }
        self.read(reads, loader)?;
        let mut reads = Reads::default();
        for event in events {
            failed_creates::reads_after(event, &self.marks, &mut reads);
        }
        self.read(reads, loader)
    }

    /// Reads what `reads` asks for and the working set does not hold.
    fn read(&mut self, reads: Reads, loader: &mut dyn Loader) -> Result<()> {
        if reads.is_empty() {
            return Ok(());
        }
        let mut asks = Vec::new();
        for (id, keys) in ProjectionId::ALL.into_iter().zip(reads.keys) {
            let table = self.table(id);
            let mut keys: Vec<Vec<u8>> = keys.into_iter().filter(|k| !table.holds(k)).collect();
            if keys.is_empty() {
                continue;
            }
            keys.sort_unstable();
            for key in &keys {
                table.load_absent(key);
            }
            asks.push((id, keys));
        }
        if asks.is_empty() {
            return Ok(());
        }
        loader.read_trees(&asks, &mut |id, key, bytes| {
            self.table(id).load_stored(key, bytes)
        })
    }

    /// The tree `id`'s working set, to load records into.
    fn table(&mut self, id: ProjectionId) -> &mut dyn Loadable {
        match id {
            ProjectionId::Transfers => &mut self.transfers,
            ProjectionId::Orders => &mut self.orders,
            ProjectionId::FailedCreates => &mut self.failures,
            ProjectionId::CreateMarks => &mut self.marks,
            ProjectionId::Departures => &mut self.departures,
            ProjectionId::OwnerCImports => &mut self.imports,
            ProjectionId::KindCounts => &mut self.kinds,
            ProjectionId::TransfersOpen => &mut self.open_transfers,
            ProjectionId::TransfersByWeek => &mut self.retired_weeks,
            ProjectionId::TransfersLatest => &mut self.latest_transfer_fact,
            ProjectionId::Counts => &mut self.counts,
            ProjectionId::OrdersByState => &mut self.order_states,
            ProjectionId::TransfersByDeadline => &mut self.transfer_deadlines,
            ProjectionId::TransferSpans => &mut self.transfer_spans,
        }
    }

    /// Folds one event into every projection, in memory.
    pub(crate) fn apply(&mut self, event: &Event) {
        transfers::apply(
            transfers::TransferTables {
                records: &mut self.transfers,
                open: &mut self.open_transfers,
                by_deadline: &mut self.transfer_deadlines,
                spans: &mut self.transfer_spans,
                latest: &mut self.latest_transfer_fact,
                counts: &mut self.counts,
            },
            event,
        );
        orders::apply(
            orders::OrderTables {
                records: &mut self.orders,
                by_state: &mut self.order_states,
                counts: &mut self.counts,
            },
            event,
        );
        failed_creates::apply(&mut self.failures, &mut self.marks, &mut self.counts, event);
        inventory::apply(&mut self.departures, &mut self.imports, event);
        kinds::apply(&mut self.kinds, event);
    }

    /// How many records (and index keys) the working set holds, in every tree: what a fold
    /// in bounded memory measures it by (`spill.rs`).
    pub(crate) fn records(&self) -> usize {
        self.transfers.len()
            + self.orders.len()
            + self.failures.len()
            + self.marks.len()
            + self.departures.len()
            + self.imports.len()
            + self.kinds.len()
            + self.open_transfers.len()
            + self.retired_weeks.len()
            + self.latest_transfer_fact.len()
            + self.counts.len()
            + self.order_states.len()
            + self.transfer_deadlines.len()
            + self.transfer_spans.len()
    }

    /// Every changed record, encoded and sorted by key, per tree in [`ProjectionId::ALL`]
    /// order: what a store writes (a record as it was stored, or absent and still absent, is
    /// left out).
    pub(crate) fn into_changes(self) -> Result<[(ProjectionId, Changes); TREE_COUNT]> {
        let Working {
            transfers,
            orders,
            failures,
            marks,
            departures,
            imports,
            kinds,
            open_transfers,
            retired_weeks,
            latest_transfer_fact,
            counts,
            order_states,
            transfer_deadlines,
            transfer_spans,
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
            (ProjectionId::Transfers, transfers.into_encoded()?),
            (ProjectionId::Orders, orders?),
            (ProjectionId::FailedCreates, failures.into_encoded()?),
            (ProjectionId::CreateMarks, marks?),
            (ProjectionId::Departures, departures.into_encoded()?),
            (ProjectionId::OwnerCImports, imports.into_encoded()?),
            (ProjectionId::KindCounts, kinds.into_encoded()?),
            (ProjectionId::TransfersOpen, open_transfers.into_encoded()?),
            (ProjectionId::TransfersByWeek, retired_weeks.into_encoded()),
            (
                ProjectionId::TransfersLatest,
                latest_transfer_fact.into_encoded()?,
            ),
            (ProjectionId::Counts, counts.into_encoded()?),
            (ProjectionId::OrdersByState, order_states.into_encoded()),
            (
                ProjectionId::TransfersByDeadline,
                transfer_deadlines.into_encoded()?,
            ),
            (ProjectionId::TransferSpans, transfer_spans.into_encoded()),
        ])
    }
}

/// Records from which [`Working::into_changes`] uses a second thread.
const PARALLEL_ENCODE: usize = 50_000;

#[cfg(test)]
mod tests {
    use super::ProjectionId;

    /// Every tree's id (its key prefix in the sled views) and name, pinned: a changed id would
    /// read another tree's records, a changed name another store's table. Never edit a line;
    /// add one for a new tree.
    #[test]
    fn projection_ids_are_pinned() {
        let pinned: [(u8, &str); super::TREE_COUNT] = [
            (0, "transfers"),
            (1, "orders"),
            (2, "failed_creates"),
            (3, "create_marks"),
            (4, "departures"),
            (5, "owner_c_imports"),
            (6, "kind_counts"),
            (7, "transfers_open"),
            (8, "transfers_by_week"),
            (9, "transfers_latest"),
            (10, "counts"),
            (11, "orders_by_state"),
            (12, "transfers_by_deadline"),
            (13, "transfer_spans"),
        ];
        let actual: Vec<(u8, &str)> = ProjectionId::ALL
            .iter()
            .map(|id| (id.id(), id.name()))
            .collect();
        assert_eq!(actual, pinned);
        for (i, id) in ProjectionId::ALL.iter().enumerate() {
            assert_eq!(id.index(), i, "ALL is in id order");
        }
        // The views' meta space has its own prefix.
        assert!(ProjectionId::ALL.iter().all(|id| id.id() != b'm'));
    }
}
