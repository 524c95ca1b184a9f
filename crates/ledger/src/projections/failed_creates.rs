//! Failed creates (`DomainCreateFailed`: E0101, CentralNic AddDomain 5xx), keyed by seq, and
//! the success marks that resolve them.
//!
//! A failure is resolved by the earliest `DomainCreated` of the same domain (or, when the
//! failure names no domain, of the same ctid) at or after the failure's time. Both sides keep
//! a mark per domain / ctid listing its successes and failures, so whichever arrives second
//! finds the other: the result does not depend on arrival order.

use ledger_event::{Event, EventKind};

use super::counts;
use super::stamp::Stamp;
use super::{Entity, ProjectionId, entity_key};
use crate::codec::{StoredStatus, micros, time};
use crate::table::Table;
use crate::{FailedCreate, Result};

/// The stored tree of failures (seq BE → [`FailureRecord`]).
pub(crate) const TREE: ProjectionId = ProjectionId::FailedCreates;
/// The stored tree of marks (`d\0domain` or `c\0ctid` → [`CreateMarks`]).
pub(crate) const MARKS_TREE: ProjectionId = ProjectionId::CreateMarks;

/// One failed create.
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct FailureRecord {
    ctid: Option<String>,
    domain: Option<String>,
    status: Option<StoredStatus>,
    error: Option<String>,
    nic_response: Option<String>,
    seq: u64,
    failed_at: i64,
    resolved_by: Option<u64>,
}

/// The creates and failed creates of one domain or ctid.
#[derive(Debug, Clone, Default, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct CreateMarks {
    successes: Vec<Stamp>,
    failures: Vec<Stamp>,
}

impl CreateMarks {
    /// The seqs of the failed creates, by time.
    pub(crate) fn failure_seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.failures.iter().map(|s| s.seq)
    }
}

/// The earliest success at or after a failure.
fn resolution(successes: &[Stamp], failure: Stamp) -> Option<u64> {
    successes
        .iter()
        .filter(|s| s.at >= failure.at)
        .min()
        .map(|s| s.seq)
}

fn insert_sorted(list: &mut Vec<Stamp>, stamp: Stamp) {
    if let Err(at) = list.binary_search(&stamp) {
        list.insert(at, stamp);
    }
}

/// Folds one event (failed creates not resolved are counted in `counts`).
pub(crate) fn apply(
    failures: &mut Table<FailureRecord>,
    marks: &mut Table<CreateMarks>,
    counts: &mut Table<u64>,
    event: &Event,
) -> Result<()> {
    let stamp = Stamp::of(event);
    match event.kind {
        EventKind::DomainCreateFailed => {
            let key = match (&event.domain, &event.ctid) {
                (Some(domain), _) => entity_key(Entity::Domain, domain),
                (None, Some(ctid)) => entity_key(Entity::Order, ctid),
                (None, None) => Vec::new(),
            };
            let mut resolved_by = None;
            if !key.is_empty() {
                let mark = marks.entry(&key)?.get_or_insert_with(CreateMarks::default);
                insert_sorted(&mut mark.failures, stamp);
                resolved_by = resolution(&mark.successes, stamp);
            }
            if resolved_by.is_none() {
                counts::increment(counts, counts::OPEN_FAILED_CREATES)?;
            }
            let n = &event.notification;
            *failures.entry(&event.seq.to_be_bytes())? = Some(FailureRecord {
                ctid: event.ctid.clone(),
                domain: event.domain.clone(),
                status: event.status().map(StoredStatus::of),
                error: n.error.clone(),
                nic_response: n.nic_response.clone(),
                seq: event.seq,
                failed_at: micros(event.effective_time()),
                resolved_by,
            });
        }
        EventKind::DomainCreated => {
            let keys = [
                event
                    .domain
                    .as_deref()
                    .map(|d| entity_key(Entity::Domain, d)),
                event.ctid.as_deref().map(|c| entity_key(Entity::Order, c)),
            ];
            for key in keys.into_iter().flatten() {
                let mark = marks.entry(&key)?.get_or_insert_with(CreateMarks::default);
                insert_sorted(&mut mark.successes, stamp);
                let mark = mark.clone();
                for failure in mark.failures.iter().filter(|f| f.at <= stamp.at) {
                    let resolved = resolution(&mark.successes, *failure);
                    if let Some(record) = failures.entry(&failure.seq.to_be_bytes())?.as_mut() {
                        match (record.resolved_by.is_some(), resolved.is_some()) {
                            (false, true) => {
                                counts::decrement(counts, counts::OPEN_FAILED_CREATES)?
                            }
                            (true, false) => {
                                counts::increment(counts, counts::OPEN_FAILED_CREATES)?
                            }
                            _ => {}
                        }
                        record.resolved_by = resolved;
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

impl FailureRecord {
    /// The failed create this record stands for.
    pub(crate) fn failed_create(&self) -> Result<FailedCreate> {
        Ok(FailedCreate {
            ctid: self.ctid.clone(),
            domain: self.domain.clone(),
            status: self.status.as_ref().map(StoredStatus::status).transpose()?,
            error: self.error.clone(),
            nic_response: self.nic_response.clone(),
            seq: self.seq,
            failed_at: time(self.failed_at, "failed create record")?,
            resolved_by: self.resolved_by,
        })
    }
}

/// A failure and marks with every field set, for the golden-bytes test of the views.
#[cfg(test)]
pub(crate) mod samples {
    use super::*;

    /// A failed create resolved by a later create.
    pub(crate) fn failure() -> FailureRecord {
        let status = ledger_parser::Status {
            code: "545".into(),
            prefix: None,
            text: Some("Policy error".into()),
            class: ledger_parser::StatusClass::Temporary,
        };
        FailureRecord {
            ctid: Some("201005061621".into()),
            domain: Some("example.com".into()),
            status: Some(StoredStatus::of(&status)),
            error: Some("EF01".into()),
            nic_response: Some("Domain name not available".into()),
            seq: 12,
            failed_at: -1,
            resolved_by: Some(13),
        }
    }

    /// Marks with two successes and a failure.
    pub(crate) fn marks() -> CreateMarks {
        CreateMarks {
            successes: vec![Stamp { at: 5, seq: 13 }, Stamp { at: 6, seq: 300 }],
            failures: vec![Stamp { at: 4, seq: 12 }],
        }
    }
}
