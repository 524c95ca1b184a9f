//! `ledger fetch imap://…`: the mailbox read by `crates/mailbox`, each message committed into
//! the ledger (or through the server holding it) before it is marked on the server.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ledger_event::Origin;
use ledger_mailbox::{After, MailboxError, MailboxUrl, Report, Stopped};
use serde_json::{Value, json};

use crate::cli::FetchArgs;
use crate::context::Context;
use crate::error::{CliError, CliResult, EXIT_INTERRUPTED, EXIT_OK, EXIT_REJECTED};

/// Set by the first Ctrl-C: the message in hand is committed and marked, then the run stops.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub fn run(ctx: &Context, args: &FetchArgs) -> CliResult {
    let url: MailboxUrl = args
        .url
        .parse()
        .map_err(|e: ledger_mailbox::url::UrlError| CliError::user(e.to_string()))?;
    let after: After = args
        .after
        .parse()
        .map_err(|e: ledger_mailbox::after::AfterError| CliError::user(e.to_string()))?;
    let password = password(args)?;
    let options = ctx.options_with_trust()?;
    let holder = ctx.holder()?;
    let ledger = match &holder {
        Some(holder) => {
            crate::holder::note_settings(holder, ctx, None, true)?;
            None
        }
        None => Some(ctx.open_or_create(options)?),
    };
    // A second Ctrl-C ends it at once (a server that does not answer): what was committed is
    // kept, and what was committed but not marked is marked by the next run.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });

    let started = Instant::now();
    let progress = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    progress.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} messages in {elapsed}, {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    if !args.no_progress && std::io::stderr().is_terminal() {
        progress.set_draw_target(ProgressDrawTarget::stderr());
        progress.enable_steady_tick(Duration::from_millis(200));
    }
    let state = ctx.db.join(ledger_mailbox::state::FILE_NAME);
    let request = ledger_mailbox::Request {
        url: &url,
        password: &password,
        after: &after,
        ca_file: args.ca_file.as_deref(),
        state: &state,
        batch: args.batch,
    };
    let mut items: Vec<Value> = Vec::new();
    let tally = std::cell::Cell::new([0u64; 3]);
    let fetched = ledger_mailbox::fetch(
        &request,
        |message| {
            let document = match (&ledger, &holder) {
                (Some(ledger), _) => ledger_documents::json::outcome(
                    &ledger.ingest(message.raw, Origin::new(message.origin.clone()))?,
                ),
                (None, Some(holder)) => {
                    let mut body = Vec::with_capacity(message.raw.len() + 64);
                    ledger_server::local::encode_item(&mut body, &message.origin, message.raw);
                    let answer = holder.post_json("/api/v1/ingest", &body)?;
                    crate::output::items(&answer)
                        .first()
                        .cloned()
                        .ok_or_else(|| CliError::environment("the server answered no outcome"))?
                }
                (None, None) => return Err(CliError::environment("no ledger and no server")),
            };
            let slot = match document["outcome"].as_str() {
                Some("ingested") => 0,
                Some("duplicate") => 1,
                Some("rejected") => 2,
                // Not an outcome: nothing says the message is kept, so it is not marked.
                _ => {
                    return Err(CliError::environment(format!(
                        "the ledger answered no outcome for UID {}: {document}",
                        message.uid
                    )));
                }
            };
            let mut counts = tally.get();
            counts[slot] += 1;
            tally.set(counts);
            let mut item = document;
            if let Some(fields) = item.as_object_mut() {
                fields.insert("path".into(), Value::String(message.origin.clone()));
                fields.insert("uid".into(), json!(message.uid));
            }
            items.push(item);
            Ok(())
        },
        |report| match report {
            Report::Connected(_) => {}
            Report::Note(note) => progress.suspend(|| {
                let _ = writeln!(std::io::stderr(), "note: {note}");
            }),
            Report::Progress { done, total } => {
                let tally = tally.get();
                progress.set_length(total);
                progress.set_position(done);
                progress.set_message(format!(
                    "{} new, {} duplicates, {} rejected",
                    tally[0], tally[1], tally[2]
                ));
            }
        },
        &|| INTERRUPTED.load(Ordering::SeqCst),
    );
    progress.finish_and_clear();
    let summary = fetched.map_err(|stopped| fetch_error(stopped, &url, items.len()))?;
    if let Some(ledger) = &ledger {
        ledger.flush()?;
    }
    let [ingested, duplicates, rejected] = tally.get();
    let mut out = std::io::stdout().lock();
    if ctx.json {
        let document = json!({
            "ingested": ingested,
            "duplicates": duplicates,
            "rejected": rejected,
            "elapsed_ms": started.elapsed().as_millis() as u64,
            "skipped_hidden": 0,
            "interrupted": summary.interrupted,
            "items": items,
            "mailbox": url.to_string(),
            "transport": summary.transport.name(),
            "after": after.to_string(),
            "marked": summary.marked,
            "marked_from_before": summary.marked_from_before,
            "uidvalidity": summary.uidvalidity,
            "last_uid": summary.last_uid,
            "reread": summary.reread,
        });
        crate::output::print_json(&mut out, &document)?;
    } else {
        let marked = match after {
            After::None => String::new(),
            _ => format!(
                "; {} messages marked ({after}){}",
                summary.marked,
                match summary.marked_from_before {
                    0 => String::new(),
                    n => format!(", {n} left unmarked by an earlier run"),
                }
            ),
        };
        writeln!(
            out,
            "ingested {ingested}, duplicates {duplicates}, rejected {rejected}{marked} ({} \
             messages in {:.1}s)",
            summary.committed,
            started.elapsed().as_secs_f64()
        )?;
        crate::output::rejected_lines(&mut out, &items, "")?;
    }
    if summary.interrupted {
        drop(out);
        writeln!(
            std::io::stderr(),
            "interrupted: {} messages committed and marked; the rest stays in the mailbox \
             (rerun the same command to go on)",
            summary.committed
        )?;
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(if rejected > 0 { EXIT_REJECTED } else { EXIT_OK })
}

/// The IMAP password: `--password-file`, else LEDGER_IMAP_PASSWORD.
fn password(args: &FetchArgs) -> Result<String, CliError> {
    crate::secrets::secret(
        args.password_file.as_deref(),
        "LEDGER_IMAP_PASSWORD",
        "--password-file",
        "password",
    )?
    .ok_or_else(|| {
        CliError::user("no IMAP password: give --password-file FILE or set LEDGER_IMAP_PASSWORD")
    })
}

/// A fetch that stopped, as the user reads it: what was committed before is said in a hint
/// (it is kept; what was committed but not marked is marked by the next run).
fn fetch_error(stopped: Stopped<CliError>, url: &MailboxUrl, committed: usize) -> CliError {
    let error = match stopped {
        Stopped::Commit { error, .. } => error,
        Stopped::Mailbox(error) => {
            let message = error.to_string();
            match error {
                MailboxError::Login { .. } => CliError::user(message).hint(
                    "the password comes from --password-file or LEDGER_IMAP_PASSWORD; only \
                     password login is supported (no OAuth2)",
                ),
                MailboxError::NoMailbox { .. } => CliError::user(message).hint(format!(
                    "mailbox names are case-sensitive (except INBOX) and folders are separated \
                     as the server does it (Notifications/AutoDNS or Notifications.AutoDNS): \
                     check the URL {url}"
                )),
                MailboxError::Plaintext { .. } => CliError::user(message).hint(format!(
                    "use imaps://{}@{}/… (port 993) or a server that offers STARTTLS",
                    url.user, url.host
                )),
                MailboxError::Tls { .. } => CliError::environment(message).hint(
                    "a server certificate of a private CA (or a self-signed one) needs \
                     --ca-file FILE; the name in the URL must be one the certificate names",
                ),
                MailboxError::CaFile { .. } | MailboxError::Folder { .. } => {
                    CliError::user(message)
                }
                _ => CliError::environment(message),
            }
        }
    };
    if committed == 0 {
        error
    } else {
        error.hint(format!(
            "{committed} messages were committed before it stopped; they are kept, and the next \
             run marks what was not marked yet"
        ))
    }
}

/// The `serve --imap URL` worker, when the flag is given: the mailbox fetched at the start and
/// again whenever IDLE (or the check every `--imap-every`) says it has news, each message
/// ingested through the server's group commit and marked only once committed. Errors are
/// reported (stderr, `ledger_fetch_errors_total{source="imap"}`) and retried with backoff
/// (1 s doubling to 5 min); the server is never stopped by them.
///
/// The flags are checked here, before the ledger is opened (a refused `serve` makes no
/// ledger); the worker is made from the open ledger by the function returned.
pub(crate) fn imap_worker(
    ctx: &Context,
    args: &crate::cli::ServeArgs,
) -> Result<Option<MakeWorker>, CliError> {
    let Some(text) = &args.imap else {
        return Ok(None);
    };
    let url: MailboxUrl = text
        .parse()
        .map_err(|e: ledger_mailbox::url::UrlError| CliError::user(format!("--imap: {e}")))?;
    let after: After =
        args.imap_after
            .parse()
            .map_err(|e: ledger_mailbox::after::AfterError| {
                CliError::user(format!("--imap-after: {e}"))
            })?;
    let every = crate::context::parse_duration(&args.imap_every, "--imap-every")?;
    if every < Duration::from_secs(1) {
        return Err(CliError::user(format!(
            "--imap-every {}: at least 1s",
            args.imap_every
        )));
    }
    let password = crate::secrets::secret(
        args.imap_password_file.as_deref(),
        "LEDGER_IMAP_PASSWORD",
        "--imap-password-file",
        "password",
    )?
    .ok_or_else(|| {
        CliError::user(
            "no password for --imap: give --imap-password-file FILE or set LEDGER_IMAP_PASSWORD",
        )
    })?;
    if let Some(path) = &args.imap_ca_file {
        ledger_mailbox::connect::tls_config(Some(path))
            .map_err(|e| CliError::user(format!("--imap-ca-file: {e}")))?;
    }
    let ca_file = args.imap_ca_file.clone();
    let state = ctx.db.join(ledger_mailbox::state::FILE_NAME);
    Ok(Some(Box::new(
        move |ledger: &std::sync::Arc<ledger::Ledger>| {
            let ledger = ledger.clone();
            ledger_server::Worker::new("imap", move |stop| {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => return stop.error(format!("cannot start its I/O runtime: {e}")),
                };
                let request = ledger_mailbox::Request {
                    url: &url,
                    password: &password,
                    after: &after,
                    ca_file: ca_file.as_deref(),
                    state: &state,
                    batch: 50,
                };
                runtime.block_on(watch(&request, &ledger, &stop, every));
            })
        },
    )))
}

/// Makes a worker once the ledger is open.
pub(crate) type MakeWorker =
    Box<dyn FnOnce(&std::sync::Arc<ledger::Ledger>) -> ledger_server::Worker>;

/// The worker's loop: fetch, wait for news, again, until the server stops.
async fn watch(
    request: &ledger_mailbox::Request<'_>,
    ledger: &ledger::Ledger,
    stop: &ledger_server::Stop,
    every: Duration,
) {
    const BACKOFF: Duration = Duration::from_secs(1);
    const CEILING: Duration = Duration::from_secs(300);
    let mut failures = 0u32;
    let mut said_waiting = false;
    let url = request.url;
    stop.say(format!("watching {url} (--after {})", request.after));
    while !stop.is_stopping() {
        let fetched = ledger_mailbox::fetch_async(
            request,
            |message| {
                let outcome = ledger.ingest(message.raw, Origin::new(message.origin.clone()))?;
                stop.fetched(&outcome);
                Ok::<_, ledger::LedgerError>(())
            },
            |report| {
                if let Report::Note(note) = report {
                    stop.say(note);
                }
            },
            &|| stop.is_stopping(),
        )
        .await;
        let failed = match fetched {
            Ok(summary) => {
                if summary.committed > 0 || summary.marked_from_before > 0 {
                    stop.say(format!(
                        "{} messages committed from {url} ({} marked, {} left unmarked by an \
                         earlier run marked now)",
                        summary.committed, summary.marked, summary.marked_from_before
                    ));
                }
                let waited = ledger_mailbox::wait_for_news(
                    request,
                    summary.uid_next,
                    every,
                    stop.stopped(),
                    |report| {
                        if let Report::Note(note) = report
                            && !said_waiting
                        {
                            said_waiting = true;
                            stop.say(note);
                        }
                    },
                )
                .await;
                match waited {
                    Ok(ledger_mailbox::Wake::Stopped) => break,
                    Ok(_) => None,
                    Err(e) => Some(e.to_string()),
                }
            }
            Err(Stopped::Mailbox(e)) => Some(e.to_string()),
            Err(Stopped::Commit { uid, error }) => Some(format!(
                "{url}: UID {uid} could not be committed, so it is not marked: {error}"
            )),
        };
        match failed {
            None => failures = 0,
            Some(message) => {
                failures = failures.saturating_add(1);
                let backoff = crate::workers::backoff(BACKOFF, failures, CEILING);
                stop.error(format!("{message}; retrying in {} s", backoff.as_secs()));
                tokio::select! {
                    () = stop.stopped() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
            }
        }
    }
    stop.say(format!("stopped watching {url}"));
}
