//! `[report]`: the working hours out-of-hours incidents are counted against.

use chrono::{NaiveTime, Weekday};

use super::validate::Cx;
use super::{ConfigError, raw};
use crate::report::WorkingHours;

pub(super) fn working_hours(cx: &Cx<'_>, r: raw::Report) -> Result<WorkingHours, ConfigError> {
    let mut hours = WorkingHours::default();
    if let Some(tz) = r.timezone.filter(|t| !t.is_empty()) {
        hours.timezone = tz.parse().map_err(|_| {
            cx.err(
                "report.timezone",
                format!("{tz:?} is not a time zone name like \"Europe/Berlin\" or \"UTC\""),
            )
        })?;
    }
    if let Some(span) = r.working_hours.filter(|s| !s.is_empty()) {
        let parsed = span.split_once(['-', '–']).and_then(|(a, b)| {
            let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").ok();
            Some((time(a)?, time(b)?))
        });
        match parsed {
            Some((start, end)) if start != end => (hours.start, hours.end) = (start, end),
            _ => {
                return Err(cx.err(
                    "report.working_hours",
                    format!("{span:?} is not a span like \"09:00-17:00\" (or \"22:00-06:00\" past midnight)"),
                ));
            }
        }
    }
    if let Some(days) = r.working_days {
        let mut parsed = Vec::new();
        for (i, d) in days.iter().enumerate() {
            match d.parse::<Weekday>() {
                Ok(day) if !parsed.contains(&day) => parsed.push(day),
                Ok(_) => {
                    return Err(cx.err(
                        &format!("report.working_days[{i}]"),
                        format!("{d:?} is listed twice"),
                    ));
                }
                Err(_) => {
                    return Err(cx.err(
                        &format!("report.working_days[{i}]"),
                        format!("{d:?} is not a day of the week like \"mon\" or \"Monday\""),
                    ));
                }
            }
        }
        if parsed.is_empty() {
            return Err(cx.err("report.working_days", "needs at least one day"));
        }
        hours.days = parsed;
    }
    Ok(hours)
}
