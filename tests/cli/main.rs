//! End-to-end tests of the real `ledger` binary over `fixtures/`.

mod harness;

mod errors;
mod fetch_imap;
mod ingest;
mod newcomer;
mod parsing;
mod poll;
mod poll_autodns;
mod reads;
mod rejects;
mod reliability;
mod seed;
mod serve;
mod socket;
mod times;
mod trust;
