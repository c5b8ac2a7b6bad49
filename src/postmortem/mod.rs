//! The postmortem draft: a Markdown template whose `{{placeholder}}`s are filled from the
//! incident record (the incident, its timeline and the team's rules). Pure: no I/O, no clock.
//!
//! The built-in template is `default.md`; a team may supply its own (`[postmortem] template`
//! in bot.toml), which is checked with [`check_template`] when the config loads.

mod format;
mod sections;
mod template;

use crate::incident::{Incident, Rules, TimelineEntry};

pub use format::duration;
pub use template::{PLACEHOLDERS, TemplateError, check_template};

/// The built-in template.
pub const DEFAULT_TEMPLATE: &str = include_str!("default.md");

/// Renders the Markdown postmortem draft from the record, with `template` or the built-in one.
///
/// Each placeholder the template uses is rendered where it stands (and only those). The
/// timeline shows every entry that is not retracted, ordered by each entry's own time, then
/// by its position in `timeline`.
pub fn render(
    incident: &Incident,
    timeline: &[TimelineEntry],
    rules: &Rules,
    template: Option<&str>,
) -> Result<String, TemplateError> {
    let parts = template::parse(template.unwrap_or(DEFAULT_TEMPLATE))?;
    Ok(sections::fill(&parts, incident, timeline, rules))
}

#[cfg(test)]
mod tests;
