//! The periodic clean-up: unposted uploads, expired resumable uploads and sessions, old jobs.

mod common;

use serde_json::{Value, json};

both_backends!(cleanup_removes_what_nobody_will_use, |backend| async move {
    let app = common::start(backend).await;
    let token = app.user("alice").await;
    let state = &app.running.state;

    // Two photos: one posted, one abandoned on the upload page.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let media: Value = app
            .upload(&token, common::tiny_jpeg(), "p.jpg", "image/jpeg")
            .await
            .json()
            .await
            .expect("json");
        let id = media["id"].as_str().expect("id").to_owned();
        app.wait_processed(&token, &id).await;
        ids.push(id);
    }
    let posted = app
        .http
        .post(format!("{}/api/v1/statuses", app.url))
        .bearer_auth(&token)
        .json(&json!({"media_ids": [ids[0]]}))
        .send()
        .await
        .expect("post");
    assert_eq!(posted.status(), 200);
    // A resumable upload with a chunk in the store, then everything made to look old.
    let created = app
        .http
        .post(format!("{}/api/v1/tus", app.url))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "100")
        .send()
        .await
        .expect("create");
    let location = created.headers()["location"].to_str().expect("ascii").to_owned();
    app.http
        .patch(&location)
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body(vec![7u8; 40])
        .send()
        .await
        .expect("patch");
    assert_eq!(state.store.list("uploads/").await.expect("list").len(), 1);
    let two_days_ago = kaleido::db::now_ms() - 2 * 24 * 3600 * 1000;
    for sql in [
        "UPDATE media SET created_at = $1",
        "UPDATE tus_uploads SET expires_at = $1",
        "UPDATE jobs SET updated_at = $1 - 7 * 86400000",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(two_days_ago)
            .execute(&state.db.pool)
            .await
            .expect("age");
    }

    let report = kaleido::maintenance::run(state).await.expect("clean-up");
    assert_eq!(report.media, 1, "{report:?}");
    assert_eq!(report.uploads, 1, "{report:?}");
    assert!(report.jobs >= 2, "{report:?}");
    // The abandoned photo's files go (through its purge job); the posted one's stay.
    let abandoned = ids[1].clone();
    common::eventually(20, "the abandoned photo's files to go", || async {
        state
            .store
            .list(&format!("media/{abandoned}/"))
            .await
            .expect("list")
            .is_empty()
            .then_some(())
    })
    .await;
    assert_eq!(
        state
            .store
            .list(&format!("media/{}/", ids[0]))
            .await
            .expect("list")
            .len(),
        3
    );
    assert!(state.store.list("uploads/").await.expect("list").is_empty());
    let gone = app
        .http
        .head(&location)
        .bearer_auth(&token)
        .send()
        .await
        .expect("head");
    assert_eq!(gone.status(), 404);
    let media = app
        .http
        .get(format!("{}/api/v1/media/{abandoned}", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(media.status(), 404);
    // Running it again finds nothing more.
    let again = kaleido::maintenance::run(state).await.expect("clean-up");
    assert_eq!((again.media, again.uploads), (0, 0));
    app.stop().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cleanup_is_scheduled_once_per_period_across_processes() {
    let app = common::start_with(common::Backend::SqliteLocal, |c| {
        c.workers.cleanup_interval_seconds = 1;
    })
    .await;
    // A second pool in the same database, as another process would be: two schedulers.
    let started = std::time::Instant::now();
    let other = kaleido::app::start_workers_with(&app.running.state, 1);
    common::eventually(20, "three periods of clean-up", || async {
        let jobs = kaleido::db::jobs::list_by_kind(app.db(), "maintenance.cleanup")
            .await
            .expect("jobs");
        (jobs.len() >= 3 && jobs.iter().all(|j| j.state == "done")).then_some(())
    })
    .await;
    let jobs = kaleido::db::jobs::list_by_kind(app.db(), "maintenance.cleanup")
        .await
        .expect("jobs");
    let periods = started.elapsed().as_secs() as usize + 1;
    // Two schedulers, but one job per one-second period (each would add its own otherwise).
    assert!(
        jobs.len() <= periods + 1,
        "{} jobs in {periods} periods",
        jobs.len()
    );
    other.shutdown().await;
    app.stop().await;
}

/// Makes a file or folder look last written `ago` ago.
fn age(path: &std::path::Path, ago: std::time::Duration) {
    std::fs::File::open(path)
        .expect("open")
        .set_modified(std::time::SystemTime::now() - ago)
        .expect("set the modification time");
}

/// What a kill -9 leaves in the temp folder (an upload spool, a tus spool, a transcode
/// folder, all untouched for seven hours), beside what must stay: a spool still growing, a
/// transcode still writing deep inside its old folder, a mirror copy's partial download that
/// resumes, and a file that is not ours. Returns (the stale, the living).
fn plant(tmp: &std::path::Path) -> (Vec<std::path::PathBuf>, Vec<std::path::PathBuf>) {
    let old = std::time::Duration::from_secs(7 * 3600);
    let write = |relative: &str| {
        let path = tmp.join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, b"half a file").expect("write");
        path
    };
    for file in [
        "upload-killed1",
        "tus-killed1",
        "transcode-killed1/source.mp4",
        "transcode-killed1/out/480/segment-0.ts",
        "transcode-live1/source.mp4",
        "mirrors/m1/480/segment-0.ts",
        "notes.txt",
    ] {
        age(&write(file), old);
    }
    // Folders last, deepest first: making their entries touched them.
    for folder in [
        "transcode-killed1/out/480",
        "transcode-killed1/out",
        "transcode-killed1",
        "transcode-live1",
        "mirrors/m1/480",
        "mirrors/m1",
        "mirrors",
    ] {
        age(&tmp.join(folder), old);
    }
    let growing = write("upload-live1");
    let writing = write("transcode-live1/out/240/segment-9.ts");
    let stale = ["upload-killed1", "tus-killed1", "transcode-killed1"].map(|p| tmp.join(p));
    let living = vec![
        growing,
        writing,
        tmp.join("transcode-live1/source.mp4"),
        tmp.join("mirrors/m1/480/segment-0.ts"),
        tmp.join("notes.txt"),
    ];
    (stale.to_vec(), living)
}

fn check_swept(stale: &[std::path::PathBuf], living: &[std::path::PathBuf], when: &str) {
    for path in stale {
        assert!(!path.exists(), "{} is left {when}", path.display());
    }
    for path in living {
        assert!(path.exists(), "{} was removed {when}", path.display());
    }
}

both_backends!(temp_files_of_killed_processes_are_swept, |backend| async move {
    let app = common::start(backend).await;
    let tmp = app.tmp_path();
    std::fs::create_dir_all(&tmp).expect("tmp");

    let (stale, living) = plant(&tmp);
    kaleido::maintenance::run(&app.running.state)
        .await
        .expect("clean-up");
    check_swept(&stale, &living, "by the clean-up");

    // Killed again while the instance is down: the next start sweeps.
    let app = app
        .restart(|| async {
            plant(&tmp);
        })
        .await;
    check_swept(&stale, &living, "after a restart");
    app.stop().await;
});

both_backends!(
    old_received_activities_are_pruned_recent_ones_still_repeat,
    |backend| async move {
        // No workers: the stored activities stay as received, unprocessed.
        let app = common::start_with(backend, |c| c.workers.count = 0).await;
        let state = &app.running.state;
        let store = |uri: &'static str| async move {
            let job = state
                .queue
                .prepare(
                    kaleido::inbox::PROCESS,
                    &kaleido::inbox::ProcessPayload { uri: uri.into() },
                )
                .expect("job");
            kaleido::db::federation::store_incoming(
                &state.db,
                uri,
                "https://remote.example/users/bob",
                &json!({"id": uri, "type": "Like"}).to_string(),
                &job,
            )
            .await
            .expect("store")
        };
        let (old, recent) = (
            "https://remote.example/activities/old",
            "https://remote.example/activities/recent",
        );
        assert!(store(old).await && store(recent).await);
        let day = 24 * 3600 * 1000;
        for (uri, age) in [(old, 31 * day), (recent, 29 * day)] {
            sqlx::query("UPDATE inbox_activities SET received_at = $1 WHERE uri = $2")
                .bind(kaleido::db::now_ms() - age)
                .bind(uri)
                .execute(&state.db.pool)
                .await
                .expect("age");
        }

        kaleido::maintenance::run(state).await.expect("clean-up");
        let left: Vec<String> = sqlx::query_scalar("SELECT uri FROM inbox_activities ORDER BY uri")
            .fetch_all(&state.db.pool)
            .await
            .expect("rows");
        assert_eq!(left, vec![recent.to_owned()]);
        // The recent one's id still makes its repeat a no-op.
        assert!(
            !store(recent).await,
            "a repeat of a recent activity was taken as new"
        );
        app.stop().await;
    }
);
