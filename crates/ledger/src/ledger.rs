//! [`Ledger`]: open, ingest, query. The storage pieces live beside it: [`crate::store`] (the
//! two sled databases), [`crate::raw`] (raw packs), [`crate::ingest`] (the write path),
//! [`crate::views`] (catch-up and rebuild), [`crate::verify`].

use std::ops::ControlFlow;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ledger_event::{Event, Origin};
use ledger_parser::DomainName;
use serde::Serialize;

use crate::codec::{be_u64, decode, index_prefix, micros};
use crate::event_record::{load_event, load_event_and_raw};
use crate::ingest::{self, Item};
use crate::projections::{
    Entity, ProjectionId, counts, entity_key, failed_creates, inventory, orders, transfers,
};
use crate::quarantine::{self, QuarantineRecord};
use crate::raw::{self, PackReader, PackWriter};
use crate::store::{
    self, Log, META_NEXT_QUARANTINE, META_QUARANTINE_INDEXED, Space, Views, storage,
};
use crate::{
    DomainState, FailedCreate, IngestOutcome, Inventory, LedgerError, Options, Order, OrderState,
    PendingTransfer, QuarantineEntry, RebuildReport, Result, VerifyReport,
};

/// The largest raw input [`Ledger::raw`] reads back whatever the options say: an item admitted
/// by a `reparse` with a larger limit stays readable.
const RAW_READ_LIMIT: usize = 256 * 1024 * 1024;

/// What [`Ledger::reparse`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReparseReport {
    /// Entries tried.
    pub tried: u64,
    /// Entries that now parse and became events.
    pub appended: u64,
    /// Entries that now parse but duplicate an event.
    pub duplicates: u64,
    /// Entries that still do not parse (or are over the size limit, and were not read).
    pub still_rejected: u64,
    /// Entries a person dismissed: not re-read.
    pub dismissed: u64,
}

/// Sizes and counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Events in the log.
    pub events: u64,
    /// Items in the quarantine.
    pub quarantined: u64,
    /// Distinct ctids.
    pub orders: u64,
    /// Pending outgoing transfers (now).
    pub pending_transfers: u64,
    /// Open failed creates.
    pub failed_creates: u64,
    /// Bytes on disk (sled + raw packs), measured at most [`DISK_BYTES_MAX_AGE`] ago by this
    /// `Ledger` (a fresh process measures it; a long-running holder such as `ledger serve`
    /// measures again once the last figure is older than that).
    pub disk_bytes: u64,
    /// Events per kind name.
    pub kinds: Vec<(String, u64)>,
}

/// Whether the views have folded every event of the log ([`Ledger::readiness`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// The last event's seq (0 for an empty log).
    pub log_head: u64,
    /// The last seq the views have folded; `None` while they are being rebuilt.
    pub views_checkpoint: Option<u64>,
}

impl Readiness {
    /// True when the views stand at the log's head: every projection answers for every event.
    pub fn caught_up(&self) -> bool {
        self.views_checkpoint == Some(self.log_head)
    }
}

/// An open ledger: the `log` (events, indexes, de-duplication keys, quarantine, raw references),
/// the raw packs, and the `views` (projections). See the crate docs for the layout.
///
/// ```
/// use chrono::Utc;
/// use ledger::{IngestOutcome, Ledger, Options};
/// use ledger_event::{EventKind, Origin};
///
/// let dir = tempfile::tempdir()?;
/// let ledger = Ledger::open(Options::new(dir.path().join("ledger")))?;
/// let mail = b"<system>\nuser: ExampleUser\ntask: 1403\n\
///     status: S1403 [Outgoing domain transfer has been started successfully.]\n\
///     success_value: domain: example.com\ntransaction: 1234\n</system>\n\
///     <reply>\nkk_start: 2010-05-17 08:43:53\nkk_autonack: 2010-05-22 02:43:53\n\
///     kk_end: 2010-05-22 08:43:53\n</reply>\n";
/// let outcome = ledger.ingest(mail, Origin::new("mail/1.eml"))?;
/// assert!(matches!(outcome, IngestOutcome::Appended { seq: 1, kind: EventKind::TransferOutStarted }));
/// // Delivered twice: recognised.
/// assert_eq!(ledger.ingest(mail, Origin::new("mail/2.eml"))?, IngestOutcome::Duplicate { of: 1 });
///
/// let events = ledger.events_by_domain("EXAMPLE.com")?;
/// assert_eq!(events.len(), 1);
/// let pending = ledger.pending_transfers(Utc::now())?;
/// assert_eq!(pending[0].domain, "example.com");
/// assert_eq!(pending[0].transaction.as_deref(), Some("1234"));
/// // One domain's state, read by key.
/// let state = ledger.domain_state("example.com", Utc::now())?;
/// assert_eq!(state.pending_transfer.as_ref(), pending.first());
/// assert!(state.departure.is_none() && state.failed_creates.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Ledger {
    options: Options,
    log: Option<Log>,
    views: Views,
    packs: Mutex<Option<PackWriter>>,
    group: GroupCommit,
    /// The last [`Stats::disk_bytes`] measured and when (measuring walks the disk).
    disk_bytes: Mutex<Option<(std::time::Instant, u64)>>,
}

/// How old the [`Stats::disk_bytes`] figure may be before [`Ledger::stats`] measures again.
pub const DISK_BYTES_MAX_AGE: Duration = Duration::from_secs(10);

/// What one group commit wrote, for [`Ledger::set_commit_observer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitInfo {
    /// Items in the write (each caller's one item).
    pub items: usize,
    /// True when it was committed (flushed); false when it failed (every item got the error).
    pub committed: bool,
    /// How long the write and its flush took (not the wait for the writer lock).
    pub duration: Duration,
}

/// Called after every group commit; see [`Ledger::set_commit_observer`].
pub type CommitObserver = Box<dyn Fn(CommitInfo) + Send + Sync>;

/// The items waiting to be written by the current leader of the group commit, each with the
/// channel its outcome goes back on, and the observer of the writes.
#[derive(Default)]
struct GroupCommit {
    queue: Mutex<GroupQueue>,
    next_ticket: std::sync::atomic::AtomicU64,
    observer: std::sync::OnceLock<CommitObserver>,
}

/// What [`GroupCommit::queue`] guards.
#[derive(Default)]
struct GroupQueue {
    items: Vec<Queued>,
    /// A caller is leading: it writes what is queued (or is about to), then hands the lead to
    /// the caller of the first item left, if any. Followers wait on their own reply channel,
    /// not on the writer lock, so each is woken once, by its own outcome or by the lead.
    leading: bool,
}

/// One item waiting in [`GroupCommit`], prepared (parsed, keyed) by its own caller's thread.
struct Queued {
    ticket: u64,
    prepared: ingest::PreparedBatch,
    reply: GroupReplier,
}

/// Tells a waiting caller of the group commit what became of its item; false when nobody is
/// listening any more.
pub type GroupReplier = Box<dyn FnOnce(GroupReply) -> bool + Send>;

/// What a caller waiting in the group commit ([`Ledger::enqueue`]) is told.
#[derive(Debug)]
pub enum GroupReply {
    /// Its item was written (durably) or failed.
    Done(Result<IngestOutcome>),
    /// It leads now: it must call [`Ledger::lead`] with its ticket (on a thread that may
    /// block), which writes its item with every other queued one.
    Lead,
}

/// What [`Ledger::enqueue`] queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a caller that leads must call Ledger::lead, or no queued item is written"]
pub struct Enqueued {
    /// Names the item for [`Ledger::lead`].
    pub ticket: u64,
    /// True when no caller was leading: this one leads now and must call [`Ledger::lead`].
    /// Otherwise its reply comes through its replier: [`GroupReply::Done`], or
    /// [`GroupReply::Lead`] when the lead passes to it.
    pub leads: bool,
}

/// Held by the leader of a group commit while it writes; when dropped (after the write, or
/// when the write panicked) the lead passes to the caller of the first queued item, or the
/// group has no leader when none is queued.
struct Lead<'a>(&'a GroupCommit);

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        let mut queue = lock(&self.0.queue);
        while let Some(first) = queue.items.first_mut() {
            // The new leader gets its own outcome from `Ledger::lead`, never from its replier.
            let tell = std::mem::replace(&mut first.reply, Box::new(|_| true));
            // Told under the queue lock: a replier only sends on a channel.
            if tell(GroupReply::Lead) {
                return;
            }
            // Its caller is gone (a server's request was dropped): nobody waits for this item.
            queue.items.remove(0);
        }
        queue.leading = false;
    }
}

/// Opens the log and the views at once, on two threads: sled's open grows with a database, so
/// the views' open is then hidden behind the log's. When another process holds either, both
/// are closed again and opened in the usual order (log, then views), waiting up to
/// `options.wait`. The first attempt waits at most sled's short lock grace (250 ms) with the
/// views held, so two processes can never each hold one database and wait for the other for
/// longer than that (another process opening with no wait may see `Locked` meanwhile). The
/// views are opened even when the log then fails to open (they are derived data).
fn open_both(options: &Options) -> Result<(Log, Views)> {
    let quick = Options {
        wait: Duration::ZERO,
        ..options.clone()
    };
    let (log, views) = std::thread::scope(|scope| {
        let views = scope.spawn(|| Views::open(&quick));
        let log = Log::open(&quick);
        let views = views
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (log, views)
    });
    fn locked<T>(result: &Result<T>) -> bool {
        matches!(result, Err(LedgerError::Locked { .. }))
    }
    if !locked(&log) && !locked(&views) {
        return Ok((log?.0, views?));
    }
    drop(log);
    drop(views);
    let (log, _migrated) = Log::open(options)?;
    let views = Views::open(options)?;
    Ok((log, views))
}

/// The error of a group commit caller left without an outcome (its write panicked).
fn no_outcome() -> LedgerError {
    LedgerError::Corrupt {
        what: "ingest".into(),
        reason: "the write of a group commit ended without an outcome (a panic)".into(),
    }
}

/// Locks a mutex whose holder may have panicked: what it guards (a queue of items each with
/// its own reply channel) stays usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The writer's lock: one writer at a time inside the process (sled's lock keeps other
/// processes out), holding the current raw pack once opened.
type Writer<'a> = MutexGuard<'a, Option<PackWriter>>;

impl Ledger {
    /// Opens (creating if needed) the ledger at `options.path`: the log first, then the views
    /// (always in this order), and catches the views up with the log.
    pub fn open(options: Options) -> Result<Ledger> {
        let path = options.path.clone();
        Self::open_whole(options).map_err(|e| e.in_ledger(&path))
    }

    /// [`Ledger::open`], with I/O errors as they are.
    fn open_whole(options: Options) -> Result<Ledger> {
        store::check_marker(&options.path, true)?;
        let (log, views) = open_both(&options)?;
        let ledger = Ledger {
            options,
            log: Some(log),
            views,
            packs: Mutex::new(None),
            group: GroupCommit::default(),
            disk_bytes: Mutex::new(None),
        };
        {
            let _writer = ledger.writer();
            // Runs a fold killed midway left behind (they can be gigabytes). Every fold runs
            // under the writer lock, and sled's lock keeps other processes out, so none is in
            // use. Best effort: the next fold empties the directory anyway.
            if ledger.views.fold_dir.exists() {
                let _ = std::fs::remove_dir_all(&ledger.views.fold_dir);
            }
            let log = ledger.log()?;
            crate::views::catch_up(log, &ledger.views)?;
        }
        Ok(ledger)
    }

    /// True when `path` holds a ledger (its `LEDGER` marker file), without opening it. A
    /// missing or empty directory, or one holding only a trust policy
    /// ([`crate::TRUST_POLICY_FILE`]), is not one yet: [`Ledger::open`] creates it there.
    pub fn exists(path: impl AsRef<std::path::Path>) -> bool {
        store::is_ledger(path.as_ref())
    }

    /// Opens only the views, for commands that read projections (pending transfers, failed
    /// creates, orders, inventory): opening the whole history costs time that grows with it.
    /// When the views are marked dirty (a writer crashed between the log and the views) or
    /// were never built, this falls back to [`Ledger::open`], which catches them up first.
    /// Methods that need the log return [`LedgerError::InvalidArgument`] on such a ledger.
    pub fn open_views(options: Options) -> Result<Ledger> {
        store::check_marker(&options.path, false).map_err(|e| e.in_ledger(&options.path))?;
        let views = Views::open(&options).map_err(|e| e.in_ledger(&options.path))?;
        if views.is_dirty()? || views.checkpoint()?.is_none() || views.is_outdated()? {
            drop(views);
            return Ledger::open(options);
        }
        Ok(Ledger {
            options,
            log: None,
            views,
            packs: Mutex::new(None),
            group: GroupCommit::default(),
            disk_bytes: Mutex::new(None),
        })
    }

    /// The options it was opened with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    fn log(&self) -> Result<&Log> {
        self.log.as_ref().ok_or_else(|| {
            LedgerError::InvalidArgument(
                "this ledger was opened for projection reads only (Ledger::open_views); \
                 open it with Ledger::open for this operation"
                    .into(),
            )
        })
    }

    fn writer(&self) -> Writer<'_> {
        // A panic in another thread while writing leaves sled consistent (transactions are
        // atomic); the pack writer only appends, so the poisoned guard is still usable.
        lock(&self.packs)
    }

    fn write(&self, items: Vec<Item>) -> Result<Vec<Option<IngestOutcome>>> {
        self.write_items(items)
            .map_err(|e| e.in_ledger(&self.options.path))
    }

    /// [`Ledger::write`], with I/O errors as they are.
    fn write_items(&self, items: Vec<Item>) -> Result<Vec<Option<IngestOutcome>>> {
        let log = self.log()?;
        let prepared = ingest::prepare(&self.options, items, true);
        let mut writer = self.writer();
        let packs = Self::pack_writer(&mut writer, log)?;
        let staged = ingest::stage(log, packs, prepared, &mut ingest::Cursor::read(log)?)?;
        ingest::commit(log, &self.views, staged)
    }

    /// The pack writer behind the writer lock, opened on first use.
    fn pack_writer<'w>(writer: &'w mut Writer<'_>, log: &Log) -> Result<&'w mut PackWriter> {
        if writer.is_none() {
            **writer = Some(PackWriter::open(&log.raw_dir)?);
        }
        Ok(writer
            .as_mut()
            .expect("the pack writer was opened just above"))
    }

    fn write_one(&self, item: Item) -> Result<IngestOutcome> {
        let (reply, outcome) = std::sync::mpsc::sync_channel(1);
        let queued =
            self.enqueue_item(item, Box::new(move |r: GroupReply| reply.send(r).is_ok()))?;
        if !queued.leads {
            match outcome.recv() {
                Ok(GroupReply::Done(result)) => return result,
                Ok(GroupReply::Lead) => {}
                Err(_) => return Err(no_outcome()),
            }
        }
        self.lead(queued.ticket)
    }

    /// Queues one item (a mail or a bare body) for the group commit, parsed on this thread,
    /// without waiting for it: for callers that must not block a thread per item (a server on
    /// an async runtime). When [`Enqueued::leads`], the caller must call [`Ledger::lead`] with
    /// the ticket; otherwise `reply` is called once, from another caller's thread, with
    /// [`GroupReply::Done`] (the outcome, durable) or [`GroupReply::Lead`] (then the caller
    /// must call [`Ledger::lead`]). `reply` must be quick (it runs under the group's lock:
    /// send on a channel) and returns false when its caller is gone, which drops a lead
    /// (passed on) or an outcome (nobody waits for it). [`Ledger::ingest`] is this and the
    /// wait.
    pub fn enqueue(&self, raw: &[u8], origin: Origin, reply: GroupReplier) -> Result<Enqueued> {
        self.enqueue_item(
            Item {
                raw: raw.to_vec(),
                origin,
                response: None,
                quarantined: None,
                trusted: false,
            },
            reply,
        )
    }

    fn enqueue_item(&self, item: Item, reply: GroupReplier) -> Result<Enqueued> {
        self.log()?;
        // Parsed on the caller's thread: concurrent callers parse in parallel.
        let prepared = ingest::prepare(&self.options, vec![item], false);
        let ticket = self
            .group
            .next_ticket
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut queue = lock(&self.group.queue);
        queue.items.push(Queued {
            ticket,
            prepared,
            reply,
        });
        let leads = !std::mem::replace(&mut queue.leading, true);
        Ok(Enqueued { ticket, leads })
    }

    /// Leads the group commit (see [`Ledger::enqueue`]): writes the queued items, the caller's
    /// own first, up to 1,000, in one sled batch and one flush, tells every other caller its
    /// outcome, passes the lead to the caller of the first item queued meanwhile, and returns
    /// the own item's outcome. Blocks for the write. Only for a caller whose ticket was given
    /// the lead; for any other ticket it returns an error and writes nothing.
    pub fn lead(&self, ticket: u64) -> Result<IngestOutcome> {
        let log = self.log()?;
        {
            let queue = lock(&self.group.queue);
            if !queue.leading || queue.items.first().map(|q| q.ticket) != Some(ticket) {
                return Err(LedgerError::InvalidArgument(format!(
                    "ticket {ticket} does not lead the group commit"
                )));
            }
        }
        // This caller leads: its item is the first queued (the lead goes to the caller of the
        // first item left, and a caller that found no leader found the queue empty).
        let _lead = Lead(&self.group);
        let mut writer = self.writer();
        let batch: Vec<Queued> = {
            let mut queue = lock(&self.group.queue);
            let n = queue.items.len().min(ingest::BATCH);
            queue.items.drain(..n).collect()
        };
        let mut own = None;
        let started = std::time::Instant::now();
        let items = batch.len();
        let mut tickets = Vec::with_capacity(items);
        let mut replies = Vec::with_capacity(items);
        let mut prepared = Vec::with_capacity(items);
        for q in batch {
            tickets.push(q.ticket);
            replies.push(q.reply);
            prepared.push(q.prepared);
        }
        let prepared = ingest::PreparedBatch::concat(prepared);
        let written = Self::pack_writer(&mut writer, log)
            .and_then(|packs| {
                let staged = ingest::stage(log, packs, prepared, &mut ingest::Cursor::read(log)?)?;
                ingest::commit(log, &self.views, staged)
            })
            .map_err(|e| e.in_ledger(&self.options.path));
        let committed = written.is_ok();
        match written {
            Ok(outcomes) => {
                for ((t, reply), outcome) in tickets.iter().zip(replies).zip(outcomes) {
                    let outcome = outcome.ok_or_else(|| LedgerError::Corrupt {
                        what: "ingest".into(),
                        reason: "no outcome for an item of a group commit".into(),
                    });
                    if *t == ticket {
                        own = Some(outcome);
                    } else {
                        reply(GroupReply::Done(outcome));
                    }
                }
            }
            Err(error) => {
                let shared = std::sync::Arc::new(error);
                for (t, reply) in tickets.iter().zip(replies) {
                    if *t != ticket {
                        reply(GroupReply::Done(Err(LedgerError::InBatch(shared.clone()))));
                    }
                }
                if tickets.contains(&ticket) {
                    own = Some(Err(
                        std::sync::Arc::try_unwrap(shared).unwrap_or_else(LedgerError::InBatch)
                    ));
                }
            }
        }
        if let Some(observe) = self.group.observer.get() {
            observe(CommitInfo {
                items,
                committed,
                duration: started.elapsed(),
            });
        }
        drop(writer);
        own.unwrap_or_else(|| Err(no_outcome()))
    }

    /// Sets the function told of every group commit ([`Ledger::ingest`], `record_response`):
    /// how many items it held, whether it committed, how long it took. A server's metrics
    /// use it. It runs with the writer lock held: it must be quick, and must not write to this
    /// ledger. Only the first call sets it; a later one returns `false`.
    pub fn set_commit_observer(&self, observer: CommitObserver) -> bool {
        self.group.observer.set(observer).is_ok()
    }

    /// Ingests one item (a mail or a bare body). Returns once the outcome is durable (flushed).
    ///
    /// Group commit: callers on several threads share writes. Each call queues its parsed
    /// item; one caller at a time leads: it writes every queued item (up to 1,000) in one
    /// sled batch and one flush, hands each caller its outcome, and passes the lead to the
    /// caller of the first item queued meanwhile. A caller returns as soon as the write its
    /// item rode in is durable, never later. When that write
    /// fails, every item in it gets the error (the first caller's own, the others
    /// [`LedgerError::InBatch`]) and none is committed.
    pub fn ingest(&self, raw: &[u8], origin: Origin) -> Result<IngestOutcome> {
        self.write_one(Item {
            raw: raw.to_vec(),
            origin,
            response: None,
            quarantined: None,
            trusted: false,
        })
    }

    /// Ingests many items with one sled write and one flush per batch of 1,000 items.
    /// Outcomes come back in input order. The next batch is parsed on a second thread while
    /// one is written ([`Ledger::ingest_stream`]).
    pub fn ingest_batch(&self, items: Vec<(Vec<u8>, Origin)>) -> Result<Vec<IngestOutcome>> {
        let mut outcomes = Vec::with_capacity(items.len());
        self.ingest_stream(std::iter::once((items, ())), |(), batch| {
            outcomes.extend(batch);
            ControlFlow::Continue(())
        })?;
        Ok(outcomes)
    }

    /// Ingests a stream of batches, each with a tag of the caller's, and hands each batch's
    /// outcomes (in input order) to `committed` with its tag once they are durable. Batches
    /// are read from `batches` and parsed on a second thread while the previous one is
    /// written, so reading and parsing overlap with sled (one sled write and one flush per
    /// 1,000 items: a larger batch is written in pieces, its outcomes handed over together).
    /// `committed` returning [`ControlFlow::Break`] stops the stream after that batch. An error
    /// stops it too and is returned, with the batch that failed unreported: an error before
    /// its log batch is applied leaves the log as it was; a failed flush of the log leaves the
    /// batch applied but not known to be durable (later reads in this process see it, and a
    /// crash may lose it); a failure of the views step comes after the log was flushed (its
    /// events are durable, and the views are caught up by the next write, `flush`, drop or
    /// open). The pieces of a batch over 1,000 items written before the error stay committed
    /// without being handed to `committed`. The preparing thread stops once it has read its
    /// current batch: an input that blocks (a pipe that is never closed) holds the return
    /// until it yields that batch or ends.
    ///
    /// The writer lock is held for the whole stream: neither `committed` nor the `batches`
    /// iterator may write to this ledger (`ingest`, `record_response`, `reparse`, `release`,
    /// `flush`, `rebuild`, `verify`), which would wait for the stream forever. Reads are fine.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use ledger::{IngestOutcome, Ledger, Options};
    /// use ledger_event::Origin;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::open(Options::new(dir.path().join("ledger")))?;
    /// let mail = |ctid: &str| {
    ///     format!("<system>\nuser: ExampleUser\ntask: 0101\nstatus: S0101 [Domain has been \
    ///              registered successfully.]\ntransaction: {ctid}\n</system>\n")
    ///     .into_bytes()
    /// };
    /// let batches = (0..3).map(|n| {
    ///     let items = vec![(mail(&format!("order-{n}")), Origin::new(format!("mail/{n}.eml")))];
    ///     (items, n)
    /// });
    /// let mut seen = Vec::new();
    /// ledger.ingest_stream(batches, |n, outcomes| {
    ///     assert!(matches!(outcomes[..], [IngestOutcome::Appended { .. }]));
    ///     seen.push(n);
    ///     ControlFlow::Continue(())
    /// })?;
    /// assert_eq!(seen, [0, 1, 2]);
    /// assert_eq!(ledger.events_by_ctid("order-2")?.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest_stream<B, T, F>(&self, batches: B, mut committed: F) -> Result<()>
    where
        B: IntoIterator<Item = (Vec<(Vec<u8>, Origin)>, T)>,
        B::IntoIter: Send,
        T: Send,
        F: FnMut(T, Vec<IngestOutcome>) -> ControlFlow<()>,
    {
        let log = self.log()?;
        let options = &self.options;
        let batches = batches.into_iter();
        // The writer lock is held for the whole stream: the preparing thread assigns seqs and
        // quarantine ids ahead of the commits (see `ingest::Cursor`).
        let mut writer = self.writer();
        let packs =
            Self::pack_writer(&mut writer, log).map_err(|e| e.in_ledger(&self.options.path))?;
        let mut cursor = ingest::Cursor::read(log)?;
        std::thread::scope(|scope| {
            // A rendezvous channel: the preparing thread stages batch n + 1 while batch n is
            // committed, and hands it over only once batch n is done, so it is never more than
            // one batch ahead (what `Cursor` assumes).
            let (sender, receiver) = std::sync::mpsc::sync_channel(0);
            let preparer = scope.spawn(move || {
                // Nothing is being written while the first piece is prepared: it gets two
                // threads, the rest one (the other core is writing).
                let mut idle_writer = true;
                for (items, tag) in batches {
                    let mut items = items.into_iter().map(|(raw, origin)| Item {
                        raw,
                        origin,
                        response: None,
                        quarantined: None,
                        trusted: false,
                    });
                    let mut tag = Some(tag);
                    let mut piece: Vec<Item> = items.by_ref().take(ingest::BATCH).collect();
                    loop {
                        let next: Vec<Item> = items.by_ref().take(ingest::BATCH).collect();
                        let last = next.is_empty();
                        let prepared = ingest::prepare(options, piece, idle_writer);
                        idle_writer = false;
                        let staged = ingest::stage(log, packs, prepared, &mut cursor);
                        let failed = staged.is_err();
                        let tag = if last { tag.take() } else { None };
                        if sender.send((staged, tag)).is_err() || failed {
                            return;
                        }
                        if last {
                            break;
                        }
                        piece = next;
                    }
                }
            });
            let mut outcomes = Vec::new();
            let mut written = || -> Result<()> {
                for (staged, tag) in &receiver {
                    let done = ingest::commit(log, &self.views, staged?)?;
                    outcomes.extend(done.into_iter().flatten());
                    if let Some(tag) = tag
                        && committed(tag, std::mem::take(&mut outcomes)).is_break()
                    {
                        break;
                    }
                }
                Ok(())
            };
            let result = written();
            // Dropping the receiver stops the preparing thread at its next batch (a batch it
            // staged meanwhile leaves unreferenced bytes in the pack, nothing else).
            drop(receiver);
            preparer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            result.map_err(|e| e.in_ledger(&self.options.path))
        })
    }

    /// Records a CentralNic Reseller command response for the order `ctid`. The response is
    /// parsed as CentralNic; `domain` names the domain when the response does not. The trust
    /// policy does not apply: the reseller records its own command's answer.
    pub fn record_response(
        &self,
        raw: &[u8],
        ctid: &str,
        command: Option<&str>,
        domain: Option<&str>,
        origin: Origin,
    ) -> Result<IngestOutcome> {
        let context = ingest::response_context(ctid, command, domain)?;
        self.write_one(Item {
            raw: raw.to_vec(),
            origin,
            response: Some(context),
            quarantined: None,
            trusted: true,
        })
    }

    fn event(&self, log: &Log, seq: u64, packs: &mut PackReader) -> Result<Option<Event>> {
        match crate::locators::locate(log, seq)? {
            Some(place) => Ok(Some(load_event(place, seq, packs)?)),
            None => Ok(None),
        }
    }

    fn scan_index(&self, index: &Space, key: &str) -> Result<Vec<Event>> {
        let log = self.log()?;
        let mut seqs = Vec::new();
        for entry in index.scan_prefix(&index_prefix(key)) {
            let (k, _) = entry.map_err(storage("reading an index"))?;
            seqs.push(be_u64(&k[k.len().saturating_sub(8)..], "index key")?);
        }
        log.with_query_reader(|packs| {
            let mut events = Vec::with_capacity(seqs.len());
            for seq in seqs {
                match self.event(log, seq, packs)? {
                    Some(event) => events.push(event),
                    None => {
                        return Err(LedgerError::Corrupt {
                            what: format!("index entry {key:?}"),
                            reason: format!("points at missing event {seq}"),
                        });
                    }
                }
            }
            Ok(events)
        })
    }

    /// Every event of an order, oldest first (by seq).
    pub fn events_by_ctid(&self, ctid: &str) -> Result<Vec<Event>> {
        let log = self.log()?;
        self.scan_index(&log.by_ctid, ctid.trim())
    }

    /// Every event of a domain (any case, Unicode or punycode), oldest first (by seq).
    pub fn events_by_domain(&self, domain: &str) -> Result<Vec<Event>> {
        let log = self.log()?;
        let name = DomainName::parse(domain).ok_or_else(|| {
            LedgerError::InvalidArgument(format!("{domain:?} is not a domain name"))
        })?;
        self.scan_index(&log.by_domain, name.as_str())
    }

    /// One record of a projection tree, decoded.
    fn view_record<R: bincode::Decode<()>>(
        &self,
        tree: ProjectionId,
        key: &[u8],
    ) -> Result<Option<R>> {
        match self
            .views
            .tree(tree)
            .get(key)
            .map_err(storage("reading a view"))?
        {
            Some(bytes) => Ok(Some(decode::<R>(&bytes, tree.name())?)),
            None => Ok(None),
        }
    }

    /// Whether the open transfers answer "pending at `at`": `at` is at or after every known
    /// transfer fact (the everyday "now"). For an earlier `at`, domains' histories do.
    fn open_set_answers(&self, at_micros: i64) -> Result<bool> {
        let latest: Option<i64> =
            self.view_record(transfers::LATEST_TREE, transfers::LATEST_KEY)?;
        Ok(latest.is_none_or(|latest| latest <= at_micros))
    }

    fn view_records<R: bincode::Decode<()>>(
        &self,
        tree: ProjectionId,
    ) -> Result<Vec<(sled::IVec, R)>> {
        let mut out = Vec::new();
        for entry in self.views.tree(tree).iter() {
            let (key, value) = entry.map_err(storage("reading a view"))?;
            let record = decode::<R>(&value, tree.name())?;
            out.push((key, record));
        }
        Ok(out)
    }

    /// Outgoing transfers pending at `at`: started at or before `at` (by `kk_start`, else the
    /// start notification's time) and not closed by a close whose time is between the start
    /// and `at`. Facts later than `at` do not count. Sorted by deadline (unknown deadlines
    /// last), then domain.
    ///
    /// For an `at` at or after every known transfer fact (the everyday "now") this reads only
    /// the open transfers; for an earlier `at` it reads the interval index of the pending spans
    /// (`transfer_spans`): the transfers open since `at` or before, and the spans that overlap
    /// `at`'s day (a prefix scan a level of the index, 28 in all), each span that contains `at`
    /// answered from its domain's history. A domain's history keeps its latest 16 starts,
    /// reminders and closes.
    pub fn pending_transfers(&self, at: DateTime<Utc>) -> Result<Vec<PendingTransfer>> {
        let at_micros = micros(at);
        let mut pending = Vec::new();
        if self.open_set_answers(at_micros)? {
            for entry in self.views.tree(transfers::OPEN_TREE).iter() {
                let (key, value) = entry.map_err(storage("reading a view"))?;
                let open = decode::<transfers::OpenTransfer>(&value, transfers::OPEN_TREE.name())?;
                pending.push(open.pending(&String::from_utf8_lossy(&key))?);
            }
        } else {
            pending = self.pending_in_the_past(at_micros)?;
        }
        pending.sort_by(|a, b| {
            (a.deadline_at.is_none(), a.deadline_at, &a.domain).cmp(&(
                b.deadline_at.is_none(),
                b.deadline_at,
                &b.domain,
            ))
        });
        Ok(pending)
    }

    /// The transfers pending at `at_micros`, from the interval index (see
    /// [`Ledger::pending_transfers`]), in no order.
    fn pending_in_the_past(&self, at_micros: i64) -> Result<Vec<PendingTransfer>> {
        use crate::projections::transfer_index as index;
        let spans = self.views.tree(index::SPANS_TREE);
        // A domain's spans are disjoint: each domain is found once.
        let mut candidates = Vec::new();
        for level in 0..=index::MAX_LEVEL {
            for entry in spans.scan_prefix(&index::level_prefix(level, at_micros)) {
                let (key, _) = entry.map_err(storage("reading a view"))?;
                if let Some(domain) = index::span_domain_at(&key, at_micros) {
                    candidates.push(domain.to_vec());
                }
            }
        }
        let end = index::open_end(at_micros);
        for entry in spans.range(index::OPEN_START, end.as_deref()) {
            let (key, _) = entry.map_err(storage("reading a view"))?;
            if end.as_deref().is_some_and(|end| key.as_ref() >= end) {
                break;
            }
            if let Some(domain) = index::span_domain_at(&key, at_micros) {
                candidates.push(domain.to_vec());
            }
        }
        // In key order, the histories' reads walk the tree once instead of jumping about.
        candidates.sort_unstable();
        let mut pending = Vec::with_capacity(candidates.len());
        for domain in candidates {
            // Read between two writes, a span may have ended since: its history says.
            let Some(record) =
                self.view_record::<transfers::TransferRecord>(transfers::TREE, &domain)?
            else {
                continue;
            };
            if let Some(open) = record.open_at(Some(at_micros)) {
                pending.push(open.pending(&String::from_utf8_lossy(&domain))?);
            }
        }
        Ok(pending)
    }

    /// The outgoing transfers pending at `at` that are due by `by`: a deadline at or before
    /// `by` (overdue ones included) or none known (a reseller must act on a transfer whose
    /// deadline nobody can tell). The same list as [`Ledger::pending_transfers`] filtered by
    /// that rule, in the same order, at a cost proportional to its length: for an `at` at or
    /// after every known transfer fact (the everyday `pending-transfers --due-within 48h`) it
    /// reads the open transfers by deadline (`transfers_by_deadline`) up to `by`, then those
    /// with no known deadline; for an earlier `at`, the transfers pending then (as
    /// [`Ledger::pending_transfers`]), filtered.
    ///
    /// ```
    /// # use chrono::{Duration, Utc};
    /// # use ledger::{Ledger, Options};
    /// # let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::open(Options::new(dir.path().join("ledger")))?;
    /// let now = Utc::now();
    /// let due = ledger.pending_transfers_due(now, now + Duration::hours(48))?;
    /// assert_eq!(due, ledger.pending_transfers(now)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pending_transfers_due(
        &self,
        at: DateTime<Utc>,
        by: DateTime<Utc>,
    ) -> Result<Vec<PendingTransfer>> {
        self.first_pending_transfers_due(at, by, usize::MAX)
    }

    /// The first `limit` transfers of [`Ledger::pending_transfers_due`]'s list (the earliest
    /// deadlines, then the unknown ones), at a cost proportional to `limit` for an `at` at or
    /// after every known transfer fact: the deadline index is in the list's order. A screen
    /// that shows the next few deadlines pays for those, not for every transfer left open by a
    /// lost closing mail (each overdue, so each in the list). For an earlier `at`, the whole
    /// list is made and cut.
    pub fn first_pending_transfers_due(
        &self,
        at: DateTime<Utc>,
        by: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PendingTransfer>> {
        use crate::projections::transfer_index as index;
        let at_micros = micros(at);
        let by_micros = micros(by);
        if !self.open_set_answers(at_micros)? {
            let mut pending = self.pending_transfers(at)?;
            pending.retain(|t| t.deadline_at.is_none_or(|d| micros(d) <= by_micros));
            pending.truncate(limit);
            return Ok(pending);
        }
        let deadlines = self.views.tree(index::DEADLINE_TREE);
        let end = index::due_end(by_micros);
        let known = deadlines
            .range(index::DUE_START, Some(&end))
            .take_while(|entry| {
                entry
                    .as_ref()
                    .map_or(true, |(key, _)| key.as_ref() < &end[..])
            });
        let unknown = deadlines.scan_prefix(index::UNKNOWN_PREFIX);
        let mut pending = Vec::new();
        for entry in known.chain(unknown).take(limit) {
            let (key, value) = entry.map_err(storage("reading a view"))?;
            let Some(domain) = index::deadline_domain(&key) else {
                continue;
            };
            let open = decode::<transfers::OpenTransfer>(&value, index::DEADLINE_TREE.name())?;
            pending.push(open.pending(&String::from_utf8_lossy(domain))?);
        }
        Ok(pending)
    }

    /// What the projections say of one domain (any case, Unicode or punycode) as of `at`,
    /// read by key: a handful of lookups, whatever the size of the ledger.
    pub fn domain_state(&self, domain: &str, at: DateTime<Utc>) -> Result<DomainState> {
        let name = DomainName::parse(domain).ok_or_else(|| {
            LedgerError::InvalidArgument(format!("{domain:?} is not a domain name"))
        })?;
        let domain = name.as_str();
        let key = domain.as_bytes();
        let at_micros = micros(at);
        // As `pending_transfers`: the open set answers for "now", the history for the past.
        let pending_transfer = if self.open_set_answers(at_micros)? {
            self.view_record::<transfers::OpenTransfer>(transfers::OPEN_TREE, key)?
        } else {
            self.view_record::<transfers::TransferRecord>(transfers::TREE, key)?
                .and_then(|record| record.open_at(Some(at_micros)))
        }
        .map(|open| open.pending(domain))
        .transpose()?;
        let departure = self
            .view_record::<inventory::DepartureRecord>(inventory::DEPARTURES_TREE, key)?
            .map(|record| record.departure(domain))
            .transpose()?;
        let owner_c_import = self
            .view_record::<inventory::ImportRecord>(
                inventory::IMPORTS_TREE,
                &entity_key(Entity::Domain, domain),
            )?
            .map(|record| record.import())
            .transpose()?;
        let mut failed_creates = Vec::new();
        let marks = self.view_record::<failed_creates::CreateMarks>(
            failed_creates::MARKS_TREE,
            &entity_key(Entity::Domain, domain),
        )?;
        for seq in marks.iter().flat_map(|marks| marks.failure_seqs()) {
            if let Some(record) = self.view_record::<failed_creates::FailureRecord>(
                failed_creates::TREE,
                &seq.to_be_bytes(),
            )? {
                failed_creates.push(record.failed_create()?);
            }
        }
        Ok(DomainState {
            domain: domain.to_string(),
            pending_transfer,
            departure,
            owner_c_import,
            failed_creates,
        })
    }

    /// Failed creates, resolved ones included (see [`FailedCreate::resolved_by`]), by seq.
    pub fn failed_creates(&self) -> Result<Vec<FailedCreate>> {
        self.view_records::<failed_creates::FailureRecord>(failed_creates::TREE)?
            .iter()
            .map(|(_, record)| record.failed_create())
            .collect()
    }

    /// Every order, by ctid.
    pub fn orders(&self) -> Result<Vec<Order>> {
        self.view_records::<orders::OrderRecord>(orders::TREE)?
            .iter()
            .map(|(key, record)| record.order(&String::from_utf8_lossy(key)))
            .collect()
    }

    /// How many orders stand in each state (kept by the folds: four reads, no walk).
    pub fn order_counts(&self) -> Result<crate::OrderCounts> {
        let count = |state: OrderState| -> Result<u64> {
            Ok(self
                .view_record::<u64>(counts::TREE, orders::count_name(state))?
                .unwrap_or(0))
        };
        Ok(crate::OrderCounts {
            in_progress: count(OrderState::InProgress)?,
            succeeded: count(OrderState::Succeeded)?,
            failed: count(OrderState::Failed)?,
            resubmit: count(OrderState::Resubmit)?,
        })
    }

    /// The first `limit` orders in `state`, by ctid, read from the orders' index by state
    /// (only what is returned is read).
    pub fn orders_in_state(&self, state: OrderState, limit: usize) -> Result<Vec<Order>> {
        let mut out = Vec::new();
        for entry in self
            .views
            .tree(orders::BY_STATE_TREE)
            .scan_prefix(&[orders::state_tag(state)])
            .take(limit)
        {
            let (key, _) = entry.map_err(storage("reading the orders by state"))?;
            let ctid = String::from_utf8_lossy(key.get(1..).unwrap_or_default()).into_owned();
            if let Some(order) = self.order(&ctid)? {
                out.push(order);
            }
        }
        Ok(out)
    }

    /// One order.
    pub fn order(&self, ctid: &str) -> Result<Option<Order>> {
        let ctid = ctid.trim();
        self.view_record::<orders::OrderRecord>(orders::TREE, ctid.as_bytes())?
            .map(|record| record.order(ctid))
            .transpose()
    }

    /// Domains that left (by domain) and OwnerC imports (latest per domain, else per order).
    pub fn inventory(&self) -> Result<Inventory> {
        let departed = self
            .view_records::<inventory::DepartureRecord>(inventory::DEPARTURES_TREE)?
            .iter()
            .map(|(key, record)| record.departure(&String::from_utf8_lossy(key)))
            .collect::<Result<_>>()?;
        let owner_c_imports = self
            .view_records::<inventory::ImportRecord>(inventory::IMPORTS_TREE)?
            .iter()
            .map(|(_, record)| record.import())
            .collect::<Result<_>>()?;
        Ok(Inventory {
            departed,
            owner_c_imports,
        })
    }

    fn quarantine_records(&self) -> Result<Vec<(u64, QuarantineRecord)>> {
        let log = self.log()?;
        let mut out = Vec::new();
        for entry in log.quarantine.iter() {
            let (key, value) = entry.map_err(storage("reading the quarantine"))?;
            let id = be_u64(&key, "quarantine key")?;
            out.push((id, QuarantineRecord::from_bytes(&value, id)?));
        }
        Ok(out)
    }

    /// The quarantine, oldest first.
    pub fn quarantine(&self) -> Result<Vec<QuarantineEntry>> {
        self.quarantine_records()?
            .iter()
            .map(|(id, record)| record.entry(*id))
            .collect()
    }

    /// Re-parses every quarantined item with this build's parser and these options; those that
    /// now parse become events (or duplicates) and leave the quarantine, atomically per batch of
    /// 1,000 items (the entry's removal is in the same log transaction as the event).
    ///
    /// This is how a parser upgrade (or a larger [`Options::max_input_size`]) recovers
    /// rejected input: the raw bytes were kept in the packs. The trust policy is checked
    /// again with the current options: an untrusted item that now passes (the policy was
    /// widened) becomes an event; one that still fails stays.
    pub fn reparse(&self) -> Result<ReparseReport> {
        let log = self.log()?;
        let mut report = ReparseReport::default();
        let records = self.quarantine_records()?;
        let limit = self
            .options
            .max_input_size
            .max(ledger_parser::DEFAULT_MAX_SIZE);
        for chunk in records.chunks(ingest::BATCH) {
            let mut items = Vec::with_capacity(chunk.len());
            for (id, record) in chunk {
                if record.dismissed.is_some() {
                    report.dismissed += 1;
                } else if record.size > limit as u64 {
                    // Still over the limit: not read (it may be gigabytes), still rejected.
                    report.tried += 1;
                    report.still_rejected += 1;
                } else {
                    items.push(self.quarantined_item(log, *id, record, limit, false)?);
                }
            }
            for outcome in self.write(items)? {
                report.tried += 1;
                match outcome {
                    Some(IngestOutcome::Appended { .. }) => report.appended += 1,
                    Some(IngestOutcome::Duplicate { .. }) => report.duplicates += 1,
                    Some(IngestOutcome::Rejected { .. }) | None => report.still_rejected += 1,
                }
            }
        }
        Ok(report)
    }

    fn quarantined_item(
        &self,
        log: &Log,
        id: u64,
        record: &QuarantineRecord,
        limit: usize,
        trusted: bool,
    ) -> Result<Item> {
        let raw_bytes = raw::read(&log.raw_dir, record.raw(), limit.max(record.size as usize))?;
        Ok(Item {
            raw: raw_bytes,
            origin: Origin(record.origin.clone()),
            response: record.response.as_ref().map(|(ctid, command, domain)| {
                ingest::ResponseContext {
                    ctid: ctid.clone(),
                    command: command.clone(),
                    domain: domain.clone(),
                }
            }),
            quarantined: Some((id, record.clone())),
            trusted,
        })
    }

    /// Releases a quarantined item a person vouches for: it is parsed again and ingested
    /// without the trust check, leaving the quarantine (→ `Appended`, or `Duplicate` of an
    /// event already in the log). An item that still does not parse stays and is reported
    /// `Rejected`. An unknown id is [`LedgerError::InvalidArgument`].
    pub fn release(&self, id: u64) -> Result<IngestOutcome> {
        let log = self.log()?;
        let Some(bytes) = log
            .quarantine
            .get(id.to_be_bytes())
            .map_err(storage("reading the quarantine"))?
        else {
            return Err(LedgerError::InvalidArgument(format!(
                "no quarantine entry {id}"
            )));
        };
        let record = QuarantineRecord::from_bytes(&bytes, id)?;
        let limit = self
            .options
            .max_input_size
            .max(ledger_parser::DEFAULT_MAX_SIZE);
        if record.size > limit as u64 {
            // Over the limit in force: the parser would refuse it, so it is not read at all.
            return Ok(IngestOutcome::Rejected {
                id,
                reason: record.reason,
            });
        }
        let item = self.quarantined_item(log, id, &record, limit, true)?;
        self.write_one(item)
    }

    /// Keeps an input over [`Options::max_input_size`] whole, as a reject: `size` bytes read
    /// from `input` (which is read twice: its SHA-256 first, to find it among the rejects if
    /// it was delivered before, then to stream it into the packs, never held in memory). The
    /// entry has the input's true size and the SHA-256 of all of it; `reparse` with a limit
    /// at or above its size admits it. Returns once durable (`Rejected`, the entry's id).
    pub fn keep_oversize<R: std::io::Read + std::io::Seek>(
        &self,
        input: &mut R,
        size: u64,
        origin: Origin,
    ) -> Result<IngestOutcome> {
        let log = self.log()?;
        let reason = ledger_parser::ParseError::TooLarge {
            size: usize::try_from(size).unwrap_or(usize::MAX),
            limit: self.options.max_input_size,
        }
        .to_string();
        let rewind = |input: &mut R| {
            input
                .seek(std::io::SeekFrom::Start(0))
                .map_err(crate::error::io(
                    "rewinding",
                    std::path::Path::new(&origin.0),
                ))
        };
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        rewind(input)?;
        std::io::copy(input, &mut hasher)
            .map_err(crate::error::io("reading", std::path::Path::new(&origin.0)))?;
        let sha: [u8; 32] = sha2::Digest::finalize(hasher).into();
        let mut writer = self.writer();
        if let Some((id, _)) = quarantine::find(log, &sha, &None)? {
            return Ok(IngestOutcome::Rejected { id, reason });
        }
        let packs = Self::pack_writer(&mut writer, log)?;
        rewind(input)?;
        let (raw, streamed_sha) = packs.append_stream(input, size)?;
        if streamed_sha != sha {
            return Err(LedgerError::InvalidArgument(format!(
                "{origin} changed while it was kept"
            )));
        }
        let id = log.meta_counter(META_NEXT_QUARANTINE)?;
        let record = QuarantineRecord::new(&origin, reason.clone(), sha, size, raw, None, false);
        let mut batch = sled::Batch::default();
        batch.insert(log.quarantine.key(&id.to_be_bytes()), record.to_bytes()?);
        batch.insert(
            log.quarantine_by_sha.key(&quarantine::index_key(&sha, id)),
            &[],
        );
        let next = (id + 1).to_be_bytes();
        batch.insert(log.meta.key(META_NEXT_QUARANTINE), &next);
        batch.insert(log.meta.key(META_QUARANTINE_INDEXED), &next);
        log.tree
            .apply_batch(batch)
            .map_err(storage("keeping an oversize input"))?;
        log.db.flush().map_err(storage("flushing the log"))?;
        Ok(IngestOutcome::Rejected { id, reason })
    }

    /// Dismisses a quarantine entry a person has looked at and set aside: it stays, with its
    /// raw bytes and the reason given, but is no longer outstanding (`reparse` skips it,
    /// [`Ledger::release`] still takes it). Durable on return. An unknown id is
    /// [`LedgerError::InvalidArgument`]; dismissing twice keeps the first dismissal.
    pub fn dismiss(&self, id: u64, reason: &str) -> Result<QuarantineEntry> {
        let log = self.log()?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(LedgerError::InvalidArgument(
                "a dismissal needs a reason".into(),
            ));
        }
        let _writer = self.writer();
        let key = id.to_be_bytes();
        let Some(bytes) = log
            .quarantine
            .get(key)
            .map_err(storage("reading the quarantine"))?
        else {
            return Err(LedgerError::InvalidArgument(format!(
                "no quarantine entry {id}"
            )));
        };
        let mut record = QuarantineRecord::from_bytes(&bytes, id)?;
        if record.dismissed.is_none() {
            record.dismissed = Some((reason.to_string(), micros(Utc::now())));
            log.quarantine
                .insert(key, record.to_bytes()?)
                .map_err(storage("dismissing a quarantine entry"))?;
            log.db.flush().map_err(storage("flushing the log"))?;
        }
        record.entry(id)
    }

    /// Events from position `since` on (inclusive), in order, read lazily.
    pub fn export(&self, since: u64) -> impl Iterator<Item = Result<Event>> + '_ {
        let (first_error, range) = match self.log().and_then(|log| Ok((log, log.event_reader()?))) {
            Ok((log, packs)) => (
                None,
                Some((crate::locators::range(log, since, None), packs)),
            ),
            Err(error) => (Some(Err(error)), None),
        };
        first_error
            .into_iter()
            .chain(range.into_iter().flat_map(|(range, mut packs)| {
                range.map(move |entry| {
                    let (seq, place) = entry?;
                    load_event(place, seq, &mut packs)
                })
            }))
    }

    /// The raw bytes of an event of this ledger, as received (checked against its SHA-256).
    /// The ledger finds them from the event's seq: the event does not say where they are.
    pub fn raw(&self, event: &Event) -> Result<Vec<u8>> {
        let log = self.log()?;
        // An item admitted by a `reparse` with a larger limit is larger than the default.
        let limit = self.options.max_input_size.max(RAW_READ_LIMIT);
        let seq = event.seq;
        let place = crate::locators::locate(log, seq)?.ok_or_else(|| {
            LedgerError::InvalidArgument(format!("there is no event {seq} in this ledger"))
        })?;
        let mut packs = PackReader::scattered(&log.raw_dir, limit)?;
        let (stored, raw) = load_event_and_raw(place, seq, &mut packs)?;
        if stored.source.sha256 != event.source.sha256 {
            return Err(LedgerError::InvalidArgument(format!(
                "event {seq} of this ledger is not the event asked about (another SHA-256)"
            )));
        }
        packs.read(raw)
    }

    /// Re-folds every projection from the log, replacing the kept ones.
    pub fn rebuild(&self) -> Result<RebuildReport> {
        let log = self.log()?;
        let _writer = self.writer();
        crate::views::rebuild(log, &self.views)
    }

    /// Checks the indexes, the de-duplication keys and every projection against a fresh fold of
    /// the log, and reports each difference.
    pub fn verify(&self) -> Result<VerifyReport> {
        let log = self.log()?;
        let _writer = self.writer();
        crate::verify::verify(log, &self.views)
    }

    /// The bytes on disk, measured again when the last figure is older than
    /// [`DISK_BYTES_MAX_AGE`] (or there is none yet).
    fn disk_bytes(&self, log: &Log) -> Result<u64> {
        let mut last = self
            .disk_bytes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, bytes)) = *last
            && at.elapsed() < DISK_BYTES_MAX_AGE
        {
            return Ok(bytes);
        }
        let bytes = log
            .db
            .size_on_disk()
            .map_err(storage("measuring the log"))?
            + self
                .views
                .db
                .size_on_disk()
                .map_err(storage("measuring the views"))?
            + raw::disk_bytes(&log.raw_dir);
        *last = Some((std::time::Instant::now(), bytes));
        Ok(bytes)
    }

    /// Sizes and counts. The counts are read at once; the bytes on disk are measured at most
    /// [`DISK_BYTES_MAX_AGE`] ago ([`Stats::disk_bytes`]).
    pub fn stats(&self) -> Result<Stats> {
        let log = self.log()?;
        // Kept by the folds (`projections::counts`): no walk of the orders, the failures or
        // the open transfers.
        let count = |name: &[u8]| -> Result<u64> {
            Ok(self.view_record::<u64>(counts::TREE, name)?.unwrap_or(0))
        };
        // "Now" is answered by the open set whenever no transfer fact is later than now (the
        // everyday case): then the pending transfers are its entries, counted by the fold.
        // A fact dated in the future sends it through the full answer.
        let now = Utc::now();
        let pending_transfers = if self.open_set_answers(micros(now))? {
            count(counts::OPEN_TRANSFERS)?
        } else {
            self.pending_transfers(now)?.len() as u64
        };
        let failed_creates = count(counts::OPEN_FAILED_CREATES)?;
        let mut kinds: Vec<(String, u64)> = self
            .view_records::<u64>(crate::projections::kinds::TREE)?
            .into_iter()
            .map(|(key, count)| (String::from_utf8_lossy(&key).into_owned(), count))
            .collect();
        kinds.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let disk_bytes = self.disk_bytes(log)?;
        Ok(Stats {
            events: log.next_seq()? - 1,
            quarantined: log.quarantine.len() as u64,
            orders: count(counts::ORDERS)?,
            pending_transfers,
            failed_creates,
            disk_bytes,
            kinds,
        })
    }

    /// Where the log's head and the views' checkpoint stand, read between two writes (it waits
    /// for a write in flight, so a group commit between its log batch and its views step is
    /// not taken for views left behind).
    pub fn readiness(&self) -> Result<Readiness> {
        let log = self.log()?;
        let _writer = self.writer();
        Ok(Readiness {
            log_head: log.next_seq()? - 1,
            views_checkpoint: self.views.checkpoint()?,
        })
    }

    /// Flushes both databases and clears the views' dirty marker, after catching the views up
    /// to the log if a views step of an earlier write failed (they are at the log's head
    /// otherwise, and nothing is folded). Views left without a checkpoint by a rebuild cut
    /// short keep the marker: the next open rebuilds them. Every write method already flushes
    /// the log before it returns: once it has reported an outcome, a crash of the process
    /// loses nothing (the views are derived and caught up on the next open). sled's flush
    /// writes and fsyncs its log, but sled 0.34 makes no promise against power loss beyond
    /// that. Dropping the ledger does the same; when the catch-up fails there, the marker
    /// stays and the next open catches up.
    pub fn flush(&self) -> Result<()> {
        if let Some(log) = &self.log {
            let _writer = self.writer();
            log.db.flush().map_err(storage("flushing the log"))?;
            crate::views::settle(log, &self.views)?;
        }
        Ok(())
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // Errors cannot be reported here; the dirty marker left behind is then handled by the
        // next open (a catch-up).
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(raw: &[u8], origin: &str) -> Item {
        Item {
            raw: raw.to_vec(),
            origin: Origin::new(origin),
            response: None,
            quarantined: None,
            trusted: false,
        }
    }

    fn update(ctid: &str) -> Vec<u8> {
        format!(
            "Date: Mon, 10 May 2010 10:00:00 +0200\nMessage-ID: <{ctid}@autodns.example>\n\n\
             <system>\nuser: ExampleUser\ntask: 0102\n\
             status: S0102 [Domain has been updated successfully.]\ntransaction: {ctid}\n</system>\n"
        )
        .into_bytes()
    }

    /// AutoDNS's outgoing-transfer start (S1403) for `domain`, or its AUTO-ACK (S1403008).
    fn transfer_out(domain: &str, auto_ack: bool) -> Vec<u8> {
        let body = if auto_ack {
            format!(
                "<system>\nuser: ExampleUser\ntask: 1403008\nstatus: S1403008 [The request \
                 was not answered in time. AUTO-ACK was processed.]\n\
                 success_value: domain: {domain}\n</system>\n"
            )
        } else {
            format!(
                "<system>\nuser: ExampleUser\ntask: 1403\nstatus: S1403 [Outgoing domain \
                 transfer has been started successfully.]\nsuccess_value: domain: {domain}\n\
                 transaction: t-{domain}\n</system>\n<reply>\nkk_start: 2010-05-17 08:43:53\n\
                 kk_autoack: 2010-05-22 02:43:53\nkk_end: 2010-05-22 08:43:53\n</reply>\n"
            )
        };
        let (date, id) = if auto_ack {
            ("Sat, 22 May 2010 02:44:00 +0200", "ack")
        } else {
            ("Mon, 17 May 2010 08:43:53 +0200", "start")
        };
        format!(
            "From: robot@autodns.example\nDate: {date}\nMessage-ID: <{id}.{domain}@autodns.example>\n\n{body}"
        )
        .into_bytes()
    }

    /// A views step that fails after its log batch was committed (here a projection record
    /// that does not decode; in life an I/O error) must not leave its events out of the
    /// views for good: the next write of the same process catches them up instead of moving
    /// the checkpoint past them, and so does the drop when no write follows (a reader that
    /// opens the views alone, as `pending-transfers` does, must not see the transfer open).
    #[test]
    fn a_failed_views_step_is_caught_up_by_the_next_write_or_the_drop() {
        let pending_now = |ledger: &Ledger| -> Vec<String> {
            let pending = ledger.pending_transfers(Utc::now()).expect("pending");
            pending.into_iter().map(|p| p.domain).collect()
        };
        for next_write in [true, false] {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("ledger");
            {
                let ledger = Ledger::open(Options::new(&path)).expect("open");
                let start = ledger
                    .ingest(&transfer_out("x.example", false), Origin::new("start.eml"))
                    .expect("ingest the start");
                assert!(matches!(start, IngestOutcome::Appended { seq: 1, .. }));
                let space = ledger.views.tree(transfers::TREE);
                let good = space.get(b"x.example").expect("read").expect("a record");
                let damage = |bytes: &[u8]| {
                    ledger
                        .views
                        .tree
                        .insert(space.key(b"x.example"), bytes)
                        .expect("write the record");
                };
                damage(b"\xff\xff not a transfer record");
                let failed =
                    ledger.ingest(&transfer_out("x.example", true), Origin::new("ack.eml"));
                assert!(
                    matches!(failed, Err(LedgerError::Corrupt { .. })),
                    "{failed:?}"
                );
                // The AUTO-ACK is in the log all the same.
                assert_eq!(ledger.events_by_domain("x.example").expect("read").len(), 2);
                damage(&good);
                if next_write {
                    let next = ledger
                        .ingest(&transfer_out("y.example", false), Origin::new("y.eml"))
                        .expect("ingest another start");
                    assert!(matches!(next, IngestOutcome::Appended { seq: 3, .. }));
                    assert_eq!(pending_now(&ledger), ["y.example"]);
                }
            }
            let reader = Ledger::open_views(Options::new(&path)).expect("open the views");
            assert!(reader.log.is_none(), "the views alone were opened");
            let want: &[&str] = if next_write { &["y.example"] } else { &[] };
            assert_eq!(pending_now(&reader), want, "next_write: {next_write}");
            drop(reader);
            let report = Ledger::open(Options::new(&path))
                .expect("open")
                .verify()
                .expect("verify");
            assert!(report.is_clean(), "{:?}", report.problems);
        }
    }

    /// `stats` measures the bytes on disk at most once per [`DISK_BYTES_MAX_AGE`]: a second
    /// call within it answers the figure of the first, though the packs grew, and a fresh
    /// `Ledger` (a new process) measures them then and there.
    #[test]
    fn the_bytes_on_disk_are_measured_at_most_once_per_max_age() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ledger");
        let measured = {
            let ledger = Ledger::open(Options::new(&path)).expect("open");
            ledger
                .ingest(&transfer_out("x.example", false), Origin::new("x.eml"))
                .expect("ingest");
            let measured = ledger.stats().expect("stats").disk_bytes;
            std::fs::write(path.join("raw").join("grown"), vec![0u8; 1 << 20]).expect("grow");
            assert_eq!(ledger.stats().expect("stats").disk_bytes, measured);
            measured
        };
        let fresh = Ledger::open(Options::new(&path)).expect("open");
        assert!(fresh.stats().expect("stats").disk_bytes >= measured + (1 << 20));
    }

    /// A rebuild cut short leaves the views without a checkpoint: the drop must neither clear
    /// the dirty marker (a reader of the views alone would then trust half-written views) nor
    /// rebuild them itself; the next open does.
    #[test]
    fn views_without_a_checkpoint_keep_the_marker_for_the_next_open() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ledger");
        {
            let ledger = Ledger::open(Options::new(&path)).expect("open");
            ledger
                .ingest(&transfer_out("x.example", false), Origin::new("start.eml"))
                .expect("ingest the start");
            // What a rebuild leaves when it stops after its first step.
            ledger
                .views
                .meta
                .remove(store::VIEWS_CHECKPOINT)
                .expect("remove the checkpoint");
            ledger.flush().expect("flush");
            assert!(ledger.views.is_dirty().expect("read the marker"));
            assert_eq!(ledger.views.checkpoint().expect("read"), None, "no rebuild");
        }
        let reader = Ledger::open_views(Options::new(&path)).expect("open the views");
        assert!(
            reader.log.is_some(),
            "a dirty ledger is opened whole and caught up"
        );
        assert_eq!(reader.views.checkpoint().expect("read"), Some(1));
        let pending = reader.pending_transfers(Utc::now()).expect("pending");
        assert_eq!(pending.len(), 1, "{pending:?}");
    }

    /// `pending_transfers` at a past instant reads only candidates (the spans of
    /// `transfer_spans` that contain it, and those open since then): its answer must equal
    /// asking every domain's record. Random starts and AUTO-ACKs over three domains between 1955 and 2035,
    /// a quarter of the `kk_start`s up to 30 years before their mail (spans over the
    /// long-span threshold), more facts per domain than the history keeps; asked at every
    /// fact's time and a microsecond either side, and at random instants, drawn by a seeded
    /// generator, so a failure names its seed.
    #[test]
    fn pending_transfers_at_any_instant_equal_a_scan_of_every_record() {
        use chrono::TimeZone;
        use proptest::prelude::RngExt;
        use proptest::test_runner::{RngAlgorithm, TestRng};
        let berlin = |t: DateTime<Utc>| {
            t.with_timezone(&chrono_tz::Europe::Berlin)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        for seed in 1..=6u8 {
            let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
            let mut below = |n: u64| rng.random_range(0..n);
            let dir = tempfile::tempdir().expect("temp dir");
            let ledger = Ledger::open(Options::new(dir.path().join("ledger"))).expect("open");
            let base = Utc
                .with_ymd_and_hms(1955, 1, 1, 0, 0, 0)
                .single()
                .expect("an instant");
            let minutes = 80 * 365 * 24 * 60;
            let mut times = Vec::new();
            for n in 0..200 {
                let domain = format!("d{}.example", below(3));
                let sent = base + chrono::Duration::minutes(below(minutes) as i64);
                times.push(sent);
                let body = if below(3) == 0 {
                    format!(
                        "<system>\nuser: ExampleUser\ntask: 1403008\nstatus: S1403008 [AUTO-ACK \
                         was processed.]\nsuccess_value: domain: {domain}\nlast_transaction: t{n}\n\
                         kk_answer: AUTOACK\n</system>\n"
                    )
                } else {
                    let start = if below(4) == 0 {
                        sent - chrono::Duration::days(below(30 * 365) as i64)
                    } else {
                        sent - chrono::Duration::minutes(below(600) as i64)
                    };
                    times.push(start);
                    let deadline = berlin(start + chrono::Duration::days(5));
                    format!(
                        "<system>\nuser: ExampleUser\ntask: 1403\nstatus: S1403 [Outgoing \
                         domain transfer has been started successfully.]\n\
                         success_value: domain: {domain}\ntransaction: t{n}\n</system>\n\
                         <reply>\nkk_start: {}\nkk_autonack: {deadline}\nkk_end: {deadline}\n\
                         </reply>\n",
                        berlin(start)
                    )
                };
                let raw = format!(
                    "From: robot@autodns.example\nDate: {}\nMessage-ID: <{seed}-{n}@autodns.example>\n\n{body}",
                    sent.format("%a, %d %b %Y %H:%M:%S +0000")
                );
                let outcome = ledger
                    .ingest(raw.as_bytes(), Origin::new(format!("{n}.eml")))
                    .expect("ingest");
                assert!(
                    matches!(outcome, IngestOutcome::Appended { .. }),
                    "seed {seed}, mail {n}: {outcome:?}"
                );
            }
            let mut instants: Vec<DateTime<Utc>> = times
                .iter()
                .flat_map(|t| [-1, 0, 1].map(|d| *t + chrono::Duration::microseconds(d)))
                .collect();
            instants
                .extend((0..300).map(|_| base + chrono::Duration::minutes(below(minutes) as i64)));
            let records = ledger
                .view_records::<transfers::TransferRecord>(transfers::TREE)
                .expect("the records");
            for at in instants {
                let mut got = ledger.pending_transfers(at).expect("pending");
                got.sort_by(|a, b| a.domain.cmp(&b.domain));
                let want: Vec<PendingTransfer> = records
                    .iter()
                    .filter_map(|(domain, record)| {
                        let open = record.open_at(Some(micros(at)))?;
                        Some(open.pending(&String::from_utf8_lossy(domain)))
                    })
                    .collect::<Result<_>>()
                    .expect("the records' answers");
                assert_eq!(got, want, "seed {seed} at {at}");
            }
            let report = ledger.verify().expect("verify");
            assert!(report.is_clean(), "seed {seed}: {:?}", report.problems);
        }
    }

    /// A pipelined ingest stages batch n + 1 before batch n is committed (`ingest_stream`).
    /// What batch n adds must count for batch n + 1 all the same: a copy of its event is a
    /// duplicate of it, its rejected bytes keep their quarantine id, seqs and ids follow on,
    /// and the locator bucket both write ends up whole.
    #[test]
    fn a_batch_staged_before_the_one_ahead_is_committed_sees_what_that_one_adds() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::open(Options::new(dir.path().join("ledger"))).expect("open");
        let log = ledger.log().expect("a full open");
        let garbage = b"\x00\x01 not a notification at all \xff".to_vec();
        let first = vec![item(&update("first-1"), "a/1"), item(&garbage, "a/2")];
        // The parent-notify copy of the first batch's event, its garbage again, a new order.
        let copy = [
            b"X-Forwarded-For: parent@reseller.example\n".as_slice(),
            &update("first-1"),
        ]
        .concat();
        let second = vec![
            item(&copy, "b/1"),
            item(&garbage, "b/2"),
            item(&update("second-1"), "b/3"),
        ];

        let mut writer = ledger.writer();
        let packs = Ledger::pack_writer(&mut writer, log).expect("pack writer");
        let mut cursor = ingest::Cursor::read(log).expect("cursor");
        let options = &ledger.options;
        let staged_first = ingest::stage(
            log,
            packs,
            ingest::prepare(options, first, false),
            &mut cursor,
        )
        .expect("stage the first");
        let staged_second = ingest::stage(
            log,
            packs,
            ingest::prepare(options, second, false),
            &mut cursor,
        )
        .expect("stage the second before the first is committed");
        let first = ingest::commit(log, &ledger.views, staged_first).expect("commit the first");
        let second = ingest::commit(log, &ledger.views, staged_second).expect("commit the second");
        drop(writer);

        let first: Vec<IngestOutcome> = first.into_iter().flatten().collect();
        let second: Vec<IngestOutcome> = second.into_iter().flatten().collect();
        assert!(
            matches!(first[0], IngestOutcome::Appended { seq: 1, .. }),
            "{first:?}"
        );
        let IngestOutcome::Rejected { id, .. } = first[1] else {
            panic!("{first:?}")
        };
        assert_eq!(second[0], IngestOutcome::Duplicate { of: 1 });
        assert!(
            matches!(second[1], IngestOutcome::Rejected { id: again, .. } if again == id),
            "{second:?}"
        );
        assert!(
            matches!(second[2], IngestOutcome::Appended { seq: 2, .. }),
            "{second:?}"
        );
        assert_eq!(ledger.quarantine().expect("quarantine").len(), 1);
        assert_eq!(ledger.events_by_ctid("second-1").expect("by ctid").len(), 1);
        let report = ledger.verify().expect("verify");
        assert!(report.is_clean(), "{:?}", report.problems);
        // The next plain write follows on.
        let outcome = ledger
            .ingest(&update("third-1"), Origin::new("c/1"))
            .expect("ingest");
        assert!(
            matches!(outcome, IngestOutcome::Appended { seq: 3, .. }),
            "{outcome:?}"
        );
    }

    /// The answers of a scan of every domain's history, as the queries were answered before
    /// the indexes (issue 15): the transfers pending at `at` (each record's `open_at`), due by
    /// `by` when given, sorted as listed.
    fn scanned(
        records: &[(sled::IVec, transfers::TransferRecord)],
        at: DateTime<Utc>,
        by: Option<DateTime<Utc>>,
    ) -> Vec<PendingTransfer> {
        let mut want: Vec<PendingTransfer> = records
            .iter()
            .filter_map(|(domain, record)| {
                let open = record.open_at(Some(micros(at)))?;
                Some(open.pending(&String::from_utf8_lossy(domain)))
            })
            .collect::<Result<_>>()
            .expect("the records' answers");
        if let Some(by) = by {
            want.retain(|t| t.deadline_at.is_none_or(|d| d <= by));
        }
        want.sort_by(|a, b| {
            (a.deadline_at.is_none(), a.deadline_at, &a.domain).cmp(&(
                b.deadline_at.is_none(),
                b.deadline_at,
                &b.domain,
            ))
        });
        want
    }

    /// A generated ledger with many open transfers: 160 domains over three years of Berlin
    /// time (two DST changes a year), starts with an AUTO-ACK, an AUTO-NACK, only a `kk_end`
    /// or no deadline at all, deadlines in DST gaps and overlaps, starts without `kk_start`
    /// and undated ones (no `Date`), reminders, AUTO-ACKs, AUTO-NACKs and ACK answers (departures),
    /// several starts per domain. Drawn by a seeded generator, so a failure names its seed.
    fn many_open_transfers(seed: u8) -> (tempfile::TempDir, Ledger, Vec<DateTime<Utc>>) {
        use chrono::TimeZone;
        use proptest::prelude::RngExt;
        use proptest::test_runner::{RngAlgorithm, TestRng};
        let berlin = |t: DateTime<Utc>| {
            t.with_timezone(&chrono_tz::Europe::Berlin)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
        let mut below = |n: u64| rng.random_range(0..n);
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::open(Options::new(dir.path().join("ledger"))).expect("open");
        let base = Utc
            .with_ymd_and_hms(2022, 1, 1, 0, 0, 0)
            .single()
            .expect("an instant");
        let minutes = 3 * 365 * 24 * 60;
        // Naive Berlin times in a gap (never on the wall clock) and an overlap (twice).
        let dst = ["2023-03-26 02:30:00", "2023-10-29 02:30:00"];
        let mut times = Vec::new();
        let mut items = Vec::new();
        for n in 0..900 {
            let domain = format!("d{}.example", below(160));
            let sent = base + chrono::Duration::minutes(below(minutes) as i64);
            times.push(sent);
            let mut dated = true;
            let body = match below(12) {
                0 | 1 => format!(
                    "<system>\nuser: ExampleUser\ntask: 1403008\nstatus: S1403008 [AUTO-ACK \
                     was processed.]\nsuccess_value: domain: {domain}\nlast_transaction: t{n}\n\
                     kk_answer: AUTOACK\n</system>\n"
                ),
                2 => format!(
                    "<system>\nuser: ExampleUser\ntask: 1403005\nstatus: S1403005 [AUTO-NACK \
                     was processed.]\nsuccess_value: domain: {domain}\ntransaction: t{n}\n\
                     kk_answer: NACK\n</system>\n"
                ),
                3 => format!(
                    "<system>\nuser: ExampleUser\ntask: 1403006\nstatus: S1403006 [Reminder! \
                     Outgoing transfer was started.]\nsuccess_value: domain: {domain}\n\
                     transaction: t{n}\n</system>\n"
                ),
                4 => format!(
                    "<system>\nuser: ExampleUser\ntask: 0106\nstatus: S0106 [Outgoing domain \
                     transfer has been answered successfully.]\nkk_answer: ACK\n</system>\n\
                     <reply>\nsld: {}\ntld: example\n</reply>\n",
                    domain.trim_end_matches(".example")
                ),
                _ => {
                    let start = sent - chrono::Duration::minutes(below(600) as i64);
                    let deadline = berlin(start + chrono::Duration::days(5));
                    let deadline = match below(8) {
                        0 => dst[below(2) as usize].to_string(),
                        _ => deadline,
                    };
                    let timetable = match below(5) {
                        0 => format!("kk_autoack: {deadline}\nkk_end: {deadline}\n"),
                        1 => format!("kk_autonack: {deadline}\nkk_end: {deadline}\n"),
                        2 => format!("kk_end: {deadline}\n"),
                        3 => String::new(),
                        _ => format!("kk_reminder: {}\nkk_autoack: {deadline}\n", berlin(start)),
                    };
                    let kk_start = match below(6) {
                        0 => String::new(),
                        1 => {
                            dated = false;
                            String::new()
                        }
                        _ => format!("kk_start: {}\n", berlin(start)),
                    };
                    format!(
                        "<system>\nuser: ExampleUser\ntask: 1403\nstatus: S1403 [Outgoing \
                         domain transfer has been started successfully.]\n\
                         success_value: domain: {domain}\ntransaction: t{n}\n</system>\n\
                         <reply>\n{kk_start}{timetable}</reply>\n"
                    )
                }
            };
            let date = if dated {
                format!("Date: {}\n", sent.format("%a, %d %b %Y %H:%M:%S +0000"))
            } else {
                String::new()
            };
            let raw = format!(
                "From: robot@autodns.example\n{date}Message-ID: <{seed}-{n}@autodns.example>\n\n{body}"
            );
            items.push((raw.into_bytes(), Origin::new(format!("{n}.eml"))));
        }
        for (n, outcome) in ledger
            .ingest_batch(items)
            .expect("ingest")
            .iter()
            .enumerate()
        {
            assert!(
                matches!(outcome, IngestOutcome::Appended { .. }),
                "seed {seed}, mail {n}: {outcome:?}"
            );
        }
        (dir, ledger, times)
    }

    /// A rebuild in the smallest memory budget (a spill after every event, the runs merged
    /// every eight) leaves the transfer indexes byte for byte as the unbounded fold does, over
    /// a ledger whose spans open, close and reopen many times: a span key removed or put after
    /// a spill must hide or override what an older run holds.
    #[test]
    fn a_rebuild_spilled_after_every_event_keeps_the_transfer_indexes() {
        let all = |ledger: &Ledger| -> Vec<(ProjectionId, Vec<u8>, Vec<u8>)> {
            let mut out = Vec::new();
            for id in ProjectionId::ALL {
                for entry in ledger.views.tree(id).iter() {
                    let (key, value) = entry.expect("a view record");
                    out.push((id, key.to_vec(), value.to_vec()));
                }
            }
            out
        };
        let (dir, ledger, _) = many_open_transfers(2);
        let unbounded = all(&ledger);
        for id in [
            ProjectionId::TransfersByDeadline,
            ProjectionId::TransferSpans,
        ] {
            assert!(
                unbounded.iter().filter(|(tree, ..)| *tree == id).count() > 40,
                "few {} keys",
                id.name()
            );
        }
        drop(ledger);
        let mut options = Options::new(dir.path().join("ledger"));
        options.fold_memory = 1;
        let ledger = Ledger::open(options).expect("open");
        let report = ledger.rebuild().expect("rebuild");
        assert!(report.spills > 100, "spilled {} times", report.spills);
        assert!(
            all(&ledger) == unbounded,
            "the bounded rebuild's views differ"
        );
        assert!(ledger.verify().expect("verify").is_clean());
    }

    /// The deadline index and the interval index answer exactly what a scan of every
    /// domain's history answers: `pending_transfers`, `pending_transfers_due` (windows from
    /// an hour in the past to a century) and its first few rows, at instants after every fact
    /// (the deadline index) and at every ninth fact's time, a microsecond either side, and
    /// random past instants (the interval index). A missing index entry is a missing row here.
    #[test]
    fn the_indexed_pending_transfers_equal_a_scan_of_every_record() {
        for seed in 1..=3u8 {
            let (_dir, ledger, times) = many_open_transfers(seed);
            let records = ledger
                .view_records::<transfers::TransferRecord>(transfers::TREE)
                .expect("the records");
            let open_now = ledger.pending_transfers(Utc::now()).expect("pending").len();
            assert!(open_now >= 40, "seed {seed}: only {open_now} open");
            let mut instants: Vec<DateTime<Utc>> = times
                .iter()
                // Every ninth fact, at its time and a microsecond either side (as many
                // questions as one a third of the facts: the test's time stays as it was).
                .step_by(9)
                .flat_map(|t| [-1, 0, 1].map(|d| *t + chrono::Duration::microseconds(d)))
                .collect();
            let first = *times.iter().min().expect("a fact");
            let last = *times.iter().max().expect("a fact");
            instants.extend((0..40).map(|i| first + (last - first) * i / 40));
            // After every fact: the open set and the deadline index answer.
            instants.extend([
                last + chrono::Duration::days(1),
                Utc::now(),
                DateTime::<Utc>::MAX_UTC,
            ]);
            let windows = [-1, 0, 1, 48, 24 * 30, 24 * 365 * 100].map(chrono::Duration::hours);
            let mut unknown_seen = false;
            let mut overdue_seen = false;
            for at in instants {
                let all = ledger.pending_transfers(at).expect("pending");
                assert_eq!(all, scanned(&records, at, None), "seed {seed} at {at}");
                for window in windows {
                    let by = at
                        .checked_add_signed(window)
                        .unwrap_or(DateTime::<Utc>::MAX_UTC);
                    let due = ledger.pending_transfers_due(at, by).expect("due");
                    assert_eq!(
                        due,
                        scanned(&records, at, Some(by)),
                        "seed {seed} at {at} due by {by}"
                    );
                    for limit in [0, 1, 7] {
                        let first = ledger
                            .first_pending_transfers_due(at, by, limit)
                            .expect("first due");
                        assert_eq!(first, due[..limit.min(due.len())], "seed {seed} at {at}");
                    }
                    unknown_seen |= due.iter().any(|t| t.deadline_at.is_none());
                    overdue_seen |= due.iter().any(|t| t.overdue(at));
                }
            }
            assert!(
                unknown_seen && overdue_seen,
                "seed {seed}: the cases are drawn"
            );
            let report = ledger.verify().expect("verify");
            assert!(report.is_clean(), "seed {seed}: {:?}", report.problems);
        }
    }

    /// An index entry missing from the stored views (a fold that forgot it, a lost write) is
    /// a difference `verify` names, and a row the indexed answer lacks.
    #[test]
    fn an_index_entry_missing_is_found_by_verify() {
        let (_dir, ledger, _) = many_open_transfers(7);
        for tree in [
            crate::projections::transfer_index::DEADLINE_TREE,
            crate::projections::transfer_index::SPANS_TREE,
        ] {
            let space = ledger.views.tree(tree);
            let (key, value) = space
                .iter()
                .next()
                .expect("an entry")
                .expect("the entry reads");
            space.remove(&key).expect("remove");
            let report = ledger.verify().expect("verify");
            assert!(
                report.problems.iter().any(|p| p.contains(tree.name())),
                "{}: {:?}",
                tree.name(),
                report.problems
            );
            space.insert(&key, &value).expect("put back");
            let report = ledger.verify().expect("verify");
            assert!(report.is_clean(), "{:?}", report.problems);
        }
    }
}
