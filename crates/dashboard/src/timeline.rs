//! The next 14 days as an SVG drawn by the server: a bar per day with how many deadlines fall
//! on it (in the source zone), and a tick per deadline, so a cluster stands out.

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use ledger::{DefaultAction, PendingTransfer};

/// Days the timeline spans, from the page's instant.
pub(crate) const DAYS: i64 = 14;
/// The drawing's width and height in its own units (it scales to the page).
pub(crate) const WIDTH: u32 = 1000;
pub(crate) const HEIGHT: u32 = 150;
/// The axis: where it starts and ends, and where the ticks sit.
const LEFT: f64 = 10.0;
const RIGHT: f64 = 990.0;
const AXIS_Y: f64 = 110.0;
/// The tallest bar.
const BAR_MAX: f64 = 70.0;

/// A day of the axis.
#[derive(Debug)]
pub(crate) struct Day {
    /// Where its midnight (source zone) is, or the axis's start for the first day.
    pub(crate) x: String,
    pub(crate) width: String,
    /// `Tue 18`.
    pub(crate) label: String,
    pub(crate) label_x: String,
    pub(crate) deadlines: usize,
    pub(crate) bar_y: String,
    pub(crate) bar_height: String,
}

/// One deadline on the axis.
#[derive(Debug)]
pub(crate) struct Mark {
    pub(crate) x: String,
    /// `ack` or `nack` or `unknown`: the colour.
    pub(crate) class: &'static str,
    /// What a pointer over it says: the domain and its deadline.
    pub(crate) title: String,
}

/// The drawing.
#[derive(Debug)]
pub(crate) struct Timeline {
    pub(crate) days: Vec<Day>,
    pub(crate) marks: Vec<Mark>,
    /// Deadlines already passed (not on the axis).
    pub(crate) overdue: usize,
    /// Deadlines after the 14 days.
    pub(crate) later: usize,
    pub(crate) busiest: usize,
}

fn x_of(t: DateTime<Utc>, from: DateTime<Utc>) -> f64 {
    let span = Duration::days(DAYS).num_seconds() as f64;
    let offset = (t - from).num_seconds() as f64;
    LEFT + (RIGHT - LEFT) * (offset / span).clamp(0.0, 1.0)
}

fn coord(v: f64) -> String {
    format!("{v:.1}")
}

/// The timeline of `transfers` (every pending one, not only a page's) from `at` on.
pub(crate) fn timeline(transfers: &[PendingTransfer], at: DateTime<Utc>, tz: Tz) -> Timeline {
    let end = at + Duration::days(DAYS);
    // Day boundaries: the source zone's midnights after `at`, up to `end`.
    let mut bounds = vec![at];
    let mut date = at.with_timezone(&tz).date_naive();
    loop {
        date = match date.succ_opt() {
            Some(next) => next,
            None => break,
        };
        // The day's first instant: its midnight, or (where the midnight is in a DST gap, as
        // in Santiago or Havana) the first whole hour of it that exists.
        let Some(midnight) = (0..4)
            .filter_map(|hour| date.and_hms_opt(hour, 0, 0))
            .find_map(|m| tz.from_local_datetime(&m).earliest())
            .map(|m| m.with_timezone(&Utc))
        else {
            continue;
        };
        if midnight >= end {
            break;
        }
        bounds.push(midnight);
    }
    bounds.push(end);
    let mut counts = vec![0usize; bounds.len() - 1];
    let (mut overdue, mut later) = (0, 0);
    let mut marks = Vec::new();
    for t in transfers {
        let Some(deadline) = t.deadline_at else {
            continue;
        };
        if deadline <= at {
            overdue += 1;
            continue;
        }
        if deadline >= end {
            later += 1;
            continue;
        }
        let day = bounds.partition_point(|b| *b <= deadline).saturating_sub(1);
        if let Some(count) = counts.get_mut(day) {
            *count += 1;
        }
        marks.push(Mark {
            x: coord(x_of(deadline, at)),
            class: match t.default_action {
                Some(DefaultAction::Ack) => "ack",
                Some(DefaultAction::Nack) => "nack",
                None => "unknown",
            },
            title: format!(
                "{}: {}",
                t.domain,
                deadline.with_timezone(&tz).format("%a %Y-%m-%d %H:%M %Z")
            ),
        });
    }
    let busiest = counts.iter().copied().max().unwrap_or(0);
    let days = bounds
        .windows(2)
        .zip(&counts)
        .map(|(pair, &deadlines)| {
            let (x0, x1) = (x_of(pair[0], at), x_of(pair[1], at));
            let height = if busiest == 0 {
                0.0
            } else {
                BAR_MAX * deadlines as f64 / busiest as f64
            };
            Day {
                x: coord(x0),
                width: coord((x1 - x0 - 2.0).max(0.0)),
                // A first day begun late (the page's "now" in its evening) is too narrow
                // for a label of its own.
                label: if x1 - x0 < 45.0 {
                    String::new()
                } else {
                    pair[0].with_timezone(&tz).format("%a %d").to_string()
                },
                label_x: coord(x0 + 2.0),
                deadlines,
                bar_y: coord(AXIS_Y - height),
                bar_height: coord(height),
            }
        })
        .collect();
    Timeline {
        days,
        marks,
        overdue,
        later,
        busiest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(domain: &str, deadline: Option<DateTime<Utc>>) -> PendingTransfer {
        PendingTransfer {
            domain: domain.into(),
            transaction: None,
            started_at: None,
            reminder_at: None,
            deadline_at: deadline,
            default_action: Some(DefaultAction::Ack),
            end_at: None,
            seq: 1,
            dst_gap: false,
            dst_overlap: false,
            time_recorded: false,
        }
    }

    #[test]
    fn deadlines_fall_on_their_source_zone_day() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // 2010-05-18 12:00 Berlin.
        let at = Utc.with_ymd_and_hms(2010, 5, 18, 10, 0, 0).unwrap();
        let list = [
            // 2010-05-19 23:30 UTC is 2010-05-20 01:30 in Berlin: the 20th.
            transfer(
                "a.example",
                Some(Utc.with_ymd_and_hms(2010, 5, 19, 23, 30, 0).unwrap()),
            ),
            transfer(
                "b.example",
                Some(Utc.with_ymd_and_hms(2010, 5, 20, 8, 0, 0).unwrap()),
            ),
            transfer("late.example", Some(at + Duration::days(20))),
            transfer("gone.example", Some(at - Duration::hours(1))),
            transfer("unknown.example", None),
        ];
        let t = timeline(&list, at, tz);
        // The 18th (from noon) and 14 more days begun: 15 bars, the last one cut at `end`.
        assert_eq!(t.days.len(), 15);
        // Half a day is too narrow for its label.
        assert_eq!(t.days[0].label, "");
        assert_eq!(t.days[1].label, "Wed 19");
        assert_eq!(t.days[2].label, "Thu 20");
        assert_eq!(t.days[2].deadlines, 2);
        assert_eq!(t.days.iter().map(|d| d.deadlines).sum::<usize>(), 2);
        assert_eq!((t.overdue, t.later, t.busiest), (1, 1, 2));
        assert_eq!(t.marks.len(), 2);
        assert!(
            t.marks[0]
                .title
                .starts_with("a.example: Thu 2010-05-20 01:30 CEST")
        );

        // Exactly 14 days on is later, not a tick without a bar.
        let t = timeline(
            &[transfer("edge.example", Some(at + Duration::days(DAYS)))],
            at,
            tz,
        );
        assert_eq!((t.later, t.marks.len()), (1, 0));
    }

    #[test]
    fn a_day_whose_midnight_is_in_a_dst_gap_has_its_own_bar() {
        // Santiago skipped 2024-09-08 00:00-01:00 (clocks went from 00:00 to 01:00).
        let tz: Tz = "America/Santiago".parse().unwrap();
        let at = Utc.with_ymd_and_hms(2024, 9, 5, 12, 0, 0).unwrap();
        let sunday = Utc.with_ymd_and_hms(2024, 9, 8, 12, 0, 0).unwrap();
        let t = timeline(&[transfer("s.example", Some(sunday))], at, tz);
        let labels: Vec<&str> = t.days.iter().map(|d| d.label.as_str()).collect();
        assert!(labels.contains(&"Sun 08"), "{labels:?}");
        let day = t.days.iter().find(|d| d.label == "Sun 08").unwrap();
        assert_eq!(day.deadlines, 1);
        let sat = t.days.iter().find(|d| d.label == "Sat 07").unwrap();
        assert_eq!(sat.deadlines, 0);
    }
}
