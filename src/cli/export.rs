//! `tocsin export INC-7 --format markdown|json`.

use serde::Serialize;

use super::{CliError, CliResult, open_store};
use crate::config::Config;
use crate::incident::{Incident, IncidentId, Platform, TimelineEntry};

#[derive(Serialize)]
struct ChannelOut {
    platform: Platform,
    id: String,
    name: String,
}

#[derive(Serialize)]
struct Export<'a> {
    incident: &'a Incident,
    channels: Vec<ChannelOut>,
    timeline: &'a [TimelineEntry],
}

pub async fn export(config: Config, incident: &str, json: bool) -> CliResult {
    let id = IncidentId::parse(incident).ok_or_else(|| {
        CliError::usage(format!("\"{incident}\" is not an incident; incidents look like INC-7"))
    })?;
    let store = open_store(&config).await?;
    let inc = store
        .incident(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no {id} in this database"))?
        .value;
    let timeline = store.timeline(id).await?;
    if json {
        let mut channels = Vec::new();
        for p in Platform::ALL {
            if let Some((cid, name)) = store.channel(id, p).await? {
                channels.push(ChannelOut { platform: p, id: cid, name });
            }
        }
        let out = Export { incident: &inc, channels, timeline: &timeline };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let template = config.postmortem.text.as_deref();
        let md = crate::postmortem::render(&inc, &timeline, &config.rules(), template)?;
        print!("{md}");
    }
    Ok(())
}
