//! Charts drawn on the server as SVG from numbers: no script, no library
//! in the page, readable without colour (every bar carries its value).

use std::fmt::Write;

use crate::report::{Row, Week, human};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Median time to acknowledge, mitigate and resolve, per severity: a group
/// of three bars each, on one scale.
pub fn times_by_severity(rows: &[Row]) -> String {
    const LEFT: f64 = 70.0;
    const WIDTH: f64 = 640.0;
    const BAR: f64 = 14.0;
    let series = |r: &Row| {
        [
            ("MTTA", "bar-a", r.acknowledge.median_seconds),
            ("Mitigate", "bar-m", r.mitigate.median_seconds),
            ("MTTR", "bar-r", r.resolve.median_seconds),
        ]
    };
    let max = rows.iter().flat_map(|r| series(r).map(|s| s.2.unwrap_or(0.0))).fold(0.0, f64::max);
    let group = BAR * 3.0 + 14.0;
    let height = 30.0 + group * rows.len() as f64;
    let mut svg = format!(
        r#"<svg class="chart" role="img" aria-labelledby="times-title" viewBox="0 0 {w} {height}" width="100%"><title id="times-title">Median times by severity</title>"#,
        w = LEFT + WIDTH + 90.0
    );
    for (i, (name, class)) in
        [("MTTA", "bar-a"), ("Mitigate", "bar-m"), ("MTTR", "bar-r")].iter().enumerate()
    {
        let x = LEFT + i as f64 * 110.0;
        let _ = write!(
            svg,
            r#"<rect class="{class}" x="{x}" y="4" width="12" height="12"/><text x="{}" y="14">{name}</text>"#,
            x + 16.0
        );
    }
    for (n, r) in rows.iter().enumerate() {
        let top = 30.0 + group * n as f64;
        let _ = write!(
            svg,
            r#"<text x="0" y="{}" class="label">{}</text>"#,
            top + BAR * 1.8,
            esc(&r.group)
        );
        for (k, (name, class, v)) in series(r).into_iter().enumerate() {
            let y = top + BAR * k as f64;
            let w = match (v, max > 0.0) {
                (Some(v), true) => (v / max * WIDTH).max(1.0),
                _ => 0.0,
            };
            let said = human(v);
            let _ = write!(
                svg,
                r#"<rect class="{class}" x="{LEFT}" y="{y}" width="{w:.1}" height="{h}"><title>{} {name}: {said}</title></rect><text x="{}" y="{}" class="value">{said}</text>"#,
                esc(&r.group),
                LEFT + w + 4.0,
                y + BAR - 3.0,
                h = BAR - 2.0,
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Incidents declared per week, one bar a week.
pub fn weekly(weeks: &[Week]) -> String {
    const HEIGHT: f64 = 160.0;
    const STEP: f64 = 44.0;
    let max = weeks.iter().map(|w| w.incidents).max().unwrap_or(0).max(1) as f64;
    let width = 20.0 + STEP * weeks.len() as f64;
    let mut svg = format!(
        r#"<svg class="chart" role="img" aria-labelledby="weekly-title" viewBox="0 0 {width} {}" width="100%"><title id="weekly-title">Incidents per week</title>"#,
        HEIGHT + 40.0
    );
    for (i, w) in weeks.iter().enumerate() {
        let x = 20.0 + STEP * i as f64;
        let h = w.incidents as f64 / max * HEIGHT;
        let y = 20.0 + HEIGHT - h;
        let label = w.monday.format("%m-%d");
        let _ = write!(
            svg,
            r#"<rect class="bar-r" x="{x}" y="{y:.1}" width="{bw}" height="{h:.1}"><title>Week of {}: {} incidents, median MTTR {}</title></rect><text x="{tx}" y="{vy:.1}" class="value" text-anchor="middle">{}</text><text x="{tx}" y="{ly}" class="label" text-anchor="middle">{label}</text>"#,
            w.monday,
            w.incidents,
            human(w.mttr_median_seconds),
            w.incidents,
            bw = STEP - 10.0,
            tx = x + (STEP - 10.0) / 2.0,
            vy = y - 4.0,
            ly = HEIGHT + 36.0,
        );
    }
    svg.push_str("</svg>");
    svg
}
