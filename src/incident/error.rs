//! Errors the person who typed the command can act on.

use std::fmt;

/// One clear sentence for the person who ran the command. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    pub message: String,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}
