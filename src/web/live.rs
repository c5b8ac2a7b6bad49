//! The incident page, live: a server-sent event stream that sends the
//! timeline and the room again whenever either changed. It looks at the
//! database each second, so it sees what any replica recorded; it ends
//! when the session does or the incident is no longer the viewer's to see.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use super::WebState;
use super::session::Viewer;
use super::views::{self, RoomPart, TimelinePart};
use crate::app::App;
use crate::incident::IncidentId;

/// How often the stream looks for news.
const LOOK_EVERY: Duration = Duration::from_secs(1);

struct Watch {
    s: Arc<WebState>,
    who: Viewer,
    id: IncidentId,
    sent: (String, String),
    looks: u32,
}

impl Watch {
    /// The timeline and the room as the page draws them; `None` once the
    /// viewer may no longer look.
    async fn draw(&self) -> Option<(String, String)> {
        let store = &self.s.app.store;
        let inc = store.incident(self.id).await.ok()??.value;
        if !App::may_see(&inc, &self.who.person) {
            return None;
        }
        let timeline = store.timeline(self.id).await.ok()?;
        let room = store.room_latest(self.id, 500).await.ok()?;
        let t = TimelinePart { timeline: timeline.iter().map(views::entry).collect() };
        let r = RoomPart {
            id: self.id.label(),
            room: room.iter().map(views::room_message).collect(),
            chrome: views::Chrome {
                viewer: String::new(),
                csrf: self.who.csrf.clone(),
                banner: Vec::new(),
            },
            closed: inc.is_closed(),
        };
        Some((t.render().ok()?, r.render().ok()?))
    }

    /// Whether the session still holds (looked at every half minute).
    async fn signed_in(&mut self) -> bool {
        self.looks += 1;
        if !self.looks.is_multiple_of(30) {
            return true;
        }
        let now = self.s.app.now();
        matches!(self.s.app.store.session(self.who.id_hash(), now).await, Ok(Some(_)))
    }
}

pub async fn live(
    State(s): State<Arc<WebState>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (who, inc) = match s.reader_of(&id, &uri, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let watch = Watch { s: s.clone(), who, id: inc.id, sent: Default::default(), looks: 0 };
    let stream = futures_util::stream::unfold(Some(watch), |state| async move {
        let mut w = state?;
        loop {
            if !w.signed_in().await {
                return None;
            }
            let (timeline, room) = w.draw().await?;
            let mut events = Vec::new();
            if timeline != w.sent.0 {
                events.push(Event::default().event("timeline").data(&timeline));
            }
            if room != w.sent.1 {
                events.push(Event::default().event("room").data(&room));
            }
            w.sent = (timeline, room);
            if !events.is_empty() {
                return Some((
                    futures_util::stream::iter(events.into_iter().map(Ok::<_, Infallible>)),
                    Some(w),
                ));
            }
            tokio::time::sleep(LOOK_EVERY).await; // the next look at the database
        }
    });
    let stream = futures_util::StreamExt::flatten(stream);
    super::harden(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}
