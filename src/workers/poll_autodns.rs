//! `serve --poll-autodns-user`: the AutoDNS poll queue drained inside the server every
//! interval, by the same client as `ledger poll autodns` (`crates/poll`): each message
//! committed through the ledger's group commit, and only then confirmed.

use std::sync::Arc;
use std::time::Duration;

use ledger::{IngestOutcome, Ledger};
use ledger_event::Origin;
use ledger_server::{Stop, Worker};

/// The worker's name: its metrics' `source` and its stderr lines' prefix.
pub const NAME: &str = "poll-autodns";

/// The longest wait after errors in a row (the interval doubles up to it).
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// A worker that drains the queue `settings` names, then waits `every`, until the server
/// stops. A 401 ends the worker (not the server); any other error is reported and the drain
/// tried again after a backoff.
pub fn worker(ledger: Arc<Ledger>, settings: ledger_poll::Settings, every: Duration) -> Worker {
    Worker::new(NAME, move |stop| run(&ledger, settings, every, &stop))
}

fn run(ledger: &Ledger, settings: ledger_poll::Settings, every: Duration, stop: &Stop) {
    let endpoint = settings.endpoint.clone();
    let user = settings.user.clone();
    let mut poller = ledger_poll::Poller::new(settings);
    stop.say(format!(
        "draining the AutoDNS poll queue of {user:?} at {endpoint} every {}",
        humantime::format_duration(every)
    ));
    let mut failures = 0u32;
    loop {
        let drained = poller.drain(|message| commit(ledger, message, stop), |_| {}, &|| {
            stop.is_stopping()
        });
        let wait = match drained {
            Ok(tally) => {
                failures = 0;
                if tally.confirmed > 0 {
                    stop.say(format!(
                        "{} messages committed and confirmed ({} new, {} duplicates, {} \
                         rejected); {} left in the queue",
                        tally.confirmed,
                        tally.ingested,
                        tally.duplicates,
                        tally.rejected,
                        tally
                            .left
                            .map_or("an unknown number".into(), |n| n.to_string())
                    ));
                }
                if tally.stopped {
                    return;
                }
                every
            }
            Err(error @ ledger_poll::PollError::Unauthorized { .. }) => {
                stop.error(format!(
                    "{error}; this fetcher stops (the server goes on): fix \
                     --autodns-password-file or LEDGER_AUTODNS_PASSWORD and restart serve"
                ));
                return;
            }
            Err(error) => {
                failures += 1;
                let wait = super::backoff(every, failures, MAX_BACKOFF);
                stop.error(format!(
                    "{error}; trying again in {}",
                    humantime::format_duration(wait)
                ));
                wait
            }
        };
        if !stop.sleep(wait) {
            return;
        }
    }
}

/// Commits one polled message (its whole answer, as `ledger poll autodns` does) and says what
/// the ledger made of it; the poller confirms it only after this returned.
fn commit(
    ledger: &Ledger,
    message: &ledger_poll::Message,
    stop: &Stop,
) -> Result<ledger_poll::Outcome, ledger::LedgerError> {
    let origin = Origin::new(format!("poll/autodns/{}", message.id));
    let outcome = ledger.ingest(&message.raw, origin)?;
    stop.fetched(&outcome);
    Ok(match outcome {
        IngestOutcome::Appended { .. } => ledger_poll::Outcome::Ingested,
        IngestOutcome::Duplicate { .. } => ledger_poll::Outcome::Duplicate,
        IngestOutcome::Rejected { .. } => ledger_poll::Outcome::Rejected,
    })
}
