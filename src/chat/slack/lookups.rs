//! Looking up flagged messages, several with one read when they come
//! together.
//!
//! A flag by reaction names only its message, so each costs a read of Slack.
//! While a read for a channel is under way, the lookups that arrive for that
//! channel wait, and the next read serves them all: one
//! `conversations.history` over the span of their timestamps. What that read
//! lacks (a thread reply, which history leaves out; a deleted message; a
//! span of more messages than one read brings) is then looked up on its own,
//! as a lookup that comes alone always is. Every read starts after the
//! lookups it serves arrived, so none sees its message older than the event
//! that asked for it.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::oneshot;

use super::client::SlackChat;
use super::events::ts_time;
use super::messages::FetchedMessage;
use crate::outbox::ChatError;

/// Messages one read of history brings at most (Slack advises 200 or fewer).
const PAGE: u16 = 200;
/// Lookups one read serves at most; the rest wait for the next read.
const BATCH: usize = 100;
/// How long a read may take. Its callers have given up by then (a flag has
/// two of Slack's three seconds for its look), and the lookups behind it
/// must not wait on a read that hangs.
const READ_WITHIN: Duration = Duration::from_secs(2);

type Answer = Result<Option<FetchedMessage>, ChatError>;
type Waiting = Vec<(String, oneshot::Sender<Answer>)>;

pub struct Lookups {
    chat: Arc<SlackChat>,
    /// By channel, the lookups waiting for its next read. A channel is here
    /// exactly while a task reads for it.
    waiting: Mutex<HashMap<String, Waiting>>,
    counts: Counts,
}

/// What `/metrics` shows of the lookups since start-up.
#[derive(Default)]
struct Counts {
    lookups: AtomicU64,
    /// Reads of a span of history.
    spans: AtomicU64,
    /// Reads of one message.
    singles: AtomicU64,
}

impl Lookups {
    pub fn new(chat: Arc<SlackChat>) -> Arc<Self> {
        Arc::new(Self { chat, waiting: Mutex::default(), counts: Counts::default() })
    }

    /// This process's part in `/metrics`: how many lookups, how many reads
    /// of Slack they took, and how many wait now.
    pub fn metrics(&self, out: &mut String) {
        let waiting: usize = self.lock().values().map(Vec::len).sum();
        let c = &self.counts;
        let (lookups, spans, singles) = (
            c.lookups.load(Ordering::Relaxed),
            c.spans.load(Ordering::Relaxed),
            c.singles.load(Ordering::Relaxed),
        );
        let _ = write!(
            out,
            "# HELP tocsin_slack_flag_lookups_total Messages flagged by reaction that were looked up in Slack.\n\
             # TYPE tocsin_slack_flag_lookups_total counter\ntocsin_slack_flag_lookups_total {lookups}\n\
             # HELP tocsin_slack_flag_reads_total Reads of Slack made for those lookups, by method.\n\
             # TYPE tocsin_slack_flag_reads_total counter\n\
             tocsin_slack_flag_reads_total{{method=\"conversations.history\"}} {spans}\n\
             tocsin_slack_flag_reads_total{{method=\"conversations.replies\"}} {singles}\n\
             # HELP tocsin_slack_flag_lookups_waiting Lookups waiting for the read under way in their channel.\n\
             # TYPE tocsin_slack_flag_lookups_waiting gauge\ntocsin_slack_flag_lookups_waiting {waiting}\n"
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        // Nothing leaves the map half changed: a panic elsewhere cannot spoil it.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The message `ts` of `channel` as Slack shows it now; `None` when it is gone.
    pub async fn fetch(self: &Arc<Self>, channel: &str, ts: &str) -> Answer {
        self.counts.lookups.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let first = {
            let mut waiting = self.lock();
            match waiting.get_mut(channel) {
                Some(queue) => {
                    queue.push((ts.to_string(), tx));
                    false
                }
                None => {
                    waiting.insert(channel.to_string(), vec![(ts.to_string(), tx)]);
                    true
                }
            }
        };
        if first {
            // A task of its own: a caller that gives up strands no one.
            let reader =
                Reader { lookups: self.clone(), channel: channel.to_string(), done: false };
            tokio::spawn(reader.run());
        }
        rx.await.unwrap_or_else(|_| Err(ChatError::Unavailable("the lookup was dropped".into())))
    }
}

/// Reads for one channel until no lookup waits for it.
struct Reader {
    lookups: Arc<Lookups>,
    channel: String,
    /// Whether it took its channel off the map itself.
    done: bool,
}

impl Reader {
    async fn run(mut self) {
        loop {
            let batch: Waiting = {
                let mut waiting = self.lookups.lock();
                let queue = waiting.get_mut(&self.channel).expect("a reader's channel is mapped");
                if queue.is_empty() {
                    waiting.remove(&self.channel);
                    self.done = true;
                    return;
                }
                let n = queue.len().min(BATCH);
                queue.drain(..n).collect()
            };
            self.lookups.serve(&self.channel, batch).await;
        }
    }
}

impl Drop for Reader {
    /// A reader that stops early (its runtime shutting down) takes its
    /// channel off the map, so the next lookup starts a reader again, and
    /// those still waiting hear that it was dropped.
    fn drop(&mut self) {
        if !self.done {
            self.lookups.lock().remove(&self.channel);
        }
    }
}

impl Lookups {
    /// Answers every lookup of `batch`: one read of history over their span
    /// when they name two messages or more, then each one it lacks on its own.
    async fn serve(&self, channel: &str, batch: Waiting) {
        let mut seen = HashMap::new();
        if let Some((oldest, latest)) = span(batch.iter().map(|(ts, _)| ts.as_str())) {
            self.counts.spans.fetch_add(1, Ordering::Relaxed);
            let asked: HashSet<&str> = batch.iter().map(|(ts, _)| ts.as_str()).collect();
            let wanted = |ts: &str| asked.contains(ts);
            match within(self.chat.fetch_span(channel, (oldest, latest), PAGE, wanted)).await {
                Ok(found) => seen = found,
                Err(e) => {
                    for (_, tx) in batch {
                        let _ = tx.send(Err(e.clone())); // its caller may have given up
                    }
                    return;
                }
            }
        }
        // Each message found goes to the first lookup of it; a second lookup
        // of the same message in the batch (rare) reads it on its own.
        join_all(batch.into_iter().map(|(ts, tx)| {
            let known = seen.remove(&ts);
            async move {
                let answer = match known {
                    Some(m) => Ok(Some(m)),
                    None => {
                        self.counts.singles.fetch_add(1, Ordering::Relaxed);
                        within(self.chat.fetch_message(channel, &ts)).await
                    }
                };
                let _ = tx.send(answer); // its caller may have given up
            }
        }))
        .await;
    }
}

/// A read of Slack, failed as unavailable when it takes longer than [`READ_WITHIN`].
async fn within<T>(read: impl Future<Output = Result<T, ChatError>>) -> Result<T, ChatError> {
    tokio::time::timeout(READ_WITHIN, read).await.unwrap_or_else(|_| {
        Err(ChatError::Unavailable(format!("Slack did not answer within {READ_WITHIN:?}")))
    })
}

/// The oldest and the newest of these timestamps, when there are two
/// different ones or more; unreadable ones are left to be looked up alone.
fn span<'a>(stamps: impl Iterator<Item = &'a str>) -> Option<(&'a str, &'a str)> {
    let mut read = stamps.filter_map(|ts| Some((ts_time(ts)?, ts)));
    let first = read.next()?;
    let (oldest, latest) = read.fold((first, first), |(lo, hi), t| (lo.min(t), hi.max(t)));
    (oldest.0 != latest.0).then_some((oldest.1, latest.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_needs_two_different_readable_stamps() {
        let stamps = ["1700000000.000300", "x", "1700000000.000100", "1700000001.000000"];
        assert_eq!(span(stamps.into_iter()), Some(("1700000000.000100", "1700000001.000000")));
        assert_eq!(span(["1700000000.000100", "1700000000.000100"].into_iter()), None);
        assert_eq!(span(["1700000000.000100", "nope"].into_iter()), None);
        assert_eq!(span(std::iter::empty()), None);
    }

    #[test]
    fn stamps_are_ordered_by_time_not_by_text() {
        // "9.5" sorts after "10.1" as text.
        assert_eq!(span(["10.1", "9.5"].into_iter()), Some(("9.5", "10.1")));
    }
}
