//! The console session: reads lines (typed, or a script on stdin), runs
//! `/incident` commands and `:` directives on the real engine, and delivers the
//! bot's posts after each line so the transcript reads in order.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use super::room::Room;
use crate::alerts::{Intake, Kind};
use crate::app::{App, Ctx, Event, Inbound, Outcome, Reply};
use crate::clock::{Clock, ManualClock};
use crate::incident::{ChannelRef, FlagVia, FlaggedMessage, MessageKey, Platform, UserRef};
use crate::outbox::Outbox;

pub const DIRECTIVES: &str = "\
Console commands:
  /incident …        run a tocsin command (try /incident help)
  any other text     post a message in the current channel
  :join CHANNEL      move to a channel (:channels lists them)
  :as NAME           act as another person
  :pin N / :unpin N  add or remove the 📌 reaction on message N (flags it for the timeline)
  :flag N            use the \"Add to timeline\" action on message N
  :edit N TEXT       edit your message N        :delete N   delete your message N
  :clock RFC3339     set the clock (scripts)    :advance 5m move it on (s, m, h)
  :alert KIND BODY   an alert as KIND (alertmanager, grafana, generic) sends it:
                     JSON on the line, or @FILE; [alerts] rules in bot.toml apply
  :help              this list                  :quit       leave
Lines starting with # are comments.";

pub struct Session {
    app: Arc<App>,
    outbox: Outbox,
    room: Room,
    clock: Arc<ManualClock>,
    user: String,
    channel: String,
    /// Scripts echo each command so the transcript shows what ran.
    echo: bool,
    /// Reads `:alert` bodies, when bot.toml has `[alerts]`.
    alerts: Option<Intake>,
}

pub enum Flow {
    Continue,
    Quit,
}

impl Session {
    pub fn new(
        app: Arc<App>,
        outbox: Outbox,
        room: Room,
        clock: Arc<ManualClock>,
        user: &str,
        channel: &str,
        echo: bool,
    ) -> Self {
        Self {
            app,
            outbox,
            room,
            clock,
            user: user.into(),
            channel: channel.trim_start_matches('#').into(),
            echo,
            alerts: None,
        }
    }

    /// Lets `:alert` feed alerts through these rules.
    pub fn with_alerts(mut self, intake: Intake) -> Self {
        self.alerts = Some(intake);
        self
    }

    pub fn prompt(&self) -> String {
        format!("{}@#{}> ", self.user, self.channel)
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            user: UserRef::new(Platform::Console, &self.user),
            channel: ChannelRef::new(Platform::Console, &self.channel),
            event_id: None,
        }
    }

    fn note(&self, text: &str) {
        self.room.say(&format!("! {text}"));
    }

    fn echo_line(&self, line: &str) {
        if self.echo {
            self.room.say(&format!("#{} {}> {line}", self.channel, self.user));
        }
    }

    /// Reads lines until end of input or `:quit`.
    pub async fn run<R: AsyncBufRead + Unpin>(
        mut self,
        input: R,
        interactive: bool,
    ) -> anyhow::Result<()> {
        let mut lines = input.lines();
        loop {
            if interactive {
                use std::io::Write;
                print!("{}", self.prompt());
                std::io::stdout().flush()?;
            }
            let Some(line) = lines.next_line().await? else { break };
            if let Flow::Quit = self.line(&line).await? {
                break;
            }
        }
        self.outbox.drain().await?;
        Ok(())
    }

    /// Handles one line, then delivers whatever it caused.
    pub async fn line(&mut self, line: &str) -> anyhow::Result<Flow> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(Flow::Continue);
        }
        let flow = if let Some(rest) = line.strip_prefix("/incident") {
            self.echo_line(line);
            self.command(rest).await;
            Flow::Continue
        } else if let Some(d) = line.strip_prefix(':') {
            self.echo_line(line);
            self.directive(d).await
        } else {
            self.say(line);
            Flow::Continue
        };
        self.outbox.drain().await?;
        Ok(flow)
    }

    fn say(&self, text: &str) {
        let archived = self.room.update_channel(&self.channel, |c| c.archived).unwrap_or(false);
        if archived {
            self.note(&format!("#{} is archived; :join another channel", self.channel));
            return;
        }
        self.room.post(&self.channel, &self.user, text, self.clock.now());
    }

    async fn command(&mut self, text: &str) {
        let declaring =
            text.split_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case("declare"));
        let reply = self.app.handle(Inbound::command(self.ctx(), text)).await;
        let body = reply.message.to_plain().replace('\n', "\n    ");
        self.room.say(&format!("#{} (only you) tocsin: {body}", self.channel));
        if declaring && reply.outcome == Outcome::Done {
            self.follow_new_incident().await;
        }
    }

    /// After a declare, move into the new channel, as a person would click its link.
    async fn follow_new_incident(&mut self) {
        if let Err(e) = self.outbox.drain().await {
            self.note(&format!("could not deliver yet: {e}"));
            return;
        }
        let me = UserRef::new(Platform::Console, &self.user);
        let Ok(incidents) = self.app.store.incidents(false).await else { return };
        let Some(newest) = incidents.into_iter().find(|i| i.declared_by == me) else { return };
        if let Ok(Some((id, _))) = self.app.store.channel(newest.id, Platform::Console).await {
            self.channel = id;
            self.room.say(&format!("* you are now in #{}", self.channel));
        }
    }

    async fn directive(&mut self, d: &str) -> Flow {
        let (word, rest) = d.split_once(char::is_whitespace).unwrap_or((d, ""));
        let rest = rest.trim();
        match word {
            "quit" | "q" | "exit" => return Flow::Quit,
            "help" => self.room.say(DIRECTIVES),
            "join" => {
                let name = rest.trim_start_matches('#');
                if name.is_empty() {
                    self.note("usage: :join CHANNEL");
                } else {
                    if !self.room.has_channel(name) {
                        self.room.create(name, false, "");
                    }
                    self.channel = name.to_string();
                }
            }
            "as" => {
                let name = rest.trim_start_matches('@');
                let ok = !name.is_empty()
                    && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if ok {
                    self.user = name.to_string();
                } else {
                    self.note("usage: :as NAME (letters, digits, _ - .)");
                }
            }
            "channels" => {
                for (name, c) in self.room.channels() {
                    let mut flags = Vec::new();
                    if c.private {
                        flags.push("private");
                    }
                    if c.archived {
                        flags.push("archived");
                    }
                    self.room.say(&format!("  #{name} {} {}", flags.join(" "), c.topic));
                }
            }
            "pin" | "flag" => {
                let via = if word == "pin" { FlagVia::Reaction } else { FlagVia::Action };
                if let Some((n, m)) = self.numbered(rest) {
                    let key = key(&m.channel, n);
                    let msg = FlaggedMessage {
                        key,
                        author: UserRef::new(Platform::Console, &m.author),
                        text: m.text,
                        at: m.at,
                        link: None,
                        files: Vec::new(),
                    };
                    let event = Event::Flag { key: msg.key.clone(), via, message: Some(msg) };
                    self.event(event).await;
                }
            }
            "unpin" => {
                if let Some((n, m)) = self.numbered(rest) {
                    let event = Event::Unflag { key: key(&m.channel, n), via: FlagVia::Reaction };
                    self.event(event).await;
                }
            }
            "edit" => {
                let (num, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                if text.trim().is_empty() {
                    self.note("usage: :edit N TEXT");
                } else if let Some((n, m)) = self.own(num) {
                    self.room.edit(n, text.trim());
                    self.room.say(&format!("* [{n}] edited: {}", text.trim()));
                    let event = Event::Edited {
                        key: key(&m.channel, n),
                        text: text.trim().to_string(),
                        at: self.clock.now(),
                    };
                    self.event(event).await;
                }
            }
            "delete" => {
                if let Some((n, m)) = self.own(rest) {
                    self.room.delete(n);
                    self.room.say(&format!("* [{n}] deleted"));
                    let event = Event::Deleted { key: key(&m.channel, n), at: self.clock.now() };
                    self.event(event).await;
                }
            }
            "alert" => self.alert(rest).await,
            "clock" => match DateTime::parse_from_rfc3339(rest) {
                Ok(t) => self.clock.set(t.with_timezone(&Utc)),
                Err(e) => self.note(&format!("usage: :clock 2026-11-22T14:00:00Z ({e})")),
            },
            "advance" => {
                match parse_duration(rest).and_then(|d| self.clock.now().checked_add_signed(d)) {
                    Some(until) => self.advance_to(until).await,
                    None => self.note("usage: :advance 90s | 5m | 2h (within the calendar)"),
                }
            }
            other => self.note(&format!("unknown console command :{other}; :help lists them")),
        }
        Flow::Continue
    }

    /// Moves the clock on to `until`, stopping at every reminder due on the
    /// way so that each fires at its time.
    async fn advance_to(&mut self, until: DateTime<Utc>) {
        let mut last = None;
        loop {
            match self.app.next_reminder().await {
                // Due again at the same time: it could not be sent; do not spin.
                Some(due) if due <= until && last != Some(due) => {
                    last = Some(due);
                    self.clock.set(due.max(self.clock.now()));
                    self.app.handle(Inbound::tick()).await;
                    if let Err(e) = self.outbox.drain().await {
                        self.note(&format!("could not deliver yet: {e}"));
                        break;
                    }
                }
                _ => break,
            }
        }
        self.clock.set(until);
    }

    /// `:alert KIND BODY`: the alert through the rules and into the engine.
    async fn alert(&mut self, rest: &str) {
        let Some(intake) = &self.alerts else {
            self.note("bot.toml has no [alerts] section; add one with [[alerts.rules]] to try alerts here");
            return;
        };
        let (word, body) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let (Some(kind), false) = (Kind::parse(word), body.trim().is_empty()) else {
            self.note("usage: :alert alertmanager|grafana|generic JSON (or @FILE)");
            return;
        };
        let body = body.trim();
        let bytes = match body.strip_prefix('@') {
            Some(path) => match std::fs::read(path) {
                Ok(b) => b,
                Err(e) => return self.note(&format!("cannot read {path}: {e}")),
            },
            None => body.as_bytes().to_vec(),
        };
        match intake.read(kind, &bytes, self.clock.now()) {
            Ok(inbound) => {
                let reply = self.app.handle(inbound).await;
                self.room.say(&format!("* {word} alert: {}", reply.message.to_plain()));
            }
            Err(why) => self.note(&format!("the alert was refused: {why}")),
        }
    }

    async fn event(&self, event: Event) {
        let reply = self.app.handle(Inbound::new(self.ctx(), event)).await;
        self.reply(reply);
    }

    fn reply(&self, reply: Reply) {
        let text = reply.message.to_plain();
        if !text.is_empty() {
            self.room.say(&format!("#{} (only you) tocsin: {text}", self.channel));
        }
    }

    fn numbered(&self, s: &str) -> Option<(u64, super::room::RoomMessage)> {
        let n: u64 = match s.trim().trim_start_matches('[').trim_end_matches(']').parse() {
            Ok(n) => n,
            Err(_) => {
                self.note(&format!("\"{s}\" is not a message number"));
                return None;
            }
        };
        match self.room.message(n) {
            Some(m) if !m.deleted => Some((n, m)),
            Some(_) => {
                self.note(&format!("message [{n}] was deleted"));
                None
            }
            None => {
                self.note(&format!("there is no message [{n}]"));
                None
            }
        }
    }

    fn own(&self, s: &str) -> Option<(u64, super::room::RoomMessage)> {
        let (n, m) = self.numbered(s)?;
        if m.author != self.user {
            self.note(&format!("[{n}] is {}'s message; you can only change your own", m.author));
            return None;
        }
        Some((n, m))
    }
}

fn key(channel: &str, n: u64) -> MessageKey {
    MessageKey { platform: Platform::Console, channel: channel.to_string(), message: n.to_string() }
}

/// `90s`, `5m`, `2h`.
pub fn parse_duration(s: &str) -> Option<chrono::Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    match unit {
        "s" => chrono::Duration::try_seconds(n),
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        _ => None,
    }
}
