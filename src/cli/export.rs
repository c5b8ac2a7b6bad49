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
    let mut channels = Vec::new();
    for p in Platform::ALL {
        if let Some((cid, name)) = store.channel(id, p).await? {
            channels.push(ChannelOut { platform: p, id: cid, name });
        }
    }
    let timeline = store.timeline(id).await?;
    Ok(Some(Record { incident: inc.value, channels, timeline }))
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

/// Every incident (oldest first), then every subscription, one JSON object a line.
pub async fn export_all(config: Config) -> CliResult {
    let store = open_store(&config).await?;
    let mut ids: Vec<IncidentId> = store.incidents(true).await?.iter().map(|i| i.id).collect();
    ids.sort();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for id in &ids {
        if let Some(rec) = record(&*store, *id).await? {
            serde_json::to_writer(&mut out, &Line::Incident(Box::new(rec)))?;
            out.write_all(b"\n")?;
        }
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
    eprintln!("exported {} incidents and {} subscriptions", ids.len(), subs.len());
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
