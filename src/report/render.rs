//! The report as Markdown (for people), JSON (for programs, times in
//! seconds) or CSV (for spreadsheets, one row per group).

use std::fmt::Write;

use chrono::TimeDelta;

use super::{Report, Row, Timing};
use crate::postmortem::duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
    Csv,
}

pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Markdown => markdown(report),
        Format::Json => serde_json::to_string_pretty(report).expect("a report serializes") + "\n",
        Format::Csv => csv(report),
    }
}

/// Seconds as people say them, rounded to the second; `—` for none.
pub fn human(secs: Option<f64>) -> String {
    match secs {
        Some(s) => duration(TimeDelta::seconds(s.round() as i64)),
        None => "—".to_string(),
    }
}

fn share(part: usize, of: usize) -> String {
    (part * 100 + of / 2).checked_div(of).map_or_else(|| "—".into(), |p| format!("{p}%"))
}

fn markdown(r: &Report) -> String {
    let mut out = String::new();
    let all = &r.all;
    let _ = writeln!(out, "# Incident report\n");
    let _ = writeln!(
        out,
        "{} – {} · {} incidents ({} still open) · {} declared out of hours ({}; working hours {})\n",
        r.from.format("%Y-%m-%d %H:%M UTC"),
        r.to.format("%Y-%m-%d %H:%M UTC"),
        all.incidents,
        all.open,
        all.out_of_hours,
        share(all.out_of_hours, all.incidents),
        r.working_hours,
    );
    let _ = writeln!(
        out,
        "Times run from declaring to the first acknowledgement (MTTA), to mitigation (monitoring, \
         or resolved when it never was) and to resolution (MTTR): median and 90th percentile \
         over the incidents that got that far.\n"
    );
    let mut by_severity = r.by_severity.clone();
    let mut total = all.clone();
    total.group = "**All**".into();
    by_severity.push(total);
    table(&mut out, "By severity", "Severity", &by_severity);
    table(&mut out, "By source", "Source", &r.by_source);
    table(&mut out, "By team", "Team (invited or paged)", &r.by_team);
    out
}

fn table(out: &mut String, title: &str, what: &str, rows: &[Row]) {
    let _ = writeln!(out, "## {title}\n");
    if rows.is_empty() {
        let _ = writeln!(out, "None.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| {what} | Incidents | Out of hours | MTTA median | MTTA p90 | Mitigate median | Mitigate p90 | MTTR median | MTTR p90 |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for row in rows {
        let t = |t: &Timing| [human(t.median_seconds), human(t.p90_seconds)];
        let [am, ap] = t(&row.acknowledge);
        let [mm, mp] = t(&row.mitigate);
        let [rm, rp] = t(&row.resolve);
        let group = row.group.replace('|', "\\|");
        let _ = writeln!(
            out,
            "| {group} | {} | {} | {am} | {ap} | {mm} | {mp} | {rm} | {rp} |",
            row.incidents, row.out_of_hours
        );
    }
    out.push('\n');
}

fn csv(r: &Report) -> String {
    let mut out = String::from(
        "dimension,group,incidents,open,out_of_hours,mtta_median_seconds,mtta_p90_seconds,mitigate_median_seconds,mitigate_p90_seconds,mttr_median_seconds,mttr_p90_seconds\n",
    );
    let sections: [(&str, &[Row]); 4] = [
        ("all", std::slice::from_ref(&r.all)),
        ("severity", &r.by_severity),
        ("source", &r.by_source),
        ("team", &r.by_team),
    ];
    for (dimension, rows) in sections {
        for row in rows {
            let secs =
                |s: Option<f64>| s.map(|s| format!("{}", s.round() as i64)).unwrap_or_default();
            let _ = writeln!(
                out,
                "{dimension},{},{},{},{},{},{},{},{},{},{}",
                field(&row.group),
                row.incidents,
                row.open,
                row.out_of_hours,
                secs(row.acknowledge.median_seconds),
                secs(row.acknowledge.p90_seconds),
                secs(row.mitigate.median_seconds),
                secs(row.mitigate.p90_seconds),
                secs(row.resolve.median_seconds),
                secs(row.resolve.p90_seconds),
            );
        }
    }
    out
}

/// A CSV field, quoted when it must be (RFC 4180); a leading `=`, `+`, `-`
/// or `@` is prefixed with `'` so spreadsheets do not run it as a formula.
pub(super) fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}
