//! The crate's modules import downward only (issue 14; `ARCHITECTURE.md`, "Layering").
//!
//! [`LAYERS`] lists every module of `src/` and the modules it may import; a reference to any
//! other (`crate::module`, or a name the crate root re-exports from it) fails this test, unless
//! it is one of the [`KNOWN_UPWARD`] imports that the seam has not cut yet. That list only
//! shrinks: an entry that no longer occurs fails the test too, so whoever removes an upward
//! import also strikes it here. Unit-test modules (`#[cfg(test)] mod tests`, inline or in a
//! `tests.rs` file of their own) may import anything and are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module and what it may import, lowest first (see `ARCHITECTURE.md`).
const LAYERS: &[(&str, &[&str])] = &[
    // Foundations.
    ("error", &[]),
    ("test_hook", &["error"]),
    ("codec", &["error"]),
    // The model: pure, knows no store.
    ("trust", &["error"]),
    ("projections", &["codec", "error"]),
    ("options", &["error", "trust"]),
    ("outcome", &[]),
    // The sled backend: storage only, never the engine.
    ("raw", &["codec", "error"]),
    ("event_record", &["codec", "error", "raw"]),
    ("locators", &["codec", "error", "raw"]),
    ("quarantine", &["codec", "error", "raw", "locators"]),
    // The PostgreSQL backend: storage only (its primitives; the trait wires them in later).
    ("postgres", &[]),
    (
        "store",
        &[
            "codec",
            "error",
            "trust",
            "projections",
            "options",
            "raw",
            "event_record",
            "locators",
            "quarantine",
        ],
    ),
    (
        "migrate",
        &[
            "codec",
            "error",
            "options",
            "raw",
            "event_record",
            "locators",
            "quarantine",
            "store",
        ],
    ),
    // The engine: the write path, the views, verify.
    (
        "decide",
        &[
            "codec",
            "error",
            "trust",
            "projections",
            "options",
            "outcome",
        ],
    ),
    // The fold of rebuild and verify in bounded memory: its runs are its own files.
    ("spill", &["codec", "error", "projections"]),
    (
        "views",
        &[
            "codec",
            "error",
            "test_hook",
            "projections",
            "options",
            "spill",
        ],
    ),
    (
        "ingest",
        &[
            "decide",
            "codec",
            "error",
            "test_hook",
            "trust",
            "projections",
            "options",
            "outcome",
            "quarantine",
            "views",
        ],
    ),
    (
        "verify",
        &[
            "decide",
            "codec",
            "error",
            "projections",
            "options",
            "outcome",
            "ingest",
            "views",
            "spill",
        ],
    ),
    // The engine over PostgreSQL: ingest's steps in one PostgreSQL transaction per batch,
    // until the storage trait makes the engine generic. It wires the PostgreSQL backend to the
    // engine, so it sits above both (and takes sled's quarantine record and its `PackRef`,
    // which the seam has not cut from the engine yet).
    (
        "pg_ingest",
        &[
            "decide",
            "error",
            "projections",
            "options",
            "outcome",
            "raw",
            "quarantine",
            "postgres",
            "ingest",
        ],
    ),
    // The API other tools embed: wires a backend to the engine.
    (
        "ledger",
        &[
            "decide",
            "codec",
            "error",
            "test_hook",
            "trust",
            "projections",
            "options",
            "outcome",
            "raw",
            "event_record",
            "locators",
            "quarantine",
            "store",
            "migrate",
            "ingest",
            "views",
            "verify",
        ],
    ),
    // The crate root only declares and re-exports.
    ("lib", &[]),
];

/// Imports against [`LAYERS`] that are still there, as (module, imported). Strike an entry
/// when its import goes; never add one.
const KNOWN_UPWARD: &[(&str, &str)] = &[
    // The engine still reads and writes sled itself: the storage trait cuts these.
    ("ingest", "event_record"),
    ("ingest", "locators"),
    ("ingest", "raw"),
    ("ingest", "store"),
    ("views", "event_record"),
    ("views", "locators"),
    ("views", "raw"),
    ("views", "store"),
    ("verify", "event_record"),
    ("verify", "locators"),
    ("verify", "quarantine"),
    ("verify", "raw"),
    ("verify", "store"),
    // A quarantine record still carries a pack reference (`quarantine` is sled's).
    ("decide", "quarantine"),
    // Inside the sled backend: the log (`store`) and its parts import each other, and opening
    // migrates; the migration computes dedup keys with the engine's functions.
    ("locators", "store"),
    ("quarantine", "store"),
    ("store", "migrate"),
    ("migrate", "ingest"),
];

/// The module a source file belongs to: its top-level name (`projections/transfers.rs` is
/// part of `projections`).
fn module_of(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .unwrap_or_default();
    first.strip_suffix(".rs").unwrap_or(first).to_string()
}

/// The source without comments and without its unit-test module.
fn code_of(text: &str) -> String {
    let body = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |at| &text[..at]);
    body.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segment of every item a `crate::` path names: `crate::a::b` gives `a`,
/// `crate::{a, b::c, D}` gives `a`, `b`, `D`.
fn crate_references(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut end = group.len();
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let mut depth = 0;
            let mut item = String::new();
            for c in group[..end].chars().chain([',']) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
        } else {
            out.push(first_segment(rest));
        }
    }
    out.retain(|name| !name.is_empty() && name != "self");
    out
}

fn first_segment(path: &str) -> String {
    path.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Which module each name the crate root re-exports comes from (`pub use module::{…}`).
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let code = code_of(lib);
    let mut rest = code.as_str();
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + "pub use ".len()..];
        let statement = &rest[..rest.find(';').unwrap_or(rest.len())];
        let Some((module, items)) = statement.split_once("::") else {
            continue;
        };
        for item in items
            .trim_matches(|c| c == '{' || c == '}' || c == ' ')
            .split(',')
        {
            let name = first_segment(item);
            if !name.is_empty() {
                out.insert(name, module.trim().to_string());
            }
        }
    }
    out
}

fn source_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every (module, imported module) pair of the crate's sources.
fn imports() -> BTreeSet<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read lib.rs");
    let reexported = reexports(&lib);
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let mut out = BTreeSet::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        if relative.file_name().is_some_and(|name| name == "tests.rs") {
            continue;
        }
        let module = module_of(relative);
        // A module that imports nothing of the crate is still placed.
        out.insert((module.clone(), module.clone()));
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for name in crate_references(&code_of(&text)) {
            let imported = match name.chars().next() {
                Some(c) if c.is_uppercase() => match reexported.get(&name) {
                    Some(module) => module.clone(),
                    None => continue,
                },
                _ => name,
            };
            if imported != module {
                out.insert((module.clone(), imported));
            }
        }
    }
    out
}

#[test]
fn the_modules_import_downward_only() {
    let layers: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let known: BTreeSet<(String, String)> = KNOWN_UPWARD
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let mut upward = BTreeSet::new();
    for (module, imported) in imports() {
        if module == imported {
            assert!(
                layers.contains_key(module.as_str()),
                "src/{module}: a module LAYERS does not place; add it where it belongs"
            );
            continue;
        }
        let allowed = layers.get(module.as_str()).unwrap_or_else(|| {
            panic!("src/{module}: a module LAYERS does not place; add it where it belongs")
        });
        if !allowed.contains(&imported.as_str()) {
            upward.insert((module, imported));
        }
    }
    let new: Vec<_> = upward.difference(&known).collect();
    assert!(
        new.is_empty(),
        "imports against the layering of ARCHITECTURE.md (module, imported): {new:?}"
    );
    let gone: Vec<_> = known.difference(&upward).collect();
    assert!(
        gone.is_empty(),
        "upward imports that are gone: strike them from KNOWN_UPWARD: {gone:?}"
    );
}

#[test]
fn the_reader_finds_paths_in_every_form() {
    let code = "use crate::codec::{a, b};\nuse crate::{LedgerError, raw::{self, X}, Result};\nlet x = crate::views::settle(1);";
    assert_eq!(
        crate_references(code),
        ["codec", "LedgerError", "raw", "Result", "views"]
    );
    assert_eq!(
        code_of("let a = 1; // crate::store\n#[cfg(test)]\nmod tests { crate::ledger }"),
        "let a = 1; "
    );
}
