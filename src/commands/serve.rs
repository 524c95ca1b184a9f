//! `ledger serve`: flags into a server configuration; the server is `crates/server`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::cli::{ServeArgs, ServeFetcherArgs};
use crate::context::Context;
use crate::error::{CliError, CliResult, EXIT_OK};

/// How often sled's background flusher runs while `serve` holds the ledger (20 ms for the
/// other commands). Every group commit flushes the log itself before its pushes are answered;
/// the flusher's runs add a sync of each database's file on top (47 a second each at 20 ms
/// under 64 senders) and took 8 % of the server's CPU: 250 ms saves 6 % of the CPU per push
/// (BENCHMARKS.md, "Push throughput"). The flusher also cleans sled's segments; a server
/// runs for days and cleans between bursts.
const BACKGROUND_FLUSH: std::time::Duration = std::time::Duration::from_millis(250);

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
    // Checked before the ledger is opened (or made): a bad flag is said at once.
    let workers = fetchers(&args.fetchers)?;
    let imap = super::fetch::imap_worker(ctx, args)?;
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
        oversize_limit: args.socket_item_limit,
        oversize_deadline: crate::context::parse_duration(
            &args.socket_item_timeout,
            "--socket-item-timeout",
        )?,
    };
    // A live socket means another server holds the ledger: say so before waiting for its lock.
    if let Ok(address) = ledger_server::socket::SocketAddress::of(&ctx.db)
        && address.exists()
        && address.connect().is_ok()
    {
        return Err(ledger_server::ServerError::Held(address.path).into());
    }
    let mut options = ctx.options_with_trust()?;
    options.background_flush = BACKGROUND_FLUSH;
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
    let mut workers = workers(&ledger);
    workers.extend(imap.map(|make| make(&ledger)));
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

/// The workers the fetcher flags ask for, made once the ledger is open; the flags are checked
/// now (before the server starts: a bad flag is said at once, not by a thread later).
fn fetchers(
    args: &ServeFetcherArgs,
) -> Result<impl FnOnce(&Arc<ledger::Ledger>) -> Vec<ledger_server::Worker>, CliError> {
    let mut poll = None;
    if let Some(user) = &args.poll_autodns_user {
        let every =
            crate::context::parse_duration(&args.poll_autodns_every, "--poll-autodns-every")?;
        if every.is_zero() {
            return Err(
                CliError::user("--poll-autodns-every 0 would poll without a pause")
                    .hint("give an interval like 60s or 5m"),
            );
        }
        let password = crate::secrets::secret(
            args.autodns_password_file.as_deref(),
            "LEDGER_AUTODNS_PASSWORD",
            "--autodns-password-file",
            "password",
        )?
        .ok_or_else(|| {
            CliError::user(
                "--poll-autodns-user needs the AutoDNS password: give --autodns-password-file \
                 FILE or set LEDGER_AUTODNS_PASSWORD",
            )
        })?;
        let settings = ledger_poll::Settings::new(
            &args.poll_autodns_endpoint,
            user,
            password,
            args.poll_autodns_context,
            super::poll::user_agent(),
        );
        poll = Some((settings, every));
    }
    if let Some(dir) = &args.maildir {
        crate::workers::maildir::check(dir).map_err(|e| {
            CliError::user(format!("--maildir: {e}"))
                .hint("give the Maildir's top directory, the one holding new/, cur/ and tmp/")
        })?;
    }
    let maildir = args.maildir.clone();
    Ok(move |ledger: &Arc<ledger::Ledger>| {
        let mut workers = Vec::new();
        if let Some((settings, every)) = poll {
            workers.push(crate::workers::poll_autodns::worker(
                ledger.clone(),
                settings,
                every,
            ));
        }
        if let Some(dir) = maildir {
            workers.push(crate::workers::maildir::worker(ledger.clone(), dir));
        }
        workers
    })
}

/// A token from `file` (which others may not read), else from the environment variable `env`.
fn token(file: Option<&Path>, env: &str, flag: &str) -> Result<Option<String>, CliError> {
    Ok(crate::secrets::secret(file, env, flag, "token")?
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty()))
}
