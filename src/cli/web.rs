//! `tocsin web link slack:U024BE7LH [--next /incidents/INC-7]`: a sign-in
//! link made on the server, for when chat is down.

use chrono::Utc;

use super::{CliError, CliResult, open_store};
use crate::app::signin;
use crate::config::Config;
use crate::incident::{Platform, UserRef};

pub async fn link(config: Config, person: &str, next: Option<&str>) -> CliResult {
    let bad = || {
        CliError::usage(format!(
            "{person:?} is not a person like slack:U024BE7LH or discord:80351110224678912"
        ))
    };
    let (platform, id) = person.split_once(':').ok_or_else(bad)?;
    let platform = match Platform::parse(&platform.to_ascii_lowercase()) {
        Some(p @ (Platform::Slack | Platform::Discord)) => p,
        _ => return Err(bad()),
    };
    let id = id.trim().trim_start_matches('@');
    if id.is_empty()
        || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    {
        return Err(bad());
    }
    let next = next.unwrap_or("/incidents");
    if signin::safe_next(next) != next {
        return Err(CliError::usage(format!(
            "--next: {next:?} is not a path on this server like /incidents/INC-7"
        )));
    }
    let store = open_store(&config).await?;
    let url = signin::link(
        store.as_ref(),
        &config.web_base(),
        &UserRef::new(platform, id),
        next,
        Utc::now(),
    )
    .await?;
    println!("{url}");
    eprintln!("works once, until {} (UTC)", (Utc::now() + signin::LINK_LIFETIME).format("%H:%M"));
    Ok(())
}
