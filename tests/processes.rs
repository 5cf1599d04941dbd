//! The `kaleido` binary as people and operators run it: startup line, configuration errors,
//! the CLI, graceful shutdown, and the job queue across processes (two workers on one
//! PostgreSQL; a worker killed with SIGKILL mid-job).

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use kaleido::db;
use serde_json::Value;

fn kaleido(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kaleido"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .current_dir(dir);
    command
}

fn wait_exit(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads stdout until the startup line and returns the address it names.
fn listening_url(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read");
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned()
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_no_configuration_is_a_working_instance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = kaleido(dir.path())
        .args(["serve"])
        .env("KALEIDO_SERVER__BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let url = listening_url(&mut child);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let http = reqwest::Client::new();
    let health: Value = http
        .get(format!("{url}/healthz"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "ok");
    let page = http.get(&url).send().await.expect("get");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("text").contains("Kaleido"));
    // The defaults: SQLite under data/, media under data/media.
    assert!(dir.path().join("data/kaleido.db").exists());
    assert!(dir.path().join("data/media").is_dir());
    let missing = http.get(format!("{url}/no/such/page")).send().await.expect("get");
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.expect("json");
    assert_eq!(body["error"], "not_found");
    sigterm(&child);
    assert!(wait_exit(&mut child, 15).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_upload_in_flight_finish() {
    let dir = tempfile::tempdir().expect("tempdir");
    kaleido(dir.path())
        .args(["user", "create", "erin", "--password", "correct horse battery"])
        .status()
        .expect("user create");
    let mut child = kaleido(dir.path())
        .args(["serve"])
        .env("KALEIDO_SERVER__BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let url = listening_url(&mut child);
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{url}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "erin"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = token["access_token"].as_str().expect("token").to_owned();

    // An upload whose body trickles in over about a second.
    let video = common::fake_mp4(4 * 1024 * 1024);
    let chunks: Vec<Vec<u8>> = video.chunks(256 * 1024).map(<[u8]>::to_vec).collect();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let mut started_tx = Some(started_tx);
    let body = futures_util::stream::iter(chunks).then(move |chunk| {
        let first = started_tx.take();
        async move {
            if let Some(tx) = first {
                let _ = tx.send(());
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
            Ok::<_, std::io::Error>(chunk)
        }
    });
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(body))
        .file_name("clip.mp4")
        .mime_str("video/mp4")
        .expect("mime");
    let upload = tokio::spawn({
        let http = http.clone();
        let url = url.clone();
        async move {
            http.post(format!("{url}/api/v2/media"))
                .bearer_auth(token)
                .multipart(reqwest::multipart::Form::new().part("file", part))
                .send()
                .await
        }
    });
    started_rx.await.expect("upload started");
    tokio::time::sleep(Duration::from_millis(200)).await;
    sigterm(&child);
    let response = upload
        .await
        .expect("join")
        .expect("the in-flight upload got an answer");
    assert_eq!(response.status(), 202, "the upload finished despite the shutdown");
    assert!(wait_exit(&mut child, 15).success());
    // And new connections are refused once it has stopped.
    assert!(http.get(format!("{url}/healthz")).send().await.is_err());
}

#[test]
fn user_create_reads_the_password_from_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = kaleido(dir.path())
        .args(["user", "create", "dave", "--admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a long enough password\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("created admin user dave"), "{text}");
    assert!(!text.contains("a long enough password"));

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut config = kaleido::config::Config::default();
        config.database.url =
            kaleido::config::Secret::new(format!("sqlite://{}/data/kaleido.db", dir.path().display()));
        let db = db::Db::connect(&config.database).await.expect("connect");
        let account = kaleido::accounts::login(&db, "dave", "a long enough password")
            .await
            .expect("login");
        assert!(account.is_admin);
    });

    let weak = kaleido(dir.path())
        .args(["user", "create", "eve", "--password", "short"])
        .output()
        .expect("run");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 8"));
    let taken = kaleido(dir.path())
        .args(["user", "create", "Dave", "--password", "another long one"])
        .output()
        .expect("run");
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("taken"));
}

#[test]
fn a_wrong_value_names_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = kaleido(dir.path())
        .args(["serve"])
        .env("KALEIDO_WORKERS__COUNT", "many")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("workers.count"), "{err}");

    std::fs::write(dir.path().join("k.toml"), "[storage]\nbackend = \"floppy\"\n").expect("write");
    let out = kaleido(dir.path())
        .args(["--config", "k.toml", "migrate"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("storage.backend") && err.contains("local"), "{err}");
}

#[test]
fn a_database_that_is_down_stops_startup_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Nothing listens on port 1; the password must not show in the message.
    let started = Instant::now();
    let out = kaleido(dir.path())
        .args(["serve"])
        .env(
            "KALEIDO_DATABASE__URL",
            "postgres://kaleido:hunter2@127.0.0.1:1/kaleido",
        )
        .env("KALEIDO_DATABASE__CONNECT_TIMEOUT_SECONDS", "3")
        .env("KALEIDO_SERVER__BIND", "127.0.0.1:0")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(20));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect to database postgres://kaleido:***@127.0.0.1:1/kaleido"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
}

#[test]
fn migrate_applies_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    for _ in 0..2 {
        let out = kaleido(dir.path()).args(["migrate"]).output().expect("run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
    }
}

/// Environment for a `kaleido worker` sharing an instance's database and local store.
fn worker(instance: &common::Instance, dir: &std::path::Path, count: usize) -> Command {
    let config = &instance.running.state.config;
    let mut command = kaleido(dir);
    command
        .arg("worker")
        .env("KALEIDO_DATABASE__URL", config.database.url.expose())
        .env("KALEIDO_STORAGE__LOCAL__PATH", &config.storage.local.path)
        .env("KALEIDO_STORAGE__TMP_PATH", &config.storage.tmp_path)
        .env("KALEIDO_WORKERS__COUNT", count.to_string())
        .env("KALEIDO_WORKERS__POLL_INTERVAL_MS", "50")
        .env("KALEIDO_WORKERS__LEASE_SECONDS", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// PostgreSQL with a local store shared by every process, as on one machine with several workers.
async fn postgres_local_instance() -> common::Instance {
    common::start_with(common::Backend::PostgresS3, |c| {
        c.workers.count = 0;
        c.storage.backend = kaleido::config::StorageBackend::Local;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_never_run_the_same_job() {
    let app = postgres_local_instance().await;
    let token = app.user("alice").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = worker(&app, dir.path(), 3).spawn().expect("spawn");
    let mut second = worker(&app, dir.path(), 3).spawn().expect("spawn");

    let mut ids = Vec::new();
    for n in 0..40 {
        let response = app
            .upload(&token, common::jpeg(64 + n as u32, 48), "photo.jpg", "image/jpeg")
            .await;
        assert_eq!(response.status(), 202);
        let body: Value = response.json().await.expect("json");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    for id in &ids {
        let (status, body) = app.wait_processed(&token, id).await;
        assert_eq!(status, 200, "{body}");
    }
    // Media turn ready just before their jobs record completion: wait for all 40.
    let jobs = common::eventually(10, "every job recorded done", || async {
        let jobs = db::jobs::list_by_kind(app.db(), "media.process")
            .await
            .expect("jobs");
        (jobs.len() == 40 && jobs.iter().all(|j| j.state == "done")).then_some(jobs)
    })
    .await;
    for job in &jobs {
        assert_eq!(job.attempts, 1, "job {} was claimed more than once", job.id);
    }
    let owners: std::collections::BTreeSet<String> = jobs
        .iter()
        .filter_map(|j| j.lease_owner.as_deref())
        .map(|o| o.split(':').nth(1).unwrap_or_default().to_owned())
        .collect();
    let pids: std::collections::BTreeSet<String> =
        [first.id(), second.id()].iter().map(u32::to_string).collect();
    assert_eq!(owners, pids, "both processes took part");
    sigterm(&first);
    sigterm(&second);
    assert!(wait_exit(&mut first, 15).success());
    assert!(wait_exit(&mut second, 15).success());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_job_completes_later() {
    let app = postgres_local_instance().await;
    let token = app.user("alice").await;
    let media: Value = app
        .upload(&token, common::tiny_jpeg(), "photo.jpg", "image/jpeg")
        .await
        .json()
        .await
        .expect("json");
    let media_id = media["id"].as_str().expect("id").to_owned();

    // The first worker's store never answers, so it is stuck inside the job when killed.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hole = format!("http://{}", black_hole.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in black_hole.incoming() {
            held.push(stream);
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let mut doomed = worker(&app, dir.path(), 1)
        .env("KALEIDO_STORAGE__BACKEND", "s3")
        .env("KALEIDO_STORAGE__S3__ENDPOINT", &hole)
        .env("KALEIDO_STORAGE__S3__BUCKET", "nowhere")
        .env("KALEIDO_STORAGE__S3__PATH_STYLE", "true")
        .env("KALEIDO_STORAGE__S3__ACCESS_KEY_ID", "GKnothing")
        .env(
            "KALEIDO_STORAGE__S3__SECRET_ACCESS_KEY",
            "nothing-nothing-nothing",
        )
        .spawn()
        .expect("spawn");
    let pid = doomed.id().to_string();
    let job = common::eventually(20, "the doomed worker to claim the job", || async {
        db::jobs::list_by_kind(app.db(), "media.process")
            .await
            .expect("jobs")
            .into_iter()
            .find(|j| {
                j.state == "running"
                    && j.lease_owner
                        .as_deref()
                        .is_some_and(|o| o.contains(&format!(":{pid}:")))
            })
    })
    .await;
    doomed.kill().expect("SIGKILL");
    doomed.wait().expect("reap");
    let status = app
        .http
        .get(format!("{}/api/v1/media/{media_id}", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .status();
    assert_eq!(status, 206, "still processing while nobody holds it");

    // A healthy worker takes it over when the dead one's lease runs out.
    let mut rescuer = worker(&app, dir.path(), 1).spawn().expect("spawn");
    let (status, body) = app.wait_processed(&token, &media_id).await;
    assert_eq!(status, 200, "{body}");
    // The media turns ready just before the job records its completion.
    let after = common::eventually(10, "the job to be recorded done", || async {
        db::jobs::get(app.db(), &job.id)
            .await
            .expect("get")
            .filter(|j| j.state == "done")
    })
    .await;
    assert_eq!(after.attempts, 2);
    assert!(
        after
            .lease_owner
            .as_deref()
            .is_some_and(|o| o.contains(&format!(":{}:", rescuer.id())))
    );
    sigterm(&rescuer);
    assert!(wait_exit(&mut rescuer, 15).success());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_transcode_loses_nothing() {
    let app = postgres_local_instance().await;
    let token = app.user("alice").await;
    let media: Value = app
        .upload(&token, common::clip(20, 1280, 720), "long.mp4", "video/mp4")
        .await
        .json()
        .await
        .expect("json");
    let media_id = media["id"].as_str().expect("id").to_owned();
    let dir = tempfile::tempdir().expect("dir");
    let transcoding = |command: &mut Command| {
        command
            .env("KALEIDO_TRANSCODING__PRESET", "veryfast")
            .env("KALEIDO_TRANSCODING__RESOLUTIONS", "[720, 480, 240]")
            .env("KALEIDO_TRANSCODING__SEGMENT_SECONDS", "2");
    };
    let mut first = worker(&app, dir.path(), 1);
    transcoding(&mut first);
    let mut doomed = first.spawn().expect("spawn");
    // Killed once the transcode is under way (its progress is past the download).
    common::eventually(60, "the transcode to start", || async {
        let body: Value = app
            .http
            .get(format!("{}/api/v1/media/{media_id}", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        (body["kaleido"]["progress"].as_i64().unwrap_or(0) > 10).then_some(())
    })
    .await;
    doomed.kill().expect("SIGKILL");
    doomed.wait().expect("reap");

    let mut second = worker(&app, dir.path(), 1);
    transcoding(&mut second);
    let mut rescuer = second.spawn().expect("spawn");
    let (status, body) = common::eventually(120, "the video to be ready", || async {
        let response = app
            .http
            .get(format!("{}/api/v1/media/{media_id}", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("json");
        (status != 206).then_some((status, body))
    })
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["kaleido"]["hls"].is_string());
    let jobs = common::eventually(10, "the transcode job to be recorded done", || async {
        let jobs = db::jobs::list_by_kind(app.db(), "media.transcode")
            .await
            .expect("jobs");
        (jobs.len() == 1 && jobs[0].state == "done").then_some(jobs)
    })
    .await;
    assert_eq!(jobs[0].attempts, 2);
    sigterm(&rescuer);
    assert!(wait_exit(&mut rescuer, 15).success());
    app.stop().await;
}

#[test]
fn domain_blocks_and_mirror_follows_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        let out = kaleido(dir.path()).args(args).output().expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(
        run(&[
            "domain",
            "block",
            "https://Spam.Example/",
            "--reason",
            "spam wave"
        ])
        .contains("blocked spam.example")
    );
    let listed = run(&["domain", "list"]);
    assert!(listed.contains("spam.example\tspam wave"), "{listed}");
    assert!(run(&["domain", "unblock", "spam.example"]).contains("unblocked spam.example"));
    assert!(!run(&["domain", "list"]).contains("spam.example"));
    // Mirroring a peer queues the follow for the workers of the running instance.
    assert!(run(&["mirror", "follow", "https://videos.example/"]).contains("follow https://videos.example"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut config = kaleido::config::Config::default();
        config.database.url =
            kaleido::config::Secret::new(format!("sqlite://{}/data/kaleido.db", dir.path().display()));
        let db = db::Db::connect(&config.database).await.expect("connect");
        let jobs = db::jobs::list_by_kind(&db, "mirror.follow_peer")
            .await
            .expect("jobs");
        assert_eq!(jobs.len(), 1);
        assert!(
            jobs[0].payload.contains("https://videos.example"),
            "{}",
            jobs[0].payload
        );
    });
}
