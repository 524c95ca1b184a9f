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
    if let Some(naive) = naive_fast(text) {
        let (utc, dst) = local_to_utc(naive, tz);
        return TimeReading {
            raw: raw.to_string(),
            utc: Some(utc),
            dst,
        };
    }
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
            TimeReading {
                raw: raw.to_string(),
                utc: Some(utc),
                dst,
            }
        }
        Err(_) => TimeReading {
            raw: raw.to_string(),
            utc: None,
            dst: DstFlag::Unambiguous,
        },
    }
}

/// The common `YYYY-MM-DD HH:MM:SS` (or `T` between) read without a format string: chrono's
/// format parsing was most of the time of a text notification. `None` for any other shape,
/// which then goes the general way.
fn naive_fast(text: &str) -> Option<NaiveDateTime> {
    let bytes: &[u8; 19] = text.as_bytes().try_into().ok()?;
    let [
        y0,
        y1,
        y2,
        y3,
        b'-',
        m0,
        m1,
        b'-',
        d0,
        d1,
        b' ' | b'T',
        h0,
        h1,
        b':',
        i0,
        i1,
        b':',
        s0,
        s1,
    ] = *bytes
    else {
        return None;
    };
    let num = |digits: &[u8]| -> Option<u32> {
        digits.iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(num(&[y0, y1, y2, y3])?).ok()?;
    chrono::NaiveDate::from_ymd_opt(year, num(&[m0, m1])?, num(&[d0, d1])?)?.and_hms_opt(
        num(&[h0, h1])?,
        num(&[i0, i1])?,
        num(&[s0, s1])?,
    )
}

/// A diagnostic for a wall-clock time that was ambiguous in the source zone; `None` when it was
/// not.
pub(crate) fn dst_note(reading: &TimeReading) -> Option<String> {
    match reading.dst {
        DstFlag::Unambiguous => None,
        DstFlag::Gap => Some(format!(
            "{:?} falls in a DST gap of the source zone; read one hour later",
            reading.raw
        )),
        DstFlag::Overlap => Some(format!(
            "{:?} occurs twice in the source zone (DST overlap); the earlier instant is taken",
            reading.raw
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_chrono() {
        for text in [
            "2010-05-17 08:43:53",
            "2010-05-17T08:43:53",
            "1999-12-31 23:59:59",
        ] {
            let chrono =
                NaiveDateTime::parse_from_str(&text.replace('T', " "), "%Y-%m-%d %H:%M:%S");
            assert_eq!(naive_fast(text), chrono.ok(), "{text}");
        }
        for text in [
            "2010-02-30 08:43:53",
            "2010-05-17 24:00:00",
            "2010-05-17 08:43:5x",
            "2010-05-17",
        ] {
            assert_eq!(naive_fast(text), None, "{text}");
        }
    }

    #[test]
    fn read_time_reads_naive_offset_and_junk() {
        let tz = DEFAULT_SOURCE_TZ;
        let t = read_time(" 2010-05-17 08:43:53 ", tz);
        assert_eq!(
            t.utc.map(|u| u.to_rfc3339()).as_deref(),
            Some("2010-05-17T06:43:53+00:00")
        );
        assert_eq!(t.raw, " 2010-05-17 08:43:53 ");
        let t = read_time("2022-01-19T10:54:42.000+0100", tz);
        assert_eq!(
            t.utc.map(|u| u.to_rfc3339()).as_deref(),
            Some("2022-01-19T09:54:42+00:00")
        );
        let t = read_time("2010-05-17 08:43:53.250", tz);
        assert_eq!(
            t.utc.map(|u| u.to_rfc3339()).as_deref(),
            Some("2010-05-17T06:43:53.250+00:00")
        );
        let t = read_time("soon", tz);
        assert_eq!((t.utc, t.dst), (None, DstFlag::Unambiguous));
    }
}
