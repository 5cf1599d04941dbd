//! Builds a running instance from a `Config`: the shared state, every job kind, the routes, the
//! HTTP server and the workers. The one module that knows every feature; nothing imports it
//! (only `main.rs` and the tests). `kaleido serve` and the tests start it the same way (tests
//! on port 0).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use actix_web::{App, HttpServer, web};

use crate::{
    config::{Config, ServerConfig},
    error::{Error, Result},
    federation::{self, outbox},
    http, inbox,
    jobs::{Registry, pool::WorkerPool},
    maintenance::{self, CLEANUP, Cleanup},
    media::{
        photo::Sizes,
        process::{PROCESS_MEDIA, PURGE_MEDIA, ProcessMedia, PurgeMedia, TRANSCODE_VIDEO},
    },
    mirror,
    state::AppState,
};

/// Connects to everything an instance uses and does what must be done before the first
/// request: the instance actor's keys (so no request waits for RSA key generation) and the
/// instance follows `mirroring.follow` asks for.
pub async fn connect(config: Config) -> Result<AppState> {
    // A mail set-up that cannot work (an unparsable sender, say) stops startup with the reason.
    if let Some(email) = &config.email {
        crate::net::mail::Mailer::new(email)?;
    }
    let state = AppState::connect(config).await?;
    // A process killed mid-upload or mid-transcode (kill -9, OOM) left its temp files; nothing
    // else would ever remove them. A folder that cannot be swept is no reason not to serve.
    if let Err(e) = maintenance::sweep_temp(&state.config.storage.tmp_path, maintenance::STALE_TEMP).await {
        tracing::warn!(error = %e, "cannot sweep the temp folder");
    }
    federation::instance::keys(&state.db).await?;
    mirror::peers::follow_configured(&state).await?;
    Ok(state)
}

/// Every job kind this build can run.
pub fn registry(state: &AppState) -> Registry {
    let mut registry = Registry::default();
    let media: Arc<ProcessMedia> = Arc::new(ProcessMedia {
        db: state.db.clone(),
        queue: state.queue.clone(),
        store: state.store.clone(),
        config: state.config.clone(),
        sizes: Sizes::default(),
        publish_job: outbox::publish_job,
    });
    registry.register(PROCESS_MEDIA, media.clone());
    // Transcodes have their own kind and cap, so they never hold every worker.
    registry.register_limited(TRANSCODE_VIDEO, media, state.config.transcoding.max_concurrent);
    registry.register(CLEANUP, Arc::new(Cleanup { state: state.clone() }));
    registry.register(
        outbox::PUBLISH,
        Arc::new(outbox::Publish { state: state.clone() }),
    );
    registry.register(outbox::DELIVER, Arc::new(outbox::Deliver::new(state.clone())));
    registry.register(inbox::PROCESS, Arc::new(inbox::Process { state: state.clone() }));
    registry.register(
        crate::archive::EXPORT,
        Arc::new(crate::archive::ExportJob { state: state.clone() }),
    );
    if let Some(email) = &state.config.email {
        match crate::net::mail::Mailer::new(email) {
            Ok(mailer) => registry.register(
                crate::accounts::mail::SEND_MAIL,
                Arc::new(crate::accounts::mail::SendMail {
                    mailer: Arc::new(mailer),
                }),
            ),
            // `connect` refused to start with such a set-up; this is only reached by callers
            // that built the state another way.
            Err(e) => tracing::error!(error = %e, "mail is configured but cannot be sent"),
        }
    }
    registry.register(
        crate::profiles::VERIFY_LINKS,
        Arc::new(crate::profiles::VerifyLinks { state: state.clone() }),
    );
    registry.register(
        mirror::peers::FOLLOW_PEER,
        Arc::new(mirror::peers::FollowPeer { state: state.clone() }),
    );
    registry.register(
        mirror::strategy::PLAN,
        Arc::new(mirror::strategy::Planner { state: state.clone() }),
    );
    registry.register(
        mirror::verify::VERIFY,
        Arc::new(mirror::verify::Verify { state: state.clone() }),
    );
    // Copies are big downloads: they get their own cap, like transcodes.
    registry.register_limited(
        mirror::copy::COPY,
        Arc::new(mirror::copy::Copy { state: state.clone() }),
        2,
    );
    registry.register(
        PURGE_MEDIA,
        Arc::new(PurgeMedia {
            db: state.db.clone(),
            store: state.store.clone(),
        }),
    );
    registry
}

pub fn start_workers(state: &AppState) -> Option<WorkerPool> {
    (state.config.workers.count > 0).then(|| start_workers_with(state, state.config.workers.count))
}

/// A pool of `count` workers regardless of `workers.count` (the `worker` command, tests).
pub fn start_workers_with(state: &AppState, count: usize) -> WorkerPool {
    let mut config = state.config.workers.clone();
    config.count = count;
    let grace = Duration::from_secs(state.config.server.shutdown_grace_seconds);
    let mut pool = WorkerPool::start(&state.queue, registry(state), &config, grace);
    let (state, every) = (
        state.clone(),
        Duration::from_secs(config.cleanup_interval_seconds.max(1)),
    );
    pool.attach(move |cancel| maintenance::schedule(state, every, cancel));
    pool
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
    let state = connect(config).await?;
    http::pages::Templates::get()?; // a broken template stops startup, not the first page
    let data = web::Data::new(state.clone());
    // Which viewers' beacons were counted lately: this process's memory only.
    let beacons = web::Data::new(http::beacons::Beacons::default());
    // Login attempts per address and account: this process's memory too.
    let throttle = web::Data::new(http::throttle::Throttle::default());
    let playlists = web::Data::new(http::media::PlaylistCache::default());
    let limits = state.config.limits.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(beacons.clone())
            .app_data(throttle.clone())
            .app_data(playlists.clone())
            .configure(|cfg| http::configure(cfg, &limits))
    })
    .disable_signals()
    .shutdown_timeout(state.config.server.shutdown_grace_seconds)
    .listen(listener)
    .map_err(|e| Error::internal(format!("cannot listen on {addr}")).with_source(e))?;
    let server = server.run();
    let handle = server.handle();
    let server_task = tokio::spawn(server);
    let workers = start_workers(&state);
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
