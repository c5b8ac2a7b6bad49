//! Types Discord's subcommand options into an [`Invocation`]: the same specs,
//! the same checks and the same errors as the text parser.

use crate::incident::{IncidentId, Platform, UserRef};

use super::invocation::{Args, Invitee, Invocation, Value};
use super::parse::{ParseContext, UsageError, one};
use super::spec::{self, ArgKind, Where};

/// One option's value as the platform sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionValue {
    Text(String),
    Bool(bool),
    /// A user option: the id, and the display name when the platform resolved it.
    User {
        id: String,
        name: Option<String>,
    },
}

/// Types `/incident <subcommand>` with its named options.
pub fn from_options(
    subcommand: &str,
    options: &[(String, OptionValue)],
    ctx: &ParseContext<'_>,
) -> Result<Invocation, UsageError> {
    let spec = spec::find(subcommand).ok_or_else(|| UsageError {
        message: format!("unknown subcommand \"{subcommand}\""),
        spec: None,
    })?;
    let err = |m: String| UsageError { message: m, spec: Some(spec) };
    let takes_incident = matches!(spec.place, Where::Incident | Where::OptionalIncident);
    let invitees_arg = spec.args.iter().find(|a| a.kind == ArgKind::Invitees);
    let mut values = Args::default();
    let mut incident = None;
    let mut invitees = Vec::new();
    for (name, value) in options {
        let text = match value {
            OptionValue::Text(s) if s.trim().is_empty() => continue,
            OptionValue::Text(s) => Some(s.trim()),
            _ => None,
        };
        if name == "incident" && takes_incident && spec.args.iter().all(|a| a.name != "incident") {
            let t = text.unwrap_or_default();
            incident = Some(IncidentId::parse(t).ok_or_else(|| {
                err(format!("\"{t}\" is not an incident; incidents look like INC-7"))
            })?);
            continue;
        }
        if let Some(arg) = invitees_arg
            && (name == "user" || name == "team")
        {
            match (name.as_str(), value) {
                ("user", OptionValue::User { id, name }) => {
                    invitees.push(Invitee::User(user(ctx.platform, id, name)));
                }
                ("team", OptionValue::Text(_)) => {
                    match one(spec, arg, text.unwrap_or_default(), ctx)? {
                        Some(Value::Invitees(list)) => invitees.extend(list),
                        _ => return Err(err(format!("\"{name}\" is not a team"))),
                    }
                }
                _ => return Err(err(format!("option {name} has the wrong type"))),
            }
            continue;
        }
        let Some(arg) = spec.args.iter().find(|a| &a.name == name) else {
            return Err(err(format!("unknown option \"{name}\"")));
        };
        let v = match (arg.kind, value) {
            (ArgKind::Flag, OptionValue::Bool(b)) => Value::Flag(*b),
            (ArgKind::User, OptionValue::User { id, name }) => {
                Value::User(user(ctx.platform, id, name))
            }
            (_, OptionValue::Text(_)) if arg.kind != ArgKind::Flag && arg.kind != ArgKind::User => {
                let t = text.unwrap_or_default();
                one(spec, arg, t, ctx)?
                    .ok_or_else(|| err(format!("{name}: \"{t}\" is not valid")))?
            }
            _ => return Err(err(format!("option {name} has the wrong type"))),
        };
        values.set(name, v);
    }
    if let Some(arg) = invitees_arg
        && !invitees.is_empty()
    {
        values.set(&arg.name, Value::Invitees(invitees));
    }
    for arg in &spec.args {
        if !arg.optional && arg.kind != ArgKind::Flag && !values.0.contains_key(&arg.name) {
            let what = if arg.kind == ArgKind::Invitees { "user or team" } else { &arg.name };
            return Err(err(format!("missing {what}: {}", arg.description.to_lowercase())));
        }
    }
    Ok(Invocation { spec, incident, args: values })
}

/// A user option names someone on the platform the command came from.
fn user(platform: Platform, id: &str, name: &Option<String>) -> UserRef {
    let mut u = UserRef::new(platform, id);
    u.name = name.clone();
    u
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Rules, Status};

    fn run(sub: &str, opts: &[(&str, OptionValue)]) -> Result<Invocation, UsageError> {
        let rules = Rules::default();
        let teams = vec!["payments".to_string()];
        let ctx = ParseContext { rules: &rules, teams: &teams, platform: Platform::Discord };
        let opts: Vec<(String, OptionValue)> =
            opts.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
        from_options(sub, &opts, &ctx)
    }

    fn text(s: &str) -> OptionValue {
        OptionValue::Text(s.into())
    }

    fn person(id: &str) -> OptionValue {
        OptionValue::User { id: id.into(), name: Some("ana".into()) }
    }

    #[test]
    fn a_declare_with_typed_options_matches_the_text_form() {
        let inv = run(
            "declare",
            &[
                ("title", text("Checkout down")),
                ("severity", text("sev2")),
                ("private", OptionValue::Bool(true)),
            ],
        )
        .unwrap();
        assert_eq!(
            inv.args,
            Args::of([
                ("severity", Value::Severity("SEV2".into())),
                ("title", Value::Text("Checkout down".into())),
                ("private", Value::Flag(true)),
            ])
        );
    }

    #[test]
    fn the_incident_option_names_the_incident() {
        let inv = run(
            "update",
            &[
                ("status", text("monitoring")),
                ("message", text("fix out")),
                ("incident", text("inc-7")),
            ],
        )
        .unwrap();
        assert_eq!(inv.incident, IncidentId::parse("INC-7"));
        assert_eq!(
            inv.args,
            Args::of([
                ("status", Value::Status(Status::Monitoring)),
                ("message", Value::Text("fix out".into())),
            ])
        );
    }

    #[test]
    fn a_user_and_a_team_are_both_invited() {
        let inv = run("invite", &[("user", person("42")), ("team", text("payments"))]).unwrap();
        let Some(Value::Invitees(invitees)) = inv.args.get("user").cloned() else {
            panic!("not an invite")
        };
        assert_eq!(invitees.len(), 2);
        assert_eq!(invitees[1], Invitee::Team("payments".into()));
    }

    #[test]
    fn mistakes_get_the_same_clear_errors_as_text() {
        let e = run("severity", &[("level", text("SEV9"))]).unwrap_err();
        assert!(e.message.contains("SEV9"), "{}", e.message);
        assert!(e.render().contains("Usage: /incident severity"));
        let e = run("invite", &[]).unwrap_err();
        assert!(e.message.starts_with("missing user or team"), "{}", e.message);
        let e = run("note", &[("text", text("   "))]).unwrap_err();
        assert!(e.message.starts_with("missing text"), "{}", e.message);
        let e = run("role", &[("role", text("commander")), ("user", text("ana"))]).unwrap_err();
        assert!(e.message.contains("wrong type"), "{}", e.message);
        assert!(run("nonsense", &[]).is_err());
        assert!(run("update", &[("incident", text("7x"))]).is_err());
    }
}
