//! Small Markdown writers: times, durations, people, links and user text made safe for the
//! place it goes (a table cell, one line, a list item). All write into one `String`.

use std::fmt::{self, Write};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Timelike, Utc};

use crate::incident::UserRef;

/// `2026-11-22 14:05:00 UTC`.
pub(super) fn full_time(out: &mut String, at: DateTime<Utc>) -> fmt::Result {
    write!(out, "{}", at.format("%Y-%m-%d %H:%M:%S UTC"))
}

/// `14:05` (or `14:05:09` with seconds), with the date in front when it is not `day`.
pub(super) fn clock(
    out: &mut String,
    at: DateTime<Utc>,
    day: NaiveDate,
    seconds: bool,
) -> fmt::Result {
    // Written out by hand: chrono's strftime parser was a tenth of a large
    // postmortem's render time.
    let date = at.date_naive();
    if date != day {
        write!(out, "{:04}-{:02}-{:02} ", date.year(), date.month(), date.day())?;
    }
    let (h, m) = (at.hour(), at.minute());
    if seconds {
        write!(out, "{h:02}:{m:02}:{:02}", at.second())
    } else {
        write!(out, "{h:02}:{m:02}")
    }
}

/// A duration the way people say it: `12s`, `42m 10s`, `5m`, `1h 05m`, `2d 3h`.
pub fn duration(d: TimeDelta) -> String {
    let secs = d.num_seconds();
    let sign = if secs < 0 { "-" } else { "" };
    let secs = secs.unsigned_abs();
    let (days, hours, mins, s) =
        (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60, secs % 60);
    let body = if days > 0 {
        if hours > 0 { format!("{days}d {hours}h") } else { format!("{days}d") }
    } else if hours > 0 {
        if mins > 0 { format!("{hours}h {mins:02}m") } else { format!("{hours}h") }
    } else if mins > 0 {
        if s > 0 { format!("{mins}m {s:02}s") } else { format!("{mins}m") }
    } else {
        format!("{s}s")
    };
    format!("{sign}{body}")
}

/// `@name` on one line.
pub(super) fn user(out: &mut String, u: &UserRef) {
    out.push('@');
    one_line(out, u.display());
}

/// `@name` inside a table cell.
pub(super) fn user_cell(out: &mut String, u: &UserRef) {
    out.push('@');
    cell(out, u.display());
}

/// One character of chat text, made inert: no HTML (`<`, `>`, `&`), and no
/// link or image (`[…](…)`, `![…](…)`, `<url>`) where a wiki renders the
/// draft; backslashes are doubled so none of this can be undone by the text.
fn inert(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '[' => out.push_str("\\["),
        ']' => out.push_str("\\]"),
        '\\' => out.push_str("\\\\"),
        c => out.push(c),
    }
}

fn inert_str(out: &mut String, text: &str) {
    for c in text.chars() {
        inert(out, c);
    }
}

/// Text on one line: line breaks become spaces.
pub(super) fn one_line(out: &mut String, text: &str) {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if let Some(first) = lines.next() {
        inert_str(out, first);
    }
    for l in lines {
        out.push(' ');
        inert_str(out, l);
    }
}

/// Text as a list item's body: continuation lines are indented by `indent` so they stay in it.
pub(super) fn list_body(out: &mut String, text: &str, indent: usize) {
    for (i, l) in text.trim().lines().enumerate() {
        if i > 0 {
            out.push('\n');
            if !l.trim().is_empty() {
                out.extend(std::iter::repeat_n(' ', indent));
            }
        }
        inert_str(out, l.trim_end());
    }
}

/// Text inside a Markdown table cell: inert as everywhere, every `|` escaped
/// and line breaks made `<br>`, so no text can add a column or end the row.
pub(super) fn cell(out: &mut String, text: &str) {
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.push_str("\\|"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("<br>");
            }
            '\n' => out.push_str("<br>"),
            c => inert(out, c),
        }
    }
}

/// Link text inside a table cell.
pub(super) fn link_text(out: &mut String, text: &str) {
    cell(out, text);
}

/// A link destination that cannot end the link or a table cell early.
pub(super) fn url(out: &mut String, u: &str) {
    for c in u.trim().chars() {
        match c {
            ' ' => out.push_str("%20"),
            '"' => out.push_str("%22"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '\\' => out.push_str("%5C"),
            '`' => out.push_str("%60"),
            '|' => out.push_str("%7C"),
            c if c.is_control() || c.is_whitespace() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "%{b:02X}");
                }
            }
            c => out.push(c),
        }
    }
}

/// `[name](url)` for an attached file: the name is the last path segment of a URL.
pub(super) fn file_link(out: &mut String, file: &str) {
    let file = file.trim();
    if !file.contains("://") {
        cell(out, file);
        return;
    }
    let path = file.split(['?', '#']).next().unwrap_or(file);
    let name = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or(path);
    out.push('[');
    link_text(out, name);
    out.push_str("](");
    url(out, file);
    out.push(')');
}
