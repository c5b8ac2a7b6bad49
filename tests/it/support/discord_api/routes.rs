//! The REST routes the double implements: checks every call (token, spec, body), then
//! keeps the guild's state as Discord would.

use super::*;

pub(super) type Params = BTreeMap<String, String>;
pub(super) type Files = Vec<(String, Vec<u8>)>;

pub(super) async fn rest(
    State(world): State<Arc<Mutex<World>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut w = world.lock().unwrap();
    let raw = format!("{method} {}", uri.path());
    let Some(path) = uri.path().strip_prefix("/api/v10/") else {
        w.calls.push(raw.clone());
        w.violations.push(format!("{raw}: not under /api/v10"));
        return error(404, 0, "404: Not Found");
    };
    let segs: Vec<String> = path.split('/').map(percent_decode).collect();
    let route = route_of(method.as_str(), &segs);
    let key = route.as_ref().map_or(raw.clone(), |(r, _)| norm(r));
    w.calls.push(key.clone());
    let op = spec().map(|spec| spec_op(spec, method.as_str(), &segs));
    let token_optional = match op {
        Some(Some(op)) => op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s.as_object().is_some_and(|o| o.is_empty()))),
        _ => NO_TOKEN_NEEDED.iter().any(|r| *r == key),
    };
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let authed = auth.is_some_and(|a| a.starts_with("Bot ") && a.len() > 4);
    let allowed = authed || (auth.is_none() && token_optional);
    if !allowed {
        w.violations.push(format!("{raw}: no `Authorization: Bot <token>` header"));
        return error(401, 0, "401: Unauthorized");
    }
    if let Some(None) = op {
        w.violations.push(format!("{raw}: no such route in the Discord API spec"));
        return error(404, 0, "404: Not Found");
    }
    let (payload, files) = match parse_body(&headers, &body) {
        Ok(parsed) => parsed,
        Err(why) => {
            w.violations.push(format!("{raw}: {why}"));
            return error(400, 50109, "The request body contains invalid JSON.");
        }
    };
    if let (Some(spec), Some(Some(op))) = (spec(), op)
        && let Some(v) = check_body(spec, op, &key, &payload)
    {
        w.violations.push(v);
    }
    let Some((route, params)) = route else {
        w.violations.push(format!("{raw}: the double does not implement this route"));
        return error(404, 0, "404: Not Found");
    };
    if let Some(limited) = w.globally_limited() {
        return limited;
    }
    match w.failures.get_mut(&key).and_then(VecDeque::pop_front) {
        None | Some(Failure::Pass) => handle(&mut w, route, &params, payload, files),
        Some(Failure::StatusAfterApplying(code)) => {
            drop(handle(&mut w, route, &params, payload, files));
            bare(code)
        }
        Some(failure) => w.serve_failure(failure),
    }
}

pub(super) fn handle(
    w: &mut World,
    route: &str,
    p: &Params,
    body: Value,
    files: Files,
) -> Response {
    let arg = |k: &str| p.get(k).map_or("", String::as_str);
    let unknown_channel = || error(404, 10003, "Unknown Channel");
    let unknown_message = || error(404, 10008, "Unknown Message");
    match route {
        "GET /gateway" => ok(json!({"url": w.gateway_url})),
        "GET /gateway/bot" => ok(json!({
            "url": w.gateway_url, "shards": 1,
            "session_start_limit":
                {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        })),
        "GET /users/@me" => ok(gateway::current_user_json()),
        "GET /applications/@me" | "GET /oauth2/applications/@me" => ok(gateway::application_json()),
        "GET /guilds/{guild_id}/channels" | "POST /guilds/{guild_id}/channels"
            if arg("guild_id") != GUILD =>
        {
            error(404, 10004, "Unknown Guild")
        }
        "GET /guilds/{guild_id}/channels" => {
            ok(w.channels.iter().map(|(id, c)| channel_json(id, c)).collect())
        }
        "POST /guilds/{guild_id}/channels" => create_channel(w, &body),
        "GET /channels/{channel_id}" => match w.channels.get(arg("channel_id")) {
            Some(c) => ok(channel_json(arg("channel_id"), c)),
            None => unknown_channel(),
        },
        "PATCH /channels/{channel_id}" => edit_channel(w, arg("channel_id"), &body),
        "PUT /channels/{channel_id}/permissions/{overwrite_id}" => {
            put_overwrite(w, arg("channel_id"), arg("overwrite_id"), &body)
        }
        "POST /channels/{channel_id}/messages" => post_message(w, arg("channel_id"), body, files),
        "PUT /channels/{channel_id}/pins/{message_id}"
        | "PUT /channels/{channel_id}/messages/pins/{message_id}" => {
            let (cid, mid) = (arg("channel_id"), arg("message_id"));
            let Some(ch) = w.channels.get_mut(cid) else { return unknown_channel() };
            if !ch.messages.iter().any(|m| m.id == mid && !m.deleted) {
                return unknown_message();
            }
            if !pinned(ch, mid) {
                ch.pins.push(mid.into());
            }
            StatusCode::NO_CONTENT.into_response()
        }
        "GET /channels/{channel_id}/messages/{message_id}" => {
            let (cid, mid) = (arg("channel_id"), arg("message_id"));
            let Some(ch) = w.channels.get(cid) else { return unknown_channel() };
            match ch.messages.iter().find(|m| m.id == mid && !m.deleted) {
                Some(m) => ok(message_json(cid, m, pinned(ch, mid))),
                None => unknown_message(),
            }
        }
        "GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}" => {
            let (cid, mid, emoji) = (arg("channel_id"), arg("message_id"), arg("emoji_name"));
            let Some(ch) = w.channels.get(cid) else { return unknown_channel() };
            match ch.messages.iter().find(|m| m.id == mid && !m.deleted) {
                Some(m) => {
                    let who = m.reactions.iter().filter(|(e, _)| e == emoji);
                    ok(who.map(|(_, user)| user_json(user)).collect())
                }
                None => unknown_message(),
            }
        }
        "POST /interactions/{interaction_id}/{interaction_token}/callback" => {
            callback(w, arg("interaction_id"), arg("interaction_token"), body)
        }
        "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original" => {
            edit_original(w, arg("webhook_id"), arg("webhook_token"), body)
        }
        "PUT /applications/{application_id}/guilds/{guild_id}/commands" => {
            put_commands(w, arg("application_id"), arg("guild_id"), body)
        }
        other => error(404, 0, &format!("{other}: not implemented")),
    }
}

/// Discord's form checks on a channel body: name, topic and parent category.
pub(super) fn check_channel(w: &World, body: &Value, kind: u8) -> Option<Response> {
    if let Some(name) = body.get("name") {
        let name = name.as_str().unwrap_or("");
        if !(1..=100).contains(&name.chars().count()) {
            let why = "Must be between 1 and 100 in length.";
            return Some(form_error("name", "BASE_TYPE_BAD_LENGTH", why));
        }
        if kind != 4 && (name != name.to_lowercase() || name.contains(char::is_whitespace)) {
            let why = "Text channel names must be lowercase, without spaces.";
            return Some(form_error("name", "CHANNEL_NAME_INVALID", why));
        }
    }
    if body["topic"].as_str().is_some_and(|t| t.chars().count() > 1024) {
        let why = "Must be 1024 or fewer in length.";
        return Some(form_error("topic", "BASE_TYPE_MAX_LENGTH", why));
    }
    if let Some(parent) = body["parent_id"].as_str()
        && w.channels.get(parent).is_none_or(|c| c.kind != 4)
    {
        let why = "Category does not exist.";
        return Some(form_error("parent_id", "CHANNEL_PARENT_INVALID", why));
    }
    None
}

pub(super) fn create_channel(w: &mut World, body: &Value) -> Response {
    let kind = body["type"].as_u64().unwrap_or(0) as u8;
    if body.get("name").is_none() {
        return form_error("name", "BASE_TYPE_REQUIRED", "This field is required");
    }
    if let Some(bad) = check_channel(w, body, kind) {
        return bad;
    }
    let id = w.next_id();
    let ch = Channel {
        name: body["name"].as_str().unwrap_or("").into(),
        kind,
        position: w.channels.len() as u16,
        parent_id: body["parent_id"].as_str().map(String::from),
        topic: body["topic"].as_str().unwrap_or("").into(),
        overwrites: overwrites(&body["permission_overwrites"]),
        ..Default::default()
    };
    let out = channel_json(&id, &ch);
    w.channels.insert(id, ch);
    (StatusCode::CREATED, axum::Json(out)).into_response()
}

pub(super) fn edit_channel(w: &mut World, cid: &str, body: &Value) -> Response {
    let Some(kind) = w.channels.get(cid).map(|c| c.kind) else {
        return error(404, 10003, "Unknown Channel");
    };
    if let Some(bad) = check_channel(w, body, kind) {
        return bad;
    }
    let ch = w.channels.get_mut(cid).expect("checked above");
    if let Some(name) = body["name"].as_str() {
        ch.name = name.into();
    }
    if let Some(topic) = body.get("topic") {
        ch.topic = topic.as_str().unwrap_or("").into();
    }
    if let Some(parent) = body.get("parent_id") {
        ch.parent_id = parent.as_str().map(String::from);
    }
    if let Some(o) = body.get("permission_overwrites") {
        ch.overwrites = overwrites(o);
    }
    ok(channel_json(cid, ch))
}

pub(super) fn put_overwrite(w: &mut World, cid: &str, target: &str, body: &Value) -> Response {
    if !w.channels.contains_key(cid) {
        return error(404, 10003, "Unknown Channel");
    }
    let kind = match body["type"].as_u64() {
        Some(1) if !w.users.contains(target) => return error(404, 10013, "Unknown User"),
        // The only role is @everyone, whose id is the guild's.
        Some(0) if target != GUILD => return error(404, 10011, "Unknown Role"),
        Some(kind @ (0 | 1)) => kind as u8,
        _ => return form_error("type", "BASE_TYPE_CHOICES", "Value must be one of {0, 1}."),
    };
    let ch = w.channels.get_mut(cid).expect("checked above");
    ch.overwrites.retain(|o| o.id != target);
    let (allow, deny) = (bits(&body["allow"]), bits(&body["deny"]));
    ch.overwrites.push(Overwrite { id: target.into(), kind, allow, deny });
    StatusCode::NO_CONTENT.into_response()
}

pub(super) fn post_message(w: &mut World, cid: &str, body: Value, files: Files) -> Response {
    let content = body["content"].as_str().unwrap_or("").to_string();
    if content.chars().count() > MAX_CONTENT {
        let why = "Must be 2000 or fewer in length.";
        return form_error("content", "BASE_TYPE_MAX_LENGTH", why);
    }
    let Some(kind) = w.channels.get(cid).map(|c| c.kind) else {
        return error(404, 10003, "Unknown Channel");
    };
    if kind == 4 {
        return error(400, 50008, "Cannot send messages in a non-text channel");
    }
    let has_embeds = body["embeds"].as_array().is_some_and(|e| !e.is_empty());
    if content.is_empty() && files.is_empty() && !has_embeds {
        return error(400, 50006, "Cannot send an empty message");
    }
    let id = w.next_id();
    let msg = Msg {
        id: id.clone(),
        author: BOT_USER_ID.into(),
        content,
        timestamp: timestamp_of(&id),
        allowed_mentions: body["allowed_mentions"].clone(),
        attachments: files,
        ..Default::default()
    };
    let out = message_json(cid, &msg, false);
    let event = event_message(cid, &msg, false);
    w.channels.get_mut(cid).expect("checked above").messages.push(msg);
    w.dispatch("MESSAGE_CREATE", event);
    ok(out)
}

/// The initial response to an interaction: within 3 s, once.
pub(super) fn callback(w: &mut World, iid: &str, token: &str, body: Value) -> Response {
    let found = w.issued.iter().position(|i| i.id == iid && i.token == token);
    let Some(i) = found.filter(|i| w.issued[*i].created.elapsed() <= Duration::from_secs(3)) else {
        return error(404, 10062, "Unknown interaction");
    };
    if w.issued[i].acked {
        return error(400, 40060, "Interaction has already been acknowledged.");
    }
    let kind = body["type"].as_u64().unwrap_or(0);
    if !matches!(kind, 4 | 5 | 9) {
        let why = "Value must be one of {4, 5, 9}.";
        return form_error("type", "BASE_TYPE_CHOICES", why);
    }
    let content = body["data"]["content"].as_str().unwrap_or("");
    if content.chars().count() > MAX_CONTENT {
        let why = "Must be 2000 or fewer in length.";
        return form_error("data.content", "BASE_TYPE_MAX_LENGTH", why);
    }
    if kind != 9 {
        let id = w.next_id();
        let public = (body["data"]["flags"].as_u64().unwrap_or(0) & 64) == 0;
        let msg = Msg {
            id: id.clone(),
            author: BOT_USER_ID.into(),
            content: content.into(),
            timestamp: timestamp_of(&id),
            allowed_mentions: body["data"]["allowed_mentions"].clone(),
            ..Default::default()
        };
        let channel = w.issued[i].channel.clone();
        if public && let Some(ch) = w.channels.get_mut(&channel) {
            ch.messages.push(msg.clone());
            w.dispatch("MESSAGE_CREATE", event_message(&channel, &msg, false));
        }
        w.issued[i].original = Some((msg, public));
    }
    w.issued[i].acked = true;
    w.callbacks.push((iid.into(), body));
    StatusCode::NO_CONTENT.into_response()
}

/// Editing the original response; the token works for 15 minutes.
pub(super) fn edit_original(w: &mut World, app: &str, token: &str, body: Value) -> Response {
    let found = w.issued.iter().position(|i| i.token == token).filter(|_| app == APP_ID);
    let Some(i) = found else { return error(404, 10015, "Unknown Webhook") };
    if w.issued[i].created.elapsed() > Duration::from_secs(15 * 60) {
        return error(401, 50027, "Invalid Webhook Token");
    }
    let content = body["content"].as_str();
    if content.is_some_and(|c| c.chars().count() > MAX_CONTENT) {
        let why = "Must be 2000 or fewer in length.";
        return form_error("content", "BASE_TYPE_MAX_LENGTH", why);
    }
    let channel = w.issued[i].channel.clone();
    // Answered inline over HTTP (the double did not see that), the original is new here.
    let (mut msg, public) = match w.issued[i].original.clone() {
        Some(original) => original,
        None => {
            let id = w.next_id();
            let timestamp = timestamp_of(&id);
            (Msg { id, author: BOT_USER_ID.into(), timestamp, ..Default::default() }, false)
        }
    };
    if let Some(c) = content {
        msg.content = c.into();
    }
    if let Some(mentions) = body.get("allowed_mentions") {
        msg.allowed_mentions = mentions.clone();
    }
    msg.edited_timestamp = Some(now());
    let shown = w
        .channels
        .get_mut(&channel)
        .and_then(|c| c.messages.iter_mut().find(|m| m.id == msg.id && public));
    if let Some(m) = shown {
        *m = msg.clone();
    }
    let mut out = message_json(&channel, &msg, false);
    out["webhook_id"] = json!(APP_ID);
    out["application_id"] = json!(APP_ID);
    out["type"] = json!(20);
    out["flags"] = json!(if public { 0 } else { 64 });
    w.issued[i].original = Some((msg, public));
    w.followups.push((token.into(), body));
    ok(out)
}

/// Bulk overwrite: the list replaces what was there; same-named commands keep their ids.
pub(super) fn put_commands(w: &mut World, app: &str, guild: &str, body: Value) -> Response {
    if app != APP_ID {
        return error(403, 50001, "Missing Access");
    }
    if guild != GUILD {
        return error(404, 10004, "Unknown Guild");
    }
    let Value::Array(list) = body else {
        return form_error("", "ARRAY_TYPE_CONVERT", "Only iterables may be used");
    };
    let mut out = Vec::new();
    for (n, mut c) in list.into_iter().enumerate() {
        let slash = c["type"].as_u64().unwrap_or(1) == 1;
        if let Some((path, code, why)) = command_problem(&c, &n.to_string(), slash) {
            return form_error(&path, code, why);
        }
        let kind = c["type"].as_u64().unwrap_or(1);
        let same = w.commands.iter().find(|p| p["name"] == c["name"] && p["type"] == kind);
        let id = same.map(|p| p["id"].clone());
        c["id"] = id.unwrap_or_else(|| json!(w.next_id()));
        c["type"] = json!(kind);
        c["application_id"] = json!(APP_ID);
        c["guild_id"] = json!(GUILD);
        c["version"] = json!(w.next_id());
        if c["description"].is_null() {
            c["description"] = json!("");
        }
        out.push(c);
    }
    w.commands = out.clone();
    ok(Value::Array(out))
}

/// Where a body is wrong, Discord's error code for it, and why.
pub(super) type Problem = (String, &'static str, &'static str);

/// Discord's checks on a command or option: names 1–32 chars (lowercase without spaces for
/// slash commands and options), descriptions 1–100 chars, at most 25 options.
pub(super) fn command_problem(c: &Value, path: &str, slash: bool) -> Option<Problem> {
    if !c.is_object() {
        return Some((path.into(), "MODEL_TYPE_CONVERT", "Only dictionaries may be used"));
    }
    let name = c["name"].as_str().unwrap_or("");
    let bad_case = slash && (name != name.to_lowercase() || name.contains(' '));
    if !(1..=32).contains(&name.chars().count()) || bad_case {
        return Some((format!("{path}.name"), "APPLICATION_COMMAND_INVALID_NAME", "Invalid name"));
    }
    let described = c["description"].as_str().map_or(0, |d| d.chars().count());
    if slash && !(1..=100).contains(&described) {
        let why = "Must be between 1 and 100 in length.";
        return Some((format!("{path}.description"), "BASE_TYPE_BAD_LENGTH", why));
    }
    let options = c["options"].as_array().map(Vec::as_slice).unwrap_or_default();
    if options.len() > 25 {
        let why = "Must be 25 or fewer in length.";
        return Some((format!("{path}.options"), "BASE_TYPE_MAX_LENGTH", why));
    }
    let mut nested = options.iter().enumerate();
    nested.find_map(|(i, o)| command_problem(o, &format!("{path}.options.{i}"), true))
}

pub(super) fn overwrites(v: &Value) -> Vec<Overwrite> {
    let list = v.as_array().into_iter().flatten();
    list.map(|o| Overwrite {
        id: o["id"].as_str().map_or_else(|| o["id"].to_string(), String::from),
        kind: o["type"].as_u64().unwrap_or(0) as u8,
        allow: bits(&o["allow"]),
        deny: bits(&o["deny"]),
    })
    .collect()
}

/// A permission bit set sent as a string (as Discord documents) or a number.
pub(super) fn bits(v: &Value) -> u64 {
    v.as_u64().or_else(|| v.as_str()?.parse().ok()).unwrap_or(0)
}
