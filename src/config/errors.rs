//! serde's words for a bot.toml mistake, in tocsin's: the key path in the
//! file and a reason a person acts on ("unknown key (expected one of: …)",
//! "missing", "expected a string, found an integer").

use serde_path_to_error::Segment;

use super::env::join;
use super::raw::TABLE_ARRAYS;

/// The key path and the reason for a deserialization error.
pub(super) fn explain(e: serde_path_to_error::Error<toml::de::Error>) -> (String, String) {
    let mut path = String::new();
    for segment in e.path().iter() {
        match segment {
            Segment::Map { key } => path = join(&path, key),
            Segment::Seq { index } => path = format!("{path}[{index}]"),
            Segment::Enum { variant } => path = join(&path, variant),
            Segment::Unknown => {}
        }
    }
    let message = e.inner().message().to_owned();
    // The path already ends at the unknown key.
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let expected = rest.split_once('`').map_or("", |(_, e)| e);
        return (path, format!("unknown key (expected one of: {})", ticked(expected).join(", ")));
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.trim_end_matches('`');
        return (join(&path, key), "missing".to_owned());
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return (
            path.clone(),
            format!("expected {}, found {}", wanted(expected, &path), kind(found)),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid value: integer `")
        && let Some((n, expected)) = rest.split_once("`, expected ")
        && expected == "u32"
    {
        return (path, format!("{n} is out of range (0 to {})", u32::MAX));
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (value, expected) = rest.split_once('`').unwrap_or((rest, ""));
        return (path, format!("\"{value}\" is not one of: {}", ticked(expected).join(", ")));
    }
    (path, message)
}

/// The names between backticks in serde's "expected one of `a`, `b`".
fn ticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

/// What the key wants, in the file's terms.
fn wanted(expected: &str, path: &str) -> String {
    match expected {
        "u32" | "u64" | "i64" => "a whole number".into(),
        "a sequence" if TABLE_ARRAYS.contains(&path) => format!("an array of tables ([[{path}]])"),
        "a sequence" => "an array of strings".into(),
        "a map" => "a table".into(),
        e if e.starts_with("struct ") => format!("a table ([{path}])"),
        e => e.to_owned(),
    }
}

/// What was found instead, in the file's terms.
fn kind(found: &str) -> &'static str {
    let word = found.split([' ', '`']).next().unwrap_or("");
    match word {
        "string" => "a string",
        "integer" => "an integer",
        "floating" => "a decimal number",
        "boolean" => "a boolean",
        "sequence" => "an array",
        "map" => "a table",
        _ => "something else",
    }
}
