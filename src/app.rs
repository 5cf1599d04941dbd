//! Builds a running instance from a `Config`: database, object store, queue, HTTP server and
//! workers. `kaleido serve` and the tests start it the same way (tests on port 0).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use actix_web::{App, HttpServer, web};

use crate::{
    config::{Config, ServerConfig},
    db::Db,
    error::{Error, Result},
    federation::{inbox, outbox},
    http::{self, pages::Templates},
    jobs::{Queue, Registry, pool::WorkerPool},
    maintenance::{CLEANUP, Cleanup},
    media::{
        photo::Sizes,
        process::{PROCESS_MEDIA, PURGE_MEDIA, ProcessMedia, PurgeMedia, TRANSCODE_VIDEO},
    },
    storage::{self, Store},
};

/// What every handler and job can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub store: Store,
    pub queue: Queue,
    pub templates: Arc<Templates>,
    /// The one client for talking to other servers (guarded against private addresses).
    pub http: crate::federation::client::Client,
    /// Shared by every copy this process makes, whichever worker runs it.
    pub mirror_limits: Arc<crate::mirror::limits::HostLimits>,
    /// Which viewers' beacons were counted lately (this process's memory only).
    pub beacons: Arc<crate::http::beacons::Beacons>,
}

impl AppState {
    /// Connects to the database (applying migrations) and opens the object store.
    pub async fn connect(config: Config) -> Result<AppState> {
        let db = Db::connect(&config.database).await?;
        db.migrate().await?;
        let store = storage::from_config(&config.storage).await?;
        let queue = Queue::new(db.clone(), config.workers.max_attempts);
        // Made once, here, so no request waits for RSA key generation.
        crate::federation::instance::keys(&db).await?;
        let http = crate::federation::client::Client::new(&config.federation, config.public_url())?;
        let config_mirroring = config.mirroring.clone();
        let state = AppState {
            config: Arc::new(config),
            db,
            store,
            queue,
            templates: Arc::new(Templates::new()?),
            http,
            mirror_limits: Arc::new(crate::mirror::limits::HostLimits::new(
                config_mirroring.max_bytes_per_second_per_host,
                config_mirroring.max_copies_per_host,
            )),
            beacons: Arc::default(),
        };
        crate::mirror::peers::follow_configured(&state).await?;
        Ok(state)
    }

    /// Every job kind this build can run.
    pub fn registry(&self) -> Registry {
        let mut registry = Registry::default();
        let media: Arc<ProcessMedia> = Arc::new(ProcessMedia {
            db: self.db.clone(),
            queue: self.queue.clone(),
            store: self.store.clone(),
            config: self.config.clone(),
            sizes: Sizes::default(),
        });
        registry.register(PROCESS_MEDIA, media.clone());
        // Transcodes have their own kind and cap, so they never hold every worker.
        registry.register_limited(TRANSCODE_VIDEO, media, self.config.transcoding.max_concurrent);
        registry.register(CLEANUP, Arc::new(Cleanup { state: self.clone() }));
        registry.register(outbox::PUBLISH, Arc::new(outbox::Publish { state: self.clone() }));
        registry.register(outbox::DELIVER, Arc::new(outbox::Deliver::new(self.clone())));
        registry.register(inbox::PROCESS, Arc::new(inbox::Process { state: self.clone() }));
        registry.register(
            crate::mirror::peers::FOLLOW_PEER,
            Arc::new(crate::mirror::peers::FollowPeer { state: self.clone() }),
        );
        registry.register(
            crate::mirror::strategy::PLAN,
            Arc::new(crate::mirror::strategy::Planner { state: self.clone() }),
        );
        registry.register(
            crate::mirror::verify::VERIFY,
            Arc::new(crate::mirror::verify::Verify { state: self.clone() }),
        );
        // Copies are big downloads: they get their own cap, like transcodes.
        registry.register_limited(
            crate::mirror::copy::COPY,
            Arc::new(crate::mirror::copy::Copy { state: self.clone() }),
            2,
        );
        registry.register(
            PURGE_MEDIA,
            Arc::new(PurgeMedia {
                db: self.db.clone(),
                store: self.store.clone(),
            }),
        );
        registry
    }

    pub fn start_workers(&self) -> Option<WorkerPool> {
        (self.config.workers.count > 0).then(|| self.start_workers_with(self.config.workers.count))
    }

    /// A pool of `count` workers regardless of `workers.count` (the `worker` command, tests).
    pub fn start_workers_with(&self, count: usize) -> WorkerPool {
        let mut config = self.config.workers.clone();
        config.count = count;
        let mut pool = WorkerPool::start(&self.queue, self.registry(), &config, self.grace());
        let (state, every) = (
            self.clone(),
            Duration::from_secs(config.cleanup_interval_seconds.max(1)),
        );
        pool.attach(move |cancel| crate::maintenance::schedule(state, every, cancel));
        pool
    }

    fn grace(&self) -> Duration {
        Duration::from_secs(self.config.server.shutdown_grace_seconds)
    }
}

/// A serving instance.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    server: actix_web::dev::ServerHandle,
    server_task: tokio::task::JoinHandle<std::io::Result<()>>,
    workers: Option<WorkerPool>,
}

pub async fn start(mut config: Config) -> Result<Running> {
    let bind = config.bind_addr().map_err(|e| Error::internal(e.to_string()))?;
    let listener = std::net::TcpListener::bind(bind)
        .map_err(|e| Error::internal(format!("cannot listen on {bind}")).with_source(e))?;
    let addr = listener.local_addr()?;
    if bind.port() == 0 && config.server.public_url == ServerConfig::default().public_url {
        // A free port was asked for and no public address given: the instance's own links
        // must point where it actually listens.
        config.server.public_url = format!("http://{addr}");
    }
    let state = AppState::connect(config).await?;
    let data = web::Data::new(state.clone());
    let limits = state.config.limits.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(|cfg| http::configure(cfg, &limits))
    })
    .disable_signals()
    .shutdown_timeout(state.config.server.shutdown_grace_seconds)
    .listen(listener)
    .map_err(|e| Error::internal(format!("cannot listen on {addr}")).with_source(e))?;
    let server = server.run();
    let handle = server.handle();
    let server_task = tokio::spawn(server);
    let workers = state.start_workers();
    Ok(Running {
        addr,
        state,
        server: handle,
        server_task,
        workers,
    })
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graceful stop: no new connections, in-flight requests finish, running jobs get the grace
    /// period and are then released to other workers.
    pub async fn stop(self) {
        let workers = async {
            if let Some(pool) = self.workers {
                pool.shutdown().await;
            }
        };
        tokio::join!(self.server.stop(true), workers);
        let _ = self.server_task.await;
    }
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
