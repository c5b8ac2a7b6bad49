//! User errors (one sentence and the usage, shown to the person) kept apart
//! from internal ones (logged with context; the person sees an apology and an id).

use std::sync::atomic::{AtomicU32, Ordering};

use crate::command::UsageError;
use crate::incident::{Message, UserError};
use crate::store::StoreError;

#[derive(Debug)]
pub enum Failure {
    User {
        message: String,
        usage: Option<String>,
    },
    /// The database is out of reach or busy for now.
    Unavailable(StoreError),
    Internal(anyhow::Error),
}

impl Failure {
    pub fn user(message: impl Into<String>) -> Self {
        Failure::User { message: message.into(), usage: None }
    }

    /// Attaches a command's usage to a user error that has none.
    pub fn with_usage(self, usage: &str) -> Self {
        match self {
            Failure::User { message, usage: None } => {
                Failure::User { message, usage: Some(usage.to_string()) }
            }
            other => other,
        }
    }
}

impl From<UserError> for Failure {
    fn from(e: UserError) -> Self {
        Failure::user(e.message)
    }
}

impl From<UsageError> for Failure {
    fn from(e: UsageError) -> Self {
        Failure::User { message: e.message, usage: e.spec.map(|s| s.usage.clone()) }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        if e.is_transient() { Failure::Unavailable(e) } else { Failure::Internal(e.into()) }
    }
}

/// What the person who acted sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub message: Message,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Nothing changed; the message says why.
    UserError,
    /// Nothing (known to be) changed; logged under the id in the message.
    Internal,
}

impl Reply {
    pub fn done(message: Message) -> Self {
        Self { message, outcome: Outcome::Done }
    }

    /// Whether what happened is recorded (or there was nothing to record);
    /// false when it could not be, and the platform should deliver it again.
    pub fn recorded(&self) -> bool {
        self.outcome != Outcome::Internal
    }

    pub fn from_failure(f: Failure, context: &str) -> Self {
        match f {
            Failure::User { message, usage } => {
                let mut m = Message::new().text(message);
                if let Some(u) = usage {
                    m = m.line().plain("Usage: /incident ").text(u);
                }
                Self { message: m, outcome: Outcome::UserError }
            }
            Failure::Unavailable(e) => Self::from_failure(Failure::Internal(e.into()), context),
            Failure::Internal(e) => {
                let id = error_id();
                tracing::error!(error_id = %id, context, error = ?e, "internal error");
                let m = Message::new().plain(format!(
                    "Sorry, that failed on our side and nothing was changed (error {id}). Please try again in a moment."
                ));
                Self { message: m, outcome: Outcome::Internal }
            }
        }
    }
}

/// A short id to find the log line by.
fn error_id() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = chrono::Utc::now().timestamp_millis() as u64;
    format!("E{:x}", (t << 8) ^ u64::from(n))
}
