//! Every SQL statement of Kaleido lives under this module.
//!
//! One `AnyPool` serves both SQLite and PostgreSQL: queries use `$1` placeholders, TEXT ids and
//! integer epoch-millisecond times, which both accept. Where the two differ (job claiming) the
//! difference is named by [`Backend`] and kept next to the query.

pub mod accounts;
pub mod audit;
pub mod conversation;
pub mod email;
pub mod events;
pub mod exports;
pub mod federation;
pub mod invites;
pub mod jobs;
pub mod maintenance;
pub mod marks;
pub mod media;
pub mod mirrors;
pub mod moderation;
pub mod notifications;
pub mod oauth;
pub mod relations;
pub mod search;
pub mod sessions;
pub mod settings;
pub mod statuses;
pub mod tokens;
pub mod tus;
pub mod two_factor;

use std::{str::FromStr, time::Duration};

use sqlx::{
    AnyPool, Executor, SqlSafeStr,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::{Migration, MigrationType, Migrator},
};

use crate::{
    config::DatabaseConfig,
    error::{Error, Result},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// The live-update channel (`events`).
    pub events: events::Events,
}

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        2,
        "photos and posts",
        include_str!("../../migrations/sqlite/0002_photos_and_posts.sql"),
    ),
    (
        3,
        "resumable uploads",
        include_str!("../../migrations/sqlite/0003_tus.sql"),
    ),
    (
        4,
        "instance settings",
        include_str!("../../migrations/sqlite/0004_instance.sql"),
    ),
    (
        5,
        "federation",
        include_str!("../../migrations/sqlite/0005_federation.sql"),
    ),
    (
        6,
        "moderation",
        include_str!("../../migrations/sqlite/0006_moderation.sql"),
    ),
    (
        7,
        "mirroring",
        include_str!("../../migrations/sqlite/0007_mirroring.sql"),
    ),
    (
        8,
        "mirror strategies",
        include_str!("../../migrations/sqlite/0008_mirror_strategies.sql"),
    ),
    (
        9,
        "inbox pruning",
        include_str!("../../migrations/sqlite/0009_inbox_pruning.sql"),
    ),
    (
        10,
        "accounts",
        include_str!("../../migrations/sqlite/0010_accounts.sql"),
    ),
    (
        11,
        "two-factor authentication",
        include_str!("../../migrations/sqlite/0011_two_factor.sql"),
    ),
    (
        12,
        "animated pictures",
        include_str!("../../migrations/sqlite/0012_animated_pictures.sql"),
    ),
    (
        13,
        "oauth apps",
        include_str!("../../migrations/sqlite/0013_oauth_apps.sql"),
    ),
    (
        14,
        "idempotency keys",
        include_str!("../../migrations/sqlite/0014_idempotency.sql"),
    ),
    (
        15,
        "edits, bookmarks, pins and markers",
        include_str!("../../migrations/sqlite/0015_status_extras.sql"),
    ),
    (
        16,
        "mentions, tags and notifications",
        include_str!("../../migrations/sqlite/0016_conversation.sql"),
    ),
    (
        17,
        "full-text search",
        include_str!("../../migrations/sqlite/0017_search.sql"),
    ),
    (
        18,
        "notify and featured tags",
        include_str!("../../migrations/sqlite/0018_notify_and_featured_tags.sql"),
    ),
    (
        19,
        "exports",
        include_str!("../../migrations/sqlite/0019_exports.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "photos and posts",
        include_str!("../../migrations/postgres/0002_photos_and_posts.sql"),
    ),
    (
        3,
        "resumable uploads",
        include_str!("../../migrations/postgres/0003_tus.sql"),
    ),
    (
        4,
        "instance settings",
        include_str!("../../migrations/postgres/0004_instance.sql"),
    ),
    (
        5,
        "federation",
        include_str!("../../migrations/postgres/0005_federation.sql"),
    ),
    (
        6,
        "moderation",
        include_str!("../../migrations/postgres/0006_moderation.sql"),
    ),
    (
        7,
        "mirroring",
        include_str!("../../migrations/postgres/0007_mirroring.sql"),
    ),
    (
        8,
        "mirror strategies",
        include_str!("../../migrations/postgres/0008_mirror_strategies.sql"),
    ),
    (
        9,
        "inbox pruning",
        include_str!("../../migrations/postgres/0009_inbox_pruning.sql"),
    ),
    (
        10,
        "accounts",
        include_str!("../../migrations/postgres/0010_accounts.sql"),
    ),
    (
        11,
        "two-factor authentication",
        include_str!("../../migrations/postgres/0011_two_factor.sql"),
    ),
    (
        12,
        "animated pictures",
        include_str!("../../migrations/postgres/0012_animated_pictures.sql"),
    ),
    (
        13,
        "oauth apps",
        include_str!("../../migrations/postgres/0013_oauth_apps.sql"),
    ),
    (
        14,
        "idempotency keys",
        include_str!("../../migrations/postgres/0014_idempotency.sql"),
    ),
    (
        15,
        "edits, bookmarks, pins and markers",
        include_str!("../../migrations/postgres/0015_status_extras.sql"),
    ),
    (
        16,
        "mentions, tags and notifications",
        include_str!("../../migrations/postgres/0016_conversation.sql"),
    ),
    (
        17,
        "full-text search",
        include_str!("../../migrations/postgres/0017_search.sql"),
    ),
    (
        18,
        "notify and featured tags",
        include_str!("../../migrations/postgres/0018_notify_and_featured_tags.sql"),
    ),
    (
        19,
        "exports",
        include_str!("../../migrations/postgres/0019_exports.sql"),
    ),
];

impl Db {
    /// Connects, failing within the configured timeout with a message that names the database
    /// (without its password).
    pub async fn connect(config: &DatabaseConfig) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let url = config.url.expose();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(|e| {
            Error::internal(format!("invalid database.url {}", config.redacted_url())).with_source(e)
        })?;
        let pool = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(Duration::from_secs(config.connect_timeout_seconds))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the single writer; the busy timeout makes a
                        // CLI command that writes while `serve` runs wait instead of failing.
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options);
        let pool = tokio::time::timeout(Duration::from_secs(config.connect_timeout_seconds), pool)
            .await
            .map_err(|_| {
                Error::unavailable(format!(
                    "cannot connect to database {}: timed out after {}s",
                    config.redacted_url(),
                    config.connect_timeout_seconds
                ))
            })?
            .map_err(|e| {
                Error::unavailable(format!("cannot connect to database {}", config.redacted_url()))
                    .with_source(e)
            })?;
        let events = events::Events::new((backend == Backend::Postgres).then_some(url.as_str()));
        Ok(Db {
            pool,
            backend,
            events,
        })
    }

    pub async fn migrate(&self) -> Result<()> {
        let list = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        let migrations = list
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    (*name).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        Migrator::with_migrations(migrations)
            .run(&self.pool)
            .await
            .map_err(|e| Error::internal("database migration failed").with_source(e))
    }

    pub async fn begin(&self) -> Result<Tx> {
        match self.backend {
            // Every transaction here writes. A deferred one that reads first cannot take the
            // write lock once another connection has written since its read (SQLite answers
            // "database is locked" at once, whatever the busy timeout): IMMEDIATE takes the lock
            // up front, waiting for it as the busy timeout allows.
            Backend::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => Ok(self.pool.begin().await?),
        }
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Creates the database file's folder (SQLite will not) and asks for the file to be created.
fn sqlite_url(url: &str) -> Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let parent = std::path::Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent.filter(|_| path != ":memory:") {
        std::fs::create_dir_all(parent).map_err(|e| {
            Error::internal(format!("cannot create database folder {}", parent.display())).with_source(e)
        })?;
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Milliseconds since the Unix epoch: the one time representation stored.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
