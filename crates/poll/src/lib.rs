//! The AutoDNS JSON API poll client: `GET {endpoint}/poll` fetches the oldest queued message,
//! the caller commits it, and only then `PUT {endpoint}/poll/{id}` confirms it, so a crash at
//! any moment loses nothing (a message committed but not confirmed comes again, and the
//! ledger finds it a duplicate).
//!
//! The crate knows nothing of the ledger's store: [`Poller::drain`] hands each message's raw
//! JSON (the whole response body, envelope and all) to a commit function of the caller's.
//! Requests are paced under AutoDNS's documented 3 requests per second; 429 and 5xx answers
//! (and failed connections) are retried with backoff, honouring `Retry-After`; a 401 stops.

#![warn(missing_docs)]

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

/// AutoDNS's live JSON API.
pub const DEFAULT_ENDPOINT: &str = "https://api.autodns.com/v1";

/// The least time between two requests: 2.5 requests per second, under the documented 3.
pub const MIN_INTERVAL: Duration = Duration::from_millis(400);

/// Why polling stopped.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// AutoDNS refused the login (401).
    #[error(
        "AutoDNS refused the login of user {user:?} in context {context} (401 Unauthorized): \
         check the user, the password and the context"
    )]
    Unauthorized {
        /// The user.
        user: String,
        /// The context.
        context: u32,
    },
    /// An answer that is neither success nor worth retrying (403, 404, another 4xx).
    #[error("AutoDNS answered {status} to {method} {url}: {text}")]
    Refused {
        /// The request's method.
        method: &'static str,
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The answer's `status.text`, else its body.
        text: String,
    },
    /// Retries did not help: the last answer was still 429, 5xx or a failed connection.
    #[error("AutoDNS did not answer {method} {url} after {attempts} attempts: {last}")]
    GaveUp {
        /// The request's method.
        method: &'static str,
        /// The URL.
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// What the last one met.
        last: String,
    },
    /// A 200 answer that is not a poll message.
    #[error("AutoDNS's answer to GET {url} is not a poll message: {reason}")]
    Malformed {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The queue handed out a message again right after it was confirmed.
    #[error("AutoDNS served message {id} again after confirming it; stopping to not loop")]
    Stuck {
        /// The message's id.
        id: String,
    },
    /// The commit function failed: the message is not confirmed and stays queued.
    #[error("{0} (message not confirmed: it stays in the AutoDNS queue)")]
    Commit(String),
}

/// A result of this crate.
pub type Result<T> = std::result::Result<T, PollError>;

/// What a poller needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The API's base URL, without `/poll` ([`DEFAULT_ENDPOINT`]).
    pub endpoint: String,
    /// The AutoDNS user.
    pub user: String,
    /// Its password.
    pub password: String,
    /// `X-Domainrobot-Context` (4 on the live system, 1 on the demo system).
    pub context: u32,
    /// The mandatory `User-Agent`, naming the program and its version.
    pub user_agent: String,
    /// The least time between two requests ([`MIN_INTERVAL`]).
    pub min_interval: Duration,
    /// How often a request is tried before giving up (429, 5xx, failed connections).
    pub attempts: u32,
    /// How long one request may take, whole.
    pub timeout: Duration,
    /// The largest answer read.
    pub max_body: u64,
}

impl Settings {
    /// Settings with the defaults: 2.5 requests per second, 8 attempts, 60 s a request,
    /// answers up to 17 MiB.
    pub fn new(
        endpoint: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
        context: u32,
        user_agent: impl Into<String>,
    ) -> Settings {
        Settings {
            endpoint: endpoint.into().trim_end_matches('/').to_string(),
            user: user.into(),
            password: password.into(),
            context,
            user_agent: user_agent.into(),
            min_interval: MIN_INTERVAL,
            attempts: 8,
            timeout: Duration::from_secs(60),
            max_body: 17 * 1024 * 1024,
        }
    }
}

/// One polled message.
#[derive(Debug, Clone)]
pub struct Message {
    /// Its id, as the confirmation needs it.
    pub id: String,
    /// How many messages were queued when it was fetched (`object.summary`), this one
    /// included.
    pub summary: Option<u64>,
    /// The whole answer as received: the poll envelope with the message.
    pub raw: Vec<u8>,
}

/// What the ledger made of a message (the commit function's answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new event.
    Ingested,
    /// Already in the ledger.
    Duplicate,
    /// Not readable: kept as a reject (and confirmed all the same, so the queue never sticks).
    Rejected,
}

/// What a [`Poller::drain`] came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// New events.
    pub ingested: u64,
    /// Duplicates.
    pub duplicates: u64,
    /// Rejects.
    pub rejected: u64,
    /// Messages confirmed.
    pub confirmed: u64,
    /// The queue's `summary` at the last fetch (messages left, the one fetched included).
    pub left: Option<u64>,
    /// True when `stop` ended the run before the queue was empty.
    pub stopped: bool,
}

/// The AutoDNS poll client.
pub struct Poller {
    settings: Settings,
    agent: ureq::Agent,
    authorization: String,
    next_request: Option<Instant>,
    /// Every request sent (tries included), for rate figures.
    pub requests: u64,
}

/// How one attempt went.
enum Attempt {
    Done(u16, Vec<u8>),
    Retry(String, Option<Duration>),
}

impl Poller {
    /// A poller with these settings (nothing is sent yet).
    pub fn new(settings: Settings) -> Poller {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(settings.timeout))
            .user_agent(settings.user_agent.as_str())
            .max_redirects(0)
            .build()
            .into();
        let credentials = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", settings.user, settings.password));
        Poller {
            authorization: format!("Basic {credentials}"),
            settings,
            agent,
            next_request: None,
            requests: 0,
        }
    }

    /// Sleeps until the next request may go (the pace), or `stop` says to stop.
    fn pace(&mut self, wait_at_least: Duration, stop: &dyn Fn() -> bool) -> bool {
        let now = Instant::now();
        let paced = self.next_request.unwrap_or(now).max(now + wait_at_least);
        sleep_until(paced, stop)
    }

    /// Sends one request, with the pace, retries and backoff; the status and body of the
    /// first answer that is not 429 or 5xx. `None` when `stop` said to stop.
    fn send(
        &mut self,
        method: &'static str,
        url: &str,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<(u16, Vec<u8>)>> {
        let mut backoff = Duration::from_secs(1);
        let mut wait = Duration::ZERO;
        let mut last = String::new();
        for _ in 0..self.settings.attempts.max(1) {
            if !self.pace(wait, stop) {
                return Ok(None);
            }
            self.next_request = Some(Instant::now() + self.settings.min_interval);
            self.requests += 1;
            match self.attempt(method, url) {
                Attempt::Done(status, body) => return Ok(Some((status, body))),
                Attempt::Retry(why, retry_after) => {
                    last = why;
                    wait = retry_after.unwrap_or(backoff).min(Duration::from_secs(300));
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
        Err(PollError::GaveUp {
            method,
            url: url.to_string(),
            attempts: self.settings.attempts.max(1),
            last,
        })
    }

    fn attempt(&self, method: &'static str, url: &str) -> Attempt {
        let context = self.settings.context.to_string();
        let sent = match method {
            "PUT" => self
                .agent
                .put(url)
                .header("Authorization", &self.authorization)
                .header("X-Domainrobot-Context", &context)
                .header("Accept", "application/json")
                .send_empty(),
            _ => self
                .agent
                .get(url)
                .header("Authorization", &self.authorization)
                .header("X-Domainrobot-Context", &context)
                .header("Accept", "application/json")
                .call(),
        };
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => return Attempt::Retry(e.to_string(), None),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after);
        let body = response
            .body_mut()
            .with_config()
            .limit(self.settings.max_body)
            .read_to_vec();
        let body = match body {
            Ok(body) => body,
            Err(e) => return Attempt::Retry(format!("reading the answer: {e}"), None),
        };
        if status == 429 || status >= 500 {
            return Attempt::Retry(format!("{status} {}", answer_text(&body)), retry_after);
        }
        Attempt::Done(status, body)
    }

    /// A non-2xx answer as an error.
    fn refused(&self, method: &'static str, url: &str, status: u16, body: &[u8]) -> PollError {
        if status == 401 {
            return PollError::Unauthorized {
                user: self.settings.user.clone(),
                context: self.settings.context,
            };
        }
        PollError::Refused {
            method,
            url: url.to_string(),
            status,
            text: answer_text(body),
        }
    }

    /// `GET {endpoint}/poll`: the oldest queued message, `None` when the queue is empty (no
    /// `data`, an empty `data`, or a message without an id) or `stop` said to stop.
    pub fn fetch(&mut self, stop: &dyn Fn() -> bool) -> Result<Option<Message>> {
        let url = format!("{}/poll", self.settings.endpoint);
        let Some((status, body)) = self.send("GET", &url, stop)? else {
            return Ok(None);
        };
        if !(200..300).contains(&status) {
            return Err(self.refused("GET", &url, status, &body));
        }
        let malformed = |reason: String| PollError::Malformed {
            url: url.clone(),
            reason,
        };
        let answer: Value = serde_json::from_slice(&body).map_err(|e| malformed(e.to_string()))?;
        let summary = answer["object"]["summary"].as_u64();
        let id = match &answer["data"] {
            Value::Null => return Ok(None),
            Value::Array(items) => match items.first().map(|m| &m["id"]) {
                None | Some(Value::Null) => return Ok(None),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => return Err(malformed(format!("the message's id is {other}"))),
            },
            other => return Err(malformed(format!("data is {other}, not a list"))),
        };
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(malformed(format!(
                "the message's id {id:?} cannot be confirmed"
            )));
        }
        Ok(Some(Message {
            id,
            summary,
            raw: body,
        }))
    }

    /// `PUT {endpoint}/poll/{id}`: confirms a message; the next one becomes visible. `false`
    /// when `stop` said to stop before it was sent.
    pub fn confirm(&mut self, id: &str, stop: &dyn Fn() -> bool) -> Result<bool> {
        let url = format!("{}/poll/{id}", self.settings.endpoint);
        let Some((status, body)) = self.send("PUT", &url, stop)? else {
            return Ok(false);
        };
        if !(200..300).contains(&status) {
            return Err(self.refused("PUT", &url, status, &body));
        }
        Ok(true)
    }

    /// Fetches, commits and confirms messages until the queue is empty or `stop` returns true
    /// (checked between requests and while waiting). `commit` gets each message and must
    /// return only once what it did is durable; an error from it stops the run and the
    /// message is not confirmed. `progress` is told after each confirmed message.
    pub fn drain<E: std::fmt::Display>(
        &mut self,
        mut commit: impl FnMut(&Message) -> std::result::Result<Outcome, E>,
        mut progress: impl FnMut(&Tally),
        stop: &dyn Fn() -> bool,
    ) -> Result<Tally> {
        let mut tally = Tally::default();
        let mut last_confirmed: Option<String> = None;
        loop {
            if stop() {
                tally.stopped = true;
                return Ok(tally);
            }
            let Some(message) = self.fetch(stop)? else {
                tally.stopped = stop();
                if !tally.stopped {
                    tally.left = Some(0);
                }
                return Ok(tally);
            };
            if last_confirmed.as_deref() == Some(message.id.as_str()) {
                return Err(PollError::Stuck { id: message.id });
            }
            tally.left = message.summary;
            match commit(&message).map_err(|e| PollError::Commit(e.to_string()))? {
                Outcome::Ingested => tally.ingested += 1,
                Outcome::Duplicate => tally.duplicates += 1,
                Outcome::Rejected => tally.rejected += 1,
            }
            // Committed: the confirmation goes out even when asked to stop meanwhile.
            if !self.confirm(&message.id, &|| false)? {
                tally.stopped = true;
                return Ok(tally);
            }
            tally.confirmed += 1;
            tally.left = message.summary.map(|n| n.saturating_sub(1));
            last_confirmed = Some(message.id);
            progress(&tally);
        }
    }
}

/// Sleeps until `at` in short steps; false when `stop` said to stop first.
fn sleep_until(at: Instant, stop: &dyn Fn() -> bool) -> bool {
    loop {
        if stop() {
            return false;
        }
        let now = Instant::now();
        if now >= at {
            return true;
        }
        std::thread::sleep((at - now).min(Duration::from_millis(100)));
    }
}

/// `Retry-After`: seconds or an HTTP date.
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// An answer's `status.text`, else its first 200 bytes.
fn answer_text(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["status"]["text"].as_str().map(String::from))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            text.trim().chars().take(200).collect()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_a_date() {
        assert_eq!(retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn answer_text_prefers_the_status_text() {
        assert_eq!(
            answer_text(br#"{"status":{"text":"Login failed."}}"#),
            "Login failed."
        );
        assert_eq!(answer_text(b"  Bad Gateway\n"), "Bad Gateway");
    }
}
