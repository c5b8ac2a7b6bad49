//! Links to Slack messages, made here from the workspace's address that
//! auth.test gives; Slack's `chat.getPermalink` is asked only while that
//! address is unknown, or for a link this cannot make.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use slack_morphism::prelude::*;

use super::client::SlackChat;

/// After auth.test failed, how long before a link asks it again.
const RETRY_AFTER: Duration = Duration::from_secs(30);
/// How long a link waits for an auth.test someone else is asking.
const WAIT_FOR_ASKED: Duration = Duration::from_secs(1);

/// Who is asking auth.test for the workspace's address, and when next to.
#[derive(Default)]
pub(super) struct Learning {
    state: Mutex<State>,
    answered: Notify,
}

#[derive(Default, Clone, Copy)]
enum State {
    #[default]
    Idle,
    Asking,
    FailedUntil(Instant),
}

/// The one caller asking; however it ends (an answer, a failure, a caller
/// that gave up waiting), the next may ask.
struct Asking<'a> {
    learning: &'a Learning,
    ok: bool,
}

impl Drop for Asking<'_> {
    fn drop(&mut self) {
        let next =
            if self.ok { State::Idle } else { State::FailedUntil(Instant::now() + RETRY_AFTER) };
        *self.learning.state.lock().expect("learning") = next;
        self.learning.answered.notify_waiters();
    }
}

impl Learning {
    /// `Ok` for at most one caller at a time, and not soon after a failure;
    /// else whether someone is asking now.
    fn start(&self) -> Result<Asking<'_>, State> {
        let mut state = self.state.lock().expect("learning");
        match *state {
            State::Asking => Err(State::Asking),
            State::FailedUntil(t) if Instant::now() < t => Err(*state),
            _ => {
                *state = State::Asking;
                Ok(Asking { learning: self, ok: false })
            }
        }
    }
}

impl SlackChat {
    /// Asks auth.test for the workspace's address unless someone is, or it
    /// failed a moment ago; called at start-up so that links are made here.
    pub async fn learn_workspace(&self) {
        if let Ok(mut asking) = self.learning.start() {
            asking.ok = self.me().await.is_ok();
        }
    }

    /// A link to the message (a reply's names its thread too). `None` when
    /// Slack will not give one.
    pub async fn permalink(
        &self,
        channel: &str,
        ts: &str,
        thread_ts: Option<&str>,
    ) -> Option<String> {
        if self.me.get().is_none() {
            // Someone is asking: wait a little for the answer. Else ask,
            // unless it failed a moment ago (then Slack makes the link).
            let answered = self.learning.answered.notified();
            match self.learning.start() {
                Ok(mut asking) => asking.ok = self.me().await.is_ok(),
                Err(State::Asking) => {
                    let _ = tokio::time::timeout(WAIT_FOR_ASKED, answered).await;
                }
                Err(_) => {}
            }
        }
        match self.me.get().and_then(|me| message_link(&me.workspace, channel, ts, thread_ts)) {
            Some(link) => Some(link),
            None => self.asked_permalink(channel, ts).await,
        }
    }

    async fn asked_permalink(&self, channel: &str, ts: &str) -> Option<String> {
        let req = SlackApiChatGetPermalinkRequest::new(channel.into(), SlackTs::new(ts.into()));
        match self.client.open_session(&self.token).chat_get_permalink(&req).await {
            Ok(r) => Some(r.permalink.to_string()),
            Err(e) => {
                tracing::warn!(error = %e, channel, ts, "no permalink for a flagged message");
                None
            }
        }
    }
}

/// The address Slack gives a message (`chat.getPermalink` answers the
/// same): the workspace's, the channel, `p` and the ts without its dot; a
/// reply adds its thread and channel as a query. `None` for an address that
/// is not https, an Enterprise Grid organization's (whose links Slack makes
/// on each workspace's address), or ids that are not Slack's.
fn message_link(
    workspace: &str,
    channel: &str,
    ts: &str,
    thread_ts: Option<&str>,
) -> Option<String> {
    let ts_ok = |t: &str| t.split_once('.').is_some_and(|(s, f)| digits(s) && digits(f));
    let base = workspace.trim_end_matches('/');
    let ok = base.starts_with("https://")
        && !base.ends_with(".enterprise.slack.com")
        && !channel.is_empty()
        && channel.bytes().all(|b| b.is_ascii_alphanumeric())
        && ts_ok(ts)
        && thread_ts.is_none_or(ts_ok);
    if !ok {
        return None;
    }
    let mut link = format!("{base}/archives/{channel}/p{}", ts.replace('.', ""));
    if let Some(thread) = thread_ts.filter(|t| *t != ts) {
        link += &format!("?thread_ts={thread}&cid={channel}");
    }
    Some(link)
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WS: &str = "https://acme.slack.com/";

    #[test]
    fn a_message_link_is_the_channel_and_the_ts_without_its_dot() {
        let link = message_link(WS, "C024BE91L", "1700000000.123456", None);
        assert_eq!(
            link.as_deref(),
            Some("https://acme.slack.com/archives/C024BE91L/p1700000000123456")
        );
    }

    #[test]
    fn a_reply_names_its_thread_and_a_thread_start_does_not() {
        let reply = message_link(WS, "C1", "1700000001.000200", Some("1700000000.000100"));
        assert_eq!(
            reply.as_deref(),
            Some(
                "https://acme.slack.com/archives/C1/p1700000001000200?thread_ts=1700000000.000100&cid=C1"
            )
        );
        let start = message_link(WS, "C1", "1700000000.000100", Some("1700000000.000100"));
        assert_eq!(start.as_deref(), Some("https://acme.slack.com/archives/C1/p1700000000000100"));
    }

    #[test]
    fn ids_that_are_not_slacks_and_grid_organizations_are_left_to_slack_to_link() {
        assert_eq!(message_link(WS, "C1/../x", "1700000000.1", None), None);
        assert_eq!(message_link(WS, "C1", "1700000000", None), None);
        assert_eq!(message_link(WS, "C1", "1.2", Some("1.2&x=y")), None);
        assert_eq!(message_link("http://acme.slack.com/", "C1", "1.2", None), None);
        assert_eq!(message_link("https://acme.enterprise.slack.com/", "C1", "1.2", None), None);
    }

    #[test]
    fn one_caller_at_a_time_asks_and_a_failure_holds_the_next_off() {
        let learning = Learning::default();
        let mut asking = learning.start().ok().expect("the first asks");
        assert!(matches!(learning.start().err(), Some(State::Asking)), "someone is asking");
        asking.ok = false;
        drop(asking);
        assert!(
            matches!(learning.start().err(), Some(State::FailedUntil(_))),
            "too soon after a failure"
        );
        *learning.state.lock().unwrap() =
            State::FailedUntil(Instant::now() - Duration::from_secs(1));
        let mut asking = learning.start().ok().expect("after the pause");
        asking.ok = true;
        drop(asking);
        assert!(learning.start().is_ok(), "asks again only if the address is still unknown");
    }

    #[test]
    fn a_caller_that_gives_up_while_asking_lets_the_next_ask() {
        let learning = Learning::default();
        drop(learning.start().ok().expect("asks"));
        assert!(matches!(learning.start().err(), Some(State::FailedUntil(_))));
    }
}
