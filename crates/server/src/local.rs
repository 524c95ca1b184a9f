//! The routes only the ledger's socket has: what the other `ledger` commands need while this
//! server holds the ledger.
//!
//! * `GET /api/v1/settings`: the holder's settings that apply to what is ingested through it;
//! * `POST /api/v1/ingest?`: a body of framed items ([`encode_item`]), committed with the
//!   ledger's own batches, answered with a JSON array of outcomes
//!   ([`ledger_documents::json::outcome`]) in the items' order;
//! * `POST /api/v1/ingest-oversize?origin=`: one item over the size limit, kept whole (at most
//!   [`crate::Config::oversize_limit`] bytes, within [`crate::Config::oversize_deadline`]);
//! * `POST /api/v1/record-response?ctid=&command=&domain=&origin=`: the body is a CentralNic
//!   response, answered with its outcome.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ledger::Ledger;
use ledger_event::Origin;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// What an ingest body holds beside its last item at the most: a client sends batches of
/// 16 MiB plus one item (and each item's few bytes of framing).
const INGEST_BATCH_BYTES: usize = 17 * 1024 * 1024;

/// Appends one item to an ingest body: its origin's length (4 bytes, big-endian), the origin
/// (UTF-8), the item's length (8 bytes, big-endian), the item's bytes.
pub fn encode_item(body: &mut Vec<u8>, origin: &str, bytes: &[u8]) {
    let origin_len = u32::try_from(origin.len()).unwrap_or(u32::MAX);
    body.extend_from_slice(&origin_len.to_be_bytes());
    body.extend_from_slice(&origin.as_bytes()[..origin_len as usize]);
    body.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    body.extend_from_slice(bytes);
}

/// The items of an ingest body, or why it is not one.
fn decode_items(mut body: &[u8]) -> Result<Vec<(Vec<u8>, Origin)>, ApiError> {
    let broken = || ApiError::bad_request("the ingest body is not a sequence of framed items");
    let mut items = Vec::new();
    while !body.is_empty() {
        let (len, rest) = body.split_first_chunk::<4>().ok_or_else(broken)?;
        let len = u32::from_be_bytes(*len) as usize;
        let (origin, rest) = rest.split_at_checked(len).ok_or_else(broken)?;
        let origin = std::str::from_utf8(origin).map_err(|_| broken())?;
        let (len, rest) = rest.split_first_chunk::<8>().ok_or_else(broken)?;
        let len = usize::try_from(u64::from_be_bytes(*len)).map_err(|_| broken())?;
        let (bytes, rest) = rest.split_at_checked(len).ok_or_else(broken)?;
        items.push((bytes.to_vec(), Origin::new(origin)));
        body = rest;
    }
    Ok(items)
}

/// Runs a write on the blocking pool and answers its document.
async fn write(
    state: &AppState,
    work: impl FnOnce(&Ledger) -> Result<Value, ApiError> + Send + 'static,
) -> Response {
    let ledger = state.ledger.clone();
    let done = tokio::task::spawn_blocking(move || work(&ledger)).await;
    // Whatever it came to, the follow streams look again (a failed batch may have committed
    // its first pieces).
    state.committed.send_modify(|n| *n += 1);
    match done {
        Ok(Ok(document)) => axum::Json(document).into_response(),
        Ok(Err(error)) => error.into_response(),
        Err(join) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, join.to_string()).into_response()
        }
    }
}

/// The whole body, at most `limit` bytes.
async fn whole_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))
}

/// `GET /api/v1/settings`.
pub(crate) async fn settings(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(state.config.settings.clone()).into_response()
}

/// `POST /api/v1/ingest`.
pub(crate) async fn ingest(State(state): State<Arc<AppState>>, body: Body) -> Response {
    let limit = INGEST_BATCH_BYTES.saturating_add(state.ledger.options().max_input_size);
    let items = match whole_body(body, limit).await.and_then(|b| decode_items(&b)) {
        Ok(items) => items,
        Err(error) => return error.into_response(),
    };
    write(&state, move |ledger| {
        let outcomes = ledger.ingest_batch(items)?;
        Ok(Value::Array(
            outcomes
                .iter()
                .map(ledger_documents::json::outcome)
                .collect(),
        ))
    })
    .await
}

/// `POST /api/v1/ingest-oversize?origin=`: one item over the size limit, its body written to a
/// temporary file in the ledger's `spill/` directory as it arrives (never held in memory; the
/// file goes when the request does, finished or not), then kept whole as a reject
/// ([`Ledger::keep_oversize`]) and answered with its outcome. A body over
/// [`crate::Config::oversize_limit`] is answered 413 (at once when its `Content-Length` says
/// so, else as soon as it passes the limit, before more is spooled), one that does not arrive
/// whole within [`crate::Config::oversize_deadline`] 408; nothing is kept of either.
pub(crate) async fn ingest_oversize(
    State(state): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    use http_body_util::BodyExt;
    use std::io::Write;
    let limit = state.config.oversize_limit;
    let deadline = state.config.oversize_deadline;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("an item through the socket is at most {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large().into_response();
    }
    let origin = params.get("origin").cloned().unwrap_or_else(|| "-".into());
    let dir = state.ledger.options().path.join("spill");
    let spooled = async {
        let failed = |e: std::io::Error| ApiError::unavailable_io(&dir, &e);
        let mut file = tokio::task::block_in_place(|| {
            std::fs::create_dir_all(&dir)?;
            tempfile::Builder::new().prefix("socket-").tempfile_in(&dir)
        })
        .map_err(failed)?;
        let mut size = 0u64;
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
            if let Some(data) = frame.data_ref() {
                size += data.len() as u64;
                if size > limit {
                    return Err(too_large());
                }
                tokio::task::block_in_place(|| file.write_all(data)).map_err(failed)?;
            }
        }
        Ok::<_, ApiError>((file.into_temp_path(), size))
    };
    // Dropping the spooling on its deadline drops (and so removes) its temporary file.
    let (path, size) = match tokio::time::timeout(deadline, spooled).await {
        Ok(Ok(spooled)) => spooled,
        Ok(Err(error)) => return error.into_response(),
        Err(_) => {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the item did not arrive within {} s",
                    deadline.as_secs_f64()
                ),
            )
            .into_response();
        }
    };
    write(&state, move |ledger| {
        let mut file =
            std::fs::File::open(&path).map_err(|e| ApiError::unavailable_io(&path, &e))?;
        let kept = ledger.keep_oversize(&mut file, size, Origin::new(origin))?;
        Ok(ledger_documents::json::outcome(&kept))
    })
    .await
}

/// `POST /api/v1/record-response?ctid=&command=&domain=&origin=`.
pub(crate) async fn record_response(
    State(state): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
    body: Body,
) -> Response {
    let limit = state.ledger.options().max_input_size.saturating_add(1);
    let bytes = match whole_body(body, limit).await {
        Ok(bytes) => bytes,
        Err(error) => return error.into_response(),
    };
    let Some(ctid) = params.get("ctid").filter(|c| !c.trim().is_empty()).cloned() else {
        return ApiError::bad_request("ctid= is needed").into_response();
    };
    write(&state, move |ledger| {
        let origin = params.get("origin").map_or("-", String::as_str);
        let outcome = ledger.record_response(
            &bytes,
            ctid.trim(),
            params.get("command").map(String::as_str),
            params.get("domain").map(String::as_str),
            Origin::new(origin),
        )?;
        Ok(ledger_documents::json::outcome(&outcome))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_frame_and_unframe() {
        let mut body = Vec::new();
        encode_item(&mut body, "mail/1.eml", b"first");
        encode_item(&mut body, "box.mbox#2", b"");
        let items = decode_items(&body).expect("framed");
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].0, b"first");
        assert_eq!(items[1].1.0, "box.mbox#2");
        assert!(decode_items(&body[..body.len() - 3]).is_err());
    }
}
