//! Postmortem render time, in process: `tocsin::postmortem::render` (release build) on incidents
//! with 100, 10,000 and 100,000 timeline entries, flagged out of time order, some of them
//! edited, deleted or retracted. Cost per 1,000 entries shows whether it grows linearly.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde::Serialize;
use tocsin::incident::{
    Change, Declare, EntryKind, EntryState, Flag, FlagVia, Incident, IncidentId, MessageKey,
    Platform, Rules, Status, TimelineEntry, UserRef, decide, declare,
};

use crate::load::ms;

/// Entries, and how many renders to take the median of.
const SIZES: [(usize, usize); 3] = [(100, 5), (10_000, 5), (100_000, 3)];

#[derive(Debug, Clone, Serialize)]
pub struct Render {
    pub entries: usize,
    pub runs: usize,
    pub median_ms: f64,
    pub ms_per_1000_entries: f64,
    pub output_kb: f64,
}

pub fn run() -> anyhow::Result<Vec<Render>> {
    let rules = Rules::default();
    let mut renders = Vec::new();
    for (entries, runs) in SIZES {
        let (incident, timeline) = record(&rules, entries)?;
        let mut times = Vec::with_capacity(runs);
        let mut size = 0;
        for _ in 0..runs {
            let started = Instant::now();
            let markdown = tocsin::postmortem::render(&incident, &timeline, &rules, None)?;
            times.push(started.elapsed());
            size = std::hint::black_box(markdown).len();
        }
        times.sort_unstable();
        let median_ms = ms(times[times.len() / 2]);
        eprintln!("  postmortem of {entries} entries: {median_ms:.2} ms");
        renders.push(Render {
            entries,
            runs,
            median_ms,
            ms_per_1000_entries: median_ms * 1000.0 / entries as f64,
            output_kb: size as f64 / 1000.0,
        });
    }
    Ok(renders)
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap() + TimeDelta::seconds(seconds)
}

/// A resolved SEV2 incident with `n` timeline entries in all.
fn record(rules: &Rules, n: usize) -> anyhow::Result<(Incident, Vec<TimelineEntry>)> {
    let alice = UserRef::new(Platform::Slack, "UALICE");
    let cmd = Declare {
        title: "Checkout failing for EU customers".into(),
        severity: Some("SEV2".into()),
        private: false,
        platform: Platform::Slack,
    };
    let declared = declare(rules, IncidentId(1), cmd, &alice, at(0))?;
    let mut incident = declared.incident;
    let mut timeline = declared.entries;
    let span = n as i64 * 3;
    let changes = [
        (60, Change::Update { status: Status::Identified, message: "Bad deploy".into() }),
        (span / 2, Change::Update { status: Status::Monitoring, message: "Rolled back".into() }),
        (span, Change::Resolve { message: Some("Error rate back to normal".into()) }),
    ];
    for (when, change) in changes {
        let d = decide(&incident, rules, change, &alice, at(when))?;
        incident = d.incident;
        timeline.extend(d.entries);
    }
    let flaggers = n.saturating_sub(timeline.len());
    for i in 0..flaggers {
        timeline.push(message(i, flaggers));
    }
    Ok((incident, timeline))
}

/// The i-th flagged message of n: times scattered (as flags arrive out of order), a few of them
/// edited, deleted or retracted.
fn message(i: usize, n: usize) -> TimelineEntry {
    let when = at(((i * 7919) % n.max(1)) as i64 * 3 + 1);
    let author = UserRef::new(Platform::Slack, format!("U{:04}", i % 40));
    let flagger = UserRef::new(Platform::Slack, format!("U{:04}", (i + 7) % 40));
    let ts = format!("1795{:06}.{:06}", i / 1_000_000, i % 1_000_000);
    let state = if i.is_multiple_of(97) {
        EntryState::Deleted
    } else if i.is_multiple_of(53) {
        EntryState::Retracted
    } else {
        EntryState::Active
    };
    TimelineEntry {
        incident: IncidentId(1),
        key: Some(MessageKey { platform: Platform::Slack, channel: "CINC1".into(), message: ts }),
        kind: EntryKind::Message,
        author,
        at: when,
        text: format!(
            "checkout-api error rate {}% in eu-west-1 (sample {i}) | <not a link>",
            i % 100
        ),
        link: Some(format!("https://example.slack.com/archives/CINC1/p{i}")),
        files: Vec::new(),
        flags: vec![Flag { user: flagger, via: FlagVia::Reaction }],
        state,
        edited_at: i.is_multiple_of(11).then_some(when + TimeDelta::seconds(30)),
        deleted_at: (state == EntryState::Deleted).then_some(when + TimeDelta::seconds(60)),
        recorded_at: when + TimeDelta::seconds(2),
    }
}
