//! Parses the free text after `/incident` (Slack, console) into an [`Invocation`].

use crate::incident::{IncidentId, Platform, Rules, Status, UserRef};

use super::invocation::{Args, Invitee, Invocation, Value};
use super::spec::{self, ArgKind, ArgSpec, Spec, Where};

/// What the parser needs to know about the team.
pub struct ParseContext<'a> {
    pub rules: &'a Rules,
    pub teams: &'a [String],
    pub platform: Platform,
}

/// A mistake in what was typed; shown with the command's usage.
#[derive(Debug, Clone)]
pub struct UsageError {
    pub message: String,
    /// The command whose usage applies, when one was recognised.
    pub spec: Option<&'static Spec>,
}

impl UsageError {
    fn new(spec: &'static Spec, message: impl Into<String>) -> Self {
        Self { message: message.into(), spec: Some(spec) }
    }

    /// The message and, when known, the usage line.
    pub fn render(&self) -> String {
        match self.spec {
            Some(s) => format!("{}\nUsage: /incident {}", self.message, s.usage),
            None => self.message.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

fn tokenize(s: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(st)) => {
                out.push(Token { text: &s[st..i], start: st, end: i });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push(Token { text: &s[st..], start: st, end: s.len() });
    }
    out
}

/// Parses `declare SEV2 Checkout errors`, `update INC-7 monitoring fix deployed`, ...
pub fn parse(text: &str, ctx: &ParseContext<'_>) -> Result<Invocation, UsageError> {
    let tokens = tokenize(text);
    let Some(first) = tokens.first() else {
        let spec = spec::find("help").expect("help spec");
        return Ok(Invocation { spec, incident: None, args: Args::default() });
    };
    let spec = spec::find(first.text).ok_or_else(|| UsageError {
        message: format!(
            "unknown subcommand \"{}\"; expected one of {}",
            first.text,
            spec::all().iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
        spec: None,
    })?;
    let mut rest: Vec<Token<'_>> = tokens[1..].to_vec();
    let mut values = Args::default();
    take_switches(spec, &mut rest, &mut values, ctx)?;
    let mut incident = None;
    if matches!(spec.place, Where::Incident | Where::OptionalIncident)
        && let Some(id) = rest.first().and_then(|t| IncidentId::parse(t.text))
    {
        incident = Some(id);
        rest.remove(0);
    }
    let positionals: Vec<&ArgSpec> = spec.args.iter().filter(|a| !a.is_switch()).collect();
    let mut i = 0;
    for (n, arg) in positionals.iter().enumerate() {
        let next_is_trailing_user =
            positionals.get(n + 1).is_some_and(|a| a.kind == ArgKind::User && a.optional);
        let value = match arg.kind {
            ArgKind::Text => {
                let mut end = rest.len();
                if next_is_trailing_user
                    && end > i + 1
                    && let Ok(Some(u)) = user(rest[end - 1].text, ctx)
                {
                    values.set(&positionals[n + 1].name, Value::User(u));
                    rest.pop();
                    end -= 1;
                }
                if i >= end {
                    None
                } else {
                    let s = join(text, &rest[i..end]);
                    i = end;
                    Some(Value::Text(s))
                }
            }
            _ if values.0.contains_key(&arg.name) => continue,
            _ => match rest.get(i) {
                None => None,
                Some(tok) => match one(spec, arg, tok.text, ctx)? {
                    Some(v) => {
                        i += 1;
                        if arg.kind == ArgKind::Invitees {
                            let mut all = vec![v];
                            while let Some(tok) = rest.get(i) {
                                all.push(one(spec, arg, tok.text, ctx)?.expect("invitee"));
                                i += 1;
                            }
                            Some(merge_invitees(all))
                        } else {
                            Some(v)
                        }
                    }
                    None => None,
                },
            },
        };
        match value {
            Some(v) => values.set(&arg.name, v),
            None if arg.optional => {}
            None => {
                return Err(UsageError::new(
                    spec,
                    format!("missing {}: {}", arg.name, arg.description.to_lowercase()),
                ));
            }
        }
    }
    if let Some(extra) = rest.get(i) {
        if incident.is_none() && IncidentId::parse(extra.text).is_some() {
            return Err(UsageError::new(
                spec,
                format!("put the incident first: `{} {} …`", spec.name, extra.text),
            ));
        }
        return Err(UsageError::new(spec, format!("unexpected \"{}\"", extra.text)));
    }
    Ok(Invocation { spec, incident, args: values })
}

/// The dashes people (and their keyboards) put before a switch: a phone
/// turns `--` into `—`, and `–`, `−` or one `-` mean the same to a person.
const DASHES: &[char] =
    &['-', '\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}', '\u{2015}', '\u{2212}'];

/// `--private`, `—Private`, `-min_severity=SEV2`: the switch as the spec
/// spells it (`--` and the name in lowercase, `-` for `_`), and any `=value`.
/// `None` when the token is not dashes then a letter.
fn switch_word(tok: &str) -> Option<(String, Option<&str>)> {
    let rest = tok.trim_start_matches(DASHES);
    if rest.len() == tok.len() || !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let (name, inline) = match rest.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (rest, None),
    };
    Some((format!("--{}", name.to_ascii_lowercase().replace('_', "-")), inline))
}

/// Pulls `--flag` and `--option value` out of the tokens. In a command that
/// takes switches, anything written like one must be one: a mistyped
/// `--privat` is refused, never read as a title word (which would make a
/// private incident public).
fn take_switches(
    spec: &'static Spec,
    rest: &mut Vec<Token<'_>>,
    values: &mut Args,
    ctx: &ParseContext<'_>,
) -> Result<(), UsageError> {
    let switches: Vec<&ArgSpec> = spec.args.iter().filter(|a| a.is_switch()).collect();
    let has_text = spec.args.iter().any(|a| a.kind == ArgKind::Text);
    let mut i = 0;
    while i < rest.len() {
        let tok = rest[i].text;
        let Some((name, inline)) = switch_word(tok) else {
            i += 1;
            continue;
        };
        if switches.is_empty() && has_text {
            // A note about `--force` is text: this command takes no switches.
            i += 1;
            continue;
        }
        let Some(arg) = switches.iter().find(|a| a.switch() == name) else {
            let known: Vec<String> = switches.iter().map(|a| a.switch()).collect();
            let takes = if known.is_empty() {
                "it takes no options".to_string()
            } else {
                format!("it takes {}", known.join(", "))
            };
            return Err(UsageError::new(spec, format!("unknown option \"{tok}\"; {takes}")));
        };
        let switch = arg.switch();
        if let Some(v) = inline {
            return Err(UsageError::new(
                spec,
                if arg.kind == ArgKind::Flag {
                    format!(
                        "\"{tok}\": {switch} takes no value; write {switch} on its own, or leave it out"
                    )
                } else {
                    format!("\"{tok}\": write {switch} {v}, without \"=\"")
                },
            ));
        }
        rest.remove(i);
        if arg.kind == ArgKind::Flag {
            values.set(&arg.name, Value::Flag(true));
            continue;
        }
        let raw = match rest.get(i) {
            Some(next) if switch_word(next.text).is_none() => rest.remove(i).text.to_string(),
            _ => return Err(UsageError::new(spec, format!("{switch} needs a value"))),
        };
        let v = one(spec, arg, &raw, ctx)?
            .ok_or_else(|| UsageError::new(spec, format!("{switch}: \"{raw}\" is not valid")))?;
        values.set(&arg.name, v);
    }
    Ok(())
}

/// Parses one token for an argument; `Ok(None)` when an optional argument does not match and is skipped.
pub(super) fn one(
    spec: &'static Spec,
    arg: &ArgSpec,
    tok: &str,
    ctx: &ParseContext<'_>,
) -> Result<Option<Value>, UsageError> {
    let err = |m: String| UsageError::new(spec, m);
    Ok(Some(match arg.kind {
        ArgKind::Severity => {
            if arg.optional && !arg.option && !ctx.rules.looks_like_severity(tok) {
                return Ok(None);
            }
            Value::Severity(ctx.rules.severity(tok).map_err(|e| err(e.message))?)
        }
        ArgKind::Status => Value::Status(
            Status::parse(tok).filter(|s| Status::UPDATABLE.contains(s)).ok_or_else(|| {
                err(format!(
                    "unknown status \"{tok}\"; expected one of investigating, identified, monitoring, resolved"
                ))
            })?,
        ),
        ArgKind::Role => Value::Role(ctx.rules.role(tok).map_err(|e| err(e.message))?.key.clone()),
        ArgKind::User => match user(tok, ctx).map_err(err)? {
            Some(u) => Value::User(u),
            None if arg.optional => return Ok(None),
            None => return Err(err(format!("expected a person, like @name, not \"{tok}\""))),
        },
        ArgKind::Invitees => {
            if let Some(u) = user(tok, ctx).map_err(err)? {
                Value::Invitees(vec![Invitee::User(u)])
            } else if let Some(team) = ctx.teams.iter().find(|t| t.eq_ignore_ascii_case(tok)) {
                Value::Invitees(vec![Invitee::Team(team.clone())])
            } else {
                let teams = if ctx.teams.is_empty() {
                    "no teams are configured".to_string()
                } else {
                    format!("teams: {}", ctx.teams.join(", "))
                };
                return Err(err(format!("\"{tok}\" is neither a person (@name) nor a team ({teams})")));
            }
        }
        ArgKind::Incident => match IncidentId::parse(tok) {
            Some(id) => Value::Incident(id),
            None if tok.to_ascii_uppercase().starts_with("INC") => {
                return Err(err(format!("\"{tok}\" is not an incident; incidents look like INC-7")));
            }
            None if arg.optional => return Ok(None),
            None => return Err(err(format!("expected an incident like INC-7, not \"{tok}\""))),
        },
        ArgKind::Word => Value::Word(tok.to_string()),
        ArgKind::Text => Value::Text(tok.to_string()),
        ArgKind::Flag => Value::Flag(true),
    }))
}

/// A mention: `<@U123>`, `<@U123|name>`, `<@!123>`; on the console also `@name`.
/// `Ok(None)` when the token is not a mention at all.
fn user(tok: &str, ctx: &ParseContext<'_>) -> Result<Option<UserRef>, String> {
    if let Some(inner) = tok.strip_prefix("<@").and_then(|t| t.strip_suffix('>')) {
        let inner = inner.trim_start_matches('!');
        let (id, name) = match inner.split_once('|') {
            Some((id, name)) => (id, Some(name)),
            None => (inner, None),
        };
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("\"{tok}\" is not a valid mention"));
        }
        let mut u = UserRef::new(ctx.platform, id);
        u.name = name.filter(|n| !n.is_empty()).map(str::to_string);
        return Ok(Some(u));
    }
    if let Some(name) = tok.strip_prefix('@') {
        if ctx.platform != Platform::Console {
            return Err(format!(
                "\"{tok}\" is plain text; mention the person so {} links them",
                ctx.platform
            ));
        }
        let ok = !name.is_empty()
            && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !ok {
            return Err(format!("\"{tok}\" is not a valid name"));
        }
        return Ok(Some(UserRef::new(Platform::Console, name)));
    }
    Ok(None)
}

fn merge_invitees(values: Vec<Value>) -> Value {
    let mut all = Vec::new();
    for v in values {
        if let Value::Invitees(list) = v {
            all.extend(list);
        }
    }
    Value::Invitees(all)
}

/// The original text of a run of tokens; where switches were taken out, one space.
fn join(src: &str, toks: &[Token<'_>]) -> String {
    let mut out = String::from(toks[0].text);
    for w in toks.windows(2) {
        let gap = &src[w[0].end..w[1].start];
        if gap.chars().all(char::is_whitespace) {
            out.push_str(gap);
        } else {
            out.push(' ');
        }
        out.push_str(w[1].text);
    }
    out
}
