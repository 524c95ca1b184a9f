//! How far an instant is from the page's "now", in words a person reads across a room.

use chrono::{DateTime, Utc};

/// `deadline` as seen from `at`: `in 3 d 14 h 43 min`, `in 12 min`, `in under a minute`, or,
/// once passed (at the deadline itself too), `5 h 2 min ago`. Whole minutes, rounded down.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let at = Utc.with_ymd_and_hms(2010, 5, 18, 10, 0, 0).unwrap();
/// let deadline = Utc.with_ymd_and_hms(2010, 5, 22, 0, 43, 53).unwrap();
/// assert_eq!(ledger_dashboard::countdown(deadline, at), "in 3 d 14 h 43 min");
/// assert_eq!(ledger_dashboard::countdown(at, deadline), "3 d 14 h 43 min ago");
/// ```
pub fn countdown(deadline: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let seconds = (deadline - at).num_seconds();
    let span = span(seconds.unsigned_abs());
    // At the deadline itself it has passed (`PendingTransfer::overdue` is `deadline <= at`).
    match (seconds > 0, span) {
        (true, None) => "in under a minute".to_string(),
        (false, None) => "under a minute ago".to_string(),
        (true, Some(span)) => format!("in {span}"),
        (false, Some(span)) => format!("{span} ago"),
    }
}

/// `3 d 14 h 43 min`, `5 h 0 min`, `12 min`; `None` under a minute.
fn span(seconds: u64) -> Option<String> {
    let minutes = seconds / 60;
    if minutes == 0 {
        return None;
    }
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    Some(if days > 0 {
        format!("{days} d {hours} h {minutes} min")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else {
        format!("{minutes} min")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn words_for_each_size() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let after = |s: i64| countdown(at + Duration::seconds(s), at);
        assert_eq!(after(0), "under a minute ago");
        assert_eq!(after(1), "in under a minute");
        assert_eq!(after(59), "in under a minute");
        assert_eq!(after(60), "in 1 min");
        assert_eq!(after(5 * 3600 + 12 * 60 + 59), "in 5 h 12 min");
        assert_eq!(after(3600), "in 1 h 0 min");
        assert_eq!(after(86_400), "in 1 d 0 h 0 min");
        assert_eq!(after(-30), "under a minute ago");
        assert_eq!(after(-(2 * 3600 + 5 * 60)), "2 h 5 min ago");
    }
}
