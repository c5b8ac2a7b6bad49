//! The typed form of a command, whatever platform it came from.

use std::collections::BTreeMap;

use crate::incident::{IncidentId, Status, UserRef};

use super::spec::Spec;

/// A parsed argument value, before it is typed into a [`Cmd`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Severity(String),
    Status(Status),
    Role(String),
    User(UserRef),
    Invitees(Vec<Invitee>),
    Incident(IncidentId),
    Flag(bool),
    Word(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invitee {
    User(UserRef),
    Team(String),
}

/// Argument values by name; Slack text and Discord options both end up here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values(pub BTreeMap<String, Value>);

impl Values {
    pub fn set(&mut self, name: &str, v: Value) {
        self.0.insert(name.to_string(), v);
    }

    fn text(&mut self, name: &str) -> Option<String> {
        match self.0.remove(name)? {
            Value::Text(s) | Value::Word(s) | Value::Severity(s) | Value::Role(s) => Some(s),
            _ => None,
        }
    }

    fn user(&mut self, name: &str) -> Option<UserRef> {
        match self.0.remove(name)? {
            Value::User(u) => Some(u),
            _ => None,
        }
    }

    fn incident(&mut self, name: &str) -> Option<IncidentId> {
        match self.0.remove(name)? {
            Value::Incident(i) => Some(i),
            _ => None,
        }
    }

    fn flag(&mut self, name: &str) -> bool {
        matches!(self.0.remove(name), Some(Value::Flag(true)))
    }
}

/// One subcommand with its typed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    Declare { severity: Option<String>, title: String, private: bool },
    Update { status: Status, message: String },
    Severity { level: String },
    Role { role: String, user: UserRef },
    Roles,
    Invite { invitees: Vec<Invitee> },
    Note { text: String },
    Timeline,
    FollowUp { text: String, owner: Option<UserRef> },
    Resolve { message: Option<String> },
    Postmortem,
    Close,
    Subscribe { incident: Option<IncidentId>, min_severity: Option<String> },
    Unsubscribe { incident: Option<IncidentId> },
    List,
    Status,
    Help { subcommand: Option<String> },
}

impl Cmd {
    /// Types the values of a spec's arguments. The parser has already checked
    /// presence and kinds, so a missing required value here is a spec/handler mismatch.
    pub fn from_values(name: &str, mut v: Values) -> Option<Cmd> {
        Some(match name {
            "declare" => Cmd::Declare {
                severity: v.text("severity"),
                title: v.text("title")?,
                private: v.flag("private"),
            },
            "update" => {
                let status = match v.0.remove("status")? {
                    Value::Status(s) => s,
                    _ => return None,
                };
                Cmd::Update { status, message: v.text("message")? }
            }
            "severity" => Cmd::Severity { level: v.text("level")? },
            "role" => Cmd::Role { role: v.text("role")?, user: v.user("user")? },
            "roles" => Cmd::Roles,
            "invite" => match v.0.remove("user")? {
                Value::Invitees(invitees) => Cmd::Invite { invitees },
                Value::User(u) => Cmd::Invite { invitees: vec![Invitee::User(u)] },
                _ => return None,
            },
            "note" => Cmd::Note { text: v.text("text")? },
            "timeline" => Cmd::Timeline,
            "followup" => Cmd::FollowUp { text: v.text("text")?, owner: v.user("owner") },
            "resolve" => Cmd::Resolve { message: v.text("message") },
            "postmortem" => Cmd::Postmortem,
            "close" => Cmd::Close,
            "subscribe" => Cmd::Subscribe {
                incident: v.incident("incident"),
                min_severity: v.text("min_severity"),
            },
            "unsubscribe" => Cmd::Unsubscribe { incident: v.incident("incident") },
            "list" => Cmd::List,
            "status" => Cmd::Status,
            "help" => Cmd::Help { subcommand: v.text("subcommand") },
            _ => return None,
        })
    }

    /// The spec name this command belongs to.
    pub fn name(&self) -> &'static str {
        match self {
            Cmd::Declare { .. } => "declare",
            Cmd::Update { .. } => "update",
            Cmd::Severity { .. } => "severity",
            Cmd::Role { .. } => "role",
            Cmd::Roles => "roles",
            Cmd::Invite { .. } => "invite",
            Cmd::Note { .. } => "note",
            Cmd::Timeline => "timeline",
            Cmd::FollowUp { .. } => "followup",
            Cmd::Resolve { .. } => "resolve",
            Cmd::Postmortem => "postmortem",
            Cmd::Close => "close",
            Cmd::Subscribe { .. } => "subscribe",
            Cmd::Unsubscribe { .. } => "unsubscribe",
            Cmd::List => "list",
            Cmd::Status => "status",
            Cmd::Help { .. } => "help",
        }
    }
}

/// A command ready to run: its spec, the incident it names (if any) and its arguments.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub spec: &'static Spec,
    pub incident: Option<IncidentId>,
    pub cmd: Cmd,
}
