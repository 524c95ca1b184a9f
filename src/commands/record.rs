//! `ledger record-response`.

use std::io::{Read, Write};

use ledger::IngestOutcome;
use ledger_event::Origin;
use serde_json::json;

use crate::cli::RecordResponseArgs;
use crate::context::Context;
use crate::error::{CliError, CliResult, EXIT_OK, EXIT_REJECTED};

pub fn run(ctx: &Context, args: &RecordResponseArgs) -> CliResult {
    if args.ctid.trim().is_empty() {
        return Err(CliError::user("--ctid must not be empty"));
    }
    let limit = ledger_parser::DEFAULT_MAX_SIZE as u64 + 1;
    let mut bytes = Vec::new();
    let origin = match args.file.as_deref().filter(|p| p.as_os_str() != "-") {
        None => {
            std::io::stdin()
                .lock()
                .take(limit)
                .read_to_end(&mut bytes)
                .map_err(|e| CliError::environment(format!("reading standard input: {e}")))?;
            "-".to_string()
        }
        Some(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| CliError::user(format!("cannot read {}: {e}", path.display())))?;
            file.take(limit)
                .read_to_end(&mut bytes)
                .map_err(|e| CliError::environment(format!("reading {}: {e}", path.display())))?;
            path.display().to_string()
        }
    };
    let ledger = ctx.open_or_create(ctx.options())?;
    let outcome = ledger.record_response(
        &bytes,
        args.ctid.trim(),
        args.command.as_deref(),
        args.domain.as_deref(),
        Origin::new(origin),
    )?;
    let mut out = std::io::stdout().lock();
    let code = if matches!(outcome, IngestOutcome::Rejected { .. }) {
        EXIT_REJECTED
    } else {
        EXIT_OK
    };
    if ctx.json {
        let value = match &outcome {
            IngestOutcome::Appended { seq, kind } => {
                json!({"outcome": "recorded", "seq": seq, "kind": kind.name(), "ctid": args.ctid})
            }
            IngestOutcome::Duplicate { of } => json!({"outcome": "duplicate", "duplicate_of": of}),
            IngestOutcome::Rejected { id, reason } => {
                json!({"outcome": "rejected", "reject_id": id, "reason": reason})
            }
        };
        crate::output::print_json(&mut out, &value)?;
    } else {
        match &outcome {
            IngestOutcome::Appended { seq, kind } => {
                writeln!(out, "recorded event {seq} ({kind}) for order {}", args.ctid)?
            }
            IngestOutcome::Duplicate { of } => {
                writeln!(out, "already recorded as event {of}: nothing new")?
            }
            IngestOutcome::Rejected { id, reason } => {
                writeln!(out, "rejected: {reason} (kept as reject #{id})")?
            }
        }
    }
    Ok(code)
}
