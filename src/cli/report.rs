//! `tocsin report`: the incidents of a period, measured.

use chrono::{DateTime, NaiveDate, Utc};

use super::{CliError, CliResult, open_store};
use crate::config::Config;
use crate::report::{self, Format, Period};

/// `--since`: `90d`, `12w`, `36h` back from `to`, or a date (midnight UTC).
fn since(s: &str, to: DateTime<Utc>) -> Result<DateTime<Utc>, CliError> {
    report::since(s, to).ok_or_else(|| {
        CliError::usage(format!(
            "--since: {s:?} is not a period like 90d, 12w or 36h, or a date like 2026-09-01"
        ))
    })
}

/// `--until`: a date (midnight UTC, excluded); now when not given.
fn until(s: Option<&str>) -> Result<DateTime<Utc>, CliError> {
    let Some(s) = s else { return Ok(Utc::now()) };
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| CliError::usage(format!("--until: {s:?} is not a date like 2026-12-01")))?;
    Ok(day.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
}

pub async fn report(
    config: Config,
    since_arg: &str,
    until_arg: Option<&str>,
    format: Format,
) -> CliResult {
    let to = until(until_arg)?;
    let from = since(since_arg, to)?;
    if from >= to {
        return Err(CliError::usage(format!(
            "--since ({}) must come before --until ({})",
            from.format("%Y-%m-%d %H:%M UTC"),
            to.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    let store = open_store(&config).await?;
    let incidents = store.incidents(true).await?;
    let r = report::report(
        &incidents,
        &config.incidents.severities,
        Period { from, to },
        &config.report,
    );
    print!("{}", report::render(&r, format));
    Ok(())
}
