//! The pages' templates and what they show, drawn from the record: every
//! string here is escaped by the templates, except the SVG charts and the
//! postmortem's HTML, which are built from escaped parts.

use askama::Template;
use chrono::{DateTime, Utc};

use crate::incident::room::RoomMessage;
use crate::incident::{EntryState, Incident, Status, TimelineEntry, UserRef};
use crate::postmortem::duration;

/// The top of every signed-in page.
pub struct Chrome {
    pub viewer: String,
    pub csrf: String,
    /// One line per chat platform that is failing right now.
    pub banner: Vec<String>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub title: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SigninPage {
    pub next: String,
}

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub token: String,
}

pub struct ListRow {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub open: bool,
    pub private: bool,
    pub declared: String,
    pub elapsed: String,
    pub commander: String,
    pub teams: String,
}

/// A choice in a filter: its value, and whether it is chosen.
pub struct Choice {
    pub value: String,
    pub chosen: bool,
}

#[derive(Template)]
#[template(path = "list.html")]
pub struct ListPage {
    pub chrome: Chrome,
    pub rows: Vec<ListRow>,
    pub statuses: Vec<Choice>,
    pub severities: Vec<Choice>,
    pub teams: Vec<Choice>,
    pub filtered: bool,
}

pub struct EntryView {
    pub time: String,
    pub stamp: String,
    pub who: String,
    pub kind: String,
    /// The kind as a CSS class: `status-update`.
    pub kind_class: String,
    pub text: String,
    pub link: Option<String>,
    pub edited: bool,
    pub deleted: bool,
}

pub struct RoomView {
    pub id: i64,
    pub time: String,
    pub who: String,
    pub text: String,
}

pub struct UpdateView {
    pub time: String,
    pub status: String,
    pub message: String,
    pub by: String,
}

pub struct ChannelView {
    pub platform: String,
    pub name: String,
    pub url: Option<String>,
}

pub struct RoleView {
    pub name: String,
    pub key: String,
    pub holder: String,
    pub vacant: bool,
}

pub struct AlertView {
    pub summary: String,
    pub status: String,
    pub since: String,
    pub link: Option<String>,
}

pub struct Person {
    /// `platform:id`, the form's value.
    pub value: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "incident.html")]
pub struct IncidentPage {
    pub chrome: Chrome,
    pub id: String,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub open: bool,
    pub closed: bool,
    pub private: bool,
    pub declared: String,
    pub elapsed: String,
    pub acknowledged: String,
    pub origin: Option<String>,
    pub roles: Vec<RoleView>,
    pub responders: Vec<String>,
    pub teams: String,
    pub channels: Vec<ChannelView>,
    pub updates: Vec<UpdateView>,
    pub followups: Vec<String>,
    pub alerts: Vec<AlertView>,
    pub timeline: Vec<EntryView>,
    pub room: Vec<RoomView>,
    /// What the last action said, and whether it went through.
    pub flash: Option<(bool, String)>,
    pub nonce: String,
    pub severities: Vec<String>,
    pub statuses: Vec<String>,
    pub people: Vec<Person>,
    /// The status page's part; `None` when there is none or the incident is private.
    pub public: Option<PublicView>,
}

/// What the incident shows on the public status page, and the forms to change it.
pub struct PublicView {
    /// Each component: name, the incident's current impact on it (label).
    pub components: Vec<(String, String)>,
    pub posts: Vec<UpdateView>,
}

#[derive(Template)]
#[template(path = "timeline.html")]
pub struct TimelinePart {
    pub timeline: Vec<EntryView>,
}

#[derive(Template)]
#[template(path = "room.html")]
pub struct RoomPart {
    pub id: String,
    pub room: Vec<RoomView>,
    pub chrome: Chrome,
    pub closed: bool,
}

#[derive(Template)]
#[template(path = "postmortem.html")]
pub struct PostmortemPage {
    pub chrome: Chrome,
    pub id: String,
    pub title: String,
    /// The draft as HTML, from Markdown whose chat text was made inert.
    pub html: String,
}

pub struct ReportRow {
    pub group: String,
    pub incidents: usize,
    pub out_of_hours: usize,
    pub mtta: String,
    pub mitigate: String,
    pub mttr: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
pub struct ReportsPage {
    pub chrome: Chrome,
    pub period: String,
    pub since: String,
    pub summary: String,
    /// "By severity", "By source", "By team".
    pub tables: Vec<(String, Vec<ReportRow>)>,
    /// SVG, drawn from numbers only.
    pub times_chart: String,
    pub weekly_chart: String,
}

pub fn clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M").to_string()
}

pub fn day_and_clock(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn who(u: &UserRef) -> String {
    format!("@{}", u.display())
}

/// How long ago, or for how long a closed stretch ran.
pub fn elapsed(inc: &Incident, now: DateTime<Utc>) -> String {
    let end = inc.resolved_at.filter(|_| !inc.status.is_open()).unwrap_or(now);
    duration(end - inc.declared_at)
}

pub fn entry(e: &TimelineEntry) -> EntryView {
    let deleted = e.state == EntryState::Deleted;
    EntryView {
        time: clock(e.at),
        stamp: e.at.to_rfc3339(),
        who: who(&e.author),
        kind: e.kind.label().to_string(),
        kind_class: e.kind.label().replace(' ', "-"),
        text: if deleted { "(message deleted)".into() } else { e.text.clone() },
        link: web_link(e.link.as_deref()).filter(|_| !deleted),
        edited: e.edited_at.is_some(),
        deleted,
    }
}

pub fn room_message(m: &RoomMessage) -> RoomView {
    RoomView { id: m.id, time: clock(m.at), who: who(&m.author), text: m.text.clone() }
}

pub fn statuses() -> Vec<String> {
    [Status::Investigating, Status::Identified, Status::Monitoring]
        .iter()
        .map(|s| s.as_str().to_string())
        .collect()
}

/// A link from outside (a chat permalink, an alert's source) only when it
/// is an http(s) address: no `javascript:` or `data:` in an `href`.
pub fn web_link(link: Option<&str>) -> Option<String> {
    let link = link?.trim();
    let lower = link.get(..8).unwrap_or(link).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then(|| link.to_string())
}
