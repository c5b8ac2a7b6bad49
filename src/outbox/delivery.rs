//! One outbox row's payload: an effect expanded to one platform.

use serde::{Deserialize, Serialize};

use crate::incident::{Message, UserRef};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dest {
    /// The incident's channel on this row's platform, looked up when delivered.
    IncidentChannel,
    Channel(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Delivery {
    OpenChannel {
        name: String,
        private: bool,
        topic: String,
    },
    Invite {
        users: Vec<UserRef>,
    },
    SetTopic {
        topic: String,
    },
    Post {
        to: Dest,
        message: Message,
        pin: bool,
    },
    PublishPostmortem,
    Archive,
    /// Page a team through the paging services it has (or resolve its page).
    Page(Page),
    /// A webhook call: the event and its JSON body, as decided.
    Hook {
        event: String,
        body: String,
    },
}

/// What a page says, fixed when it was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub team: String,
    pub resolve: bool,
    /// `INC-7`: with the team, the page's stable key.
    pub incident: String,
    pub title: String,
    pub severity: String,
    /// 0 for the most severe level, `of - 1` for the least.
    pub rank: usize,
    pub of: usize,
    pub private: bool,
}

impl Page {
    /// The key both services dedupe by: one page per (incident, team).
    pub fn key(&self) -> String {
        format!("tocsin-{}-{}", self.incident, self.team)
    }
}

impl Delivery {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("deliveries serialize")
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Delivery::OpenChannel { .. } => "open_channel",
            Delivery::Invite { .. } => "invite",
            Delivery::SetTopic { .. } => "set_topic",
            Delivery::Post { .. } => "post",
            Delivery::PublishPostmortem => "postmortem",
            Delivery::Archive => "archive",
            Delivery::Page(_) => "page",
            Delivery::Hook { .. } => "webhook",
        }
    }
}
