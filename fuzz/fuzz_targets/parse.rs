//! Fuzz target: `ledger_parser::parse` with default options must return `Ok` or `Err` on any
//! input, never panic, hang or overflow.
//!
//! Run with `cargo +nightly fuzz run parse fuzz/corpus/parse ../fixtures` from the repository
//! root (the fixtures make a good seed corpus).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ledger_parser::parse(data, &ledger_parser::ParseOptions::default());
});
