//! The versioned storage form of events. TODO(ledger helper).
