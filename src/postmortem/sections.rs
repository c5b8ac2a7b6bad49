//! What each placeholder renders to: a value or a Markdown block (no trailing newline; the
//! template supplies the lines around it).

use std::fmt::{self, Write};

use chrono::{DateTime, NaiveDate, Utc};

use super::format::{
    cell, clock, duration, file_link, full_time, list_body, one_line, url, user, user_cell,
};
use super::template::{Part, Placeholder};
use crate::incident::{EntryState, Incident, Rules, TimelineEntry};

const NONE: &str = "—";

struct Record<'a> {
    incident: &'a Incident,
    timeline: &'a [TimelineEntry],
    rules: &'a Rules,
    /// The day it was declared: shorter times on that day carry no date.
    day: NaiveDate,
}

pub(super) fn fill(
    parts: &[Part<'_>],
    incident: &Incident,
    timeline: &[TimelineEntry],
    rules: &Rules,
) -> String {
    let record = Record { incident, timeline, rules, day: incident.declared_at.date_naive() };
    let mut size = 0;
    for part in parts {
        size += match part {
            Part::Text(t) => t.len(),
            Part::Field(Placeholder::Timeline) => 160 * timeline.len() + 64,
            Part::Field(_) => 256,
        };
    }
    let mut out = String::with_capacity(size);
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Field(p) => {
                record.field(&mut out, *p).expect("writing to a String cannot fail");
            }
        }
    }
    out
}

impl Record<'_> {
    fn field(&self, out: &mut String, p: Placeholder) -> fmt::Result {
        let inc = self.incident;
        match p {
            Placeholder::Id => out.push_str(&inc.id.label()),
            Placeholder::Title => one_line(out, &inc.title),
            Placeholder::Severity => one_line(out, &inc.severity),
            Placeholder::Status => out.push_str(inc.status.title()),
            Placeholder::Private => out.push_str(if inc.private { "yes" } else { "no" }),
            Placeholder::KeyTimes => self.key_times(out)?,
            Placeholder::SeverityHistory => self.severity_history(out)?,
            Placeholder::Roles => self.roles(out)?,
            Placeholder::Responders => self.responders(out)?,
            Placeholder::Updates => self.updates(out)?,
            Placeholder::Timeline => self.timeline(out)?,
            Placeholder::Followups => self.followups(out)?,
        }
        Ok(())
    }

    fn clock(&self, out: &mut String, at: DateTime<Utc>, seconds: bool) -> fmt::Result {
        clock(out, at, self.day, seconds)
    }

    fn key_times(&self, out: &mut String) -> fmt::Result {
        let inc = self.incident;
        let declared = Some(inc.declared_at);
        let first_update = inc.first_update_at();
        let acknowledged = inc.acknowledged.as_ref().map(|a| a.at);
        let times = [
            ("Declared", declared),
            ("Acknowledged", acknowledged),
            ("First update", first_update),
            ("Mitigated", inc.mitigated_at),
            ("Resolved", inc.resolved_at),
            ("Closed", inc.closed_at),
        ];
        out.push_str("| Milestone | Time |\n|---|---|");
        for (name, at) in times {
            write!(out, "\n| {name} | ")?;
            match at {
                Some(at) => full_time(out, at)?,
                None => out.push_str(NONE),
            }
            out.push_str(" |");
        }
        let spans = [
            ("Time to acknowledge (declared → acknowledged)", declared, acknowledged),
            ("Time to first update (declared → first update)", declared, first_update),
            ("Time to mitigate (declared → mitigated)", declared, inc.mitigated_at),
            ("Time to resolve (declared → resolved)", declared, inc.resolved_at),
            ("Resolved → closed", inc.resolved_at, inc.closed_at),
        ];
        out.push_str("\n\n| Interval | Duration |\n|---|---|");
        for (name, from, to) in spans {
            let took = match (from, to) {
                (Some(from), Some(to)) => duration(to - from),
                _ => NONE.to_string(),
            };
            write!(out, "\n| {name} | {took} |")?;
        }
        Ok(())
    }

    fn severity_history(&self, out: &mut String) -> fmt::Result {
        let inc = self.incident;
        let initial = inc.severity_changes.first().map_or(inc.severity.as_str(), |c| &c.from);
        out.push_str("Declared as **");
        one_line(out, initial);
        out.push_str("**.\n\n");
        if inc.severity_changes.is_empty() {
            out.push_str("No changes.");
            return Ok(());
        }
        for (i, c) in inc.severity_changes.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let word = if self.rules.rank(&c.to) < self.rules.rank(&c.from) {
                "raised"
            } else {
                "lowered"
            };
            out.push_str("- ");
            self.clock(out, c.at, false)?;
            write!(out, ": {word} from ")?;
            one_line(out, &c.from);
            out.push_str(" to **");
            one_line(out, &c.to);
            out.push_str("** by ");
            user(out, &c.by);
        }
        Ok(())
    }

    fn roles(&self, out: &mut String) -> fmt::Result {
        let assignments = &self.incident.roles;
        // Configured roles first, in their order; then any the record has that the config
        // no longer lists, so no handover is lost.
        let mut keys: Vec<(&str, &str)> =
            self.rules.roles.iter().map(|r| (r.key.as_str(), r.name.as_str())).collect();
        for a in assignments {
            if !keys.iter().any(|(k, _)| k.eq_ignore_ascii_case(&a.role)) {
                keys.push((&a.role, &a.role));
            }
        }
        if keys.is_empty() {
            out.push_str("No roles are defined.");
            return Ok(());
        }
        for (i, (key, name)) in keys.into_iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str("- **");
            one_line(out, name);
            out.push_str("**: ");
            let held: Vec<_> =
                assignments.iter().filter(|a| a.role.eq_ignore_ascii_case(key)).collect();
            let Some(current) = held.last() else {
                out.push_str("vacant");
                continue;
            };
            user(out, &current.user);
            out.push_str(" (since ");
            self.clock(out, current.at, false)?;
            for (j, pair) in held.windows(2).enumerate() {
                out.push_str(if j == 0 { "; before: " } else { ", " });
                user(out, &pair[0].user);
                out.push(' ');
                self.clock(out, pair[0].at, false)?;
                out.push('–');
                self.clock(out, pair[1].at, false)?;
            }
            out.push(')');
        }
        Ok(())
    }

    fn responders(&self, out: &mut String) -> fmt::Result {
        let inc = self.incident;
        if inc.responders.is_empty() {
            out.push_str("No responders.");
            return Ok(());
        }
        for (i, r) in inc.responders.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str("- ");
            user(out, &r.user);
            if r.added_by == r.user && r.user == inc.declared_by && r.at == inc.declared_at {
                out.push_str(" — declared the incident at ");
            } else if r.added_by == r.user {
                out.push_str(" — joined at ");
            } else {
                out.push_str(" — added by ");
                user(out, &r.added_by);
                out.push_str(" at ");
            }
            self.clock(out, r.at, false)?;
        }
        Ok(())
    }

    fn updates(&self, out: &mut String) -> fmt::Result {
        let updates = &self.incident.updates;
        if updates.is_empty() {
            out.push_str("No status updates were posted.");
            return Ok(());
        }
        out.push_str("| Time (UTC) | Status | Update | By |\n|---|---|---|---|");
        for u in updates {
            out.push_str("\n| ");
            self.clock(out, u.at, true)?;
            write!(out, " | {} | ", u.status.title())?;
            cell(out, &u.message);
            out.push_str(" | ");
            user_cell(out, &u.by);
            out.push_str(" |");
        }
        Ok(())
    }

    fn timeline(&self, out: &mut String) -> fmt::Result {
        let visible = || self.timeline.iter().enumerate().filter(|(_, e)| e.is_visible());
        if visible().next().is_none() {
            out.push_str("No timeline entries.");
            return Ok(());
        }
        out.push_str("| Time (UTC) | Who | Kind | What |\n|---|---|---|---|");
        // Rows go by time, then by position in `timeline` (the order a stable
        // sort by time gives); entries given in that order are written as
        // they come.
        if visible().map(|(_, e)| e.at).is_sorted() {
            for (_, e) in visible() {
                out.push('\n');
                self.row(out, e)?;
            }
            return Ok(());
        }
        // Otherwise each row is written as the entries are stored, then the
        // rows are copied out in order. Written straight in time order, a
        // large timeline flagged out of order was read all over memory, and
        // its cost per entry grew with its size (×2.3 from 10,000 entries to
        // 100,000 in `cargo bench --bench load -- --only postmortem`).
        let mut rows = String::with_capacity(160 * self.timeline.len());
        let mut order: Vec<(DateTime<Utc>, usize, usize, usize)> =
            Vec::with_capacity(self.timeline.len());
        for (n, e) in visible() {
            let start = rows.len();
            self.row(&mut rows, e)?;
            order.push((e.at, n, start, rows.len()));
        }
        order.sort_unstable_by_key(|&(at, n, ..)| (at, n));
        for (.., start, end) in order {
            out.push('\n');
            out.push_str(&rows[start..end]);
        }
        Ok(())
    }

    /// One entry's row of the timeline table.
    fn row(&self, out: &mut String, e: &TimelineEntry) -> fmt::Result {
        out.push_str("| ");
        self.clock(out, e.at, true)?;
        out.push_str(" | ");
        user_cell(out, &e.author);
        write!(out, " | {} | ", e.kind.label())?;
        what(out, e);
        out.push_str(" |");
        Ok(())
    }

    fn followups(&self, out: &mut String) -> fmt::Result {
        let followups = &self.incident.followups;
        if followups.is_empty() {
            out.push_str("No follow-ups were recorded.");
            return Ok(());
        }
        for (i, f) in followups.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let marker = format!("{}. ", f.number);
            out.push_str(&marker);
            list_body(out, &f.text, marker.len());
            out.push_str(" — ");
            match &f.owner {
                Some(owner) => {
                    out.push_str("owner: ");
                    user(out, owner);
                }
                None => out.push_str("unowned"),
            }
            out.push_str(" (added by ");
            user(out, &f.by);
            out.push_str(", ");
            self.clock(out, f.at, false)?;
            out.push(')');
        }
        Ok(())
    }
}

/// The entry's text for its table cell, with its markers, link and files.
fn what(out: &mut String, e: &TimelineEntry) {
    let start = out.len();
    if e.state == EntryState::Deleted {
        out.push_str("*(message deleted)*");
        if !e.text.is_empty() {
            out.push(' ');
        }
    }
    cell(out, &e.text);
    if e.edited_at.is_some() {
        out.push_str(" *(edited)*");
    }
    if let Some(link) = e.link.as_deref().filter(|l| !l.trim().is_empty()) {
        out.push_str(" [link](");
        url(out, link);
        out.push(')');
    }
    for (i, f) in e.files.iter().filter(|f| !f.trim().is_empty()).enumerate() {
        out.push_str(if i == 0 { " Files: " } else { ", " });
        file_link(out, f);
    }
    if out[start..].trim().is_empty() {
        out.truncate(start);
        out.push_str(NONE);
    } else if out[start..].starts_with(' ') {
        out.replace_range(start..start + 1, "");
    }
}
