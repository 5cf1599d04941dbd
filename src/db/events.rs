//! What happened, for live updates: a post published, edited or deleted, a notification
//! written. Events carry ids only; each listener reads what its viewer may see. On PostgreSQL
//! an event goes through `NOTIFY`, so every `serve` process hears what any process (a worker
//! that published a post, another server's inbox) did; on SQLite, which one process serves,
//! it stays in the process.

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::{Backend, Db};

const CHANNEL: &str = "kaleido_events";
/// Events a slow listener may fall behind by before it misses some (it is told it did).
const BACKLOG: usize = 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Posted {
        status_id: String,
    },
    Edited {
        status_id: String,
    },
    /// The post is gone by now: who wrote it and whether it was public say who hears of it.
    Deleted {
        status_id: String,
        author_id: String,
        public: bool,
    },
    Told {
        account_id: String,
        notification_id: String,
    },
}

/// The process's end of the event channel.
#[derive(Clone)]
pub struct Events {
    sender: broadcast::Sender<Event>,
    /// PostgreSQL: the connection listening for `NOTIFY`, started by the first subscriber.
    listening: Arc<OnceLock<()>>,
    url: Option<Arc<str>>,
}

impl Events {
    pub(super) fn new(url: Option<&str>) -> Events {
        Events {
            sender: broadcast::channel(BACKLOG).0,
            listening: Arc::new(OnceLock::new()),
            url: url.map(Arc::from),
        }
    }
}

/// Tells every listener, in this process or (PostgreSQL) any other. Live updates are a
/// courtesy: failing to send one never fails what caused it.
pub async fn emit(db: &Db, event: Event) {
    match db.backend {
        Backend::Sqlite => {
            let _ = db.events.sender.send(event);
        }
        Backend::Postgres => {
            let Ok(payload) = serde_json::to_string(&event) else {
                return;
            };
            if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload)
                .execute(&db.pool)
                .await
            {
                tracing::warn!(error = %e, "cannot send a live update");
            }
        }
    }
}

/// A receiver of every event from now on.
pub fn subscribe(db: &Db) -> broadcast::Receiver<Event> {
    if db.backend == Backend::Postgres
        && let Some(url) = &db.events.url
    {
        let sender = db.events.sender.clone();
        let url = url.clone();
        db.events.listening.get_or_init(|| {
            tokio::spawn(listen(url, sender));
        });
    }
    db.events.sender.subscribe()
}

/// Relays `NOTIFY`s to this process's listeners for as long as it runs; sqlx reconnects a
/// lost connection (events sent meanwhile are missed, as a client that reconnects misses them).
async fn listen(url: Arc<str>, sender: broadcast::Sender<Event>) {
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect(&url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for live updates; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "cannot listen for live updates; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            continue;
        }
        loop {
            match listener.recv().await {
                Ok(note) => {
                    if let Ok(event) = serde_json::from_str::<Event>(note.payload()) {
                        let _ = sender.send(event);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "live updates interrupted; reconnecting");
                    break;
                }
            }
        }
    }
}
