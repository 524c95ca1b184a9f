//! Rendering: tables for people, JSON for scripts, times in UTC and the source zone.

use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use ledger_event::Event;
use ledger_parser::{DstFlag, Status};
use serde_json::{Value, json};

/// An RFC 3339 UTC instant, as in the JSON contract (`2010-05-22T00:43:53Z`).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An optional instant as JSON (`null` when unknown).
pub fn json_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(rfc3339(t)))
}

/// An instant for people: UTC, and the same instant in the source zone.
/// `2010-05-22 00:43:53 UTC (02:43:53 CEST)`; the local date is repeated when it differs.
pub fn human_time(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    let local_text = if local.date_naive() == t.date_naive() {
        local.format("%H:%M:%S %Z").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M:%S %Z").to_string()
    };
    format!("{} UTC ({local_text})", t.format("%Y-%m-%d %H:%M:%S"))
}

/// An optional instant for people (`-` when unknown).
pub fn human_opt(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map_or_else(|| "-".to_string(), |t| human_time(t, tz))
}

/// An optional text for a table cell (`-` when absent).
pub fn cell(text: Option<&str>) -> String {
    text.unwrap_or("-").to_string()
}

/// A status as JSON: `{"code", "class", "text"}`.
pub fn status_json(status: Option<&Status>) -> Value {
    match status {
        Some(s) => json!({ "code": s.code, "class": s.class.name(), "text": s.text }),
        None => Value::Null,
    }
}

/// A status for people: `S0101 success`.
pub fn status_human(status: Option<&Status>) -> String {
    status.map_or_else(
        || "-".to_string(),
        |s| format!("{} {}", s.code, s.class.name()),
    )
}

/// The flags of an event, as JSON and `show` list them: `dst_gap` / `dst_overlap` when a time of
/// its transfer timetable fell in a DST gap or overlap of the source zone, `time_recorded` when
/// it has no time of its own (a mail without `Date`, no `created`) and is ordered by when it
/// was recorded.
pub fn event_flags(event: &Event) -> Vec<&'static str> {
    let tt = &event.notification.timetable;
    let readings = [&tt.start, &tt.reminder, &tt.autoack, &tt.autonack, &tt.end];
    let mut flags = Vec::new();
    if readings
        .iter()
        .filter_map(|r| r.as_ref())
        .any(|r| r.dst == DstFlag::Gap)
    {
        flags.push("dst_gap");
    }
    if readings
        .iter()
        .filter_map(|r| r.as_ref())
        .any(|r| r.dst == DstFlag::Overlap)
    {
        flags.push("dst_overlap");
    }
    if event.occurred_at.is_none() {
        flags.push("time_recorded");
    }
    flags
}

/// Where an event's time comes from, as JSON's `time_source` says: `notification` (the mail's
/// `Date`, else the provider's `created`), or `recorded` (neither: when the ledger recorded it).
pub fn time_source(event: &Event) -> &'static str {
    if event.occurred_at.is_some() {
        "notification"
    } else {
        "recorded"
    }
}

/// An event as JSON, as the README's contract says (and a few more keys).
pub fn event_json(event: &Event) -> Value {
    let n = &event.notification;
    json!({
        "seq": event.seq,
        "kind": event.kind.name(),
        "provider": n.provider,
        "format": n.format.name(),
        "ctid": event.ctid,
        "domain": event.domain,
        "task": n.task,
        "command": event.command,
        "status": status_json(n.status.as_ref()),
        "notices": n.notices.iter().map(|x| json!({"code": x.code, "text": x.text})).collect::<Vec<_>>(),
        "error": n.error,
        "kk_answer": n.kk_answer,
        "owner_c": n.owner_c,
        "nic_response": n.nic_response,
        "event_type": n.event_type,
        "timetable": {
            "start": json_time(n.timetable.start.as_ref().and_then(|t| t.utc)),
            "reminder": json_time(n.timetable.reminder.as_ref().and_then(|t| t.utc)),
            "autoack": json_time(n.timetable.autoack.as_ref().and_then(|t| t.utc)),
            "autonack": json_time(n.timetable.autonack.as_ref().and_then(|t| t.utc)),
            "end": json_time(n.timetable.end.as_ref().and_then(|t| t.utc)),
        },
        "occurred_at": json_time(event.occurred_at),
        "recorded_at": rfc3339(event.recorded_at),
        "time_source": time_source(event),
        "flags": event_flags(event),
        "source": {
            "sha256": hex(&event.source.sha256),
            "message_id": event.source.message_id,
            "origin": event.source.origin.0,
        },
        "diagnostics": n.diagnostics.iter().map(|d| d.message.clone()).collect::<Vec<_>>(),
    })
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a JSON value and a newline.
pub fn print_json(out: &mut impl Write, value: &Value) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
    writeln!(out)
}

/// A plain-text table: a header row and aligned columns.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: Vec<&'static str>) -> Self {
        Table {
            header,
            rows: Vec::new(),
        }
    }

    /// Adds a row (as many cells as columns).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Writes the table; the last column is not padded.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line = |cells: Vec<&str>, out: &mut dyn Write| -> io::Result<()> {
            let last = cells.len().saturating_sub(1);
            let mut text = String::new();
            for (i, cell) in cells.into_iter().enumerate() {
                if i == last {
                    text.push_str(cell);
                } else {
                    let pad = widths.get(i).copied().unwrap_or(0);
                    text.push_str(&format!("{cell:<pad$}  "));
                }
            }
            writeln!(out, "{}", text.trim_end())
        };
        line(self.header.clone(), out)?;
        for row in &self.rows {
            line(row.iter().map(String::as_str).collect(), out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn human_time_shows_utc_and_zone() {
        let t = Utc
            .with_ymd_and_hms(2010, 5, 22, 0, 43, 53)
            .single()
            .expect("valid");
        assert_eq!(
            human_time(t, chrono_tz::Europe::Berlin),
            "2010-05-22 00:43:53 UTC (02:43:53 CEST)"
        );
        let t = Utc
            .with_ymd_and_hms(2010, 5, 21, 23, 0, 0)
            .single()
            .expect("valid");
        assert_eq!(
            human_time(t, chrono_tz::Europe::Berlin),
            "2010-05-21 23:00:00 UTC (2010-05-22 01:00:00 CEST)"
        );
    }

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(vec!["A", "LONGER"]);
        t.row(vec!["wide cell".into(), "x".into()]);
        let mut out = Vec::new();
        t.write(&mut out).expect("writing to memory");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "A          LONGER\nwide cell  x\n"
        );
    }
}
