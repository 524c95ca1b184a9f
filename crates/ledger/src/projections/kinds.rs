//! Events per kind, for `stats`.

use ledger_event::Event;

use super::table::Table;
use super::{ProjectionId, Reads};

/// The stored tree (kind name → count).
pub(crate) const TREE: ProjectionId = ProjectionId::KindCounts;

/// The records [`apply`] reads: the count of the event's kind.
pub(crate) fn reads(event: &Event, reads: &mut Reads) {
    reads.want(TREE, event.kind.name().as_bytes());
}

/// Folds one event.
pub(crate) fn apply(table: &mut Table<u64>, event: &Event) {
    *table.entry(event.kind.name().as_bytes()).get_or_insert(0) += 1;
}
