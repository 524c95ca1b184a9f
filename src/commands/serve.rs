//! `ledger serve`: flags into a server configuration; the server is `crates/server`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::cli::ServeArgs;
use crate::context::Context;
use crate::error::{CliError, CliResult, EXIT_OK};

pub fn run(ctx: &Context, args: &ServeArgs) -> CliResult {
    let push_token = token(
        args.push_token_file.as_deref(),
        "LEDGER_PUSH_TOKEN",
        "--push-token-file",
    )?;
    let api_token = token(
        args.api_token_file.as_deref(),
        "LEDGER_API_TOKEN",
        "--api-token-file",
    )?;
    let allow = args
        .push_allow
        .iter()
        .map(|text| {
            text.parse::<ipnet::IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    CliError::user(format!("--push-allow {text:?} is not an address or a CIDR"))
                        .hint("write it like 62.116.129.216 or 62.116.129.0/24")
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let config = ledger_server::Config {
        listen: args.listen.clone(),
        push: ledger_server::PushAccess {
            token: push_token,
            allow,
            trust_forwarded_for: args.trust_forwarded_for,
        },
        api_token,
        source_tz: ctx.tz,
        socket_dir: Some(ctx.db.clone()),
        settings: serde_json::Value::Null,
    };
    // A live socket means another server holds the ledger: say so before waiting for its lock.
    if let Ok(address) = ledger_server::socket::SocketAddress::of(&ctx.db)
        && address.exists()
        && address.connect().is_ok()
    {
        return Err(ledger_server::ServerError::Held(address.path).into());
    }
    let options = ctx.options_with_trust()?;
    let trust_policy = match ctx.trust_policy_file() {
        Some(path) if options.trust.is_some() => Some(serde_json::json!({
            "file": path.display().to_string(),
            "text": std::fs::read_to_string(&path).unwrap_or_default(),
        })),
        _ => None,
    };
    let config = ledger_server::Config {
        settings: serde_json::json!({
            "source_tz": ctx.tz.name(),
            "max_input_size": options.max_input_size,
            "trust_policy": trust_policy,
        }),
        ..config
    };
    let ledger = Arc::new(ctx.open_or_create(options)?);
    let mut workers: Vec<ledger_server::Worker> = Vec::new();
    workers.extend(super::fetch::imap_worker(ctx, args, &ledger)?);
    let push_path = if config.push.token.is_some() {
        "/push/autodns/TOKEN"
    } else {
        "/push/autodns"
    };
    ledger_server::run(ledger, config, workers, |bound, socket| {
        let mut err = std::io::stderr().lock();
        for addr in bound {
            let _ = writeln!(err, "listening on http://{addr} (push: POST {push_path})");
        }
        if let Some(socket) = socket {
            let _ = writeln!(
                err,
                "listening on {} (the other ledger commands on this ledger)",
                socket.display()
            );
        }
    })?;
    let _ = writeln!(
        std::io::stderr(),
        "stopped: every request in flight was answered"
    );
    Ok(EXIT_OK)
}

/// A token from `file` (which others may not read), else from the environment variable `env`.
fn token(file: Option<&Path>, env: &str, flag: &str) -> Result<Option<String>, CliError> {
    Ok(crate::secrets::secret(file, env, flag, "token")?
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty()))
}
