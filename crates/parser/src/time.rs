//! Provider times: naive wall-clock times in the source zone, or stamped with an offset.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::{DstFlag, TimeReading};

/// The zone AutoDNS servers write their naive times in.
pub const DEFAULT_SOURCE_TZ: Tz = chrono_tz::Europe::Berlin;

/// Converts a wall-clock time in `tz` to UTC, saying whether it fell in a DST gap or overlap.
/// In a gap the clock is read one hour later (as it would have shown); in an overlap the
/// earlier instant is taken.
///
/// ```
/// use chrono::NaiveDate;
/// use ledger_parser::{local_to_utc, DstFlag};
/// let tz = chrono_tz::Europe::Berlin;
/// // 2010-03-28 02:30 never happened in Berlin.
/// let gap = NaiveDate::from_ymd_opt(2010, 3, 28).unwrap().and_hms_opt(2, 30, 0).unwrap();
/// let (utc, flag) = local_to_utc(gap, tz);
/// assert_eq!(flag, DstFlag::Gap);
/// assert_eq!(utc.to_rfc3339(), "2010-03-28T01:30:00+00:00");
/// ```
pub fn local_to_utc(naive: NaiveDateTime, tz: Tz) -> (DateTime<Utc>, DstFlag) {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => (t.with_timezone(&Utc), DstFlag::Unambiguous),
        LocalResult::Ambiguous(early, _) => (early.with_timezone(&Utc), DstFlag::Overlap),
        LocalResult::None => {
            let later = naive + chrono::Duration::hours(1);
            let utc = match tz.from_local_datetime(&later) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
                // No zone has two gaps an hour apart; read the wall clock as UTC then.
                LocalResult::None => Utc.from_utc_datetime(&naive),
            };
            (utc, DstFlag::Gap)
        }
    }
}

/// Reads a provider time: `YYYY-MM-DD HH:MM:SS` (optionally with a fraction) as wall-clock time
/// in `tz`, or an RFC 3339 / ISO time with its own offset (`2022-01-19T10:54:42.000+0100`).
/// A text that is not a time keeps `utc: None`.
pub fn read_time(raw: &str, tz: Tz) -> TimeReading {
    let text = raw.trim();
    let with_offset = DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%z"));
    if let Ok(t) = with_offset {
        return TimeReading {
            raw: raw.to_string(),
            utc: Some(t.with_timezone(&Utc)),
            dst: DstFlag::Unambiguous,
        };
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"));
    match naive {
        Ok(naive) => {
            let (utc, dst) = local_to_utc(naive, tz);
            TimeReading { raw: raw.to_string(), utc: Some(utc), dst }
        }
        Err(_) => TimeReading { raw: raw.to_string(), utc: None, dst: DstFlag::Unambiguous },
    }
}
