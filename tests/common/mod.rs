//! Shared test harness: real instances on port 0 against a fresh database and a fresh store,
//! on SQLite with local files or on PostgreSQL with the Garage S3 server `make test` starts.
#![allow(dead_code)]

pub mod fixtures;
pub mod signing;

use std::{path::PathBuf, time::Duration};

use kaleido::{
    app::{self, Running},
    config::{Config, Secret, StorageBackend},
};
use serde_json::Value;
use sqlx::{Connection, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    SqliteLocal,
    PostgresS3,
}

/// Runs the test body once per backend, as two tests named after them.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_local() {
                ($body)(common::Backend::SqliteLocal).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_s3() {
                ($body)(common::Backend::PostgresS3).await
            }
        }
    };
}

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the tests through `make test`, which starts PostgreSQL and Garage")
    })
}

pub fn pg_admin_url() -> String {
    required("TEST_PG_URL")
}

pub struct S3Settings {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

pub fn s3_settings() -> S3Settings {
    S3Settings {
        endpoint: required("TEST_S3_ENDPOINT"),
        access_key: required("TEST_S3_ACCESS_KEY"),
        secret_key: required("TEST_S3_SECRET_KEY"),
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// A fresh, empty PostgreSQL database; `make test` drops the leftovers of earlier runs.
pub async fn fresh_pg_database() -> String {
    let admin = pg_admin_url();
    let name = unique("kt_");
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to PostgreSQL");
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// A fresh bucket on the test S3 server.
pub async fn fresh_bucket() -> String {
    let s3 = s3_settings();
    let bucket = unique("kt-");
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(&s3.endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            s3.access_key,
            s3.secret_key,
            None,
            None,
            "test",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create test bucket");
    bucket
}

/// A configuration for a fresh instance: its own database and store, port 0, fast polling.
pub async fn config(backend: Backend, dir: &std::path::Path) -> Config {
    let mut c = Config::default();
    c.server.bind = "127.0.0.1:0".into();
    c.server.shutdown_grace_seconds = 2;
    c.storage.tmp_path = dir.join("tmp");
    c.storage.local.path = dir.join("media");
    c.workers.count = 2;
    c.workers.poll_interval_ms = 50;
    c.workers.retry_base_ms = 200;
    // Transcodes run in the real binary, small and fast.
    c.transcoding.program = Some(env!("CARGO_BIN_EXE_kaleido").into());
    c.transcoding.preset = "ultrafast".into();
    c.transcoding.resolutions = vec![480, 240];
    c.transcoding.segment_seconds = 1;
    match backend {
        Backend::SqliteLocal => {
            c.database.url = Secret::new(format!("sqlite://{}/kaleido.db", dir.display()));
            c.storage.backend = StorageBackend::Local;
        }
        Backend::PostgresS3 => {
            c.database.url = Secret::new(fresh_pg_database().await);
            let s3 = s3_settings();
            c.storage.backend = StorageBackend::S3;
            c.storage.s3.endpoint = Some(s3.endpoint);
            c.storage.s3.bucket = fresh_bucket().await;
            c.storage.s3.access_key_id = s3.access_key;
            c.storage.s3.secret_access_key = Secret::new(s3.secret_key);
            c.storage.s3.path_style = true;
            c.storage.s3.part_size_bytes = 5 * 1024 * 1024;
        }
    }
    c
}

pub struct Instance {
    pub running: Running,
    pub url: String,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

pub async fn start(backend: Backend) -> Instance {
    start_with(backend, |_| {}).await
}

pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Instance {
    kaleido::telemetry::init(kaleido::config::LogFormat::Text);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(backend, dir.path()).await;
    tweak(&mut c);
    let running = app::start(c).await.expect("instance starts");
    let url = running.url();
    Instance {
        running,
        url,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
        dir,
    }
}

/// An instance that may talk to others over plain HTTP on loopback, retrying quickly.
pub async fn start_federated(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Instance {
    start_with(backend, |c| {
        c.federation.allow_private_addresses = true;
        c.federation.allow_http = true;
        c.workers.retry_base_ms = 100;
        tweak(c);
    })
    .await
}

impl Instance {
    pub fn db(&self) -> &kaleido::db::Db {
        &self.running.state.db
    }

    pub fn tmp_path(&self) -> PathBuf {
        self.running.state.config.storage.tmp_path.clone()
    }

    /// Creates an account and logs it in through the API; returns its bearer token.
    pub async fn user(&self, name: &str) -> String {
        kaleido::accounts::create(self.db(), name, "correct horse battery", false)
            .await
            .expect("create account");
        self.login(name, "correct horse battery").await
    }

    /// A request with a bearer token and an optional JSON body: the status and the answer, as
    /// JSON when it is, else as a string.
    pub async fn api(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn login(&self, name: &str, password: &str) -> String {
        let response = self
            .http
            .post(format!("{}/oauth/token", self.url))
            .form(&[
                ("grant_type", "password"),
                ("username", name),
                ("password", password),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), 200, "login of {name}");
        let body: Value = response.json().await.expect("json");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    pub async fn upload(
        &self,
        token: &str,
        bytes: Vec<u8>,
        file_name: &str,
        mime: &str,
    ) -> reqwest::Response {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str(mime)
            .expect("mime");
        let form = reqwest::multipart::Form::new()
            .part("file", part)
            .text("description", "a test file");
        self.http
            .post(format!("{}/api/v2/media", self.url))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("upload request")
    }

    /// Polls the media until it leaves queued/processing; returns (status, body).
    pub async fn wait_processed(&self, token: &str, id: &str) -> (u16, Value) {
        for _ in 0..400 {
            let response = self
                .http
                .get(format!("{}/api/v1/media/{id}", self.url))
                .bearer_auth(token)
                .send()
                .await
                .expect("media request");
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("json");
            if status != 206 {
                return (status, body);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("media {id} still processing after 20 s");
    }

    pub async fn stop(self) {
        self.running.stop().await;
    }

    /// `token`'s account here follows `name` of `other` (found by WebFinger) and waits for the
    /// Accept; returns that account's id here.
    #[allow(dead_code)]
    pub async fn follow_remote(&self, token: &str, other: &Instance, name: &str) -> String {
        let host = other.url.trim_start_matches("http://");
        let (_, found) = self
            .api(
                token,
                reqwest::Method::GET,
                &format!("/api/v2/search?q=%40{name}%40{host}&resolve=true"),
                None,
            )
            .await;
        let id = found["accounts"][0]["id"].as_str().expect("found").to_owned();
        self.api(
            token,
            reqwest::Method::POST,
            &format!("/api/v1/accounts/{id}/follow"),
            None,
        )
        .await;
        eventually(20, "the follow to be accepted", || async {
            let (_, r) = self
                .api(
                    token,
                    reqwest::Method::GET,
                    &format!("/api/v1/accounts/relationships?id[]={id}"),
                    None,
                )
                .await;
            (r[0]["following"] == true).then_some(())
        })
        .await;
        id
    }

    /// Stops the instance (its database, store and files survive) and starts it again at the
    /// same address, after `between` has run while it was down.
    pub async fn restart<F: std::future::Future<Output = ()>>(self, between: impl FnOnce() -> F) -> Instance {
        let mut config = (*self.running.state.config).clone();
        config.server.bind = self.url.trim_start_matches("http://").to_owned();
        let Instance {
            running, dir, http, ..
        } = self;
        running.stop().await;
        between().await;
        let running = app::start(config).await.expect("the instance restarts");
        Instance {
            url: running.url(),
            running,
            http,
            dir,
        }
    }
}

/// Signs in through the login form, as a person would (the session cookie stays in `client`),
/// asking to go to `next` afterwards; returns the form's answer.
pub async fn log_in_form(
    app: &Instance,
    client: &reqwest::Client,
    user: &str,
    password: &str,
    next: &str,
) -> reqwest::Response {
    let page = client
        .get(format!("{}/login?next={next}", app.url))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("text");
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a csrf field on the login page") + marker.len();
    let csrf = page[start..].split('"').next().expect("value");
    client
        .post(format!("{}/login", app.url))
        .form(&[
            ("username", user),
            ("password", password),
            ("csrf", csrf),
            ("next", next),
        ])
        .send()
        .await
        .expect("login")
}

/// A small, real JPEG (96×64 gradient), encoded by the image crate.
pub fn tiny_jpeg() -> Vec<u8> {
    jpeg(96, 64)
}

/// A real JPEG of the given size (a gradient), encoded by the image crate.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .expect("encode jpeg");
    out
}

/// A real video made by the ffmpeg CLI: a test pattern with a tone, H.264/AAC in MP4.
pub fn clip(seconds: u32, width: u32, height: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("clip.mp4");
    let out = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "testsrc2=size={width}x{height}:rate=30:duration={seconds}"
        ))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:duration={seconds}"))
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-shortest",
        ])
        .arg(&path)
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(path).expect("read clip")
}

/// Pseudo-random bytes that start like an MP4 (`ftyp` box), for video uploads and big files.
pub fn fake_mp4(len: usize) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0, 0x18];
    bytes.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    let mut x: u32 = 0x1234_5678;
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push((x & 0xff) as u8);
    }
    bytes.truncate(len);
    bytes
}

/// A migrated, empty database of the backend's kind (without the rest of an instance).
pub async fn database(backend: Backend) -> (kaleido::db::Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = config(backend, dir.path()).await;
    let db = kaleido::db::Db::connect(&c.database).await.expect("connect");
    db.migrate().await.expect("migrate");
    (db, dir)
}

/// Polls `check` every 20 ms until it returns Some, for at most `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs one of the Node.js clients in `tests/browser/` (Chromium through playwright-core,
/// tus-js-client) and returns the JSON line it prints; fails the test with its output if not.
pub async fn node(script: &str, args: Vec<std::ffi::OsString>) -> Value {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "Chromium and the npm packages are missing: run the tests through `make test`"
    );
    let script = script.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(&script)
            .args(&args)
            .current_dir(&dir)
            .output()
            .expect("node")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "node client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client's JSON report")
}
