//! Timeline flagging: the "Add to timeline" action and the reaction, and the
//! mirroring of edits, deletions and un-flagging. Exactly once per message.

use chrono::{DateTime, Utc};

use super::{App, Ctx, Failure, Reply, Step};
use crate::chat::Message;
use crate::incident::{
    ChannelRef, Flag, FlagVia, FlaggedMessage, MessageKey, TimelineEntry, timeline,
};
use crate::store::{Commit, Versioned, Write};

impl App {
    /// `ctx.user` flagged `msg` (by action or reaction). Reactions outside
    /// incident channels are ignored quietly; an action there gets an answer.
    pub async fn flag(&self, ctx: &Ctx, msg: FlaggedMessage, via: FlagVia) -> Reply {
        let msg = &msg;
        let result = self
            .transact(ctx, || Box::pin(async move {
                let channel = ChannelRef::new(msg.key.platform, msg.key.channel.clone());
                let Some(inc) = self.store.incident_in_channel(&channel).await? else {
                    return match via {
                        FlagVia::Reaction => Ok(Step::Done(Message::new())),
                        FlagVia::Action => Err(Failure::user(
                            "that message is not in an incident channel; flag messages in the incident's own channel",
                        )),
                    };
                };
                let existing = self.store.entry(&msg.key).await?;
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
            .await;
        reply(result, "flag")
    }

    /// `ctx.user` took back their flag (removed the reaction).
    pub async fn unflag(&self, ctx: &Ctx, key: &MessageKey, via: FlagVia) -> Reply {
        let flag = Flag { user: ctx.user.clone(), via };
        let result = self
            .mirror(ctx, key, "Taken off the timeline.", false, |e| {
                timeline::unflag(Some(e), &flag)
            })
            .await;
        reply(result, "unflag")
    }

    /// A message was edited; a flagged one is updated.
    pub async fn message_edited(
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
    pub async fn message_deleted(&self, ctx: &Ctx, key: &MessageKey, at: DateTime<Utc>) -> Reply {
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
