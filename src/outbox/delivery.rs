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
    OpenChannel { name: String, private: bool, topic: String },
    Invite { users: Vec<UserRef> },
    SetTopic { topic: String },
    Post { to: Dest, message: Message, pin: bool },
    PublishPostmortem,
    Archive,
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
        }
    }
}
