//! The template language: Markdown text with `{{name}}` placeholders, nothing more.

/// One thing the record can fill in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placeholder {
    Id,
    Title,
    Severity,
    Status,
    Private,
    KeyTimes,
    SeverityHistory,
    Roles,
    Responders,
    Updates,
    Timeline,
    Followups,
}

impl Placeholder {
    const ALL: [Placeholder; 12] = [
        Placeholder::Id,
        Placeholder::Title,
        Placeholder::Severity,
        Placeholder::Status,
        Placeholder::Private,
        Placeholder::KeyTimes,
        Placeholder::SeverityHistory,
        Placeholder::Roles,
        Placeholder::Responders,
        Placeholder::Updates,
        Placeholder::Timeline,
        Placeholder::Followups,
    ];

    pub(super) const fn name(self) -> &'static str {
        match self {
            Placeholder::Id => "id",
            Placeholder::Title => "title",
            Placeholder::Severity => "severity",
            Placeholder::Status => "status",
            Placeholder::Private => "private",
            Placeholder::KeyTimes => "key_times",
            Placeholder::SeverityHistory => "severity_history",
            Placeholder::Roles => "roles",
            Placeholder::Responders => "responders",
            Placeholder::Updates => "updates",
            Placeholder::Timeline => "timeline",
            Placeholder::Followups => "followups",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

const NAMES: [&str; Placeholder::ALL.len()] = {
    let mut names = [""; Placeholder::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = Placeholder::ALL[i].name();
        i += 1;
    }
    names
};

/// Every supported placeholder name, in the order the errors list them.
pub const PLACEHOLDERS: &[&str] = &NAMES;

/// Why a template cannot be used. Each message is one line naming the template line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "unknown placeholder {{{{{name}}}}} on line {line}; known: {known}",
        known = PLACEHOLDERS.join(", ")
    )]
    UnknownPlaceholder { name: String, line: usize },
    #[error("unclosed {{{{ on line {line}; placeholders look like {{{{title}}}} on one line")]
    Unclosed { line: usize },
}

/// A parsed template: literal text and placeholders, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part<'a> {
    Text(&'a str),
    Field(Placeholder),
}

/// Splits a template into parts; every `{{...}}` must close on its line and name a placeholder
/// (spaces inside the braces are allowed: `{{ title }}`).
pub(super) fn parse(template: &str) -> Result<Vec<Part<'_>>, TemplateError> {
    let mut parts = Vec::new();
    let mut rest = template;
    let mut line = 1;
    while let Some(open) = rest.find("{{") {
        let before = &rest[..open];
        line += before.bytes().filter(|&b| b == b'\n').count();
        if !before.is_empty() {
            parts.push(Part::Text(before));
        }
        let after = &rest[open + 2..];
        let line_end = after.find('\n').unwrap_or(after.len());
        let Some(close) = after[..line_end].find("}}") else {
            return Err(TemplateError::Unclosed { line });
        };
        let name = after[..close].trim();
        let field = Placeholder::parse(name)
            .ok_or_else(|| TemplateError::UnknownPlaceholder { name: name.to_string(), line })?;
        parts.push(Part::Field(field));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest));
    }
    Ok(parts)
}

/// Checks a custom template: every `{{placeholder}}` must be known and closed on its line.
pub fn check_template(template: &str) -> Result<(), TemplateError> {
    parse(template).map(|_| ())
}
