//! Alert notifications: added to the open incident of their group, or
//! opening one when a rule matched and something fires. Counted, so that
//! `/metrics` shows alerts no rule took.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{AlertMatch, App, Ctx, Failure, Handled, Reply, Step};
use crate::incident::alerting::{self, AlertBatch, AlertStatus, Opening};
use crate::incident::{Message, UserRef};
use crate::store::{AlertGroup, Commit, Write};

/// What became of alert notifications, since this process started.
#[derive(Debug, Default)]
pub struct AlertCounts {
    pub received: AtomicU64,
    /// Incidents opened.
    pub opened: AtomicU64,
    /// Notifications with something firing that no rule matched.
    pub unmatched: AtomicU64,
}

impl AlertCounts {
    /// Lines for `/metrics`.
    pub fn metrics(&self, out: &mut String) {
        for (name, help, v) in [
            ("tocsin_alerts_received_total", "Alert notifications received.", &self.received),
            ("tocsin_alerts_opened_total", "Incidents opened by alerts.", &self.opened),
            (
                "tocsin_alerts_unmatched_total",
                "Alert notifications no rule matched (accepted, nothing declared).",
                &self.unmatched,
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                v.load(Ordering::Relaxed)
            ));
        }
    }
}

#[derive(Clone, Copy)]
enum Outcome {
    Opened,
    Unmatched,
    Other,
}

impl App {
    pub(super) async fn alert(
        &self,
        ctx: &Ctx,
        batch: AlertBatch,
        rule: Option<AlertMatch>,
    ) -> Reply {
        self.alert_counts.received.fetch_add(1, Ordering::Relaxed);
        let outcome = std::sync::Mutex::new(Outcome::Other);
        let (batch, rule, outcome_ref) = (&batch, &rule, &outcome);
        let result = self
            .transact_telling(ctx, || {
                Box::pin(async move {
                    *outcome_ref.lock().expect("outcome") = Outcome::Other;
                    let group = self.store.alert_group(&batch.source, &batch.group).await?;
                    if let Some(id) = group
                        && let Some(v) = self.store.incident(id).await?
                        && v.value.status.is_open()
                    {
                        let Some(d) = alerting::absorb(&v.value, batch, self.now()) else {
                            return Ok(Step::Done(
                                Message::new().plain(format!("Nothing new for {id}.")),
                            ));
                        };
                        let outbox = self.outbox_items(&d.incident, d.effects).await?;
                        let commit = Commit {
                            incident: Some(Write::Update { value: d.incident, version: v.version }),
                            entries: d.entries.into_iter().map(Write::Insert).collect(),
                            outbox,
                            ..Default::default()
                        };
                        return Ok(Step::write(commit, d.reply));
                    }
                    if !batch.alerts.iter().any(|a| a.status == AlertStatus::Firing) {
                        return Ok(Step::Done(
                            Message::new()
                                .plain("Nothing firing, and no open incident for this group."),
                        ));
                    }
                    let Some(rule) = rule else {
                        *outcome_ref.lock().expect("outcome") = Outcome::Unmatched;
                        return Ok(Step::Done(
                            Message::new().plain("No rule matched; nothing declared."),
                        ));
                    };
                    let platform = self.alerts_platform.ok_or_else(|| {
                        Failure::Internal(anyhow::anyhow!(
                            "an alert arrived with no alert platform configured"
                        ))
                    })?;
                    let mut teams = Vec::new();
                    for team in &rule.teams {
                        let members: Vec<UserRef> =
                            self.team_members(team, platform).unwrap_or_default();
                        teams.push((team.clone(), members));
                    }
                    let opening = Opening {
                        rule: rule.rule.clone(),
                        severity: rule
                            .severity
                            .clone()
                            .unwrap_or_else(|| self.rules.default_severity.clone()),
                        title: rule.title.clone(),
                        private: rule.private,
                        teams,
                    };
                    let id = self.store.next_incident_id().await?;
                    let d = alerting::open(&self.rules, id, batch, &opening, platform, self.now())?;
                    let outbox = self.outbox_items(&d.incident, d.effects).await?;
                    let commit = Commit {
                        incident: Some(Write::Insert(d.incident)),
                        entries: d.entries.into_iter().map(Write::Insert).collect(),
                        outbox,
                        alert_group: Some(AlertGroup {
                            source: batch.source.clone(),
                            group: batch.group.clone(),
                            incident: id,
                            previous: group,
                        }),
                        ..Default::default()
                    };
                    *outcome_ref.lock().expect("outcome") = Outcome::Opened;
                    Ok(Step::write(commit, d.reply))
                })
            })
            .await;
        match result {
            Ok((m, handled)) => {
                // Counted once: a repeat of the same notification is not.
                match (*outcome.lock().expect("outcome"), handled) {
                    (Outcome::Opened, Handled::Wrote) => {
                        self.alert_counts.opened.fetch_add(1, Ordering::Relaxed)
                    }
                    (Outcome::Unmatched, Handled::Nothing) => {
                        self.alert_counts.unmatched.fetch_add(1, Ordering::Relaxed)
                    }
                    _ => 0,
                };
                Reply::done(m)
            }
            Err(f) => Reply::from_failure(f, "alert"),
        }
    }
}
