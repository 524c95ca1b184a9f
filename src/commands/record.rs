//! `ledger record-response`.

use std::io::{Read, Write};

use ledger_event::Origin;
use serde_json::json;

use crate::cli::RecordResponseArgs;
use crate::context::Context;
use crate::error::{CliError, CliResult, EXIT_OK, EXIT_REJECTED};
use crate::holder::encode;

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
    // A server holding the ledger records it with its own settings; the answer is the same
    // outcome document either way.
    let outcome = match ctx.holder()? {
        Some(holder) => {
            crate::holder::note_settings(&holder, ctx, None, false)?;
            let mut target = format!(
                "/api/v1/record-response?ctid={}&origin={}",
                encode(args.ctid.trim()),
                encode(&origin)
            );
            if let Some(command) = &args.command {
                target.push_str(&format!("&command={}", encode(command)));
            }
            if let Some(domain) = &args.domain {
                target.push_str(&format!("&domain={}", encode(domain)));
            }
            holder.post_json(&target, &bytes)?
        }
        None => {
            let ledger = ctx.open_or_create(ctx.options())?;
            let outcome = ledger.record_response(
                &bytes,
                args.ctid.trim(),
                args.command.as_deref(),
                args.domain.as_deref(),
                Origin::new(origin),
            )?;
            ledger_documents::json::outcome(&outcome)
        }
    };
    let mut out = std::io::stdout().lock();
    let code = if outcome["outcome"] == "rejected" {
        EXIT_REJECTED
    } else {
        EXIT_OK
    };
    let (seq, kind) = (
        &outcome["seq"],
        outcome["kind"].as_str().unwrap_or_default(),
    );
    let reason = outcome["reason"].as_str().unwrap_or_default();
    let (of, id) = (&outcome["duplicate_of"], &outcome["reject_id"]);
    if ctx.json {
        let value = match outcome["outcome"].as_str() {
            Some("ingested") => {
                json!({"outcome": "recorded", "seq": seq, "kind": kind, "ctid": args.ctid})
            }
            Some("duplicate") => json!({"outcome": "duplicate", "duplicate_of": of}),
            _ => json!({"outcome": "rejected", "reject_id": id, "reason": reason}),
        };
        crate::output::print_json(&mut out, &value)?;
    } else {
        match outcome["outcome"].as_str() {
            Some("ingested") => {
                writeln!(out, "recorded event {seq} ({kind}) for order {}", args.ctid)?
            }
            Some("duplicate") => writeln!(out, "already recorded as event {of}: nothing new")?,
            _ => writeln!(out, "rejected: {reason} (kept as reject #{id})")?,
        }
    }
    Ok(code)
}
