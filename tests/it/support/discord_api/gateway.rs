//! The Discord double's gateway (HELLO, IDENTIFY → READY, heartbeats, dispatches) and the JSON
//! objects Discord sends, shaped so that serenity 0.12.5's strict models accept them.

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::tungstenite::Message as Frame;

use super::{APP_ID, BOT_USER_ID, Channel, GUILD, Msg, Overwrite, World};

const HEARTBEAT_MS: u64 = 41_250;
const JOINED_AT: &str = "2024-01-02T03:04:05.000000+00:00";

/// One websocket connection; dispatches reach it once it got READY.
pub(super) struct Session {
    pub(super) key: u64,
    pub(super) tx: UnboundedSender<String>,
    pub(super) seq: u64,
    pub(super) ready: bool,
}

impl World {
    /// Sends `t` to every ready session, each with its own next sequence number.
    pub(super) fn dispatch(&mut self, t: &str, d: Value) {
        self.sessions.retain(|s| !s.tx.is_closed());
        for s in self.sessions.iter_mut().filter(|s| s.ready) {
            s.seq += 1;
            let _ = s.tx.send(json!({"op": 0, "t": t, "s": s.seq, "d": d}).to_string());
        }
    }
}

pub(super) async fn serve(listener: TcpListener, world: Arc<Mutex<World>>) {
    while let Ok((tcp, _)) = listener.accept().await {
        tokio::spawn(session(tcp, world.clone()));
    }
}

async fn session(tcp: TcpStream, world: Arc<Mutex<World>>) {
    let Ok(conn) = tokio_tungstenite::accept_async(tcp).await else { return };
    let (mut sink, mut stream) = conn.split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let _ = tx.send(op_frame(10, json!({"heartbeat_interval": HEARTBEAT_MS})));
    let key = {
        let mut w = world.lock().unwrap();
        w.next_session += 1;
        let key = w.next_session;
        w.sessions.push(Session { key, tx: tx.clone(), seq: 0, ready: false });
        key
    };
    let writer = tokio::spawn(async move {
        while let Some(text) = rx.recv().await {
            if sink.send(Frame::text(text)).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(frame)) = stream.next().await {
        match frame {
            Frame::Text(text) => receive(&world, key, &tx, text.as_str()),
            Frame::Close(_) => break,
            _ => {}
        }
    }
    world.lock().unwrap().sessions.retain(|s| s.key != key);
    writer.abort();
}

/// One frame from the bot: heartbeats are acked, IDENTIFY gets READY, RESUME is refused
/// (op 9, not resumable), so the bot identifies afresh.
fn receive(world: &Mutex<World>, key: u64, tx: &UnboundedSender<String>, text: &str) {
    let v: Value = serde_json::from_str(text).unwrap_or_default();
    let mut w = world.lock().unwrap();
    match v["op"].as_u64() {
        Some(1) => {
            let _ = tx.send(op_frame(11, Value::Null));
        }
        Some(2) => {
            w.identifies += 1;
            let d = &v["d"];
            if d["token"].as_str().is_none_or(str::is_empty) || !d["intents"].is_u64() {
                w.violations.push("gateway: IDENTIFY without a token or intents".into());
                return;
            }
            let ready = ready_json(key, &d["shard"], &w.gateway_url);
            if let Some(s) = w.sessions.iter_mut().find(|s| s.key == key) {
                s.ready = true;
                s.seq += 1;
                let _ =
                    s.tx.send(json!({"op": 0, "t": "READY", "s": s.seq, "d": ready}).to_string());
            }
        }
        Some(6) => {
            let _ = tx.send(op_frame(9, json!(false)));
        }
        // Presence, voice state and member requests: nothing to do.
        Some(3 | 4 | 8) => {}
        _ => w.violations.push(format!("gateway: unexpected frame {text}")),
    }
}

fn op_frame(op: u8, d: Value) -> String {
    json!({"op": op, "d": d, "s": null, "t": null}).to_string()
}

fn ready_json(key: u64, shard: &Value, gateway_url: &str) -> Value {
    let shard = if shard.is_array() { shard.clone() } else { json!([0, 1]) };
    json!({
        "v": 10, "user": current_user_json(), "guilds": [{"id": GUILD, "unavailable": true}],
        "session_id": format!("double-session-{key}"), "resume_gateway_url": gateway_url,
        "shard": shard, "application": {"id": APP_ID, "flags": 0}, "private_channels": []
    })
}

pub(super) fn user_json(id: &str) -> Value {
    let bot = id == BOT_USER_ID;
    let name = if bot { "tocsin".to_string() } else { format!("user-{id}") };
    json!({
        "id": id, "username": name, "discriminator": "0", "global_name": null, "avatar": null,
        "bot": bot, "public_flags": 0
    })
}

pub(super) fn current_user_json() -> Value {
    let mut me = user_json(BOT_USER_ID);
    me["verified"] = json!(true);
    me["mfa_enabled"] = json!(false);
    me["flags"] = json!(0);
    me
}

/// What `/applications/@me` and `/oauth2/applications/@me` answer.
pub(super) fn application_json() -> Value {
    json!({
        "id": APP_ID, "name": "tocsin", "icon": null, "description": "", "bot_public": false,
        "bot_require_code_grant": false, "verify_key": "0".repeat(64), "flags": 0,
        "owner": null, "team": null, "rpc_origins": [], "bot": current_user_json()
    })
}

/// A guild member; `with_user` as in reactions and interactions, without as in messages
/// and resolved data.
pub(super) fn member_json(id: &str, with_user: bool) -> Value {
    let mut m = json!({
        "roles": [], "joined_at": JOINED_AT, "deaf": false, "mute": false, "flags": 0,
        "pending": false, "nick": null, "avatar": null, "premium_since": null,
        "communication_disabled_until": null
    });
    if with_user {
        m["user"] = user_json(id);
    }
    m
}

pub(super) fn channel_json(id: &str, ch: &Channel) -> Value {
    let overwrite = |o: &Overwrite| {
        let (allow, deny) = (o.allow.to_string(), o.deny.to_string());
        json!({"id": o.id, "type": o.kind, "allow": allow, "deny": deny})
    };
    let overwrites: Vec<Value> = ch.overwrites.iter().map(overwrite).collect();
    json!({
        "id": id, "type": ch.kind, "guild_id": GUILD, "name": ch.name, "position": ch.position,
        "parent_id": ch.parent_id, "topic": (!ch.topic.is_empty()).then_some(&ch.topic),
        "nsfw": false, "rate_limit_per_user": 0, "flags": 0,
        "last_message_id": ch.messages.last().map(|m| &m.id), "permission_overwrites": overwrites
    })
}

/// A message as REST answers it (no guild_id, no member).
pub(super) fn message_json(channel: &str, m: &Msg, pinned: bool) -> Value {
    let base: u64 = m.id.parse().unwrap_or(1);
    let attachments: Vec<Value> = m
        .attachments
        .iter()
        .enumerate()
        .map(|(i, (name, bytes))| {
            let id = base + 1 + i as u64;
            let path = format!("attachments/{channel}/{id}/{name}");
            json!({
                "id": id.to_string(), "filename": name, "size": bytes.len(),
                "url": format!("https://cdn.discordapp.com/{path}"),
                "proxy_url": format!("https://media.discordapp.net/{path}")
            })
        })
        .collect();
    json!({
        "id": m.id, "channel_id": channel, "author": user_json(&m.author), "content": m.content,
        "timestamp": m.timestamp, "edited_timestamp": m.edited_timestamp, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": attachments,
        "embeds": [], "pinned": pinned, "type": 0, "flags": 0, "components": []
    })
}

/// A message as the gateway sends it (MESSAGE_CREATE, MESSAGE_UPDATE).
pub(super) fn event_message(channel: &str, m: &Msg, pinned: bool) -> Value {
    let mut v = message_json(channel, m, pinned);
    v["guild_id"] = json!(GUILD);
    v["member"] = member_json(&m.author, false);
    v
}

/// MESSAGE_REACTION_ADD / _REMOVE; the add also carries the member and message author.
pub(super) fn reaction_json(channel: &str, message: &str, emoji: &str, user: &str) -> Value {
    json!({
        "user_id": user, "channel_id": channel, "message_id": message, "guild_id": GUILD,
        "emoji": {"id": null, "name": emoji}, "burst": false, "type": 0
    })
}

mod tests {
    use std::time::Duration;

    use futures_util::{SinkExt, StreamExt};
    use serde_json::{Value, json};
    use serenity::builder::CreateAttachment;
    use serenity::http::{HttpBuilder, HttpError};
    use serenity::model::application::{CommandDataOptionValue, CommandType, Interaction};
    use serenity::model::channel::{Channel as AnyChannel, ReactionType};
    use serenity::model::event::{Event, GatewayEvent};
    use serenity::model::id::{ApplicationId, GuildId, InteractionId, MessageId, TargetId};
    use tokio_tungstenite::tungstenite::Message as Frame;

    use super::super::{APP_ID, BOT_USER_ID, CATEGORY, DiscordApi, Failure, GUILD};

    const GENERAL: &str = "100000000000000010";
    const ALICE: &str = "200000000000000010";

    type Ws = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;

    /// The next text frame, read the way serenity reads it.
    async fn next(ws: &mut Ws) -> GatewayEvent {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
            let frame = frame.expect("a frame within 5 s").expect("open").expect("a frame");
            if let Frame::Text(text) = frame {
                let text = text.as_str();
                return serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("serenity rejects {text}: {e}"));
            }
        }
    }

    async fn send(ws: &mut Ws, frame: Value) {
        ws.send(Frame::text(frame.to_string())).await.unwrap();
    }

    fn n(id: &str) -> u64 {
        id.parse().unwrap()
    }

    /// (HTTP status, Discord code) of a refused call.
    fn refusal<T>(result: serenity::Result<T>) -> (u16, isize) {
        match result {
            Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(e))) => {
                (e.status_code.as_u16(), e.error.code)
            }
            Err(other) => panic!("not a refusal: {other}"),
            Ok(_) => panic!("expected a refusal"),
        }
    }

    #[tokio::test]
    async fn the_doubles_gateway_payloads_deserialize_with_serenitys_models() {
        let api = DiscordApi::start(&[(GENERAL, "general")], &[ALICE]).await;
        let url = format!("{}/?v=10&encoding=json", api.gateway_url());
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        assert!(matches!(next(&mut ws).await, GatewayEvent::Hello(41_250)));
        let identify = json!({"token": "Bot t", "intents": 0, "properties": {}, "shard": [0, 1]});
        send(&mut ws, json!({"op": 2, "d": identify})).await;
        let GatewayEvent::Dispatch(1, Event::Ready(ready)) = next(&mut ws).await else {
            panic!("READY comes first")
        };
        assert_eq!(ready.ready.user.id.to_string(), BOT_USER_ID);
        assert_eq!(ready.ready.application.id.to_string(), APP_ID);
        assert_eq!((api.gateway_sessions(), api.identifies()), (1, 1));

        let said = api.say(GENERAL, ALICE, "db is on fire");
        let GatewayEvent::Dispatch(2, Event::MessageCreate(created)) = next(&mut ws).await else {
            panic!("MESSAGE_CREATE")
        };
        assert_eq!(
            (created.message.id.to_string(), created.message.content),
            (said.clone(), "db is on fire".to_string())
        );
        api.react(GENERAL, &said, "📌", ALICE);
        let GatewayEvent::Dispatch(_, Event::ReactionAdd(added)) = next(&mut ws).await else {
            panic!("MESSAGE_REACTION_ADD")
        };
        assert_eq!(added.reaction.emoji, ReactionType::Unicode("📌".into()));
        let member = added.reaction.member.as_ref().map(|m| m.user.id.to_string());
        assert_eq!(member.as_deref(), Some(ALICE));
        api.unreact(GENERAL, &said, "📌", ALICE);
        let GatewayEvent::Dispatch(_, Event::ReactionRemove(removed)) = next(&mut ws).await else {
            panic!("MESSAGE_REACTION_REMOVE")
        };
        assert_eq!(removed.reaction.user_id.map(|u| u.to_string()).as_deref(), Some(ALICE));
        api.edit(GENERAL, &said, "db is fine");
        let GatewayEvent::Dispatch(_, Event::MessageUpdate(updated)) = next(&mut ws).await else {
            panic!("MESSAGE_UPDATE")
        };
        assert_eq!(updated.content.as_deref(), Some("db is fine"));
        assert!(updated.edited_timestamp.is_some());
        api.delete(GENERAL, &said);
        let GatewayEvent::Dispatch(_, Event::MessageDelete(deleted)) = next(&mut ws).await else {
            panic!("MESSAGE_DELETE")
        };
        assert_eq!(deleted.message_id.to_string(), said);

        let options = json!([
            {"name": "title", "type": 3, "value": "Checkout down"},
            {"name": "user", "type": 6, "value": ALICE}
        ]);
        let (id, d) = api.command_interaction(ALICE, GENERAL, "declare", options);
        api.dispatch("INTERACTION_CREATE", d);
        let GatewayEvent::Dispatch(_, Event::InteractionCreate(created)) = next(&mut ws).await
        else {
            panic!("INTERACTION_CREATE")
        };
        let Interaction::Command(cmd) = created.interaction else { panic!("a command") };
        assert_eq!((cmd.id.to_string(), cmd.data.name.as_str()), (id, "incident"));
        assert_eq!(cmd.user.id.to_string(), ALICE);
        assert!(cmd.data.resolved.users.keys().any(|u| u.to_string() == ALICE));
        let CommandDataOptionValue::SubCommand(given) = &cmd.data.options[0].value else {
            panic!("a subcommand")
        };
        assert_eq!((cmd.data.options[0].name.as_str(), given.len()), ("declare", 2));

        let kept = api.say(GENERAL, ALICE, "rolled back");
        assert!(matches!(next(&mut ws).await, GatewayEvent::Dispatch(_, Event::MessageCreate(_))));
        let (_, d) = api.message_interaction(ALICE, GENERAL, &kept);
        let Ok(Interaction::Command(menu)) = serde_json::from_value::<Interaction>(d) else {
            panic!("a message command")
        };
        assert_eq!(menu.data.kind, CommandType::Message);
        assert_eq!(menu.data.target_id.map(|t| t.to_string()), Some(kept));
        assert!(menu.data.resolved.messages.values().any(|m| m.content == "rolled back"));

        send(&mut ws, json!({"op": 1, "d": 7})).await;
        assert!(matches!(next(&mut ws).await, GatewayEvent::HeartbeatAck));
        send(&mut ws, json!({"op": 6, "d": {"token": "Bot t", "session_id": "x", "seq": 7}})).await;
        assert!(matches!(next(&mut ws).await, GatewayEvent::InvalidateSession(false)));
        assert_eq!(api.violations(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn serenitys_http_client_understands_the_doubles_answers() {
        let api = DiscordApi::start(&[(GENERAL, "general")], &[ALICE]).await;
        let http = HttpBuilder::new("Bot test-token")
            .proxy(api.base_url())
            .ratelimiter_disabled(true)
            .application_id(ApplicationId::new(n(APP_ID)))
            .build();
        let guild = GuildId::new(n(GUILD));
        assert_eq!(http.get_gateway().await.unwrap().url, api.gateway_url());
        assert_eq!(http.get_bot_gateway().await.unwrap().shards, 1);
        assert_eq!(http.get_current_user().await.unwrap().id.to_string(), BOT_USER_ID);
        assert_eq!(http.get_current_application_info().await.unwrap().id.to_string(), APP_ID);
        assert_eq!(http.get_channels(guild).await.unwrap().len(), 2);

        let overwrite = json!({"id": GUILD, "type": 0, "allow": "0", "deny": "1024"});
        let body = json!({
            "name": "inc-1-checkout", "type": 0, "parent_id": CATEGORY, "topic": "SEV2",
            "permission_overwrites": [overwrite]
        });
        let made = http.create_channel(guild, &body, None).await.unwrap();
        assert_eq!(made.parent_id.map(|p| p.to_string()).as_deref(), Some(CATEGORY));
        let bad = json!({"name": "Not Lowercase", "type": 0});
        assert_eq!(refusal(http.create_channel(guild, &bad, None).await), (400, 50035));
        let cid = made.id;
        let ch = cid.to_string();
        http.edit_channel(cid, &json!({"topic": "SEV1"}), None).await.unwrap();
        let grant = json!({"type": 1, "allow": "1024", "deny": "0"});
        http.create_permission(cid, TargetId::new(n(ALICE)), &grant, None).await.unwrap();
        let stranger = http.create_permission(cid, TargetId::new(42), &grant, None).await;
        assert_eq!(refusal(stranger), (404, 10013));
        let AnyChannel::Guild(fetched) = http.get_channel(cid).await.unwrap() else {
            panic!("a guild channel")
        };
        assert_eq!(
            (fetched.topic.as_deref(), fetched.permission_overwrites.len()),
            (Some("SEV1"), 2)
        );
        assert_eq!(api.channel_named("inc-1-checkout").map(|(id, _)| id), Some(ch.clone()));

        let quiet = json!({"content": "Declared", "allowed_mentions": {"parse": []}});
        let posted = http.send_message(cid, vec![], &quiet).await.unwrap();
        assert_eq!(posted.author.id.to_string(), BOT_USER_ID);
        let file = CreateAttachment::bytes(b"# Postmortem".to_vec(), "postmortem.md");
        let draft = http.send_message(cid, vec![file], &json!({"content": "Draft"})).await.unwrap();
        assert_eq!(draft.attachments[0].filename, "postmortem.md");
        let stored = api.messages(&ch);
        assert_eq!(stored[0].allowed_mentions, json!({"parse": []}));
        assert_eq!(
            stored[1].attachments,
            [("postmortem.md".to_string(), b"# Postmortem".to_vec())]
        );
        let long = json!({"content": "x".repeat(2001)});
        assert_eq!(refusal(http.send_message(cid, vec![], &long).await), (400, 50035));
        assert_eq!(api.contents(&ch), ["Declared", "Draft"]);

        http.pin_message(cid, posted.id, None).await.unwrap();
        assert_eq!(api.channel(&ch).unwrap().pins, [posted.id.to_string()]);
        api.react(&ch, &posted.id.to_string(), "📌", ALICE);
        let pin = ReactionType::Unicode("📌".into());
        let users = http.get_reaction_users(cid, posted.id, &pin, 100, None).await.unwrap();
        assert_eq!(users[0].id.to_string(), ALICE);
        assert!(http.get_message(cid, posted.id).await.unwrap().pinned);
        assert_eq!(refusal(http.get_message(cid, MessageId::new(1)).await), (404, 10008));

        let (iid, d) = api.command_interaction(ALICE, GENERAL, "status", json!([]));
        let (iid_n, token) = (InteractionId::new(n(&iid)), d["token"].as_str().unwrap());
        let defer = json!({"type": 5, "data": {"flags": 64}});
        http.create_interaction_response(iid_n, token, &defer, vec![]).await.unwrap();
        let again = http.create_interaction_response(iid_n, token, &defer, vec![]).await;
        assert_eq!(refusal(again), (400, 40060));
        let answer = json!({"content": "All quiet", "allowed_mentions": {"parse": []}});
        let edited = http.edit_original_interaction_response(token, &answer, vec![]).await.unwrap();
        assert_eq!(edited.content, "All quiet");
        assert_eq!((api.callback(&iid), api.callbacks().len()), (Some(defer), 1));
        assert_eq!(api.followups(), [(token.to_string(), answer)]);

        let commands = json!([
            {"name": "incident", "description": "Run an incident", "type": 1, "nsfw": false,
             "options": [{"type": 1, "name": "declare", "description": "Declare one",
                          "options": [{"type": 3, "name": "title", "description": "What"}]}]},
            {"name": "Add to timeline", "type": 3, "nsfw": false}
        ]);
        assert_eq!(http.create_guild_commands(guild, &commands).await.unwrap().len(), 2);
        assert_eq!(api.commands()[1]["name"], "Add to timeline");

        let post = "POST /channels/{channel_id}/messages";
        let denied = Failure::Api { status: 403, code: 50013, message: "Missing Permissions" };
        api.fail(post, [Failure::Status(503), denied]);
        assert_eq!(refusal(http.send_message(cid, vec![], &quiet).await).0, 503);
        assert_eq!(refusal(http.send_message(cid, vec![], &quiet).await), (403, 50013));
        api.fail("PATCH /channels/{id}", [Failure::StatusAfterApplying(502)]);
        let lost = http.edit_channel(cid, &json!({"topic": "SEV3"}), None).await;
        assert_eq!((refusal(lost).0, api.channel(&ch).unwrap().topic.as_str()), (502, "SEV3"));
        assert_eq!(api.calls(post), 5);
        api.fail("GET /users/@me", [Failure::RateLimited { retry_after: 30.0, global: true }]);
        // A 429's body has no `code`: serenity's error keeps only the status.
        assert_eq!(refusal(http.get_current_user().await).0, 429);
        assert_eq!(refusal(http.get_channel(cid).await).0, 429);
        assert_eq!(api.calls_while_globally_limited(), 1);
        assert_eq!(api.violations(), Vec::<String>::new());
    }
}
