//! One typed configuration: defaults, then a TOML file, then `KALEIDO_SECTION__KEY` variables.
//!
//! The file and the environment are merged as TOML values first and deserialised once, so an
//! error always names the full key (`storage.s3.endpoint`) whichever source it came from.

use std::{fmt, net::SocketAddr, path::PathBuf};

use serde::Deserialize;

const ENV_PREFIX: &str = "KALEIDO_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("configuration key `{key}`: {message}")]
    Key { key: String, message: String },
}

fn key_error(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// A value that must never reach a log line.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "[redacted]" })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub storage: StorageConfig,
    pub workers: WorkersConfig,
    pub transcoding: TranscodingConfig,
    pub federation: FederationConfig,
    pub mirroring: MirroringConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
    pub registrations: RegistrationsConfig,
    /// Off unless set: no address is asked for, confirmed or mailed to.
    pub email: Option<EmailConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: String,
    pub public_url: String,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_grace_seconds: u64,
}

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// May carry a password: print it only through [`DatabaseConfig::redacted_url`].
    pub url: Secret,
    pub max_connections: u32,
    pub connect_timeout_seconds: u64,
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.redacted_url())
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl DatabaseConfig {
    /// The URL with any password replaced, fit for logs and error messages.
    pub fn redacted_url(&self) -> String {
        redact_url_password(self.url.expose())
    }
}

pub fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    Local,
    S3,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    pub backend: StorageBackend,
    pub local: LocalStorageConfig,
    pub s3: S3Config,
    /// Where uploads are spooled while they arrive; large, so not necessarily `/tmp`.
    pub tmp_path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocalStorageConfig {
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub path_style: bool,
    pub public_url: Option<String>,
    /// Objects larger than this go up in multipart chunks of this size.
    pub part_size_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkersConfig {
    pub count: usize,
    pub lease_seconds: u64,
    pub max_attempts: u32,
    /// First retry delay; each further attempt doubles it (capped at an hour).
    pub retry_base_ms: u64,
    pub poll_interval_ms: u64,
    /// How often the clean-up (unposted uploads, expired sessions, old jobs) runs.
    pub cleanup_interval_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TranscodingConfig {
    pub resolutions: Vec<u32>,
    pub segment_seconds: u32,
    /// Transcodes at once in this process (each uses several cores).
    pub max_concurrent: usize,
    /// x264 preset: slower presets give smaller files for more CPU.
    pub preset: String,
    /// The kaleido binary to run transcodes in (default: this one).
    pub program: Option<PathBuf>,
    /// Address-space limit of a transcode process, in MiB.
    pub memory_limit_mb: u64,
    /// A transcode may take this many times the video's duration (at least ten minutes).
    pub timeout_factor: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FederationConfig {
    pub allow_private_addresses: bool,
    pub allow_http: bool,
    pub blocked_domains: Vec<String>,
    /// Attempts per delivery; with backoff capped at an hour, 60 is about two and a half days.
    pub delivery_attempts: u32,
    /// Deliveries one process sends to the same server at once.
    pub max_deliveries_per_host: usize,
    /// A server that has failed every delivery for this long is marked dead: its deliveries wait
    /// (without spending attempts) until it answers again.
    pub dead_host_after_seconds: u64,
    /// How often a dead server is tried again.
    pub dead_host_retry_seconds: u64,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            allow_private_addresses: false,
            allow_http: false,
            blocked_domains: Vec::new(),
            delivery_attempts: 60,
            max_deliveries_per_host: 4,
            dead_host_after_seconds: 86_400,
            dead_host_retry_seconds: 3_600,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AcceptFrom {
    Nobody,
    Followings,
    Anybody,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MirroringConfig {
    pub follow: Vec<String>,
    pub accept_from: AcceptFrom,
    pub quota_bytes: u64,
    /// How often every stored copy is read back and checked against its hash list.
    pub reverify_interval_seconds: u64,
    /// What to copy, in order of preference, each with its own share of the space. None
    /// given: everything from followed instances, within `quota_bytes`.
    pub strategies: Vec<MirrorStrategy>,
    /// Download speed allowed per origin host, across all copies this process makes; 0: no cap.
    pub max_bytes_per_second_per_host: u64,
    /// Copies fetched at once from one origin host.
    pub max_copies_per_host: usize,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StrategyKind {
    /// Every public video of the followed instances, newest kept first.
    All,
    /// Videos published within `max_age_seconds`; older ones give way.
    RecentlyAdded,
    /// The videos with the most views (the origin's count plus plays here).
    MostViewed,
}

impl StrategyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StrategyKind::All => "all",
            StrategyKind::RecentlyAdded => "recently_added",
            StrategyKind::MostViewed => "most_viewed",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorStrategy {
    pub strategy: StrategyKind,
    pub quota_bytes: u64,
    /// A copy is kept at least this long, whatever the quota, so copies do not churn.
    #[serde(default)]
    pub min_lifetime_seconds: u64,
    /// For `recently_added`: how recent a video must be.
    #[serde(default = "default_max_age")]
    pub max_age_seconds: u64,
}

fn default_max_age() -> u64 {
    7 * 24 * 3600
}

impl MirroringConfig {
    /// The strategies in force: the configured ones, or everything within the global quota.
    pub fn effective_strategies(&self) -> Vec<MirrorStrategy> {
        if self.strategies.is_empty() {
            vec![MirrorStrategy {
                strategy: StrategyKind::All,
                quota_bytes: self.quota_bytes,
                min_lifetime_seconds: 0,
                max_age_seconds: default_max_age(),
            }]
        } else {
            self.strategies.clone()
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_upload_bytes: u64,
    /// Photos are decoded in memory, so they get a tighter limit than videos.
    pub max_image_bytes: u64,
    pub max_image_pixels: u64,
    pub max_video_seconds: u64,
    pub max_album_size: usize,
    /// JSON and form bodies of the API; uploads have their own limit.
    pub max_request_body_bytes: usize,
    /// What an account may keep stored, originals counted; 0: no limit. Admins may set
    /// another figure per account.
    pub storage_quota_bytes: u64,
    /// What an account may upload in 24 hours; 0: no limit.
    pub daily_upload_quota_bytes: u64,
    /// Avatar and header files before they are scaled.
    pub max_avatar_bytes: u64,
}

/// Who may create an account.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationMode {
    /// Only admins, from the command line.
    Closed,
    /// Anyone may ask; an admin approves each sign-up (an invite skips the queue).
    Approval,
    /// Only with an invite link.
    Invite,
    Open,
}

impl RegistrationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationMode::Closed => "closed",
            RegistrationMode::Approval => "approval",
            RegistrationMode::Invite => "invite",
            RegistrationMode::Open => "open",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationsConfig {
    pub mode: RegistrationMode,
    /// Whether users (not only admins) may make invite links.
    pub users_can_invite: bool,
    /// In approval mode, whether a sign-up must say why it wants to join.
    pub require_reason: bool,
    /// Names nobody may sign up with, besides the built-in ones (admin, root, support, …).
    pub reserved_usernames: Vec<String>,
    /// The instance's rules, shown on the sign-up page and agreed to.
    pub rules: Vec<String>,
    /// Sign-ups one address may make per hour.
    pub max_per_address_per_hour: u32,
}

impl Default for RegistrationsConfig {
    fn default() -> Self {
        RegistrationsConfig {
            mode: RegistrationMode::Closed,
            users_can_invite: false,
            require_reason: false,
            reserved_usernames: Vec::new(),
            rules: Vec::new(),
            max_per_address_per_hour: 5,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP: only for a relay on this machine or a test server.
    None,
    StartTls,
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub smtp_host: String,
    #[serde(default = "default_smtp_port")]
    pub smtp_port: u16,
    #[serde(default = "default_smtp_security")]
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: Secret,
    /// The sender, such as `Kaleido <noreply@example.org>`.
    pub from: String,
}

fn default_smtp_port() -> u16 {
    587
}

fn default_smtp_security() -> SmtpSecurity {
    SmtpSecurity::StartTls
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            public_url: "http://localhost:8080".into(),
            shutdown_grace_seconds: 30,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: Secret::new("sqlite://data/kaleido.db"),
            max_connections: 10,
            connect_timeout_seconds: 5,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            backend: StorageBackend::Local,
            local: LocalStorageConfig::default(),
            s3: S3Config::default(),
            tmp_path: "data/tmp".into(),
        }
    }
}

impl Default for LocalStorageConfig {
    fn default() -> Self {
        LocalStorageConfig {
            path: "data/media".into(),
        }
    }
}

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            endpoint: None,
            bucket: String::new(),
            region: "us-east-1".into(),
            access_key_id: String::new(),
            secret_access_key: Secret::default(),
            path_style: false,
            public_url: None,
            part_size_bytes: 16 * 1024 * 1024,
        }
    }
}

impl Default for WorkersConfig {
    fn default() -> Self {
        WorkersConfig {
            count: std::thread::available_parallelism().map_or(2, |n| n.get()),
            lease_seconds: 60,
            max_attempts: 8,
            retry_base_ms: 10_000,
            poll_interval_ms: 1_000,
            cleanup_interval_seconds: 3600,
        }
    }
}

impl Default for TranscodingConfig {
    fn default() -> Self {
        TranscodingConfig {
            resolutions: vec![1080, 720, 480, 360, 240],
            segment_seconds: 4,
            max_concurrent: 1,
            preset: "veryfast".into(),
            program: None,
            memory_limit_mb: 4096,
            timeout_factor: 10,
        }
    }
}

impl Default for MirroringConfig {
    fn default() -> Self {
        MirroringConfig {
            follow: Vec::new(),
            accept_from: AcceptFrom::Followings,
            quota_bytes: 10 * 1024 * 1024 * 1024,
            reverify_interval_seconds: 7 * 24 * 3600,
            strategies: Vec::new(),
            max_bytes_per_second_per_host: 0,
            max_copies_per_host: 1,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_upload_bytes: 4 * 1024 * 1024 * 1024,
            max_image_bytes: 50 * 1024 * 1024,
            // 50 MP: the 48- and 50-MP photos of today's phones pass; decoded whole (PNG, WebP,
            // GIF) one is 200 MB of RGBA, which a 2 GB instance can afford a couple of at once.
            max_image_pixels: 50_000_000,
            max_video_seconds: 4 * 60 * 60,
            max_album_size: 10,
            max_request_body_bytes: 256 * 1024,
            storage_quota_bytes: 20 * 1024 * 1024 * 1024,
            daily_upload_quota_bytes: 10 * 1024 * 1024 * 1024,
            max_avatar_bytes: 8 * 1024 * 1024,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
        }
    }
}

impl Config {
    /// Reads the optional file and the process environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        Self::from_sources(file, std::env::vars())
    }

    pub fn from_sources(
        file: Option<&std::path::Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                text.parse::<toml::Table>().map_err(|e| ConfigError::Syntax {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?
            }
            None => toml::Table::new(),
        };
        for (var, raw) in env {
            let Some(path) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let keys: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
            if keys.iter().any(String::is_empty) {
                return Err(ConfigError::Env {
                    var,
                    message: "expected KALEIDO_SECTION__KEY".into(),
                });
            }
            insert_path(&mut table, &keys, env_value(&raw)).map_err(|message| ConfigError::Env {
                var: var.clone(),
                message,
            })?;
        }
        Self::from_table(table)
    }

    pub fn from_table(table: toml::Table) -> Result<Config, ConfigError> {
        let config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| key_error(&e.path().to_string(), e.inner().to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.bind_addr()?;
        check_origin("server.public_url", &self.server.public_url)?;
        let url = self.database.url.expose();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(key_error(
                "database.url",
                "expected sqlite://PATH or postgres://USER@HOST/DB",
            ));
        }
        if self.storage.backend == StorageBackend::S3 {
            let s3 = &self.storage.s3;
            if s3.bucket.is_empty() {
                return Err(key_error(
                    "storage.s3.bucket",
                    "required when storage.backend = \"s3\"",
                ));
            }
            if let Some(endpoint) = &s3.endpoint {
                check_origin("storage.s3.endpoint", endpoint)?;
            }
            if s3.access_key_id.is_empty() != s3.secret_access_key.expose().is_empty() {
                return Err(key_error(
                    "storage.s3.secret_access_key",
                    "access_key_id and secret_access_key go together",
                ));
            }
            if s3.part_size_bytes < 5 * 1024 * 1024 {
                return Err(key_error(
                    "storage.s3.part_size_bytes",
                    "S3 parts must be at least 5 MiB",
                ));
            }
        }
        if let Some(public) = &self.storage.s3.public_url {
            check_origin("storage.s3.public_url", public)?;
        }
        if self.workers.lease_seconds < 2 {
            return Err(key_error("workers.lease_seconds", "expected at least 2 seconds"));
        }
        if self.workers.max_attempts == 0 {
            return Err(key_error("workers.max_attempts", "expected at least 1"));
        }
        let kinds: Vec<_> = self.mirroring.strategies.iter().map(|s| s.strategy).collect();
        if kinds.iter().enumerate().any(|(i, k)| kinds[..i].contains(k)) {
            return Err(key_error(
                "mirroring.strategies",
                "each strategy may be listed once",
            ));
        }
        if self.mirroring.max_copies_per_host == 0 {
            return Err(key_error("mirroring.max_copies_per_host", "expected at least 1"));
        }
        if self.transcoding.resolutions.is_empty() {
            return Err(key_error(
                "transcoding.resolutions",
                "expected at least one height",
            ));
        }
        if self.transcoding.max_concurrent == 0 {
            return Err(key_error("transcoding.max_concurrent", "expected at least 1"));
        }
        if self.transcoding.segment_seconds == 0 {
            return Err(key_error("transcoding.segment_seconds", "expected at least 1"));
        }
        if self.limits.max_upload_bytes == 0 {
            return Err(key_error(
                "limits.max_upload_bytes",
                "expected a positive size in bytes",
            ));
        }
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        let bind = &self.server.bind;
        // `:0` alone means "any free port on loopback", as the contract promises.
        let full = if bind.starts_with(':') {
            format!("127.0.0.1{bind}")
        } else {
            bind.clone()
        };
        full.parse().map_err(|_| {
            key_error(
                "server.bind",
                format!("expected HOST:PORT such as 127.0.0.1:8080, got {bind:?}"),
            )
        })
    }

    /// `server.public_url` without a trailing slash.
    pub fn public_url(&self) -> &str {
        self.server.public_url.trim_end_matches('/')
    }
}

fn check_origin(key: &str, value: &str) -> Result<(), ConfigError> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| key_error(key, format!("expected an http(s):// URL, got {value:?}")))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(key_error(key, format!("expected a host in {value:?}")));
    }
    Ok(())
}

/// Environment values are TOML literals when they parse as one (`42`, `true`, `["a"]`), else strings.
fn env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn insert_path(table: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = keys.split_last() else {
        return Err("empty key".into());
    };
    let mut current = table;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{key}` is a value, not a section"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_a_working_sqlite_instance() {
        let c = Config::from_sources(None, env(&[])).expect("defaults");
        assert_eq!(c.database.url.expose(), "sqlite://data/kaleido.db");
        assert_eq!(c.storage.backend, StorageBackend::Local);
        assert_eq!(c.storage.local.path, PathBuf::from("data/media"));
        assert_eq!(c.transcoding.resolutions, vec![1080, 720, 480, 360, 240]);
        assert_eq!(c.bind_addr().expect("bind").port(), 8080);
    }

    #[test]
    fn environment_overrides_file_and_parses_literals() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("k.toml");
        std::fs::write(
            &file,
            "[workers]\ncount = 3\n[storage.s3]\nbucket = \"from-file\"\n",
        )
        .expect("write");
        let c = Config::from_sources(
            Some(&file),
            env(&[
                ("KALEIDO_WORKERS__COUNT", "7"),
                ("KALEIDO_STORAGE__S3__PATH_STYLE", "true"),
                ("KALEIDO_STORAGE__S3__ENDPOINT", "http://127.0.0.1:3900"),
                (
                    "KALEIDO_FEDERATION__BLOCKED_DOMAINS",
                    "[\"a.example\", \"b.example\"]",
                ),
                ("UNRELATED", "x"),
            ]),
        )
        .expect("config");
        assert_eq!(c.workers.count, 7);
        assert!(c.storage.s3.path_style);
        assert_eq!(c.storage.s3.bucket, "from-file");
        assert_eq!(c.storage.s3.endpoint.as_deref(), Some("http://127.0.0.1:3900"));
        assert_eq!(c.federation.blocked_domains, vec!["a.example", "b.example"]);
    }

    #[test]
    fn wrong_values_name_the_key() {
        let err = Config::from_sources(None, env(&[("KALEIDO_WORKERS__COUNT", "many")]))
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("workers.count"), "{err}");
        let err = Config::from_sources(None, env(&[("KALEIDO_STORAGE__BACKEND", "ftp")]))
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("storage.backend") && err.contains("local"), "{err}");
        let err = Config::from_sources(None, env(&[("KALEIDO_SERVER__BIND", "nowhere")]))
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("server.bind"), "{err}");
        let err = Config::from_sources(None, env(&[("KALEIDO_SERVER__COLOUR", "red")]))
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Config::from_sources(
            None,
            env(&[
                ("KALEIDO_DATABASE__URL", "postgres://kal:hunter2@db/kaleido"),
                ("KALEIDO_STORAGE__S3__SECRET_ACCESS_KEY", "s3cr3t-value"),
            ]),
        )
        .expect("config");
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("hunter2") && !printed.contains("s3cr3t"),
            "{printed}"
        );
        assert_eq!(c.database.redacted_url(), "postgres://kal:***@db/kaleido");
    }
}
