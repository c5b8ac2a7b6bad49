//! Periods: how `--since 90d` and the reports page read, and incidents
//! week by week.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::{Period, percentile};
use crate::incident::Incident;

/// `90d`, `12w`, `36h` back from `to`, or a date (midnight UTC); `None`
/// for anything else.
pub fn since(s: &str, to: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(day.and_hms_opt(0, 0, 0)?.and_utc());
    }
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let n: i64 = s[..split].parse().ok()?;
    let span = match &s[split..] {
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        "h" => Duration::try_hours(n),
        _ => None,
    };
    span.filter(|d| *d > Duration::zero()).and_then(|d| to.checked_sub_signed(d))
}

/// One week (Monday to Sunday, UTC) of the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Week {
    pub monday: NaiveDate,
    pub incidents: usize,
    /// The median declared → resolved of the week's resolved incidents.
    pub mttr_median_seconds: Option<f64>,
}

/// The incidents declared in `period`, week by week, every week shown; one
/// pass over the incidents.
pub fn weekly(incidents: &[Incident], period: Period) -> Vec<Week> {
    let monday = |d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
    let mut by_week: std::collections::BTreeMap<NaiveDate, (usize, Vec<f64>)> = Default::default();
    for i in incidents.iter().filter(|i| i.declared_at >= period.from && i.declared_at < period.to)
    {
        let week = by_week.entry(monday(i.declared_at.date_naive())).or_default();
        week.0 += 1;
        if let Some(r) = i.resolved_at {
            week.1.push((r - i.declared_at).num_seconds() as f64);
        }
    }
    let mut weeks = Vec::new();
    let mut start = monday(period.from.date_naive());
    let last = monday((period.to - Duration::seconds(1)).date_naive());
    while start <= last {
        let (incidents, mut mttr) = by_week.remove(&start).unwrap_or_default();
        mttr.sort_by(f64::total_cmp);
        weeks.push(Week { monday: start, incidents, mttr_median_seconds: percentile(&mttr, 50.0) });
        start += Duration::days(7);
    }
    weeks
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn since_reads_spans_back_from_the_end_and_dates() {
        let to = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        assert_eq!(since("90d", to), Some(Utc.with_ymd_and_hms(2026, 9, 2, 0, 0, 0).unwrap()));
        assert_eq!(since("2w", to), Some(Utc.with_ymd_and_hms(2026, 11, 17, 0, 0, 0).unwrap()));
        assert_eq!(since("36h", to), Some(Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap()));
        assert_eq!(
            since("2026-11-01", to),
            Some(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap())
        );
        for bad in ["", "d", "90", "90y", "0d", "-3d", "99999999999999d"] {
            assert_eq!(since(bad, to), None, "{bad}");
        }
    }

    #[test]
    fn every_week_of_the_period_is_listed_from_its_monday() {
        let from = Utc.with_ymd_and_hms(2026, 11, 4, 0, 0, 0).unwrap(); // a Wednesday
        let to = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        let weeks = weekly(&[], Period { from, to });
        let mondays: Vec<String> = weeks.iter().map(|w| w.monday.to_string()).collect();
        assert_eq!(mondays, ["2026-11-02", "2026-11-09", "2026-11-16"]);
        assert!(weeks.iter().all(|w| w.incidents == 0 && w.mttr_median_seconds.is_none()));
    }
}
