//! PagerDuty's Events API v2 and Opsgenie's Alert API.

use serde_json::json;

use super::{classify, unreachable};
use crate::outbox::{ChatError, Page};

/// PagerDuty's severity for a rank among `of` levels: the most severe
/// third critical, then error, warning, and info for the least.
fn pagerduty_severity(page: &Page) -> &'static str {
    let last = page.of.saturating_sub(1).max(1);
    match page.rank {
        0 => "critical",
        r if r >= last => "info",
        r if r * 2 < last => "error",
        _ => "warning",
    }
}

/// Opsgenie's priority, P1 to P5, for a rank among `of` levels.
fn opsgenie_priority(page: &Page) -> String {
    let p = if page.of <= 1 { 1 } else { 1 + page.rank * 4 / (page.of - 1) };
    format!("P{}", p.clamp(1, 5))
}

fn summary(page: &Page) -> String {
    // A private incident's title stays in tocsin: the page says only that it exists.
    let title = if page.private { "private incident" } else { page.title.as_str() };
    format!("{} ({}): {title}", page.incident, page.severity)
}

pub(super) async fn pagerduty(
    http: &reqwest::Client,
    url: &str,
    routing_key: &str,
    page: &Page,
) -> Result<(), ChatError> {
    let key = page.key();
    let body = if page.resolve {
        json!({"routing_key": routing_key, "event_action": "resolve", "dedup_key": key})
    } else {
        let summary: String = summary(page).chars().take(1024).collect();
        json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": key,
            "payload": {
                "summary": summary,
                "source": "tocsin",
                "severity": pagerduty_severity(page),
                "component": page.team,
                "custom_details": {"incident": page.incident, "severity": page.severity},
            },
            "client": "tocsin",
        })
    };
    let resp = http.post(url).json(&body).send().await.map_err(|e| unreachable("PagerDuty", e))?;
    classify(resp, "PagerDuty").await
}

pub(super) async fn opsgenie(
    http: &reqwest::Client,
    base: &str,
    api_key: &str,
    page: &Page,
) -> Result<(), ChatError> {
    let auth = format!("GenieKey {api_key}");
    let key = page.key();
    let req = if page.resolve {
        let alias: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
        http.post(format!("{base}/v2/alerts/{alias}/close?identifierType=alias"))
            .header("authorization", auth)
            .json(&json!({"source": "tocsin", "note": format!("{} resolved", page.incident)}))
    } else {
        let message: String = summary(page).chars().take(130).collect();
        http.post(format!("{base}/v2/alerts")).header("authorization", auth).json(&json!({
            "message": message,
            "alias": key,
            "description": format!("{} — paged {} through tocsin.", summary(page), page.team),
            "priority": opsgenie_priority(page),
            "source": "tocsin",
            "tags": ["tocsin", page.severity],
            "details": {"incident": page.incident, "team": page.team},
        }))
    };
    let resp = req.send().await.map_err(|e| unreachable("Opsgenie", e))?;
    classify(resp, "Opsgenie").await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(rank: usize, of: usize) -> Page {
        Page {
            team: "payments".into(),
            resolve: false,
            incident: "INC-7".into(),
            title: "Checkout down".into(),
            severity: format!("SEV{}", rank + 1),
            rank,
            of,
            private: false,
        }
    }

    #[test]
    fn severities_map_onto_each_services_scale() {
        let pd: Vec<&str> = (0..4).map(|r| pagerduty_severity(&page(r, 4))).collect();
        assert_eq!(pd, ["critical", "error", "warning", "info"]);
        let og: Vec<String> = (0..4).map(|r| opsgenie_priority(&page(r, 4))).collect();
        assert_eq!(og, ["P1", "P2", "P3", "P5"]);
        assert_eq!(opsgenie_priority(&page(0, 1)), "P1");
        assert_eq!(pagerduty_severity(&page(0, 1)), "critical");
    }

    #[test]
    fn a_private_incidents_page_does_not_carry_its_title() {
        let mut p = page(0, 4);
        p.private = true;
        assert_eq!(summary(&p), "INC-7 (SEV1): private incident");
    }
}
