//! The durable job queue's semantics, in process, on both databases: retries with backoff,
//! failure with the error kept, lease expiry and fencing, release at shutdown.

mod common;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use kaleido::{
    config::WorkersConfig,
    db::{self, Db},
    jobs::{JobError, JobHandler, JobRun, Queue, Registry, pool::WorkerPool},
};

/// Fails its first `failures` runs, then succeeds; records when each run started and every
/// final failure reported to it.
struct Scripted {
    failures: u32,
    permanent: bool,
    panic: bool,
    sleep: Duration,
    runs: AtomicU32,
    started: Mutex<Vec<Instant>>,
    failed: Mutex<Vec<String>>,
}

impl Scripted {
    fn new(failures: u32) -> Arc<Scripted> {
        Arc::new(Scripted {
            failures,
            permanent: false,
            panic: false,
            sleep: Duration::ZERO,
            runs: AtomicU32::new(0),
            started: Mutex::new(Vec::new()),
            failed: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait::async_trait]
impl JobHandler for Scripted {
    async fn run(&self, _job: &JobRun) -> Result<(), JobError> {
        self.started.lock().expect("lock").push(Instant::now());
        let n = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(self.sleep).await;
        if n <= self.failures {
            if self.panic {
                panic!("scripted panic on run {n}");
            }
            return Err(if self.permanent {
                JobError::permanent(format!("refused on run {n}"))
            } else {
                JobError::retry(format!("flaked on run {n}"))
            });
        }
        Ok(())
    }

    async fn failed(&self, _payload: &str, error: &str) {
        self.failed.lock().expect("lock").push(error.to_owned());
    }
}

fn workers(count: usize, max_attempts: u32) -> WorkersConfig {
    WorkersConfig {
        count,
        lease_seconds: 2,
        max_attempts,
        retry_base_ms: 200,
        poll_interval_ms: 20,
        cleanup_interval_seconds: 3600,
    }
}

fn start(db: &Db, kind: &'static str, handler: Arc<Scripted>, config: &WorkersConfig) -> (Queue, WorkerPool) {
    let queue = Queue::new(db.clone(), config.max_attempts);
    let mut registry = Registry::default();
    registry.register(kind, handler);
    let pool = WorkerPool::start(&queue, registry, config, Duration::from_millis(300));
    (queue, pool)
}

async fn wait_state(db: &Db, id: &str, state: &str) -> db::jobs::JobRow {
    common::eventually(20, state, || async {
        db::jobs::get(db, id)
            .await
            .expect("get")
            .filter(|j| j.state == state)
    })
    .await
}

both_backends!(failures_retry_with_backoff_then_succeed, |backend| async move {
    let (db, _dir) = common::database(backend).await;
    let handler = Scripted::new(2);
    let config = workers(2, 5);
    let (queue, pool) = start(&db, "test.flaky", handler.clone(), &config);
    let id = queue
        .enqueue("test.flaky", &serde_json::json!({"n": 1}))
        .await
        .expect("enqueue");
    let job = wait_state(&db, &id, "done").await;
    assert_eq!(job.attempts, 3);
    assert_eq!(job.last_error.as_deref(), Some("flaked on run 2"));
    let started = handler.started.lock().expect("lock").clone();
    assert_eq!(started.len(), 3);
    // The base delay, then twice it.
    assert!(
        started[1] - started[0] >= Duration::from_millis(200),
        "{:?}",
        started[1] - started[0]
    );
    assert!(
        started[2] - started[1] >= Duration::from_millis(400),
        "{:?}",
        started[2] - started[1]
    );
    assert!(handler.failed.lock().expect("lock").is_empty());
    pool.shutdown().await;
});

both_backends!(spent_attempts_fail_with_the_error_kept, |backend| async move {
    let (db, _dir) = common::database(backend).await;
    let handler = Scripted::new(u32::MAX);
    let (queue, pool) = start(&db, "test.broken", handler.clone(), &workers(1, 3));
    let id = queue
        .enqueue("test.broken", &serde_json::json!({}))
        .await
        .expect("enqueue");
    let job = wait_state(&db, &id, "failed").await;
    assert_eq!(job.attempts, 3);
    assert_eq!(job.last_error.as_deref(), Some("flaked on run 3"));
    common::eventually(5, "failure hook", || async {
        (handler.failed.lock().expect("lock").len() == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        handler.runs.load(Ordering::SeqCst),
        3,
        "no run after failing for good"
    );
    pool.shutdown().await;
});

both_backends!(permanent_errors_and_panics, |backend| async move {
    let (db, _dir) = common::database(backend).await;
    let refusing = Arc::new(Scripted {
        permanent: true,
        ..Arc::into_inner(Scripted::new(u32::MAX)).expect("fresh")
    });
    let panicking = Arc::new(Scripted {
        panic: true,
        ..Arc::into_inner(Scripted::new(1)).expect("fresh")
    });
    let queue = Queue::new(db.clone(), 5);
    let mut registry = Registry::default();
    registry.register("test.refuse", refusing.clone());
    registry.register("test.panic", panicking.clone());
    let pool = WorkerPool::start(&queue, registry, &workers(2, 5), Duration::from_millis(300));
    let refused = queue
        .enqueue("test.refuse", &serde_json::json!({}))
        .await
        .expect("enqueue");
    let panicked = queue
        .enqueue("test.panic", &serde_json::json!({}))
        .await
        .expect("enqueue");
    // A verdict about the input is not retried.
    let job = wait_state(&db, &refused, "failed").await;
    assert_eq!(job.attempts, 1);
    assert_eq!(job.last_error.as_deref(), Some("refused on run 1"));
    // A panic fails that run only; the worker survives and the retry succeeds.
    let job = wait_state(&db, &panicked, "done").await;
    assert_eq!(job.attempts, 2);
    assert_eq!(job.last_error.as_deref(), Some("the job panicked"));
    pool.shutdown().await;
});

both_backends!(expired_leases_are_reclaimed_and_fenced, |backend| async move {
    let (db, _dir) = common::database(backend).await;
    let queue = Queue::new(db.clone(), 5);
    let id = queue
        .enqueue("test.lease", &serde_json::json!({}))
        .await
        .expect("enqueue");

    let ghost = db::jobs::claim(&db, "ghost", "ghost-token", 500, &["test.lease"])
        .await
        .expect("claim");
    let ghost = ghost.expect("the job is claimable");
    assert_eq!(ghost.attempts, 1);
    // Held: nobody else gets it, and it is only claimed for the kinds asked for.
    assert!(
        db::jobs::claim(&db, "other", "t2", 500, &["test.lease"])
            .await
            .expect("claim")
            .is_none()
    );
    assert!(
        db::jobs::heartbeat(&db, &id, "ghost-token", 500)
            .await
            .expect("heartbeat")
    );

    // The ghost stops heartbeating (as after kill -9); once the lease runs out, another takes it.
    tokio::time::sleep(Duration::from_millis(650)).await;
    assert!(
        db::jobs::claim(&db, "other", "t3", 5000, &["test.other-kind"])
            .await
            .expect("claim")
            .is_none()
    );
    let taken = db::jobs::claim(&db, "other", "t3", 5000, &["test.lease"])
        .await
        .expect("claim");
    let taken = taken.expect("reclaimed after expiry");
    assert_eq!(taken.id, id);
    assert_eq!(taken.attempts, 2);

    // The ghost's late writes are refused: its token no longer holds the lease.
    assert!(
        !db::jobs::heartbeat(&db, &id, "ghost-token", 500)
            .await
            .expect("heartbeat")
    );
    assert!(
        !db::jobs::complete(&db, &id, "ghost-token")
            .await
            .expect("complete")
    );
    assert!(db::jobs::complete(&db, &id, "t3").await.expect("complete"));
    let job = db::jobs::get(&db, &id).await.expect("get").expect("row");
    assert_eq!(
        (job.state.as_str(), job.lease_owner.as_deref()),
        ("done", Some("other"))
    );
});

both_backends!(abandoned_last_attempt_is_reaped, |backend| async move {
    let (db, _dir) = common::database(backend).await;
    let handler = Scripted::new(0);
    let queue = Queue::new(db.clone(), 1);
    let id = queue
        .enqueue("test.last", &serde_json::json!({}))
        .await
        .expect("enqueue");
    db::jobs::claim(&db, "ghost", "g", 300, &["test.last"])
        .await
        .expect("claim")
        .expect("claimed");
    tokio::time::sleep(Duration::from_millis(400)).await;
    // A live pool notices the vanished worker spent the only attempt, and says so.
    let (_, pool) = start(&db, "test.last", handler.clone(), &workers(1, 1));
    let job = wait_state(&db, &id, "failed").await;
    assert!(
        job.last_error
            .as_deref()
            .is_some_and(|e| e.contains("stopped answering")),
        "{job:?}"
    );
    common::eventually(5, "failure hook", || async {
        (handler.failed.lock().expect("lock").len() == 1).then_some(())
    })
    .await;
    assert_eq!(handler.runs.load(Ordering::SeqCst), 0);
    pool.shutdown().await;
});

both_backends!(shutdown_releases_running_jobs, |backend| async move {
    let (db, _dir) = common::database(backend).await;
    let slow = Arc::new(Scripted {
        sleep: Duration::from_secs(30),
        ..Arc::into_inner(Scripted::new(0)).expect("fresh")
    });
    let (queue, pool) = start(&db, "test.slow", slow.clone(), &workers(1, 5));
    let id = queue
        .enqueue("test.slow", &serde_json::json!({}))
        .await
        .expect("enqueue");
    wait_state(&db, &id, "running").await;
    let stopping = Instant::now();
    pool.shutdown().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "shutdown waited for the job"
    );
    let job = db::jobs::get(&db, &id).await.expect("get").expect("row");
    // Back in the queue, at once, and the interrupted attempt does not count against it.
    assert_eq!(job.state, "queued");
    assert_eq!(job.attempts, 0);
    assert!(job.lease_expires_at.is_none());
    let again = db::jobs::claim(&db, "next", "n", 1000, &["test.slow"])
        .await
        .expect("claim");
    assert!(again.is_some(), "another worker can take it immediately");
});

/// Tracks how many runs overlap.
struct Overlap {
    now: AtomicU32,
    max: AtomicU32,
    sleep: Duration,
}

#[async_trait::async_trait]
impl JobHandler for Overlap {
    async fn run(&self, _job: &JobRun) -> Result<(), JobError> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.sleep).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

both_backends!(limited_kinds_leave_workers_for_the_rest, |backend| async move {
    let (db, _dir) = common::database(backend).await;
    let heavy = Arc::new(Overlap {
        now: AtomicU32::new(0),
        max: AtomicU32::new(0),
        sleep: Duration::from_millis(400),
    });
    let light = Scripted::new(0);
    let queue = Queue::new(db.clone(), 5);
    let mut registry = Registry::default();
    registry.register_limited("test.heavy", heavy.clone(), 1);
    registry.register("test.light", light.clone());
    let pool = WorkerPool::start(&queue, registry, &workers(3, 5), Duration::from_millis(300));
    let mut heavy_ids = Vec::new();
    for _ in 0..3 {
        heavy_ids.push(
            queue
                .enqueue("test.heavy", &serde_json::json!({}))
                .await
                .expect("enqueue"),
        );
    }
    let light_id = queue
        .enqueue("test.light", &serde_json::json!({}))
        .await
        .expect("enqueue");
    // The light job is done while heavy ones are still queued behind the limit.
    wait_state(&db, &light_id, "done").await;
    let still_waiting = {
        let mut waiting = 0;
        for id in &heavy_ids {
            if db::jobs::get(&db, id).await.expect("get").expect("row").state != "done" {
                waiting += 1;
            }
        }
        waiting
    };
    assert!(still_waiting >= 1, "light work did not wait for the heavy queue");
    for id in &heavy_ids {
        wait_state(&db, id, "done").await;
    }
    assert_eq!(
        heavy.max.load(Ordering::SeqCst),
        1,
        "never more than one heavy job at once"
    );
    pool.shutdown().await;
});
