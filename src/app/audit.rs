//! What the audit log says of a commit: who, what kind of change, to which
//! incident, and the kinds and message ids of the entries it wrote — never
//! what a message said, so that deleting a message or purging an incident
//! leaves none of its text behind.

use super::Ctx;
use crate::store::{Audit, Commit, SubscriptionChange, Write};

const MAX_DETAIL: usize = 500;

pub(super) fn of(ctx: &Ctx, c: &Commit, at: chrono::DateTime<chrono::Utc>) -> Audit {
    let incident = c.incident_id();
    let entries: Vec<_> = c
        .entries
        .iter()
        .map(|e| match e {
            Write::Insert(e) | Write::Update { value: e, .. } => e,
        })
        .collect();
    let action = if matches!(c.incident, Some(Write::Insert(_))) {
        "declare".to_string()
    } else if let Some(e) = entries.first() {
        e.kind.as_str().to_string()
    } else if let Some(s) = c.subscriptions.first() {
        match s {
            SubscriptionChange::Add(_) => "subscribe".into(),
            SubscriptionChange::Remove { .. } => "unsubscribe".into(),
        }
    } else {
        "change".into()
    };
    let mut parts: Vec<String> = entries
        .iter()
        .map(|e| match &e.key {
            Some(k) => format!(
                "{} {}:{}/{} ({})",
                e.kind.as_str(),
                k.platform,
                k.channel,
                k.message,
                e.state.as_str()
            ),
            None => e.kind.as_str().to_string(),
        })
        .collect();
    for s in &c.subscriptions {
        parts.push(match s {
            SubscriptionChange::Add(sub) => {
                format!("{}:{} follows {}", sub.channel.platform, sub.channel.id, sub.scope.key())
            }
            SubscriptionChange::Remove { channel, scope } => {
                format!("{}:{} stops following {}", channel.platform, channel.id, scope.key())
            }
        });
    }
    let mut detail = parts.join("; ");
    if let Some((cut, _)) = detail.char_indices().nth(MAX_DETAIL) {
        detail.truncate(cut);
        detail.push('…');
    }
    Audit { at, actor: format!("{}:{}", ctx.user.platform, ctx.user.id), action, incident, detail }
}
