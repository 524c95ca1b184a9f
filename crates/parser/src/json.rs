//! AutoDNS JSON: poll envelopes `{stid, status, object, data:[PollMessage], ctid}`, bare
//! PollMessages `{id, job|notify, stid, object, ctid?}` (push) and realtime responses
//! `{stid, status, object, data, messages, ctid}`.
//!
//! The document is read in input order (keys are not sorted), and every scalar becomes a
//! [`Field`] whose block is the JSON path of its container (`data[0].notify`) and whose key is
//! its own name (`type`), so `block.key` is the full path.
//!
//! A bare PollMessage reads as the same message inside its poll envelope would: where the
//! envelope's status would stand (a notify, a job whose status cannot be synthesised) it is
//! `S0905` (no text), with a diagnostic saying so.
//!
//! JSON job messages often carry no AutoDNS status code, only `job.status`
//! (`SUCCESS`/`FAILED`/`RUNNING`) and `job.action` (`create`/`update`/`delete`/`transfer`): the
//! status code is then synthesised (create → 0101, update → 0102, delete → 0103,
//! transfer → 0104; SUCCESS → `S`, FAILED/ERROR/CANCELED → `E`, anything else → `N`) and a
//! [`Diagnostic`] says so; the raw values stay in the fields.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::codes::autodns_status;
use crate::time::{dst_note, read_time};
use crate::{
    Diagnostic, DomainName, Field, Format, Notice, Notification, ParseError, ParseOptions, Result,
    Status, TimeReading, TransferTimetable,
};

use crate::domain::check_key_at;
use crate::notification::{BARE_MESSAGE_STATUS, POLL_TASK, POLLED_STATUS};
use crate::xml::UNTYPED_TRANSFER_START;

/// Parses an AutoDNS JSON body.
pub(crate) fn parse(body: &str, options: &ParseOptions) -> Result<Notification> {
    let root: Json = serde_json::from_str(body).map_err(|e| ParseError::Json {
        line: u32::try_from(e.line()).unwrap_or(u32::MAX),
        // serde_json says column 0 when it stopped right after a newline.
        column: u32::try_from(e.column().max(1)).unwrap_or(u32::MAX),
        reason: without_position(&e.to_string()),
    })?;
    let Json::Object(members) = &root else {
        return Err(ParseError::Unrecognised {
            reason: format!("the JSON top level is {}, not an object", root.kind()),
        });
    };
    const KNOWN: [&str; 6] = ["stid", "status", "data", "job", "notify", "object"];
    if !members.iter().any(|(k, _)| KNOWN.contains(&k.as_str())) {
        return Err(ParseError::Unrecognised {
            reason: "JSON object with none of the AutoDNS keys (stid, status, data, job, notify, \
                     object)"
                .into(),
        });
    }
    let mut n = Notification::new(Format::AutoDnsJson);
    for (key, value) in members {
        flatten(value, "", key, &mut n.fields);
    }
    interpret(&root, options, &mut n)?;
    Ok(n)
}

/// serde_json's message without its trailing ` at line L column C` (the variant has them).
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message.get(..at).unwrap_or(message).to_string(),
        None => message.to_string(),
    }
}

/// A JSON value that keeps its object members in input order.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    /// A number, as serde_json prints it.
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The member of an object.
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at a path of member names.
    fn at(&self, path: &[&str]) -> Option<&Json> {
        path.iter().try_fold(self, |value, key| value.get(key))
    }

    /// A scalar as text (strings, numbers, booleans); `None` for null, arrays, objects and
    /// empty strings.
    fn text(&self) -> Option<&str> {
        match self {
            Json::String(s) | Json::Number(s) => Some(s.trim()).filter(|s| !s.is_empty()),
            Json::Bool(true) => Some("true"),
            Json::Bool(false) => Some("false"),
            _ => None,
        }
    }

    /// The text at a path.
    fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).and_then(Json::text)
    }

    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> std::result::Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Json, E> {
        Ok(Json::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

/// Every scalar below `value` as a [`Field`]: `block` is the container's path, `key` the
/// member name (with `[i]` for array items). Null is kept as an empty value.
fn flatten(value: &Json, block: &str, key: &str, fields: &mut Vec<Field>) {
    match value {
        Json::Object(members) => {
            let path = if block.is_empty() {
                key.to_string()
            } else {
                format!("{block}.{key}")
            };
            for (k, v) in members {
                flatten(v, &path, k, fields);
            }
        }
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(item, block, &format!("{key}[{i}]"), fields);
            }
        }
        Json::Null => fields.push(field(block, key, "")),
        scalar => fields.push(field(block, key, scalar.text().unwrap_or(""))),
    }
}

fn field(block: &str, key: &str, value: &str) -> Field {
    Field {
        block: block.into(),
        key: key.into(),
        value: value.into(),
        line: 0,
    }
}

fn diagnostic(block: &str, message: String) -> Diagnostic {
    Diagnostic {
        block: Some(block.into()),
        line: None,
        message,
    }
}

/// Reads a `{code, text}` status object. `Ok(None)` when there is none.
fn read_status(status: Option<&Json>) -> Result<Option<Status>> {
    let Some(code) = status.and_then(|s| s.text_at(&["code"])) else {
        return Ok(None);
    };
    let text = status
        .and_then(|s| s.text_at(&["text"]))
        .map(str::to_string);
    autodns_status(code, text)
        .map(Some)
        .ok_or_else(|| ParseError::BadStatus {
            line: 0,
            value: code.to_string(),
        })
}

/// Fills the notification: status, task, ids, domain, event type, timetable, notices.
fn interpret(root: &Json, options: &ParseOptions, n: &mut Notification) -> Result<()> {
    let is_message = |v: &Json| v.get("job").is_some() || v.get("notify").is_some();
    let envelope = read_status(root.get("status").filter(|s| matches!(s, Json::Object(_))))?;
    // A bare PollMessage (pushed without its envelope) reads as inside its poll envelope.
    let bare = envelope.is_none() && is_message(root);
    let envelope = match envelope {
        None if bare => autodns_status(POLLED_STATUS, None),
        envelope => envelope,
    };
    let is_poll = envelope
        .as_ref()
        .is_some_and(|s| s.task_code() == POLL_TASK);
    // The message and the path prefix of its fields.
    let (message, prefix) = if is_message(root) {
        (Some(root), String::new())
    } else if is_poll {
        match root.get("data") {
            Some(Json::Array(items)) => {
                if items.len() > 1 {
                    n.diagnostics.push(diagnostic(
                        "data",
                        format!("{} polled messages; only the first is read", items.len()),
                    ));
                }
                // A polled message that is neither a job nor a notify says nothing the ledger
                // can read: a reject (kept), not an event of the envelope's "polled" status.
                if let Some(first) = items.first().filter(|m| !is_message(m)) {
                    return Err(ParseError::Unrecognised {
                        reason: format!(
                            "the polled message{} is neither a job nor a notify",
                            first
                                .text_at(&["id"])
                                .map(|id| format!(" {id}"))
                                .unwrap_or_default()
                        ),
                    });
                }
                (items.first(), "data[0].".to_string())
            }
            _ => (None, String::new()),
        }
    } else {
        (None, String::new())
    };
    let job = message.and_then(|m| m.get("job"));
    let notify = message.and_then(|m| m.get("notify"));

    let inner = match job {
        Some(job) if envelope.is_none() || is_poll => job_status(
            job,
            message.and_then(|m| m.text_at(&["object", "type"])),
            message.and_then(|m| m.text_at(&["object", "data", "status"])),
            &prefix,
            n,
        ),
        _ => None,
    };
    let status = match (inner, envelope) {
        (Some(inner), _) => inner,
        (None, Some(envelope)) => {
            if bare {
                n.diagnostics.push(Diagnostic {
                    block: None,
                    line: None,
                    message: BARE_MESSAGE_STATUS.to_string(),
                });
            }
            envelope
        }
        (None, None) => {
            let hint = if notify.is_some() {
                " (an event notification without the envelope's status.code)"
            } else {
                " (looked for status.code, or a job with action and status)"
            };
            return Err(ParseError::MissingStatus {
                format: Format::AutoDnsJson,
                hint: hint.into(),
            });
        }
    };
    n.task = Some(status.task_code().to_string());
    n.status = Some(status);

    if let Some(notify) = notify {
        n.event_type = notify.text_at(&["type"]).map(str::to_string);
        if let Some(data) = notify.at(&["object", "data"]) {
            n.timetable = timetable(data, &format!("{prefix}notify.object.data"), options, n);
        }
        if n.event_type.is_none() {
            let message = if n.is_untyped_transfer_start() {
                format!("notify has no type; {UNTYPED_TRANSFER_START}")
            } else {
                "notify has no type; event type unknown".to_string()
            };
            n.diagnostics
                .push(diagnostic(&format!("{prefix}notify"), message));
        }
    }
    let scopes: Vec<&Json> = [job, message, Some(root)].into_iter().flatten().collect();
    n.ctid = scopes
        .iter()
        .find_map(|s| s.text_at(&["ctid"]))
        .map(str::to_string);
    n.stid = scopes
        .iter()
        .find_map(|s| s.text_at(&["stid"]))
        .map(str::to_string);

    let created = job
        .and_then(|j| j.text_at(&["created"]))
        .or_else(|| message.and_then(|m| m.text_at(&["object", "data", "created"])));
    if let Some(created) = created {
        n.created = time(created, &prefix, options, n).utc;
    }
    read_domain(message, root, &prefix, n)?;
    for scope in [Some(root), message].into_iter().flatten() {
        if let Some(Json::Array(messages)) = scope.get("messages") {
            for m in messages {
                let code = m.text_at(&["messageCode"]).or_else(|| m.text_at(&["code"]));
                if let Some(code) = code {
                    let text = m.text_at(&["text"]).map(str::to_string);
                    n.notices.push(Notice {
                        code: code.to_string(),
                        text,
                    });
                }
            }
        }
    }
    Ok(())
}

/// The status of a job: its own code if it carries one (`S0101`), else synthesised from
/// `action` and `status`. `None` (with a diagnostic) when neither works.
fn job_status(
    job: &Json,
    object_type: Option<&str>,
    object_status: Option<&str>,
    prefix: &str,
    n: &mut Notification,
) -> Option<Status> {
    let block = format!("{prefix}job");
    let word = job.text_at(&["status"]);
    if let Some(status) = word.and_then(|w| autodns_status(w, None)) {
        return Some(status);
    }
    let action = job.text_at(&["action"]);
    let task = match action.map(str::to_ascii_lowercase).as_deref() {
        Some("create") => "0101",
        Some("update") => "0102",
        Some("delete") => "0103",
        Some("transfer") => "0104",
        _ => {
            n.diagnostics.push(diagnostic(
                &block,
                format!("job action {action:?} has no AutoDNS domain task; no status synthesised"),
            ));
            return None;
        }
    };
    if let Some(kind) = object_type
        && !kind.eq_ignore_ascii_case("domain")
        && !kind.eq_ignore_ascii_case("transfer")
    {
        n.diagnostics.push(diagnostic(
            &block,
            format!("job on a {kind} object is not a domain order; no status synthesised"),
        ));
        return None;
    }
    let Some(word) = word else {
        n.diagnostics.push(diagnostic(
            &block,
            "job has no status; no status synthesised".into(),
        ));
        return None;
    };
    let letter = match word.to_ascii_uppercase().as_str() {
        "SUCCESS" => 'S',
        "FAILED" | "ERROR" | "CANCELED" | "CANCELLED" => 'E',
        _ => 'N',
    };
    // A running transfer job whose transfer is at START: the incoming transfer has started,
    // what XML says with `S0104` for the same job.
    let started = task == "0104"
        && letter == 'N'
        && object_status.is_some_and(|s| s.eq_ignore_ascii_case("start"));
    let letter = if started { 'S' } else { letter };
    let status = autodns_status(&format!("{letter}{task}"), None)?;
    let also = match object_status {
        Some(object_status) if started => {
            format!(", object.data.status {object_status:?} (the incoming transfer has started)")
        }
        _ => String::new(),
    };
    n.diagnostics.push(diagnostic(
        &block,
        format!(
            "status {} synthesised from job.action {:?} and job.status {word:?}{also} (the JSON \
             job carries no AutoDNS status code)",
            status.code,
            action.unwrap_or_default()
        ),
    ));
    Some(status)
}

/// The transfer timetable of a notify object's data.
fn timetable(
    data: &Json,
    block: &str,
    options: &ParseOptions,
    n: &mut Notification,
) -> TransferTimetable {
    let mut read = |names: &[&str]| {
        let raw = names.iter().find_map(|name| data.text_at(&[name]))?;
        Some(time(raw, block, options, n))
    };
    TransferTimetable {
        start: read(&["start"]),
        reminder: read(&["reminder"]),
        autoack: read(&["autoAck", "autoack"]),
        autonack: read(&["autoNack", "autonack"]),
        end: read(&["end"]),
        new: None,
    }
}

/// Reads a time, with a diagnostic when it is not one.
fn time(raw: &str, block: &str, options: &ParseOptions, n: &mut Notification) -> TimeReading {
    let reading = read_time(raw, options.source_tz);
    if reading.utc.is_none() {
        n.diagnostics
            .push(diagnostic(block, format!("{raw:?} is not a time")));
    }
    if let Some(note) = dst_note(&reading) {
        n.diagnostics.push(diagnostic(block, note));
    }
    reading
}

/// The domain: the message's object, else the top-level object, when of type Domain or
/// Transfer; the owner-c from that object's `data.ownerc.id`.
fn read_domain(
    message: Option<&Json>,
    root: &Json,
    prefix: &str,
    n: &mut Notification,
) -> Result<()> {
    let is_domain = |object: &&Json| {
        object
            .text_at(&["type"])
            .is_some_and(|t| t.eq_ignore_ascii_case("domain") || t.eq_ignore_ascii_case("transfer"))
    };
    let in_message = message.and_then(|m| m.get("object")).filter(is_domain);
    let object = in_message.or_else(|| root.get("object").filter(is_domain));
    let Some(object) = object else { return Ok(()) };
    let path = if in_message.is_some() { prefix } else { "" };
    if let Some(name) = object.text_at(&["value"]) {
        check_key_at("domain", name, &format!(" at {path}object.value"))?;
        n.domain = DomainName::parse(name);
        if n.domain.is_none() {
            n.diagnostics.push(diagnostic(
                "object",
                format!("{name:?} is not a domain name"),
            ));
        }
    }
    if let Some(owner_c) = object.text_at(&["data", "ownerc", "id"]) {
        n.owner_c = Some(owner_c.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_input_order_and_paths_name_their_container() {
        let root: Json =
            serde_json::from_str(r#"{"z":1,"a":{"y":[true,null],"b":"x"}}"#).expect("valid JSON");
        let mut fields = Vec::new();
        if let Json::Object(members) = &root {
            for (k, v) in members {
                flatten(v, "", k, &mut fields);
            }
        }
        let got: Vec<(&str, &str, &str)> = fields
            .iter()
            .map(|f| (f.block.as_str(), f.key.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("", "z", "1"),
                ("a", "y[0]", "true"),
                ("a", "y[1]", ""),
                ("a", "b", "x")
            ]
        );
    }
}
