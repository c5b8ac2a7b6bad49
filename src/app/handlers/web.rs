//! `/incident web`: a one-time sign-in link for the person who asked.

use crate::incident::{Incident, Message, Platform};

use super::super::{App, Ctx, Failure, signin};

pub(super) async fn link(app: &App, ctx: &Ctx, inc: Option<Incident>) -> Result<Message, Failure> {
    if ctx.user.platform == Platform::Console {
        return Err(Failure::user(
            "the web pages sign in Slack and Discord people; from here run `tocsin web link slack:<id>`",
        ));
    }
    let next = inc.map_or_else(|| "/incidents".to_string(), |i| format!("/incidents/{}", i.id));
    let url = signin::link(app.store.as_ref(), &app.web_base, &ctx.user, &next, app.now()).await?;
    Ok(Message::new()
        .plain("Your sign-in link for the web command center (works once, for 15 minutes; do not share it): ")
        .text(&url))
}
