//! Videos on the workers: each transcode runs in a child process (`kaleido transcode`, hidden),
//! so a decoder that crashes, hangs or eats memory fails that one job, never the worker.
//!
//! The child limits its own address space, probes the untrusted file (so a demuxer that crashes
//! or hangs on it does so there, under the memory limit and the watchdog), reports its duration
//! in a `probed {seconds}` line, then `progress N` lines, and ends with one `done {json}` line;
//! exit code 3 means the input was refused (no retry will help).

use std::{path::Path, process::Stdio, time::Duration};

use kaleido_transcoder::{Limits, ladder};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::{config::Config, jobs::JobError};

pub const REFUSED_EXIT: i32 = 3;
/// How long the child may take to probe the file before it reports the video's length.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// What the child reports when it is done.
#[derive(Debug, Serialize, Deserialize)]
pub struct Transcoded {
    pub ladder: ladder::Ladder,
    pub thumbnail: String,
    pub thumbnail_width: u32,
    pub thumbnail_height: u32,
}

/// The job of the hidden `kaleido transcode` command, inside the child process.
pub fn run_child(input: &Path, output: &Path, options: &ladder::Options, memory_limit_mb: u64) -> i32 {
    // A worker killed outright (SIGKILL) cannot stop its child: the child notices it was
    // orphaned and stops itself, instead of transcoding for nobody.
    let parent = std::os::unix::process::parent_id();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(500));
            if std::os::unix::process::parent_id() != parent {
                eprintln!("the worker that started this transcode is gone");
                std::process::exit(1);
            }
        }
    });
    let bytes = memory_limit_mb.saturating_mul(1024 * 1024);
    if let Err(e) = rlimit::Resource::AS.set(bytes, bytes) {
        eprintln!("cannot limit memory: {e}");
        return 1;
    }
    let result = kaleido_transcoder::probe(input, &options.limits)
        .map(|probe| println!("probed {}", probe.duration_seconds))
        .and_then(|_| std::fs::create_dir_all(output).map_err(kaleido_transcoder::Error::from))
        .and_then(|_| {
            // One decode makes the ladder and the still.
            let options = ladder::Options {
                thumbnail: Some((output.join("thumb.jpg"), 720)),
                ..options.clone()
            };
            kaleido_transcoder::ladder::transcode(input, &output.join("hls"), &options, |p| {
                println!("progress {p}")
            })
        })
        .and_then(|ladder| {
            let (w, h) = ladder
                .thumbnail
                .ok_or_else(|| kaleido_transcoder::Error::Internal("no still was made".into()))?;
            Ok(Transcoded {
                ladder,
                thumbnail: "thumb.jpg".into(),
                thumbnail_width: w,
                thumbnail_height: h,
            })
        });
    match result {
        Ok(done) => match serde_json::to_string(&done) {
            Ok(json) => {
                println!("done {json}");
                0
            }
            Err(e) => {
                eprintln!("{e}");
                1
            }
        },
        Err(e) => {
            eprintln!("{e}");
            if e.is_retryable() { 1 } else { REFUSED_EXIT }
        }
    }
}

pub fn options(config: &Config) -> ladder::Options {
    ladder::Options {
        heights: config.transcoding.resolutions.clone(),
        segment_seconds: config.transcoding.segment_seconds,
        preset: config.transcoding.preset.clone(),
        limits: Limits {
            max_seconds: config.limits.max_video_seconds as f64,
            ..Limits::default()
        },
        thumbnail: None,
    }
}

/// Runs `kaleido transcode` on `input`, reporting progress (0–100), within the timeout.
pub async fn transcode(
    config: &Config,
    input: &Path,
    output: &Path,
    mut progress: impl FnMut(u8) -> futures_util::future::BoxFuture<'static, ()>,
) -> Result<Transcoded, JobError> {
    let program = match &config.transcoding.program {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(|e| JobError::retry(format!("cannot find the kaleido binary: {e}")))?,
    };
    let options = options(config);
    // Until the child says how long the video is, it has this long to probe it.
    let mut timeout = PROBE_TIMEOUT;
    let mut child = tokio::process::Command::new(program)
        .arg("transcode")
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .env(
            "KALEIDO_TRANSCODING__RESOLUTIONS",
            format!("{:?}", options.heights),
        )
        .env(
            "KALEIDO_TRANSCODING__SEGMENT_SECONDS",
            options.segment_seconds.to_string(),
        )
        .env("KALEIDO_TRANSCODING__PRESET", &options.preset)
        .env(
            "KALEIDO_TRANSCODING__MEMORY_LIMIT_MB",
            config.transcoding.memory_limit_mb.to_string(),
        )
        .env(
            "KALEIDO_LIMITS__MAX_VIDEO_SECONDS",
            config.limits.max_video_seconds.to_string(),
        )
        // glibc's per-thread arenas make x264's many threads look enormous to RLIMIT_AS.
        .env("MALLOC_ARENA_MAX", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| JobError::retry(format!("cannot start the transcoder: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| JobError::retry("no transcoder output"))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| JobError::retry("no transcoder errors"))?;
    // Drained concurrently so a chatty decoder can never block on a full pipe.
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = (&mut stderr).take(64 * 1024).read_to_string(&mut text).await;
        text
    });
    let started = tokio::time::Instant::now();
    let timeout_factor = f64::from(config.transcoding.timeout_factor);
    let work = async {
        let mut lines = BufReader::new(stdout).lines();
        let mut done = None;
        loop {
            let line = match tokio::time::timeout_at(started + timeout, lines.next_line()).await {
                Ok(Ok(Some(line))) => line,
                Ok(_) => break,
                Err(_) => return None,
            };
            if let Some(seconds) = line.strip_prefix("probed ") {
                let seconds = seconds.trim().parse::<f64>().unwrap_or(0.0);
                timeout = Duration::from_secs_f64((seconds * timeout_factor).clamp(0.0, 86_400.0).max(600.0));
            } else if let Some(p) = line.strip_prefix("progress ") {
                if let Ok(p) = p.trim().parse::<u8>() {
                    progress(p).await;
                }
            } else if let Some(json) = line.strip_prefix("done ") {
                done = Some(json.to_owned());
            }
        }
        let status = tokio::time::timeout_at(started + timeout, child.wait())
            .await
            .ok()?;
        Some((done, status))
    };
    let (done, status) = work.await.ok_or_else(|| {
        JobError::permanent(format!(
            "transcoding took longer than its time ({} s for probing, then the video's length \
             times transcoding.timeout_factor, at least 600 s) and was stopped",
            PROBE_TIMEOUT.as_secs()
        ))
    })?;
    let status = status.map_err(|e| JobError::retry(format!("transcoder lost: {e}")))?;
    let stderr = errors.await.unwrap_or_default();
    let reason = stderr
        .lines()
        .last()
        .unwrap_or("no reason given")
        .trim()
        .to_owned();
    match (status.code(), done) {
        (Some(0), Some(json)) => serde_json::from_str(&json)
            .map_err(|e| JobError::retry(format!("unreadable transcoder report: {e}"))),
        (Some(REFUSED_EXIT), _) => Err(JobError::permanent(reason)),
        (Some(code), _) => Err(JobError::retry(format!(
            "the transcoder failed ({code}): {reason}"
        ))),
        (None, _) => Err(JobError::retry(format!("the transcoder was killed: {reason}"))),
    }
}
