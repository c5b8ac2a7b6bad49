//! bot.toml as written: one struct per table, every key optional unless the
//! table cannot work without it, unknown keys refused. `validate.rs` turns
//! this into a checked [`Config`](super::Config) with the defaults filled in.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    #[serde(default)]
    pub server: Server,
    #[serde(default)]
    pub database: Database,
    pub slack: Option<Slack>,
    pub discord: Option<Discord>,
    #[serde(default)]
    pub incidents: Incidents,
    pub roles: Option<Vec<Role>>,
    pub teams: Option<Vec<Team>>,
    #[serde(default)]
    pub postmortem: Postmortem,
    #[serde(default)]
    pub console: Console,
    pub alerts: Option<Alerts>,
    pub pagerduty: Option<PagerDuty>,
    pub opsgenie: Option<Opsgenie>,
    pub webhooks: Option<Vec<Webhook>>,
    #[serde(default)]
    pub report: Report,
    pub status_page: Option<StatusPage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusPage {
    pub title: Option<String>,
    #[serde(default)]
    pub components: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Report {
    pub timezone: Option<String>,
    pub working_hours: Option<String>,
    pub working_days: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Alerts {
    pub token: String,
    pub platform: Option<String>,
    pub rules: Option<Vec<AlertRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertRule {
    pub name: String,
    #[serde(default)]
    pub r#match: BTreeMap<String, String>,
    #[serde(default)]
    pub match_re: BTreeMap<String, String>,
    pub severity: Option<String>,
    pub title: Option<String>,
    #[serde(default)]
    pub invite: Vec<String>,
    #[serde(default)]
    pub private: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PagerDuty {
    pub events_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Opsgenie {
    pub api_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Webhook {
    pub url: String,
    pub secret: String,
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub private: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Server {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub header_timeout_seconds: Option<u32>,
    pub max_connections: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Database {
    pub url: Option<String>,
    pub retention_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Slack {
    pub bot_token: String,
    pub signing_secret: String,
    pub app_token: Option<String>,
    pub api_base_url: Option<String>,
    pub announce_channel: Option<String>,
    pub timeline_reaction: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Discord {
    pub bot_token: String,
    pub application_id: String,
    pub public_key: String,
    pub guild_id: String,
    pub category_id: Option<String>,
    pub archive_category_id: Option<String>,
    pub announce_channel: Option<String>,
    pub interactions: Option<String>,
    pub api_base_url: Option<String>,
    pub timeline_reaction: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Incidents {
    pub channel_prefix: Option<String>,
    pub severities: Option<Vec<String>>,
    pub default_severity: Option<String>,
    pub update_reminder_minutes: Option<BTreeMap<String, u32>>,
    pub role_reminder_minutes: Option<u32>,
    pub purge_grace_hours: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Role {
    pub key: String,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Team {
    pub name: String,
    pub pagerduty_routing_key: Option<String>,
    pub opsgenie_api_key: Option<String>,
    #[serde(default)]
    pub slack_users: Vec<String>,
    #[serde(default)]
    pub discord_users: Vec<String>,
    #[serde(default)]
    pub console_users: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Postmortem {
    pub template: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Console {
    pub user: Option<String>,
    pub channel: Option<String>,
}

/// Tables that are written `[[name]]`: an error about their shape says so.
pub(super) const TABLE_ARRAYS: &[&str] = &["roles", "teams", "alerts.rules", "webhooks"];

/// The keys a table takes, as serde knows them (for the test that holds the
/// example file to every key).
#[cfg(test)]
pub(super) fn keys<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    use std::cell::Cell;

    thread_local!(static SEEN: Cell<&'static [&'static str]> = const { Cell::new(&[]) });
    struct Spy;
    impl<'de> de::Deserializer<'de> for Spy {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            SEEN.with(|s| s.set(fields));
            Err(de::Error::custom("seen"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let _ = T::deserialize(Spy);
    SEEN.with(|s| s.get())
}
