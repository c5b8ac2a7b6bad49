//! How incidents went over a period: how many, how fast they were
//! acknowledged (MTTA), mitigated and resolved (MTTR) as median and 90th
//! percentile, by severity, by source (alert rule or chat) and by team, and
//! how many were declared out of hours. Pure: the incidents come in, the
//! numbers go out; `tocsin report` reads and prints.

mod hours;
mod period;
mod render;
mod stats;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::incident::Incident;

pub use hours::WorkingHours;
pub use period::{Week, since, weekly};
pub use render::{Format, human, render};
pub use stats::percentile;

/// Incidents declared at or after `from` and before `to` are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// The median and 90th percentile of a time, over the incidents that got
/// that far (`count`); `None` when none did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    pub count: usize,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

/// One line of the report: a severity, a source, a team, or all incidents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub group: String,
    pub incidents: usize,
    /// Not resolved yet (they count for acknowledgement and mitigation only).
    pub open: usize,
    pub out_of_hours: usize,
    /// Declared → first acknowledgement (or commander).
    pub acknowledge: Timing,
    /// Declared → monitoring (or resolved, when it never was monitoring).
    pub mitigate: Timing,
    /// Declared → resolved.
    pub resolve: Timing,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub working_hours: String,
    pub all: Row,
    pub by_severity: Vec<Row>,
    pub by_source: Vec<Row>,
    pub by_team: Vec<Row>,
}

/// Where an incident came from, as the report groups it.
pub fn source(incident: &Incident) -> String {
    match &incident.origin {
        Some(o) => format!("alert rule {}", o.rule),
        None => "chat".to_string(),
    }
}

/// The report over the incidents declared in `period`. Every configured
/// severity has a row, most severe first; sources and teams are listed
/// by how many incidents they had, then by name.
pub fn report(
    incidents: &[Incident],
    severities: &[String],
    period: Period,
    hours: &WorkingHours,
) -> Report {
    let counted: Vec<&Incident> = incidents
        .iter()
        .filter(|i| i.declared_at >= period.from && i.declared_at < period.to)
        .collect();
    let row = |group: &str, keep: &dyn Fn(&Incident) -> bool| {
        let of: Vec<&Incident> = counted.iter().copied().filter(|i| keep(i)).collect();
        summarize(group, &of, hours)
    };
    let by_severity = severities.iter().map(|s| row(s, &|i: &Incident| &i.severity == s)).collect();
    let mut sources: Vec<String> = counted.iter().map(|i| source(i)).collect();
    sources.sort();
    sources.dedup();
    let mut by_source: Vec<Row> =
        sources.iter().map(|s| row(s, &|i: &Incident| &source(i) == s)).collect();
    let mut teams: Vec<&String> = counted.iter().flat_map(|i| &i.teams).collect();
    teams.sort();
    teams.dedup();
    let mut by_team: Vec<Row> =
        teams.iter().map(|t| row(t, &|i: &Incident| i.teams.contains(t))).collect();
    for rows in [&mut by_source, &mut by_team] {
        rows.sort_by(|a, b| b.incidents.cmp(&a.incidents).then_with(|| a.group.cmp(&b.group)));
    }
    Report {
        from: period.from,
        to: period.to,
        working_hours: hours.describe(),
        all: row("all", &|_| true),
        by_severity,
        by_source,
        by_team,
    }
}

fn summarize(group: &str, incidents: &[&Incident], hours: &WorkingHours) -> Row {
    let since_declared = |at: Option<DateTime<Utc>>, i: &Incident| {
        at.map(|t| (t - i.declared_at).num_milliseconds().max(0) as f64 / 1000.0)
    };
    let timing = |pick: &dyn Fn(&Incident) -> Option<DateTime<Utc>>| {
        let mut secs: Vec<f64> =
            incidents.iter().filter_map(|i| since_declared(pick(i), i)).collect();
        secs.sort_by(f64::total_cmp);
        // To the millisecond, as the times were recorded.
        let at = |p| percentile(&secs, p).map(|s| (s * 1000.0).round() / 1000.0);
        Timing { count: secs.len(), median_seconds: at(50.0), p90_seconds: at(90.0) }
    };
    Row {
        group: group.to_string(),
        incidents: incidents.len(),
        open: incidents.iter().filter(|i| i.resolved_at.is_none()).count(),
        out_of_hours: incidents.iter().filter(|i| !hours.contains(i.declared_at)).count(),
        acknowledge: timing(&|i| i.acknowledged.as_ref().map(|a| a.at)),
        mitigate: timing(&|i| i.mitigated_at),
        resolve: timing(&|i| i.resolved_at),
    }
}

#[cfg(test)]
mod tests;
