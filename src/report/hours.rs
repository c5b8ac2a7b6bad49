//! Working hours, to tell which incidents were declared out of hours: days
//! of the week and a span of the day, in a time zone (daylight saving
//! included).

use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingHours {
    pub timezone: Tz,
    /// From `start` (included) to `end` (excluded), local time.
    pub start: NaiveTime,
    pub end: NaiveTime,
    /// Monday first.
    pub days: Vec<Weekday>,
}

impl Default for WorkingHours {
    fn default() -> Self {
        Self {
            timezone: Tz::UTC,
            start: NaiveTime::from_hms_opt(9, 0, 0).expect("a time"),
            end: NaiveTime::from_hms_opt(17, 0, 0).expect("a time"),
            days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
        }
    }
}

impl WorkingHours {
    /// Whether `at` falls within working hours.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.timezone);
        let time = local.time();
        let in_span = if self.start <= self.end {
            time >= self.start && time < self.end
        } else {
            // A span past midnight, such as 22:00–06:00.
            time >= self.start || time < self.end
        };
        self.days.contains(&local.weekday()) && in_span
    }

    /// `Mon–Fri 09:00–17:00 Europe/Berlin`.
    pub fn describe(&self) -> String {
        let days = describe_days(&self.days);
        format!(
            "{days} {}–{} {}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M"),
            self.timezone
        )
    }
}

/// `Mon–Fri` for a run of days, `Mon, Wed, Fri` otherwise.
fn describe_days(days: &[Weekday]) -> String {
    let mut sorted: Vec<u32> = days.iter().map(|d| d.num_days_from_monday()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let name = |n: u32| format!("{:?}", Weekday::try_from(n as u8).expect("a weekday"));
    let run = sorted.windows(2).all(|w| w[1] == w[0] + 1);
    match (sorted.first(), sorted.last()) {
        (Some(a), Some(b)) if run && sorted.len() > 2 => format!("{}–{}", name(*a), name(*b)),
        _ => sorted.iter().map(|n| name(*n)).collect::<Vec<_>>().join(", "),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn working_hours_follow_the_local_clock_and_its_daylight_saving() {
        let berlin = WorkingHours { timezone: chrono_tz::Europe::Berlin, ..Default::default() };
        // Summer: UTC+2. 07:30 UTC is 09:30 in Berlin, on a Wednesday.
        assert!(berlin.contains(Utc.with_ymd_and_hms(2026, 7, 15, 7, 30, 0).unwrap()));
        // Winter: UTC+1. 07:30 UTC is 08:30: not yet.
        assert!(!berlin.contains(Utc.with_ymd_and_hms(2026, 1, 14, 7, 30, 0).unwrap()));
        // 16:59 is in, 17:00 is out; Saturday is out.
        assert!(berlin.contains(Utc.with_ymd_and_hms(2026, 1, 14, 15, 59, 0).unwrap()));
        assert!(!berlin.contains(Utc.with_ymd_and_hms(2026, 1, 14, 16, 0, 0).unwrap()));
        assert!(!berlin.contains(Utc.with_ymd_and_hms(2026, 1, 17, 10, 0, 0).unwrap()));
        assert_eq!(berlin.describe(), "Mon–Fri 09:00–17:00 Europe/Berlin");
        let odd = WorkingHours { days: vec![Weekday::Fri, Weekday::Mon], ..Default::default() };
        assert_eq!(odd.describe(), "Mon, Fri 09:00–17:00 UTC");
    }
}
