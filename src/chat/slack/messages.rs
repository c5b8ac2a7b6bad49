//! Reading messages back from Slack: one by its ts, or a span of a channel's
//! history, as the timeline needs them.

use std::collections::HashMap;

use serde::Deserialize;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::SLACK_TIER3_METHOD_CONFIG;

use super::client::{SlackChat, classify};
use crate::outbox::ChatError;

/// A message as Slack shows it now, for the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMessage {
    pub user: String,
    /// The thread's first message, when this one is in a thread.
    pub thread_ts: Option<String>,
    pub text: String,
    /// Links to the files attached to it.
    pub files: Vec<String>,
    /// Its reactions now: (name, who reacted).
    pub reactions: Vec<(String, Vec<String>)>,
}

impl FetchedMessage {
    /// Whether `user` has `reaction` on the message right now.
    pub fn has_reaction(&self, reaction: &str, user: &str) -> bool {
        self.reactions
            .iter()
            .any(|(name, users)| name == reaction && users.iter().any(|u| u == user))
    }

    fn from_slack(m: Seen) -> Self {
        let files = m
            .files
            .unwrap_or_default()
            .into_iter()
            .filter_map(|f| nonempty(f.permalink).or(nonempty(f.url_private)))
            .collect();
        let reactions = m
            .reactions
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.name, r.users.unwrap_or_default()))
            .collect();
        Self {
            user: m.user.unwrap_or_default(),
            thread_ts: m.thread_ts,
            text: super::events::unescape(&m.text.unwrap_or_default()),
            files,
            reactions,
        }
    }
}

/// What tocsin reads of a page of `conversations.history` or
/// `conversations.replies`: the fields the timeline uses and no others.
/// slack-morphism's own message model (`SlackHistoryMessage`) is built of
/// flattened structs, which serde parses by buffering every field of every
/// message first; read that way, the page of a batch of flags cost about a
/// fifteenth of all the instructions a flag takes. The request still goes
/// through slack-morphism's client (its connector, its errors, its limits).
/// The list of messages is required, as it was there: a reply without one
/// (an empty body reads as `{}`) is unreadable, so the read is tried again,
/// never taken for "the message is gone", which would take a flag off.
#[derive(Deserialize)]
struct Page {
    messages: Vec<Seen>,
}

#[derive(Deserialize)]
struct Seen {
    ts: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    thread_ts: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    files: Option<Vec<SeenFile>>,
    #[serde(default)]
    reactions: Option<Vec<SeenReaction>>,
}

#[derive(Deserialize)]
struct SeenFile {
    #[serde(default)]
    permalink: Option<String>,
    #[serde(default)]
    url_private: Option<String>,
}

#[derive(Deserialize)]
struct SeenReaction {
    name: String,
    #[serde(default)]
    users: Option<Vec<String>>,
}

/// A link Slack gave, unless it gave an empty one.
fn nonempty(link: Option<String>) -> Option<String> {
    link.filter(|l| !l.is_empty())
}

impl SlackChat {
    /// Fetches one message by its ts; thread replies too (`conversations.replies`
    /// narrowed to that ts). `Ok(None)` when Slack has no such message.
    pub async fn fetch_message(
        &self,
        channel: &str,
        ts: &str,
    ) -> Result<Option<FetchedMessage>, ChatError> {
        let params = vec![
            ("channel", Some(channel)),
            ("ts", Some(ts)),
            ("limit", Some("1")),
            ("inclusive", Some("true")),
            ("latest", Some(ts)),
            ("oldest", Some(ts)),
        ];
        let found = match self.page("conversations.replies", params).await {
            Ok(found) => found,
            Err(SlackClientError::ApiError(e))
                if e.code == "thread_not_found" || e.code == "message_not_found" =>
            {
                return Ok(None);
            }
            Err(e) => return Err(classify(e)),
        };
        Ok(found.messages.into_iter().find(|m| m.ts == ts).map(FetchedMessage::from_slack))
    }

    /// Those of the channel's messages from `oldest` to `latest`, both
    /// included, whose ts is `wanted`, by ts; Slack is asked for at most
    /// `limit`, the newest first when there are more (`conversations.history`).
    /// Thread replies are not among them, except those also sent to the
    /// channel: Slack's history leaves them out.
    pub async fn fetch_span(
        &self,
        channel: &str,
        (oldest, latest): (&str, &str),
        limit: u16,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<HashMap<String, FetchedMessage>, ChatError> {
        let limit = limit.to_string();
        let params = vec![
            ("channel", Some(channel)),
            ("limit", Some(limit.as_str())),
            ("inclusive", Some("true")),
            ("latest", Some(latest)),
            ("oldest", Some(oldest)),
        ];
        let page = self.page("conversations.history", params).await.map_err(classify)?;
        Ok(page
            .messages
            .into_iter()
            .filter(|m| wanted(&m.ts))
            .map(|m| (m.ts.clone(), FetchedMessage::from_slack(m)))
            .collect())
    }

    /// One page of `method` (a tier 3 read), through slack-morphism's client.
    async fn page(
        &self,
        method: &str,
        params: Vec<(&str, Option<&str>)>,
    ) -> Result<Page, SlackClientError> {
        let session = self.client.open_session(&self.token);
        session.http_session_api.http_get(method, &params, Some(&SLACK_TIER3_METHOD_CONFIG)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(json: &str) -> Vec<FetchedMessage> {
        let page: Page = serde_json::from_str(json).expect("a page that parses");
        page.messages.into_iter().map(FetchedMessage::from_slack).collect()
    }

    #[test]
    fn a_page_keeps_what_the_timeline_uses_and_ignores_the_rest() {
        let found = page(
            r#"{"ok": true, "has_more": false, "messages": [{
                "type": "message", "ts": "1700000000.000100", "user": "UBOB",
                "thread_ts": "1700000000.000001", "text": "rollback &amp; retry &lt;soon&gt;",
                "blocks": [{"type": "rich_text", "elements": []}],
                "files": [
                    {"id": "F1", "permalink": "https://x.slack.com/files/F1", "url_private": "https://files.slack.com/F1"},
                    {"id": "F2", "url_private": "https://files.slack.com/F2"},
                    {"id": "F3"}
                ],
                "reactions": [{"name": "pushpin", "count": 2, "users": ["UCAROL", "UDAVE"]}, {"name": "eyes", "count": 1}]
            }]}"#,
        );
        let want = FetchedMessage {
            user: "UBOB".into(),
            thread_ts: Some("1700000000.000001".into()),
            text: "rollback & retry <soon>".into(),
            files: vec!["https://x.slack.com/files/F1".into(), "https://files.slack.com/F2".into()],
            reactions: vec![
                ("pushpin".into(), vec!["UCAROL".into(), "UDAVE".into()]),
                ("eyes".into(), vec![]),
            ],
        };
        assert_eq!(found, vec![want]);
        assert!(found[0].has_reaction("pushpin", "UDAVE"));
        assert!(!found[0].has_reaction("eyes", "UDAVE"));
    }

    #[test]
    fn absent_or_null_fields_read_as_empty() {
        let found = page(
            r#"{"ok": true, "messages": [
                {"ts": "1.000001"},
                {"ts": "1.000002", "user": null, "text": null, "files": null, "reactions": null, "thread_ts": null}
            ]}"#,
        );
        let empty = FetchedMessage {
            user: String::new(),
            thread_ts: None,
            text: String::new(),
            files: vec![],
            reactions: vec![],
        };
        assert_eq!(found, vec![empty.clone(), empty]);
        assert!(page(r#"{"ok": true, "messages": []}"#).is_empty());
    }

    #[test]
    fn a_reply_without_its_list_of_messages_is_unreadable_not_empty() {
        // An empty 200 or 204 reaches the page as "{}": taken for an empty
        // page, it would say a flagged message is gone and take its flag off.
        for body in [r#"{}"#, r#"{"ok": true}"#, r#"{"ok": true, "messages": null}"#] {
            assert!(serde_json::from_str::<Page>(body).is_err(), "{body}");
        }
        assert!(serde_json::from_str::<Page>(r#"{"messages": [{"text": "no ts"}]}"#).is_err());
    }

    #[test]
    fn an_empty_link_gives_way_to_the_other() {
        let found = page(
            r#"{"messages": [{"ts": "1.1", "files": [{"permalink": "", "url_private": "https://files.slack.com/F1"}, {"permalink": "", "url_private": ""}]}]}"#,
        );
        assert_eq!(found[0].files, vec!["https://files.slack.com/F1".to_string()]);
    }
}
