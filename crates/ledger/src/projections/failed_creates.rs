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
use super::table::Table;
use super::{Entity, ProjectionId, Reads, entity_key};
use crate::codec::{StoredStatus, micros, time};
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

/// The mark a failed create is kept under: its domain's, else its order's.
fn failure_mark_key(event: &Event) -> Option<Vec<u8>> {
    match (&event.domain, &event.ctid) {
        (Some(domain), _) => Some(entity_key(Entity::Domain, domain)),
        (None, Some(ctid)) => Some(entity_key(Entity::Order, ctid)),
        (None, None) => None,
    }
}

/// The marks a create resolves failures in: its domain's and its order's.
fn success_mark_keys(event: &Event) -> [Option<Vec<u8>>; 2] {
    [
        event
            .domain
            .as_deref()
            .map(|d| entity_key(Entity::Domain, d)),
        event.ctid.as_deref().map(|c| entity_key(Entity::Order, c)),
    ]
}

/// The records [`apply`] reads that the event names: the marks of its domain or order, the
/// count of open failures, and a failure's own record.
pub(crate) fn reads(event: &Event, reads: &mut Reads) {
    match event.kind {
        EventKind::DomainCreateFailed => {
            if let Some(key) = failure_mark_key(event) {
                reads.want(MARKS_TREE, &key);
            }
            reads.want(counts::TREE, counts::OPEN_FAILED_CREATES);
            reads.want(TREE, &event.seq.to_be_bytes());
        }
        EventKind::DomainCreated => {
            for key in success_mark_keys(event).into_iter().flatten() {
                reads.want(MARKS_TREE, &key);
            }
            reads.want(counts::TREE, counts::OPEN_FAILED_CREATES);
        }
        _ => {}
    }
}

/// The records [`apply`] reads that the marks name (a second round, once the marks of
/// [`reads`] are in `marks`): the failures a create may resolve, those of its marks at or
/// before it. Failures folded in the same batch are in memory already (their own event read
/// them).
pub(crate) fn reads_after(event: &Event, marks: &Table<CreateMarks>, reads: &mut Reads) {
    if event.kind != EventKind::DomainCreated {
        return;
    }
    let stamp = Stamp::of(event);
    for key in success_mark_keys(event).into_iter().flatten() {
        if let Some(mark) = marks.get(&key) {
            for failure in mark.failures.iter().filter(|f| f.at <= stamp.at) {
                reads.want(TREE, &failure.seq.to_be_bytes());
            }
        }
    }
}

/// Folds one event (failed creates not resolved are counted in `counts`).
pub(crate) fn apply(
    failures: &mut Table<FailureRecord>,
    marks: &mut Table<CreateMarks>,
    counts: &mut Table<u64>,
    event: &Event,
) {
    let stamp = Stamp::of(event);
    match event.kind {
        EventKind::DomainCreateFailed => {
            let mut resolved_by = None;
            if let Some(key) = failure_mark_key(event) {
                let mark = marks.entry(&key).get_or_insert_with(CreateMarks::default);
                insert_sorted(&mut mark.failures, stamp);
                resolved_by = resolution(&mark.successes, stamp);
            }
            if resolved_by.is_none() {
                counts::increment(counts, counts::OPEN_FAILED_CREATES);
            }
            let n = &event.notification;
            *failures.entry(&event.seq.to_be_bytes()) = Some(FailureRecord {
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
            for key in success_mark_keys(event).into_iter().flatten() {
                let mark = marks.entry(&key).get_or_insert_with(CreateMarks::default);
                insert_sorted(&mut mark.successes, stamp);
                let mark = mark.clone();
                for failure in mark.failures.iter().filter(|f| f.at <= stamp.at) {
                    let resolved = resolution(&mark.successes, *failure);
                    if let Some(record) = failures.entry(&failure.seq.to_be_bytes()).as_mut() {
                        match (record.resolved_by.is_some(), resolved.is_some()) {
                            (false, true) => counts::decrement(counts, counts::OPEN_FAILED_CREATES),
                            (true, false) => counts::increment(counts, counts::OPEN_FAILED_CREATES),
                            _ => {}
                        }
                        record.resolved_by = resolved;
                    }
                }
            }
        }
        _ => {}
    }
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
