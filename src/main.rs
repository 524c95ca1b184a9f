//! `ledger`: the command line over the `ledger` library. Flag definitions and glue only: the
//! work is done in `crates/`.

mod cli;
mod commands;
mod context;
mod error;
mod input;
mod output;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::error::{EXIT_OK, EXIT_USAGE};

/// jemalloc instead of glibc's malloc: ingest and rebuild allocate and free millions of small
/// strings (parsed fields, decoded events); see BENCHMARKS.md for what it changed.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    let result =
        context::Context::from_global(&cli.global).and_then(|ctx| commands::run(&ctx, cli.command));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if !e.message.is_empty() {
                let _ = writeln!(std::io::stderr(), "{e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
