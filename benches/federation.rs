//! Federation throughput of one Kaleido instance (SQLite, local files) against a loopback sink
//! that stands in for the remote servers: delivery fan-out of one post to FOLLOWERS followers on
//! INSTANCES servers (with and without shared inboxes), and signed inbox POSTs verified and
//! stored per second (keys fetched, then cached). `benches/federation.sh` runs it beside
//! `openssl speed`. Sizes from the environment: FOLLOWERS, INSTANCES, ACTIVITIES, SIGNERS,
//! CONCURRENCY, WORKERS, PER_HOST.
//!
//! CPU time is read from /proc: the process's total, less the threads of the sink and client
//! (named `bench…`), is what Kaleido spent.

use std::{
    collections::{BTreeMap, HashMap},
    error::Error,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use kaleido::{
    app,
    config::{Config, LogFormat, Secret, StorageBackend},
    db::Db,
    domain::account::{Account, NewRemoteAccount, RemoteActor},
    federation::objects,
    net::signatures,
    state::AppState,
    statuses::{self, NewStatus},
};
use rsa::{pkcs8::DecodePrivateKey, signature::Signer};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    runtime::Runtime,
};

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The remote servers: every port answers 202 to any POST (noting when), and serves the actor
/// documents it was given.
#[derive(Default)]
struct Sink {
    posts: Mutex<Vec<(Instant, u16, bool)>>,
    gets: AtomicUsize,
    connections: AtomicUsize,
    docs: Mutex<HashMap<String, Bytes>>,
}

impl Sink {
    fn posted(&self) -> usize {
        self.posts.lock().map_or(0, |p| p.len())
    }

    fn take(&self) -> Vec<(Instant, u16, bool)> {
        self.posts
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    async fn start(count: usize) -> Res<(Arc<Sink>, Vec<u16>)> {
        let sink = Arc::new(Sink::default());
        let mut ports = Vec::with_capacity(count);
        for _ in 0..count {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let port = listener.local_addr()?.port();
            ports.push(port);
            let sink = sink.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    sink.connections.fetch_add(1, Ordering::Relaxed);
                    let sink = sink.clone();
                    tokio::spawn(async move { sink.serve(stream, port).await });
                }
            });
        }
        Ok((sink, ports))
    }

    /// HTTP/1.1 with keep-alive, as much of it as reqwest's requests need.
    async fn serve(&self, mut stream: TcpStream, port: u16) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(16 * 1024);
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let head_end = loop {
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Ok(());
                }
                buf.extend_from_slice(&chunk[..n]);
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            let mut lines = head.split("\r\n");
            let mut request = lines.next().unwrap_or_default().split(' ');
            let (method, path) = (
                request.next().unwrap_or_default(),
                request.next().unwrap_or_default(),
            );
            let length = lines
                .filter_map(|l| l.split_once(':'))
                .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < head_end + length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Ok(());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..head_end + length);
            if method == "POST" {
                if let Ok(mut posts) = self.posts.lock() {
                    posts.push((Instant::now(), port, path == "/inbox"));
                }
                stream
                    .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                    .await?;
                continue;
            }
            self.gets.fetch_add(1, Ordering::Relaxed);
            let doc = self
                .docs
                .lock()
                .ok()
                .and_then(|d| d.get(&format!("{port}{path}")).cloned());
            match doc {
                Some(body) => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/activity+json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    stream.write_all(head.as_bytes()).await?;
                    stream.write_all(&body).await?;
                }
                None => {
                    stream
                        .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                        .await?
                }
            }
        }
    }
}

/// CPU ticks (USER_HZ, 100 on Linux) of the whole process and of the `bench…` threads.
#[derive(Clone, Copy)]
struct Cpu {
    process: u64,
    bench: u64,
}

fn ticks(stat: &str) -> Option<(String, u64)> {
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // proc(5): utime and stime are fields 14 and 15; `rest` starts at field 3.
    let used = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((name, used))
}

impl Cpu {
    fn now() -> Cpu {
        let read = |path: &std::path::Path| std::fs::read_to_string(path).ok().and_then(|s| ticks(&s));
        let process = read("/proc/self/stat".as_ref()).map_or(0, |(_, t)| t);
        let bench = std::fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|task| read(&task.path().join("stat")))
            .filter(|(name, _)| name.starts_with("bench"))
            .map(|(_, t)| t)
            .sum();
        Cpu { process, bench }
    }

    /// Seconds Kaleido (everything but the bench threads) spent since `before`.
    fn kaleido_since(&self, before: Cpu) -> f64 {
        let process = self.process.saturating_sub(before.process);
        let bench = self.bench.saturating_sub(before.bench);
        process.saturating_sub(bench) as f64 / 100.0
    }
}

async fn unfinished(db: &Db, kind: &str) -> Res<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state IN ('queued', 'running')")
            .bind(kind)
            .fetch_one(&db.pool)
            .await?,
    )
}

async fn failed(db: &Db, kind: &str) -> Res<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state = 'failed'")
            .bind(kind)
            .fetch_one(&db.pool)
            .await?,
    )
}

/// Waits (up to two minutes) until no job of these kinds is left to run.
async fn drained(db: &Db, kinds: &[&str]) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut left = 0;
        for kind in kinds {
            left += unfinished(db, kind).await?;
        }
        if left == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{left} jobs of {kinds:?} still unfinished after 120 s").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn remote(port: u16, name: &str, shared: bool, public_key_pem: &str) -> NewRemoteAccount {
    let uri = format!("http://127.0.0.1:{port}/users/{name}");
    NewRemoteAccount {
        username: name.to_owned(),
        domain: format!("127.0.0.1:{port}"),
        display_name: name.to_owned(),
        note: String::new(),
        locked: false,
        public_key_pem: public_key_pem.to_owned(),
        actor: RemoteActor {
            inbox_url: format!("{uri}/inbox"),
            shared_inbox_url: shared.then(|| format!("http://127.0.0.1:{port}/inbox")),
            followers_url: None,
            profile_url: None,
            avatar_url: None,
            header_url: None,
            key_id: format!("{uri}#main-key"),
            actor_type: "Person".into(),
            uri,
        },
        fields: Vec::new(),
        discoverable: false,
        indexable: false,
    }
}

/// One post by `author`, delivered: its id and a row of the fan-out table.
async fn fan_out(
    state: &AppState,
    sink: &Sink,
    author: &Account,
    expected: usize,
) -> Res<(String, Vec<String>)> {
    sink.take();
    let (cpu, start) = (Cpu::now(), Instant::now());
    let (status, _) = statuses::create(
        state,
        author,
        NewStatus {
            text: "A benchmark post".into(),
            media_ids: Vec::new(),
            visibility: None,
            sensitive: false,
            spoiler_text: String::new(),
            in_reply_to_id: None,
            language: None,
            app_id: None,
        },
    )
    .await?;
    let deadline = start + Duration::from_secs(120);
    while sink.posted() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    drained(&state.db, &["federation.publish", "federation.deliver"]).await?;
    let kaleido_cpu = Cpu::now().kaleido_since(cpu);
    let posts = sink.take();
    let since = |t: Option<&Instant>| t.map_or(f64::NAN, |t| t.duration_since(start).as_secs_f64());
    let last = since(posts.iter().map(|p| &p.0).max());
    let hosts: std::collections::HashSet<u16> = posts.iter().map(|p| p.1).collect();
    let row = vec![
        posts.len().to_string(),
        format!("{}", posts.iter().filter(|p| p.2).count()),
        hosts.len().to_string(),
        format!("{:.3}", since(posts.iter().map(|p| &p.0).min())),
        format!("{last:.3}"),
        format!("{:.0}", posts.len() as f64 / last),
        format!("{kaleido_cpu:.2}"),
        format!("{:.2}", kaleido_cpu * 1000.0 / posts.len().max(1) as f64),
    ];
    Ok((status.id, row))
}

struct Signed {
    body: Bytes,
    headers: HashMap<String, String>,
}

/// Signs distinct Likes of `object` (ids numbered by `range`), round-robin over the signers,
/// on two threads.
fn sign_likes(
    signers: &[(String, String)],
    object: &str,
    host: &str,
    range: std::ops::Range<usize>,
) -> Res<Vec<Signed>> {
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let one = |k: usize| -> Res<Signed> {
        let (actor, private_pem) = &signers[k % signers.len()];
        let body = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}#likes/{k}"),
            "type": "Like",
            "actor": actor,
            "object": object,
        })
        .to_string();
        let mut headers = HashMap::from([
            ("host".to_owned(), host.to_owned()),
            ("date".to_owned(), date.clone()),
            ("digest".to_owned(), signatures::digest(body.as_bytes())),
        ]);
        let key_id = format!("{actor}#main-key");
        let signature = signatures::sign(
            "POST",
            "/inbox",
            &headers,
            signatures::SIGNED_HEADERS,
            &key_id,
            private_pem,
        )?;
        headers.insert("signature".into(), signature);
        Ok(Signed {
            body: Bytes::from(body),
            headers,
        })
    };
    let mid = range.start + range.len() / 2;
    let halves: Vec<Res<Vec<Signed>>> = std::thread::scope(|scope| {
        let threads: Vec<_> = [range.start..mid, mid..range.end]
            .map(|half| scope.spawn(|| half.map(one).collect::<Res<Vec<_>>>()))
            .into_iter()
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err("a signing thread panicked".into()))
            })
            .collect()
    });
    Ok(halves
        .into_iter()
        .collect::<Res<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect())
}

/// POSTs the requests with `concurrency` at a time; returns the answers by status (0: no
/// answer), the first refusal, and the wall time.
async fn post_all(
    url: String,
    requests: Arc<Vec<Signed>>,
    concurrency: usize,
) -> Res<(BTreeMap<u16, usize>, Option<String>, Duration)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, requests, next) = (client.clone(), url.clone(), requests.clone(), next.clone());
            tokio::spawn(async move {
                let (mut answers, mut refusal) = (BTreeMap::<u16, usize>::new(), None);
                while let Some(signed) = requests.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let mut request = client
                        .post(&url)
                        .header("content-type", "application/activity+json")
                        .body(signed.body.clone());
                    for (name, value) in signed.headers.iter().filter(|(n, _)| *n != "host") {
                        request = request.header(name, value);
                    }
                    let status = match request.send().await {
                        Ok(r) if r.status().as_u16() == 202 => 202,
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let text = r.text().await.unwrap_or_default();
                            refusal.get_or_insert_with(|| format!("{status} {text}"));
                            status
                        }
                        Err(e) => {
                            refusal.get_or_insert_with(|| e.to_string());
                            0
                        }
                    };
                    *answers.entry(status).or_default() += 1;
                }
                (answers, refusal)
            })
        })
        .collect();
    let (mut answers, mut refusal) = (BTreeMap::new(), None);
    for task in tasks {
        let (a, r) = task.await?;
        for (status, n) in a {
            *answers.entry(status).or_default() += n;
        }
        refusal = refusal.or(r);
    }
    Ok((answers, refusal, start.elapsed()))
}

fn table(header: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        println!("{}", padded.join("  "));
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    println!();
}

async fn run(bench: &Runtime) -> Res<()> {
    let (followers, instances) = (env("FOLLOWERS", 1000), env("INSTANCES", 100).max(1));
    let (activities, signer_count) = (env("ACTIVITIES", 2000), env("SIGNERS", 50).max(1));
    let concurrency = env("CONCURRENCY", 16).max(1);
    kaleido::telemetry::init(LogFormat::Text);
    let (sink, ports) = bench.spawn(Sink::start(instances)).await??;

    let dir = tempfile::tempdir()?;
    let mut c = Config::default();
    c.server.bind = "127.0.0.1:0".into();
    c.server.shutdown_grace_seconds = 2;
    c.database.url = Secret::new(format!("sqlite://{}/kaleido.db", dir.path().display()));
    c.storage.backend = StorageBackend::Local;
    c.storage.local.path = dir.path().join("media");
    c.storage.tmp_path = dir.path().join("tmp");
    c.federation.allow_private_addresses = true;
    c.federation.allow_http = true;
    c.federation.max_deliveries_per_host = env("PER_HOST", c.federation.max_deliveries_per_host);
    c.workers.count = env("WORKERS", 8);
    println!(
        "Kaleido on SQLite, {} workers, {} deliveries at once per host; sink on {instances} loopback ports; {} CPUs\n",
        c.workers.count,
        c.federation.max_deliveries_per_host,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let running = app::start(c).await?;
    let (state, url) = (running.state.clone(), running.url());

    // One local author per case: the followers of `shared` have shared inboxes, those of
    // `personal` only their own.
    let setup = Instant::now();
    let shared = kaleido::accounts::create(&state.db, "shared", "benchmark password", false).await?;
    let personal = kaleido::accounts::create(&state.db, "personal", "benchmark password", false).await?;
    let (_, follower_pem) = kaleido::net::keys::generate_key_pair()?;
    for i in 0..followers {
        let port = ports[i % instances];
        for (author, name, has_shared) in [
            (&shared, format!("s{i}"), true),
            (&personal, format!("p{i}"), false),
        ] {
            let follower = kaleido::db::accounts::upsert_remote(
                &state.db,
                &remote(port, &name, has_shared, &follower_pem),
            )
            .await?;
            kaleido::db::federation::follow(&state.db, &follower.id, &author.id, true, None).await?;
        }
    }
    eprintln!(
        "setup: {} followers each in {:.1} s",
        followers,
        setup.elapsed().as_secs_f64()
    );

    let (mut rows, mut liked) = (Vec::new(), None);
    for (label, author, expected) in [
        ("(a) shared inboxes", &shared, instances.min(followers)),
        ("(b) personal inboxes", &personal, followers),
    ] {
        let (status, row) = fan_out(&state, &sink, author, expected).await?;
        rows.push([vec![label.to_owned()], row].concat());
        liked.get_or_insert(status);
    }
    println!(
        "Delivery fan-out: one post to {followers} followers on {instances} instances (times from the post)"
    );
    table(
        &[
            "case",
            "deliveries",
            "to shared",
            "hosts",
            "first s",
            "last s",
            "deliveries/s",
            "Kaleido CPU s",
            "CPU ms/delivery",
        ],
        &rows,
    );
    let failed_deliveries = failed(&state.db, "federation.deliver").await?;

    // Inbox: SIGNERS remote actors on the sink, each with its own key.
    let keys = Instant::now();
    let pairs: Vec<(String, String)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..signer_count)
            .map(|_| scope.spawn(kaleido::net::keys::generate_key_pair))
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(kaleido::error::Error::internal("keygen panicked")))
            })
            .collect::<Result<_, _>>()
    })?;
    let mut signers = Vec::with_capacity(signer_count);
    for (j, (private_pem, public_pem)) in pairs.iter().enumerate() {
        let port = ports[j % instances];
        let actor = format!("http://127.0.0.1:{port}/users/signer{j}");
        let doc = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor,
            "type": "Person",
            "preferredUsername": format!("signer{j}"),
            "inbox": format!("{actor}/inbox"),
            "publicKey": {"id": format!("{actor}#main-key"), "owner": actor, "publicKeyPem": public_pem},
        });
        if let Ok(mut docs) = sink.docs.lock() {
            docs.insert(format!("{port}/users/signer{j}"), Bytes::from(doc.to_string()));
        }
        signers.push((actor, private_pem.clone()));
    }
    // The Likes are of the first post: processing them records 50 favourites, the rest repeat.
    let object = objects::status_uri(&url, "shared", liked.as_deref().unwrap_or_default());
    let host = format!("127.0.0.1:{}", running.addr.port());
    let signing = Instant::now();
    let passes = [
        sign_likes(&signers, &object, &host, 0..activities)?,
        sign_likes(&signers, &object, &host, activities..2 * activities)?,
    ];
    let signed_per_second = 2.0 * activities as f64 / signing.elapsed().as_secs_f64();
    eprintln!(
        "inbox setup: {signer_count} keys and {} signatures in {:.1} s",
        2 * activities,
        keys.elapsed().as_secs_f64()
    );

    // Kaleido's own signature code alone, one thread: the floor of each request and delivery.
    let sample = &passes[0][..passes[0].len().min(200)];
    let now = kaleido::db::now_ms() / 1000;
    let verifying = Instant::now();
    for (k, signed) in sample.iter().enumerate() {
        signatures::verify(
            "POST",
            "/inbox",
            &signed.headers,
            &signed.body,
            &pairs[k % pairs.len()].1,
            now,
        )?;
    }
    let verifies_per_second = sample.len() as f64 / verifying.elapsed().as_secs_f64();
    // Where a signature's time goes: reading the PKCS#8 key (`sign` does it every time) and RSA.
    let mean_ms = |n: u32, f: &mut dyn FnMut() -> Res<()>| -> Res<f64> {
        let start = Instant::now();
        for _ in 0..n {
            f()?;
        }
        Ok(start.elapsed().as_secs_f64() * 1000.0 / f64::from(n))
    };
    let private_pem = &pairs[0].0;
    let parse_ms = mean_ms(20, &mut || {
        Ok(rsa::PrivateKey::from_pkcs8_pem(private_pem).map(drop)?)
    })?;
    let key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(rsa::PrivateKey::from_pkcs8_pem(private_pem)?);
    let rsa_ms = mean_ms(20, &mut || {
        let _signature = key.sign(b"(request-target): post /inbox");
        Ok(())
    })?;

    let mut rows = Vec::new();
    let mut steady = 0.0;
    for (label, requests) in ["1: keys fetched", "2: keys cached"].into_iter().zip(passes) {
        let (gets, cpu) = (sink.gets.load(Ordering::Relaxed), Cpu::now());
        let count = requests.len();
        let (answers, refusal, wall) = bench
            .spawn(post_all(format!("{url}/inbox"), Arc::new(requests), concurrency))
            .await??;
        let drain = Instant::now();
        drained(&state.db, &["federation.inbox"]).await?;
        let drained_after = wall + drain.elapsed();
        let kaleido_cpu = Cpu::now().kaleido_since(cpu);
        let accepted = answers.get(&202).copied().unwrap_or(0);
        let rate = accepted as f64 / wall.as_secs_f64();
        steady = rate;
        if let Some(refusal) = refusal {
            eprintln!("pass {label}: first refusal: {refusal}");
        }
        let others: Vec<String> = answers
            .iter()
            .filter(|(s, _)| **s != 202)
            .map(|(s, n)| format!("{n}×{s}"))
            .collect();
        rows.push(vec![
            label.to_owned(),
            count.to_string(),
            accepted.to_string(),
            if others.is_empty() {
                "-".into()
            } else {
                others.join(" ")
            },
            (sink.gets.load(Ordering::Relaxed) - gets).to_string(),
            format!("{:.2}", wall.as_secs_f64()),
            format!("{rate:.0}"),
            format!("{:.2}", drained_after.as_secs_f64()),
            format!("{:.2}", kaleido_cpu * 1000.0 / count.max(1) as f64),
        ]);
    }
    println!("Inbox: signed Likes from {signer_count} actors, {concurrency} POSTs at a time to /inbox");
    table(
        &[
            "pass",
            "sent",
            "202",
            "other",
            "actor GETs",
            "wall s",
            "accepted/s",
            "jobs done s",
            "CPU ms/activity",
        ],
        &rows,
    );
    println!(
        "Kaleido's signatures::verify alone (PEM parse + RSA verify), 1 thread: {verifies_per_second:.0}/s; \
         signatures::sign (2 threads): {signed_per_second:.0}/s"
    );
    println!("one signature, 1 thread: private key PEM read {parse_ms:.2} ms + RSA sign {rsa_ms:.2} ms");
    println!(
        "failed jobs: {failed_deliveries} deliveries, {} inbox; sink connections opened: {}",
        failed(&state.db, "federation.inbox").await?,
        sink.connections.load(Ordering::Relaxed)
    );
    // For benches/federation.sh.
    println!("steady_inbox_per_second {steady:.1}");
    println!("verify_per_second {verifies_per_second:.1}");
    running.stop().await;
    Ok(())
}

fn main() -> Res<()> {
    let started = Instant::now();
    // The sink and the client: their own threads, so their CPU time can be told apart.
    let bench = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench")
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()?;
    let kaleido = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = kaleido.block_on(run(&bench));
    bench.shutdown_background();
    eprintln!("run: {:.1} s", started.elapsed().as_secs_f64());
    result
}
