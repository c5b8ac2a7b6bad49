//! Timeline flagging: the "Add to timeline" action and the reaction, and the
//! mirroring of edits, deletions and un-flagging. Exactly once per message.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{App, Ctx, Failure, MessageSource, Reply, Step};
use crate::incident::{
    ChannelRef, Flag, FlagVia, FlaggedMessage, Message, MessageKey, TimelineEntry, timeline,
};
use crate::outbox::ChatError;
use crate::store::{Commit, Versioned, Write};

/// Platforms want an answer within 3 seconds: looking a message up gets 2 of
/// them, leaving room for the database.
const LOOK_WITHIN: Duration = Duration::from_secs(2);

impl App {
    /// `ctx.user` flagged a message, by action (the message comes with it) or
    /// reaction (only its key does: the platform is asked for the message,
    /// and the reaction must still be on it). Reactions outside incident
    /// channels are ignored quietly; an action there gets an answer.
    pub(super) async fn flag(
        self: &Arc<Self>,
        ctx: &Ctx,
        key: MessageKey,
        via: FlagVia,
        message: Option<FlaggedMessage>,
    ) -> Reply {
        let (mut msg, source) = match message {
            Some(m) => (m, None),
            None => match self.look(ctx, &key).await {
                Ok(Some((m, source))) => (m, Some(source)),
                Ok(None) => return Reply::done(Message::new()),
                Err(f) => return Reply::from_failure(f, "flag"),
            },
        };
        // Both names at once: a reaction has spent up to two of the
        // platform's three seconds on the look already.
        let mut named = ctx.clone();
        tokio::join!(self.name(&mut named.user), self.name(&mut msg.author));
        let ctx = &named;
        let reply = reply(self.record_flag(ctx, &msg, via).await, "flag");
        // A removal handled while this flag was on its way found nothing to
        // take off: look again now that the flag is recorded. It runs after
        // the answer, so the platform's 3 seconds are not spent on it, and
        // keeps asking until the platform gives a plain answer. With one
        // process on the database only a removal noted here calls for it.
        if let Some(source) = source
            && reply.recorded()
            && (!self.store.one_process() || self.removals.look_again(&key, &ctx.user.id))
        {
            let (app, key) = (self.clone(), key.clone());
            let ctx = Ctx { event_id: None, ..ctx.clone() };
            tokio::spawn(async move {
                for pause in [0, 250, 1_000, 4_000, 15_000] {
                    tokio::time::sleep(Duration::from_millis(pause)).await; // backoff between looks
                    let still =
                        tokio::time::timeout(LOOK_WITHIN, source.reacted(&key, &ctx.user.id));
                    match still.await {
                        Ok(Ok(true)) => return,
                        Ok(Ok(false)) => {
                            app.unflag(&ctx, &key, FlagVia::Reaction).await;
                            return;
                        }
                        _ => {}
                    }
                }
                tracing::warn!(
                    channel = key.channel,
                    "could not check a flagging reaction is still there"
                );
            });
        }
        reply
    }

    /// The message a reaction flags, if it is in an incident channel, still
    /// there, and still carries the reaction.
    async fn look(
        &self,
        ctx: &Ctx,
        key: &MessageKey,
    ) -> Result<Option<(FlaggedMessage, Arc<dyn MessageSource>)>, Failure> {
        let channel = ChannelRef::new(key.platform, key.channel.clone());
        if !self.incident_channels.known(&channel) {
            if self.store.incident_in_channel(&channel).await?.is_none() {
                return Ok(None);
            }
            self.incident_channels.note(&channel);
        }
        let Some(source) = self.sources.get(&key.platform).cloned() else {
            tracing::warn!(platform = %key.platform, "a reaction flag with no way to read the message");
            return Ok(None);
        };
        match tokio::time::timeout(LOOK_WITHIN, source.look(key, &ctx.user.id)).await {
            Err(_) => Err(Failure::Internal(anyhow::anyhow!(
                "fetching the flagged message took longer than {LOOK_WITHIN:?}"
            ))),
            Ok(Err(ChatError::Rejected(why))) => {
                tracing::warn!(
                    why,
                    channel = key.channel,
                    "the platform refused to show the flagged message"
                );
                Ok(None)
            }
            Ok(Err(e)) => {
                Err(Failure::Internal(anyhow::anyhow!("fetching the flagged message: {e}")))
            }
            Ok(Ok(Some(seen))) if seen.reacted => Ok(Some((seen.message, source))),
            // Gone, or the reaction was taken off before this was handled.
            Ok(Ok(_)) => Ok(None),
        }
    }

    async fn record_flag(
        &self,
        ctx: &Ctx,
        msg: &FlaggedMessage,
        via: FlagVia,
    ) -> Result<Message, Failure> {
        self.transact(ctx, || Box::pin(async move {
            let Some((inc, existing)) = self.incident_and_entry(&msg.key).await? else {
                return match via {
                    FlagVia::Reaction => Ok(Step::Done(Message::new())),
                    FlagVia::Action => Err(Failure::user(
                        "that message is not in an incident channel; flag messages in the incident's own channel",
                    )),
                };
            };
            let flag = Flag { user: ctx.user.clone(), via };
            let id = inc.value.id;
            match timeline::flag(&inc.value, existing.as_ref().map(|v| &v.value), msg, flag, self.now())? {
                None => Ok(Step::Done(Message::new().plain(format!("Already on {id}'s timeline.")))),
                Some(entry) => Ok(Step::write(
                    entry_commit(entry, existing),
                    Message::new().plain(format!("Added to {id}'s timeline.")),
                )),
            }
        }))
        .await
    }

    /// `ctx.user` took back their flag (removed the reaction).
    pub(super) async fn unflag(&self, ctx: &Ctx, key: &MessageKey, via: FlagVia) -> Reply {
        if via == FlagVia::Reaction {
            self.removals.note(key, &ctx.user.id);
        }
        let flag = Flag { user: ctx.user.clone(), via };
        let result = self
            .mirror(ctx, key, "Taken off the timeline.", false, |e| {
                timeline::unflag(Some(e), &flag)
            })
            .await;
        reply(result, "unflag")
    }

    /// Every timeline reaction was cleared from a message at once: each
    /// reaction flag is taken back, as if each person had removed theirs.
    pub(super) async fn reactions_cleared(&self, ctx: &Ctx, key: &MessageKey) -> Reply {
        // Before the read: a flag recorded after it was not taken off here.
        self.removals.note_cleared(key);
        let entry = match self.store.entry(key).await {
            Ok(e) => e,
            Err(e) => return Reply::from_failure(e.into(), "reactions cleared"),
        };
        let flaggers = entry
            .into_iter()
            .flat_map(|e| e.value.flags)
            .filter(|f| f.via == FlagVia::Reaction)
            .map(|f| f.user);
        for user in flaggers {
            let each = Ctx { user, event_id: None, ..ctx.clone() };
            let r = self.unflag(&each, key, FlagVia::Reaction).await;
            if !r.recorded() {
                return r;
            }
        }
        Reply::done(Message::new().plain("Taken off the timeline."))
    }

    /// A message was edited at `at`; a flagged one is updated.
    pub(super) async fn message_edited(
        &self,
        ctx: &Ctx,
        key: &MessageKey,
        text: &str,
        at: DateTime<Utc>,
    ) -> Reply {
        let result = self
            .mirror(ctx, key, "Timeline entry updated.", false, |e| {
                timeline::edit(Some(e), text, at)
            })
            .await;
        reply(result, "edit")
    }

    /// A message was deleted; a flagged one is marked deleted, never removed.
    pub(super) async fn message_deleted(
        &self,
        ctx: &Ctx,
        key: &MessageKey,
        at: DateTime<Utc>,
    ) -> Reply {
        let result = self
            .mirror(ctx, key, "Timeline entry marked deleted.", true, |e| {
                timeline::delete(Some(e), at)
            })
            .await;
        reply(result, "delete")
    }

    async fn mirror(
        &self,
        ctx: &Ctx,
        key: &MessageKey,
        done: &str,
        after_close: bool,
        change: impl Fn(&TimelineEntry) -> Option<TimelineEntry> + Sync,
    ) -> Result<Message, Failure> {
        let change = &change;
        self.transact(ctx, || {
            Box::pin(async move {
                let Some(existing) = self.store.entry(key).await? else {
                    return Ok(Step::Done(
                        Message::new().plain("That message is not on a timeline."),
                    ));
                };
                // A closed incident's timeline is frozen; only a deletion is still marked.
                if !after_close {
                    let id = existing.value.incident;
                    if self.store.incident(id).await?.is_some_and(|i| i.value.is_closed()) {
                        return Ok(Step::Done(Message::new().plain(format!(
                            "{id} is closed; its timeline can no longer change."
                        ))));
                    }
                }
                match change(&existing.value) {
                    None => Ok(Step::Done(Message::new().plain("Nothing to change."))),
                    Some(next) => Ok(Step::write(
                        entry_commit(next, Some(existing)),
                        Message::new().plain(done),
                    )),
                }
            })
        })
        .await
    }
}

fn entry_commit(entry: TimelineEntry, existing: Option<Versioned<TimelineEntry>>) -> Commit {
    let write = match existing {
        Some(v) => Write::Update { value: entry, version: v.version },
        None => Write::Insert(entry),
    };
    Commit { entries: vec![write], ..Default::default() }
}

fn reply(result: Result<Message, Failure>, context: &str) -> Reply {
    match result {
        Ok(m) => Reply::done(m),
        Err(f) => Reply::from_failure(f, context),
    }
}
