//! `ledger show --ctid` / `ledger show --domain`.

use std::io::Write;

use chrono::Utc;
use ledger_documents::json;
use ledger_event::Event;
use serde_json::Value;

use crate::cli::ShowArgs;
use crate::context::Context;
use crate::error::{CliError, CliResult, EXIT_OK};
use crate::output::{Table, cell, human_time, status_human};

pub fn run(ctx: &Context, args: &ShowArgs) -> CliResult {
    let ledger = ctx.open_existing()?;
    let mut out = std::io::stdout().lock();
    if let Some(ctid) = &args.ctid {
        let events = json::oldest_first(ledger.events_by_ctid(ctid)?);
        if events.is_empty() {
            return Err(CliError::user(format!(
                "no events for order (ctid) {ctid:?}"
            )));
        }
        let order = ledger.order(ctid)?;
        if ctx.json {
            let value = json::order_history(ctid, order.as_ref(), &events);
            crate::output::print_json(&mut out, &value)?;
        } else {
            writeln!(out, "order {ctid}")?;
            match &order {
                Some(o) => writeln!(
                    out,
                    "state: {} (last status {}{})",
                    o.state.name(),
                    status_human(o.last_status.as_ref()),
                    o.domain
                        .as_deref()
                        .map(|d| format!(", domain {d}"))
                        .unwrap_or_default()
                )?,
                None => writeln!(
                    out,
                    "state: not an order (transfer-out notifications carry AutoDNS's own transaction)"
                )?,
            }
            writeln!(out)?;
            history(ctx, &events, &mut out)?;
        }
        return Ok(EXIT_OK);
    }
    let Some(name) = &args.domain else {
        return Err(CliError::user("give --ctid ID or --domain NAME"));
    };
    let domain = ledger_parser::DomainName::parse(name)
        .ok_or_else(|| CliError::user(format!("{name:?} is not a domain name")))?;
    let events = json::oldest_first(ledger.events_by_domain(domain.as_str())?);
    if events.is_empty() {
        return Err(CliError::user(format!("no events for domain {domain}")));
    }
    let now = Utc::now();
    let state = ledger.domain_state(domain.as_str(), now)?;
    if ctx.json {
        let value = json::domain_history(&domain, &state, &events, now);
        crate::output::print_json(&mut out, &value)?;
    } else {
        let state = json::domain_state(&state, &events, now);
        writeln!(out, "domain {domain}")?;
        for (key, value) in state.as_object().into_iter().flatten() {
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            writeln!(out, "{key}: {text}")?;
        }
        writeln!(out)?;
        history(ctx, &events, &mut out)?;
    }
    Ok(EXIT_OK)
}

/// The history table: oldest first.
fn history(ctx: &Context, events: &[Event], out: &mut impl Write) -> std::io::Result<()> {
    let mut table = Table::new(vec![
        "SEQ", "OCCURRED", "KIND", "STATUS", "CTID", "DOMAIN", "NOTICES", "FLAGS",
    ]);
    for e in events {
        let notices: Vec<&str> = e
            .notification
            .notices
            .iter()
            .map(|n| n.code.as_str())
            .collect();
        let occurred = match e.occurred_at {
            Some(t) => human_time(t, ctx.tz),
            None => format!("{} (time: recorded)", human_time(e.recorded_at, ctx.tz)),
        };
        let flags: Vec<&str> = json::event_flags(e)
            .into_iter()
            .filter_map(|flag| match flag {
                "dst_gap" => Some("DST gap"),
                "dst_overlap" => Some("DST overlap"),
                // Said in the OCCURRED column.
                _ => None,
            })
            .collect();
        table.row(vec![
            e.seq.to_string(),
            occurred,
            e.kind.name().to_string(),
            status_human(e.status()),
            cell(e.ctid.as_deref()),
            cell(e.domain.as_deref()),
            notices.join(","),
            flags.join(", "),
        ]);
    }
    table.write(out)
}
