//! Matching calls to the official Discord OpenAPI spec: routes, tokens and body keys.

use super::*;

/// The routes the double implements, with the spec's template names.
pub(super) const ROUTES: &[&str] = &[
    "GET /gateway",
    "GET /gateway/bot",
    "GET /users/@me",
    "GET /applications/@me",
    "GET /oauth2/applications/@me",
    "GET /guilds/{guild_id}/channels",
    "POST /guilds/{guild_id}/channels",
    "GET /channels/{channel_id}",
    "PATCH /channels/{channel_id}",
    "PUT /channels/{channel_id}/permissions/{overwrite_id}",
    "POST /channels/{channel_id}/messages",
    "PUT /channels/{channel_id}/pins/{message_id}",
    "PUT /channels/{channel_id}/messages/pins/{message_id}",
    "GET /channels/{channel_id}/messages/{message_id}",
    "GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}",
    "POST /interactions/{interaction_id}/{interaction_token}/callback",
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original",
    "PUT /applications/{application_id}/guilds/{guild_id}/commands",
];

/// Routes that take no bot token (used when the spec is absent; otherwise the spec decides).
pub(super) const NO_TOKEN_NEEDED: &[&str] = &[
    "GET /gateway",
    "POST /interactions/{}/{}/callback",
    "PATCH /webhooks/{}/{}/messages/@original",
];

/// Body keys Discord accepts and documents but the OpenAPI spec lacks: serenity 0.12.5's
/// CreateCommand always sends `nsfw`, and ChannelId::create_permission sends the overwrite `id`.
pub(super) const SPEC_GAPS: &[(&str, &str)] = &[
    ("PUT /applications/{}/guilds/{}/commands", "nsfw"),
    ("PUT /channels/{}/permissions/{}", "id"),
];

/// `POST /channels/{channel_id}/messages` → `POST /channels/{}/messages`, so that route keys
/// match whatever the placeholders are called.
pub(super) fn norm(route: &str) -> String {
    let mut out = String::with_capacity(route.len());
    let mut inside = false;
    for c in route.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

pub(super) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = if b[i] == b'%' { b.get(i + 1..i + 3) } else { None };
        let byte = hex.and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match byte {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How many literal segments of `template` match `segs`; None when it does not fit.
pub(super) fn fits(template: &str, segs: &[String]) -> Option<usize> {
    let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    if parts.len() != segs.len() {
        return None;
    }
    let mut literal = 0;
    for (t, s) in parts.iter().zip(segs) {
        if t.starts_with('{') {
            if s.is_empty() {
                return None;
            }
        } else if t == s {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

pub(super) fn route_of(method: &str, segs: &[String]) -> Option<(&'static str, Params)> {
    let candidates = ROUTES.iter().copied().filter_map(|r| {
        let (m, template) = r.split_once(' ')?;
        Some((fits(template, segs).filter(|_| m == method)?, r, template))
    });
    let (_, route, template) = candidates.max_by_key(|(literal, _, _)| *literal)?;
    let names = template.trim_start_matches('/').split('/').zip(segs);
    let params = names.filter_map(|(t, s)| {
        Some((t.strip_prefix('{')?.strip_suffix('}')?.to_string(), s.clone()))
    });
    Some((route, params.collect()))
}

pub(super) fn spec() -> Option<&'static Value> {
    static SPEC: OnceLock<Option<Value>> = OnceLock::new();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/specs/discord-openapi.json");
    let load = || {
        let bytes = std::fs::read(path).ok()?;
        Some(serde_json::from_slice::<Value>(&bytes).expect("the Discord spec is JSON"))
    };
    SPEC.get_or_init(load).as_ref()
}

/// The spec operation for this method and path, preferring literal segments (`@me`).
pub(super) fn spec_op(
    spec: &'static Value,
    method: &str,
    segs: &[String],
) -> Option<&'static Value> {
    let method = method.to_ascii_lowercase();
    let paths = spec["paths"].as_object()?;
    let fitting = paths.iter().filter_map(|(template, ops)| {
        let op = ops.get(method.as_str())?;
        Some((fits(template, segs)?, op))
    });
    fitting.max_by_key(|(literal, _)| *literal).map(|(_, op)| op)
}

/// Properties and required keys of one object a request schema allows.
pub(super) type Shape = (BTreeSet<String>, BTreeSet<String>);

/// The object shapes a schema allows: one per oneOf/anyOf branch, allOf merged, `$ref` followed.
pub(super) fn shapes(spec: &Value, schema: &Value, depth: u8) -> Vec<Shape> {
    if depth > 8 {
        return vec![];
    }
    if let Some(target) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
        let resolved = target.split('/').fold(spec, |v, key| &v[key]);
        return shapes(spec, resolved, depth + 1);
    }
    for union in ["oneOf", "anyOf"] {
        if let Some(branches) = schema[union].as_array() {
            return branches.iter().flat_map(|b| shapes(spec, b, depth + 1)).collect();
        }
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged: Shape = Default::default();
        for (props, required) in parts.iter().flat_map(|p| shapes(spec, p, depth + 1)) {
            merged.0.extend(props);
            merged.1.extend(required);
        }
        return if merged.0.is_empty() { vec![] } else { vec![merged] };
    }
    let Some(props) = schema["properties"].as_object() else { return vec![] };
    let required = schema["required"].as_array().into_iter().flatten();
    vec![(
        props.keys().cloned().collect(),
        required.filter_map(|r| r.as_str().map(String::from)).collect(),
    )]
}

/// Every top-level body key must be a property, and required ones present, of some shape the
/// operation's JSON schema allows (for array bodies: of each item). Unresolvable: no opinion.
pub(super) fn check_body(spec: &Value, op: &Value, route: &str, body: &Value) -> Option<String> {
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    let (schema, items): (&Value, Vec<&Value>) = match body {
        Value::Array(list) => (&schema["items"], list.iter().collect()),
        Value::Object(_) => (schema, vec![body]),
        _ => return None,
    };
    let allowed = shapes(spec, schema, 0);
    if allowed.is_empty() {
        return None;
    }
    for item in items {
        let Some(obj) = item.as_object() else { continue };
        let gap = |k: &str| SPEC_GAPS.iter().any(|(r, key)| *r == route && *key == k);
        let keys: BTreeSet<&str> = obj.keys().map(String::as_str).filter(|k| !gap(k)).collect();
        let fit = |(props, required): &Shape| {
            keys.iter().all(|k| props.contains(*k))
                && required.iter().all(|r| keys.contains(r.as_str()))
        };
        if !allowed.iter().any(fit) {
            let unknown: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|k| !allowed.iter().any(|s| s.0.contains(*k)))
                .collect();
            return Some(format!(
                "{route}: body keys {keys:?} fit no request schema (unknown: {unknown:?})"
            ));
        }
    }
    None
}
