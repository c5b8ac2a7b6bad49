//! What alert sources send, read into one [`AlertBatch`]: Prometheus
//! Alertmanager's webhook (version 4), Grafana alerting's webhook contact
//! point (the same shape with more fields), and tocsin's own small generic
//! form. Unknown fields are ignored, as the senders add them over time;
//! missing required ones are named in the error.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::incident::alerting::{Alert, AlertBatch, AlertStatus};

/// Alertmanager's and Grafana's body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    group_key: String,
    #[serde(default)]
    common_labels: BTreeMap<String, String>,
    #[serde(default)]
    common_annotations: BTreeMap<String, String>,
    alerts: Vec<NotifiedAlert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotifiedAlert {
    status: AlertStatus,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: DateTime<Utc>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
    /// Grafana's link to the alert's dashboard panel.
    #[serde(default, rename = "panelURL")]
    panel_url: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
}

/// tocsin's generic alert: one alert per request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Generic {
    /// Which system sent it (e.g. "datadog", "cron"); the rules can match it.
    source: String,
    /// What identifies this alert over time (repeat sends carry the same).
    fingerprint: Option<String>,
    /// Alerts of one group share one incident. Default: the fingerprint.
    group_key: Option<String>,
    status: AlertStatus,
    title: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    starts_at: Option<DateTime<Utc>>,
}

fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        if path == "." { inner } else { format!("{path}: {inner}") }
    })
}

/// An Alertmanager (`source = "alertmanager"`) or Grafana (`"grafana"`) body.
pub fn notification(source: &str, body: &[u8]) -> Result<AlertBatch, String> {
    let n: Notification = json(body)?;
    if n.group_key.trim().is_empty() {
        return Err("groupKey is empty".into());
    }
    let mut alerts = Vec::with_capacity(n.alerts.len());
    for (i, a) in n.alerts.into_iter().enumerate() {
        let fingerprint =
            a.fingerprint.filter(|f| !f.is_empty()).unwrap_or_else(|| label_fingerprint(&a.labels));
        if a.labels.is_empty() && fingerprint.is_empty() {
            return Err(format!("alerts[{i}]: has neither labels nor a fingerprint"));
        }
        let link =
            a.panel_url.filter(|u| !u.is_empty()).or(a.generator_url).filter(|u| !u.is_empty());
        alerts.push(Alert {
            fingerprint,
            status: a.status,
            labels: a.labels,
            annotations: a.annotations,
            starts_at: a.starts_at,
            link,
        });
    }
    Ok(AlertBatch {
        source: source.to_string(),
        group: n.group_key,
        alerts,
        common_labels: n.common_labels,
        common_annotations: n.common_annotations,
    })
}

/// A generic alert body.
pub fn generic(body: &[u8], now: DateTime<Utc>) -> Result<AlertBatch, String> {
    let g: Generic = json(body)?;
    let source = g.source.trim();
    if source.is_empty() || source.len() > 64 {
        return Err("source: 1 to 64 characters".into());
    }
    if g.title.trim().is_empty() {
        return Err("title: must not be empty".into());
    }
    let fingerprint = g.fingerprint.filter(|f| !f.trim().is_empty());
    let group = g.group_key.filter(|k| !k.trim().is_empty()).or_else(|| fingerprint.clone());
    let Some(group) = group else {
        return Err("needs a fingerprint or a group_key".into());
    };
    let mut labels = g.labels;
    if let Some(sev) = g.severity {
        labels.insert("severity".into(), sev);
    }
    labels.entry("alertname".into()).or_insert_with(|| g.title.trim().to_string());
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".to_string(), g.title.trim().to_string());
    let alert = Alert {
        fingerprint: fingerprint.unwrap_or_else(|| group.clone()),
        status: g.status,
        labels: labels.clone(),
        annotations: annotations.clone(),
        starts_at: g.starts_at.unwrap_or(now),
        link: g.link.filter(|l| !l.is_empty()),
    };
    Ok(AlertBatch {
        source: source.to_string(),
        group,
        alerts: vec![alert],
        common_labels: labels,
        common_annotations: annotations,
    })
}

/// An alert's identity from its labels, for senders that give no fingerprint.
fn label_fingerprint(labels: &BTreeMap<String, String>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (k, v) in labels {
        h.update(k.as_bytes());
        h.update([0xff]);
        h.update(v.as_bytes());
        h.update([0xfe]);
    }
    hex::encode(&h.finalize()[..8])
}
