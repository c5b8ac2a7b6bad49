//! The console as a chat platform: the bot's posts land in the room and are printed.

use async_trait::async_trait;

use super::room::Room;
use crate::clock::Clock;
use crate::incident::{Message, Platform, UserRef};
use crate::outbox::{ChatApi, ChatError, OpenedChannel};
use std::sync::Arc;

pub const BOT_NAME: &str = "tocsin";

pub struct ConsoleChat {
    room: Room,
    clock: Arc<dyn Clock>,
}

impl ConsoleChat {
    pub fn new(room: Room, clock: Arc<dyn Clock>) -> Self {
        Self { room, clock }
    }

    fn open(&self, channel: &str) -> Result<(), ChatError> {
        match self.room.update_channel(channel, |c| c.archived) {
            None => Err(ChatError::Rejected(format!("no channel #{channel}"))),
            Some(true) => Err(ChatError::Rejected(format!("#{channel} is archived"))),
            Some(false) => Ok(()),
        }
    }
}

#[async_trait]
impl ChatApi for ConsoleChat {
    fn platform(&self) -> Platform {
        Platform::Console
    }

    async fn open_channel(
        &self,
        name: &str,
        private: bool,
        topic: &str,
    ) -> Result<OpenedChannel, ChatError> {
        if !self.room.create(name, private, topic) {
            return Err(ChatError::NameTaken);
        }
        let kind = if private { "private channel" } else { "channel" };
        self.room.say(&format!("* {BOT_NAME} created the {kind} #{name} — topic: {topic}"));
        Ok(OpenedChannel { id: name.into(), name: name.into() })
    }

    async fn invite(&self, channel: &str, users: &[UserRef]) -> Result<(), ChatError> {
        self.open(channel)?;
        let added: Vec<String> = self
            .room
            .update_channel(channel, |c| {
                let mut added = Vec::new();
                for u in users {
                    if !c.members.contains(&u.id) {
                        c.members.push(u.id.clone());
                        added.push(format!("@{}", u.id));
                    }
                }
                added
            })
            .unwrap_or_default();
        if !added.is_empty() {
            self.room.say(&format!("* {BOT_NAME} added {} to #{channel}", added.join(", ")));
        }
        Ok(())
    }

    async fn set_topic(&self, channel: &str, topic: &str) -> Result<(), ChatError> {
        self.open(channel)?;
        self.room.update_channel(channel, |c| c.topic = topic.to_string());
        self.room.say(&format!("* #{channel} topic: {topic}"));
        Ok(())
    }

    fn render(&self, message: &Message) -> Vec<String> {
        vec![message.to_plain()]
    }

    async fn post_part(
        &self,
        channel: &str,
        _message: &Message,
        part: &str,
    ) -> Result<String, ChatError> {
        self.open(channel)?;
        let n = self.room.post(channel, BOT_NAME, part, self.clock.now());
        Ok(n.to_string())
    }

    async fn pin(&self, channel: &str, message_id: &str) -> Result<(), ChatError> {
        let n: u64 =
            message_id.parse().map_err(|_| ChatError::Rejected("bad message id".into()))?;
        self.room.update_channel(channel, |c| c.pinned.push(n));
        self.room.say(&format!("* {BOT_NAME} pinned [{n}] in #{channel}"));
        Ok(())
    }

    async fn upload(
        &self,
        channel: &str,
        filename: &str,
        title: &str,
        content: &str,
    ) -> Result<(), ChatError> {
        self.open(channel)?;
        let n = self.room.post(
            channel,
            BOT_NAME,
            &format!("📄 {title} (file {filename})"),
            self.clock.now(),
        );
        self.room.say(&format!(
            "----- [{n}] {filename} -----\n{}\n----- end of {filename} -----",
            content.trim_end()
        ));
        Ok(())
    }

    async fn archive(&self, channel: &str) -> Result<(), ChatError> {
        self.open(channel)?;
        self.room.update_channel(channel, |c| c.archived = true);
        self.room.say(&format!("* {BOT_NAME} archived #{channel}"));
        Ok(())
    }
}
