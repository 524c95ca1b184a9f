//! Counts kept for `stats`, so it reads two records instead of walking the orders and the
//! failed creates: how many orders there are, and how many failed creates are not resolved.
//! Each is changed by the fold that changes what it counts, by the difference it made, so a
//! fresh fold gives the same numbers (`verify` compares them like any record).

use super::ProjectionId;
use super::table::Table;

/// The stored tree (name → count).
pub(crate) const TREE: ProjectionId = ProjectionId::Counts;
/// Orders (distinct ctids with an order record).
pub(crate) const ORDERS: &[u8] = b"orders";
/// Failed creates no later create resolved.
pub(crate) const OPEN_FAILED_CREATES: &[u8] = b"open_failed_creates";

/// Adds one to the count `name`.
pub(crate) fn increment(table: &mut Table<u64>, name: &[u8]) {
    *table.entry(name).get_or_insert(0) += 1;
}

/// Takes one from the count `name` (never below zero).
pub(crate) fn decrement(table: &mut Table<u64>, name: &[u8]) {
    let count = table.entry(name).get_or_insert(0);
    *count = count.saturating_sub(1);
}
