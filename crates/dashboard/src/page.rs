//! The page: what it reads from the ledger, the rows it shows, and its template.

use askama::Template;
use chrono::{DateTime, Datelike, Duration, Utc};
use chrono_tz::Tz;
use ledger::{
    DefaultAction, Ledger, Order, OrderState, PendingTransfer, QuarantineEntry, Readiness,
};
use ledger_documents::{json, values};
use ledger_event::Event;
use ledger_parser::DomainName;

use crate::timeline::{self, Timeline};
use crate::when::When;
use crate::{DashboardError, TRANSFERS_PER_PAGE, countdown};

/// Failed creates, rejects and orders of a state shown at the most (the newest; the API has
/// them all).
const LIST_LIMIT: usize = 50;
/// Orders of one state shown at the most.
const ORDERS_LIMIT: usize = 20;
/// A deadline within this is marked "due within 24 h".
const SOON: i64 = 24;

/// The request's parameters, as given (`?at=&q=&from=`).
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// The page's instant, as `--at` takes it (`2010-05-18 12:00`, RFC 3339); now when absent.
    pub at: Option<String>,
    /// A ctid or a domain (Unicode or punycode) to show the history of.
    pub q: Option<String>,
    /// The first pending transfer shown (0-based), for the pages after the first.
    pub from: Option<String>,
}

/// What the server knows that the ledger does not: its settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The zone AutoDNS's local times are in (`--tz`).
    pub source_tz: Tz,
    /// The trusted-sender policy in effect, in a line (`None`: every sender is accepted).
    pub trust_policy: Option<String>,
}

/// Renders the page for `query` as of its instant (or now).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let ledger = ledger::Ledger::open(ledger::Options::new(dir.path()))?;
/// let settings = ledger_dashboard::Settings {
///     source_tz: chrono_tz::Europe::Berlin,
///     trust_policy: None,
/// };
/// let query = ledger_dashboard::Query {
///     at: Some("2010-05-18 12:00".into()),
///     ..Default::default()
/// };
/// let html = ledger_dashboard::render(&ledger, &settings, &query)?;
/// assert!(html.contains("No pending outgoing transfers"));
/// assert!(html.contains("2010-05-18 10:00:00 UTC"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render(
    ledger: &Ledger,
    settings: &Settings,
    query: &Query,
) -> Result<String, DashboardError> {
    let tz = settings.source_tz;
    let (at, fixed) = match query.at.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => {
            let instant = values::parse_instant(text, tz).map_err(|e| {
                DashboardError::BadRequest(format!("at={text:?} {e}; {}", e.hint()))
            })?;
            // The page adds days to its instant (the timeline, "due within 24 h"): one
            // beyond what chrono can add to is refused, not a panic.
            if !(1..=9999).contains(&instant.at.year()) {
                return Err(DashboardError::BadRequest(format!(
                    "at={text:?} is outside the years 1 to 9999"
                )));
            }
            (instant.at, true)
        }
        _ => (Utc::now(), false),
    };
    let from = match query.from.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(text) => text.parse::<usize>().map_err(|_| {
            DashboardError::BadRequest(format!(
                "from={text:?}: the first transfer to show, a whole number"
            ))
        })?,
    };
    let q = query.q.as_deref().map(str::trim).unwrap_or_default();

    let readiness = ledger.readiness()?;
    let pending = ledger.pending_transfers(at)?;
    let counts = ledger.order_counts()?;
    let failed = ledger.failed_creates()?;
    let open_failed: Vec<_> = failed
        .iter()
        .rev()
        .filter(|f| f.resolved_by.is_none())
        .collect();
    let rejects: Vec<QuarantineEntry> = ledger
        .quarantine()?
        .into_iter()
        .rev()
        .filter(|e| e.dismissed.is_none())
        .collect();
    let last_event = match readiness.log_head {
        0 => None,
        head => ledger.export(head).next().transpose()?,
    };

    let at_param = if fixed {
        query.at.clone().unwrap_or_default().trim().to_string()
    } else {
        String::new()
    };
    let link = |from: usize| {
        let mut link = format!("/?from={from}");
        if fixed {
            link.push_str("&at=");
            link.push_str(&encode(&at_param));
        }
        link
    };
    // A page past the end shows the last rows' page number, not an overflow.
    let from = from.min(pending.len());
    let shown: Vec<TransferRow> = pending
        .iter()
        .skip(from)
        .take(TRANSFERS_PER_PAGE)
        .map(|t| TransferRow::new(t, at, tz))
        .collect();
    let overdue = pending.iter().filter(|t| t.overdue(at)).count();
    let unknown = pending.iter().filter(|t| t.deadline_at.is_none()).count();
    let soon = pending
        .iter()
        .filter(|t| {
            !t.overdue(at)
                && t.deadline_at
                    .is_some_and(|d| d <= at + Duration::hours(SOON))
        })
        .count();
    let transfers = Transfers {
        total: pending.len(),
        first: from + 1,
        last: from + shown.len(),
        overdue,
        soon,
        unknown,
        previous: (from > 0).then(|| link(from.saturating_sub(TRANSFERS_PER_PAGE))),
        next: (from + shown.len() < pending.len()).then(|| link(from + TRANSFERS_PER_PAGE)),
        more: pending.len().saturating_sub(from + shown.len()),
        rows: shown,
    };

    let search = if q.is_empty() {
        None
    } else {
        Some(search(ledger, q, at, tz)?)
    };

    let orders_total = counts.in_progress + counts.succeeded + counts.failed + counts.resubmit;
    let order_group =
        |state: OrderState, title: &'static str| -> Result<OrderGroup, DashboardError> {
            Ok(OrderGroup {
                title,
                class: state.name(),
                count: counts.of(state),
                rows: ledger
                    .orders_in_state(state, ORDERS_LIMIT)?
                    .iter()
                    .map(OrderRow::new)
                    .collect(),
            })
        };
    let orders = vec![
        order_group(OrderState::Failed, "Failed")?,
        order_group(OrderState::Resubmit, "To resubmit")?,
        order_group(OrderState::InProgress, "In progress")?,
    ];

    let page = PageTemplate {
        at: When::new(at, tz),
        fixed,
        at_param,
        zone: tz.name().to_string(),
        q: q.to_string(),
        header: Header {
            events: readiness.log_head,
            last_event: last_event.map(|e| When::new(e.recorded_at, tz)),
            caught_up: readiness.caught_up(),
            readiness: readiness_text(&readiness),
            orders: orders_total,
            succeeded: counts.succeeded,
            pending: pending.len(),
            failed_creates: open_failed.len(),
            rejects: rejects.len(),
        },
        search,
        timeline: timeline::timeline(&pending, at, tz),
        width: timeline::WIDTH,
        height: timeline::HEIGHT,
        days: timeline::DAYS,
        transfers,
        failed_total: open_failed.len(),
        failed: open_failed
            .iter()
            .take(LIST_LIMIT)
            .map(|f| FailedRow {
                ctid: f.ctid.clone().unwrap_or_default(),
                domain: f.domain.clone().unwrap_or_default(),
                status: status_text(f.status.as_ref()),
                error: f.error.clone().unwrap_or_default(),
                nic_response: f.nic_response.clone().unwrap_or_default(),
                when: When::new(f.failed_at, tz),
                seq: f.seq,
            })
            .collect(),
        orders,
        rejects_total: rejects.len(),
        rejects: rejects
            .iter()
            .take(LIST_LIMIT)
            .map(|e| RejectRow {
                id: e.id,
                when: When::new(e.received_at, tz),
                origin: e.origin.0.clone(),
                reason: json::reject_reason(&e.reason),
                untrusted: matches!(e.reason, ledger::QuarantineReason::Untrusted(_)),
                size: e.size,
            })
            .collect(),
        untrusted: rejects
            .iter()
            .filter(|e| matches!(e.reason, ledger::QuarantineReason::Untrusted(_)))
            .count(),
        trust_policy: settings.trust_policy.clone(),
        list_limit: LIST_LIMIT,
        version: env!("CARGO_PKG_VERSION"),
    };
    Ok(page.render()?)
}

/// The history of a ctid and of a domain named `q` (both when both exist).
fn search(ledger: &Ledger, q: &str, at: DateTime<Utc>, tz: Tz) -> Result<Search, DashboardError> {
    let mut found = Vec::new();
    let by_ctid = json::oldest_first(ledger.events_by_ctid(q)?);
    if !by_ctid.is_empty() {
        let order = ledger.order(q)?;
        found.push(History {
            title: format!("Order {q}"),
            subtitle: String::new(),
            state: match &order {
                Some(o) => format!(
                    "{}; last status {}",
                    state_words(o.state),
                    status_text(o.last_status.as_ref())
                ),
                None => "not an order: transfer-out notifications carry AutoDNS's own transaction"
                    .to_string(),
            },
            events: by_ctid.iter().map(|e| EventRow::new(e, tz)).collect(),
        });
    }
    if let Some(domain) = DomainName::parse(q).filter(|d| d.as_str().contains('.')) {
        let events = json::oldest_first(ledger.events_by_domain(domain.as_str())?);
        if !events.is_empty() {
            let state = ledger.domain_state(domain.as_str(), at)?;
            let mut lines = Vec::new();
            // A departure recorded after the page's instant was not known then.
            match state.departure.as_ref().filter(|d| d.at <= at) {
                Some(d) => lines.push(format!(
                    "left the reseller {} ({})",
                    When::new(d.at, tz).utc,
                    match d.reason {
                        ledger::DepartureReason::AutoAck => "auto-ACK",
                        ledger::DepartureReason::AnsweredAck => "transfer answered ACK",
                        ledger::DepartureReason::DomainAway => "domain away",
                    }
                )),
                None => lines.push("in the inventory".to_string()),
            }
            if let Some(t) = &state.pending_transfer {
                lines.push(match t.deadline_at {
                    Some(d) => format!(
                        "outgoing transfer pending: {} at {} ({})",
                        action_words(t.default_action),
                        When::new(d, tz).utc,
                        countdown(d, at)
                    ),
                    None => "outgoing transfer pending, deadline unknown".to_string(),
                });
            }
            let open = state
                .failed_creates
                .iter()
                .filter(|f| f.resolved_by.is_none())
                .count();
            if open > 0 {
                lines.push(format!("{open} failed create(s) open"));
            }
            found.push(History {
                title: format!("Domain {}", domain.as_str()),
                subtitle: domain
                    .ascii()
                    .filter(|a| a != domain.as_str())
                    .unwrap_or_default(),
                state: lines.join("; "),
                events: events.iter().map(|e| EventRow::new(e, tz)).collect(),
            });
        }
    }
    Ok(Search {
        q: q.to_string(),
        found,
    })
}

fn readiness_text(r: &Readiness) -> String {
    match r.views_checkpoint {
        _ if r.caught_up() => format!("caught up (seq {})", r.log_head),
        Some(c) => format!("behind: views at seq {c}, log at {}", r.log_head),
        None => format!("rebuilding the views (log at seq {})", r.log_head),
    }
}

fn status_text(status: Option<&ledger_parser::Status>) -> String {
    match status {
        Some(s) => match &s.text {
            Some(text) => format!("{} {text}", s.code),
            None => s.code.clone(),
        },
        None => String::new(),
    }
}

fn state_words(state: OrderState) -> &'static str {
    match state {
        OrderState::InProgress => "in progress",
        OrderState::Succeeded => "succeeded",
        OrderState::Failed => "failed",
        OrderState::Resubmit => "to resubmit",
    }
}

fn action_words(action: Option<DefaultAction>) -> &'static str {
    match action {
        Some(DefaultAction::Ack) => "auto-ACK: the domain leaves",
        Some(DefaultAction::Nack) => "auto-NACK: the transfer is refused",
        None => "default action unknown",
    }
}

/// A query parameter's value, percent-encoded (all but letters, digits and `-._~:`; a colon
/// may stand in a query, and keeps `at=2010-05-18%2012:00` readable).
fn encode(text: &str) -> String {
    const VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b':');
    percent_encoding::utf8_percent_encode(text, VALUE).to_string()
}

struct Header {
    events: u64,
    last_event: Option<When>,
    caught_up: bool,
    readiness: String,
    orders: u64,
    succeeded: u64,
    pending: usize,
    failed_creates: usize,
    rejects: usize,
}

struct Transfers {
    total: usize,
    first: usize,
    last: usize,
    overdue: usize,
    soon: usize,
    unknown: usize,
    previous: Option<String>,
    next: Option<String>,
    more: usize,
    rows: Vec<TransferRow>,
}

struct TransferRow {
    domain: String,
    ascii: String,
    action: &'static str,
    action_class: &'static str,
    deadline: Option<When>,
    countdown: String,
    /// `overdue`, `soon`, `unknown` or `later`: how the row is marked.
    urgency: &'static str,
    badge: &'static str,
    dst: &'static str,
    transaction: String,
    started: Option<When>,
    time_recorded: bool,
}

impl TransferRow {
    fn new(t: &PendingTransfer, at: DateTime<Utc>, tz: Tz) -> TransferRow {
        let (urgency, badge) = match t.deadline_at {
            None => ("unknown", "DEADLINE UNKNOWN"),
            Some(_) if t.overdue(at) => ("overdue", "OVERDUE"),
            Some(d) if d <= at + Duration::hours(SOON) => ("soon", "DUE WITHIN 24 H"),
            Some(_) => ("later", ""),
        };
        let domain = t.domain.clone();
        let ascii = DomainName::parse(&domain)
            .and_then(|d| d.ascii())
            .filter(|a| *a != domain)
            .unwrap_or_default();
        TransferRow {
            ascii,
            domain,
            action: action_words(t.default_action),
            action_class: match t.default_action {
                Some(DefaultAction::Ack) => "ack",
                Some(DefaultAction::Nack) => "nack",
                None => "unknown",
            },
            deadline: t.deadline_at.map(|d| When::new(d, tz)),
            countdown: t.deadline_at.map(|d| countdown(d, at)).unwrap_or_default(),
            urgency,
            badge,
            dst: match (t.dst_gap, t.dst_overlap) {
                (true, _) => "DST gap: a local time that never happened, read one hour later",
                (_, true) => "DST overlap: a local time that happened twice, the earlier taken",
                _ => "",
            },
            transaction: t.transaction.clone().unwrap_or_default(),
            started: t.started_at.map(|s| When::new(s, tz)),
            time_recorded: t.time_recorded,
        }
    }
}

struct FailedRow {
    ctid: String,
    domain: String,
    status: String,
    error: String,
    nic_response: String,
    when: When,
    seq: u64,
}

struct OrderGroup {
    title: &'static str,
    class: &'static str,
    count: u64,
    rows: Vec<OrderRow>,
}

struct OrderRow {
    ctid: String,
    domain: String,
    status: String,
}

impl OrderRow {
    fn new(o: &Order) -> OrderRow {
        OrderRow {
            ctid: o.ctid.clone(),
            domain: o.domain.clone().unwrap_or_default(),
            status: status_text(o.last_status.as_ref()),
        }
    }
}

struct RejectRow {
    id: u64,
    when: When,
    origin: String,
    reason: String,
    untrusted: bool,
    size: u64,
}

struct Search {
    q: String,
    found: Vec<History>,
}

struct History {
    title: String,
    subtitle: String,
    state: String,
    events: Vec<EventRow>,
}

struct EventRow {
    seq: u64,
    when: When,
    time_recorded: bool,
    kind: &'static str,
    status: String,
    status_class: &'static str,
    notices: Vec<String>,
    error: String,
    nic_response: String,
    origin: String,
}

impl EventRow {
    fn new(e: &Event, tz: Tz) -> EventRow {
        let n = &e.notification;
        EventRow {
            seq: e.seq,
            when: When::new(e.effective_time(), tz),
            time_recorded: e.occurred_at.is_none(),
            kind: e.kind.name(),
            status: status_text(n.status.as_ref()),
            status_class: n.status.as_ref().map_or("none", |s| s.class.name()),
            notices: n
                .notices
                .iter()
                .map(|x| match &x.text {
                    Some(text) => format!("{} {text}", x.code),
                    None => x.code.clone(),
                })
                .collect(),
            error: n.error.clone().unwrap_or_default(),
            nic_response: n.nic_response.clone().unwrap_or_default(),
            origin: e.source.origin.0.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "page.html")]
struct PageTemplate {
    at: When,
    fixed: bool,
    at_param: String,
    zone: String,
    q: String,
    header: Header,
    search: Option<Search>,
    timeline: Timeline,
    width: u32,
    height: u32,
    days: i64,
    transfers: Transfers,
    failed_total: usize,
    failed: Vec<FailedRow>,
    orders: Vec<OrderGroup>,
    rejects_total: usize,
    rejects: Vec<RejectRow>,
    untrusted: usize,
    trust_policy: Option<String>,
    list_limit: usize,
    version: &'static str,
}
