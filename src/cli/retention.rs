//! `tocsin incident delete|restore|deleted|purge` and `tocsin audit`: removing
//! an incident's record is staged — marked and hidden first, restorable for
//! `incidents.purge_grace_hours`, purged after — and every step is audited.

use chrono::{DateTime, NaiveDate, Utc};

use super::{CliError, CliResult, open_store};
use crate::config::Config;
use crate::incident::{IncidentId, Status};
use crate::store::Audit;

/// What to delete: one incident, or closed ones by date.
pub enum Selection {
    One(String),
    ClosedBefore(String),
}

/// Who is acting at the command line: `--by`, else `$USER`.
pub fn operator(by: Option<String>) -> String {
    let who = by.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
    format!("cli:{who}")
}

fn id(s: &str) -> Result<IncidentId, CliError> {
    IncidentId::parse(s).ok_or_else(|| {
        CliError::usage(format!("\"{s}\" is not an incident; incidents look like INC-7"))
    })
}

fn audit(actor: &str, action: &str, id: IncidentId, detail: String) -> Audit {
    Audit { at: Utc::now(), actor: actor.into(), action: action.into(), incident: Some(id), detail }
}

pub async fn delete(
    config: Config,
    what: Selection,
    confirm: bool,
    by: Option<String>,
) -> CliResult {
    let store = open_store(&config).await?;
    let actor = operator(by);
    let grace = chrono::Duration::hours(i64::from(config.incidents.purge_grace_hours));
    let purge_after = Utc::now() + grace;
    let ids = match what {
        Selection::One(s) => {
            let id = id(&s)?;
            if store.incident(id).await?.is_none() {
                return Err(anyhow::anyhow!(
                    "there is no {id} (or it is already marked for deletion)"
                )
                .into());
            }
            vec![id]
        }
        Selection::ClosedBefore(date) => {
            let day = NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|_| {
                CliError::usage(format!(
                    "--closed-before: \"{date}\" is not a date like 2026-01-31"
                ))
            })?;
            let before: DateTime<Utc> = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
            let all = store.incidents(true).await?;
            let chosen: Vec<_> = all
                .into_iter()
                .filter(|i| i.status == Status::Closed && i.closed_at.is_some_and(|t| t < before))
                .collect();
            for i in &chosen {
                println!(
                    "{}  {}  closed {}",
                    i.id,
                    i.title,
                    i.closed_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                );
            }
            if !confirm {
                println!(
                    "would mark {} incidents for deletion; run again with --confirm to do it",
                    chosen.len()
                );
                return Ok(());
            }
            chosen.iter().map(|i| i.id).collect()
        }
    };
    let mut marked = 0;
    for id in ids {
        let detail = format!("marked for deletion; purged after {}", purge_after.to_rfc3339());
        if store.mark_deleted(id, purge_after, audit(&actor, "delete", id, detail)).await? {
            marked += 1;
            println!(
                "{id} is hidden and will be purged after {} (tocsin incident restore {id} undoes this)",
                purge_after.to_rfc3339()
            );
        }
    }
    if marked > 1 {
        println!("marked {marked} incidents for deletion");
    }
    Ok(())
}

pub async fn restore(config: Config, incident: &str, by: Option<String>) -> CliResult {
    let id = id(incident)?;
    let store = open_store(&config).await?;
    if store.restore(id, audit(&operator(by), "restore", id, "restored".into())).await? {
        println!("{id} is restored");
        Ok(())
    } else {
        Err(anyhow::anyhow!("{id} is not marked for deletion (or has been purged already)").into())
    }
}

pub async fn deleted(config: Config) -> CliResult {
    let store = open_store(&config).await?;
    let marked = store.marked().await?;
    if marked.is_empty() {
        println!("no incidents are marked for deletion");
    }
    for (i, at) in marked {
        println!("{}  {}  purged after {}", i.id, i.title, at.to_rfc3339());
    }
    Ok(())
}

/// Purges what is due now; `serve` does the same every ten minutes.
pub async fn purge(config: Config, by: Option<String>) -> CliResult {
    let store = open_store(&config).await?;
    let purged = store.purge_due(Utc::now(), &operator(by)).await?;
    println!("purged {} incidents{}", purged.len(), list(&purged));
    Ok(())
}

fn list(ids: &[IncidentId]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!(": {}", ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
    }
}

pub async fn audit_log(config: Config, incident: Option<String>, limit: i64) -> CliResult {
    let incident = incident.as_deref().map(id).transpose()?;
    let store = open_store(&config).await?;
    for a in store.audit_log(incident, limit).await?.into_iter().rev() {
        let inc = a.incident.map(|i| i.to_string()).unwrap_or_else(|| "-".into());
        println!("{}  {:<22} {:<12} {:<7} {}", a.at.to_rfc3339(), a.actor, a.action, inc, a.detail);
    }
    Ok(())
}
