//! `${NAME}` in any string of bot.toml: filled in from the environment
//! before the file is read into its types, so every key may use it.

use toml::Value;

/// Interpolates and trims every string under `value`; an error names the
/// key path (`slack.bot_token`, `teams[0].slack_users[1]`) and the reason.
pub(super) fn fill(
    value: &mut Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), (String, String)> {
    match value {
        Value::String(s) => {
            *s = interpolate(s, env).map_err(|reason| (path.to_owned(), reason))?.trim().to_owned();
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                fill(item, &format!("{path}[{i}]"), env)?;
            }
        }
        Value::Table(table) => {
            for (key, item) in table.iter_mut() {
                fill(item, &join(path, key), env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `path.key`, quoting `key` when it is not a bare TOML key.
pub(super) fn join(path: &str, key: &str) -> String {
    let bare =
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let key = if bare { key.to_owned() } else { format!("{key:?}") };
    if path.is_empty() { key } else { format!("{path}.{key}") }
}

/// Replaces each `${NAME}` with the variable's value and each `$${` with a
/// literal `${`. Other `$` signs are kept as they are. Substituted values are
/// not scanned again.
pub(super) fn interpolate(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    if !s.contains('$') {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = rest.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                return Err("unterminated \"${\" (write \"$${\" for a literal \"${\")".to_owned());
            };
            let name = &after[..end];
            if !is_env_name(name) {
                return Err(format!(
                    "\"${{{name}}}\" is not a valid environment variable reference \
                     (letters, digits and _; write \"$${{\" for a literal \"${{\")"
                ));
            }
            match env(name) {
                Some(value) => out.push_str(&value),
                None => return Err(format!("environment variable {name} is not set")),
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
