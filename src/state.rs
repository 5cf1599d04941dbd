//! What every handler and job reaches: the configuration, the database, the object store, the
//! job queue, the one guarded client for other servers, and the limits shared by the whole
//! process. It imports no feature, so every feature may import it; `app` wires the features.

use std::sync::Arc;

use crate::{
    config::Config,
    db::Db,
    error::Result,
    jobs::Queue,
    net::{client::Client, limits::HostLimits},
    storage::{self, Key, Store},
};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub store: Store,
    pub queue: Queue,
    /// The one client for talking to other servers (guarded against private addresses).
    pub http: Client,
    /// Shared by every copy this process makes, whichever worker runs it.
    pub mirror_limits: Arc<HostLimits>,
}

impl AppState {
    /// Connects to the database (applying migrations) and opens the object store.
    pub async fn connect(config: Config) -> Result<AppState> {
        let db = Db::connect(&config.database).await?;
        db.migrate().await?;
        let store = storage::from_config(&config.storage).await?;
        let queue = Queue::new(db.clone(), config.workers.max_attempts);
        let http = Client::new(&config.federation, config.public_url())?;
        let mirror_limits = Arc::new(HostLimits::new(
            config.mirroring.max_bytes_per_second_per_host,
            config.mirroring.max_copies_per_host,
        ));
        Ok(AppState {
            config: Arc::new(config),
            db,
            store,
            queue,
            http,
            mirror_limits,
        })
    }

    /// Where a browser fetches a stored file: the store itself when public, else through Kaleido.
    pub fn file_url(&self, key: &str) -> String {
        Key::parse(key)
            .ok()
            .and_then(|k| self.store.public_url(&k))
            .unwrap_or_else(|| format!("{}/files/{key}", self.config.public_url()))
    }
}
