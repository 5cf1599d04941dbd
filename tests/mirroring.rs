//! Mirroring between real instances on loopback: B follows A's instance actor, copies A's video,
//! checks every segment against A's hash list, announces its copy; A checks a sample and lists
//! it; the playlist players get names both copies.

mod common;

use common::{Backend, Instance};
use serde_json::{Value, json};

async fn instance_with(backend: Backend, tweak: impl FnOnce(&mut kaleido::config::Config)) -> Instance {
    common::start_with(backend, |c| {
        c.federation.allow_private_addresses = true;
        c.federation.allow_http = true;
        c.workers.retry_base_ms = 100;
        tweak(c);
    })
    .await
}

async fn get(app: &Instance, token: &str, path: &str) -> (u16, Value) {
    let response = app
        .http
        .get(format!("{}{path}", app.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn bytes(app: &Instance, url: &str) -> Vec<u8> {
    let response = app.http.get(url).send().await.expect("get");
    assert_eq!(response.status(), 200, "{url}");
    response.bytes().await.expect("body").to_vec()
}

/// A posts a short video; returns its media id once B holds a verified copy.
async fn post_video(a: &Instance, token: &str) -> String {
    let response = a
        .upload(token, common::clip(3, 640, 360), "clip.mp4", "video/mp4")
        .await;
    let media: Value = response.json().await.expect("json");
    let media_id = media["id"].as_str().expect("id").to_owned();
    let created = a
        .http
        .post(format!("{}/api/v1/statuses", a.url))
        .bearer_auth(token)
        .json(&json!({ "status": "Pier at dawn", "media_ids": [media_id] }))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 200);
    media_id
}

async fn mirror_pair(accept_from: &'static str) -> (Instance, Instance, String, String) {
    mirror_pair_with(accept_from, u64::MAX).await
}

async fn mirror_pair_with(
    accept_from: &'static str,
    quota_bytes: u64,
) -> (Instance, Instance, String, String) {
    let a = instance_with(Backend::SqliteLocal, |c| {
        c.mirroring.accept_from = match accept_from {
            "nobody" => kaleido::config::AcceptFrom::Nobody,
            _ => kaleido::config::AcceptFrom::Followings,
        };
    })
    .await;
    let a_url = a.url.clone();
    let b = instance_with(Backend::PostgresS3, |c| {
        c.mirroring.follow = vec![a_url];
        c.mirroring.quota_bytes = quota_bytes;
    })
    .await;
    kaleido::accounts::create(b.db(), "admin", "correct horse battery", true)
        .await
        .expect("admin");
    let b_admin = b.login("admin", "correct horse battery").await;
    let alice = a.user("alice").await;
    // B's instance actor follows A's, and A accepts.
    common::eventually(20, "B to follow A's instance actor", || async {
        let inboxes = kaleido::db::mirrors::follower_inboxes(a.db()).await.expect("db");
        (!inboxes.is_empty()).then_some(())
    })
    .await;
    (a, b, alice, b_admin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_copies_verifies_and_announces_a_video_and_players_get_both() {
    let (a, b, alice, b_admin) = mirror_pair("followings").await;
    let media_id = post_video(&a, &alice).await;

    // B's copy is verified, then A lists B among the video's copies.
    let held = common::eventually(60, "B to hold a verified copy", || async {
        let (_, list) = get(&b, &b_admin, "/api/v1/admin/mirrors").await;
        list["held"]
            .as_array()?
            .iter()
            .find(|m| m["state"] == "verified")
            .cloned()
    })
    .await;
    assert!(held["size_bytes"].as_i64().unwrap_or(0) > 0, "{held}");
    // The copy is dereferenceable at its id, as the CacheFile it announced.
    let cache_file: Value = b
        .http
        .get(format!("{}/mirrors/{}", b.url, held["id"].as_str().expect("id")))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .expect("cache file")
        .json()
        .await
        .expect("json");
    assert_eq!(cache_file["type"], "CacheFile");
    assert_eq!(cache_file["url"]["mediaType"], "application/x-mpegURL");
    common::eventually(20, "A to list B's copy", || async {
        let (_, media) = get(&a, &alice, &format!("/api/v1/media/{media_id}")).await;
        (media["kaleido"]["mirrors"] == json!([b.url])).then_some(())
    })
    .await;
    // A's admins see who mirrors their videos.
    kaleido::accounts::create(a.db(), "admin", "correct horse battery", true)
        .await
        .expect("admin");
    let a_admin = a.login("admin", "correct horse battery").await;
    let (_, ours) = get(&a, &a_admin, "/api/v1/admin/mirrors").await;
    assert_eq!(ours["ours"][0]["mirror"], b.url);
    assert_eq!(ours["ours"][0]["media_id"], media_id);

    // The playlist players get: each rendition from A, then from B, same attributes.
    let master =
        String::from_utf8(bytes(&a, &format!("{}/media/{media_id}/master.m3u8", a.url)).await).expect("text");
    let variants: Vec<&str> = master
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(variants.len(), 2, "{master}");
    assert!(
        variants[0].starts_with(&a.url) && variants[1].starts_with(&b.url),
        "{master}"
    );
    let infs: Vec<&str> = master
        .lines()
        .filter(|l| l.starts_with("#EXT-X-STREAM-INF"))
        .collect();
    assert_eq!(infs[0], infs[1]);
    // B serves the same bytes as A, with CORS, and ranges.
    let from_a = String::from_utf8(bytes(&a, variants[0]).await).expect("text");
    let from_b = String::from_utf8(bytes(&b, variants[1]).await).expect("text");
    assert_eq!(from_a, from_b);
    let file = from_a
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .expect("segment file");
    let base_a = variants[0].rsplit_once('/').expect("dir").0;
    let base_b = variants[1].rsplit_once('/').expect("dir").0;
    let file_a = bytes(&a, &format!("{base_a}/{file}")).await;
    let file_b = bytes(&b, &format!("{base_b}/{file}")).await;
    assert!(!file_a.is_empty());
    assert_eq!(file_a, file_b, "B's copy differs from A's file");
    let ranged = b
        .http
        .get(format!("{base_b}/{file}"))
        .header("Range", "bytes=0-99")
        .header("Origin", a.url.as_str())
        .send()
        .await
        .expect("range");
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.headers()["access-control-allow-origin"], "*");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_that_accepts_nobody_lists_no_one() {
    let (a, b, alice, b_admin) = mirror_pair("nobody").await;
    let media_id = post_video(&a, &alice).await;
    common::eventually(60, "B to hold a verified copy", || async {
        let (_, list) = get(&b, &b_admin, "/api/v1/admin/mirrors").await;
        list["held"]
            .as_array()?
            .iter()
            .any(|m| m["state"] == "verified")
            .then_some(())
    })
    .await;
    // The announcement has been delivered and processed by now; A still lists no copy.
    common::eventually(20, "B's announcement to be delivered", || async {
        let jobs = kaleido::db::jobs::list_by_kind(b.db(), "federation.deliver")
            .await
            .expect("jobs");
        jobs.iter()
            .any(|j| j.state == "done" && j.payload.contains(&a.url.replace("http://", "")))
            .then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (_, media) = get(&a, &alice, &format!("/api/v1/media/{media_id}")).await;
    assert_eq!(media["kaleido"]["mirrors"], json!([]));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playback_survives_the_origin_going_away_in_chromium() {
    let (a, b, alice, b_admin) = mirror_pair("followings").await;
    let response = a
        .upload(&alice, common::clip(30, 640, 360), "long.mp4", "video/mp4")
        .await;
    let media: Value = response.json().await.expect("json");
    let media_id = media["id"].as_str().expect("id").to_owned();
    let created = a
        .http
        .post(format!("{}/api/v1/statuses", a.url))
        .bearer_auth(&alice)
        .json(&json!({ "status": "Thirty seconds of harbour", "media_ids": [media_id] }))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 200);
    let held = common::eventually(120, "B to hold a verified copy", || async {
        let (_, list) = get(&b, &b_admin, "/api/v1/admin/mirrors").await;
        list["held"]
            .as_array()?
            .iter()
            .find(|m| m["state"] == "verified")
            .cloned()
    })
    .await;
    let page = format!(
        "{}/statuses/{}",
        b.url,
        held["status_id"].as_str().expect("status")
    );
    play_while_the_origin_dies(&page, a, &b.url).await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotten_copy_is_found_by_reverification_and_copied_again() {
    let (a, b, alice, b_admin) = mirror_pair("followings").await;
    post_video(&a, &alice).await;
    let held = common::eventually(60, "B to hold a verified copy", || async {
        let (_, list) = get(&b, &b_admin, "/api/v1/admin/mirrors").await;
        list["held"]
            .as_array()?
            .iter()
            .find(|m| m["state"] == "verified")
            .cloned()
    })
    .await;
    let mirror_id = held["id"].as_str().expect("id").to_owned();

    // One byte flips in B's store, inside the last segment of a rendition.
    let store = &b.running.state.store;
    let objects = store.list(&format!("mirrors/{mirror_id}/")).await.expect("list");
    let file = objects
        .iter()
        .find(|o| o.key.as_str().ends_with(".mp4"))
        .expect("a rendition file");
    let mut data = Vec::new();
    let mut object = store.get(&file.key, None).await.expect("get");
    while let Some(chunk) = futures_util::StreamExt::next(&mut object.body).await {
        data.extend_from_slice(&chunk.expect("chunk"));
    }
    let good = data.clone();
    let last = data.len() - 10;
    data[last] ^= 0xff;
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(data))]);
    store
        .put(&file.key, Box::pin(body), Some(good.len() as u64), "video/mp4")
        .await
        .expect("put");

    // Re-verification finds it, withdraws the copy and fetches it again.
    let checked = b
        .http
        .post(format!("{}/api/v1/admin/mirrors/{mirror_id}/verify", b.url))
        .bearer_auth(&b_admin)
        .send()
        .await
        .expect("verify");
    assert_eq!(checked.status(), 200);
    let checked: Value = checked.json().await.expect("json");
    assert_eq!(checked["sound"], false, "{checked}");
    let metrics = b
        .http
        .get(format!("{}/metrics", b.url))
        .bearer_auth(&b_admin)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("kaleido_mirror_verification_failures_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kaleido_mirror_bytes_copied_total "),
        "{metrics}"
    );
    common::eventually(60, "the copy to be made again", || async {
        let (_, list) = get(&b, &b_admin, "/api/v1/admin/mirrors").await;
        let m = list["held"]
            .as_array()?
            .iter()
            .find(|m| m["id"] == mirror_id.as_str())?
            .clone();
        (m["state"] == "verified").then_some(())
    })
    .await;
    let mut again = Vec::new();
    let mut object = store.get(&file.key, None).await.expect("get");
    while let Some(chunk) = futures_util::StreamExt::next(&mut object.body).await {
        again.extend_from_slice(&chunk.expect("chunk"));
    }
    assert!(again == good, "the rotten file was not replaced");
    let listed_at = || async {
        kaleido::db::mirrors::copies_of_ours(a.db())
            .await
            .expect("db")
            .first()
            .map(|(_, _, at)| *at)
    };
    let before = common::eventually(20, "A to list the copy again", || async { listed_at().await }).await;
    let (_, sound) = {
        let r = b
            .http
            .post(format!("{}/api/v1/admin/mirrors/{mirror_id}/verify", b.url))
            .bearer_auth(&b_admin)
            .send()
            .await
            .expect("verify");
        (r.status(), r.json::<Value>().await.expect("json"))
    };
    assert_eq!(sound["sound"], true);
    // A sound copy is promised again: an Update{CacheFile}, which A checks and records.
    common::eventually(20, "A to record the renewed copy", || async {
        listed_at().await.filter(|at| *at > before).map(|_| ())
    })
    .await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_its_quota_a_mirror_drops_the_oldest_copy_and_says_so() {
    // A quota smaller than any copy: only the newest stays.
    let (a, b, alice, b_admin) = mirror_pair_with("followings", 1).await;
    let first = post_video(&a, &alice).await;
    common::eventually(60, "A to list B's copy of the first video", || async {
        let (_, media) = get(&a, &alice, &format!("/api/v1/media/{first}")).await;
        (media["kaleido"]["mirrors"] == json!([b.url])).then_some(())
    })
    .await;
    let second = post_video(&a, &alice).await;
    common::eventually(60, "the first copy to give way to the second", || async {
        let (_, one) = get(&a, &alice, &format!("/api/v1/media/{first}")).await;
        let (_, two) = get(&a, &alice, &format!("/api/v1/media/{second}")).await;
        (one["kaleido"]["mirrors"] == json!([]) && two["kaleido"]["mirrors"] == json!([b.url])).then_some(())
    })
    .await;
    let (_, list) = get(&b, &b_admin, "/api/v1/admin/mirrors").await;
    let held = list["held"].as_array().expect("held");
    let states: Vec<&str> = held.iter().map(|m| m["state"].as_str().expect("state")).collect();
    // Newest first: the second copy is kept, the first dropped, its files gone.
    assert_eq!(states, vec!["verified", "dropped"], "{list}");
    let dropped = held[1]["id"].as_str().expect("id");
    let left = b
        .running
        .state
        .store
        .list(&format!("mirrors/{dropped}/"))
        .await
        .expect("list");
    assert!(left.is_empty(), "the dropped copy's files are still stored");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_instances_viewer_keeps_playing_when_the_origin_dies_in_chromium() {
    let (a, b, alice, b_admin) = mirror_pair("followings").await;
    let c = instance_with(Backend::SqliteLocal, |_| {}).await;
    let carol = c.user("carol").await;
    // Carol on C follows alice on A, as anyone would.
    let (_, found) = get(
        &c,
        &carol,
        &format!(
            "/api/v2/search?q=%40alice%40{}&resolve=true",
            a.url.trim_start_matches("http://")
        ),
    )
    .await;
    let alice_on_c = found["accounts"][0]["id"]
        .as_str()
        .expect("alice on C")
        .to_owned();
    let followed = c
        .http
        .post(format!("{}/api/v1/accounts/{alice_on_c}/follow", c.url))
        .bearer_auth(&carol)
        .send()
        .await
        .expect("follow");
    assert_eq!(followed.status(), 200);
    common::eventually(20, "the follow to be accepted", || async {
        let (_, r) = get(
            &c,
            &carol,
            &format!("/api/v1/accounts/relationships?id[]={alice_on_c}"),
        )
        .await;
        (r[0]["following"] == true).then_some(())
    })
    .await;

    let response = a
        .upload(&alice, common::clip(30, 640, 360), "long.mp4", "video/mp4")
        .await;
    let media: Value = response.json().await.expect("json");
    let media_id = media["id"].as_str().expect("id").to_owned();
    let created = a
        .http
        .post(format!("{}/api/v1/statuses", a.url))
        .bearer_auth(&alice)
        .json(&json!({ "status": "Thirty seconds of harbour", "media_ids": [media_id] }))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 200);
    common::eventually(120, "A to list B's copy", || async {
        let (_, m) = get(&a, &alice, &format!("/api/v1/media/{media_id}")).await;
        (m["kaleido"]["mirrors"] == json!([b.url])).then_some(())
    })
    .await;
    // C hears of the copy with the video (A's Update), and its playlist names both.
    let status_on_c = common::eventually(60, "C to know B's copy", || async {
        let (_, home) = get(&c, &carol, "/api/v1/timelines/home").await;
        let status = home.as_array()?.first()?.clone();
        let media_on_c = status["media_attachments"][0]["id"].as_str()?.to_owned();
        let master = c
            .http
            .get(format!("{}/media/{media_on_c}/master.m3u8", c.url))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        master
            .contains(&b.url)
            .then_some(status["id"].as_str()?.to_owned())
    })
    .await;
    let (_, mirrors) = get(&b, &b_admin, "/api/v1/admin/mirrors").await;
    assert_eq!(mirrors["held"][0]["state"], "verified");

    let page = format!("{}/statuses/{status_on_c}", c.url);
    play_while_the_origin_dies(&page, a, &b.url).await;
    b.stop().await;
    c.stop().await;
}

/// Plays `page` in Chromium, stops the origin `a` mid-playback, and checks what a viewer sees:
/// playback goes on past the player's buffer without a visible stall, later fragments come from
/// the copy at `copy_url`, and a fresh visit with the origin gone plays from the copy too.
async fn play_while_the_origin_dies(page: &str, a: Instance, copy_url: &str) {
    let marks = tempfile::tempdir().expect("dir");
    let player = tokio::spawn(common::node(
        "failover.mjs",
        vec![page.into(), marks.path().as_os_str().to_owned()],
    ));
    common::eventually(60, "playback to start", || async {
        marks.path().join("playing").exists().then_some(())
    })
    .await;
    a.stop().await;
    std::fs::write(marks.path().join("killed"), "").expect("mark");
    let report = player.await.expect("player");
    eprintln!("failover report: {report}");
    let after = &report["afterKill"];
    let advanced = after["to"].as_f64().unwrap_or(0.0) - after["from"].as_f64().unwrap_or(0.0);
    assert!(advanced >= 21.9, "playback stopped with the origin: {report}");
    assert!(
        after["longestStallMs"].as_f64().unwrap_or(f64::MAX) < 1500.0,
        "a visible stall: {report}"
    );
    let list = |key: &str| -> Vec<String> {
        report[key]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let after_kill = list("fragmentsAfterKill");
    // A request in flight when the origin stopped may still finish there; what follows is the copy's.
    assert!(
        after_kill.last().is_some_and(|f| f.starts_with(copy_url)),
        "nothing came from the copy: {report}"
    );
    assert!(
        report["afterReload"]["to"].as_f64().unwrap_or(0.0) >= 3.0,
        "{report}"
    );
    let after_reload = list("fragmentsAfterReload");
    assert!(
        !after_reload.is_empty() && after_reload.iter().all(|f| f.starts_with(copy_url)),
        "{report}"
    );
}
