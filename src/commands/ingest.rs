//! `ledger ingest`.

use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ledger::IngestOutcome;
use ledger_event::Origin;
use serde_json::{Value, json};

use crate::cli::IngestArgs;
use crate::context::Context;
use crate::error::{CliError, CliResult, EXIT_INTERRUPTED, EXIT_OK, EXIT_REJECTED};
use crate::input::{Input, Inputs};

/// A batch is committed when it holds this many bytes, whatever `--batch` says, so memory stays
/// bounded however large the mails are.
const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// The directory, inside the ledger's, of the temporary files holding inputs over the limit.
const SPILL_DIR: &str = "spill";

/// A progress bar appears only after this long, and only on a terminal.
const PROGRESS_AFTER: Duration = Duration::from_millis(700);

/// Set by the first Ctrl-C (SIGINT): the ingest reads no further input, commits what it has
/// read (a batch boundary, flushed) and reports it. A second Ctrl-C ends the process at once,
/// for an input that blocks (a pipe nobody writes to); what was reported committed is durable
/// either way.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C handler for this run.
fn catch_interrupts() {
    let installed = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            let _ = writeln!(
                std::io::stderr(),
                "{}",
                crate::error::interrupted_again_message()
            );
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
    // Without a handler (the process has one already), Ctrl-C kills the process as it always
    // did: nothing reported committed is lost then either.
    drop(installed);
}

/// What became of one item, for the summary.
struct ItemReport {
    origin: String,
    outcome: Outcome,
}

enum Outcome {
    Ledger(IngestOutcome),
    Unreadable(String),
}

pub fn run(ctx: &Context, args: &IngestArgs) -> CliResult {
    // The trust policy first: a typo in it stops the run before anything is read or created.
    let mut options = ctx.options_with_trust()?;
    options.max_input_size = args.max_size;
    for path in args.paths.iter().filter(|p| p.as_os_str() != "-") {
        let readable = path.metadata().and_then(|meta| {
            if meta.is_dir() {
                std::fs::read_dir(path).map(drop)
            } else {
                Ok(())
            }
        });
        if let Err(e) = readable {
            let what = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                _ => e.to_string(),
            };
            return Err(CliError::user(format!(
                "cannot read {}: {what}",
                path.display()
            )));
        }
    }
    let mut commit_log = match &args.commit_log {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    CliError::user(format!("cannot open --commit-log {}: {e}", path.display()))
                })?,
        )),
        None => None,
    };
    let ledger = ctx.open_or_create(options)?;
    catch_interrupts();

    let started = Instant::now();
    let progress = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    progress.set_style(
        ProgressStyle::with_template("{spinner} {human_pos} items read in {elapsed}, {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut shown = args.no_progress || !std::io::stderr().is_terminal();

    // Human output lists only the rejected items: keep the rest only for --json, so a run over
    // a million mails does not hold a million reports.
    let mut run = Batches {
        reports: Vec::new(),
        tally: Tally::default(),
        keep_all: ctx.json,
        commit_log: commit_log.as_mut(),
        failed: None,
    };

    // An item over --max-size is written whole to a temporary file in the ledger's directory
    // (the same disk as the packs; left-overs of a killed run are removed here, under the
    // ledger's lock) and kept whole after the stream, so `reparse --max-size` can admit it.
    let spill = ctx.db.join(SPILL_DIR);
    if spill.exists() {
        std::fs::remove_dir_all(&spill)
            .map_err(|e| CliError::environment(format!("cannot clear {}: {e}", spill.display())))?;
    }
    let mut inputs = Inputs::new(&args.paths, args.max_size, spill.clone());
    let mut oversize = Vec::new();
    let mut interrupted = false;
    // Inputs are read and parsed on the ledger's second thread while the batch before is
    // written (`Ledger::ingest_stream`); each batch carries its origins and the unreadable
    // inputs met while gathering it.
    let batches = Gathered {
        inputs: &mut inputs,
        size: args.batch.max(1),
        oversize: &mut oversize,
        interrupted: &mut interrupted,
    };
    ledger.ingest_stream(batches, |gathered, outcomes| {
        if let Err(error) = run.commit(gathered, outcomes) {
            run.failed = Some(error);
            return ControlFlow::Break(());
        }
        let tally = &run.tally;
        progress.set_position(tally.total + tally.unreadable);
        let rate = tally.total as f64 / started.elapsed().as_secs_f64().max(1e-3);
        progress.set_message(format!(
            "{rate:.0}/s: {} new, {} duplicates, {} rejected",
            tally.ingested, tally.duplicates, tally.rejected
        ));
        if !shown && started.elapsed() > PROGRESS_AFTER {
            progress.set_draw_target(ProgressDrawTarget::stderr());
            progress.enable_steady_tick(Duration::from_millis(200));
            shown = true;
        }
        ControlFlow::Continue(())
    })?;
    if let Some(error) = run.failed.take() {
        return Err(error);
    }
    for (origin, path, size) in oversize {
        let mut file = std::fs::File::open(&path)
            .map_err(|e| CliError::environment(format!("cannot reopen {}: {e}", path.display())))?;
        let outcome = ledger.keep_oversize(&mut file, size, Origin::new(origin.clone()))?;
        let batch = Batch {
            items: Vec::new(),
            origins: vec![origin],
            unreadable: Vec::new(),
        };
        run.commit(batch, vec![outcome])?;
    }
    let _ = std::fs::remove_dir_all(&spill);
    let Batches { reports, tally, .. } = run;
    progress.finish_and_clear();
    let Tally {
        ingested,
        duplicates,
        rejected,
        total,
        unreadable,
    } = tally;
    let rejected = rejected + unreadable;
    let items = total + unreadable;

    let mut out = std::io::stdout().lock();
    if ctx.json {
        let items: Vec<Value> = reports.iter().map(item_json).collect();
        let summary = json!({
            "ingested": ingested,
            "duplicates": duplicates,
            "rejected": rejected,
            "elapsed_ms": started.elapsed().as_millis() as u64,
            "skipped_hidden": inputs.hidden,
            "interrupted": interrupted,
            "items": items,
        });
        crate::output::print_json(&mut out, &summary)?;
    } else {
        writeln!(
            out,
            "ingested {ingested}, duplicates {duplicates}, rejected {rejected} ({} items in {:.1}s)",
            items,
            started.elapsed().as_secs_f64()
        )?;
        if inputs.hidden > 0 {
            writeln!(
                out,
                "skipped {} hidden files (names starting with '.')",
                inputs.hidden
            )?;
        }
        for report in &reports {
            match &report.outcome {
                Outcome::Ledger(IngestOutcome::Rejected { id, reason }) => writeln!(
                    out,
                    "rejected {}: {reason} (kept as reject #{id})",
                    report.origin
                )?,
                Outcome::Unreadable(reason) => writeln!(
                    out,
                    "rejected {}: {reason} (not readable, not kept)",
                    report.origin
                )?,
                _ => {}
            }
        }
    }
    if interrupted {
        drop(out);
        writeln!(
            std::io::stderr(),
            "{}",
            crate::error::interrupted_message(total, ingested, duplicates, rejected - unreadable)
        )?;
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(if rejected > 0 { EXIT_REJECTED } else { EXIT_OK })
}

/// Counts of one run.
#[derive(Default)]
struct Tally {
    ingested: u64,
    duplicates: u64,
    rejected: u64,
    total: u64,
    unreadable: u64,
}

/// One batch of inputs as read: the items, their origins, and the inputs that could not be
/// read while it was gathered.
struct Batch {
    items: Vec<(Vec<u8>, Origin)>,
    origins: Vec<String>,
    unreadable: Vec<ItemReport>,
}

/// Gathers inputs into batches of `size` items (or [`BATCH_BYTES`]), for
/// `Ledger::ingest_stream`. After a Ctrl-C ([`INTERRUPTED`]) it reads no further input: the
/// batch being gathered is handed over as it is, then the stream ends (and `interrupted` says
/// so).
struct Gathered<'a> {
    inputs: &'a mut Inputs,
    size: usize,
    /// The inputs over the limit met so far, kept after the stream: origin, file, size.
    oversize: &'a mut Vec<(String, tempfile::TempPath, u64)>,
    interrupted: &'a mut bool,
}

impl Iterator for Gathered<'_> {
    type Item = (Vec<(Vec<u8>, Origin)>, Batch);

    fn next(&mut self) -> Option<Self::Item> {
        let mut batch = Batch {
            items: Vec::with_capacity(self.size),
            origins: Vec::with_capacity(self.size),
            unreadable: Vec::new(),
        };
        let mut bytes = 0;
        while batch.items.len() < self.size && bytes < BATCH_BYTES {
            if INTERRUPTED.load(Ordering::SeqCst) {
                *self.interrupted = true;
                if batch.items.is_empty() && batch.unreadable.is_empty() {
                    return None;
                }
                break;
            }
            let Some(input) = self.inputs.next() else {
                if batch.items.is_empty() && batch.unreadable.is_empty() {
                    return None;
                }
                break;
            };
            match input {
                Input::Item { origin, bytes: raw } => {
                    bytes += raw.len();
                    batch.origins.push(origin.clone());
                    batch.items.push((raw, Origin::new(origin)));
                }
                Input::Oversize { origin, file, size } => {
                    self.oversize.push((origin, file, size));
                }
                Input::Unreadable { origin, reason } => batch.unreadable.push(ItemReport {
                    origin,
                    outcome: Outcome::Unreadable(reason),
                }),
            }
        }
        Some((std::mem::take(&mut batch.items), batch))
    }
}

/// What the committed batches came to.
struct Batches<'a> {
    reports: Vec<ItemReport>,
    tally: Tally,
    /// Keep a report for every item (`--json`), not only the rejected ones.
    keep_all: bool,
    commit_log: Option<&'a mut std::io::BufWriter<std::fs::File>>,
    /// Why the run stopped (the commit log could not be written), if it did.
    failed: Option<CliError>,
}

impl Batches<'_> {
    /// Counts a committed batch's outcomes (one write, one flush) and writes them to the
    /// commit log.
    fn commit(&mut self, batch: Batch, outcomes: Vec<IngestOutcome>) -> Result<(), CliError> {
        self.tally.unreadable += batch.unreadable.len() as u64;
        self.reports.extend(batch.unreadable);
        for (origin, outcome) in batch.origins.into_iter().zip(outcomes) {
            self.tally.total += 1;
            match outcome {
                IngestOutcome::Appended { .. } => self.tally.ingested += 1,
                IngestOutcome::Duplicate { .. } => self.tally.duplicates += 1,
                IngestOutcome::Rejected { .. } => self.tally.rejected += 1,
            }
            let report = ItemReport {
                origin,
                outcome: Outcome::Ledger(outcome),
            };
            if let Some(log) = self.commit_log.as_deref_mut() {
                serde_json::to_writer(&mut *log, &item_json(&report))
                    .map_err(std::io::Error::other)?;
                writeln!(log)?;
            }
            let rejected = matches!(
                report.outcome,
                Outcome::Ledger(IngestOutcome::Rejected { .. })
            );
            if self.keep_all || rejected {
                self.reports.push(report);
            }
        }
        if let Some(log) = self.commit_log.as_deref_mut() {
            log.flush()
                .map_err(|e| CliError::environment(format!("writing --commit-log: {e}")))?;
        }
        Ok(())
    }
}

fn item_json(report: &ItemReport) -> Value {
    let mut item = match &report.outcome {
        Outcome::Ledger(outcome) => ledger_documents::json::outcome(outcome),
        Outcome::Unreadable(reason) => {
            json!({"outcome": "rejected", "seq": null, "kind": null, "duplicate_of": null, "reject_id": null, "reason": reason})
        }
    };
    if let Some(fields) = item.as_object_mut() {
        fields.insert("path".into(), Value::String(report.origin.clone()));
    }
    item
}
