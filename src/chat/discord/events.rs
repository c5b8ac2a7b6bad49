//! Interactions, whether they came over the gateway or the HTTP endpoint,
//! turned into what tocsin acts on.

use serenity::model::application::{
    CommandDataOption, CommandDataOptionValue, CommandInteraction, CommandType, Interaction as Raw,
};
use serenity::model::user::User;

use super::client::{Fetched, fetched};
use super::commands::ADD_TO_TIMELINE;
use crate::command::OptionValue;
use crate::incident::{Platform, UserRef};

/// An interaction tocsin answers.
#[derive(Debug, Clone)]
pub enum Interaction {
    /// Discord checking the endpoint.
    Ping,
    /// `/incident <subcommand>` with its options.
    Command {
        id: String,
        token: String,
        user: UserRef,
        channel: String,
        subcommand: String,
        options: Vec<(String, OptionValue)>,
    },
    /// The "Add to timeline" message command.
    AddToTimeline {
        id: String,
        token: String,
        user: UserRef,
        channel: String,
        message: String,
        fetched: Fetched,
    },
    /// Something tocsin does not offer (another command, a button...).
    Unknown { id: String, token: String },
}

/// Reads an interaction's JSON (the HTTP endpoint's body).
pub fn parse(body: &[u8]) -> Result<Interaction, String> {
    let i: Raw = serde_json::from_slice(body).map_err(|e| format!("not an interaction: {e}"))?;
    Ok(from_interaction(&i))
}

pub fn user_ref(u: &User) -> UserRef {
    let mut r = UserRef::new(Platform::Discord, u.id.to_string());
    r.name = Some(u.global_name.clone().unwrap_or_else(|| u.name.clone()));
    r
}

pub fn from_interaction(i: &Raw) -> Interaction {
    match i {
        Raw::Ping(_) => Interaction::Ping,
        Raw::Command(c) => command(c),
        other => {
            Interaction::Unknown { id: other.id().to_string(), token: other.token().to_string() }
        }
    }
}

fn command(c: &CommandInteraction) -> Interaction {
    let (id, token) = (c.id.to_string(), c.token.clone());
    let mut user = user_ref(&c.user);
    // In a guild, the member's server nickname is how people know them there.
    if let Some(nick) = c.member.as_ref().and_then(|m| m.nick.clone()) {
        user.name = Some(nick);
    }
    let channel = c.channel_id.to_string();
    match (c.data.kind, c.data.name.as_str()) {
        (CommandType::Message, ADD_TO_TIMELINE) => {
            let Some(target) = c.data.target_id else { return Interaction::Unknown { id, token } };
            let message =
                c.data.resolved.messages.iter().find(|(mid, _)| mid.get() == target.get());
            match message.and_then(|(_, m)| serde_json::to_value(m).ok()) {
                Some(m) => Interaction::AddToTimeline {
                    id,
                    token,
                    user,
                    channel,
                    message: target.get().to_string(),
                    fetched: fetched(&m),
                },
                None => Interaction::Unknown { id, token },
            }
        }
        (CommandType::ChatInput, "incident") => match c.data.options.first() {
            Some(CommandDataOption {
                name,
                value: CommandDataOptionValue::SubCommand(opts),
                ..
            }) => {
                let options = opts.iter().map(|o| (o.name.clone(), option(c, &o.value))).collect();
                Interaction::Command { id, token, user, channel, subcommand: name.clone(), options }
            }
            _ => Interaction::Unknown { id, token },
        },
        _ => Interaction::Unknown { id, token },
    }
}

fn option(c: &CommandInteraction, v: &CommandDataOptionValue) -> OptionValue {
    match v {
        CommandDataOptionValue::String(s) => OptionValue::Text(s.clone()),
        CommandDataOptionValue::Boolean(b) => OptionValue::Bool(*b),
        CommandDataOptionValue::User(id) => {
            let name = c.data.resolved.users.get(id).map(|u| user_ref(u).display().to_string());
            OptionValue::User { id: id.to_string(), name }
        }
        CommandDataOptionValue::Integer(n) => OptionValue::Text(n.to_string()),
        CommandDataOptionValue::Channel(id) => OptionValue::Text(id.to_string()),
        other => OptionValue::Text(format!("{:?}", other.kind())),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::command::{ParseContext, from_options};
    use crate::incident::Rules;

    /// An option as Discord might send it: any name, any type, any value.
    fn option() -> impl Strategy<Value = serde_json::Value> {
        let names = prop::sample::select(vec![
            "title",
            "severity",
            "private",
            "status",
            "message",
            "level",
            "role",
            "user",
            "team",
            "text",
            "owner",
            "incident",
            "min_severity",
            "subcommand",
            "bogus",
        ]);
        let values = prop_oneof![
            any::<String>().prop_map(|s| json!({"type": 3, "value": s})),
            any::<bool>().prop_map(|b| json!({"type": 5, "value": b})),
            any::<u64>().prop_map(|n| json!({"type": 6, "value": n.to_string()})),
            any::<i64>().prop_map(|n| json!({"type": 4, "value": n})),
        ];
        (names, values).prop_map(|(n, mut v)| {
            v["name"] = json!(n);
            v
        })
    }

    fn interaction(sub: String, options: Vec<serde_json::Value>) -> serde_json::Value {
        json!({
            "id": "1", "application_id": "2", "type": 2, "token": "t", "version": 1,
            "channel_id": "3", "locale": "en-US", "entitlements": [], "attachment_size_limit": 8,
            "app_permissions": "0", "authorizing_integration_owners": {}, "context": 0,
            "user": {"id": "4", "username": "u", "discriminator": "0", "avatar": null, "global_name": null},
            "data": {"id": "5", "name": "incident", "type": 1,
                     "options": [{"name": sub, "type": 1, "options": options}]},
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Arbitrary bytes give an error or a value, never a panic.
        #[test]
        fn the_interaction_parser_never_panics_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body);
        }

        /// Well-formed interactions with any subcommand and any options are
        /// typed or refused with a usage error, never a panic.
        #[test]
        fn any_subcommand_with_any_options_is_typed_or_refused(
            sub in prop::sample::select(vec!["declare", "update", "severity", "role", "invite", "note",
                "followup", "resolve", "subscribe", "unsubscribe", "help", "list", "nonsense"]),
            options in prop::collection::vec(option(), 0..6),
        ) {
            let body = serde_json::to_vec(&interaction(sub.to_string(), options)).unwrap();
            if let Ok(Interaction::Command { subcommand, options, .. }) = parse(&body) {
                let rules = Rules::default();
                let teams = vec!["payments".to_string()];
                let ctx = ParseContext { rules: &rules, teams: &teams, platform: Platform::Discord };
                let _ = from_options(&subcommand, &options, &ctx);
            }
        }
    }
}
