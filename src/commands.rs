//! One module per command; each turns parsed flags into library calls and prints the answer.

mod fetch;
mod ingest;
mod init;
mod maintenance;
mod poll;
mod record;
mod reports;
mod serve;
mod show;
pub mod transfers;

use crate::cli::Command;
use crate::context::Context;
use crate::error::CliResult;

/// Runs a command.
pub fn run(ctx: &Context, command: Command) -> CliResult {
    // Commands that write with the trust policy read it themselves and stop on a fault in it;
    // the others only warn, so a cron job that reads keeps answering.
    if !matches!(
        command,
        Command::Init
            | Command::Ingest(_)
            | Command::Reparse(_)
            | Command::Release(_)
            | Command::Serve(_)
            | Command::Poll(_)
            | Command::Fetch(_)
    ) {
        ctx.warn_about_trust_policy();
    }
    match command {
        Command::Init => init::run(ctx),
        Command::Ingest(args) => ingest::run(ctx, &args),
        Command::RecordResponse(args) => record::run(ctx, &args),
        Command::Show(args) => show::run(ctx, &args),
        Command::PendingTransfers(args) => transfers::run(ctx, &args),
        Command::FailedCreates(args) => reports::failed_creates(ctx, &args),
        Command::Orders(args) => reports::orders(ctx, &args),
        Command::Inventory => reports::inventory(ctx),
        Command::Rejects(args) => match (args.dismiss, &args.reason) {
            (Some(id), Some(reason)) => maintenance::dismiss(ctx, id, reason),
            _ => reports::rejects(ctx, &args),
        },
        Command::Stats => reports::stats(ctx),
        Command::Reparse(args) => maintenance::reparse(ctx, &args),
        Command::Release(args) => maintenance::release(ctx, &args),
        Command::Export(args) => maintenance::export(ctx, &args),
        Command::Poll(crate::cli::PollCommand::Autodns(args)) => poll::autodns(ctx, &args),
        Command::Fetch(args) => fetch::run(ctx, &args),
        Command::Rebuild => maintenance::rebuild(ctx),
        Command::Verify => maintenance::verify(ctx),
        Command::Serve(args) => serve::run(ctx, &args),
    }
}
