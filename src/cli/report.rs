//! `tocsin report`: the incidents of a period, measured.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{CliError, CliResult, open_store};
use crate::config::Config;
use crate::report::{self, Format, Period};

/// `--since`: `90d`, `12w`, `36h` back from `to`, or a date (midnight UTC).
fn since(s: &str, to: DateTime<Utc>) -> Result<DateTime<Utc>, CliError> {
    let bad = || {
        CliError::usage(format!(
            "--since: {s:?} is not a period like 90d, 12w or 36h, or a date like 2026-09-01"
        ))
    };
    if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let n: i64 = s[..split].parse().map_err(|_| bad())?;
    let span = match &s[split..] {
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        "h" => Duration::try_hours(n),
        _ => None,
    };
    span.filter(|d| *d > Duration::zero()).and_then(|d| to.checked_sub_signed(d)).ok_or_else(bad)
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn since_reads_spans_back_from_the_end_and_dates() {
        let to = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        assert_eq!(since("90d", to).unwrap(), Utc.with_ymd_and_hms(2026, 9, 2, 0, 0, 0).unwrap());
        assert_eq!(since("2w", to).unwrap(), Utc.with_ymd_and_hms(2026, 11, 17, 0, 0, 0).unwrap());
        assert_eq!(
            since("36h", to).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap()
        );
        assert_eq!(
            since("2026-11-01", to).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
        );
        for bad in ["", "d", "90", "90y", "0d", "-3d", "99999999999999d"] {
            let e = since(bad, to).unwrap_err().to_string();
            assert!(e.starts_with("--since: "), "{bad}: {e}");
        }
    }
}
