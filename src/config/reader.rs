//! Reading a parsed TOML table by hand: typed values under dotted key paths,
//! unknown keys rejected, `${ENV}` interpolated into every string value.

use toml::{Table, Value};

use super::ConfigError;

/// What every read needs: the file name for errors and the environment.
pub(super) struct Cx<'a> {
    pub origin: &'a str,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Cx<'_> {
    pub fn err(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.to_owned(),
            key: key.to_owned(),
            reason: reason.into(),
        }
    }
}

/// One TOML table (possibly absent, which reads as empty) at a key path.
pub(super) struct Section<'c> {
    cx: &'c Cx<'c>,
    table: Option<&'c Table>,
    path: String,
}

impl<'c> Section<'c> {
    /// Checks that `table` holds only `known` keys.
    pub fn new(
        cx: &'c Cx<'c>,
        table: Option<&'c Table>,
        path: String,
        known: &[&str],
    ) -> Result<Self, ConfigError> {
        if let Some(table) = table {
            // The table is a BTreeMap: the first unknown key in alphabetical order is named.
            if let Some(key) = table.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(cx.err(
                    &join(&path, key),
                    format!("unknown key (expected one of: {})", known.join(", ")),
                ));
            }
        }
        Ok(Section { cx, table, path })
    }

    pub fn present(&self) -> bool {
        self.table.is_some()
    }

    fn get(&self, key: &str) -> Option<&'c Value> {
        self.table.and_then(|t| t.get(key))
    }

    /// The dotted path of `key` in this section, for error messages.
    pub fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub fn err(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        self.cx.err(&self.path_of(key), reason)
    }

    /// An error about `key[i]`.
    pub fn err_at(&self, key: &str, i: usize, reason: impl Into<String>) -> ConfigError {
        self.cx.err(&self.index_path(key, i), reason)
    }

    /// An error about a full key path.
    pub fn err_path(&self, path: &str, reason: impl Into<String>) -> ConfigError {
        self.cx.err(path, reason)
    }

    pub fn cx(&self) -> &Cx<'c> {
        self.cx
    }

    /// A string value, interpolated and trimmed; `None` when the key is absent.
    /// Present but empty is an error.
    pub fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        let Some(value) = self.get(key) else { return Ok(None) };
        let path = self.path_of(key);
        let s = string_value(self.cx, &path, value)?;
        if s.is_empty() {
            return Err(self.cx.err(&path, "must not be empty"));
        }
        Ok(Some(s))
    }

    /// A string that must be present and non-empty.
    pub fn required_string(&self, key: &str) -> Result<String, ConfigError> {
        self.string(key)?.ok_or_else(|| self.err(key, "missing"))
    }

    /// A string with a default for when the key is absent.
    pub fn string_or(&self, key: &str, default: &str) -> Result<String, ConfigError> {
        Ok(self.string(key)?.unwrap_or_else(|| default.to_owned()))
    }

    /// An optional string: absent or empty (after interpolation) means "not set".
    pub fn optional_string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        let Some(value) = self.get(key) else { return Ok(None) };
        let s = string_value(self.cx, &self.path_of(key), value)?;
        Ok(if s.is_empty() { None } else { Some(s) })
    }

    /// An array of non-empty strings; `None` when the key is absent.
    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
        let Some(value) = self.get(key) else { return Ok(None) };
        let Value::Array(items) = value else {
            return Err(self.err(key, expected("an array of strings", value)));
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = self.index_path(key, i);
            let s = string_value(self.cx, &path, item)?;
            if s.is_empty() {
                return Err(self.cx.err(&path, "must not be empty"));
            }
            out.push(s);
        }
        Ok(Some(out))
    }

    /// A whole number that fits in a `u32`; `None` when the key is absent.
    pub fn u32(&self, key: &str) -> Result<Option<u32>, ConfigError> {
        self.get(key).map(|v| u32_value(self.cx, &self.path_of(key), v)).transpose()
    }

    /// A sub-table, which reads as empty when absent.
    pub fn section(&self, key: &str, known: &[&str]) -> Result<Section<'c>, ConfigError> {
        let table = match self.get(key) {
            None => None,
            Some(Value::Table(t)) => Some(t),
            Some(other) => {
                let what = format!("a table ([{}])", self.path_of(key));
                return Err(self.err(key, expected(&what, other)));
            }
        };
        Section::new(self.cx, table, self.path_of(key), known)
    }

    /// A sub-table whose keys are free-form (checked by the caller).
    pub fn raw_table(&self, key: &str) -> Result<Option<&'c Table>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(t)),
            Some(other) => Err(self.err(key, expected("a table", other))),
        }
    }

    /// An array of tables (`[[key]]`); `None` when the key is absent.
    pub fn sections(
        &self,
        key: &str,
        known: &[&str],
    ) -> Result<Option<Vec<Section<'c>>>, ConfigError> {
        let Some(value) = self.get(key) else { return Ok(None) };
        let Value::Array(items) = value else {
            let what = format!("an array of tables ([[{}]])", self.path_of(key));
            return Err(self.err(key, expected(&what, value)));
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = self.index_path(key, i);
            let Value::Table(table) = item else {
                return Err(self.cx.err(&path, expected("a table", item)));
            };
            out.push(Section::new(self.cx, Some(table), path, known)?);
        }
        Ok(Some(out))
    }

    /// `key[i]` under this section.
    pub fn index_path(&self, key: &str, i: usize) -> String {
        format!("{}[{i}]", self.path_of(key))
    }
}

pub(super) fn string_value(cx: &Cx<'_>, path: &str, value: &Value) -> Result<String, ConfigError> {
    match value {
        Value::String(s) => interpolate(s, cx.env)
            .map(|s| s.trim().to_owned())
            .map_err(|reason| cx.err(path, reason)),
        other => Err(cx.err(path, expected("a string", other))),
    }
}

pub(super) fn u32_value(cx: &Cx<'_>, path: &str, value: &Value) -> Result<u32, ConfigError> {
    match value {
        Value::Integer(n) => u32::try_from(*n)
            .map_err(|_| cx.err(path, format!("{n} is out of range (0 to {})", u32::MAX))),
        other => Err(cx.err(path, expected("a whole number", other))),
    }
}

fn expected(what: &str, found: &Value) -> String {
    let found = match found {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a decimal number",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    };
    format!("expected {what}, found {found}")
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
