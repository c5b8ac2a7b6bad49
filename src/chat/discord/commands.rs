//! The application commands, generated from `commands/`: `/incident` with one
//! subcommand per spec and typed options, and the "Add to timeline" message
//! command.

use serde_json::{Value, json};

use crate::command::spec::{self, ArgKind, Spec, Where};
use crate::incident::Status;

/// The message context-menu command's name.
pub const ADD_TO_TIMELINE: &str = "Add to timeline";

/// Discord's option types.
const SUB_COMMAND: u8 = 1;
const STRING: u8 = 3;
const BOOLEAN: u8 = 5;
const USER: u8 = 6;
/// Discord's command types.
const CHAT_INPUT: u8 = 1;
const MESSAGE: u8 = 3;

/// What the options offer as choices.
pub struct Choices<'a> {
    pub severities: &'a [String],
    pub roles: &'a [String],
    pub teams: &'a [String],
}

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn choices(values: &[String]) -> Value {
    Value::Array(values.iter().take(25).map(|v| json!({"name": v, "value": v})).collect())
}

fn option(kind: u8, name: &str, description: &str, required: bool) -> Value {
    json!({"type": kind, "name": name, "description": cut(description, 100), "required": required})
}

fn subcommand(spec: &Spec, c: &Choices<'_>) -> Value {
    let mut options = Vec::new();
    for arg in &spec.args {
        let required = !arg.optional && arg.kind != ArgKind::Flag;
        let mut o = match arg.kind {
            ArgKind::Flag => option(BOOLEAN, &arg.name, &arg.description, false),
            ArgKind::User => option(USER, &arg.name, &arg.description, required),
            ArgKind::Invitees => {
                // One person per use on Discord, or a team.
                options.push(option(USER, "user", "Who to add", false));
                let mut team = option(STRING, "team", "A team to add", false);
                if !c.teams.is_empty() {
                    team["choices"] = choices(c.teams);
                }
                options.push(team);
                continue;
            }
            _ => option(STRING, &arg.name, &arg.description, required),
        };
        match arg.kind {
            ArgKind::Severity => o["choices"] = choices(c.severities),
            ArgKind::Role => o["choices"] = choices(c.roles),
            ArgKind::Status => {
                let names: Vec<String> =
                    Status::UPDATABLE.iter().map(|s| s.as_str().to_string()).collect();
                o["choices"] = choices(&names);
            }
            ArgKind::Word => {
                let names: Vec<String> = spec::all().iter().map(|s| s.name.clone()).collect();
                o["choices"] = choices(&names);
            }
            _ => {}
        }
        options.push(o);
    }
    if matches!(spec.place, Where::Incident | Where::OptionalIncident) {
        options.push(option(
            STRING,
            "incident",
            "The incident, e.g. INC-7 (implied in its channel)",
            false,
        ));
    }
    // Discord wants required options first.
    options.sort_by_key(|o| o["required"] != json!(true));
    json!({
        "type": SUB_COMMAND,
        "name": spec.name,
        "description": cut(&spec.summary, 100),
        "options": options,
    })
}

/// The commands to bulk-overwrite in the guild.
pub fn application_commands(c: &Choices<'_>) -> Value {
    let subs: Vec<Value> = spec::all().iter().map(|s| subcommand(s, c)).collect();
    json!([
        {
            "type": CHAT_INPUT,
            "name": "incident",
            "description": "Declare and run incidents: roles, updates, timeline, postmortem",
            "options": subs,
        },
        { "type": MESSAGE, "name": ADD_TO_TIMELINE },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands() -> Value {
        let sev: Vec<String> = ["SEV1", "SEV2", "SEV3", "SEV4"].map(String::from).to_vec();
        let roles: Vec<String> = ["commander", "comms", "scribe"].map(String::from).to_vec();
        application_commands(&Choices {
            severities: &sev,
            roles: &roles,
            teams: &["payments".into()],
        })
    }

    fn sub<'a>(all: &'a Value, name: &str) -> &'a Value {
        all[0]["options"].as_array().unwrap().iter().find(|o| o["name"] == name).unwrap()
    }

    fn names(sub: &Value) -> Vec<&str> {
        sub["options"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect()
    }

    #[test]
    fn every_spec_is_a_subcommand_with_the_designs_option_names() {
        let all = commands();
        assert_eq!(all[0]["options"].as_array().unwrap().len(), spec::all().len());
        assert_eq!(names(sub(&all, "declare")), ["title", "severity", "private"]);
        assert_eq!(names(sub(&all, "update")), ["status", "message", "incident"]);
        assert_eq!(names(sub(&all, "severity")), ["level", "incident"]);
        assert_eq!(names(sub(&all, "role")), ["role", "user", "incident"]);
        assert_eq!(names(sub(&all, "invite")), ["user", "team", "incident"]);
        assert_eq!(names(sub(&all, "followup")), ["text", "owner", "incident"]);
        assert_eq!(names(sub(&all, "subscribe")), ["incident", "min_severity"]);
        assert_eq!(all[1], json!({"type": 3, "name": "Add to timeline"}));
    }

    #[test]
    fn options_are_typed_with_choices_from_the_config() {
        let all = commands();
        let declare = sub(&all, "declare");
        assert_eq!(declare["options"][1]["choices"][1], json!({"name": "SEV2", "value": "SEV2"}));
        assert_eq!(declare["options"][2]["type"], BOOLEAN);
        let role = sub(&all, "role");
        assert_eq!(role["options"][1]["type"], USER);
        assert_eq!(role["options"][0]["choices"].as_array().unwrap().len(), 3);
        assert_eq!(sub(&all, "update")["options"][0]["choices"][3]["value"], "resolved");
        for s in all[0]["options"].as_array().unwrap() {
            assert!(s["description"].as_str().unwrap().chars().count() <= 100);
            let req: Vec<bool> = s["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["required"] == json!(true))
                .collect();
            assert!(
                req.windows(2).all(|w| w[0] || !w[1]),
                "required options first in {}",
                s["name"]
            );
        }
    }
}
