//! Counts kept for `stats`, so it reads a few records instead of walking the orders, the
//! failed creates and the open transfers: how many orders there are, how many failed creates
//! are not resolved, and how many transfers are open. Each is changed by the fold that changes
//! what it counts, by the difference it made, so a fresh fold gives the same numbers
//! (`verify` compares them like any record).

use super::ProjectionId;
use super::table::Table;

/// The stored tree (name → count).
pub(crate) const TREE: ProjectionId = ProjectionId::Counts;
/// Orders (distinct ctids with an order record).
pub(crate) const ORDERS: &[u8] = b"orders";
/// Failed creates no later create resolved.
pub(crate) const OPEN_FAILED_CREATES: &[u8] = b"open_failed_creates";
/// Entries of the open transfers (`transfers_open`): the transfers pending "now" whenever
/// the open set answers for now.
pub(crate) const OPEN_TRANSFERS: &[u8] = b"open_transfers";

/// Adds one to the count `name`.
pub(crate) fn increment(table: &mut Table<u64>, name: &[u8]) {
    *table.entry(name).get_or_insert(0) += 1;
}

/// Takes one from the count `name` (never below zero).
pub(crate) fn decrement(table: &mut Table<u64>, name: &[u8]) {
    let count = table.entry(name).get_or_insert(0);
    *count = count.saturating_sub(1);
}

/// Changes the count `name` by what a fold did to one entity: one more when it was not
/// counted before and is now, one less the other way, nothing when it stayed as it was.
pub(crate) fn track(table: &mut Table<u64>, name: &[u8], before: bool, after: bool) {
    match (before, after) {
        (false, true) => increment(table, name),
        (true, false) => decrement(table, name),
        _ => {}
    }
}
