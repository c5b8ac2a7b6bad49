//! The neutral message model: what the bot says, before a platform renders it.
//!
//! A message is a list of spans. Text typed by users travels as
//! [`Span::Text`] and is escaped by every renderer, so nobody can inject
//! `<!channel>`, `@everyone` or a role ping through a title or a note.

use serde::{Deserialize, Serialize};

use super::{IncidentId, UserRef};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Span {
    /// The bot's own wording; trusted, not escaped.
    Plain(String),
    /// Text that came from a user; always escaped when rendered.
    Text(String),
    /// Emphasised user text (escaped).
    Strong(String),
    /// A mention of a user.
    User(UserRef),
    /// A link to an incident's channel on the platform the message goes to;
    /// resolved to [`Span::Channel`] (or the incident's label) before rendering.
    IncidentChannel(IncidentId),
    /// A resolved channel link.
    Channel { id: String, name: String },
    /// A line break.
    Break,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub spans: Vec<Span>,
}

impl Message {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn plain(mut self, s: impl Into<String>) -> Self {
        self.spans.push(Span::Plain(s.into()));
        self
    }

    pub fn text(mut self, s: impl Into<String>) -> Self {
        self.spans.push(Span::Text(s.into()));
        self
    }

    pub fn strong(mut self, s: impl Into<String>) -> Self {
        self.spans.push(Span::Strong(s.into()));
        self
    }

    pub fn user(mut self, u: &UserRef) -> Self {
        self.spans.push(Span::User(u.clone()));
        self
    }

    pub fn users(mut self, us: &[UserRef]) -> Self {
        for (i, u) in us.iter().enumerate() {
            if i > 0 {
                self.spans.push(Span::Plain(", ".into()));
            }
            self.spans.push(Span::User(u.clone()));
        }
        self
    }

    pub fn channel(mut self, id: IncidentId) -> Self {
        self.spans.push(Span::IncidentChannel(id));
        self
    }

    pub fn line(mut self) -> Self {
        self.spans.push(Span::Break);
        self
    }

    /// Renders through a platform's dialect.
    pub fn render(&self, d: &impl Dialect) -> String {
        let mut out = String::new();
        for span in &self.spans {
            match span {
                Span::Plain(s) => out.push_str(s),
                Span::Text(s) => out.push_str(&d.escape(s)),
                Span::Strong(s) => d.strong(&d.escape(s), &mut out),
                Span::User(u) => d.user(u, &mut out),
                Span::Channel { id, name } => d.channel(id, name, &mut out),
                Span::IncidentChannel(id) => out.push_str(&id.label()),
                Span::Break => out.push('\n'),
            }
        }
        out
    }

    /// A plain-text rendering with users by name; used by the console, logs and tests.
    pub fn to_plain(&self) -> String {
        let mut out = String::new();
        for span in &self.spans {
            match span {
                Span::Plain(s) | Span::Text(s) => out.push_str(s),
                Span::Strong(s) => {
                    out.push('*');
                    out.push_str(s);
                    out.push('*');
                }
                Span::User(u) => {
                    out.push('@');
                    out.push_str(u.display());
                }
                Span::IncidentChannel(id) => out.push_str(&id.label()),
                Span::Channel { name, .. } => {
                    out.push('#');
                    out.push_str(name);
                }
                Span::Break => out.push('\n'),
            }
        }
        out
    }
}

/// How one platform writes the pieces of a message.
pub trait Dialect {
    /// Makes user text inert (no mentions, no control sequences).
    fn escape(&self, s: &str) -> String;
    /// Emphasis around already-escaped text.
    fn strong(&self, escaped: &str, out: &mut String);
    fn user(&self, u: &UserRef, out: &mut String);
    fn channel(&self, id: &str, name: &str, out: &mut String);
}
