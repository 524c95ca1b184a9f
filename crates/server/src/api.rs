//! The read API: the CLI's `--json` documents over HTTP, with the CLI's value formats, and the
//! change feed (`/api/v1/events`). On a non-loopback listener every route here but the health
//! checks needs `Authorization: Bearer <api token>`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ledger::{Ledger, OrderState};
use ledger_documents::{json, values};
use serde_json::Value;

use crate::error::ApiError;
use crate::state::{AppState, Listener};

/// The query parameters of a request, by name.
type Params = Query<HashMap<String, String>>;

/// A request of the read API that passed the bearer check ([`authorize`]), with the state to
/// answer it from. Handlers take it after their own path and query extractors, so a malformed
/// path or query is answered before the token is looked at, as each handler did by hand.
pub(crate) struct Authorized(Arc<AppState>);

impl FromRequestParts<Arc<AppState>> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Extension(listener) = Extension::<Listener>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        authorize(state, listener, &parts.headers).map_err(IntoResponse::into_response)?;
        Ok(Authorized(state.clone()))
    }
}

impl Authorized {
    /// Answers with `read`'s document, run on the blocking pool (the ledger's reads are
    /// synchronous).
    async fn answer(
        self,
        read: impl FnOnce(&Ledger) -> Result<Value, ApiError> + Send + 'static,
    ) -> Response {
        let ledger = self.0.ledger.clone();
        match tokio::task::spawn_blocking(move || read(&ledger)).await {
            Ok(Ok(document)) => axum::Json(document).into_response(),
            Ok(Err(error)) => error.into_response(),
            Err(join) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, join.to_string()).into_response()
            }
        }
    }
}

/// On a non-loopback listener, the API token must be given as `Authorization: Bearer`, or
/// the dashboard's session cookie must hold its digest.
pub(crate) fn authorize(
    state: &AppState,
    listener: Listener,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    if !listener.needs_api_token {
        return Ok(());
    }
    let Some(want) = &state.config.api_token else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the API on a non-loopback address needs a token: start the server with \
             --api-token-file or LEDGER_API_TOKEN",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(given) = given
        && crate::push::same_secret(want.as_bytes(), given.trim().as_bytes())
    {
        return Ok(());
    }
    // A browser that signed in on the dashboard sends the token's digest as a cookie.
    if let Some(session) = crate::dashboard::session_cookie(headers)
        && crate::push::same_secret(
            crate::dashboard::session_value(&state.session_key, want).as_bytes(),
            session.as_bytes(),
        )
    {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "give the API token as Authorization: Bearer TOKEN (or sign in on the dashboard)",
    ))
}

/// `GET /healthz`: the process is up.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: 200 once the ledger answers and its views stand at the log's head (every
/// projection has folded every event); 503 saying where each stands otherwise (the views are
/// behind after a views step failed, or being rebuilt), or when the store does not answer.
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let ledger = state.ledger.clone();
    match tokio::task::spawn_blocking(move || ledger.readiness()).await {
        Ok(Ok(readiness)) if readiness.caught_up() => format!(
            "ready: views at the log's head (seq {})\n",
            readiness.log_head
        )
        .into_response(),
        Ok(Ok(readiness)) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            match readiness.views_checkpoint {
                Some(checkpoint) => format!(
                    "not ready: the views have folded up to seq {checkpoint}, the log is at {}",
                    readiness.log_head
                ),
                None => format!(
                    "not ready: the views are being rebuilt (the log is at {})",
                    readiness.log_head
                ),
            },
        )
        .into_response(),
        Ok(Err(error)) => ApiError::unavailable(&error).into_response(),
        Err(join) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, join.to_string()).into_response()
        }
    }
}

/// A boolean parameter (`true`/`false`, `1`/`0`; absent: false).
fn flag(params: &HashMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match params.get(name).map(String::as_str) {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1" | "") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "{name}={other:?}: write true or false"
        ))),
    }
}

/// `GET /api/v1/pending-transfers?at=&due_within=`.
pub(crate) async fn pending_transfers(Query(params): Params, reader: Authorized) -> Response {
    let tz = reader.0.config.source_tz;
    reader
        .answer(move |ledger| {
            let at = match params.get("at") {
                Some(text) => {
                    values::parse_instant(text, tz)
                        .map_err(|e| {
                            ApiError::bad_request(format!("at={text:?} {e}; {}", e.hint()))
                        })?
                        .at
                }
                None => Utc::now(),
            };
            let transfers = match params.get("due_within") {
                Some(text) => {
                    let window = values::parse_duration(text)
                        .ok()
                        .and_then(|d| chrono::Duration::from_std(d).ok())
                        .ok_or_else(|| {
                            ApiError::bad_request(format!(
                                "due_within={text:?} is not a duration: write it like 90m, 48h or 2d"
                            ))
                        })?;
                    // `json::due_by` at `at + window`, read from the deadline index.
                    let by = at.checked_add_signed(window).unwrap_or(DateTime::<Utc>::MAX_UTC);
                    ledger.pending_transfers_due(at, by)?
                }
                None => ledger.pending_transfers(at)?,
            };
            Ok(json::transfers(&transfers, at))
        })
        .await
}

/// `GET /api/v1/ctid/{ctid}`: an order's history, as `show --ctid --json`.
pub(crate) async fn ctid(Path(ctid): Path<String>, reader: Authorized) -> Response {
    reader
        .answer(move |ledger| {
            let events = json::oldest_first(ledger.events_by_ctid(&ctid)?);
            if events.is_empty() {
                return Err(ApiError::not_found(format!(
                    "no events for order (ctid) {ctid:?}"
                )));
            }
            let order = ledger.order(&ctid)?;
            Ok(json::order_history(&ctid, order.as_ref(), &events))
        })
        .await
}

/// `GET /api/v1/domain/{name}`: a domain's history, as `show --domain --json`.
pub(crate) async fn domain(Path(name): Path<String>, reader: Authorized) -> Response {
    reader
        .answer(move |ledger| {
            let domain = ledger_parser_domain(&name)?;
            let events = json::oldest_first(ledger.events_by_domain(domain.as_str())?);
            if events.is_empty() {
                return Err(ApiError::not_found(format!(
                    "no events for domain {domain}"
                )));
            }
            let now = Utc::now();
            let state = ledger.domain_state(domain.as_str(), now)?;
            Ok(json::domain_history(&domain, &state, &events, now))
        })
        .await
}

fn ledger_parser_domain(name: &str) -> Result<ledger_parser::DomainName, ApiError> {
    ledger_parser::DomainName::parse(name)
        .ok_or_else(|| ApiError::bad_request(format!("{name:?} is not a domain name")))
}

/// `GET /api/v1/failed-creates?all=`.
pub(crate) async fn failed_creates(Query(params): Params, reader: Authorized) -> Response {
    reader
        .answer(move |ledger| {
            let all = flag(&params, "all")?;
            let mut failed = ledger.failed_creates()?;
            if !all {
                failed.retain(|f| f.resolved_by.is_none());
            }
            Ok(json::failed_creates(&failed))
        })
        .await
}

/// `GET /api/v1/orders?status=failed,resubmit` (the values `orders --status` takes).
pub(crate) async fn orders(Query(params): Params, reader: Authorized) -> Response {
    reader
        .answer(move |ledger| {
            let mut wanted = Vec::new();
            for name in params
                .get("status")
                .into_iter()
                .flat_map(|s| s.split(','))
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                wanted.push(match name {
                    "in-progress" | "in_progress" => OrderState::InProgress,
                    "succeeded" => OrderState::Succeeded,
                    "failed" => OrderState::Failed,
                    "resubmit" => OrderState::Resubmit,
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "status={other:?}: one of in-progress, succeeded, failed, resubmit"
                        )));
                    }
                });
            }
            let orders: Vec<_> = ledger
                .orders()?
                .into_iter()
                .filter(|o| wanted.is_empty() || wanted.contains(&o.state))
                .collect();
            Ok(json::orders(&orders))
        })
        .await
}

/// `GET /api/v1/inventory`.
pub(crate) async fn inventory(reader: Authorized) -> Response {
    reader
        .answer(|ledger| Ok(json::inventory(&ledger.inventory()?)))
        .await
}

/// `GET /api/v1/rejects?all=`.
pub(crate) async fn rejects(Query(params): Params, reader: Authorized) -> Response {
    reader
        .answer(move |ledger| {
            let all = flag(&params, "all")?;
            let mut entries = ledger.quarantine()?;
            if !all {
                entries.retain(|e| e.dismissed.is_none());
            }
            Ok(json::rejects(&entries))
        })
        .await
}

/// `GET /api/v1/stats`.
pub(crate) async fn stats(reader: Authorized) -> Response {
    reader
        .answer(|ledger| Ok(json::stats(&ledger.stats()?)))
        .await
}

/// `GET /api/v1/events?since=SEQ&follow=`: events from `since` on (inclusive, as `export
/// --since`), one JSON document a line; with `follow=true` the response stays open and
/// streams each new event once its write is committed, until the client goes or the server
/// stops.
pub(crate) async fn events(Query(params): Params, Authorized(state): Authorized) -> Response {
    let since = match params.get("since").map(|s| s.parse::<u64>()) {
        None => 0,
        Some(Ok(since)) => since,
        Some(Err(_)) => {
            return ApiError::bad_request("since= takes an event's seq (a whole number)")
                .into_response();
        }
    };
    let follow = match flag(&params, "follow") {
        Ok(follow) => follow,
        Err(error) => return error.into_response(),
    };
    // Each stream holds a blocking thread while it reads: a bounded number of them, so the
    // pushes and reads always have threads.
    let Ok(permit) = state.followers.clone().try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{} event streams are open already; try again later",
                crate::state::MAX_FOLLOWERS
            ),
        )
        .into_response();
    };
    let (lines, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(64);
    let ledger = state.ledger.clone();
    let mut commits = state.commits.clone();
    let mut stopping = state.stopping.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut next = since;
        loop {
            // Seen before reading, so a commit during the read is not missed.
            commits.mark_unchanged();
            for event in ledger.export(next) {
                let line = match event {
                    Ok(event) => {
                        next = event.seq + 1;
                        let mut line = json::event(&event).to_string().into_bytes();
                        line.push(b'\n');
                        Ok(line)
                    }
                    Err(error) => Err(std::io::Error::other(error.to_string())),
                };
                let failed = line.is_err();
                // A reader that stops reading does not hold the stream past the shutdown.
                let sent = runtime.block_on(async {
                    tokio::select! {
                        sent = lines.send(line) => sent.is_ok(),
                        _ = stopping.wait_for(|stop| *stop) => false,
                    }
                });
                if !sent || failed {
                    return;
                }
            }
            if !follow || *stopping.borrow() {
                return;
            }
            let woke = runtime.block_on(async {
                tokio::select! {
                    changed = commits.changed() => changed.is_ok(),
                    _ = stopping.wait_for(|stop| *stop) => false,
                    _ = lines.closed() => false,
                }
            });
            if !woke {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|line| (line, receiver))
    });
    (
        [(header::CONTENT_TYPE, "application/jsonl")],
        Body::from_stream(stream),
    )
        .into_response()
}
