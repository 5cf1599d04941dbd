//! The `kaleido` command: parses the command line and dispatches. No logic lives here.

use std::{io::BufRead, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use kaleido::{accounts, app, config::Config, db::Db, telemetry};

#[derive(Parser)]
#[command(name = "kaleido", version, about = "A federated photo and video host")]
struct Cli {
    /// TOML configuration file; every key can also be set as KALEIDO_SECTION__KEY.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// HTTP server and in-process workers (the default).
    Serve,
    /// Workers only; several may share one PostgreSQL and object store.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Transcode one file (run by the workers in a child process).
    #[command(hide = true)]
    Transcode {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        output: PathBuf,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Instances this one refuses to talk to (besides federation.blocked_domains).
    Domain {
        #[command(subcommand)]
        command: DomainCommand,
    },
    /// Mirroring other instances' videos.
    Mirror {
        #[command(subcommand)]
        command: MirrorCommand,
    },
    /// An account's data.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Write the account's archive (the zip settings offer) to FILE.
    Export { name: String, file: PathBuf },
}

#[derive(Subcommand)]
enum MirrorCommand {
    /// Follow an instance (its instance actor) to mirror its videos, as mirroring.follow does;
    /// a running instance's workers send the Follow.
    Follow { url: String },
}

#[derive(Subcommand)]
enum DomainCommand {
    /// Block a domain (and its subdomains): no deliveries in or out, nothing fetched.
    Block {
        domain: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Lift a block.
    Unblock { domain: String },
    /// List the blocks with their reasons.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a local account; the password is read from stdin unless --password is given.
    Create {
        name: String,
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        password: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kaleido: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::Transcode { input, output }) = &cli.command {
        // A child of a worker: no logging set-up, no database; its exit code is its verdict.
        let options = kaleido::media::video::options(&config);
        let code =
            kaleido::media::video::run_child(input, output, &options, config.transcoding.memory_limit_mb);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    telemetry::init(config.log.format);
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kaleido: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> kaleido::error::Result<()> {
    match command {
        Command::Serve => {
            let running = app::start(config).await?;
            println!("listening on {}", running.url());
            app::shutdown_signal().await;
            tracing::info!("shutting down");
            running.stop().await;
        }
        Command::Worker => {
            let count = config.workers.count.max(1);
            let state = app::connect(config).await?;
            let pool = app::start_workers_with(&state, count);
            app::shutdown_signal().await;
            tracing::info!("shutting down");
            pool.shutdown().await;
        }
        Command::Transcode { .. } => unreachable!("handled before logging starts"),
        Command::Migrate => {
            let db = Db::connect(&config.database).await?;
            db.migrate().await?;
            println!("database {} is up to date", config.database.redacted_url());
        }
        Command::User {
            command:
                UserCommand::Create {
                    name,
                    admin,
                    password,
                },
        } => {
            let password = match password {
                Some(p) => p,
                None => read_password()?,
            };
            let db = Db::connect(&config.database).await?;
            db.migrate().await?;
            let account = accounts::create(&db, &name, &password, admin).await?;
            println!(
                "created {}user {} ({})",
                if account.is_admin { "admin " } else { "" },
                account.username,
                account.id
            );
        }
        Command::Account {
            command: AccountCommand::Export { name, file },
        } => {
            let state = kaleido::app::connect(config).await?;
            let account = kaleido::db::accounts::by_username(&state.db, &name.to_lowercase())
                .await?
                .ok_or_else(|| kaleido::error::Error::not_found(&format!("account {name}")))?;
            let size = kaleido::archive::build(&state, &account, &file).await?;
            println!("wrote {} ({size} bytes)", file.display());
        }
        Command::Mirror {
            command: MirrorCommand::Follow { url },
        } => {
            let db = Db::connect(&config.database).await?;
            db.migrate().await?;
            let queue = kaleido::jobs::Queue::new(db.clone(), config.workers.max_attempts);
            let base = url.trim_end_matches('/').to_owned();
            let job = queue.prepare(
                kaleido::mirror::peers::FOLLOW_PEER,
                &kaleido::mirror::peers::FollowPayload {
                    base_url: base.clone(),
                },
            )?;
            kaleido::db::jobs::enqueue(&db.pool, &job).await?;
            println!("queued: follow {base}'s instance actor to mirror its videos");
        }
        Command::Domain { command } => {
            let db = Db::connect(&config.database).await?;
            db.migrate().await?;
            match command {
                DomainCommand::Block { domain, reason } => {
                    let domain = kaleido::social::domain_of(&domain)?;
                    kaleido::db::federation::block_domain(&db, &domain, &reason).await?;
                    println!("blocked {domain}");
                }
                DomainCommand::Unblock { domain } => {
                    let domain = kaleido::social::domain_of(&domain)?;
                    if kaleido::db::federation::unblock_domain(&db, &domain).await? {
                        println!("unblocked {domain}");
                    } else {
                        println!("{domain} was not blocked");
                    }
                }
                DomainCommand::List => {
                    for domain in &config.federation.blocked_domains {
                        println!("{domain}\t(configuration)");
                    }
                    for (domain, reason, _) in kaleido::db::federation::domain_blocks(&db).await? {
                        println!("{domain}\t{reason}");
                    }
                }
            }
        }
    }
    Ok(())
}

fn read_password() -> kaleido::error::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
