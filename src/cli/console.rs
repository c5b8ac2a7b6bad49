//! `tocsin console`: the terminal chat room.

use std::io::IsTerminal;
use std::sync::Arc;

use tokio::io::BufReader;

use super::CliResult;
use crate::alerts::Intake;
use crate::app::CONSOLE_ANNOUNCE;
use crate::chat::console::{ConsoleChat, Room, Session};
use crate::clock::ManualClock;
use crate::config::Config;
use crate::incident::{Platform, topic};
use crate::startup::{Engine, Options, engine};
use crate::store::Store;

pub async fn console(mut config: Config) -> CliResult {
    // Incidents that alerts open here open in the console's room.
    if let Some(alerts) = &mut config.alerts {
        alerts.platform = Platform::Console;
    }
    let clock = Arc::new(ManualClock::new());
    let start = config.console.channel.trim_start_matches('#').to_string();
    let room = Room::new(Box::new(std::io::stdout()), &[&start, CONSOLE_ANNOUNCE]);
    let chat = Arc::new(ConsoleChat::new(room.clone(), clock.clone()));
    let options = Options { clock: clock.clone(), ..Options::default() };
    let Engine { outbox, app, store } = engine(&config, vec![chat], Vec::new(), &options).await?;
    reopen_channels(&room, store.as_ref(), &config).await?;
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        println!(
            "tocsin console — you are @{} in #{start}; #{CONSOLE_ANNOUNCE} gets announcements.\nType /incident help for tocsin's commands, :help for the console's, :quit to leave.",
            config.console.user
        );
    }
    let mut session =
        Session::new(app, outbox, room, clock, &config.console.user, &start, !interactive);
    if let Some(alerts) = &config.alerts {
        session = session.with_alerts(Intake::new(alerts, &config.incidents.severities));
    }
    session.run(BufReader::new(tokio::io::stdin()), interactive).await?;
    Ok(())
}

/// The room is the terminal's and starts empty: the channels of incidents
/// an earlier session opened come back, so their posts have somewhere to go.
async fn reopen_channels(room: &Room, store: &dyn Store, config: &Config) -> CliResult {
    let rules = config.rules();
    for inc in store.incidents(true).await.map_err(anyhow::Error::from)? {
        if let Some((name, _)) =
            store.channel(inc.id, Platform::Console).await.map_err(anyhow::Error::from)?
        {
            room.create(&name, inc.private, &topic(&inc, &rules));
            room.update_channel(&name, |c| {
                c.archived = inc.is_closed();
                c.members = inc.responders.iter().map(|r| r.user.id.clone()).collect();
            });
        }
    }
    Ok(())
}
