//! The read commands over projections: `failed-creates`, `orders`, `inventory`, `rejects`,
//! `stats`. Each gets its document from the ledger's server when one holds the ledger, else
//! from the ledger itself, and renders its table from that document.

use std::io::Write;

use ledger::OrderState;
use ledger_documents::json;
use serde_json::Value;

use crate::cli::{FailedCreatesArgs, OrderStatusArg, OrdersArgs, RejectsArgs};
use crate::context::Context;
use crate::error::{CliResult, EXIT_OK};
use crate::output::{Table, doc_cell, human_doc_time, items, status_doc};

pub fn failed_creates(ctx: &Context, args: &FailedCreatesArgs) -> CliResult {
    let document = match ctx.holder()? {
        Some(holder) => holder.get_json(&format!("/api/v1/failed-creates?all={}", args.all))?,
        None => {
            let mut failed = ctx.open_views()?.failed_creates()?;
            if !args.all {
                failed.retain(|f| f.resolved_by.is_none());
            }
            json::failed_creates(&failed)
        }
    };
    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(&mut out, &document)?;
    } else if items(&document).is_empty() {
        writeln!(out, "no failed creates")?;
    } else {
        let mut table = Table::new(vec![
            "SEQ",
            "FAILED",
            "CTID",
            "DOMAIN",
            "STATUS",
            "ERROR",
            "RESOLVED BY",
        ]);
        for f in items(&document) {
            table.row(vec![
                doc_cell(&f["seq"]),
                human_doc_time(&f["failed_at"], ctx.tz),
                doc_cell(&f["ctid"]),
                doc_cell(&f["domain"]),
                status_doc(&f["status"]),
                doc_cell(&f["error"]),
                match &f["resolved_by"] {
                    Value::Null => "-".into(),
                    seq => format!("event {seq}"),
                },
            ]);
        }
        table.write(&mut out)?;
    }
    Ok(EXIT_OK)
}

/// The name `orders --status` and `GET /api/v1/orders?status=` give a state.
fn status_name(status: &OrderStatusArg) -> &'static str {
    match status {
        OrderStatusArg::InProgress => "in-progress",
        OrderStatusArg::Succeeded => "succeeded",
        OrderStatusArg::Failed => "failed",
        OrderStatusArg::Resubmit => "resubmit",
    }
}

pub fn orders(ctx: &Context, args: &OrdersArgs) -> CliResult {
    let document = match ctx.holder()? {
        Some(holder) => {
            let names: Vec<&str> = args.status.iter().map(status_name).collect();
            holder.get_json(&format!("/api/v1/orders?status={}", names.join(",")))?
        }
        None => {
            let wanted = |state: OrderState| {
                args.status.is_empty()
                    || args.status.iter().any(|s| match s {
                        OrderStatusArg::InProgress => state == OrderState::InProgress,
                        OrderStatusArg::Succeeded => state == OrderState::Succeeded,
                        OrderStatusArg::Failed => state == OrderState::Failed,
                        OrderStatusArg::Resubmit => state == OrderState::Resubmit,
                    })
            };
            let orders: Vec<_> = ctx
                .open_views()?
                .orders()?
                .into_iter()
                .filter(|o| wanted(o.state))
                .collect();
            json::orders(&orders)
        }
    };
    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(&mut out, &document)?;
    } else if items(&document).is_empty() {
        writeln!(out, "no orders")?;
    } else {
        let mut table = Table::new(vec!["CTID", "STATE", "LAST STATUS", "DOMAIN", "EVENTS"]);
        for o in items(&document) {
            table.row(vec![
                doc_cell(&o["ctid"]),
                doc_cell(&o["state"]),
                status_doc(&o["last_status"]),
                doc_cell(&o["domain"]),
                doc_cell(&o["events"]),
            ]);
        }
        table.write(&mut out)?;
    }
    Ok(EXIT_OK)
}

pub fn inventory(ctx: &Context) -> CliResult {
    let document = match ctx.holder()? {
        Some(holder) => holder.get_json("/api/v1/inventory")?,
        None => json::inventory(&ctx.open_views()?.inventory()?),
    };
    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(&mut out, &document)?;
        return Ok(EXIT_OK);
    }
    let departed = items(&document["departed"]);
    writeln!(out, "domains that left ({}):", departed.len())?;
    let mut table = Table::new(vec!["DOMAIN", "WHY", "WHEN", "SEQ"]);
    for d in departed {
        table.row(vec![
            doc_cell(&d["domain"]),
            d["reason"].as_str().unwrap_or_default().to_string(),
            human_doc_time(&d["at"], ctx.tz),
            doc_cell(&d["seq"]),
        ]);
    }
    table.write(&mut out)?;
    let imports = items(&document["owner_c_imports"]);
    writeln!(out, "\nOwnerC imports ({}):", imports.len())?;
    let mut table = Table::new(vec!["DOMAIN", "CTID", "NEW OWNER-C", "WHEN", "SEQ"]);
    for o in imports {
        table.row(vec![
            doc_cell(&o["domain"]),
            doc_cell(&o["ctid"]),
            doc_cell(&o["owner_c"]),
            human_doc_time(&o["at"], ctx.tz),
            doc_cell(&o["seq"]),
        ]);
    }
    table.write(&mut out)?;
    Ok(EXIT_OK)
}

pub fn rejects(ctx: &Context, args: &RejectsArgs) -> CliResult {
    // Every reject, dismissed ones too: the human form counts those it does not list.
    let every = match ctx.holder()? {
        Some(holder) => holder.get_json("/api/v1/rejects?all=true")?,
        None => json::rejects(&ctx.open_existing()?.quarantine()?),
    };
    let dismissed = items(&every)
        .iter()
        .filter(|e| !e["dismissed"].is_null())
        .count();
    let entries: Vec<&Value> = items(&every)
        .iter()
        .filter(|e| args.all || e["dismissed"].is_null())
        .collect();
    let mut out = std::io::stdout().lock();
    if ctx.json {
        let document = Value::Array(entries.iter().map(|&e| e.clone()).collect());
        crate::output::print_json(&mut out, &document)?;
    } else {
        if entries.is_empty() {
            writeln!(out, "no rejected input")?;
        } else {
            let mut table = Table::new(vec!["ID", "RECEIVED", "ORIGIN", "SIZE", "REASON"]);
            for e in &entries {
                let why = e["reason"].as_str().unwrap_or_default();
                let reason = match &e["dismissed"] {
                    Value::Null => why.to_string(),
                    d => format!(
                        "dismissed: {} ({why})",
                        d["reason"].as_str().unwrap_or_default()
                    ),
                };
                table.row(vec![
                    doc_cell(&e["id"]),
                    human_doc_time(&e["received_at"], ctx.tz),
                    doc_cell(&e["origin"]),
                    doc_cell(&e["size"]),
                    reason,
                ]);
            }
            table.write(&mut out)?;
        }
        if dismissed > 0 && !args.all {
            writeln!(
                out,
                "{dismissed} dismissed rejects not listed (--all lists them)"
            )?;
        }
    }
    Ok(EXIT_OK)
}

pub fn stats(ctx: &Context) -> CliResult {
    let document = match ctx.holder()? {
        Some(holder) => holder.get_json("/api/v1/stats")?,
        None => json::stats(&ctx.open_existing()?.stats()?),
    };
    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(&mut out, &document)?;
        return Ok(EXIT_OK);
    }
    let count = |key: &str| document[key].as_u64().unwrap_or_default();
    writeln!(out, "ledger            {}", ctx.db.display())?;
    writeln!(out, "events            {}", count("events"))?;
    writeln!(out, "rejected input    {}", count("quarantined"))?;
    writeln!(out, "orders            {}", count("orders"))?;
    writeln!(out, "pending transfers {}", count("pending_transfers"))?;
    writeln!(out, "failed creates    {}", count("failed_creates"))?;
    writeln!(out, "disk              {} bytes", count("disk_bytes"))?;
    if let Some(per_event) = count("disk_bytes").checked_div(count("events")) {
        writeln!(out, "disk per event    {per_event} bytes")?;
    }
    for pair in items(&document["kinds"]) {
        let kind = pair[0].as_str().unwrap_or_default();
        let n = pair[1].as_u64().unwrap_or_default();
        writeln!(out, "  {kind:<28} {n}")?;
    }
    Ok(EXIT_OK)
}
