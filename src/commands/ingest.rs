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
    /// What the ledger's server answered for the item (a [`ledger_documents::json::outcome`]).
    Served(Value),
    Unreadable(String),
}

impl Outcome {
    /// `ingested`, `duplicate` or `rejected`.
    fn name(&self) -> &str {
        match self {
            Outcome::Ledger(IngestOutcome::Appended { .. }) => "ingested",
            Outcome::Ledger(IngestOutcome::Duplicate { .. }) => "duplicate",
            Outcome::Ledger(IngestOutcome::Rejected { .. }) | Outcome::Unreadable(_) => "rejected",
            Outcome::Served(document) => document["outcome"].as_str().unwrap_or("rejected"),
        }
    }
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
    // A server holding the ledger takes the items' bytes and applies its own settings.
    let holder = ctx.holder()?;
    let (ledger, max_size) = match &holder {
        Some(holder) => {
            let settings = crate::holder::note_settings(holder, ctx, Some(args.max_size), true)?;
            let limit = settings["max_input_size"]
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(args.max_size);
            (None, limit)
        }
        None => (Some(ctx.open_or_create(options)?), args.max_size),
    };
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
    // Through the server, an item over its limit is spilled to a private temporary directory
    // (the ledger's `spill/` is the server's) and sent from there after the stream.
    let served_spill = match &ledger {
        Some(_) => None,
        None => Some(tempfile::tempdir().map_err(|e| {
            CliError::environment(format!("cannot create a temporary directory: {e}"))
        })?),
    };
    let spill = match &served_spill {
        Some(dir) => dir.path().to_path_buf(),
        None => ctx.db.join(SPILL_DIR),
    };
    if served_spill.is_none() && spill.exists() {
        std::fs::remove_dir_all(&spill)
            .map_err(|e| CliError::environment(format!("cannot clear {}: {e}", spill.display())))?;
    }
    let mut inputs = Inputs::new(&args.paths, max_size, spill.clone());
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
    let mut show_progress = |tally: &Tally| {
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
    };
    let Some(ledger) = ledger else {
        // Through the server: one request per batch, its outcomes in the items' order once
        // the server has committed them (its own group commit and flush).
        let holder = holder.ok_or_else(|| CliError::environment("no ledger and no server"))?;
        for (items, gathered) in batches {
            let mut body = Vec::with_capacity(items.iter().map(|(b, _)| b.len() + 64).sum());
            for (bytes, origin) in &items {
                ledger_server::local::encode_item(&mut body, &origin.0, bytes);
            }
            let answer = holder.post_json("/api/v1/ingest", &body)?;
            let outcomes: Vec<Outcome> = crate::output::items(&answer)
                .iter()
                .cloned()
                .map(Outcome::Served)
                .collect();
            if outcomes.len() != items.len() {
                return Err(crate::error::holder_refused(
                    500,
                    format!("{} outcomes for {} items", outcomes.len(), items.len()),
                ));
            }
            run.commit(gathered, outcomes)?;
            show_progress(&run.tally);
        }
        // An item over the server's limit goes whole, streamed from its temporary file, and
        // is kept whole by the server as a reject.
        keep_oversize(oversize, &mut run, |file, size, origin| {
            let target = format!(
                "/api/v1/ingest-oversize?origin={}",
                crate::holder::encode(origin)
            );
            Ok(Outcome::Served(
                holder.post_stream_json(&target, size, file)?,
            ))
        })?;
        return finish(ctx, run, &inputs, started, interrupted, &progress);
    };
    ledger.ingest_stream(batches, |gathered, outcomes| {
        let outcomes = outcomes.into_iter().map(Outcome::Ledger).collect();
        if let Err(error) = run.commit(gathered, outcomes) {
            run.failed = Some(error);
            return ControlFlow::Break(());
        }
        show_progress(&run.tally);
        ControlFlow::Continue(())
    })?;
    if let Some(error) = run.failed.take() {
        return Err(error);
    }
    keep_oversize(oversize, &mut run, |file, size, origin| {
        Ok(Outcome::Ledger(ledger.keep_oversize(
            file,
            size,
            Origin::new(origin),
        )?))
    })?;
    let _ = std::fs::remove_dir_all(&spill);
    finish(ctx, run, &inputs, started, interrupted, &progress)
}

/// Keeps each input over the limit whole (`keep` streams it from its temporary file into the
/// ledger or to the server holding it) and counts its outcome like a batch of one.
fn keep_oversize(
    oversize: Vec<(String, tempfile::TempPath, u64)>,
    run: &mut Batches<'_>,
    mut keep: impl FnMut(&mut std::fs::File, u64, &str) -> Result<Outcome, CliError>,
) -> Result<(), CliError> {
    for (origin, path, size) in oversize {
        let mut file = std::fs::File::open(&path)
            .map_err(|e| CliError::environment(format!("cannot reopen {}: {e}", path.display())))?;
        let outcome = keep(&mut file, size, &origin)?;
        let batch = Batch {
            items: Vec::new(),
            origins: vec![origin],
            unreadable: Vec::new(),
        };
        run.commit(batch, vec![outcome])?;
    }
    Ok(())
}

/// The summary (human or JSON) and the exit status of a run.
fn finish(
    ctx: &Context,
    run: Batches<'_>,
    inputs: &Inputs,
    started: Instant,
    interrupted: bool,
    progress: &ProgressBar,
) -> CliResult {
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
                Outcome::Served(document) if document["outcome"] == "rejected" => writeln!(
                    out,
                    "rejected {}: {} (kept as reject #{})",
                    report.origin,
                    document["reason"].as_str().unwrap_or_default(),
                    document["reject_id"]
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
    fn commit(&mut self, batch: Batch, outcomes: Vec<Outcome>) -> Result<(), CliError> {
        self.tally.unreadable += batch.unreadable.len() as u64;
        self.reports.extend(batch.unreadable);
        for (origin, outcome) in batch.origins.into_iter().zip(outcomes) {
            self.tally.total += 1;
            match outcome.name() {
                "ingested" => self.tally.ingested += 1,
                "duplicate" => self.tally.duplicates += 1,
                _ => self.tally.rejected += 1,
            }
            let report = ItemReport { origin, outcome };
            if let Some(log) = self.commit_log.as_deref_mut() {
                serde_json::to_writer(&mut *log, &item_json(&report))
                    .map_err(std::io::Error::other)?;
                writeln!(log)?;
            }
            let rejected = report.outcome.name() == "rejected";
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
        Outcome::Served(document) => document.clone(),
        Outcome::Unreadable(reason) => {
            json!({"outcome": "rejected", "seq": null, "kind": null, "duplicate_of": null, "reject_id": null, "reason": reason})
        }
    };
    if let Some(fields) = item.as_object_mut() {
        fields.insert("path".into(), Value::String(report.origin.clone()));
    }
    item
}
