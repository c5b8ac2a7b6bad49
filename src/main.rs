//! The `tocsin` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use tocsin::cli;
use tocsin::config::Config;

#[derive(Parser)]
#[command(
    name = "tocsin",
    version,
    about = "Incident response in Slack and Discord, with its own record"
)]
struct Args {
    /// The configuration file (default: ./bot.toml when it exists, otherwise built-in defaults).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bot: HTTP server, enabled adapters and outbox workers.
    Serve,
    /// A chat room in the terminal on the same engine; reads a script from stdin when it is not a terminal.
    Console,
    /// Apply database migrations and exit.
    Migrate,
    /// Write an incident's record: the postmortem draft (markdown) or everything
    /// (json); with --all, every incident and subscription as JSON lines (a backup).
    Export {
        /// The incident, e.g. INC-7.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        incident: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        /// Everything, as JSON lines, for `tocsin import`.
        #[arg(long)]
        all: bool,
    },
    /// Read a backup made by `export --all` into an empty database.
    Import {
        /// The file to read; standard input when left out or "-".
        file: Option<PathBuf>,
    },
    /// Print an app manifest: `manifest slack` (request URLs from server.public_url;
    /// Socket Mode when it is not set).
    Manifest {
        #[arg(value_enum)]
        platform: ManifestPlatform,
    },
    /// Print the application commands: `commands discord` (the JSON to
    /// bulk-overwrite in the guild, with choices from this configuration);
    /// with `--register`, install them in the configured guild.
    Commands {
        #[arg(value_enum)]
        platform: CommandsPlatform,
        /// Bulk-overwrite the guild's commands with these (needs [discord]).
        #[arg(long)]
        register: bool,
    },
    /// Delete (staged), restore, list deleted, or purge incident records.
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
    },
    /// The audit log: who changed what, newest last.
    Audit {
        /// Only this incident's lines.
        incident: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Incidents of a period, measured: count, MTTA, time to mitigate and
    /// MTTR (median and p90) by severity, source and team, and the share
    /// declared out of hours ([report] sets the working hours).
    Report {
        /// How far back: 90d, 12w, 36h, or a date like 2026-09-01.
        #[arg(long, default_value = "90d", value_name = "PERIOD")]
        since: String,
        /// Up to this date (midnight UTC, excluded); default: now.
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// json gives times in seconds; csv one row per group.
        #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
        format: ReportFormat,
    },
    /// The web command center: `web link slack:U024BE7LH` prints a one-time
    /// sign-in link for that person (for when chat is down).
    Web {
        #[command(subcommand)]
        command: WebCommand,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum IncidentCommand {
    /// Hide an incident and purge it after incidents.purge_grace_hours; or,
    /// with --closed-before, every incident closed before a date (listed
    /// first; needs --confirm).
    Delete {
        #[arg(required_unless_present = "closed_before", conflicts_with = "closed_before")]
        incident: Option<String>,
        /// A date like 2026-01-31.
        #[arg(long, value_name = "DATE")]
        closed_before: Option<String>,
        #[arg(long)]
        confirm: bool,
        /// Who is doing this, for the audit log (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Undo a deletion before the purge.
    Restore {
        incident: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// List incidents marked for deletion.
    Deleted,
    /// Purge what is past its grace period now (serve does it every ten minutes).
    Purge {
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Subcommand)]
enum WebCommand {
    /// Print a sign-in link (works once, for 15 minutes) for a chat person.
    Link {
        /// Who signs in: slack:<user id> or discord:<user id>.
        person: String,
        /// Where to land, e.g. /incidents/INC-7.
        #[arg(long, value_name = "PATH")]
        next: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Load and validate the configuration, then say what is on.
    Check,
}

#[derive(Clone, Copy, ValueEnum)]
enum ManifestPlatform {
    Slack,
}

#[derive(Clone, Copy, ValueEnum)]
enum CommandsPlatform {
    Discord,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Markdown,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Markdown,
    Json,
    Csv,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let verbose = matches!(args.command, Command::Serve);
    cli::init_logging(verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match args.command {
            Command::Serve => cli::serve(config).await,
            Command::Console => cli::console(config).await,
            Command::Migrate => cli::migrate(config).await,
            Command::Export { all: true, .. } => cli::export_all(config).await,
            Command::Export { incident, format, .. } => {
                let incident = incident.unwrap_or_default();
                cli::export(config, &incident, matches!(format, Format::Json)).await
            }
            Command::Import { file } => match file.filter(|f| f.as_os_str() != "-") {
                None => cli::import(config, std::io::stdin().lock()).await,
                Some(path) => match std::fs::File::open(&path) {
                    Ok(f) => cli::import(config, std::io::BufReader::new(f)).await,
                    Err(e) => Err(cli::CliError::usage(format!("{}: {e}", path.display()))),
                },
            },
            Command::Incident { command } => {
                use cli::retention::{self as r, Selection};
                match command {
                    IncidentCommand::Delete { incident, closed_before, confirm, by } => {
                        let what = match (incident, closed_before) {
                            (Some(i), _) => Selection::One(i),
                            (None, Some(d)) => Selection::ClosedBefore(d),
                            (None, None) => unreachable!("clap requires one"),
                        };
                        r::delete(config, what, confirm, by).await
                    }
                    IncidentCommand::Restore { incident, by } => {
                        r::restore(config, &incident, by).await
                    }
                    IncidentCommand::Deleted => r::deleted(config).await,
                    IncidentCommand::Purge { by } => r::purge(config, by).await,
                }
            }
            Command::Audit { incident, limit } => {
                cli::retention::audit_log(config, incident, limit).await
            }
            Command::Report { since, until, format } => {
                let format = match format {
                    ReportFormat::Markdown => tocsin::report::Format::Markdown,
                    ReportFormat::Json => tocsin::report::Format::Json,
                    ReportFormat::Csv => tocsin::report::Format::Csv,
                };
                cli::report(config, &since, until.as_deref(), format).await
            }
            Command::Web { command: WebCommand::Link { person, next } } => {
                cli::web::link(config, &person, next.as_deref()).await
            }
            Command::Config { command: ConfigCommand::Check } => cli::config_check(&config),
            Command::Manifest { platform: ManifestPlatform::Slack } => cli::manifest_slack(&config),
            Command::Commands { platform: CommandsPlatform::Discord, register } => {
                cli::commands_discord(&config, register).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(e.exit_code())
        }
    }
}
