//! [`EventKind`]: one kind per real-world fact.

use serde::Serialize;

/// The answer given to an outgoing transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferAnswer {
    /// ACK: the domain leaves.
    Ack,
    /// NACK: the domain stays.
    Nack,
}

/// Which fact an event records. Decided from codes, never from texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An order was accepted and is running (AutoDNS `N…`); the final answer comes later.
    OrderInProgress,
    /// S0101, CentralNic AddDomain 2xx.
    DomainCreated,
    /// E0101, CentralNic AddDomain 5xx.
    DomainCreateFailed,
    /// S0102 (also the AUTOUPDATE after a transfer).
    DomainUpdated,
    /// E0102.
    DomainUpdateFailed,
    /// S0102 with notice MSG011304: the update deleted the AuthInfo.
    AuthInfoDeleted,
    /// S0102 with notice MSG01050: the OwnerC was imported (new `owner-c` in the reply).
    OwnerCImported,
    /// S0103 / S0103101 (deletion or cancelation created).
    DomainDeleted,
    /// E0103.
    DomainDeleteFailed,
    /// S0104: incoming transfer started.
    TransferInStarted,
    /// S0104001: incoming transfer completed (ACK).
    TransferInAcked,
    /// E0104001 (and E0104): incoming transfer refused or failed.
    TransferInNacked,
    /// S1403, `transfer_start` notify, CentralNic `FOREIGN_TRANSFER_PENDING`: another registrar
    /// started taking a domain away.
    TransferOutStarted,
    /// S1403006: reminder of a running outgoing transfer.
    TransferOutReminded,
    /// S0106: the outgoing transfer was answered.
    TransferOutAnswered(TransferAnswer),
    /// S1403008: nobody answered in time, AUTO-ACK: the domain left.
    TransferOutAutoAcked,
    /// S1403005: nobody answered in time, AUTO-NACK: the domain stays.
    TransferOutAutoNacked,
    /// `domain_away` notify: the domain left the inventory.
    DomainAway,
    /// A CentralNic command answered 2xx (not one of the domain kinds above).
    CommandSucceeded,
    /// A CentralNic command answered 4xx: resubmit later.
    CommandTemporaryFailure,
    /// A CentralNic command answered 5xx (not one of the domain kinds above).
    CommandFailed,
    /// Anything else, kept with its codes.
    Unknown,
}

impl EventKind {
    /// Every kind, for catalogs and round-trip tests.
    pub const ALL: [EventKind; 23] = [
        EventKind::OrderInProgress,
        EventKind::DomainCreated,
        EventKind::DomainCreateFailed,
        EventKind::DomainUpdated,
        EventKind::DomainUpdateFailed,
        EventKind::AuthInfoDeleted,
        EventKind::OwnerCImported,
        EventKind::DomainDeleted,
        EventKind::DomainDeleteFailed,
        EventKind::TransferInStarted,
        EventKind::TransferInAcked,
        EventKind::TransferInNacked,
        EventKind::TransferOutStarted,
        EventKind::TransferOutReminded,
        EventKind::TransferOutAnswered(TransferAnswer::Ack),
        EventKind::TransferOutAnswered(TransferAnswer::Nack),
        EventKind::TransferOutAutoAcked,
        EventKind::TransferOutAutoNacked,
        EventKind::DomainAway,
        EventKind::CommandSucceeded,
        EventKind::CommandTemporaryFailure,
        EventKind::CommandFailed,
        EventKind::Unknown,
    ];

    /// The stable name used in JSON and tables (`transfer_out_answered_ack`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::OrderInProgress => "order_in_progress",
            EventKind::DomainCreated => "domain_created",
            EventKind::DomainCreateFailed => "domain_create_failed",
            EventKind::DomainUpdated => "domain_updated",
            EventKind::DomainUpdateFailed => "domain_update_failed",
            EventKind::AuthInfoDeleted => "authinfo_deleted",
            EventKind::OwnerCImported => "ownerc_imported",
            EventKind::DomainDeleted => "domain_deleted",
            EventKind::DomainDeleteFailed => "domain_delete_failed",
            EventKind::TransferInStarted => "transfer_in_started",
            EventKind::TransferInAcked => "transfer_in_acked",
            EventKind::TransferInNacked => "transfer_in_nacked",
            EventKind::TransferOutStarted => "transfer_out_started",
            EventKind::TransferOutReminded => "transfer_out_reminded",
            EventKind::TransferOutAnswered(TransferAnswer::Ack) => "transfer_out_answered_ack",
            EventKind::TransferOutAnswered(TransferAnswer::Nack) => "transfer_out_answered_nack",
            EventKind::TransferOutAutoAcked => "transfer_out_auto_acked",
            EventKind::TransferOutAutoNacked => "transfer_out_auto_nacked",
            EventKind::DomainAway => "domain_away",
            EventKind::CommandSucceeded => "command_succeeded",
            EventKind::CommandTemporaryFailure => "command_temporary_failure",
            EventKind::CommandFailed => "command_failed",
            EventKind::Unknown => "unknown",
        }
    }

    /// True for the transfer-out facts, whose `transaction` AutoDNS assigned (not a ctid of the
    /// reseller's own).
    pub fn is_transfer_out(self) -> bool {
        matches!(
            self,
            EventKind::TransferOutStarted
                | EventKind::TransferOutReminded
                | EventKind::TransferOutAnswered(_)
                | EventKind::TransferOutAutoAcked
                | EventKind::TransferOutAutoNacked
                | EventKind::DomainAway
        )
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
