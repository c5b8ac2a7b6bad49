//! The postmortem draft: Markdown rendered from the incident record through a
//! template with `{{placeholders}}` (the built-in one, or the team's own).

pub(crate) mod sections;

use std::fmt;

use crate::incident::{Incident, Rules, TimelineEntry};

pub const DEFAULT_TEMPLATE: &str = include_str!("default.md");

/// Every placeholder a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "id",
    "title",
    "severity",
    "status",
    "private",
    "key_times",
    "severity_history",
    "roles",
    "responders",
    "updates",
    "timeline",
    "followups",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for TemplateError {}

/// A piece of a parsed template.
enum Piece<'a> {
    Text(&'a str),
    Slot(&'a str),
}

fn parse(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = template;
    let mut consumed = 0;
    while let Some(open) = rest.find("{{") {
        let line = template[..consumed + open].matches('\n').count() + 1;
        let close = rest[open..].find("}}").ok_or_else(|| TemplateError {
            line,
            message: "a {{ is never closed with }}".into(),
        })?;
        let name = rest[open + 2..open + close].trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(TemplateError {
                line,
                message: format!(
                    "unknown placeholder {{{{{name}}}}}; known: {}",
                    PLACEHOLDERS.join(", ")
                ),
            });
        }
        pieces.push(Piece::Text(&rest[..open]));
        pieces.push(Piece::Slot(name));
        consumed += open + close + 2;
        rest = &rest[open + close + 2..];
    }
    pieces.push(Piece::Text(rest));
    Ok(pieces)
}

/// Checks a custom template: every placeholder must be known.
pub fn check_template(template: &str) -> Result<(), TemplateError> {
    parse(template).map(|_| ())
}

/// Renders the draft. Each section is rendered only if the template uses it.
pub fn render(
    incident: &Incident,
    timeline: &[TimelineEntry],
    rules: &Rules,
    template: Option<&str>,
) -> Result<String, TemplateError> {
    let pieces = parse(template.unwrap_or(DEFAULT_TEMPLATE))?;
    let mut out = String::with_capacity(4096 + timeline.len() * 120);
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Slot(name) => sections::render(name, incident, timeline, rules, &mut out),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
