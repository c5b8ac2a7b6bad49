//! Handlers that write something other than a change to one incident:
//! declaring an incident, and a channel's subscriptions.

use crate::command::Args;
use crate::incident::{self, Declare, Message, Scope, Subscription, subscription};
use crate::store::{Commit, SubscriptionChange, Write};

use super::super::{App, Ctx, Failure, Step};
use super::need;

pub(super) async fn declare(app: &App, ctx: &Ctx, mut args: Args) -> Result<Message, Failure> {
    let cmd = Declare {
        title: need(args.text("title"))?,
        severity: args.text("severity"),
        private: args.flag("private"),
        platform: ctx.channel.platform,
    };
    let cmd = &cmd;
    app.transact(ctx, || {
        Box::pin(async move {
            let id = app.store.next_incident_id().await?;
            let d = incident::declare(&app.rules, id, cmd.clone(), &ctx.user, app.now())?;
            let outbox = app.outbox_items(&d.incident, d.effects).await?;
            let commit = Commit {
                incident: Some(Write::Insert(d.incident)),
                entries: d.entries.into_iter().map(Write::Insert).collect(),
                outbox,
                ..Default::default()
            };
            Ok(Step::write(commit, d.reply))
        })
    })
    .await
}

pub(super) async fn subscribe(app: &App, ctx: &Ctx, mut args: Args) -> Result<Message, Failure> {
    let (incident, min) = (args.incident("incident"), args.text("min_severity"));
    let min = &min;
    app.transact(ctx, || {
        Box::pin(async move {
            let named = match incident {
                // A private incident does not exist for those outside it.
                Some(id) => Some(
                    app.store
                        .incident(id)
                        .await?
                        .map(|v| v.value)
                        .filter(|i| !i.private || i.is_responder(&ctx.user))
                        .ok_or_else(|| Failure::user(format!("there is no {id}")))?,
                ),
                None => None,
            };
            let home = app.store.incident_in_channel(&ctx.channel).await?.map(|v| v.value);
            let sub = subscription::subscribe(
                &app.rules,
                &ctx.channel,
                named.as_ref(),
                home.as_ref(),
                min.as_deref(),
                &ctx.user,
                app.now(),
            )?;
            let mut changes = Vec::new();
            // A channel has one severity filter: a new one replaces the old.
            if let Scope::AtLeast(_) = sub.scope {
                for old in channel_subscriptions(app, ctx).await? {
                    if matches!(old.scope, Scope::AtLeast(_)) && old.scope != sub.scope {
                        changes.push(SubscriptionChange::Remove {
                            channel: old.channel,
                            scope: old.scope,
                        });
                    }
                }
            }
            let reply = match &sub.scope {
                Scope::Incident(id) => format!("This channel now follows {id}'s status updates."),
                Scope::AtLeast(sev) => {
                    format!("This channel now follows every public incident at {sev} or above.")
                }
            };
            changes.push(SubscriptionChange::Add(sub));
            Ok(Step::write(
                Commit { subscriptions: changes, ..Default::default() },
                Message::new().plain(reply),
            ))
        })
    })
    .await
}

pub(super) async fn unsubscribe(app: &App, ctx: &Ctx, mut args: Args) -> Result<Message, Failure> {
    let incident = args.incident("incident");
    app.transact(ctx, || {
        Box::pin(async move {
            let subs = channel_subscriptions(app, ctx).await?;
            let gone: Vec<Subscription> = subs
                .into_iter()
                .filter(|s| match incident {
                    Some(id) => s.scope == Scope::Incident(id),
                    None => matches!(s.scope, Scope::AtLeast(_)),
                })
                .collect();
            if gone.is_empty() {
                return Err(Failure::user(match incident {
                    Some(id) => format!("this channel does not follow {id}"),
                    None => "this channel does not follow incidents by severity; name the incident to stop following it".into(),
                }));
            }
            let reply = match incident {
                Some(id) => format!("This channel no longer follows {id}."),
                None => "This channel no longer follows incidents by severity.".into(),
            };
            let changes = gone
                .into_iter()
                .map(|s| SubscriptionChange::Remove { channel: s.channel, scope: s.scope })
                .collect();
            Ok(Step::write(
                Commit { subscriptions: changes, ..Default::default() },
                Message::new().plain(reply),
            ))
        })
    })
    .await
}

async fn channel_subscriptions(app: &App, ctx: &Ctx) -> Result<Vec<Subscription>, Failure> {
    Ok(app.store.subscriptions().await?.into_iter().filter(|s| s.channel == ctx.channel).collect())
}
