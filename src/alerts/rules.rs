//! The alert rules from bot.toml, compiled: which rule a group's alerts
//! match (the first in order), and what it makes of them — severity, title,
//! privacy, the teams to invite and page.

use std::collections::BTreeMap;

use regex::Regex;

use crate::app::AlertMatch;
use crate::config::AlertRule;
use crate::incident::alerting::{Alert, AlertBatch, AlertStatus};

pub struct Rule {
    config: AlertRule,
    regex: BTreeMap<String, Regex>,
}

impl Rule {
    pub fn new(config: &AlertRule) -> Self {
        let regex = config
            .regex
            .iter()
            .filter_map(|(label, p)| {
                // Checked when the configuration loaded; anchored as Alertmanager's are.
                Regex::new(&format!("^(?:{p})$")).ok().map(|r| (label.clone(), r))
            })
            .collect();
        Self { config: config.clone(), regex }
    }

    /// Whether the alert's labels (a missing label reads as "") match.
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = |k: &str| labels.get(k).map_or("", String::as_str);
        self.config.equal.iter().all(|(k, v)| value(k) == v)
            && self.regex.iter().all(|(k, r)| r.is_match(value(k)))
    }
}

/// The first rule a firing alert of the batch matches, and what it opens.
pub fn first_match(
    rules: &[Rule],
    batch: &AlertBatch,
    severities: &[String],
) -> Option<AlertMatch> {
    let firing: Vec<&Alert> =
        batch.alerts.iter().filter(|a| a.status == AlertStatus::Firing).collect();
    for rule in rules {
        let Some(alert) = firing.iter().find(|a| rule.matches(&a.labels)) else { continue };
        let own = alert
            .labels
            .get("severity")
            .and_then(|s| severities.iter().find(|x| x.eq_ignore_ascii_case(s)).cloned());
        let title = match &rule.config.title {
            Some(t) => fill(t, alert),
            None => alert.summary(),
        };
        return Some(AlertMatch {
            rule: rule.config.name.clone(),
            severity: rule.config.severity.clone().or(own),
            title,
            private: rule.config.private,
            teams: rule.config.invite.clone(),
        });
    }
    None
}

/// `{{labels.NAME}}` and `{{annotations.NAME}}` filled from the alert; an
/// unknown one is left empty.
fn fill(template: &str, alert: &Alert) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = rest[start + 2..start + end].trim();
        let value = if let Some(l) = name.strip_prefix("labels.") {
            alert.labels.get(l)
        } else if let Some(a) = name.strip_prefix("annotations.") {
            alert.annotations.get(a)
        } else {
            None
        };
        out.push_str(value.map_or("", String::as_str));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn alert(labels: &[(&str, &str)]) -> Alert {
        Alert {
            fingerprint: "f1".into(),
            status: AlertStatus::Firing,
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            annotations: [("summary".to_string(), "Disk almost full".to_string())].into(),
            starts_at: Utc::now(),
            link: None,
        }
    }

    fn batch(alerts: Vec<Alert>) -> AlertBatch {
        AlertBatch {
            source: "alertmanager".into(),
            group: "{}:{alertname=\"X\"}".into(),
            alerts,
            common_labels: Default::default(),
            common_annotations: Default::default(),
        }
    }

    fn rule(name: &str, equal: &[(&str, &str)], regex: &[(&str, &str)]) -> Rule {
        let map =
            |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Rule::new(&AlertRule {
            name: name.into(),
            equal: map(equal),
            regex: map(regex),
            severity: None,
            title: Some("{{labels.alertname}} on {{labels.service}} {{labels.nope}}".into()),
            invite: vec!["payments".into()],
            private: false,
        })
    }

    #[test]
    fn the_first_rule_that_matches_wins_and_fills_its_title() {
        let sevs = ["SEV1".to_string(), "SEV2".to_string()];
        let rules = [
            rule("db", &[("team", "db")], &[]),
            rule("payments", &[("team", "payments")], &[("severity", "critical|page")]),
            rule("catch-all", &[], &[]),
        ];
        let b = batch(vec![alert(&[
            ("alertname", "HighErrorRate"),
            ("team", "payments"),
            ("severity", "critical"),
            ("service", "checkout"),
        ])]);
        let m = first_match(&rules, &b, &sevs).unwrap();
        assert_eq!(m.rule, "payments");
        assert_eq!(m.title, "HighErrorRate on checkout");
        assert_eq!(m.severity, None, "critical is not one of the severities");
        let b = batch(vec![alert(&[("team", "payments"), ("severity", "criticality")])]);
        assert_eq!(
            first_match(&rules, &b, &sevs).unwrap().rule,
            "catch-all",
            "the regex is anchored"
        );
        let b = batch(vec![alert(&[("team", "db"), ("severity", "sev2")])]);
        assert_eq!(first_match(&rules, &b, &sevs).unwrap().severity.as_deref(), Some("SEV2"));
        assert!(first_match(&rules[..2], &batch(vec![alert(&[("team", "web")])]), &sevs).is_none());
    }
}
