//! The record sections of the postmortem, one function per placeholder.

use std::fmt::Write;

use chrono::{DateTime, Duration, Utc};

use crate::incident::{EntryKind, EntryState, Incident, Rules, TimelineEntry, UserRef};

pub(super) fn render(
    name: &str,
    inc: &Incident,
    timeline: &[TimelineEntry],
    rules: &Rules,
    out: &mut String,
) {
    match name {
        "id" => out.push_str(&inc.id.label()),
        "title" => out.push_str(&inline(&inc.title)),
        "severity" => out.push_str(&inc.severity),
        "status" => out.push_str(inc.status.title()),
        "private" => out.push_str(if inc.private { "yes" } else { "no" }),
        "key_times" => key_times(inc, out),
        "severity_history" => severity_history(inc, out),
        "roles" => roles(inc, rules, out),
        "responders" => responders(inc, out),
        "updates" => updates(inc, out),
        "timeline" => timeline_table(timeline, out),
        "followups" => followups(inc, out),
        _ => unreachable!("placeholders are checked when the template is parsed"),
    }
}

fn at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn hm(t: DateTime<Utc>) -> String {
    t.format("%H:%M").to_string()
}

fn who(u: &UserRef) -> String {
    format!("@{}", inline(u.display()))
}

/// One line of user text, safe inside a Markdown table cell.
fn inline(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace("\r\n", "<br>").replace('\n', "<br>")
}

/// `12s`, `42m`, `42m 10s`, `1h 05m`, `2d 3h`.
pub(super) fn human(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, mins, secs) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins:02}m")
    } else if mins > 0 && secs > 0 {
        format!("{mins}m {secs}s")
    } else if mins > 0 {
        format!("{mins}m")
    } else {
        format!("{secs}s")
    }
}

fn key_times(inc: &Incident, out: &mut String) {
    let opt = |t: Option<DateTime<Utc>>| t.map(at).unwrap_or_else(|| "—".into());
    let span = |from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| match (from, to) {
        (Some(a), Some(b)) => human(b - a),
        _ => "—".into(),
    };
    let declared = Some(inc.declared_at);
    out.push_str("| | When (UTC) | Since declared |\n|---|---|---|\n");
    let rows = [
        ("Declared", declared),
        ("First update", inc.first_update_at()),
        ("Mitigated", inc.mitigated_at),
        ("Resolved", inc.resolved_at),
        ("Closed", inc.closed_at),
    ];
    for (label, t) in rows {
        let _ = writeln!(out, "| {label} | {} | {} |", opt(t), span(declared, t));
    }
    let _ = write!(
        out,
        "\nTime to first update: **{}** · time to mitigate: **{}** · time to resolve: **{}** · resolved to closed: **{}**",
        span(declared, inc.first_update_at()),
        span(declared, inc.mitigated_at),
        span(declared, inc.resolved_at),
        span(inc.resolved_at, inc.closed_at),
    );
}

fn severity_history(inc: &Incident, out: &mut String) {
    let initial = inc.severity_changes.first().map(|c| c.from.as_str()).unwrap_or(&inc.severity);
    let _ = write!(out, "Declared as {initial}.");
    if inc.severity_changes.is_empty() {
        out.push_str(" No changes.");
    }
    for c in &inc.severity_changes {
        let _ = write!(out, "\n- {}: {} → {} by {}", at(c.at), c.from, c.to, who(&c.by));
    }
}

fn roles(inc: &Incident, rules: &Rules, out: &mut String) {
    for (i, r) in rules.roles.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let holders: Vec<_> = inc.roles.iter().filter(|a| a.role == r.key).collect();
        let _ = write!(out, "- **{}**: ", r.name);
        let Some(current) = holders.last() else {
            out.push_str("vacant");
            continue;
        };
        let _ = write!(out, "{} (since {}", who(&current.user), hm(current.at));
        if holders.len() > 1 {
            let before: Vec<String> = holders
                .windows(2)
                .map(|w| format!("{} {}–{}", who(&w[0].user), hm(w[0].at), hm(w[1].at)))
                .collect();
            let _ = write!(out, "; before: {}", before.join(", "));
        }
        out.push(')');
    }
}

fn responders(inc: &Incident, out: &mut String) {
    for (i, r) in inc.responders.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(out, "- {} — added by {} at {}", who(&r.user), who(&r.added_by), hm(r.at));
    }
}

fn updates(inc: &Incident, out: &mut String) {
    if inc.updates.is_empty() {
        out.push_str("No status updates were posted.");
    }
    for (i, u) in inc.updates.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(
            out,
            "- {} **{}** — {} ({})",
            at(u.at),
            u.status.title(),
            inline(&u.message),
            who(&u.by)
        );
    }
}

fn label(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Declared => "Declared",
        EntryKind::Update => "Status update",
        EntryKind::Severity => "Severity",
        EntryKind::Role => "Role",
        EntryKind::Responders => "Responders",
        EntryKind::Note => "Note",
        EntryKind::FollowUp => "Follow-up",
        EntryKind::Resolved => "Resolved",
        EntryKind::Closed => "Closed",
        EntryKind::Message => "",
    }
}

fn timeline_table(entries: &[TimelineEntry], out: &mut String) {
    let mut shown: Vec<(usize, &TimelineEntry)> =
        entries.iter().enumerate().filter(|(_, e)| e.is_visible()).collect();
    shown.sort_by_key(|(i, e)| (e.at, *i));
    if shown.is_empty() {
        out.push_str("Nothing was recorded.");
        return;
    }
    out.push_str("| Time (UTC) | Who | What |\n|---|---|---|");
    for (_, e) in shown {
        let _ = write!(out, "\n| {} | {} | ", at(e.at), who(&e.author));
        let l = label(e.kind);
        if !l.is_empty() {
            let _ = write!(out, "_{l}:_ ");
        }
        out.push_str(&inline(&e.text));
        if e.edited_at.is_some() {
            out.push_str(" _(edited)_");
        }
        if e.state == EntryState::Deleted {
            out.push_str(" _(message deleted)_");
        }
        if let Some(link) = &e.link {
            let _ = write!(out, " [link]({link})");
        }
        for (n, f) in e.files.iter().enumerate() {
            let _ = write!(out, " [file {}]({f})", n + 1);
        }
        out.push_str(" |");
    }
}

fn followups(inc: &Incident, out: &mut String) {
    if inc.followups.is_empty() {
        out.push_str("None yet.");
    }
    for (i, f) in inc.followups.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let owner = f.owner.as_ref().map(who).unwrap_or_else(|| "unowned".into());
        let _ = write!(out, "{}. {} — {owner}", f.number, inline(&f.text));
    }
}
