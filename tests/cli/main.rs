//! End-to-end tests of the real `ledger` binary over `fixtures/`.

mod autodns;
mod harness;

mod browser;

mod dashboard;
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
mod serve_fetchers;
mod socket;
mod times;
mod trust;
