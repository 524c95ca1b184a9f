//! The value formats people write: instants (`--at`, `at=`) and durations (`--due-within`,
//! `due_within=`). Errors are values; each caller says them its own way (the CLI with the flag
//! name and exit 64 or 1, the server as a 400 with the parameter name).

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use ledger_parser::DstFlag;

/// Why a value was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// A duration with a minus sign.
    #[error("a duration cannot be negative")]
    Negative,
    /// Not a duration at all.
    #[error("not a duration: {0}")]
    NotADuration(String),
    /// A wall-clock time that never happened in the zone.
    #[error("falls in a DST gap of {0}: that wall-clock time never happened")]
    DstGap(Tz),
    /// Not an instant in any accepted form.
    #[error("is not an instant")]
    NotAnInstant,
}

impl ValueError {
    /// True when the value cannot be meant as written (the CLI's exit 64), rather than simply
    /// unreadable.
    pub fn is_usage(&self) -> bool {
        matches!(self, ValueError::Negative | ValueError::DstGap(_))
    }

    /// What to write instead, for a hint.
    pub fn hint(&self) -> &'static str {
        match self {
            ValueError::Negative => "write how long ahead to look, like 90m, 48h or 2d",
            ValueError::NotADuration(_) => "write it like 90m, 48h or 2d (units s, m, h, d)",
            ValueError::DstGap(_) => {
                "write the instant in RFC 3339 (2026-03-29T01:30:00Z) or a time outside the gap"
            }
            ValueError::NotAnInstant => {
                "write RFC 3339 (2010-05-20T12:00:00Z) or a time in the source zone (2010-05-20 14:00)"
            }
        }
    }
}

/// An instant in UTC as people read it: `2010-05-22 00:43:53 UTC`.
pub fn utc_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The same instant in zone `tz`, with its abbreviation, and with the date only when it is
/// not the UTC date: `02:43:53 CEST`, or `2010-05-22 01:00:00 CEST` just after midnight.
pub fn local_text(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    if local.date_naive() == t.date_naive() {
        local.format("%H:%M:%S %Z").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M:%S %Z").to_string()
    }
}

/// An instant for people, as the CLI and the dashboard show it: UTC, then the zone's time.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use ledger_documents::values::human_time;
///
/// let t = Utc.with_ymd_and_hms(2010, 5, 22, 0, 43, 53).unwrap();
/// assert_eq!(human_time(t, chrono_tz::Europe::Berlin), "2010-05-22 00:43:53 UTC (02:43:53 CEST)");
/// let t = Utc.with_ymd_and_hms(2010, 5, 21, 23, 0, 0).unwrap();
/// assert_eq!(
///     human_time(t, chrono_tz::Europe::Berlin),
///     "2010-05-21 23:00:00 UTC (2010-05-22 01:00:00 CEST)"
/// );
/// ```
pub fn human_time(t: DateTime<Utc>, tz: Tz) -> String {
    format!("{} ({})", utc_text(t), local_text(t, tz))
}

/// Reads a duration as people write it: `90m`, `48h`, `2d`, `1h 30m`.
///
/// ```
/// use ledger_documents::values::{parse_duration, ValueError};
/// assert_eq!(parse_duration("90m").unwrap().as_secs(), 5400);
/// assert_eq!(parse_duration("-5h"), Err(ValueError::Negative));
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, ValueError> {
    if text.trim_start().starts_with('-') {
        return Err(ValueError::Negative);
    }
    humantime::parse_duration(text.trim()).map_err(|e| ValueError::NotADuration(e.to_string()))
}

/// An instant read from what a person wrote, and whether it was a wall-clock time that
/// happened twice (a DST overlap: the earlier instant is taken, and the caller should say so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant {
    /// The instant.
    pub at: DateTime<Utc>,
    /// The text was a wall-clock time inside a DST overlap of the zone.
    pub overlap: bool,
}

/// Reads an instant: RFC 3339 (`2010-05-20T12:00:00Z`, `…+02:00`) or a wall-clock time in `tz`
/// (`2010-05-20 12:00`, `2010-05-20 12:00:00`, `2010-05-20T12:00:00`, `2010-05-20`). A time in
/// a DST gap is refused; one in an overlap is the earlier instant, flagged.
///
/// ```
/// use ledger_documents::values::{parse_instant, ValueError};
/// let berlin = chrono_tz::Europe::Berlin;
/// let at = parse_instant("2010-05-20 14:00", berlin).unwrap();
/// assert_eq!(at.at.to_rfc3339(), "2010-05-20T12:00:00+00:00");
/// assert!(parse_instant("2026-10-25 02:30", berlin).unwrap().overlap);
/// assert_eq!(parse_instant("2026-03-29 02:30", berlin), Err(ValueError::DstGap(berlin)));
/// ```
pub fn parse_instant(text: &str, tz: Tz) -> Result<Instant, ValueError> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(Instant {
            at: at.with_timezone(&Utc),
            overlap: false,
        });
    }
    let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .ok_or(ValueError::NotAnInstant)?;
    match ledger_parser::local_to_utc(naive, tz) {
        (_, DstFlag::Gap) => Err(ValueError::DstGap(tz)),
        (at, DstFlag::Overlap) => Ok(Instant { at, overlap: true }),
        (at, DstFlag::Unambiguous) => Ok(Instant { at, overlap: false }),
    }
}
