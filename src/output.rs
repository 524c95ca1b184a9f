//! Rendering: tables for people, JSON for scripts, times in UTC and the source zone.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

/// An instant for people: UTC, and the same instant in the source zone.
/// `2010-05-22 00:43:53 UTC (02:43:53 CEST)`; the local date is repeated when it differs.
pub fn human_time(t: DateTime<Utc>, tz: Tz) -> String {
    ledger_documents::values::human_time(t, tz)
}

/// One line per rejected item of an `ingest --json`-shaped list: `rejected PATH: REASON (kept
/// as reject #ID{after})`, `after` saying what became of it at the source (`, confirmed`).
pub fn rejected_lines(out: &mut impl Write, items: &[Value], after: &str) -> io::Result<()> {
    for item in items.iter().filter(|i| i["outcome"] == "rejected") {
        writeln!(
            out,
            "rejected {}: {} (kept as reject #{}{after})",
            item["path"].as_str().unwrap_or_default(),
            item["reason"].as_str().unwrap_or_default(),
            item["reject_id"]
        )?;
    }
    Ok(())
}

/// An optional instant for people (`-` when unknown).
pub fn human_opt(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map_or_else(|| "-".to_string(), |t| human_time(t, tz))
}

/// An instant of a document (an RFC 3339 string) for people; `-` when it is `null`.
pub fn human_doc_time(value: &Value, tz: Tz) -> String {
    human_opt(doc_time(value), tz)
}

/// An instant of a document (an RFC 3339 string), if it is one.
pub fn doc_time(value: &Value) -> Option<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// A document's status (`{"code", "class", "text"}` or `null`) for people: `S0101 success`.
pub fn status_doc(value: &Value) -> String {
    match (value["code"].as_str(), value["class"].as_str()) {
        (Some(code), Some(class)) => format!("{code} {class}"),
        _ => "-".to_string(),
    }
}

/// A text or number of a document for a table cell (`-` when `null` or absent).
pub fn doc_cell(value: &Value) -> String {
    match value {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The elements of a document's array (none when it is not one).
pub fn items(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
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
