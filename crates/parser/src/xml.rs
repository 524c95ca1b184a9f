//! AutoDNS XML: poll/push messages (`response/result/data/message/(job|notify)` inside an
//! `S0905` envelope, or a bare `<message>` pushed without it) and plain responses
//! (`response/result/status`).
//!
//! A bare `<message>` reads as the same message inside its poll envelope would: the envelope's
//! status is then `S0905` (no text) wherever the envelope's status would stand (a notify, a job
//! without a status of its own), with a diagnostic saying so; the envelope's `stid` is absent.
//!
//! The document is read with quick-xml into a small element tree; it must be well-formed:
//! mismatched end tags (the vendor's own `successfully./text>` sample), unclosed elements and
//! anything after the root element are refused with [`ParseError::Xml`] and the line and column
//! where the reader stopped. Every leaf element becomes a [`Field`] whose block is the path of
//! its parent (`response/result/data/message/job`) and whose key is the leaf's name (`ctid`).

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::codes::autodns_status;
use crate::domain::check_key;
use crate::time::{dst_note, read_time};
use crate::{
    Diagnostic, DomainName, Field, Format, Notice, Notification, ParseError, ParseOptions, Result,
    Status, TimeReading,
};

use crate::notification::{BARE_MESSAGE_STATUS, POLL_TASK, POLLED_STATUS};

/// The diagnostic of a notify without a type that is read as a transfer start.
pub(crate) const UNTYPED_TRANSFER_START: &str = "it carries a transfer timetable with a start \
    and no answer, so it is read as the start (or an update) of an outgoing transfer";

/// Parses an AutoDNS XML body.
pub(crate) fn parse(body: &str, options: &ParseOptions) -> Result<Notification> {
    let root = read_tree(body)?;
    let mut n = Notification::new(Format::AutoDnsXml);
    collect_fields(&root, "", &mut n);
    interpret(&root, options, &mut n)?;
    Ok(n)
}

/// One element: its name, the line its start tag is on, its text and its children.
#[derive(Debug, Default)]
struct Element {
    name: String,
    line: u32,
    text: String,
    attributes: Vec<(String, String)>,
    children: Vec<Element>,
}

impl Element {
    /// The first child of this name.
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The element at a slash path below this one (`result/data/message`).
    fn at(&self, path: &str) -> Option<&Element> {
        path.split('/').try_fold(self, |el, name| el.child(name))
    }

    /// The trimmed text at a slash path, if present and not empty.
    fn text_at(&self, path: &str) -> Option<&str> {
        self.at(path)
            .map(|el| el.text.trim())
            .filter(|t| !t.is_empty())
    }
}

/// Reads the whole document into its root element, refusing anything not well-formed.
fn read_tree(body: &str) -> Result<Element> {
    let mut reader = Reader::from_str(body);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut lines = Lines::default();
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let offset = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
            xml_error(body, offset, e.to_string())
        })?;
        let offset = usize::try_from(position).unwrap_or(usize::MAX);
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                return Err(xml_error(
                    body,
                    offset,
                    format!("element <{name}> after the end of the root element"),
                ));
            }
            Event::Start(start) => {
                let line = lines.at(body, offset);
                stack.push(open(&start, body, offset, line)?);
            }
            Event::Empty(start) => {
                let line = lines.at(body, offset);
                let element = open(&start, body, offset, line)?;
                close(element, &mut stack, &mut root);
            }
            Event::End(_) => {
                // quick-xml has already checked that the name matches the open element.
                let element = stack
                    .pop()
                    .ok_or_else(|| xml_error(body, offset, "end tag without a start tag".into()))?;
                close(element, &mut stack, &mut root);
            }
            Event::Text(text) => {
                let text = text
                    .unescape()
                    .map_err(|e| xml_error(body, offset, e.to_string()))?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => {
                        let (skipped, what) = leading_whitespace(&text);
                        let place = if root.is_some() { "after" } else { "before" };
                        return Err(xml_error(
                            body,
                            offset.saturating_add(skipped),
                            format!("text {what:?} {place} the root element"),
                        ));
                    }
                }
            }
            Event::CData(data) => {
                let text = data
                    .decode()
                    .map_err(|e| xml_error(body, offset, e.to_string()))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(xml_error(
            body,
            body.len(),
            format!(
                "input ends inside <{}> (opened on line {})",
                open.name, open.line
            ),
        ));
    }
    root.ok_or_else(|| xml_error(body, body.len(), "no root element".into()))
}

/// The line of a byte offset, counted on from the offset asked before: the start tags come
/// in document order, so the whole body is scanned once (a count from the start for each
/// element was about a fifth of the XML parsing in a profile of `ledger serve` under pushes).
#[derive(Default)]
struct Lines {
    offset: usize,
    newlines: usize,
}

impl Lines {
    /// The line (from 1) of `offset`; an offset before the last one asked is counted afresh.
    fn at(&mut self, body: &str, offset: usize) -> u32 {
        let offset = offset.min(body.len());
        if offset < self.offset {
            *self = Lines::default();
        }
        let between = body.as_bytes().get(self.offset..offset).unwrap_or_default();
        self.newlines += between.iter().filter(|&&b| b == b'\n').count();
        self.offset = offset;
        to_u32(self.newlines + 1)
    }
}

/// Starts an element from its start tag, on `line`.
fn open(start: &BytesStart<'_>, body: &str, offset: usize, line: u32) -> Result<Element> {
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| xml_error(body, offset, e.to_string()))?;
        let value = attribute
            .unescape_value()
            .map_err(|e| xml_error(body, offset, e.to_string()))?;
        let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
        attributes.push((key, value.into_owned()));
    }
    Ok(Element {
        name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
        line,
        text: String::new(),
        attributes,
        children: Vec::new(),
    })
}

/// Attaches a finished element to its parent, or makes it the root.
fn close(element: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// How many bytes of leading whitespace a text has, and the rest, cut short for a message.
fn leading_whitespace(text: &str) -> (usize, String) {
    let rest = text.trim_start();
    let skipped = text.len() - rest.len();
    (skipped, rest.trim_end().chars().take(40).collect())
}

/// A [`ParseError::Xml`] at a byte offset of the body.
fn xml_error(body: &str, offset: usize, reason: String) -> ParseError {
    let (line, column) = line_col(body, offset);
    ParseError::Xml {
        line,
        column,
        reason,
    }
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_col(body: &str, offset: usize) -> (u32, u32) {
    let bytes = body.as_bytes();
    let offset = offset.min(bytes.len());
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let newlines = before.iter().filter(|&&b| b == b'\n').count();
    let column = before
        .get(line_start..)
        .map(|tail| String::from_utf8_lossy(tail).chars().count())
        .unwrap_or(0);
    (to_u32(newlines + 1), to_u32(column + 1))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Every leaf element (and attribute) as a [`Field`], in document order.
fn collect_fields(element: &Element, parent: &str, n: &mut Notification) {
    let path = if parent.is_empty() {
        element.name.clone()
    } else {
        format!("{parent}/{}", element.name)
    };
    for (key, value) in &element.attributes {
        n.fields.push(Field {
            block: path.clone(),
            key: format!("@{key}"),
            value: value.clone(),
            line: element.line,
        });
    }
    if element.children.is_empty() {
        n.fields.push(Field {
            block: parent.to_string(),
            key: element.name.clone(),
            value: element.text.trim().to_string(),
            line: element.line,
        });
        return;
    }
    if !element.text.trim().is_empty() {
        n.diagnostics.push(Diagnostic {
            block: Some(path.clone()),
            line: Some(element.line),
            message: format!(
                "text beside child elements ignored: {:?}",
                element.text.trim()
            ),
        });
    }
    for child in &element.children {
        collect_fields(child, &path, n);
    }
}

/// Reads a `<status>` element: `code`, `text`. `Ok(None)` when it has no code.
fn read_status(status: &Element) -> Result<Option<Status>> {
    let Some(code_el) = status.child("code") else {
        return Ok(None);
    };
    let code = code_el.text.trim();
    if code.is_empty() {
        return Ok(None);
    }
    let text = status.text_at("text").map(str::to_string);
    autodns_status(code, text)
        .map(Some)
        .ok_or_else(|| ParseError::BadStatus {
            line: code_el.line,
            value: code.to_string(),
        })
}

/// Fills the notification from the tree: status, task, ids, domain, notices, times.
fn interpret(root: &Element, options: &ParseOptions, n: &mut Notification) -> Result<()> {
    let (result, envelope_el) = match root.name.as_str() {
        "response" => (root.child("result"), root.at("result/status")),
        // A bare `<status>` block, as the vendor's XML basics page shows one.
        "status" => (None, Some(root)),
        // A bare poll message, pushed without its envelope.
        "message" => (None, None),
        other => {
            return Err(ParseError::MissingStatus {
                format: Format::AutoDnsXml,
                hint: format!(" (the root element is <{other}>, not <response> or <message>)"),
            });
        }
    };
    let bare = root.name == "message";
    let envelope = match envelope_el {
        Some(el) => read_status(el)?,
        // What the poll envelope around a bare message would say.
        None if bare => autodns_status(POLLED_STATUS, None),
        None => None,
    };
    let message = if bare {
        Some(root)
    } else {
        result.and_then(|r| r.at("data/message"))
    };
    let is_poll = envelope
        .as_ref()
        .is_some_and(|s| s.task_code() == POLL_TASK);
    // The polled item: a job result or an event notification.
    let (item, is_notify) = match message {
        Some(m) if is_poll => match (m.child("job"), m.child("notify")) {
            (Some(job), _) => (Some(job), false),
            (None, Some(notify)) => (Some(notify), true),
            (None, None) => (None, false),
        },
        _ => (None, false),
    };

    let inner_el = item.and_then(|i| i.child("status"));
    let inner = match inner_el {
        Some(el) => read_status(el)?,
        None => None,
    };
    let status_el = if inner.is_some() {
        inner_el
    } else {
        envelope_el
    };
    let status = match inner {
        Some(status) => status,
        None => {
            if is_poll && item.is_some() && !is_notify {
                n.diagnostics.push(Diagnostic {
                    block: None,
                    line: item.map(|i| i.line),
                    message: "polled job has no status; the envelope's status stands".into(),
                });
            }
            if bare {
                n.diagnostics.push(Diagnostic {
                    block: None,
                    line: Some(root.line),
                    message: BARE_MESSAGE_STATUS.into(),
                });
            }
            envelope.ok_or_else(|| ParseError::MissingStatus {
                format: Format::AutoDnsXml,
                hint: " (looked for response/result/status/code)".into(),
            })?
        }
    };
    n.task = Some(status.task_code().to_string());
    n.status = Some(status);

    if let Some(notify) = item.filter(|_| is_notify) {
        n.event_type = event_type(notify, n);
    }
    let scopes: Vec<&Element> = [item, message, result, Some(root)]
        .into_iter()
        .flatten()
        .collect();
    n.ctid = scopes
        .iter()
        .find_map(|s| s.text_at("ctid"))
        .map(str::to_string);
    n.stid = scopes
        .iter()
        .find_map(|s| s.text_at("stid"))
        .map(str::to_string);

    read_domain(item, status_el, envelope_el, n)?;
    if let Some(created) = message.and_then(|m| m.at("created")) {
        let reading = time(created, options, n);
        n.created = reading.utc;
    }
    if let Some(transfer) = item.and_then(|i| i.child("transfer")) {
        let mut field = |name: &str| transfer.child(name).map(|el| time(el, options, n));
        let timetable = crate::TransferTimetable {
            start: field("start"),
            reminder: field("reminder"),
            autoack: field("autoack"),
            autonack: field("autonack"),
            end: field("end"),
            new: None,
        };
        n.timetable = timetable;
    }
    if let Some(notify) = item.filter(|_| is_notify)
        && n.is_untyped_transfer_start()
    {
        n.diagnostics.push(Diagnostic {
            block: None,
            line: Some(notify.line),
            message: format!("notify has no <type>; {UNTYPED_TRANSFER_START}"),
        });
    }
    if let Some(scope) = result.or(message.filter(|_| bare)) {
        collect_notices(scope, false, n);
    }
    Ok(())
}

/// The event type of a notify item: `notify/type`, else the name of its one telling child.
fn event_type(notify: &Element, n: &mut Notification) -> Option<String> {
    if let Some(kind) = notify.text_at("type") {
        return Some(kind.to_string());
    }
    const CONTEXT: [&str; 6] = ["domain", "owner", "object", "ctid", "stid", "status"];
    let mut telling = notify
        .children
        .iter()
        .filter(|c| !CONTEXT.contains(&c.name.as_str()));
    match (telling.next(), telling.next()) {
        // A transfer timetable with a start: said once the timetable is read.
        (Some(only), None) if only.name == "transfer" && only.child("start").is_some() => {
            Some(only.name.clone())
        }
        (Some(only), None) => {
            n.diagnostics.push(Diagnostic {
                block: None,
                line: Some(notify.line),
                message: format!(
                    "notify has no <type>; event type taken from its <{}> element",
                    only.name
                ),
            });
            Some(only.name.clone())
        }
        _ => {
            n.diagnostics.push(Diagnostic {
                block: None,
                line: Some(notify.line),
                message: "notify has no <type>; event type unknown".into(),
            });
            None
        }
    }
}

/// The domain: `domain/name` of the item, else the status object (type domain); the owner-c
/// from `domain/ownerc`.
fn read_domain(
    item: Option<&Element>,
    status_el: Option<&Element>,
    envelope_el: Option<&Element>,
    n: &mut Notification,
) -> Result<()> {
    let domain_el = item.and_then(|i| i.child("domain"));
    if let Some(owner_c) = domain_el.and_then(|d| d.text_at("ownerc")) {
        n.owner_c = Some(owner_c.to_string());
    }
    let candidates: Vec<&Element> = [
        domain_el.and_then(|d| d.at("name")),
        object_value(status_el),
        object_value(envelope_el),
    ]
    .into_iter()
    .flatten()
    .collect();
    for el in &candidates {
        check_key("domain", el.text.trim(), Some(el.line))?;
    }
    if let Some(el) = candidates.first() {
        let name = el.text.trim();
        n.domain = DomainName::parse(name);
        if let Some(first) = &n.domain {
            for other_el in candidates.iter().skip(1) {
                if let Some(other) = DomainName::parse(other_el.text.trim())
                    && &other != first
                {
                    n.diagnostics.push(Diagnostic {
                        block: None,
                        line: Some(other_el.line),
                        message: format!(
                            "<{}> names the domain {other}, but line {} names {first}; {first} \
                             stands",
                            other_el.name, el.line
                        ),
                    });
                }
            }
        }
        if n.domain.is_none() {
            n.diagnostics.push(Diagnostic {
                block: None,
                line: Some(el.line),
                message: format!("{name:?} is not a domain name"),
            });
        }
    }
    Ok(())
}

/// The `object/value` of a status whose object is a domain (or a transfer of one).
fn object_value(status: Option<&Element>) -> Option<&Element> {
    let object = status?.child("object")?;
    let kind = object.text_at("type")?;
    if kind.eq_ignore_ascii_case("domain") || kind.eq_ignore_ascii_case("transfer") {
        object.at("value")
    } else {
        None
    }
}

/// Reads a time element (naive times are wall-clock time in the source zone).
fn time(el: &Element, options: &ParseOptions, n: &mut Notification) -> TimeReading {
    let reading = read_time(el.text.trim(), options.source_tz);
    if reading.utc.is_none() {
        n.diagnostics.push(Diagnostic {
            block: None,
            line: Some(el.line),
            message: format!("<{}> {:?} is not a time", el.name, el.text.trim()),
        });
    }
    if let Some(note) = dst_note(&reading) {
        n.diagnostics.push(Diagnostic {
            block: None,
            line: Some(el.line),
            message: format!("<{}> {note}", el.name),
        });
    }
    reading
}

/// Notices: every `msg` element and every `message` inside a `messages` element that has a
/// `code`, anywhere below `result`.
fn collect_notices(el: &Element, in_messages: bool, n: &mut Notification) {
    for child in &el.children {
        let is_notice = child.name == "msg" || (in_messages && child.name == "message");
        if is_notice && let Some(code) = child.text_at("code") {
            n.notices.push(Notice {
                code: code.to_string(),
                text: child.text_at("text").map(str::to_string),
            });
        }
        collect_notices(child, child.name == "messages", n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_after_the_last_newline() {
        let body = "ab\ncäd\nx";
        assert_eq!(line_col(body, 0), (1, 1));
        assert_eq!(line_col(body, 3), (2, 1));
        // After "cä" (3 bytes) the column is 3.
        assert_eq!(line_col(body, 6), (2, 3));
        assert_eq!(line_col(body, body.len()), (3, 2));
    }

    #[test]
    fn lines_counted_on_agree_with_a_count_from_the_start() {
        let body = "<a>\n<b>ä</b>\n\n<c/>\n</a>";
        let mut lines = Lines::default();
        for offset in (0..=body.len()).chain([3, 0, body.len() + 5]) {
            assert_eq!(lines.at(body, offset), line_col(body, offset).0, "{offset}");
        }
    }
}
