//! The JSON documents of the ledger, one serializer for the CLI's `--json` and the HTTP API,
//! and the value formats people write (instants, durations).
//!
//! ```
//! use ledger_documents::values::parse_duration;
//! assert_eq!(parse_duration("48h").unwrap().as_secs(), 48 * 3600);
//! assert!(parse_duration("-5h").is_err());
//! ```

#![warn(missing_docs)]

pub mod json;
pub mod values;
