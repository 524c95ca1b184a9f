//! Integration tests of the `ledger` crate: one test binary, realistic AutoDNS and CentralNic
//! input (the seed-003 mails in `fixtures/`, and mails built the same way in `support`).

mod as_of;
mod group_commit;
mod ingest;
mod layering;
mod layout;
mod lifecycle;
mod poll;
mod quarantine;
mod recovery;
mod support;
mod trust;
