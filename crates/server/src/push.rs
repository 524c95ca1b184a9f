//! `POST /push/autodns/{token}`: a notification pushed by AutoDNS, answered only once it is
//! durable (200 with the outcome), or 503 when it could not be kept (so the sender retries or
//! falls back to mail).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use ledger::{GroupReply, Ledger};
use ledger_event::Origin;

use crate::error::ApiError;
use crate::state::{AppState, BODY_DEADLINE, BODY_LIMIT};

/// The handler of both push paths (with and without a token).
pub(crate) async fn push(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    token: Option<Path<String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // On the ledger's socket there is no peer address: a push there comes from this host.
    let peer = peer.map_or(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        |Extension(ConnectInfo(p))| p,
    );
    let (outcome, response) = match accept(&state, peer, token, &headers, body).await {
        Ok(response) => response,
        Err((outcome, error)) => (outcome, error.into_response()),
    };
    state.metrics.push(outcome);
    response
}

/// What a push came to, for `ledger_push_requests_total{outcome}`.
type Outcome = &'static str;

async fn accept(
    state: &AppState,
    peer: SocketAddr,
    token: Option<Path<String>>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Outcome, Response), (Outcome, ApiError)> {
    let access = &state.config.push;
    if let (Some(want), Some(Path(given))) = (&access.token, &token)
        && !same_secret(want.as_bytes(), given.as_bytes())
    {
        return Err(("not_found", ApiError::not_found("no such path")));
    }
    let client = crate::peer::client(peer, headers, access.trust_forwarded_for);
    if !access.allow.is_empty() && !access.allow.iter().any(|net| net.contains(&client)) {
        return Err((
            "forbidden",
            ApiError::new(StatusCode::FORBIDDEN, format!("{client} may not push")),
        ));
    }
    let bytes = read_body(headers, body).await?;
    let ledger = state.ledger.clone();
    let origin = Origin::new(format!("push:{client}"));
    let outcome = match write(ledger, bytes, origin).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => {
            return Err(("unavailable", ApiError::unavailable(&error)));
        }
        Err(lost) => {
            return Err((
                "unavailable",
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, lost),
            ));
        }
    };
    let name = match outcome {
        ledger::IngestOutcome::Appended { .. } => "ingested",
        ledger::IngestOutcome::Duplicate { .. } => "duplicate",
        ledger::IngestOutcome::Rejected { .. } => "rejected",
    };
    let document = ledger_documents::json::outcome(&outcome);
    Ok((name, (StatusCode::OK, axum::Json(document)).into_response()))
}

/// Bodies up to this size are parsed on the async worker; larger ones on a blocking thread.
const PARSE_INLINE: usize = 64 * 1024;

/// Writes one push through the ledger's group commit without a blocking thread per push: a
/// body up to [`PARSE_INLINE`] is parsed here and queued ([`Ledger::enqueue`]); the request
/// then waits for its outcome, and only a request that is handed the lead takes a blocking
/// thread, to write every queued push at once ([`Ledger::lead`]). A larger body is parsed
/// and written from a blocking thread ([`Ledger::ingest`]). `Err` when the outcome was lost
/// (a write that panicked).
async fn write(
    ledger: Arc<Ledger>,
    bytes: Bytes,
    origin: Origin,
) -> Result<ledger::Result<ledger::IngestOutcome>, String> {
    if bytes.len() > PARSE_INLINE {
        // All on the blocking thread: a request dropped while it runs cannot drop a lead.
        return tokio::task::spawn_blocking(move || ledger.ingest(&bytes, origin))
            .await
            .map_err(|e| e.to_string());
    }
    let (tell, told) = tokio::sync::oneshot::channel();
    let reply: ledger::GroupReplier = Box::new(move |r| tell.send(r).is_ok());
    // No await between queueing and spawning the lead: a dropped request cannot drop it.
    let queued = match ledger.enqueue(&bytes, origin, reply) {
        Ok(queued) => queued,
        Err(error) => return Ok(Err(error)),
    };
    if !queued.leads {
        let mut waiting = Waiting {
            told: Some(told),
            ledger: ledger.clone(),
            ticket: queued.ticket,
        };
        let reply = match waiting.told.as_mut() {
            Some(told) => told.await,
            None => return Err("the write of this push ended without an outcome".into()),
        };
        // Answered: nothing for the guard to pass on.
        waiting.told = None;
        match reply {
            Ok(GroupReply::Done(result)) => return Ok(result),
            Ok(GroupReply::Lead) => {}
            Err(_) => return Err("the write of this push ended without an outcome".into()),
        }
    }
    // A blocking task runs to its end even when this request is dropped meanwhile.
    tokio::task::spawn_blocking(move || ledger.lead(queued.ticket))
        .await
        .map_err(|e| e.to_string())
}

/// A push waiting for its outcome or for the lead. Dropped while waiting (the client went
/// away, so hyper dropped the request), it closes its channel; if the lead had already been
/// handed to it, it leads anyway on a blocking thread, so the queued pushes behind it are
/// written and the group never stays without a leader.
struct Waiting {
    told: Option<tokio::sync::oneshot::Receiver<GroupReply>>,
    ledger: Arc<Ledger>,
    ticket: u64,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let Some(mut told) = self.told.take() else {
            return;
        };
        // From here a hand-over fails (and passes the lead on), or it happened already.
        told.close();
        if let Ok(GroupReply::Lead) = told.try_recv() {
            let (ledger, ticket) = (self.ledger.clone(), self.ticket);
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn_blocking(move || {
                        let _ = ledger.lead(ticket);
                    });
                }
                Err(_) => {
                    let _ = ledger.lead(ticket);
                }
            }
        }
    }
}

/// The whole body, at most [`BODY_LIMIT`] bytes (413 above, as soon as it is known), within
/// [`BODY_DEADLINE`] (408 after: a sender that never finishes keeps nothing).
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, (Outcome, ApiError)> {
    let too_large = || {
        (
            "too_large",
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a push is at most {BODY_LIMIT} bytes"),
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    let read = async {
        let mut body = body;
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                (
                    "bad_request",
                    ApiError::bad_request(format!("reading the body: {e}")),
                )
            })?;
            if let Some(data) = frame.data_ref() {
                if bytes.len() + data.len() > BODY_LIMIT {
                    return Err(too_large());
                }
                bytes.extend_from_slice(data);
            }
        }
        Ok(Bytes::from(bytes))
    };
    match tokio::time::timeout(BODY_DEADLINE, read).await {
        Ok(result) => result,
        Err(_) => Err((
            "timeout",
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the body did not arrive within {} s",
                    BODY_DEADLINE.as_secs()
                ),
            ),
        )),
    }
}

/// Compares two secrets in time that depends on their lengths only.
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(ctid: &str) -> Vec<u8> {
        format!(
            "<system>\nuser: ExampleUser\ntask: 0101\nstatus: S0101 [Domain has been \
             registered successfully.]\ntransaction: {ctid}\n</system>\n"
        )
        .into_bytes()
    }

    /// The lead is handed to a push whose request is then dropped before it saw the hand-over
    /// (its client went away): the guard leads anyway, so its push and every push queued
    /// behind it are written, and the group is left without a leader (the next push leads).
    /// The second push is queued while the first one's write is under way (from the commit
    /// observer), so the lead, not an outcome, is what it is handed.
    #[test]
    fn a_push_dropped_after_the_lead_was_handed_to_it_still_leads() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Arc::new(Ledger::open(ledger::Options::new(dir.path().join("l"))).unwrap());
        let (tell, told) = tokio::sync::oneshot::channel();
        let second = Arc::new(std::sync::Mutex::new(None));
        {
            let (weak, second) = (Arc::downgrade(&ledger), second.clone());
            let mut tell = Some(tell);
            let observer = std::sync::Mutex::new(move |_: ledger::CommitInfo| {
                if let (Some(tell), Some(ledger)) = (tell.take(), weak.upgrade()) {
                    let queued = ledger
                        .enqueue(
                            &create("second"),
                            Origin::new("push:b"),
                            Box::new(move |r| tell.send(r).is_ok()),
                        )
                        .unwrap();
                    *second.lock().unwrap() = Some(queued);
                }
            });
            assert!(
                ledger.set_commit_observer(Box::new(move |info| {
                    (observer.lock().unwrap())(info)
                }))
            );
        }
        let first = ledger
            .enqueue(&create("first"), Origin::new("push:a"), Box::new(|_| true))
            .unwrap();
        assert!(first.leads);
        assert!(ledger.lead(first.ticket).is_ok());
        let second = second
            .lock()
            .unwrap()
            .take()
            .expect("queued during the write");
        assert!(!second.leads);
        assert_eq!(ledger.events_by_ctid("second").unwrap().len(), 0);
        // Its request is dropped without looking: the guard finds the lead and uses it.
        drop(Waiting {
            told: Some(told),
            ledger: ledger.clone(),
            ticket: second.ticket,
        });
        assert_eq!(ledger.events_by_ctid("second").unwrap().len(), 1);
        let third = ledger
            .enqueue(&create("third"), Origin::new("push:c"), Box::new(|_| true))
            .unwrap();
        assert!(
            third.leads,
            "the group was left with a leader that never leads"
        );
        assert!(ledger.lead(third.ticket).is_ok());
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(super::same_secret(b"s3cret", b"s3cret"));
        assert!(!super::same_secret(b"s3cret", b"s3creT"));
        assert!(!super::same_secret(b"s3cret", b"s3cre"));
    }
}
