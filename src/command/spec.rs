//! Command specs: one TOML file per subcommand in `commands/`, embedded at build time.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::incident::Who;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/commands.rs"));
}

/// Where a command may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Where {
    Anywhere,
    /// Needs an incident: implied in its channel, named with `INC-n` elsewhere.
    Incident,
    /// Uses an incident when there is one, works without.
    OptionalIncident,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArgKind {
    Severity,
    Status,
    Role,
    User,
    /// One or more users or team names.
    Invitees,
    /// The rest of the line.
    Text,
    Incident,
    /// A boolean `--name` switch.
    Flag,
    /// One bare word.
    Word,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgSpec {
    pub name: String,
    pub kind: ArgKind,
    #[serde(default)]
    pub optional: bool,
    /// Given as `--name value` rather than by position.
    #[serde(default)]
    pub option: bool,
    pub description: String,
}

impl ArgSpec {
    /// The `--switch` spelling of an option or flag.
    pub fn switch(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }

    pub fn is_switch(&self) -> bool {
        self.option || self.kind == ArgKind::Flag
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: String,
    pub summary: String,
    pub usage: String,
    #[serde(rename = "where")]
    pub place: Where,
    pub who: Who,
    pub help: String,
    pub examples: Vec<String>,
    #[serde(default)]
    pub args: Vec<ArgSpec>,
}

/// Every embedded spec, sorted by name. A malformed spec fails the build's tests
/// (`every_spec_parses`) and panics here with the file named.
pub fn all() -> &'static [Spec] {
    static SPECS: OnceLock<Vec<Spec>> = OnceLock::new();
    SPECS.get_or_init(|| {
        let mut specs: Vec<Spec> = embedded::SPEC_FILES
            .iter()
            .map(|(file, text)| {
                toml::from_str(text).unwrap_or_else(|e| panic!("commands/{file}: {e}"))
            })
            .collect();
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        specs
    })
}

pub fn find(name: &str) -> Option<&'static Spec> {
    all().iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// The files the specs came from, for tests.
pub fn files() -> impl Iterator<Item = &'static str> {
    embedded::SPEC_FILES.iter().map(|(f, _)| *f)
}
