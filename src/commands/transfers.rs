//! `ledger pending-transfers`.

use std::io::Write;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use ledger_documents::json;
use serde_json::Value;

use crate::cli::PendingTransfersArgs;
use crate::context::{Context, parse_duration, parse_instant};
use crate::error::{CliError, CliResult, EXIT_DUE, EXIT_OK};
use crate::holder::encode;
use crate::output::{Table, doc_cell, doc_time, human_doc_time, items};

pub fn run(ctx: &Context, args: &PendingTransfersArgs) -> CliResult {
    let at = match &args.at {
        Some(text) => parse_instant(text, ctx.tz, "--at")?,
        None => Utc::now(),
    };
    let within = |text: &Option<String>, flag: &str| -> Result<Option<Duration>, CliError> {
        text.as_deref()
            .map(|t| {
                let d = parse_duration(t, flag)?;
                Duration::from_std(d)
                    .map_err(|_| CliError::user(format!("{flag} {t:?} is too long")))
            })
            .transpose()
    };
    let due_within = within(&args.due_within, "--due-within")?;
    let fail_within = within(&args.fail_if_due_within, "--fail-if-due-within")?;

    let all = match ctx.holder()? {
        Some(holder) => {
            // The server filters by --due-within too (the same rule), so a short answer stays
            // short; the filter below then keeps all of it.
            let mut target = format!(
                "/api/v1/pending-transfers?at={}",
                encode(&at.to_rfc3339_opts(SecondsFormat::Nanos, true))
            );
            if let Some(text) = &args.due_within {
                target.push_str(&format!("&due_within={}", encode(text)));
            }
            holder.get_json(&target)?
        }
        None => {
            let ledger = ctx.open_views()?;
            // With --due-within, the library reads only the transfers due by then (its
            // deadline index), the same list the filter below keeps.
            let list = match due_within {
                Some(window) => ledger.pending_transfers_due(at, due_by_time(at, window))?,
                None => ledger.pending_transfers(at)?,
            };
            json::transfers(&list, at)
        }
    };
    // `json::due_by` on a document: a deadline at or before `by`, or none known.
    let due_by = |t: &Value, by: DateTime<Utc>| doc_time(&t["deadline_at"]).is_none_or(|d| d <= by);
    let transfers: Vec<&Value> = items(&all)
        .iter()
        .filter(|t| due_within.is_none_or(|window| due_by(t, due_by_time(at, window))))
        .collect();
    let due: Vec<&Value> = match fail_within {
        Some(window) => transfers
            .iter()
            .copied()
            .filter(|t| due_by(t, due_by_time(at, window)))
            .collect(),
        None => Vec::new(),
    };

    let mut out = std::io::stdout().lock();
    if ctx.json {
        let document = Value::Array(transfers.iter().map(|&t| t.clone()).collect());
        crate::output::print_json(&mut out, &document)?;
    } else if transfers.is_empty() {
        writeln!(
            out,
            "no pending outgoing transfers at {}",
            crate::output::human_time(at, ctx.tz)
        )?;
    } else {
        let mut table = Table::new(vec![
            "DOMAIN",
            "DEADLINE",
            "AT DEADLINE",
            "STARTED",
            "TRANSACTION",
            "",
        ]);
        for t in &transfers {
            table.row(vec![
                doc_cell(&t["domain"]),
                match &t["deadline_at"] {
                    Value::Null => "deadline unknown".into(),
                    deadline => human_doc_time(deadline, ctx.tz),
                },
                action_human(t["default_action"].as_str()).to_string(),
                human_doc_time(&t["started_at"], ctx.tz),
                doc_cell(&t["transaction"]),
                notes(t),
            ]);
        }
        table.write(&mut out)?;
    }
    if !due.is_empty() {
        let within = args.fail_if_due_within.as_deref().unwrap_or_default();
        let mut err = std::io::stderr().lock();
        for t in &due {
            let domain = doc_cell(&t["domain"]);
            let _ = match &t["deadline_at"] {
                Value::Null => writeln!(err, "{domain}: deadline unknown, act on it"),
                _ => writeln!(err, "{domain}: deadline within {within} (or overdue)"),
            };
        }
        let _ = writeln!(
            err,
            "{} pending transfer(s) due within {within} or with an unknown deadline",
            due.len()
        );
        return Ok(EXIT_DUE);
    }
    Ok(EXIT_OK)
}

/// `at + window`, or the last instant there is when that is beyond it.
fn due_by_time(at: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    at.checked_add_signed(window)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The notes of a pending transfer document for people: OVERDUE or DEADLINE UNKNOWN, then what its
/// times are worth (a DST gap or overlap, a start time that is only when it was recorded).
fn notes(t: &Value) -> String {
    let flag = |name: &str| items(&t["flags"]).iter().any(|f| f.as_str() == Some(name));
    let mut notes = Vec::new();
    if t["overdue"].as_bool() == Some(true) {
        notes.push("OVERDUE");
    } else if t["deadline_at"].is_null() {
        notes.push("DEADLINE UNKNOWN");
    }
    if flag("dst_gap") {
        notes.push("DST gap: a time read one hour later");
    }
    if flag("dst_overlap") {
        notes.push("DST overlap: the earlier instant taken");
    }
    if flag("time_recorded") {
        notes.push("time: recorded");
    }
    notes.join("; ")
}

/// The `default_action` of a transfer document (`ack`, `nack`, `null`) for people.
fn action_human(action: Option<&str>) -> &'static str {
    match action {
        Some("ack") => "auto-ACK: domain leaves",
        Some("nack") => "auto-NACK: domain stays",
        _ => "unknown",
    }
}
