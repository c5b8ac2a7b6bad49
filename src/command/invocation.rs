//! The typed form of a command, whatever platform it came from: its spec,
//! the incident it names, and its arguments by name.

use std::collections::BTreeMap;

use crate::incident::{IncidentId, Status, UserRef};

use super::spec::Spec;

/// A parsed argument value.
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
/// The parser has checked every value against the spec, so a handler takes
/// them out by name and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args(pub BTreeMap<String, Value>);

impl Args {
    /// Arguments from (name, value) pairs.
    pub fn of(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Self {
        Self(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    pub fn set(&mut self, name: &str, v: Value) {
        self.0.insert(name.to_string(), v);
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A text, severity, role or word argument.
    pub fn text(&mut self, name: &str) -> Option<String> {
        match self.0.remove(name)? {
            Value::Text(s) | Value::Word(s) | Value::Severity(s) | Value::Role(s) => Some(s),
            _ => None,
        }
    }

    pub fn user(&mut self, name: &str) -> Option<UserRef> {
        match self.0.remove(name)? {
            Value::User(u) => Some(u),
            _ => None,
        }
    }

    pub fn status(&mut self, name: &str) -> Option<Status> {
        match self.0.remove(name)? {
            Value::Status(s) => Some(s),
            _ => None,
        }
    }

    pub fn incident(&mut self, name: &str) -> Option<IncidentId> {
        match self.0.remove(name)? {
            Value::Incident(i) => Some(i),
            _ => None,
        }
    }

    /// People and teams; a single user option counts as one invitee.
    pub fn invitees(&mut self, name: &str) -> Option<Vec<Invitee>> {
        match self.0.remove(name)? {
            Value::Invitees(list) => Some(list),
            Value::User(u) => Some(vec![Invitee::User(u)]),
            _ => None,
        }
    }

    /// A `--switch`: false when absent.
    pub fn flag(&mut self, name: &str) -> bool {
        matches!(self.0.remove(name), Some(Value::Flag(true)))
    }
}

/// A command ready to run: its spec, the incident it names (if any) and its arguments.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub spec: &'static Spec,
    pub incident: Option<IncidentId>,
    pub args: Args,
}

impl Invocation {
    /// The subcommand's name, as in its spec.
    pub fn name(&self) -> &'static str {
        &self.spec.name
    }
}
