//! `ledger poll autodns`: the AutoDNS poll queue, drained by `crates/poll`, each message
//! committed into the ledger (or through the server holding it) before it is confirmed.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ledger_event::Origin;
use serde_json::{Value, json};

use crate::cli::PollAutodnsArgs;
use crate::context::Context;
use crate::error::{CliError, CliResult, EXIT_INTERRUPTED, EXIT_OK, EXIT_REJECTED};

/// Set by Ctrl-C: the message in hand is committed and confirmed, then the run stops.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The `User-Agent` AutoDNS requires: the ledger and its version.
pub(crate) fn user_agent() -> String {
    format!("ledger/{}", env!("CARGO_PKG_VERSION"))
}

pub fn autodns(ctx: &Context, args: &PollAutodnsArgs) -> CliResult {
    let password = crate::secrets::secret(
        args.password_file.as_deref(),
        "LEDGER_AUTODNS_PASSWORD",
        "--password-file",
        "password",
    )?
    .ok_or_else(|| {
        CliError::user(
            "no AutoDNS password: give --password-file FILE or set LEDGER_AUTODNS_PASSWORD",
        )
    })?;
    let options = ctx.options_with_trust()?;
    let holder = ctx.holder()?;
    let ledger = match &holder {
        Some(holder) => {
            crate::holder::note_settings(holder, ctx, None, true)?;
            None
        }
        None => Some(ctx.open_or_create(options)?),
    };
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));

    let settings = ledger_poll::Settings::new(
        &args.endpoint,
        &args.user,
        password,
        args.context,
        user_agent(),
    );
    let mut poller = ledger_poll::Poller::new(settings);
    let started = Instant::now();
    let progress = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    progress.set_style(
        ProgressStyle::with_template("{spinner} {pos} messages in {elapsed}, {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    if !args.no_progress && std::io::stderr().is_terminal() {
        progress.set_draw_target(ProgressDrawTarget::stderr());
        progress.enable_steady_tick(Duration::from_millis(200));
    }
    let mut items = Vec::new();
    let stop = || INTERRUPTED.load(Ordering::SeqCst);
    let drained = poller.drain(
        |message| {
            let origin = format!("poll/autodns/{}", message.id);
            let document = match (&ledger, &holder) {
                (Some(ledger), _) => ledger_documents::json::outcome(
                    &ledger.ingest(&message.raw, Origin::new(origin.clone()))?,
                ),
                (None, Some(holder)) => {
                    let mut body = Vec::with_capacity(message.raw.len() + 64);
                    ledger_server::local::encode_item(&mut body, &origin, &message.raw);
                    let answer = holder.post_json("/api/v1/ingest", &body)?;
                    crate::output::items(&answer)
                        .first()
                        .cloned()
                        .ok_or_else(|| CliError::environment("the server answered no outcome"))?
                }
                (None, None) => return Err(CliError::environment("no ledger and no server")),
            };
            let outcome = match document["outcome"].as_str() {
                Some("ingested") => ledger_poll::Outcome::Ingested,
                Some("duplicate") => ledger_poll::Outcome::Duplicate,
                Some("rejected") => ledger_poll::Outcome::Rejected,
                // Not an outcome: nothing says the message is kept, so it is not confirmed.
                _ => {
                    return Err(CliError::environment(format!(
                        "the ledger answered no outcome for message {}: {document}",
                        message.id
                    )));
                }
            };
            let mut item = document;
            if let Some(fields) = item.as_object_mut() {
                fields.insert("path".into(), Value::String(origin));
                fields.insert("summary".into(), json!(message.summary));
            }
            items.push(item);
            Ok::<_, CliError>(outcome)
        },
        |tally| {
            progress.set_position(tally.confirmed);
            let rate = poller_rate(tally.confirmed, started);
            progress.set_message(format!(
                "{} left in the queue, {rate:.2} messages/s: {} new, {} duplicates, {} rejected",
                tally.left.map_or("?".into(), |n| n.to_string()),
                tally.ingested,
                tally.duplicates,
                tally.rejected
            ));
        },
        &stop,
    );
    progress.finish_and_clear();
    let tally = drained.map_err(|e| poll_error(e, &items))?;
    if let Some(ledger) = &ledger {
        ledger.flush()?;
    }
    let mut out = std::io::stdout().lock();
    if ctx.json {
        let summary = json!({
            "ingested": tally.ingested,
            "duplicates": tally.duplicates,
            "rejected": tally.rejected,
            "confirmed": tally.confirmed,
            "left": tally.left,
            "requests": poller.requests,
            "elapsed_ms": started.elapsed().as_millis() as u64,
            "interrupted": tally.stopped,
            "items": items,
        });
        crate::output::print_json(&mut out, &summary)?;
    } else {
        writeln!(
            out,
            "ingested {}, duplicates {}, rejected {}; {} messages confirmed, {} left in the queue \
             ({} requests in {:.1}s)",
            tally.ingested,
            tally.duplicates,
            tally.rejected,
            tally.confirmed,
            tally
                .left
                .map_or("an unknown number".into(), |n| n.to_string()),
            poller.requests,
            started.elapsed().as_secs_f64()
        )?;
        crate::output::rejected_lines(&mut out, &items, ", confirmed")?;
    }
    if tally.stopped {
        drop(out);
        writeln!(
            std::io::stderr(),
            "interrupted: {} messages committed and confirmed; the rest stays queued at AutoDNS \
             (rerun the same command to go on)",
            tally.confirmed
        )?;
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(if tally.rejected > 0 {
        EXIT_REJECTED
    } else {
        EXIT_OK
    })
}

fn poller_rate(done: u64, started: Instant) -> f64 {
    done as f64 / started.elapsed().as_secs_f64().max(1e-3)
}

/// A poll that stopped on an error, as the user reads it: what was committed before is said
/// in a hint (nothing committed is lost; an unconfirmed message comes again as a duplicate).
fn poll_error(error: ledger_poll::PollError, items: &[Value]) -> CliError {
    let hint = match &error {
        ledger_poll::PollError::Unauthorized { .. } => {
            "the password comes from --password-file or LEDGER_AUTODNS_PASSWORD; the demo system \
             (https://api.demo.autodns.com/v1) takes --context 1"
        }
        _ => {
            "what was committed is kept; rerun to go on (a message committed but not confirmed comes back as a duplicate)"
        }
    };
    let error = CliError::environment(error.to_string()).hint(hint);
    if items.is_empty() {
        error
    } else {
        error.hint(format!(
            "{} messages were committed before it stopped",
            items.len()
        ))
    }
}
