//! `ledger pending-transfers`.

use std::io::Write;

use chrono::{Duration, Utc};
use ledger::{DefaultAction, PendingTransfer};
use ledger_documents::json::{self, due_by};

use crate::cli::PendingTransfersArgs;
use crate::context::{Context, parse_duration, parse_instant};
use crate::error::{CliError, CliResult, EXIT_DUE, EXIT_OK};
use crate::output::{Table, cell, human_opt};

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

    let ledger = ctx.open_views()?;
    let mut transfers = ledger.pending_transfers(at)?;
    if let Some(window) = due_within {
        transfers.retain(|t| due_by(t, at + window));
    }
    let due: Vec<&PendingTransfer> = match fail_within {
        Some(window) => transfers
            .iter()
            .filter(|t| due_by(t, at + window))
            .collect(),
        None => Vec::new(),
    };

    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(&mut out, &json::transfers(&transfers, at))?;
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
                t.domain.clone(),
                match t.deadline_at {
                    Some(_) => human_opt(t.deadline_at, ctx.tz),
                    None => "deadline unknown".into(),
                },
                action_human(t.default_action).to_string(),
                human_opt(t.started_at, ctx.tz),
                cell(t.transaction.as_deref()),
                notes(t, at),
            ]);
        }
        table.write(&mut out)?;
    }
    if !due.is_empty() {
        let within = args.fail_if_due_within.as_deref().unwrap_or_default();
        let mut err = std::io::stderr().lock();
        for t in &due {
            let _ = match t.deadline_at {
                Some(_) => writeln!(err, "{}: deadline within {within} (or overdue)", t.domain),
                None => writeln!(err, "{}: deadline unknown, act on it", t.domain),
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

/// The notes of a pending transfer for people: OVERDUE or DEADLINE UNKNOWN, then what its
/// times are worth (a DST gap or overlap, a start time that is only when it was recorded).
fn notes(t: &PendingTransfer, at: chrono::DateTime<Utc>) -> String {
    let mut notes = Vec::new();
    if t.overdue(at) {
        notes.push("OVERDUE");
    } else if t.deadline_at.is_none() {
        notes.push("DEADLINE UNKNOWN");
    }
    if t.dst_gap {
        notes.push("DST gap: a time read one hour later");
    }
    if t.dst_overlap {
        notes.push("DST overlap: the earlier instant taken");
    }
    if t.time_recorded {
        notes.push("time: recorded");
    }
    notes.join("; ")
}

fn action_human(action: Option<DefaultAction>) -> &'static str {
    match action {
        Some(DefaultAction::Ack) => "auto-ACK: domain leaves",
        Some(DefaultAction::Nack) => "auto-NACK: domain stays",
        None => "unknown",
    }
}
