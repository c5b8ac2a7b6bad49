//! Help text, rendered from the specs.

use super::spec::{self, Spec};

/// The overview: every subcommand with its summary.
pub fn overview() -> String {
    let mut out = String::from("Usage: /incident <subcommand> …\n");
    let width = spec::all().iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in spec::all() {
        out.push_str(&format!("  {:width$}  {}\n", s.name, s.summary));
    }
    out.push_str("Inside an incident channel the incident is implied; elsewhere name it first: `update INC-7 monitoring …`.\n");
    out.push_str("`/incident help <subcommand>` explains one.");
    out
}

/// One subcommand in detail.
pub fn detail(spec: &Spec) -> String {
    let mut out = format!("/incident {}\n{}\n\n{}\n", spec.usage, spec.summary, spec.help);
    if !spec.args.is_empty() {
        out.push('\n');
        for a in &spec.args {
            let name = if a.is_switch() { a.switch() } else { a.name.clone() };
            let opt = if a.optional || a.kind == spec::ArgKind::Flag { " (optional)" } else { "" };
            out.push_str(&format!("  {name}{opt}: {}\n", a.description));
        }
    }
    out.push_str("\nExamples:\n");
    for e in &spec.examples {
        out.push_str(&format!("  /incident {e}\n"));
    }
    out.trim_end().to_string()
}

/// Help for a named subcommand, or the overview with a note when it is unknown.
pub fn for_topic(topic: Option<&str>) -> String {
    match topic {
        None => overview(),
        Some(t) => match spec::find(t) {
            Some(s) => detail(s),
            None => format!("There is no subcommand \"{t}\".\n{}", overview()),
        },
    }
}
