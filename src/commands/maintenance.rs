//! Commands over the whole log: `reparse`, `export`, `rebuild`, `verify`.

use std::io::Write;

use serde_json::json;

use ledger::IngestOutcome;

use crate::cli::{ExportArgs, ReleaseArgs, ReparseArgs};
use crate::context::Context;
use crate::error::{CliResult, EXIT_OK, EXIT_REJECTED, EXIT_VERIFY_FAILED};

pub fn reparse(ctx: &Context, args: &ReparseArgs) -> CliResult {
    let mut options = ctx.options_with_trust()?;
    options.max_input_size = args.max_size;
    let ledger = ctx.open_existing_with(options)?;
    let report = ledger.reparse()?;
    let mut out = std::io::stdout().lock();
    if ctx.json {
        let value = serde_json::to_value(&report).map_err(std::io::Error::other)?;
        crate::output::print_json(&mut out, &value)?;
    } else {
        writeln!(
            out,
            "re-read {} rejected items: {} became events, {} were duplicates, {} still rejected",
            report.tried, report.appended, report.duplicates, report.still_rejected
        )?;
        if report.dismissed > 0 {
            writeln!(out, "{} dismissed rejects not re-read", report.dismissed)?;
        }
    }
    Ok(if report.still_rejected > 0 {
        EXIT_REJECTED
    } else {
        EXIT_OK
    })
}

/// `ledger rejects --dismiss ID --reason TEXT`.
pub fn dismiss(ctx: &Context, id: u64, reason: &str) -> CliResult {
    let ledger = ctx.open_existing()?;
    let entry = ledger.dismiss(id, reason)?;
    let mut out = std::io::stdout().lock();
    let dismissal = entry.dismissed.as_ref();
    if ctx.json {
        let value = json!({
            "id": entry.id,
            "dismissed": dismissal.map(|d| json!({"reason": d.reason, "at": ledger_documents::json::rfc3339(d.at)})),
        });
        crate::output::print_json(&mut out, &value)?;
    } else if let Some(d) = dismissal {
        writeln!(
            out,
            "dismissed reject #{id} ({}): {} (at {})",
            entry.origin,
            d.reason,
            crate::output::human_time(d.at, ctx.tz)
        )?;
    }
    Ok(EXIT_OK)
}

pub fn release(ctx: &Context, args: &ReleaseArgs) -> CliResult {
    // Release skips the trust check for the items it vouches for, but a broken policy stops it
    // like every write that the policy governs: fix the policy first.
    let ledger = ctx.open_existing_with(ctx.options_with_trust()?)?;
    let mut out = std::io::stdout().lock();
    let mut results = Vec::new();
    let mut still_rejected = false;
    for &id in &args.ids {
        let outcome = ledger.release(id)?;
        still_rejected |= matches!(outcome, IngestOutcome::Rejected { .. });
        if ctx.json {
            results.push(json!({"id": id, "result": outcome}));
        } else {
            match outcome {
                IngestOutcome::Appended { seq, kind } => {
                    writeln!(out, "released reject #{id}: event {seq} ({kind})")?
                }
                IngestOutcome::Duplicate { of } => writeln!(
                    out,
                    "released reject #{id}: already in the log as event {of}"
                )?,
                IngestOutcome::Rejected { reason, .. } => {
                    writeln!(out, "reject #{id} stays: {reason}")?
                }
            }
        }
    }
    if ctx.json {
        crate::output::print_json(&mut out, &serde_json::Value::Array(results))?;
    }
    Ok(if still_rejected {
        EXIT_REJECTED
    } else {
        EXIT_OK
    })
}

pub fn export(ctx: &Context, args: &ExportArgs) -> CliResult {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // The server's change feed is the same lines.
    if let Some(holder) = ctx.holder()? {
        holder.get_to(&format!("/api/v1/events?since={}", args.since), &mut out)?;
        out.flush()?;
        return Ok(EXIT_OK);
    }
    let ledger = ctx.open_existing()?;
    for event in ledger.export(args.since) {
        let event = event?;
        serde_json::to_writer(&mut out, &ledger_documents::json::event(&event))
            .map_err(std::io::Error::other)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(EXIT_OK)
}

pub fn rebuild(ctx: &Context) -> CliResult {
    let ledger = ctx.open_existing()?;
    let report = ledger.rebuild()?;
    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(
            &mut out,
            &json!({"events": report.events, "elapsed_ms": report.elapsed_ms}),
        )?;
    } else {
        writeln!(
            out,
            "rebuilt every projection from {} events in {} ms",
            report.events, report.elapsed_ms
        )?;
    }
    Ok(EXIT_OK)
}

pub fn verify(ctx: &Context) -> CliResult {
    let ledger = ctx.open_existing()?;
    let report = ledger.verify()?;
    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(
            &mut out,
            &json!({"events": report.events, "clean": report.is_clean(), "problems": report.problems}),
        )?;
    } else if report.is_clean() {
        writeln!(
            out,
            "verified {} events: indexes and projections match a fresh fold of the log",
            report.events
        )?;
    } else {
        writeln!(
            out,
            "verified {} events: {} problems",
            report.events,
            report.problems.len()
        )?;
        for p in &report.problems {
            writeln!(out, "  {p}")?;
        }
    }
    Ok(if report.is_clean() {
        EXIT_OK
    } else {
        EXIT_VERIFY_FAILED
    })
}
