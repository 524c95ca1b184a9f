//! Events per kind, for `stats`.

use ledger_event::Event;

use super::ProjectionId;
use crate::Result;
use crate::table::Table;

/// The stored tree (kind name → count).
pub(crate) const TREE: ProjectionId = ProjectionId::KindCounts;

/// Folds one event.
pub(crate) fn apply(table: &mut Table<u64>, event: &Event) -> Result<()> {
    *table.entry(event.kind.name().as_bytes())?.get_or_insert(0) += 1;
    Ok(())
}
