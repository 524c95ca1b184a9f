//! `parse` never panics: arbitrary bytes, fixtures with bytes flipped, cut off or inserted, and
//! line soup built from the text format's own vocabulary all come back as `Ok` or `Err`.
//!
//! Case counts are modest so the suite runs in seconds in a debug build; the fuzz target
//! (`fuzz/fuzz_targets/parse.rs`) is the place for long runs.

mod support;

use std::path::Path;
use std::sync::LazyLock;

use ledger_parser::{Format, ParseOptions, parse};
use proptest::prelude::*;

/// Every fixture file of the workspace, as bytes.
static FIXTURES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut files = Vec::new();
    collect(&support::fixture_path(""), &mut files);
    assert!(files.len() > 40, "fixtures found: {}", files.len());
    files
});

fn collect(dir: &Path, files: &mut Vec<Vec<u8>>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e != "md" && e != "py") {
            files.push(std::fs::read(&path).expect("fixture readable"));
        }
    }
}

/// Parses with default options and with every format forced: none may panic.
fn parse_every_way(input: &[u8]) {
    let _ = parse(input, &ParseOptions::default());
    for format in [
        Format::AutoDnsText,
        Format::AutoDnsXml,
        Format::AutoDnsJson,
        Format::CentralNic,
    ] {
        let options = ParseOptions {
            format: Some(format),
            ..ParseOptions::default()
        };
        let _ = parse(input, &options);
    }
}

/// One way of damaging a fixture.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Truncate { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
    ]
}

fn apply(input: &mut Vec<u8>, mutation: &Mutation) {
    let len = input.len();
    let pos = |at: usize| if len == 0 { 0 } else { at % len };
    match mutation {
        Mutation::Flip { at, mask } => {
            if let Some(b) = input.get_mut(pos(*at)) {
                *b ^= mask;
            }
        }
        Mutation::Truncate { at } => input.truncate(pos(*at)),
        Mutation::Insert { at, bytes } => {
            let at = pos(*at);
            input.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete { at, len: n } => {
            let at = pos(*at);
            let end = (at + n).min(len);
            input.drain(at..end);
        }
    }
}

/// Lines a text notification is made of, and some that break it.
const VOCABULARY: &[&str] = &[
    "<system>",
    "</system>",
    "<reply>",
    "</reply>",
    "<nic_response>",
    "</nic_response>",
    "<notify></notify>",
    "user: ExampleUser",
    "task: 1403",
    "status: S1403 [Outgoing domain transfer has been started",
    "successfully.]",
    "status: E0104001 [a: b]",
    "status: X",
    "status:",
    "notice: MSG01050 [OwnerC has been imported]",
    "success_value: domain: xn--mller-kva.de",
    "success_value: domain: ",
    "transaction: 1234",
    "kk_start: 2010-03-28 02:30:00",
    "kk_end: 2010-10-31 02:30:00",
    "kk_autonack: 9999-99-99 99:99:99",
    "sld: test",
    "tld: es",
    "owner-c: 12345",
    "[...]",
    "[",
    "]",
    "<system> user: x task: 1403008 status: S1403008 [y] transaction: 1 </system>",
    "\u{feff}",
    "\t  ",
    "From: a@b.example",
    "Content-Type: multipart/mixed; boundary=\"b\"",
    "--b",
    "Content-Transfer-Encoding: base64",
    "[RESPONSE]",
    "code = 200",
    "property[domain][0] = x",
    "EOF",
    "<?xml version=\"1.0\"?>",
    "{\"stid\": 1, \"status\": {\"code\": \"S0101\"",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..1024)) {
        parse_every_way(&input);
    }

    #[test]
    fn mutated_fixtures(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut input = which.get(&FIXTURES).clone();
        for m in &mutations {
            apply(&mut input, m);
        }
        parse_every_way(&input);
    }

    #[test]
    fn line_soup(
        lines in prop::collection::vec(prop::sample::select(VOCABULARY), 0..40),
        crlf in any::<bool>(),
    ) {
        let input = lines.join(if crlf { "\r\n" } else { "\n" });
        parse_every_way(input.as_bytes());
    }
}
