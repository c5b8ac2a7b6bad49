//! An in-memory chat platform for engine tests: keeps channels, members,
//! messages, topics, pins and files, and fails on demand like a platform would.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use tocsin::incident::Message;
use tocsin::incident::{Platform, UserRef};
use tocsin::outbox::{ChatApi, ChatError, OpenedChannel};

#[derive(Debug, Clone, Default)]
pub struct Channel {
    pub name: String,
    pub private: bool,
    pub topic: String,
    pub members: Vec<String>,
    pub posts: Vec<String>,
    pub pins: Vec<String>,
    pub files: Vec<(String, String)>,
    pub archived: bool,
}

pub struct MemoryChat {
    platform: Platform,
    state: Mutex<State>,
    /// Posts that will not be answered until released, like a platform that accepts and stalls.
    hang: std::sync::atomic::AtomicU32,
    release: tokio::sync::Notify,
}

#[derive(Default)]
struct State {
    channels: BTreeMap<String, Channel>,
    next: u64,
    failures: VecDeque<ChatError>,
    /// Every call fails with this while it is set: an outage.
    down: Option<ChatError>,
    /// Channel creation is refused for good while this is set.
    refuse_channels: bool,
    /// The next post into this channel hangs until released.
    hang_in: Option<String>,
}

impl MemoryChat {
    /// `existing` channels (ids) exist from the start, like #general.
    pub fn new(platform: Platform, existing: &[&str]) -> Self {
        let mut s = State::default();
        for c in existing {
            s.channels.insert(c.to_string(), Channel { name: c.to_string(), ..Default::default() });
        }
        Self {
            platform,
            state: Mutex::new(s),
            hang: std::sync::atomic::AtomicU32::new(0),
            release: tokio::sync::Notify::new(),
        }
    }

    /// The next calls fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = ChatError>) {
        self.state.lock().unwrap().failures.extend(errors);
    }

    /// The next `n` posts get no answer until [`MemoryChat::release`].
    pub fn hang_next_posts(&self, n: u32) {
        self.hang.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// The next post into `channel` gets no answer until [`MemoryChat::release`].
    pub fn hang_next_post_in(&self, channel: &str) {
        self.state.lock().unwrap().hang_in = Some(channel.into());
    }

    /// Hung posts go on.
    pub fn release(&self) {
        self.release.notify_waiters();
    }

    /// Refuses every channel creation (a workspace that forbids it), or stops refusing.
    pub fn refuse_channels(&self, refuse: bool) {
        self.state.lock().unwrap().refuse_channels = refuse;
    }

    /// Every call fails with `error` from now on; `None` ends the outage.
    pub fn down(&self, error: Option<ChatError>) {
        self.state.lock().unwrap().down = error;
    }

    pub fn channel(&self, id: &str) -> Option<Channel> {
        self.state.lock().unwrap().channels.get(id).cloned()
    }

    pub fn posts(&self, id: &str) -> Vec<String> {
        self.channel(id).map(|c| c.posts).unwrap_or_default()
    }

    fn call<T>(&self, f: impl FnOnce(&mut State) -> Result<T, ChatError>) -> Result<T, ChatError> {
        let mut s = self.state.lock().unwrap();
        if let Some(e) = s.down.clone().or_else(|| s.failures.pop_front()) {
            return Err(e);
        }
        f(&mut s)
    }
}

fn live<'a>(s: &'a mut State, id: &str) -> Result<&'a mut Channel, ChatError> {
    match s.channels.get_mut(id) {
        Some(c) if c.archived => Err(ChatError::Rejected("is_archived".into())),
        Some(c) => Ok(c),
        None => Err(ChatError::Rejected("channel_not_found".into())),
    }
}

#[async_trait]
impl ChatApi for MemoryChat {
    fn platform(&self) -> Platform {
        self.platform
    }

    async fn open_channel(
        &self,
        name: &str,
        private: bool,
        topic: &str,
    ) -> Result<OpenedChannel, ChatError> {
        self.call(|s| {
            if s.refuse_channels {
                return Err(ChatError::Rejected("restricted_action".into()));
            }
            if s.channels.values().any(|c| c.name == name) {
                return Err(ChatError::NameTaken);
            }
            s.next += 1;
            let id = format!("C{:04}", s.next);
            let ch =
                Channel { name: name.into(), private, topic: topic.into(), ..Default::default() };
            s.channels.insert(id.clone(), ch);
            Ok(OpenedChannel { id, name: name.into() })
        })
    }

    async fn invite(&self, channel: &str, users: &[UserRef]) -> Result<(), ChatError> {
        self.call(|s| {
            let c = live(s, channel)?;
            for u in users {
                if !c.members.contains(&u.id) {
                    c.members.push(u.id.clone());
                }
            }
            Ok(())
        })
    }

    async fn set_topic(&self, channel: &str, topic: &str) -> Result<(), ChatError> {
        self.call(|s| {
            live(s, channel)?.topic = topic.into();
            Ok(())
        })
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
        use std::sync::atomic::Ordering;
        let here = self.state.lock().unwrap().hang_in.take_if(|c| c == channel).is_some();
        if here
            || self
                .hang
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            self.release.notified().await;
        }
        self.call(|s| {
            let c = live(s, channel)?;
            c.posts.push(part.to_string());
            Ok(format!("{}", c.posts.len()))
        })
    }

    async fn pin(&self, channel: &str, message_id: &str) -> Result<(), ChatError> {
        self.call(|s| {
            live(s, channel)?.pins.push(message_id.into());
            Ok(())
        })
    }

    async fn upload(
        &self,
        channel: &str,
        filename: &str,
        _title: &str,
        content: &str,
    ) -> Result<(), ChatError> {
        self.call(|s| {
            live(s, channel)?.files.push((filename.into(), content.into()));
            Ok(())
        })
    }

    async fn archive(&self, channel: &str) -> Result<(), ChatError> {
        self.call(|s| {
            live(s, channel)?.archived = true;
            Ok(())
        })
    }
}
