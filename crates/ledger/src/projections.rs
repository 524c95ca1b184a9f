//! The projections' public shapes. TODO(ledger helper): the folds, split into
//! `projections/transfers.rs`, `projections/failed_creates.rs`, `projections/orders.rs`,
//! `projections/inventory.rs`.

use chrono::{DateTime, Utc};
use ledger_parser::Status;
use serde::Serialize;

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
    /// The latest event of the order.
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

/// Inventory changes: domains that left, OwnerC imports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Domains that left, by domain.
    pub departed: Vec<Departure>,
    /// OwnerC imports, latest per domain (or order).
    pub owner_c_imports: Vec<OwnerCImport>,
}
