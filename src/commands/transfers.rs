//! `ledger pending-transfers`.

use std::io::Write;

use chrono::{Duration, Utc};
use ledger::{DefaultAction, PendingTransfer};
use serde_json::{Value, json};

use crate::cli::PendingTransfersArgs;
use crate::context::{Context, parse_duration, parse_instant};
use crate::error::{CliError, CliResult, EXIT_DUE, EXIT_OK};
use crate::output::{Table, cell, human_opt, json_time};

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
        transfers.retain(|t| t.deadline_at.is_some_and(|d| d <= at + window));
    }
    let due = fail_within.is_some_and(|window| {
        transfers
            .iter()
            .any(|t| t.deadline_at.is_some_and(|d| d <= at + window))
    });

    let mut out = std::io::stdout().lock();
    if ctx.json {
        let items: Vec<Value> = transfers.iter().map(|t| transfer_json(t, at)).collect();
        crate::output::print_json(&mut out, &Value::Array(items))?;
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
                human_opt(t.deadline_at, ctx.tz),
                action_human(t.default_action).to_string(),
                human_opt(t.started_at, ctx.tz),
                cell(t.transaction.as_deref()),
                if t.overdue(at) {
                    "OVERDUE".into()
                } else {
                    String::new()
                },
            ]);
        }
        table.write(&mut out)?;
    }
    if due {
        let _ = writeln!(
            std::io::stderr(),
            "a pending transfer's deadline is within {}",
            args.fail_if_due_within.as_deref().unwrap_or_default()
        );
        return Ok(EXIT_DUE);
    }
    Ok(EXIT_OK)
}

fn action_human(action: Option<DefaultAction>) -> &'static str {
    match action {
        Some(DefaultAction::Ack) => "auto-ACK: domain leaves",
        Some(DefaultAction::Nack) => "auto-NACK: domain stays",
        None => "unknown",
    }
}

/// A pending transfer as JSON, as the README's contract says.
pub fn transfer_json(t: &PendingTransfer, at: chrono::DateTime<Utc>) -> Value {
    json!({
        "domain": t.domain,
        "transaction": t.transaction,
        "started_at": json_time(t.started_at),
        "reminder_at": json_time(t.reminder_at),
        "deadline_at": json_time(t.deadline_at),
        "default_action": t.default_action.map(|a| match a { DefaultAction::Ack => "ack", DefaultAction::Nack => "nack" }),
        "end_at": json_time(t.end_at),
        "overdue": t.overdue(at),
        "seq": t.seq,
    })
}
