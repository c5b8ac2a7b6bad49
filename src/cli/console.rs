//! `tocsin console`: the terminal chat room.

use std::io::IsTerminal;
use std::sync::Arc;

use tokio::io::BufReader;

use super::CliResult;
use crate::app::CONSOLE_ANNOUNCE;
use crate::chat::console::{ConsoleChat, Room, Session};
use crate::clock::ManualClock;
use crate::config::Config;
use crate::startup::{Engine, Options, engine};

pub async fn console(config: Config) -> CliResult {
    let clock = Arc::new(ManualClock::new());
    let start = config.console.channel.trim_start_matches('#').to_string();
    let room = Room::new(Box::new(std::io::stdout()), &[&start, CONSOLE_ANNOUNCE]);
    let chat = Arc::new(ConsoleChat::new(room.clone(), clock.clone()));
    let options = Options { clock: clock.clone(), ..Options::default() };
    let Engine { outbox, app, .. } = engine(&config, vec![chat], Vec::new(), &options).await?;
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        println!(
            "tocsin console — you are @{} in #{start}; #{CONSOLE_ANNOUNCE} gets announcements.\nType /incident help for tocsin's commands, :help for the console's, :quit to leave.",
            config.console.user
        );
    }
    let session =
        Session::new(app, outbox, room, clock, &config.console.user, &start, !interactive);
    session.run(BufReader::new(tokio::io::stdin()), interactive).await?;
    Ok(())
}
