//! The report's numbers on incidents made with the core, checked by hand.

use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::incident::{
    Change, Declare, IncidentId, Platform, Rules, Status, UserRef, decide, declare,
};

fn alice() -> UserRef {
    UserRef::new(Platform::Console, "alice")
}

/// Declared at `at` with `sev`; monitoring after `mitigate` minutes and
/// resolved after `resolve` minutes, when given.
fn incident(
    n: i64,
    sev: &str,
    at: DateTime<Utc>,
    mitigate: Option<i64>,
    resolve: Option<i64>,
) -> Incident {
    let rules = Rules::default();
    let cmd = Declare {
        title: format!("Incident {n}"),
        severity: Some(sev.into()),
        private: false,
        platform: Platform::Console,
    };
    let mut inc = declare(&rules, IncidentId(n), cmd, &alice(), at).unwrap().incident;
    if let Some(m) = mitigate {
        let change = Change::Update { status: Status::Monitoring, message: "better".into() };
        inc = decide(&inc, &rules, change, &alice(), at + Duration::minutes(m)).unwrap().incident;
    }
    if let Some(r) = resolve {
        inc = decide(
            &inc,
            &rules,
            Change::Resolve { message: None },
            &alice(),
            at + Duration::minutes(r),
        )
        .unwrap()
        .incident;
    }
    inc
}

#[test]
fn the_report_counts_the_period_and_takes_medians_and_p90s_by_severity() {
    let monday_10 = Utc.with_ymd_and_hms(2026, 11, 16, 10, 0, 0).unwrap();
    let saturday_03 = Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap();
    let tuesday_12 = Utc.with_ymd_and_hms(2026, 11, 17, 12, 0, 0).unwrap();
    let mut before =
        incident(4, "SEV1", Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap(), None, Some(500));
    before.teams.push("payments".into());
    let mut paged = incident(1, "SEV1", monday_10, Some(20), Some(60));
    paged.teams.push("payments".into());
    let incidents = vec![
        paged,
        // Resolved without monitoring: mitigated when resolved.
        incident(2, "SEV1", saturday_03, None, Some(30)),
        incident(3, "SEV2", tuesday_12, Some(15), None),
        before,
    ];
    let period = Period {
        from: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        to: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
    };
    let r = report(&incidents, &Rules::default().severities, period, &WorkingHours::default());
    let minutes =
        |t: &Timing| (t.count, t.median_seconds.map(|s| s / 60.0), t.p90_seconds.map(|s| s / 60.0));

    assert_eq!((r.all.incidents, r.all.open, r.all.out_of_hours), (3, 1, 1));
    assert_eq!(minutes(&r.all.acknowledge), (3, Some(0.0), Some(0.0)), "declaring acknowledges");
    // 15, 20, 30: the median is 20; p90 at rank 1.8 is 20 + 0.8 × 10.
    assert_eq!(minutes(&r.all.mitigate), (3, Some(20.0), Some(28.0)));
    // 30 and 60: the median is 45; p90 is 30 + 0.9 × 30.
    assert_eq!(minutes(&r.all.resolve), (2, Some(45.0), Some(57.0)));

    let sev: Vec<(&str, usize)> =
        r.by_severity.iter().map(|s| (s.group.as_str(), s.incidents)).collect();
    assert_eq!(sev, [("SEV1", 2), ("SEV2", 1), ("SEV3", 0), ("SEV4", 0)]);
    assert_eq!(minutes(&r.by_severity[0].mitigate), (2, Some(25.0), Some(29.0)));
    assert_eq!(minutes(&r.by_severity[1].resolve), (0, None, None));
    assert_eq!(r.by_source.len(), 1);
    assert_eq!((r.by_source[0].group.as_str(), r.by_source[0].incidents), ("chat", 3));
    assert_eq!(r.by_team.len(), 1, "the incident before the period does not count");
    assert_eq!((r.by_team[0].group.as_str(), r.by_team[0].incidents), ("payments", 1));

    let md = render(&r, Format::Markdown);
    assert!(md.contains("3 incidents (1 still open) · 1 declared out of hours (33%; working hours Mon–Fri 09:00–17:00 UTC)"), "{md}");
    assert!(md.contains("| SEV1 | 2 | 1 | 0s | 0s | 25m | 29m | 45m | 57m |"), "{md}");
    assert!(md.contains("| SEV3 | 0 | 0 | — | — | — | — | — | — |"), "{md}");
    let csv = render(&r, Format::Csv);
    assert!(csv.contains("\nall,all,3,1,1,0,0,1200,1680,2700,3420\n"), "{csv}");
    assert!(csv.contains("\nseverity,SEV2,1,1,0,0,0,900,900,,\n"), "{csv}");
    let json: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
    assert_eq!(json["all"]["resolve"]["p90_seconds"], 3420.0);
}

#[test]
fn csv_fields_are_quoted_and_defused() {
    assert_eq!(render::field("a,b"), "\"a,b\"");
    assert_eq!(render::field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(render::field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
}
