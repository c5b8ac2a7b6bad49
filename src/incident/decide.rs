//! The state machine: a command against an incident, decided at a given time,
//! gives the new incident, the timeline entries it records, the effects it asks
//! for and the reply for the person who ran it — or a `UserError` and no change.

use chrono::{DateTime, Utc};

use super::Message;
use super::alerting::{page, resolve_pages};
use super::effect::HookEvent;
use super::steps::{
    add_responders, apply_status, broadcast, event, opening_posts, post, require_text, set_topic,
    topic,
};
use super::timeline::{EntryKind, TimelineEntry};
use super::{
    Acknowledgement, Audience, Effect, FollowUp, Incident, IncidentId, Platform, Responder,
    RoleAssignment, Rules, SeverityChange, Status, StatusUpdate, UserError, UserRef, Who,
    channel_name,
};

/// Everything one decision produces; written in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub incident: Incident,
    pub entries: Vec<TimelineEntry>,
    pub effects: Vec<Effect>,
    /// The answer to the person who ran the command (ephemeral where the platform allows).
    pub reply: Message,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declare {
    pub title: String,
    pub severity: Option<String>,
    pub private: bool,
    pub platform: Platform,
}

/// A change to an existing incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Update {
        status: Status,
        message: String,
    },
    Severity {
        level: String,
    },
    AssignRole {
        role: String,
        user: UserRef,
    },
    /// People, and the teams they came with (each team is paged).
    Invite {
        users: Vec<UserRef>,
        teams: Vec<String>,
    },
    /// Page a team's on-call and bring its members in.
    Page {
        team: String,
        members: Vec<UserRef>,
    },
    Note {
        text: String,
    },
    FollowUp {
        text: String,
        owner: Option<UserRef>,
    },
    Resolve {
        message: Option<String>,
    },
    Postmortem,
    Close,
    Acknowledge,
    /// A public message for the status page.
    Publish {
        message: String,
    },
    /// A component's impact on the status page.
    Impact {
        component: String,
        level: String,
    },
}

/// Opens a new incident. The declarer is its first responder and its commander.
pub fn declare(
    rules: &Rules,
    id: IncidentId,
    cmd: Declare,
    by: &UserRef,
    now: DateTime<Utc>,
) -> Result<Decision, UserError> {
    let title = cmd.title.trim().to_string();
    if title.is_empty() {
        return Err(UserError::new("an incident needs a title"));
    }
    if title.chars().count() > 200 {
        return Err(UserError::new(
            "the title is longer than 200 characters; keep it short and put details in an update",
        ));
    }
    let severity = match &cmd.severity {
        Some(s) => rules.severity(s)?,
        None => rules.default_severity.clone(),
    };
    let incident = Incident {
        id,
        title: title.clone(),
        severity: severity.clone(),
        status: Status::Investigating,
        private: cmd.private,
        platform: cmd.platform,
        declared_by: by.clone(),
        declared_at: now,
        roles: vec![RoleAssignment {
            role: "commander".into(),
            user: by.clone(),
            by: by.clone(),
            at: now,
        }],
        responders: vec![Responder { user: by.clone(), added_by: by.clone(), at: now }],
        updates: Vec::new(),
        severity_changes: Vec::new(),
        followups: Vec::new(),
        // A person declared it: they are on it.
        acknowledged: Some(Acknowledgement { by: by.clone(), at: now }),
        mitigated_at: None,
        resolved_at: None,
        closed_at: None,
        reminded: Default::default(),
        origin: None,
        alerts: Vec::new(),
        teams: Vec::new(),
        paged: Vec::new(),
        public: Default::default(),
    };
    let name = channel_name(&rules.channel_prefix, id, &title, cmd.platform.max_channel_name());
    let privacy = if cmd.private { " (private)" } else { "" };
    let mut effects = vec![
        Effect::OpenChannel {
            incident: id,
            platform: cmd.platform,
            name: name.clone(),
            private: cmd.private,
            topic: topic(&incident, rules),
        },
        Effect::Invite { incident: id, platform: cmd.platform, users: vec![by.clone()] },
    ];
    effects.extend(opening_posts(&incident, rules, "declared"));
    effects.push(Effect::Hook { incident: id, event: HookEvent::Declared });
    let entry = TimelineEntry::event(
        id,
        EntryKind::Declared,
        by,
        now,
        format!("Declared {id} ({severity}{privacy}): {title}"),
    );
    Ok(Decision {
        incident,
        entries: vec![entry],
        effects,
        reply: Message::new().plain(format!("Declared {id} ({severity}{privacy}) → #{name}")),
    })
}

/// Checks that `actor` may run a command with the given rule.
pub fn authorize(
    incident: &Incident,
    who: Who,
    actor: &UserRef,
    change: &Change,
) -> Result<(), UserError> {
    let is_responder = incident.is_responder(actor);
    let allowed = match who {
        Who::Anyone => true,
        Who::Responder => is_responder,
        Who::CommanderOrHolder => {
            let role = match change {
                Change::AssignRole { role, .. } => Some(role.as_str()),
                _ => None,
            };
            let commander = incident.holder("commander");
            let holder = role.and_then(|r| incident.holder(r));
            commander == Some(actor)
                || holder == Some(actor)
                || (is_responder && (commander.is_none() || holder.is_none()))
        }
    };
    if allowed {
        return Ok(());
    }
    Err(UserError::new(match who {
        Who::CommanderOrHolder => format!(
            "only the commander or the role's current holder can hand over a role in {}",
            incident.id
        ),
        _ => format!(
            "only responders of {} can do that; ask the commander to invite you",
            incident.id
        ),
    }))
}

/// Decides one change to an existing incident.
pub fn decide(
    incident: &Incident,
    rules: &Rules,
    change: Change,
    by: &UserRef,
    now: DateTime<Utc>,
) -> Result<Decision, UserError> {
    let id = incident.id;
    if incident.is_closed() {
        return Err(UserError::new(format!("{id} is closed; it can no longer change")));
    }
    let mut next = incident.clone();
    let mut d = Decision {
        incident: incident.clone(),
        entries: Vec::new(),
        effects: Vec::new(),
        reply: Message::new(),
    };
    match change {
        Change::Update { status, message } => {
            if status == Status::Closed {
                return Err(UserError::new("use `close` to close an incident"));
            }
            let message = require_text(message, "a status update needs a message")?;
            apply_status(&mut next, status, now);
            next.updates.push(StatusUpdate {
                status,
                message: message.clone(),
                by: by.clone(),
                at: now,
            });
            let text = Message::new()
                .plain(format!("📣 {id} — {}: ", status.title()))
                .text(&message)
                .plain(" (")
                .user(by)
                .plain(")");
            d.entries.push(event(
                id,
                EntryKind::Update,
                by,
                now,
                format!("{}: {message}", status.title()),
            ));
            broadcast(&mut d, id, text, !incident.private);
            if status != incident.status {
                d.effects.push(set_topic(&next, rules));
            }
            if status == Status::Resolved && incident.status != Status::Resolved {
                resolve_pages(&next, &mut d);
                d.effects.push(Effect::Hook { incident: id, event: HookEvent::Resolved });
            } else {
                d.effects.push(Effect::Hook { incident: id, event: HookEvent::Updated });
            }
            d.reply =
                Message::new().plain(format!("Posted the {} update for {id}", status.as_str()));
        }
        Change::Severity { level } => {
            let level = rules.severity(&level)?;
            if level == incident.severity {
                return Err(UserError::new(format!("{id} is already {level}")));
            }
            let from = incident.severity.clone();
            next.severity = level.clone();
            next.severity_changes.push(SeverityChange {
                from: from.clone(),
                to: level.clone(),
                by: by.clone(),
                at: now,
            });
            let word = if rules.rank(&level) < rules.rank(&from) { "raised" } else { "lowered" };
            let text = Message::new()
                .plain(format!("⚠️ {id} severity {word} from {from} to {level} by "))
                .user(by);
            d.entries.push(event(
                id,
                EntryKind::Severity,
                by,
                now,
                format!("Severity {word} from {from} to {level}"),
            ));
            broadcast(&mut d, id, text, !incident.private);
            d.effects.push(set_topic(&next, rules));
            d.effects.push(Effect::Hook { incident: id, event: HookEvent::Severity });
            d.reply = Message::new().plain(format!("{id} is now {level}"));
        }
        Change::AssignRole { role, user } => {
            let def = rules.role(&role)?.clone();
            let previous = incident.holder(&def.key).cloned();
            if previous.as_ref() == Some(&user) {
                return Err(UserError::new(format!(
                    "{} is already the {} of {id}",
                    user.display(),
                    def.name.to_lowercase()
                )));
            }
            next.roles.push(RoleAssignment {
                role: def.key.clone(),
                user: user.clone(),
                by: by.clone(),
                at: now,
            });
            add_responders(&mut next, &mut d, std::slice::from_ref(&user), by, now);
            let mut text =
                Message::new().plain("👤 ").user(&user).plain(format!(" is now {}", def.name));
            let mut record = format!("{} is now {}", user.display(), def.name);
            if let Some(prev) = &previous {
                text = text.plain(" (taking over from ").user(prev).plain(")");
                record.push_str(&format!(", taking over from {}", prev.display()));
            }
            d.entries.push(event(id, EntryKind::Role, by, now, record));
            d.effects.push(post(id, Audience::IncidentChannel, text));
            if def.key == "commander" {
                // Taking command is being on it.
                next.acknowledged.get_or_insert(Acknowledgement { by: user.clone(), at: now });
                d.effects.push(set_topic(&next, rules));
            }
            d.reply = Message::new().user(&user).plain(format!(" is now {} of {id}", def.name));
        }
        Change::Invite { users, teams } => {
            let added = add_responders(&mut next, &mut d, &users, by, now);
            let paged_before = next.paged.len();
            for team in &teams {
                page(&mut next, &mut d, rules, team, by, now);
            }
            if added.is_empty() && next.paged.len() == paged_before {
                return Err(UserError::new(format!(
                    "everyone named is already a responder of {id}"
                )));
            }
            d.reply = Message::new().plain("Invited ").users(&added).plain(format!(" to {id}"));
            if next.paged.len() > paged_before {
                d.reply =
                    d.reply.plain(format!("; paged {}", next.paged[paged_before..].join(", ")));
            }
        }
        Change::Page { team, members } => {
            if !rules.pageable_teams.contains(&team) {
                return Err(UserError::new(format!(
                    "{team} has no pager: give it a pagerduty_routing_key or an opsgenie_api_key \
                     in bot.toml, or bring its members in with /incident invite {team}"
                )));
            }
            if next.paged.iter().any(|t| t == &team) {
                return Err(UserError::new(format!(
                    "{team} is already paged for {id}; their page resolves when {id} does"
                )));
            }
            add_responders(&mut next, &mut d, &members, by, now);
            page(&mut next, &mut d, rules, &team, by, now);
            d.effects.push(post(
                id,
                Audience::IncidentChannel,
                Message::new().plain(format!("📟 Paging {team}'s on-call (")).user(by).plain(")"),
            ));
            d.reply = Message::new().plain(format!("Paged {team} for {id}"));
        }
        Change::Note { text } => {
            let text = require_text(text, "a note needs text")?;
            d.entries.push(event(id, EntryKind::Note, by, now, text.clone()));
            d.effects.push(post(
                id,
                Audience::IncidentChannel,
                Message::new().plain("📝 Note from ").user(by).plain(": ").text(&text),
            ));
            d.reply = Message::new().plain(format!("Noted on {id}'s timeline"));
        }
        Change::FollowUp { text, owner } => {
            let text = require_text(text, "a follow-up needs text")?;
            let number = next.followups.len() as u32 + 1;
            next.followups.push(FollowUp {
                number,
                text: text.clone(),
                owner: owner.clone(),
                by: by.clone(),
                at: now,
            });
            let mut msg = Message::new().plain(format!("✅ Follow-up #{number}: ")).text(&text);
            let mut record = format!("Follow-up #{number}: {text}");
            if let Some(o) = &owner {
                msg = msg.plain(" — owner ").user(o);
                record.push_str(&format!(" (owner {})", o.display()));
            }
            d.entries.push(event(id, EntryKind::FollowUp, by, now, record));
            d.effects.push(post(id, Audience::IncidentChannel, msg));
            d.reply = Message::new().plain(format!("Added follow-up #{number} to {id}"));
        }
        Change::Resolve { message } => {
            if incident.status == Status::Resolved {
                return Err(UserError::new(format!("{id} is already resolved")));
            }
            let message = message.map(|m| m.trim().to_string()).filter(|m| !m.is_empty());
            apply_status(&mut next, Status::Resolved, now);
            let said = message.clone().unwrap_or_else(|| "Resolved.".into());
            next.updates.push(StatusUpdate {
                status: Status::Resolved,
                message: said.clone(),
                by: by.clone(),
                at: now,
            });
            let text = Message::new()
                .plain(format!("✅ {id} resolved by "))
                .user(by)
                .plain(": ")
                .text(&said);
            d.entries.push(event(id, EntryKind::Resolved, by, now, format!("Resolved: {said}")));
            broadcast(&mut d, id, text, !incident.private);
            d.effects.push(set_topic(&next, rules));
            resolve_pages(&next, &mut d);
            d.effects.push(Effect::Hook { incident: id, event: HookEvent::Resolved });
            d.reply = Message::new()
                .plain(format!("Resolved {id}. Run `postmortem` for the draft, then `close`."));
        }
        Change::Acknowledge => {
            if let Some(a) = &incident.acknowledged {
                return Err(UserError::new(format!(
                    "{id} was acknowledged by {} at {}",
                    a.by.display(),
                    a.at.format("%H:%M UTC")
                )));
            }
            next.acknowledged = Some(Acknowledgement { by: by.clone(), at: now });
            add_responders(&mut next, &mut d, std::slice::from_ref(by), by, now);
            d.entries.push(event(id, EntryKind::Acknowledged, by, now, "Acknowledged"));
            d.effects.push(post(
                id,
                Audience::IncidentChannel,
                Message::new().plain(format!("👍 {id} acknowledged by ")).user(by),
            ));
            d.reply = Message::new().plain(format!("Acknowledged {id}: you are on it."));
        }
        Change::Publish { message } => {
            super::public::publish(&mut next, rules, message, by, now, &mut d)?;
        }
        Change::Impact { component, level } => {
            super::public::impact(&mut next, rules, &component, &level, by, now, &mut d)?;
        }
        Change::Postmortem => {
            d.effects.push(Effect::PublishPostmortem { incident: id, platform: incident.platform });
            d.reply = Message::new()
                .plain(format!("Drafting the postmortem for {id}; it will be posted in "))
                .channel(id);
        }
        Change::Close => {
            if incident.status != Status::Resolved {
                return Err(UserError::new(format!(
                    "{id} is still {}; resolve it before closing",
                    incident.status
                )));
            }
            next.status = Status::Closed;
            next.closed_at = Some(now);
            d.entries.push(event(id, EntryKind::Closed, by, now, "Closed"));
            d.effects.push(post(
                id,
                Audience::IncidentChannel,
                Message::new()
                    .plain(format!("🔒 {id} closed by "))
                    .user(by)
                    .plain("; this channel is archived."),
            ));
            d.effects.push(Effect::ArchiveChannel { incident: id, platform: incident.platform });
            d.effects.push(Effect::Hook { incident: id, event: HookEvent::Closed });
            d.reply = Message::new().plain(format!("Closed {id}; its channel will be archived"));
        }
    }
    d.incident = next;
    Ok(d)
}
