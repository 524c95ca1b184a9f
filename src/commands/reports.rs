//! The read commands over projections: `failed-creates`, `orders`, `inventory`, `rejects`,
//! `stats`.

use std::io::Write;

use ledger::OrderState;
use ledger_documents::json;

use crate::cli::{FailedCreatesArgs, OrderStatusArg, OrdersArgs, RejectsArgs};
use crate::context::Context;
use crate::error::{CliResult, EXIT_OK};
use crate::output::{Table, cell, human_time, status_human};

pub fn failed_creates(ctx: &Context, args: &FailedCreatesArgs) -> CliResult {
    let ledger = ctx.open_views()?;
    let mut failed = ledger.failed_creates()?;
    if !args.all {
        failed.retain(|f| f.resolved_by.is_none());
    }
    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(&mut out, &json::failed_creates(&failed))?;
    } else if failed.is_empty() {
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
        for f in &failed {
            table.row(vec![
                f.seq.to_string(),
                human_time(f.failed_at, ctx.tz),
                cell(f.ctid.as_deref()),
                cell(f.domain.as_deref()),
                status_human(f.status.as_ref()),
                cell(f.error.as_deref()),
                f.resolved_by
                    .map_or_else(|| "-".into(), |s| format!("event {s}")),
            ]);
        }
        table.write(&mut out)?;
    }
    Ok(EXIT_OK)
}

pub fn orders(ctx: &Context, args: &OrdersArgs) -> CliResult {
    let ledger = ctx.open_views()?;
    let wanted = |state: OrderState| {
        args.status.is_empty()
            || args.status.iter().any(|s| match s {
                OrderStatusArg::InProgress => state == OrderState::InProgress,
                OrderStatusArg::Succeeded => state == OrderState::Succeeded,
                OrderStatusArg::Failed => state == OrderState::Failed,
                OrderStatusArg::Resubmit => state == OrderState::Resubmit,
            })
    };
    let orders: Vec<_> = ledger
        .orders()?
        .into_iter()
        .filter(|o| wanted(o.state))
        .collect();
    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(&mut out, &json::orders(&orders))?;
    } else if orders.is_empty() {
        writeln!(out, "no orders")?;
    } else {
        let mut table = Table::new(vec!["CTID", "STATE", "LAST STATUS", "DOMAIN", "EVENTS"]);
        for o in &orders {
            table.row(vec![
                o.ctid.clone(),
                o.state.name().to_string(),
                status_human(o.last_status.as_ref()),
                cell(o.domain.as_deref()),
                o.events.to_string(),
            ]);
        }
        table.write(&mut out)?;
    }
    Ok(EXIT_OK)
}

pub fn inventory(ctx: &Context) -> CliResult {
    let ledger = ctx.open_views()?;
    let inventory = ledger.inventory()?;
    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(&mut out, &json::inventory(&inventory))?;
        return Ok(EXIT_OK);
    }
    writeln!(out, "domains that left ({}):", inventory.departed.len())?;
    let mut table = Table::new(vec!["DOMAIN", "WHY", "WHEN", "SEQ"]);
    for d in &inventory.departed {
        let why = serde_json::to_value(d.reason)
            .ok()
            .and_then(|v| v.as_str().map(String::from));
        table.row(vec![
            d.domain.clone(),
            why.unwrap_or_default(),
            human_time(d.at, ctx.tz),
            d.seq.to_string(),
        ]);
    }
    table.write(&mut out)?;
    writeln!(
        out,
        "\nOwnerC imports ({}):",
        inventory.owner_c_imports.len()
    )?;
    let mut table = Table::new(vec!["DOMAIN", "CTID", "NEW OWNER-C", "WHEN", "SEQ"]);
    for o in &inventory.owner_c_imports {
        table.row(vec![
            cell(o.domain.as_deref()),
            cell(o.ctid.as_deref()),
            cell(o.owner_c.as_deref()),
            human_time(o.at, ctx.tz),
            o.seq.to_string(),
        ]);
    }
    table.write(&mut out)?;
    Ok(EXIT_OK)
}

pub fn rejects(ctx: &Context, args: &RejectsArgs) -> CliResult {
    let ledger = ctx.open_existing()?;
    let mut entries = ledger.quarantine()?;
    let dismissed = entries.iter().filter(|e| e.dismissed.is_some()).count();
    if !args.all {
        entries.retain(|e| e.dismissed.is_none());
    }
    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(&mut out, &json::rejects(&entries))?;
    } else {
        if entries.is_empty() {
            writeln!(out, "no rejected input")?;
        } else {
            let mut table = Table::new(vec!["ID", "RECEIVED", "ORIGIN", "SIZE", "REASON"]);
            for e in &entries {
                let reason = match &e.dismissed {
                    Some(d) => format!(
                        "dismissed: {} ({})",
                        d.reason,
                        json::reject_reason(&e.reason)
                    ),
                    None => json::reject_reason(&e.reason),
                };
                table.row(vec![
                    e.id.to_string(),
                    human_time(e.received_at, ctx.tz),
                    e.origin.0.clone(),
                    e.size.to_string(),
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
    let ledger = ctx.open_existing()?;
    let stats = ledger.stats()?;
    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(&mut out, &json::stats(&stats))?;
        return Ok(EXIT_OK);
    }
    writeln!(out, "ledger            {}", ctx.db.display())?;
    writeln!(out, "events            {}", stats.events)?;
    writeln!(out, "rejected input    {}", stats.quarantined)?;
    writeln!(out, "orders            {}", stats.orders)?;
    writeln!(out, "pending transfers {}", stats.pending_transfers)?;
    writeln!(out, "failed creates    {}", stats.failed_creates)?;
    writeln!(out, "disk              {} bytes", stats.disk_bytes)?;
    if let Some(per_event) = stats.disk_bytes.checked_div(stats.events) {
        writeln!(out, "disk per event    {per_event} bytes")?;
    }
    for (kind, count) in &stats.kinds {
        writeln!(out, "  {kind:<28} {count}")?;
    }
    Ok(EXIT_OK)
}
