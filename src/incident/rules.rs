//! The team's rules the core decides by: severities, roles, channel naming.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::UserError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDef {
    pub key: String,
    pub name: String,
    pub description: String,
}

/// Who may run a command against an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Who {
    /// Anyone who can see the incident.
    Anyone,
    /// A responder of the incident.
    Responder,
    /// The commander, or the current holder of the role being handed over
    /// (any responder while the role is vacant).
    CommanderOrHolder,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Most severe first.
    pub severities: Vec<String>,
    pub default_severity: String,
    pub roles: Vec<RoleDef>,
    pub channel_prefix: String,
    /// Minutes without a status update before a reminder, per severity
    /// (in its configured spelling); a severity left out gets none.
    pub update_reminders: BTreeMap<String, u32>,
    /// Minutes after declaring before vacant roles are pointed out; `None`: never.
    pub role_reminder_minutes: Option<u32>,
    /// Teams with a pager (PagerDuty or Opsgenie) behind them: inviting one
    /// pages it; other teams only bring their members.
    pub pageable_teams: BTreeSet<String>,
    /// The status page's components; `None` when there is no status page.
    pub status_components: Option<Vec<String>>,
}

impl Default for Rules {
    fn default() -> Self {
        let role = |key: &str, name: &str, description: &str| RoleDef {
            key: key.into(),
            name: name.into(),
            description: description.into(),
        };
        Self {
            severities: ["SEV1", "SEV2", "SEV3", "SEV4"].map(String::from).to_vec(),
            default_severity: "SEV3".into(),
            roles: vec![
                role("commander", "Incident commander", "Leads the response and makes the calls"),
                role("comms", "Communications lead", "Keeps stakeholders informed"),
                role("scribe", "Scribe", "Keeps the timeline"),
            ],
            channel_prefix: "inc".into(),
            update_reminders: [("SEV1", 15), ("SEV2", 30), ("SEV3", 60), ("SEV4", 240)]
                .into_iter()
                .map(|(s, m)| (s.to_string(), m))
                .collect(),
            role_reminder_minutes: Some(10),
            pageable_teams: BTreeSet::new(),
            status_components: None,
        }
    }
}

impl Rules {
    /// The configured spelling of a severity, matched case-insensitively.
    pub fn severity(&self, s: &str) -> Result<String, UserError> {
        self.severities.iter().find(|sev| sev.eq_ignore_ascii_case(s)).cloned().ok_or_else(|| {
            UserError::new(format!(
                "unknown severity \"{s}\"; expected one of {}",
                self.severities.join(", ")
            ))
        })
    }

    /// Lower is more severe; unknown severities rank after every known one.
    pub fn rank(&self, s: &str) -> usize {
        self.severities
            .iter()
            .position(|sev| sev.eq_ignore_ascii_case(s))
            .unwrap_or(self.severities.len())
    }

    /// True when `token` is spelled like a severity (same letters, then digits),
    /// known or not; the parser uses it to reject `SEV9` instead of taking it as a title word.
    pub fn looks_like_severity(&self, token: &str) -> bool {
        let known = self.severities.iter().any(|s| s.eq_ignore_ascii_case(token));
        known
            || self.severities.iter().any(|sev| {
                let prefix = sev.trim_end_matches(|c: char| c.is_ascii_digit());
                !prefix.is_empty()
                    && token.len() > prefix.len()
                    && token.is_char_boundary(prefix.len())
                    && token[..prefix.len()].eq_ignore_ascii_case(prefix)
                    && token[prefix.len()..].bytes().all(|b| b.is_ascii_digit())
            })
    }

    pub fn role(&self, key: &str) -> Result<&RoleDef, UserError> {
        self.roles.iter().find(|r| r.key.eq_ignore_ascii_case(key)).ok_or_else(|| {
            let keys: Vec<&str> = self.roles.iter().map(|r| r.key.as_str()).collect();
            UserError::new(format!("unknown role \"{key}\"; expected one of {}", keys.join(", ")))
        })
    }
}
