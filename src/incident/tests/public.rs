//! The status page's part of the core: only what someone published, never
//! from a private incident, and only the configured components.

use super::super::public::Impact;
use super::*;

fn with_page() -> Rules {
    Rules { status_components: Some(vec!["API".into(), "Checkout".into()]), ..Rules::default() }
}

fn on_page(inc: &Incident, change: Change, min: i64) -> Result<Decision, UserError> {
    decide(inc, &with_page(), change, &alice(), t(min))
}

fn publish(text: &str) -> Change {
    Change::Publish { message: text.into() }
}

fn impact(component: &str, level: &str) -> Change {
    Change::Impact { component: component.into(), level: level.into() }
}

#[test]
fn nothing_of_an_incident_is_public_until_someone_publishes_it() {
    let inc = declared(false);
    assert!(inc.public.is_empty());
    let d = on_page(&inc, update(Status::Identified), 1).unwrap();
    assert!(d.incident.public.is_empty(), "an internal update stays internal");
    let d = on_page(&d.incident, publish("Some payments fail; we are on it"), 2).unwrap();
    let posts = &d.incident.public.posts;
    assert_eq!(posts.len(), 1);
    assert_eq!(
        (posts[0].status, posts[0].message.as_str()),
        (Status::Identified, "Some payments fail; we are on it")
    );
    assert_eq!(d.incident.public.since(), Some(t(2)));
    assert_eq!(d.entries[0].kind, EntryKind::Published);
    assert!(
        d.effects.iter().all(|e| matches!(e, Effect::Post { to: Audience::IncidentChannel, .. }))
    );
}

#[test]
fn a_component_impact_is_one_of_the_configured_components_and_levels() {
    let inc = declared(false);
    let d = on_page(&inc, impact("checkout", "partial-outage"), 1).unwrap();
    assert_eq!(d.incident.public.current(), vec![("Checkout", Impact::PartialOutage)]);
    let d = on_page(&d.incident, impact("API", "DEGRADED"), 2).unwrap();
    let d = on_page(&d.incident, impact("Checkout", "major"), 3).unwrap();
    assert_eq!(
        d.incident.public.current(),
        vec![("Checkout", Impact::MajorOutage), ("API", Impact::Degraded)]
    );
    let again = on_page(&d.incident, impact("Checkout", "major_outage"), 4).unwrap_err();
    assert_eq!(again.to_string(), "Checkout is already shown as major outage for INC-7");
    let unknown = on_page(&inc, impact("Payroll", "major"), 1).unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "there is no component \"Payroll\" on the status page; it has API, Checkout"
    );
    let level = on_page(&inc, impact("API", "broken"), 1).unwrap_err();
    assert!(level.to_string().starts_with("\"broken\" is not an impact"), "{level}");
    let operational = on_page(&inc, impact("API", "operational"), 1).unwrap_err();
    assert!(operational.to_string().contains("already shown as operational"), "{operational}");
}

#[test]
fn a_private_incident_and_a_server_without_a_status_page_publish_nothing() {
    let private = declared(true);
    for change in [publish("hello"), impact("API", "major")] {
        let e = on_page(&private, change.clone(), 1).unwrap_err();
        assert_eq!(e.to_string(), "INC-7 is private; nothing of it goes on the status page");
        let e = apply(&declared(false), change, &alice(), 1).unwrap_err();
        assert!(e.to_string().starts_with("there is no status page"), "{e}");
    }
}

#[test]
fn a_resolved_incident_takes_no_new_impact_but_may_say_its_last_word() {
    let inc = on_page(&declared(false), impact("API", "major"), 1).unwrap().incident;
    let resolved = on_page(&inc, Change::Resolve { message: None }, 5).unwrap().incident;
    let e = on_page(&resolved, impact("API", "degraded"), 6).unwrap_err();
    assert_eq!(e.to_string(), "INC-7 is resolved; its impact has ended");
    let d = on_page(&resolved, publish("Payments work again"), 6).unwrap();
    assert_eq!(d.incident.public.posts[0].status, Status::Resolved);
    let long = "x".repeat(2_001);
    assert!(on_page(&inc, publish(&long), 2).is_err());
    assert!(on_page(&inc, publish("   "), 2).is_err());
}
