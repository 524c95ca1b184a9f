//! Rendering: tables for people, JSON for scripts, times in UTC and the source zone.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ledger_parser::Status;
use serde_json::Value;

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

/// A status for people: `S0101 success`.
pub fn status_human(status: Option<&Status>) -> String {
    status.map_or_else(
        || "-".to_string(),
        |s| format!("{} {}", s.code, s.class.name()),
    )
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
