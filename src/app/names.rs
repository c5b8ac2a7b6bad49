//! Names for people as they enter the record: a platform that sends only an
//! id (a Slack reaction, a message's author, a mention) is asked once, through
//! its [`MessageSource`](super::MessageSource), and the record keeps both the
//! name, for people to read, and the id, for links and mentions.

use crate::incident::{Change, UserRef};

use super::App;

impl App {
    /// Fills in `user`'s name when it has none and its platform can say.
    pub(super) async fn name(&self, user: &mut UserRef) {
        if user.name.is_some() {
            return;
        }
        if let Some(source) = self.sources.get(&user.platform) {
            user.name = source.name(&user.id).await;
        }
    }

    /// Names everyone a change brings into the record.
    pub(super) async fn name_all(&self, change: &mut Change) {
        let people: Vec<&mut UserRef> = match change {
            Change::AssignRole { user, .. } => vec![user],
            Change::Invite { users, .. } => users.iter_mut().collect(),
            Change::Page { members, .. } => members.iter_mut().collect(),
            Change::FollowUp { owner: Some(owner), .. } => vec![owner],
            _ => Vec::new(),
        };
        // All at once: a team's members cost one lookup's time, not ten.
        futures_util::future::join_all(people.into_iter().map(|u| self.name(u))).await;
    }
}
