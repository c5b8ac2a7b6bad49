//! Interactions, whether they came over the gateway or the HTTP endpoint,
//! turned into what tocsin acts on.

use serenity::model::application::{
    CommandDataOption, CommandDataOptionValue, CommandInteraction, CommandType, Interaction,
};
use serenity::model::user::User;

use super::client::{Fetched, fetched};
use super::commands::ADD_TO_TIMELINE;
use crate::command::OptionValue;
use crate::incident::{Platform, UserRef};

/// An interaction tocsin answers.
#[derive(Debug, Clone)]
pub enum Inbound {
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
pub fn parse(body: &[u8]) -> Result<Inbound, String> {
    let i: Interaction =
        serde_json::from_slice(body).map_err(|e| format!("not an interaction: {e}"))?;
    Ok(from_interaction(&i))
}

pub fn user_ref(u: &User) -> UserRef {
    let mut r = UserRef::new(Platform::Discord, u.id.to_string());
    r.name = Some(u.global_name.clone().unwrap_or_else(|| u.name.clone()));
    r
}

pub fn from_interaction(i: &Interaction) -> Inbound {
    match i {
        Interaction::Ping(_) => Inbound::Ping,
        Interaction::Command(c) => command(c),
        other => Inbound::Unknown { id: other.id().to_string(), token: other.token().to_string() },
    }
}

fn command(c: &CommandInteraction) -> Inbound {
    let (id, token) = (c.id.to_string(), c.token.clone());
    let user = user_ref(&c.user);
    let channel = c.channel_id.to_string();
    match (c.data.kind, c.data.name.as_str()) {
        (CommandType::Message, ADD_TO_TIMELINE) => {
            let Some(target) = c.data.target_id else { return Inbound::Unknown { id, token } };
            let message =
                c.data.resolved.messages.iter().find(|(mid, _)| mid.get() == target.get());
            match message.and_then(|(_, m)| serde_json::to_value(m).ok()) {
                Some(m) => Inbound::AddToTimeline {
                    id,
                    token,
                    user,
                    channel,
                    message: target.get().to_string(),
                    fetched: fetched(&m),
                },
                None => Inbound::Unknown { id, token },
            }
        }
        (CommandType::ChatInput, "incident") => match c.data.options.first() {
            Some(CommandDataOption {
                name,
                value: CommandDataOptionValue::SubCommand(opts),
                ..
            }) => {
                let options = opts.iter().map(|o| (o.name.clone(), option(c, &o.value))).collect();
                Inbound::Command { id, token, user, channel, subcommand: name.clone(), options }
            }
            _ => Inbound::Unknown { id, token },
        },
        _ => Inbound::Unknown { id, token },
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
