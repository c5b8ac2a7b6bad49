//! What the audit log says of a commit: who, what kind of change, to which
//! incident, in the words of the timeline entries it wrote.

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
    let mut detail = entries.iter().map(|e| e.text.as_str()).collect::<Vec<_>>().join("; ");
    if let Some((cut, _)) = detail.char_indices().nth(MAX_DETAIL) {
        detail.truncate(cut);
        detail.push('…');
    }
    Audit { at, actor: format!("{}:{}", ctx.user.platform, ctx.user.id), action, incident, detail }
}
