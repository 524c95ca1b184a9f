//! `ledger show --ctid` / `ledger show --domain`.

use std::io::Write;

use chrono::Utc;
use ledger_documents::json;
use serde_json::Value;

use crate::cli::ShowArgs;
use crate::context::Context;
use crate::error::{CliError, CliResult, EXIT_OK};
use crate::holder::encode;
use crate::output::{Table, doc_cell, human_doc_time, items, status_doc};

pub fn run(ctx: &Context, args: &ShowArgs) -> CliResult {
    if let Some(ctid) = &args.ctid {
        let document = match ctx.holder()? {
            Some(holder) => holder.get_json(&format!("/api/v1/ctid/{}", encode(ctid)))?,
            None => {
                let ledger = ctx.open_existing()?;
                let events = json::oldest_first(ledger.events_by_ctid(ctid)?);
                if events.is_empty() {
                    return Err(CliError::user(format!(
                        "no events for order (ctid) {ctid:?}"
                    )));
                }
                let order = ledger.order(ctid)?;
                json::order_history(ctid, order.as_ref(), &events)
            }
        };
        let mut out = std::io::stdout().lock();
        if ctx.json {
            crate::output::print_json(&mut out, &document)?;
        } else {
            writeln!(out, "order {ctid}")?;
            let state = &document["state"];
            match state["state"].as_str() {
                Some(name) => writeln!(
                    out,
                    "state: {name} (last status {}{})",
                    status_doc(&state["last_status"]),
                    state["domain"]
                        .as_str()
                        .map(|d| format!(", domain {d}"))
                        .unwrap_or_default()
                )?,
                None => writeln!(
                    out,
                    "state: not an order (transfer-out notifications carry AutoDNS's own transaction)"
                )?,
            }
            writeln!(out)?;
            history(ctx, &document["events"], &mut out)?;
        }
        return Ok(EXIT_OK);
    }
    let Some(name) = &args.domain else {
        return Err(CliError::user("give --ctid ID or --domain NAME"));
    };
    let domain = ledger_parser::DomainName::parse(name)
        .ok_or_else(|| CliError::user(format!("{name:?} is not a domain name")))?;
    let document = match ctx.holder()? {
        Some(holder) => holder.get_json(&format!("/api/v1/domain/{}", encode(domain.as_str())))?,
        None => {
            let ledger = ctx.open_existing()?;
            let events = json::oldest_first(ledger.events_by_domain(domain.as_str())?);
            if events.is_empty() {
                return Err(CliError::user(format!("no events for domain {domain}")));
            }
            let now = Utc::now();
            let state = ledger.domain_state(domain.as_str(), now)?;
            json::domain_history(&domain, &state, &events, now)
        }
    };
    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(&mut out, &document)?;
    } else {
        writeln!(out, "domain {domain}")?;
        for (key, value) in document["state"].as_object().into_iter().flatten() {
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            writeln!(out, "{key}: {text}")?;
        }
        writeln!(out)?;
        history(ctx, &document["events"], &mut out)?;
    }
    Ok(EXIT_OK)
}

/// The history table of a history document's events (oldest first).
fn history(ctx: &Context, events: &Value, out: &mut impl Write) -> std::io::Result<()> {
    let mut table = Table::new(vec![
        "SEQ", "OCCURRED", "KIND", "STATUS", "CTID", "DOMAIN", "NOTICES", "FLAGS",
    ]);
    for e in items(events) {
        let notices: Vec<&str> = items(&e["notices"])
            .iter()
            .filter_map(|n| n["code"].as_str())
            .collect();
        let occurred = match &e["occurred_at"] {
            Value::Null => format!(
                "{} (time: recorded)",
                human_doc_time(&e["recorded_at"], ctx.tz)
            ),
            t => human_doc_time(t, ctx.tz),
        };
        let flags: Vec<&str> = items(&e["flags"])
            .iter()
            .filter_map(|flag| match flag.as_str() {
                Some("dst_gap") => Some("DST gap"),
                Some("dst_overlap") => Some("DST overlap"),
                // Said in the OCCURRED column.
                _ => None,
            })
            .collect();
        table.row(vec![
            doc_cell(&e["seq"]),
            occurred,
            doc_cell(&e["kind"]),
            status_doc(&e["status"]),
            doc_cell(&e["ctid"]),
            doc_cell(&e["domain"]),
            notices.join(","),
            flags.join(", "),
        ]);
    }
    table.write(out)
}
