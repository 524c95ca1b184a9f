//! `ledger`: the command line over the `ledger` library. Flag definitions and glue only: the
//! work is done in `crates/`.

mod cli;
mod commands;
mod context;
mod error;
mod holder;
mod input;
mod output;
mod secrets;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::error::{EXIT_OK, EXIT_USAGE};

/// jemalloc instead of glibc's malloc: ingest and rebuild allocate and free millions of small
/// strings (parsed fields, decoded events); see BENCHMARKS.md for what it changed.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if e.kind() == ErrorKind::DisplayHelp
                && let Some(help) = subcommand_help()
            {
                let _ = write!(std::io::stdout(), "{help}");
                return ExitCode::from(EXIT_OK);
            }
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

/// The help of the command named on the command line (`ledger [FLAGS] COMMAND … --help`), with
/// the global flags named in one line instead of listed again: `None` for `ledger --help`.
fn subcommand_help() -> Option<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let long = !args.iter().any(|a| a == "-h");
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            // The global flags that take a value in the next argument.
            "--db" | "--source-tz" | "--trust-policy" | "--wait" => {
                rest.next();
            }
            a if a.starts_with('-') => {}
            // `ledger help COMMAND`
            "help" => return rest.next().and_then(|name| cli::command_help(name, true)),
            name => return cli::command_help(name, long),
        }
    }
    None
}
