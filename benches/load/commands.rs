//! Ack latency of signed `/incident` commands against tocsin: a read-only one (`status` from
//! #general) and a state-changing one (`note` in the incident's channel, which commits a
//! timeline entry and an outbox row before it answers).

use std::time::Duration;

use reqwest::Client;

use crate::bot::Tocsin;
use crate::load::{self, Plan};
use crate::report::{Report, Start};
use crate::signed;
use crate::slack_api::SlackApi;

pub async fn run(plan: &Plan, client: &Client, report: &mut Report) -> anyhow::Result<()> {
    let slack = SlackApi::start(
        &[("CGENERAL", "general"), ("CANNOUNCE", "announce")],
        &["UALICE", "UBOB", "UCAROL"],
    )
    .await;
    let bot = Tocsin::start(&slack.base_url(), client).await?;
    let idle_rss_mb = bot.server.rss_mb();
    let ready_ms = load::ms(bot.server.ready);
    eprintln!("tocsin ready in {ready_ms:.1} ms, {idle_rss_mb:.1} MB resident");
    // One open incident, so that `status` has something to show.
    let (_, channel) = bot.declare(client, "Bench").await?;
    bot.drained(Duration::from_secs(30)).await?;

    let read_only = load::ramp(client, &bot.base, plan, "tocsin", "status (read-only)", |_, n| {
        (0..n).map(|_| signed::command("UBOB", "CGENERAL", "status", "ephemeral")).collect()
    })
    .await?;
    report.ramps.push(read_only);

    let changing =
        load::ramp(client, &bot.base, plan, "tocsin", "note (state-changing)", |r, n| {
            (0..n)
                .map(|i| {
                    let text = format!("note bench note {r}-{i}");
                    signed::command("UALICE", &channel, &text, "Noted")
                })
                .collect()
        })
        .await?;
    report.ramps.push(changing);

    report.starts.push(Start {
        server: "tocsin".into(),
        phase: "commands".into(),
        ready_ms,
        idle_rss_mb,
        peak_rss_mb: bot.server.peak_mb(),
    });
    bot.stop().await;
    Ok(())
}
