//! Inventory changes: departures by domain (latest per domain) and OwnerC imports (notice
//! `MSG01050`, latest per domain, else per ctid).

use super::{Entity, ProjectionId, Reads, entity_key};
use ledger_event::{Event, EventKind, TransferAnswer};

use super::stamp::Stamp;
use super::table::Table;
use crate::codec::{corrupt_tag, time};
use crate::{Departure, DepartureReason, OwnerCImport, Result};

/// The stored tree of departures (domain → [`DepartureRecord`]).
pub(crate) const DEPARTURES_TREE: ProjectionId = ProjectionId::Departures;
/// The stored tree of imports (`d\0domain` / `c\0ctid` → [`ImportRecord`]).
pub(crate) const IMPORTS_TREE: ProjectionId = ProjectionId::OwnerCImports;

/// The notice that says the OwnerC was imported.
const OWNER_C_IMPORTED: &str = "MSG01050";

/// The latest departure of a domain.
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct DepartureRecord {
    reason: u8,
    stamp: Stamp,
}

/// The latest OwnerC import of a domain or order.
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct ImportRecord {
    domain: Option<String>,
    ctid: Option<String>,
    owner_c: Option<String>,
    stamp: Stamp,
}

/// Why the domain of `event` left, if it says so.
fn departure_reason(event: &Event) -> Option<DepartureReason> {
    match event.kind {
        EventKind::TransferOutAutoAcked => Some(DepartureReason::AutoAck),
        EventKind::TransferOutAnswered(TransferAnswer::Ack) => Some(DepartureReason::AnsweredAck),
        EventKind::DomainAway => Some(DepartureReason::DomainAway),
        _ => None,
    }
}

/// The key of the import `event` records, if it records one.
fn import_key(event: &Event) -> Option<Vec<u8>> {
    if !event.notification.has_notice(OWNER_C_IMPORTED) {
        return None;
    }
    match (event.domain.as_deref(), event.ctid.as_deref()) {
        (Some(domain), _) => Some(entity_key(Entity::Domain, domain)),
        (None, Some(ctid)) => Some(entity_key(Entity::Order, ctid)),
        (None, None) => None,
    }
}

/// The records [`apply`] reads: the domain's departure, the import's record.
pub(crate) fn reads(event: &Event, reads: &mut Reads) {
    if let (Some(_), Some(domain)) = (departure_reason(event), event.domain.as_deref()) {
        reads.want(DEPARTURES_TREE, domain.as_bytes());
    }
    if let Some(key) = import_key(event) {
        reads.want(IMPORTS_TREE, &key);
    }
}

/// Folds one event.
pub(crate) fn apply(
    departures: &mut Table<DepartureRecord>,
    imports: &mut Table<ImportRecord>,
    event: &Event,
) {
    let stamp = Stamp::of(event);
    if let (Some(reason), Some(domain)) = (departure_reason(event), event.domain.as_deref()) {
        let slot = departures.entry(domain.as_bytes());
        if slot.as_ref().is_none_or(|old| old.stamp < stamp) {
            *slot = Some(DepartureRecord {
                reason: reason_tag(reason),
                stamp,
            });
        }
    }
    if let Some(key) = import_key(event) {
        let slot = imports.entry(&key);
        if slot.as_ref().is_none_or(|old| old.stamp < stamp) {
            *slot = Some(ImportRecord {
                domain: event.domain.clone(),
                ctid: event.ctid.clone(),
                owner_c: event.notification.owner_c.clone(),
                stamp,
            });
        }
    }
}

fn reason_tag(reason: DepartureReason) -> u8 {
    match reason {
        DepartureReason::AutoAck => 0,
        DepartureReason::AnsweredAck => 1,
        DepartureReason::DomainAway => 2,
    }
}

impl DepartureRecord {
    /// The departure this record stands for.
    pub(crate) fn departure(&self, domain: &str) -> Result<Departure> {
        let reason = match self.reason {
            0 => DepartureReason::AutoAck,
            1 => DepartureReason::AnsweredAck,
            2 => DepartureReason::DomainAway,
            other => return Err(corrupt_tag("departure reason", other)),
        };
        Ok(Departure {
            domain: domain.to_string(),
            reason,
            at: time(self.stamp.at, "departure record")?,
            seq: self.stamp.seq,
        })
    }
}

impl ImportRecord {
    /// The import this record stands for.
    pub(crate) fn import(&self) -> Result<OwnerCImport> {
        Ok(OwnerCImport {
            domain: self.domain.clone(),
            ctid: self.ctid.clone(),
            owner_c: self.owner_c.clone(),
            at: time(self.stamp.at, "owner-c import record")?,
            seq: self.stamp.seq,
        })
    }
}

/// A departure and an import with every field set, for the golden-bytes test of the views.
#[cfg(test)]
pub(crate) mod samples {
    use super::*;

    /// A domain gone away.
    pub(crate) fn departure() -> DepartureRecord {
        DepartureRecord {
            reason: reason_tag(DepartureReason::DomainAway),
            stamp: Stamp {
                at: 1_717_027_200_000_000,
                seq: 251,
            },
        }
    }

    /// An OwnerC import with its handle.
    pub(crate) fn import() -> ImportRecord {
        ImportRecord {
            domain: Some("example.org".into()),
            ctid: Some("20240530-7".into()),
            owner_c: Some("OWNER-1".into()),
            stamp: Stamp {
                at: -86_400,
                seq: 2,
            },
        }
    }
}
