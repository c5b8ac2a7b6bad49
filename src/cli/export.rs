//! `tocsin export INC-7 --format markdown|json`, `tocsin export --all` (every
//! incident and subscription as JSON lines: a backup) and `tocsin import`.

use std::io::{BufRead, Write as _};

use serde::{Deserialize, Serialize};

use super::{CliError, CliResult, open_store};
use crate::config::Config;
use crate::incident::{Incident, IncidentId, Platform, Subscription, TimelineEntry};
use crate::store::{Commit, Store, SubscriptionChange, Write};

#[derive(Serialize, Deserialize)]
struct ChannelOut {
    platform: Platform,
    id: String,
    name: String,
}

/// One incident's whole record.
#[derive(Serialize, Deserialize)]
struct Record {
    incident: Incident,
    channels: Vec<ChannelOut>,
    timeline: Vec<TimelineEntry>,
    /// Set when the incident is marked for deletion: it is purged after this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delete_after: Option<chrono::DateTime<chrono::Utc>>,
}

/// A line of a backup.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Line {
    Incident(Box<Record>),
    Subscription { subscription: Subscription },
}

fn parse_id(incident: &str) -> Result<IncidentId, CliError> {
    IncidentId::parse(incident).ok_or_else(|| {
        CliError::usage(format!("\"{incident}\" is not an incident; incidents look like INC-7"))
    })
}

async fn record(store: &dyn Store, id: IncidentId) -> Result<Option<Record>, CliError> {
    let Some(inc) = store.incident(id).await? else { return Ok(None) };
    Ok(Some(any_record(store, inc.value, None).await?))
}

/// A record for an incident that may be marked for deletion (hidden from `incident()`).
async fn any_record(
    store: &dyn Store,
    inc: Incident,
    delete_after: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Record, CliError> {
    let id = inc.id;
    let mut channels = Vec::new();
    for p in Platform::ALL {
        if let Some((cid, name)) = store.channel(id, p).await? {
            channels.push(ChannelOut { platform: p, id: cid, name });
        }
    }
    let timeline = store.timeline(id).await?;
    Ok(Record { incident: inc, channels, timeline, delete_after })
}

pub async fn export(config: Config, incident: &str, json: bool) -> CliResult {
    let id = parse_id(incident)?;
    let store = open_store(&config).await?;
    let rec = record(&*store, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no {id} in this database"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rec)?);
    } else {
        let template = config.postmortem.text.as_deref();
        let md =
            crate::postmortem::render(&rec.incident, &rec.timeline, &config.rules(), template)?;
        print!("{md}");
    }
    Ok(())
}

/// Every incident (oldest first; those marked for deletion too, with their
/// purge time), then every subscription, one JSON object a line.
pub async fn export_all(config: Config) -> CliResult {
    let store = open_store(&config).await?;
    let mut all: Vec<(Incident, Option<chrono::DateTime<chrono::Utc>>)> =
        store.incidents(true).await?.into_iter().map(|i| (i, None)).collect();
    all.extend(store.marked().await?.into_iter().map(|(i, at)| (i, Some(at))));
    all.sort_by_key(|(i, _)| i.id);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let n = all.len();
    for (inc, delete_after) in all {
        let rec = any_record(&*store, inc, delete_after).await?;
        serde_json::to_writer(&mut out, &Line::Incident(Box::new(rec)))?;
        out.write_all(b"\n")?;
    }
    let subs = store.subscriptions().await?;
    for subscription in &subs {
        serde_json::to_writer(
            &mut out,
            &Line::Subscription { subscription: subscription.clone() },
        )?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!("exported {n} incidents and {} subscriptions", subs.len());
    Ok(())
}

/// Reads a backup into an empty database. Every line is read and checked
/// before anything is written, so a bad file changes nothing.
pub async fn import(config: Config, input: impl BufRead) -> CliResult {
    let mut lines = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line).map_err(|e| {
            CliError::usage(format!("line {}: not a tocsin export line: {e}", n + 1))
        })?;
        lines.push(parsed);
    }
    let store = open_store(&config).await?;
    if store.next_incident_id().await? != IncidentId(1) || !store.subscriptions().await?.is_empty()
    {
        return Err(CliError::usage(
            "import needs an empty database; this one already has incidents or subscriptions"
                .to_string(),
        ));
    }
    let (mut incidents, mut entries, mut subs) = (0, 0, 0);
    let total = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        match line {
            Line::Incident(rec) => {
                let id = rec.incident.id;
                let delete_after = rec.delete_after;
                entries += rec.timeline.len();
                let commit = Commit {
                    incident: Some(Write::Insert(rec.incident)),
                    entries: rec.timeline.into_iter().map(Write::Insert).collect(),
                    ..Commit::default()
                };
                store.commit(commit).await?;
                for c in rec.channels {
                    store.set_channel(id, c.platform, &c.id, &c.name).await?;
                }
                if let Some(at) = delete_after {
                    let audit = crate::store::Audit {
                        at: chrono::Utc::now(),
                        actor: "cli:import".into(),
                        action: "delete".into(),
                        incident: Some(id),
                        detail: format!(
                            "marked for deletion in the backup; purged after {}",
                            at.to_rfc3339()
                        ),
                    };
                    store.mark_deleted(id, at, audit).await?;
                }
                incidents += 1;
            }
            Line::Subscription { subscription } => {
                let commit = Commit {
                    subscriptions: vec![SubscriptionChange::Add(subscription)],
                    ..Commit::default()
                };
                store.commit(commit).await?;
                subs += 1;
            }
        }
        if (i + 1) % 500 == 0 {
            eprintln!("  {}/{total} lines", i + 1);
        }
    }
    eprintln!(
        "imported {incidents} incidents ({entries} timeline entries) and {subs} subscriptions"
    );
    Ok(())
}
