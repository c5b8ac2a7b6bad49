//! The Slack app manifest: everything the app needs, installed in one step.

use serde_json::{Value, json};

use super::events::SHORTCUT_CALLBACK;
use crate::command::spec;

/// The bot token scopes, each for something tocsin does.
pub const BOT_SCOPES: &[&str] = &[
    "commands",          // /incident
    "chat:write",        // posts in incident channels
    "chat:write.public", // posts in announce and subscriber channels without joining
    "channels:manage",   // create, set topic/purpose, invite, archive public channels
    "groups:write",      // the same for private incident channels
    "channels:read",
    "groups:read",
    "channels:history", // read flagged messages and their edits
    "groups:history",
    "reactions:read", // the 📌 flag
    "pins:write",     // pin the header
    "files:write",    // upload the postmortem draft
    "users:read",     // people's names for the record (users.info)
];

/// The events tocsin subscribes to.
pub const BOT_EVENTS: &[&str] =
    &["reaction_added", "reaction_removed", "message.channels", "message.groups"];

/// Builds the manifest. With a public URL, Slack posts to it; without one,
/// the app uses Socket Mode (run tocsin with `slack.app_token`).
pub fn manifest(public_url: Option<&str>) -> Value {
    let names: Vec<&str> = spec::all().iter().map(|s| s.name.as_str()).collect();
    let url = |path: &str| public_url.map(|u| format!("{}{path}", u.trim_end_matches('/')));
    let mut command = json!({
        "command": "/incident",
        "description": "Declare and run incidents: roles, updates, timeline, postmortem",
        "usage_hint": names.join(" | "),
        "should_escape": true,
    });
    let mut events = json!({ "bot_events": BOT_EVENTS });
    let mut interactivity = json!({ "is_enabled": true });
    if let Some(u) = url("/slack/commands") {
        command["url"] = json!(u);
        events["request_url"] = json!(url("/slack/events"));
        interactivity["request_url"] = json!(url("/slack/interactions"));
    }
    json!({
        "_metadata": { "major_version": 1, "minor_version": 1 },
        "display_information": {
            "name": "tocsin",
            "description": "Incident response in Slack: one channel per incident, roles, status updates, a timeline kept exactly once, postmortem drafts.",
            "background_color": "#7a1f1f",
        },
        "features": {
            "bot_user": { "display_name": "tocsin", "always_online": true },
            "slash_commands": [command],
            "shortcuts": [{
                "name": "Add to timeline",
                "type": "message",
                "callback_id": SHORTCUT_CALLBACK,
                "description": "Put this message on the incident's timeline",
            }],
        },
        "oauth_config": { "scopes": { "bot": BOT_SCOPES } },
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": false,
            "socket_mode_enabled": public_url.is_none(),
            "token_rotation_enabled": false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_points_slack_at_the_public_url_with_escaping_on() {
        let m = manifest(Some("https://tocsin.example.com/"));
        let cmd = &m["features"]["slash_commands"][0];
        assert_eq!(cmd["command"], "/incident");
        assert_eq!(cmd["url"], "https://tocsin.example.com/slack/commands");
        assert_eq!(cmd["should_escape"], true, "mentions arrive as <@U…> ids");
        assert!(cmd["usage_hint"].as_str().unwrap().starts_with("ack | close | declare |"));
        assert_eq!(
            m["settings"]["event_subscriptions"]["request_url"],
            "https://tocsin.example.com/slack/events"
        );
        assert_eq!(
            m["settings"]["interactivity"]["request_url"],
            "https://tocsin.example.com/slack/interactions"
        );
        assert_eq!(m["settings"]["socket_mode_enabled"], false);
        assert_eq!(m["features"]["shortcuts"][0]["callback_id"], "add_to_timeline");
        let events: Vec<&str> = m["settings"]["event_subscriptions"]["bot_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(events.contains(&"reaction_removed") && events.contains(&"message.groups"));
    }

    #[test]
    fn without_a_public_url_the_manifest_uses_socket_mode() {
        let m = manifest(None);
        assert_eq!(m["settings"]["socket_mode_enabled"], true);
        assert!(m["features"]["slash_commands"][0].get("url").is_none());
        assert!(m["settings"]["event_subscriptions"].get("request_url").is_none());
    }
}
