//! `tocsin export INC-7 --format markdown|json`, `tocsin export --all` (every
//! incident, subscription and audit line as JSON lines: a backup) and
//! `tocsin import` (all of it in one transaction).

use std::io::{BufRead, Write as _};

use serde::{Deserialize, Serialize};

use super::{CliError, CliResult, open_store};
use crate::config::Config;
use crate::incident::{Incident, IncidentId, Subscription};
use crate::store::record::{Record, record, record_of};
use crate::store::{Audit, BackedUp, Backup, StoreError};

/// A line of a backup.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Line {
    Incident(Box<Record>),
    Subscription {
        subscription: Subscription,
    },
    /// The audit log comes along, so that purged incidents' numbers are
    /// never given out again.
    Audit {
        audit: Audit,
    },
}

fn parse_id(incident: &str) -> Result<IncidentId, CliError> {
    IncidentId::parse(incident).ok_or_else(|| {
        CliError::usage(format!("\"{incident}\" is not an incident; incidents look like INC-7"))
    })
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
        let rec = record_of(&*store, inc, delete_after).await?;
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
    let audit = store.audit_log(None, i64::MAX).await?;
    for line in audit.iter().rev() {
        serde_json::to_writer(&mut out, &Line::Audit { audit: line.clone() })?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!(
        "exported {n} incidents, {} subscriptions and {} audit lines",
        subs.len(),
        audit.len()
    );
    Ok(())
}

/// Reads a backup into an empty database. Every line is read and checked
/// before anything is written, and everything is written in one
/// transaction, so a bad file or a failure halfway changes nothing.
pub async fn import(config: Config, input: impl BufRead) -> CliResult {
    let mut backup = Backup::default();
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line).map_err(|e| {
            CliError::usage(format!("line {}: not a tocsin export line: {e}", n + 1))
        })?;
        match parsed {
            Line::Incident(rec) => backup.incidents.push(BackedUp {
                incident: rec.incident,
                channels: rec.channels.into_iter().map(|c| (c.platform, c.id, c.name)).collect(),
                timeline: rec.timeline,
                room: rec.room,
                delete_after: rec.delete_after,
            }),
            Line::Subscription { subscription } => backup.subscriptions.push(subscription),
            Line::Audit { audit } => backup.audit.push(audit),
        }
    }
    let store = open_store(&config).await?;
    let entries: usize = backup.incidents.iter().map(|i| i.timeline.len()).sum();
    eprintln!(
        "importing {} incidents ({entries} timeline entries), {} subscriptions and {} audit lines",
        backup.incidents.len(),
        backup.subscriptions.len(),
        backup.audit.len()
    );
    match store.import(&backup).await {
        Ok(()) => {}
        Err(StoreError::NotEmpty) => {
            return Err(CliError::usage(
                "import needs an empty database; this one already has incidents, subscriptions or an audit log"
                    .to_string(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    eprintln!("imported");
    Ok(())
}
