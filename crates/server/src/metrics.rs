//! `GET /metrics`: OpenMetrics text (prometheus-client). The projections' figures are read at
//! each scrape; the push counters and the commit histogram live with the server.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::error::ApiError;
use crate::state::{AppState, Listener};
use crate::worker::WorkerMetrics;

/// The metrics kept between scrapes.
#[derive(Clone)]
pub(crate) struct Metrics {
    pub(crate) pushes: Family<OutcomeLabel, Counter>,
    pub(crate) commit_duration: Histogram,
    /// Items (pushes) per group commit.
    pub(crate) commit_items: Histogram,
    /// What the workers fetched, and their errors.
    pub(crate) workers: WorkerMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            pushes: Family::default(),
            // 0.5 ms to about 2 s.
            commit_duration: Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(0.0005, 2.0, 13),
            ),
            // 1 to 1,024 (a write holds at most 1,000).
            commit_items: Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(1.0, 2.0, 11),
            ),
            workers: WorkerMetrics::default(),
        }
    }
}

impl Metrics {
    /// Counts a push by what it came to.
    pub(crate) fn push(&self, outcome: &'static str) {
        self.pushes
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_string(),
            })
            .inc();
    }
}

/// `outcome="ingested"|"duplicate"|"rejected"|"unavailable"|"not_found"|"forbidden"|…`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutcomeLabel {
    outcome: String,
}

/// `kind="transfer_out_started"|…`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

/// The handler.
pub(crate) async fn metrics(
    State(state): State<Arc<AppState>>,
    Extension(listener): Extension<Listener>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = crate::api::authorize(&state, listener, &headers) {
        return error.into_response();
    }
    let scrape = state.clone();
    match tokio::task::spawn_blocking(move || encode(&scrape)).await {
        Ok(Ok(text)) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Ok(Err(error)) => error.into_response(),
        Err(join) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, join.to_string()).into_response()
        }
    }
}

/// One scrape: the projections' figures now, and the kept metrics.
fn encode(state: &AppState) -> Result<String, ApiError> {
    let now = Utc::now();
    let pending = state.ledger.pending_transfers(now)?;
    let stats = state.ledger.stats()?;
    let rejects = state
        .ledger
        .quarantine()?
        .iter()
        .filter(|e| e.dismissed.is_none())
        .count();
    let mut registry = Registry::default();
    let gauge = |value: i64| {
        let g: Gauge = Gauge::default();
        g.set(value);
        g
    };
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    registry.register(
        "ledger_pending_transfers",
        "Outgoing transfers pending now",
        gauge(count(pending.len())),
    );
    registry.register(
        "ledger_pending_transfers_overdue",
        "Pending outgoing transfers whose deadline has passed",
        gauge(count(pending.iter().filter(|t| t.overdue(now)).count())),
    );
    registry.register(
        "ledger_pending_transfers_deadline_unknown",
        "Pending outgoing transfers whose deadline nobody can tell",
        gauge(count(
            pending.iter().filter(|t| t.deadline_at.is_none()).count(),
        )),
    );
    if let Some(next) = pending.iter().filter_map(|t| t.deadline_at).min() {
        registry.register(
            "ledger_next_deadline_timestamp_seconds",
            "The earliest deadline of a pending outgoing transfer (Unix time)",
            gauge(next.timestamp()),
        );
    }
    let kinds: Family<KindLabel, Counter> = Family::default();
    for (kind, n) in &stats.kinds {
        kinds
            .get_or_create(&KindLabel { kind: kind.clone() })
            .inc_by(*n);
    }
    registry.register("ledger_events", "Events in the log, by kind", kinds);
    registry.register(
        "ledger_rejects",
        "Rejected inputs kept and not dismissed",
        gauge(count(rejects)),
    );
    registry.register(
        "ledger_push_requests",
        "AutoDNS pushes, by what they came to",
        state.metrics.pushes.clone(),
    );
    registry.register(
        "ledger_commit_duration_seconds",
        "How long a group commit's write and flush took",
        state.metrics.commit_duration.clone(),
    );
    registry.register(
        "ledger_commit_items",
        "How many items (pushes) a group commit wrote",
        state.metrics.commit_items.clone(),
    );
    registry.register(
        "ledger_fetched",
        "Items the server's fetchers (poll, Maildir, mailbox) ingested, by source and outcome",
        state.metrics.workers.fetched.clone(),
    );
    registry.register(
        "ledger_fetch_errors",
        "Errors the server's fetchers met and went on from, by source",
        state.metrics.workers.errors.clone(),
    );
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(text)
}
