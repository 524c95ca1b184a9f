//! The dashboard's routes: the page (`GET /`, rendered by `crates/dashboard`), its stylesheet
//! and script, the raw notifications (`GET /raw/{seq}`, `text/plain`, sandboxed), the live
//! stream the page reloads on (`GET /live`, server-sent events), and the sign-in that keeps
//! the API token in a cookie (`POST /login`) on a non-loopback address; and the security
//! headers every response of the server carries.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Form, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::error::ApiError;
use crate::state::{AppState, Listener};

/// The cookie that carries the API token's digest once a browser signed in.
pub(crate) const SESSION_COOKIE: &str = "ledger_session";

/// The policy of every response that sets none of its own: nothing from elsewhere, no inline
/// script or style, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'";
/// The raw notifications' policy: a document that can do nothing at all.
const RAW_POLICY: &str = "sandbox; default-src 'none'";

/// Adds `X-Content-Type-Options: nosniff`, a `Content-Security-Policy` (where the response
/// has none), `Referrer-Policy` and `X-Frame-Options` to every response.
pub(crate) async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    headers
        .entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    response
}

/// How long a session cookie lasts (a restart of the server ends it sooner).
const SESSION_MAX_AGE: u64 = 30 * 24 * 3600;

/// A fresh random key for the session cookies (from the kernel; should that fail, from the
/// clock and the process, which still changes at every start).
pub(crate) fn session_key() -> [u8; 32] {
    use std::io::Read;
    let mut key = [0u8; 32];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut key));
    if random.is_err() {
        use sha2::Digest;
        let seed = format!(
            "{:?}{}{:p}",
            std::time::SystemTime::now(),
            std::process::id(),
            &key
        );
        key.copy_from_slice(&sha2::Sha256::digest(seed.as_bytes()));
    }
    key
}

/// What a session cookie holds for `token`: SHA-256 of this start's key and the token (the
/// token itself never leaves the form, and a cookie cannot be checked against guesses
/// without the key).
pub(crate) fn session_value(key: &[u8; 32], token: &str) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    hash.update(key);
    hash.update(token.as_bytes());
    ledger_event::to_hex(&hash.finalize())
}

/// The session cookie's value in the request's `Cookie` headers, if any.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
}

fn settings(state: &AppState) -> ledger_dashboard::Settings {
    let policy = &state.config.settings["trust_policy"];
    ledger_dashboard::Settings {
        source_tz: state.config.source_tz,
        trust_policy: policy["file"]
            .as_str()
            .map(|file| format!("the policy in {file}")),
    }
}

/// Answers an unauthorized browser: the sign-in form where a token is configured, else why
/// the page cannot be had on this address.
fn sign_in(state: &AppState, next: &str, message: &str) -> Response {
    if state.config.api_token.is_none() {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the dashboard on a non-loopback address needs a token: start the server with \
             --api-token-file or LEDGER_API_TOKEN",
        )
        .into_response();
    }
    match ledger_dashboard::login_page(message, next) {
        Ok(html) => (StatusCode::UNAUTHORIZED, Html(html)).into_response(),
        Err(error) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
        }
    }
}

/// `GET /?at=&q=&from=`: the dashboard.
pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    Extension(listener): Extension<Listener>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if crate::api::authorize(&state, listener, &headers).is_err() {
        let next = uri.path_and_query().map_or("/", |p| p.as_str());
        return sign_in(&state, next, "");
    }
    let query = ledger_dashboard::Query {
        at: params.get("at").cloned(),
        q: params.get("q").cloned(),
        from: params.get("from").cloned(),
    };
    let settings = settings(&state);
    let ledger = state.ledger.clone();
    let rendered =
        tokio::task::spawn_blocking(move || ledger_dashboard::render(&ledger, &settings, &query))
            .await;
    match rendered {
        Ok(Ok(html)) => (
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Html(html),
        )
            .into_response(),
        Ok(Err(error)) => ApiError::from(error).into_response(),
        Err(join) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, join.to_string()).into_response()
        }
    }
}

/// `POST /login` (`token`, `next`): a right token sets the session cookie (`HttpOnly`,
/// `SameSite=Strict`, and `Secure` behind a TLS proxy that says so) and goes back to `next`;
/// a wrong one shows the form again, 401.
pub(crate) async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let next = form
        .get("next")
        .map(String::as_str)
        // A path of this site only: `/…`, never `//host`, a backslash (`/\\host`), or a
        // control character or space a browser would drop (`/\t/host`).
        .filter(|n| {
            n.starts_with('/')
                && !n.starts_with("//")
                && !n
                    .chars()
                    .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
        })
        .unwrap_or("/");
    let Some(want) = &state.config.api_token else {
        return sign_in(&state, next, "");
    };
    let given = form.get("token").map(|t| t.trim()).unwrap_or_default();
    if !crate::push::same_secret(want.as_bytes(), given.as_bytes()) {
        return sign_in(&state, next, "That is not the server's API token.");
    }
    let behind_tls = state.config.push.trust_forwarded_for
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; Max-Age={SESSION_MAX_AGE}; HttpOnly; SameSite=Strict{}",
        session_value(&state.session_key, want),
        if behind_tls { "; Secure" } else { "" }
    );
    let mut response = Redirect::to(next).into_response();
    match HeaderValue::from_str(&cookie) {
        Ok(value) => {
            response.headers_mut().insert(header::SET_COOKIE, value);
            response
        }
        Err(error) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
        }
    }
}

/// `GET /raw/{seq}`: an event's notification exactly as it arrived, as `text/plain` in a
/// sandbox (never rendered as HTML, whatever it holds).
pub(crate) async fn raw(
    State(state): State<Arc<AppState>>,
    Extension(listener): Extension<Listener>,
    headers: HeaderMap,
    Path(seq): Path<String>,
) -> Response {
    if let Err(error) = crate::api::authorize(&state, listener, &headers) {
        return error.into_response();
    }
    let Ok(seq) = seq.parse::<u64>() else {
        return ApiError::bad_request(format!("{seq:?} is not an event's seq (a whole number)"))
            .into_response();
    };
    let ledger = state.ledger.clone();
    let read = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        match ledger.export(seq).next().transpose()? {
            Some(event) if event.seq == seq => Ok(ledger.raw(&event)?),
            _ => Err(ApiError::not_found(format!("no event with seq {seq}"))),
        }
    })
    .await;
    match read {
        Ok(Ok(bytes)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(RAW_POLICY),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(error)) => error.into_response(),
        Err(join) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, join.to_string()).into_response()
        }
    }
}

/// `GET /static/dashboard.css`.
pub(crate) async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", ledger_dashboard::STYLESHEET)
}

/// `GET /static/dashboard.js`.
pub(crate) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", ledger_dashboard::SCRIPT)
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        text,
    )
        .into_response()
}

/// `GET /live`: a server-sent `commit` event after each committed write, until the client
/// goes or the server stops. The session cookie authorizes it (an `EventSource` cannot send
/// a header); it counts among the follow streams' bounded number.
pub(crate) async fn live(
    State(state): State<Arc<AppState>>,
    Extension(listener): Extension<Listener>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = crate::api::authorize(&state, listener, &headers) {
        return error.into_response();
    }
    let Ok(permit) = state.followers.clone().try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many live streams are open already; try again later",
        )
        .into_response();
    };
    let mut commits = state.commits.clone();
    commits.mark_unchanged();
    let stopping = state.stopping.clone();
    let stream = futures_util::stream::unfold(
        (commits, stopping, permit),
        |(mut commits, mut stopping, permit)| async move {
            if *stopping.borrow() {
                return None;
            }
            let committed = tokio::select! {
                changed = commits.changed() => changed.is_ok(),
                _ = stopping.wait_for(|stop| *stop) => false,
            };
            if !committed {
                return None;
            }
            let n = *commits.borrow_and_update();
            let event = SseEvent::default().event("commit").data(n.to_string());
            Some((Ok::<_, Infallible>(event), (commits, stopping, permit)))
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}
