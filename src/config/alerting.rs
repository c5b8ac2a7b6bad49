//! The integrations' settings: `[alerts]` with its rules, the paging
//! services' base URLs, and `[[webhooks]]`.

use std::collections::BTreeMap;

use super::validate::Cx;
use super::{ConfigError, Secret, raw};
use crate::incident::{HookEvent, Platform};

/// `[alerts]`: the alert endpoints, on when this section is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsConfig {
    /// `Authorization: Bearer <token>` on every alert request.
    pub token: Secret,
    /// Where incidents that alerts open get their channel.
    pub platform: Platform,
    /// Tried in order; the first that matches opens the incident.
    pub rules: Vec<AlertRule>,
}

/// `[[alerts.rules]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRule {
    pub name: String,
    /// Labels that must all be equal.
    pub equal: BTreeMap<String, String>,
    /// Labels that must all match these regular expressions (whole value).
    pub regex: BTreeMap<String, String>,
    /// The severity of the incident; when absent, the alert's own `severity`
    /// label if it names one of the severities, else the default.
    pub severity: Option<String>,
    /// `{{labels.NAME}}` and `{{annotations.NAME}}` are filled in.
    pub title: Option<String>,
    /// Teams invited (and paged).
    pub invite: Vec<String>,
    pub private: bool,
}

/// `[pagerduty]` and `[opsgenie]`: where the paging services are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagingConfig {
    /// PagerDuty's Events API v2 enqueue URL.
    pub pagerduty_events_url: String,
    /// Opsgenie's API base URL (`https://api.eu.opsgenie.com` in the EU).
    pub opsgenie_api_url: String,
}

pub const DEFAULT_PAGERDUTY: &str = "https://events.pagerduty.com/v2/enqueue";
pub const DEFAULT_OPSGENIE: &str = "https://api.opsgenie.com";

impl Default for PagingConfig {
    fn default() -> Self {
        Self {
            pagerduty_events_url: DEFAULT_PAGERDUTY.to_owned(),
            opsgenie_api_url: DEFAULT_OPSGENIE.to_owned(),
        }
    }
}

/// `[[webhooks]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    pub url: String,
    /// Signs every call (HMAC-SHA256).
    pub secret: Secret,
    pub events: Vec<HookEvent>,
    /// Whether private incidents' events are sent too.
    pub private: bool,
}

pub(super) fn alerts(
    cx: &Cx<'_>,
    a: Option<raw::Alerts>,
    platforms: &[Platform],
    teams: &[String],
    severities: &[String],
) -> Result<Option<AlertsConfig>, ConfigError> {
    let Some(a) = a else { return Ok(None) };
    let token = cx.filled("alerts.token", a.token)?;
    if token.len() < 16 {
        return Err(cx.err("alerts.token", "must be at least 16 characters (a shared secret)"));
    }
    let platform = match a.platform.filter(|p| !p.is_empty()) {
        Some(p) => match Platform::parse(&p.to_ascii_lowercase()) {
            Some(p) if platforms.contains(&p) => p,
            _ => {
                let on: Vec<&str> = platforms.iter().map(|p| p.as_str()).collect();
                return Err(cx.err(
                    "alerts.platform",
                    format!(
                        "{p:?} is not a configured chat platform (configured: {})",
                        on.join(", ")
                    ),
                ));
            }
        },
        None if platforms.contains(&Platform::Slack) => Platform::Slack,
        // With no chat platform, only `tocsin console` can open them.
        None => platforms.first().copied().unwrap_or(Platform::Console),
    };
    let mut rules: Vec<AlertRule> = Vec::new();
    for (i, r) in a.rules.unwrap_or_default().into_iter().enumerate() {
        let at = |key: &str| format!("alerts.rules[{i}].{key}");
        let name = cx.filled(&at("name"), r.name)?;
        if let Some(j) = rules.iter().position(|x| x.name == name) {
            return Err(
                cx.err(&at("name"), format!("{name:?} is already used by alerts.rules[{j}]"))
            );
        }
        for (label, pattern) in &r.match_re {
            if let Err(e) = regex::Regex::new(&format!("^(?:{pattern})$")) {
                let reason = e.to_string().lines().last().unwrap_or("invalid").trim().to_string();
                return Err(cx.err(
                    &format!("{}.{label}", at("match_re")),
                    format!("not a regular expression: {reason}"),
                ));
            }
        }
        let severity = match r.severity {
            Some(s) => {
                Some(severities.iter().find(|x| x.eq_ignore_ascii_case(&s)).cloned().ok_or_else(
                    || {
                        cx.err(
                            &at("severity"),
                            format!(
                                "{s:?} is not one of the severities ({})",
                                severities.join(", ")
                            ),
                        )
                    },
                )?)
            }
            None => None,
        };
        for (n, team) in r.invite.iter().enumerate() {
            if !teams.contains(team) {
                return Err(
                    cx.err(&format!("{}[{n}]", at("invite")), format!("there is no team {team:?}"))
                );
            }
        }
        rules.push(AlertRule {
            name,
            equal: r.r#match,
            regex: r.match_re,
            severity,
            title: r.title.filter(|t| !t.is_empty()),
            invite: r.invite,
            private: r.private,
        });
    }
    Ok(Some(AlertsConfig { token: token.into(), platform, rules }))
}

pub(super) fn paging(
    cx: &Cx<'_>,
    pd: Option<raw::PagerDuty>,
    og: Option<raw::Opsgenie>,
) -> Result<PagingConfig, ConfigError> {
    let pd = pd.and_then(|p| p.events_url).unwrap_or_else(|| DEFAULT_PAGERDUTY.into());
    let og = og.and_then(|o| o.api_url).unwrap_or_else(|| DEFAULT_OPSGENIE.into());
    Ok(PagingConfig {
        pagerduty_events_url: super::validate::http_url(cx, "pagerduty.events_url", pd)?,
        opsgenie_api_url: super::validate::http_url(cx, "opsgenie.api_url", og)?,
    })
}

pub(super) fn webhooks(
    cx: &Cx<'_>,
    hooks: Option<Vec<raw::Webhook>>,
) -> Result<Vec<WebhookConfig>, ConfigError> {
    let mut out = Vec::new();
    for (i, w) in hooks.unwrap_or_default().into_iter().enumerate() {
        let at = |key: &str| format!("webhooks[{i}].{key}");
        let url = super::validate::http_url(cx, &at("url"), cx.filled(&at("url"), w.url)?)?;
        let secret = cx.filled(&at("secret"), w.secret)?;
        if secret.len() < 16 {
            return Err(cx.err(&at("secret"), "must be at least 16 characters"));
        }
        let events = match w.events {
            None => HookEvent::ALL.to_vec(),
            Some(list) => {
                let mut events = Vec::new();
                for (n, e) in list.iter().enumerate() {
                    match HookEvent::ALL.into_iter().find(|h| h.as_str() == e.as_str()) {
                        Some(h) => events.push(h),
                        None => {
                            let all: Vec<&str> =
                                HookEvent::ALL.iter().map(|h| h.as_str()).collect();
                            return Err(cx.err(
                                &format!("{}[{n}]", at("events")),
                                format!("{e:?} is not one of: {}", all.join(", ")),
                            ));
                        }
                    }
                }
                events
            }
        };
        out.push(WebhookConfig { url, secret: secret.into(), events, private: w.private });
    }
    Ok(out)
}
