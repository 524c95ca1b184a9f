//! The AutoDNS "Standard" text format: `<system>`, `<reply>`, `<nic_response>` blocks of
//! `key: value` lines.
//!
//! Reading happens in two passes. The first ([`Reader`]) turns lines into [`Field`]s, block by
//! block, joining wrapped values and keeping stray lines as [`Diagnostic`]s; the second
//! ([`interpret`]) reads the fields the ledger decides on into the [`Notification`].
//!
//! The rules, from the AutoDNS guide and real samples:
//!
//! * keys are `[A-Za-z0-9_.-]+`; leading tabs/spaces and trailing spaces are trimmed;
//! * a line inside a `[` that has not closed yet continues the value, even if it holds `: `;
//!   any other line that is not `key: value` is a diagnostic, never a failure;
//! * `<nic_response>` is free text: kept whole, and its `key: value` lines also as fields;
//! * the flattened form `<system> user: x task: 1403008 status: … </system>` is split at the
//!   keys the format is known to use;
//! * `status` and the order fields are read from `<system>` only (`<reply>` has a `status:` of
//!   its own that means something else); the `kk_*` timetable, `owner-c`, `sld`/`tld` from
//!   `<system>` or `<reply>`.

use std::borrow::Cow;

use chrono_tz::Tz;

use crate::codes::{autodns_status, is_notice_code, notice_meaning, task_meaning};
use crate::domain::check_key;
use crate::time::{dst_note, read_time};
use crate::{
    Diagnostic, DomainName, Field, Format, Notice, Notification, ParseError, ParseOptions, Result,
    TimeReading,
};

/// The block holding the status and the order fields.
const SYSTEM: &str = "system";
/// The block holding the details of the order.
const REPLY: &str = "reply";
/// The block holding the registry's answer, kept as text.
const NIC_RESPONSE: &str = "nic_response";

/// Keys a flattened one-line block is split at.
const KNOWN_KEYS: &[&str] = &[
    "user",
    "task",
    "status",
    "notice",
    "success_value",
    "transaction",
    "last_transaction",
    "error",
    "kk_answer",
    "autoupdate",
    "kk_new",
    "kk_start",
    "kk_reminder",
    "kk_autoack",
    "kk_autonack",
    "kk_end",
    "sld",
    "tld",
    "owner",
    "owner_context",
    "owner-c",
    "admin-c",
    "tech-c",
    "zone-c",
    "nserver",
    "period",
    "authinfo",
];

/// Parses a text body.
pub(crate) fn parse(body: &str, options: &ParseOptions) -> Result<Notification> {
    let mut reader = Reader::default();
    for (index, line) in body.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        reader.line(line, number, false)?;
    }
    if let Some(open) = reader.open {
        return Err(ParseError::UnclosedBlock {
            block: open.name,
            line: open.line,
        });
    }
    reader.tally.check()?;
    if reader.systems.len() > 1 {
        return Err(ParseError::SeveralNotifications {
            block: SYSTEM.to_string(),
            lines: reader.systems,
        });
    }
    let mut n = Notification::new(Format::AutoDnsText);
    n.fields = reader.fields;
    n.diagnostics = reader.diagnostics;
    if !reader.nic_response.is_empty() {
        n.nic_response = Some(reader.nic_response);
    }
    let Some(system) = reader.system else {
        return Err(ParseError::MissingStatus {
            format: Format::AutoDnsText,
            hint: ": the body has no <system> block".to_string(),
        });
    };
    interpret(&mut n, options.source_tz)?;
    if n.status.is_none() {
        return Err(ParseError::MissingStatus {
            format: Format::AutoDnsText,
            hint: format!(
                ": no `status:` line in the <system> block on lines {}-{}",
                system.0, system.1
            ),
        });
    }
    Ok(n)
}

/// A block opened and not yet closed.
#[derive(Debug)]
struct OpenBlock {
    /// Its name, lower case.
    name: String,
    /// The line it was opened on.
    line: u32,
}

/// The first pass: lines into fields.
#[derive(Debug, Default)]
struct Reader {
    /// The block being read.
    open: Option<OpenBlock>,
    /// Every field so far.
    fields: Vec<Field>,
    /// Stray lines so far.
    diagnostics: Vec<Diagnostic>,
    /// The index in `fields` of a value whose `[` has not closed yet.
    wrapping: Option<usize>,
    /// The `<nic_response>` text so far.
    nic_response: String,
    /// The lines of the first `<system>` block (opened, closed).
    system: Option<(u32, u32)>,
    /// The line every `<system>` block opened on.
    systems: Vec<u32>,
    /// How many lines of the blocks' span read as `key: value` and how many do not.
    tally: Tally,
}

/// The count behind [`ParseError::NotANotification`]: over the span from the first block's
/// opening tag to the last block's closing tag, the lines that read as `key: value` (or continue
/// a value, or are a flattened block) against those that do not. `<nic_response>` is free text
/// and not counted; a non-empty line between two blocks counts as stray, one before the first
/// block or after the last (a greeting, a signature, a disclaimer) never counts.
#[derive(Debug, Default)]
struct Tally {
    /// Lines that read.
    good: u32,
    /// Lines that do not.
    stray: u32,
    /// The first of them.
    first_stray: Option<u32>,
    /// Non-empty lines since the last block closed: stray if another block opens.
    between: u32,
    /// The first of those.
    first_between: Option<u32>,
    /// The line the first block opened on.
    first_open: Option<u32>,
    /// The line the last block closed on.
    last_close: u32,
}

impl Tally {
    /// A line outside any block.
    fn outside(&mut self, number: u32) {
        if self.first_open.is_some() {
            self.between += 1;
            self.first_between.get_or_insert(number);
        }
    }

    /// A block opens: the lines since the last one closed were between two blocks.
    fn open(&mut self, number: u32) {
        if self.first_open.is_none() {
            self.first_open = Some(number);
        }
        if self.between > 0 {
            self.stray += self.between;
            if self.first_stray.is_none() {
                self.first_stray = self.first_between;
            }
        }
        self.between = 0;
        self.first_between = None;
    }

    /// A line inside a block that reads (or not).
    fn line(&mut self, number: u32, reads: bool) {
        if reads {
            self.good += 1;
        } else {
            self.stray += 1;
            self.first_stray.get_or_insert(number);
        }
    }

    /// [`ParseError::NotANotification`] when the stray lines outnumber those that read.
    fn check(&self) -> Result<()> {
        match (self.first_open, self.first_stray) {
            (Some(first), Some(first_stray)) if self.stray > self.good => {
                Err(ParseError::NotANotification {
                    stray: self.stray,
                    counted: self.stray.saturating_add(self.good),
                    first,
                    last: self.last_close.max(first),
                    first_stray,
                })
            }
            _ => Ok(()),
        }
    }
}

impl Reader {
    /// Reads one line; `inline` when it is what followed an opening tag on its line.
    fn line(&mut self, line: &str, number: u32, inline: bool) -> Result<()> {
        let trimmed = trim(line);
        let Some(open) = &self.open else {
            return self.outside(trimmed, number);
        };
        if open.name == NIC_RESPONSE {
            self.nic_line(trimmed, number);
            return Ok(());
        }
        if let Some((content, closing)) = close_tag(trimmed) {
            if !closing.eq_ignore_ascii_case(&open.name) {
                return Err(self.unclosed());
            }
            if !content.is_empty() {
                self.content(content, number, true);
            }
            self.close(number);
            return Ok(());
        }
        if open_tag(trimmed).is_some() {
            return Err(self.unclosed());
        }
        self.content(trimmed, number, inline);
        Ok(())
    }

    /// Reads a line outside any block: an opening tag, or a stray line.
    fn outside(&mut self, trimmed: &str, number: u32) -> Result<()> {
        if trimmed.is_empty() {
            return Ok(());
        }
        let Some((name, rest)) = open_tag(trimmed) else {
            self.tally.outside(number);
            let message = match close_tag(trimmed) {
                Some((_, name)) => format!("closing tag </{name}> outside any block, ignored"),
                None => format!("line outside any block, ignored: {:?}", clip(trimmed)),
            };
            self.diagnostics.push(Diagnostic {
                block: None,
                line: Some(number),
                message,
            });
            return Ok(());
        };
        let name = name.to_ascii_lowercase();
        if ![SYSTEM, REPLY, NIC_RESPONSE, "notify"].contains(&name.as_str()) {
            self.diagnostics.push(Diagnostic {
                block: Some(name.clone()),
                line: Some(number),
                message: format!("unknown block <{name}>, its fields are kept"),
            });
        }
        self.tally.open(number);
        if name == SYSTEM {
            self.systems.push(number);
        }
        self.open = Some(OpenBlock { name, line: number });
        // Whatever follows the tag on the same line: the flattened form, or `</notify>`.
        self.line(rest, number, true)
    }

    /// Reads a line inside `<nic_response>`: free text, with `key: value` lines also as fields.
    fn nic_line(&mut self, trimmed: &str, number: u32) {
        let (content, closes) = match close_tag(trimmed) {
            Some((content, name)) if name.eq_ignore_ascii_case(NIC_RESPONSE) => (content, true),
            _ => (trimmed, false),
        };
        if !content.is_empty() {
            if !self.nic_response.is_empty() {
                self.nic_response.push('\n');
            }
            self.nic_response.push_str(content);
            if let Some((key, value)) = key_value(content) {
                self.push(NIC_RESPONSE, key, value, number);
            }
        }
        if closes {
            self.close(number);
        }
    }

    /// Reads the content of a line inside an ordinary block; `inline` when it shared its line
    /// with a tag (the flattened form).
    fn content(&mut self, content: &str, number: u32, inline: bool) {
        if content.is_empty() {
            return;
        }
        // Lend the block's name out of `self` for the call, to not copy it for every line.
        let Some(open) = self.open.take() else { return };
        self.content_in(&open.name, content, number, inline);
        self.open = Some(open);
    }

    /// [`Reader::content`] inside the block `block`.
    fn content_in(&mut self, block: &str, content: &str, number: u32, inline: bool) {
        if let Some(index) = self.wrapping
            && let Some(field) = self.fields.get_mut(index)
        {
            field.value.push(' ');
            field.value.push_str(content);
            if brackets_balanced(&field.value) {
                self.wrapping = None;
            }
            self.tally.line(number, true);
            return;
        }
        if inline && self.flattened(block, content, number) {
            self.tally.line(number, true);
            return;
        }
        let read = key_value(content);
        self.tally.line(number, read.is_some());
        match read {
            Some((key, value)) => self.push(block, key, value, number),
            None => self.diagnostics.push(Diagnostic {
                block: Some(block.to_string()),
                line: Some(number),
                message: format!("not a `key: value` line, ignored: {:?}", clip(content)),
            }),
        }
    }

    /// Splits a flattened line (`user: x task: 1403008 status: …`) at the known keys; false if
    /// it holds fewer than two of them (then it is an ordinary line).
    fn flattened(&mut self, block: &str, content: &str, number: u32) -> bool {
        let mut starts: Vec<(usize, usize)> = Vec::new();
        let mut depth: i32 = 0;
        for word in content.split_whitespace() {
            let start = word.as_ptr() as usize - content.as_ptr() as usize;
            if depth == 0
                && let Some(key) = word.strip_suffix(':')
                && KNOWN_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
            {
                starts.push((start, start + word.len()));
            }
            for b in word.bytes() {
                match b {
                    b'[' => depth += 1,
                    b']' => depth = (depth - 1).max(0),
                    _ => {}
                }
            }
        }
        if starts.len() < 2 {
            return false;
        }
        if let Some(&(first, _)) = starts.first()
            && let Some(before) = content.get(..first).map(str::trim)
            && !before.is_empty()
        {
            self.diagnostics.push(Diagnostic {
                block: Some(block.to_string()),
                line: Some(number),
                message: format!("text before the first key, ignored: {:?}", clip(before)),
            });
        }
        for (i, &(key_start, value_start)) in starts.iter().enumerate() {
            let value_end = starts.get(i + 1).map_or(content.len(), |&(next, _)| next);
            let key = content.get(key_start..value_start - 1).unwrap_or("");
            let value = content.get(value_start..value_end).unwrap_or("").trim();
            self.push(block, key, value, number);
        }
        true
    }

    /// Adds a field, remembering it if its `[` has not closed.
    fn push(&mut self, block: &str, key: &str, value: &str, line: u32) {
        if block != NIC_RESPONSE && !brackets_balanced(value) {
            self.wrapping = Some(self.fields.len());
        }
        self.fields.push(Field {
            block: block.to_string(),
            key: key.to_string(),
            value: value.to_string(),
            line,
        });
    }

    /// Closes the open block on a line.
    fn close(&mut self, number: u32) {
        self.tally.last_close = number;
        if let Some(open) = self.open.take()
            && open.name == SYSTEM
            && self.system.is_none()
        {
            self.system = Some((open.line, number));
        }
        if let Some(index) = self.wrapping.take() {
            let field = self.fields.get(index);
            self.diagnostics.push(Diagnostic {
                block: field.map(|f| f.block.clone()),
                line: field.map(|f| f.line),
                message: "a `[` in this value is never closed".to_string(),
            });
        }
    }

    /// The error for the open block being left without its closing tag.
    fn unclosed(&self) -> ParseError {
        match &self.open {
            Some(open) => ParseError::UnclosedBlock {
                block: open.name.clone(),
                line: open.line,
            },
            None => ParseError::Text {
                line: 0,
                reason: "no block is open".to_string(),
            },
        }
    }
}

/// The second pass: the fields the ledger decides on, into the notification.
fn interpret(n: &mut Notification, tz: Tz) -> Result<()> {
    let fields = std::mem::take(&mut n.fields);
    let mut sld: Option<&str> = None;
    let mut tld: Option<&str> = None;
    let mut sld_line: Option<u32> = None;
    for field in &fields {
        let value = field.value.as_str();
        let key = lower(&field.key);
        let in_system = field.block == SYSTEM;
        let in_order_block = in_system || field.block == REPLY;
        match key.as_ref() {
            "status" if in_system => status(n, field)?,
            "task" if in_system => set_once(&mut n.task, value),
            "transaction" if in_system => transaction(n, field),
            "last_transaction" if in_system => set_once(&mut n.last_transaction, value),
            "error" if in_system => set_once(&mut n.error, value),
            "kk_answer" if in_system => set_once(&mut n.kk_answer, &value.to_ascii_uppercase()),
            "notice" if in_system => notice(n, field),
            "success_value" if in_system => success_value(n, field)?,
            "autoupdate" if in_system => autoupdate(n, field),
            "owner-c" if in_order_block => set_once(&mut n.owner_c, value),
            "sld" if in_order_block && !value.is_empty() => {
                sld.get_or_insert(value);
                sld_line.get_or_insert(field.line);
            }
            "tld" if in_order_block && !value.is_empty() => {
                tld.get_or_insert(value);
            }
            "kk_new" if in_order_block => set_once(&mut n.timetable.new, value),
            "kk_start" if in_order_block => time(n, field, tz, |t| &mut t.start),
            "kk_reminder" if in_order_block => time(n, field, tz, |t| &mut t.reminder),
            "kk_autoack" if in_order_block => time(n, field, tz, |t| &mut t.autoack),
            "kk_autonack" if in_order_block => time(n, field, tz, |t| &mut t.autonack),
            "kk_end" if in_order_block => time(n, field, tz, |t| &mut t.end),
            _ => {}
        }
    }
    if let (Some(sld), Some(tld)) = (sld, tld) {
        let name = format!(
            "{}.{}",
            sld.trim_end_matches('.'),
            tld.trim_start_matches('.')
        );
        check_key("domain", &name, sld_line)?;
        let parsed = DomainName::parse(&name);
        match (&n.domain, &parsed) {
            (Some(first), Some(other)) if first != other => n.diagnostics.push(Diagnostic {
                block: Some(REPLY.to_string()),
                line: sld_line,
                message: format!(
                    "sld + tld name the domain {other}, but success_value names {first}; \
                     {first} stands"
                ),
            }),
            _ => {}
        }
        if n.domain.is_none() {
            n.domain = parsed;
        }
        if n.domain.is_none() {
            n.diagnostics.push(Diagnostic {
                block: Some(REPLY.to_string()),
                line: None,
                message: format!("sld + tld {name:?} is not a domain name"),
            });
        }
    }
    check_task(n);
    n.fields = fields;
    Ok(())
}

/// `status: S0101 [text]`.
fn status(n: &mut Notification, field: &Field) -> Result<()> {
    let (code, text) = code_and_text(&field.value);
    let read = autodns_status(code, text).ok_or_else(|| ParseError::BadStatus {
        line: field.line,
        value: field.value.clone(),
    })?;
    match &n.status {
        None => n.status = Some(read),
        Some(first) if first.code != read.code => n.diagnostics.push(Diagnostic {
            block: Some(field.block.clone()),
            line: Some(field.line),
            message: format!(
                "a second status {} ignored; the first was {}",
                read.code, first.code
            ),
        }),
        Some(_) => {}
    }
    Ok(())
}

/// `notice: MSG01050 [text]`: kept whatever the code, with a diagnostic for an odd one.
fn notice(n: &mut Notification, field: &Field) {
    let (code, text) = code_and_text(&field.value);
    if code.is_empty() {
        return;
    }
    let message = if !is_notice_code(code) {
        Some(format!("notice code {code:?} is not MSG and 5 or 6 digits"))
    } else if notice_meaning(code).is_none() {
        Some(format!("notice code {code} is not in the catalog"))
    } else {
        None
    };
    if let Some(message) = message {
        n.diagnostics.push(Diagnostic {
            block: Some(field.block.clone()),
            line: Some(field.line),
            message,
        });
    }
    n.notices.push(Notice {
        code: code.to_ascii_uppercase(),
        text,
    });
}

/// `transaction: 201005061621`: the first stands; a second that differs is a diagnostic.
fn transaction(n: &mut Notification, field: &Field) {
    let value = field.value.as_str();
    match &n.ctid {
        Some(first) if first != value && !value.is_empty() => n.diagnostics.push(Diagnostic {
            block: Some(field.block.clone()),
            line: Some(field.line),
            message: format!(
                "a second transaction {value:?} ignored; the first, {first:?}, stands"
            ),
        }),
        Some(_) => {}
        None => set_once(&mut n.ctid, value),
    }
}

/// `success_value: domain: example.org`.
fn success_value(n: &mut Notification, field: &Field) -> Result<()> {
    let Some((kind, value)) = field.value.split_once(':') else {
        return Ok(());
    };
    if !kind.trim().eq_ignore_ascii_case("domain") {
        return Ok(());
    }
    check_key("domain", value.trim(), Some(field.line))?;
    if let Some(first) = &n.domain {
        if let Some(other) = DomainName::parse(value)
            && &other != first
        {
            n.diagnostics.push(Diagnostic {
                block: Some(field.block.clone()),
                line: Some(field.line),
                message: format!(
                    "a second success_value domain {other} ignored; the first, {first}, stands"
                ),
            });
        }
        return Ok(());
    }
    n.domain = DomainName::parse(value);
    if n.domain.is_none() {
        n.diagnostics.push(Diagnostic {
            block: Some(field.block.clone()),
            line: Some(field.line),
            message: format!(
                "success_value domain {:?} is not a domain name",
                value.trim()
            ),
        });
    }
    Ok(())
}

/// `autoupdate: true`.
fn autoupdate(n: &mut Notification, field: &Field) {
    let value = match lower(field.value.as_str()).as_ref() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        "" => return,
        _ => None,
    };
    match value {
        Some(value) => {
            n.autoupdate.get_or_insert(value);
        }
        None => n.diagnostics.push(Diagnostic {
            block: Some(field.block.clone()),
            line: Some(field.line),
            message: format!("autoupdate {:?} is neither true nor false", field.value),
        }),
    }
}

/// A `kk_*` time into the timetable slot `slot` picks.
fn time(
    n: &mut Notification,
    field: &Field,
    tz: Tz,
    slot: impl FnOnce(&mut crate::TransferTimetable) -> &mut Option<TimeReading>,
) {
    if field.value.is_empty() {
        return;
    }
    let reading = read_time(&field.value, tz);
    if reading.utc.is_none() {
        n.diagnostics.push(Diagnostic {
            block: Some(field.block.clone()),
            line: Some(field.line),
            message: format!("{} {:?} is not a time", field.key, field.value),
        });
    }
    if let Some(note) = dst_note(&reading) {
        n.diagnostics.push(Diagnostic {
            block: Some(field.block.clone()),
            line: Some(field.line),
            message: format!("{} {note}", field.key),
        });
    }
    let slot = slot(&mut n.timetable);
    if slot.is_none() {
        *slot = Some(reading);
    }
}

/// Diagnostics for a task code outside the catalog or at odds with the status.
fn check_task(n: &mut Notification) {
    let from_status = n.status.as_ref().map(|s| s.task_code().to_string());
    let task = n.task.clone().or(from_status.clone());
    if let (Some(task), Some(from_status)) = (&n.task, &from_status)
        && task != from_status
    {
        n.diagnostics.push(Diagnostic {
            block: Some(SYSTEM.to_string()),
            line: None,
            message: format!("task {task} differs from the status's task {from_status}"),
        });
    }
    if let Some(task) = task
        && task_meaning(&task).is_none()
    {
        n.diagnostics.push(Diagnostic {
            block: Some(SYSTEM.to_string()),
            line: None,
            message: format!("task code {task} is not in the catalog"),
        });
    }
}

/// Sets `slot` to `value` unless it is set already or `value` is empty.
fn set_once(slot: &mut Option<String>, value: &str) {
    if slot.is_none() && !value.is_empty() {
        *slot = Some(value.to_string());
    }
}

/// Splits `S0101 [Domain registered.]` into the code and the text without brackets.
fn code_and_text(value: &str) -> (&str, Option<String>) {
    let value = value.trim();
    let (code, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
    let rest = rest.trim();
    let text = rest
        .strip_prefix('[')
        .map_or(rest, |r| r.strip_suffix(']').unwrap_or(r))
        .trim();
    (code, (!text.is_empty()).then(|| text.to_string()))
}

/// `key: value` (or `key:`), if the line is one; the value trimmed.
fn key_value(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let key_ok = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    let value_ok = value.is_empty() || value.starts_with(char::is_whitespace);
    (key_ok && value_ok).then(|| (key, value.trim()))
}

/// An opening tag at the start of a line: its name and the rest of the line.
fn open_tag(line: &str) -> Option<(&str, &str)> {
    let inner = line.strip_prefix('<')?;
    let end = inner.find('>')?;
    let name = inner.get(..end)?;
    tag_name_ok(name).then(|| (name, inner.get(end + 1..).unwrap_or("")))
}

/// A closing tag at the end of a line: the content before it and the tag's name.
fn close_tag(line: &str) -> Option<(&str, &str)> {
    let body = line.strip_suffix('>')?;
    let start = body.rfind("</")?;
    let name = body.get(start + 2..)?;
    tag_name_ok(name).then(|| (body.get(..start).unwrap_or("").trim(), name))
}

/// True for a block name: letters, digits, `_`, `-`.
fn tag_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// True if every `[` in a value has closed.
fn brackets_balanced(value: &str) -> bool {
    let open = value.bytes().filter(|&b| b == b'[').count();
    let close = value.bytes().filter(|&b| b == b']').count();
    open <= close
}

/// A line trimmed of white space and byte-order marks.
fn trim(line: &str) -> &str {
    line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// Lower-cases ASCII, allocating only when needed.
fn lower(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// At most 80 characters of a line, for a diagnostic.
fn clip(text: &str) -> String {
    let mut clipped: String = text.chars().take(80).collect();
    if clipped.len() < text.len() {
        clipped.push('…');
    }
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert_eq!(open_tag("<system>"), Some(("system", "")));
        assert_eq!(open_tag("<notify></notify>"), Some(("notify", "</notify>")));
        assert_eq!(open_tag("</system>"), None);
        assert_eq!(open_tag("<a b>"), None);
        assert_eq!(close_tag("</system>"), Some(("", "system")));
        assert_eq!(close_tag("x: 1 </system>"), Some(("x: 1", "system")));
        assert_eq!(close_tag("<system>"), None);
    }

    #[test]
    fn key_values() {
        assert_eq!(key_value("owner-c: 12345"), Some(("owner-c", "12345")));
        assert_eq!(key_value("authinfo:"), Some(("authinfo", "")));
        assert_eq!(
            key_value("success_value: domain: x.org"),
            Some(("success_value", "domain: x.org"))
        );
        assert_eq!(key_value("[...]"), None);
        assert_eq!(key_value("was processed.]"), None);
        assert_eq!(key_value("see http://x"), None);
    }

    #[test]
    fn codes_and_texts() {
        assert_eq!(
            code_and_text("S0101 [Done.]"),
            ("S0101", Some("Done.".to_string()))
        );
        assert_eq!(code_and_text("S0101"), ("S0101", None));
        assert_eq!(code_and_text("MSG01050 [ ]"), ("MSG01050", None));
    }
}
