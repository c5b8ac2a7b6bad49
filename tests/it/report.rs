//! `tocsin report` on a database a console script filled: five incidents
//! at known times, the numbers worked out by hand below.

use serde_json::Value;

use crate::console::tocsin;
use crate::support::db::on_both_backends;

/// Working hours in Berlin (UTC+1 in November): 09:00–17:00 there is
/// 08:00–16:00 UTC.
fn config(dir: &std::path::Path, url: &str) -> String {
    let text = format!(
        "[database]\nurl = \"{url}\"\n\n[report]\ntimezone = \"Europe/Berlin\"\nworking_hours = \"09:00-17:00\"\nworking_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\n\n\
         [alerts]\ntoken = \"console-token-0123456789\"\n\n[[alerts.rules]]\nname = \"checkout-errors\"\nmatch = {{ service = \"checkout\" }}\nseverity = \"SEV2\"\ninvite = [\"payments\"]\n\n\
         [[teams]]\nname = \"payments\"\nconsole_users = [\"dave\", \"erin\"]\n"
    );
    let path = dir.join("bot.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const SCRIPT: &str = r#"
# INC-1, in October: outside the period.
:clock 2026-10-20T10:00:00Z
:as alice
/incident declare SEV1 Old outage
:advance 5h
/incident resolve Done
:join general
# INC-2, Monday 09:30 UTC (10:30 in Berlin): SEV1 from chat, mitigated after 20 minutes, resolved after 60.
:clock 2026-11-16T09:30:00Z
/incident declare SEV1 Card payments failing
:advance 5m
/incident invite payments
:advance 15m
/incident update monitoring Fix deployed
:advance 40m
/incident resolve Card payments work again
:join general
# INC-3, Saturday 02:00 UTC: an alert opens a SEV2 for payments; dave acknowledges after 12 minutes.
:clock 2026-11-21T02:00:00Z
:alert generic {"source": "prometheus", "fingerprint": "co-1", "status": "firing", "title": "Checkout 5xx", "labels": {"alertname": "HighErrorRate", "service": "checkout"}}
:join inc-3-checkout-5xx
:advance 12m
:as dave
/incident ack
:advance 3m
/incident role commander @dave
:advance 25m
/incident update monitoring Pool resized
:advance 50m
/incident resolve Errors gone
:join general
# INC-4, Tuesday 18:30 UTC (19:30 in Berlin): SEV2 from chat, resolved after 30 minutes without monitoring.
:clock 2026-11-17T18:30:00Z
:as bob
/incident declare SEV2 Search results empty
:advance 30m
/incident resolve Index rebuilt
:join general
# INC-5, Wednesday 08:30 UTC (09:30 in Berlin): SEV3, mitigated after 15 minutes, still open.
:clock 2026-11-18T08:30:00Z
/incident declare SEV3 Slow exports
:advance 15m
/incident update monitoring Queue drained
"#;

fn seconds(v: &Value) -> Option<f64> {
    v.as_f64()
}

on_both_backends! {
    async fn the_report_of_a_scripted_month_matches_the_numbers_worked_out_by_hand(db: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), &db.url);
        let out = tocsin(&["console", "--config", &config], SCRIPT, dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && !stdout.contains("\n! "), "{stdout}");

        let period = ["--since", "2026-11-01", "--until", "2026-12-01", "--config", &config];
        let json = tocsin(&[&["report", "--format", "json"][..], &period].concat(), "", dir.path());
        assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
        let r: Value = serde_json::from_slice(&json.stdout).unwrap();
        let all = &r["all"];
        // INC-2 to INC-5; INC-5 is open; INC-3 (Saturday) and INC-4 (19:30 in Berlin) out of hours.
        assert_eq!((all["incidents"].as_u64(), all["open"].as_u64(), all["out_of_hours"].as_u64()), (Some(4), Some(1), Some(2)));
        // Acknowledged after 0, 12m, 0, 0 (declaring acknowledges): sorted 0, 0, 0, 720 s.
        // Median 0; p90 at rank 0.9 × 3 = 2.7: 0 + 0.7 × 720 = 504 s.
        assert_eq!(seconds(&all["acknowledge"]["median_seconds"]), Some(0.0));
        assert_eq!(seconds(&all["acknowledge"]["p90_seconds"]), Some(504.0));
        // Mitigated after 20, 40, 30 (at resolve), 15 minutes: sorted 15, 20, 30, 40.
        // Median (20 + 30) / 2 = 25 m; p90 at rank 2.7: 30 + 0.7 × 10 = 37 m.
        assert_eq!(seconds(&all["mitigate"]["median_seconds"]), Some(25.0 * 60.0));
        assert_eq!(seconds(&all["mitigate"]["p90_seconds"]), Some(37.0 * 60.0));
        // Resolved after 60, 90, 30 minutes: sorted 30, 60, 90. Median 60 m;
        // p90 at rank 0.9 × 2 = 1.8: 60 + 0.8 × 30 = 84 m.
        assert_eq!(all["resolve"]["count"], 3);
        assert_eq!(seconds(&all["resolve"]["median_seconds"]), Some(60.0 * 60.0));
        assert_eq!(seconds(&all["resolve"]["p90_seconds"]), Some(84.0 * 60.0));

        // SEV2: INC-3 (alert) and INC-4. Acknowledged after 720 and 0 s:
        // median 360 s, p90 0 + 0.9 × 720 = 648 s. Resolved after 90 and 30 m:
        // median 60 m, p90 30 + 0.9 × 60 = 84 m.
        let sev2 = &r["by_severity"][1];
        assert_eq!(sev2["group"], "SEV2");
        assert_eq!(seconds(&sev2["acknowledge"]["median_seconds"]), Some(360.0));
        assert_eq!(seconds(&sev2["acknowledge"]["p90_seconds"]), Some(648.0));
        assert_eq!(seconds(&sev2["resolve"]["median_seconds"]), Some(60.0 * 60.0));
        assert_eq!(seconds(&sev2["resolve"]["p90_seconds"]), Some(84.0 * 60.0));
        let sev3 = &r["by_severity"][2];
        assert_eq!((sev3["incidents"].as_u64(), sev3["open"].as_u64()), (Some(1), Some(1)));
        assert_eq!(sev3["resolve"]["median_seconds"], Value::Null, "still open");

        let groups = |key: &str| -> Vec<(String, u64)> {
            r[key].as_array().unwrap().iter()
                .map(|g| (g["group"].as_str().unwrap().to_string(), g["incidents"].as_u64().unwrap()))
                .collect()
        };
        assert_eq!(groups("by_source"), [("chat".into(), 3), ("alert rule checkout-errors".into(), 1)]);
        assert_eq!(groups("by_team"), [("payments".into(), 2)]);
        assert_eq!(r["working_hours"], "Mon–Fri 09:00–17:00 Europe/Berlin");

        let md = tocsin(&[&["report"][..], &period].concat(), "", dir.path());
        let md = String::from_utf8_lossy(&md.stdout);
        assert!(md.contains("4 incidents (1 still open) · 2 declared out of hours (50%; working hours Mon–Fri 09:00–17:00 Europe/Berlin)"), "{md}");
        // SEV2 mitigated after 40 and 30 m: median 35 m, p90 30 + 0.9 × 10 = 39 m.
        assert!(md.contains("| SEV2 | 2 | 2 | 6m | 10m 48s | 35m | 39m | 1h | 1h 24m |"), "{md}");
        assert!(md.contains("| alert rule checkout-errors | 1 | 1 | 12m | 12m | 40m | 40m | 1h 30m | 1h 30m |"), "{md}");

        let csv = tocsin(&[&["report", "--format", "csv"][..], &period].concat(), "", dir.path());
        let csv = String::from_utf8_lossy(&csv.stdout);
        assert!(csv.starts_with("dimension,group,incidents,open,out_of_hours,mtta_median_seconds"), "{csv}");
        assert!(csv.contains("\nall,all,4,1,2,0,504,1500,2220,3600,5040\n"), "{csv}");
        // payments: INC-2 and INC-3. Mitigated after 20 and 40 m (p90 20 + 0.9 × 20 = 38 m),
        // resolved after 60 and 90 m (median 75 m, p90 60 + 0.9 × 30 = 87 m).
        assert!(csv.contains("\nteam,payments,2,0,1,360,648,1800,2280,4500,5220\n"), "{csv}");
    }
}

#[test]
fn a_report_period_that_makes_no_sense_is_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    let config = config(dir.path(), &url);
    for (args, said) in [
        (
            &["--since", "ninety"][..],
            "error: --since: \"ninety\" is not a period like 90d, 12w or 36h, or a date like 2026-09-01\n",
        ),
        (
            &["--since", "2026-11-02", "--until", "2026-11-01"][..],
            "error: --since (2026-11-02 00:00 UTC) must come before --until (2026-11-01 00:00 UTC)\n",
        ),
        (&["--until", "soon"][..], "error: --until: \"soon\" is not a date like 2026-12-01\n"),
    ] {
        let out = tocsin(&[&["report", "--config", &config][..], args].concat(), "", dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), said);
    }
    assert!(!dir.path().join("r.db").exists(), "a refused report opens no database");
}
