//! Mirroring throughput: instance B copies a long multi-rendition video from instance A (both
//! in this process, SQLite and local files, loopback), against `curl` fetching the same files
//! from A in the same run, and what checking every segment against the hash list costs.
//! `benches/mirror.sh` makes the source and runs this.
//!
//! Usage: mirror_bench path/to/kaleido source.mp4 (the binary runs the transcodes). RUNS and
//! RESOLUTIONS (comma-separated heights) from the environment.

use std::{
    error::Error,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use kaleido::{
    app::{self, Running},
    config::{Config, LogFormat, Secret, StorageBackend},
    mirror::{self, HashList},
    state::AppState,
};
use serde_json::{Value, json};
use url::Url;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

const PASSWORD: &str = "benchmark password";

async fn instance(dir: &Path, program: &Path, heights: &[u32], follow: Option<String>) -> Res<Running> {
    let mut c = Config::default();
    c.server.bind = "127.0.0.1:0".into();
    c.server.shutdown_grace_seconds = 2;
    c.database.url = Secret::new(format!("sqlite://{}/kaleido.db", dir.display()));
    c.storage.backend = StorageBackend::Local;
    c.storage.local.path = dir.join("media");
    c.storage.tmp_path = dir.join("tmp");
    c.federation.allow_private_addresses = true;
    c.federation.allow_http = true;
    c.workers.poll_interval_ms = 50;
    c.transcoding.program = Some(program.to_owned());
    c.transcoding.preset = "ultrafast".into();
    c.transcoding.resolutions = heights.to_vec();
    c.mirroring.follow = follow.into_iter().collect();
    Ok(app::start(c).await?)
}

/// Polls `check` every 50 ms until it answers, for at most `limit` seconds.
async fn until<T, F, Fut>(what: &str, limit: u64, mut check: F) -> Res<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<Option<T>>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if start.elapsed().as_secs() > limit {
            return Err(format!("gave up waiting for {what} after {limit} s").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scalar(state: &AppState, sql: &'static str) -> Res<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(&state.db.pool).await?)
}

/// Waits until neither instance has a job queued or running (announcements, sample checks).
async fn settle(a: &AppState, b: &AppState) -> Res<()> {
    let q = "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')";
    until("idle queues", 120, || async {
        Ok((scalar(a, q).await? + scalar(b, q).await? == 0).then_some(()))
    })
    .await
}

/// A field of /proc/self/status, in kB.
fn proc_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU ticks (USER_HZ) of this process and of its waited-for children, from /proc/self/stat.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
        .unwrap_or_default();
    // proc(5) fields 14-17 (utime, stime, cutime, cstime); `rest` begins at field 3.
    let at = |i: usize| fields.get(i - 3).copied().unwrap_or(0);
    (at(14) + at(15), at(16) + at(17))
}

fn mb_per_s(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / 1e6 / seconds
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One timed copy by B, as its worker makes them. Returns (seconds, CPU s, (RSS before, peak
/// RSS) in MiB, bytes).
async fn timed_copy(b: &AppState, status_id: &str) -> Res<(f64, f64, (f64, f64), u64)> {
    // Resets VmHWM, so the peak is this copy's (A serving and B copying: one process).
    std::fs::write("/proc/self/clear_refs", "5")?;
    let before = proc_kb("VmRSS") as f64 / 1024.0;
    let (cpu, _) = cpu_ticks();
    let start = Instant::now();
    let copied = mirror::copy::copy(b, status_id, None).await?;
    let seconds = start.elapsed().as_secs_f64();
    let (_, size) = copied.ok_or("B made no copy")?;
    let cpu = cpu_ticks().0.saturating_sub(cpu) as f64 / 100.0;
    Ok((
        seconds,
        cpu,
        (before, proc_kb("VmHWM") as f64 / 1024.0),
        size as u64,
    ))
}

/// One `curl` process fetching every URL in turn over one connection. Returns (seconds, CPU s).
fn timed_curl(urls: &[(String, String)], dir: &Path) -> Res<(f64, f64)> {
    let mut curl = Command::new("curl");
    curl.args(["--silent", "--show-error", "--fail"]);
    for (url, name) in urls {
        curl.arg("-o").arg(dir.join(name)).arg(url);
    }
    let (_, children) = cpu_ticks();
    let start = Instant::now();
    let status = curl.status()?;
    let seconds = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("curl failed: {status}").into());
    }
    Ok((seconds, cpu_ticks().1.saturating_sub(children) as f64 / 100.0))
}

async fn run(program: PathBuf, source: PathBuf) -> Res<()> {
    let runs = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3usize)
        .max(1);
    let heights: Vec<u32> = std::env::var("RESOLUTIONS")
        .unwrap_or_else(|_| "1080,720,480,240".into())
        .split(',')
        .map(|h| h.trim().parse())
        .collect::<Result<_, _>>()?;
    kaleido::telemetry::init(LogFormat::Text);
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = instance(dir_a.path(), &program, &heights, None).await?;
    let b = instance(dir_b.path(), &program, &heights, Some(a.url())).await?;
    let (sa, sb) = (a.state.clone(), b.state.clone());
    let http = reqwest::Client::new();

    kaleido::accounts::create(&sa.db, "alice", PASSWORD, false).await?;
    let login: Value = http
        .post(format!("{}/oauth/token", a.url()))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned();
    until("B to follow A", 30, || async {
        let a_side = kaleido::db::mirrors::follower_inboxes(&sa.db).await?;
        let b_side = kaleido::db::mirrors::followed_actors(&sb.db).await?;
        Ok((!a_side.is_empty() && !b_side.is_empty()).then_some(()))
    })
    .await?;

    let start = Instant::now();
    let part = reqwest::multipart::Part::bytes(std::fs::read(&source)?)
        .file_name("source.mp4")
        .mime_str("video/mp4")?;
    let media: Value = http
        .post(format!("{}/api/v2/media", a.url()))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let media_id = media["id"].as_str().ok_or("no media id")?.to_owned();
    let uploaded = start.elapsed().as_secs_f64();
    until("the transcode", 3600, || async {
        let response = http
            .get(format!("{}/api/v1/media/{media_id}", a.url()))
            .bearer_auth(&token)
            .send()
            .await?;
        match response.status().as_u16() {
            206 => Ok(None),
            200 => Ok(Some(())),
            other => Err(format!("transcode ended in {other}: {}", response.text().await?).into()),
        }
    })
    .await?;
    eprintln!(
        "setup: upload {uploaded:.1} s, transcode to {heights:?} {:.1} s",
        start.elapsed().as_secs_f64() - uploaded
    );
    settle(&sa, &sb).await?;

    // B's own copy, made by its worker when A's post arrives.
    let posted = Instant::now();
    http.post(format!("{}/api/v1/statuses", a.url()))
        .bearer_auth(&token)
        .json(&json!({ "status": "Ten minutes of test pattern", "media_ids": [media_id] }))
        .send()
        .await?
        .error_for_status()?;
    let held = until("B's copy", 1800, || async {
        let mirrors = kaleido::db::mirrors::mirrors(&sb.db).await?;
        match mirrors.into_iter().next() {
            Some(m) if m.state == "failed" => Err(format!("B's copy failed: {:?}", m.error).into()),
            Some(m) if m.state == "verified" => Ok(Some(m)),
            _ => Ok(None),
        }
    })
    .await?;
    let worker_copy = posted.elapsed().as_secs_f64();
    let copy_ms: i64 = sqlx::query_scalar("SELECT verified_at - created_at FROM mirrors WHERE id = $1")
        .bind(&held.id)
        .fetch_one(&sb.db.pool)
        .await?;
    settle(&sa, &sb).await?;

    // The files B fetched, for curl: hash list, master, rendition playlists, their files.
    let signer = kaleido::federation::resolve::instance_signer(&sb).await?;
    let (_, video) = sb.http.get_json(&held.video_uri, Some(&signer)).await?;
    let hashes_url = mirror::copy::hash_list_url(&video).ok_or("no hash list")?;
    let hashes: HashList = serde_json::from_slice(&http.get(&hashes_url).send().await?.bytes().await?)?;
    let master = Url::parse(&held.origin_master)?;
    let mut urls: Vec<Url> = vec![Url::parse(&hashes_url)?, master.clone()];
    let mut media_files = Vec::new();
    let master_text = http.get(master.clone()).send().await?.text().await?;
    for variant in mirror::uris(&master_text) {
        let variant = master.join(&variant)?;
        let text = http.get(variant.clone()).send().await?.text().await?;
        urls.push(variant.clone());
        for file in mirror::uris(&text) {
            let file = variant.join(&file)?;
            if !urls.contains(&file) {
                media_files.push(urls.len());
                urls.push(file);
            }
        }
    }
    let named: Vec<(String, String)> = urls
        .iter()
        .enumerate()
        .map(|(i, u)| {
            (
                u.to_string(),
                format!("{i}-{}", u.path().rsplit('/').next().unwrap_or("file")),
            )
        })
        .collect();

    // Alternating, so neither side always meets the page cache first.
    let (mut curl_s, mut curl_cpu, mut copy_s, mut copy_cpu) = (vec![], vec![], vec![], vec![]);
    let mut peak = (0.0, 0.0);
    let (mut copied_bytes, downloads) = (0, tempfile::tempdir()?);
    for run in 0..runs {
        for side in [run % 2, 1 - run % 2] {
            if side == 0 {
                let dir = downloads.path().join(format!("run{run}"));
                std::fs::create_dir_all(&dir)?;
                let (s, cpu) = timed_curl(&named, &dir)?;
                curl_s.push(s);
                curl_cpu.push(cpu);
            } else {
                let (s, cpu, rss, bytes) = timed_copy(&sb, &held.status_id).await?;
                copy_s.push(s);
                copy_cpu.push(cpu);
                if rss.1 > peak.1 {
                    peak = rss;
                }
                copied_bytes = bytes;
                settle(&sa, &sb).await?;
            }
        }
    }
    let fetched = downloads.path().join("run0");
    let total: u64 = named
        .iter()
        .map(|(_, name)| std::fs::metadata(fetched.join(name)).map_or(0, |m| m.len()))
        .sum();

    // Checking the curl-fetched files: Kaleido's verify_file, one thread, and sha256sum whole.
    let files: Vec<(PathBuf, String)> = media_files
        .iter()
        .map(|&i| {
            (
                fetched.join(&named[i].1),
                urls[i].path().rsplit('/').next().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let (list, check) = (hashes.clone(), files.clone());
    let verify_s = tokio::task::spawn_blocking(move || -> Res<f64> {
        let mut best = f64::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            for (path, name) in &check {
                mirror::verify::verify_file(path, name, &list)?;
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        Ok(best)
    })
    .await??;
    let start = Instant::now();
    let summed = Command::new("sha256sum")
        .args(files.iter().map(|(p, _)| p))
        .output()?;
    let sha256sum_s = start.elapsed().as_secs_f64();
    if !summed.status.success() {
        return Err("sha256sum failed".into());
    }
    let ranges: usize = files
        .iter()
        .map(|(_, n)| hashes.get(n).map_or(0, |r| r.len()))
        .sum();

    let (copy, curl) = (median(copy_s.clone()), median(curl_s.clone()));
    println!(
        "Mirroring one {}-rendition video ({} files, {ranges} hashed segments) from A to B on loopback, \
         SQLite + local files, {} CPUs, median of {runs}",
        heights.len(),
        urls.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!(
        "bytes: {total} in all ({:.1} MB); {copied_bytes} in the {} media files (B's size_bytes)",
        total as f64 / 1e6,
        files.len()
    );
    println!(
        "B's worker, post at A -> verified at B: {worker_copy:.2} s (copy() itself: {:.2} s)",
        copy_ms as f64 / 1000.0
    );
    println!(
        "Kaleido copy():  {copy:6.2} s  {:7.1} MB/s  CPU {:.2} s (A serving + B copying)  runs {copy_s:.2?}",
        mb_per_s(total, copy),
        median(copy_cpu)
    );
    println!(
        "curl, one process, sequential: {curl:6.2} s  {:7.1} MB/s  curl CPU {:.2} s  runs {curl_s:.2?}",
        mb_per_s(total, curl),
        median(curl_cpu)
    );
    println!("ratio Kaleido / curl (wall): {:.2}", copy / curl);
    println!(
        "verification alone, verify_file over the media files, 1 thread: {verify_s:.2} s ({:.0} MB/s) = {:.0}% of \
         the copy's time (the copy checks as bytes arrive, so this is the most it can add)",
        mb_per_s(copied_bytes, verify_s),
        100.0 * verify_s / copy
    );
    println!("for scale, sha256sum of the whole files: {sha256sum_s:.2} s");
    println!(
        "peak RSS during a copy (whole process, A and B): {:.0} MiB, from {:.0} MiB before it; \
         largest media file {:.0} MiB",
        peak.1,
        peak.0,
        files
            .iter()
            .map(|(p, _)| std::fs::metadata(p).map_or(0, |m| m.len()))
            .max()
            .unwrap_or(0) as f64
            / 1048576.0
    );
    b.stop().await;
    a.stop().await;
    Ok(())
}

fn main() -> Res<()> {
    let started = Instant::now();
    let mut args = std::env::args_os().skip(1);
    let (Some(program), Some(source)) = (args.next(), args.next()) else {
        return Err("usage: mirror_bench path/to/kaleido source.mp4".into());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(run(program.into(), source.into()));
    eprintln!("run: {:.1} s", started.elapsed().as_secs_f64());
    result
}
