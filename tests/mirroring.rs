//! Mirroring between real instances on loopback: B follows A's instance actor, copies A's video,
//! checks every segment against A's hash list, announces its copy; A checks a sample and lists
//! it; the playlist players get names both copies.

mod common;

use common::{Backend, Instance, start_federated as instance_with};
use serde_json::{Value, json};

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

/// A posts a three-second video; returns its media id.
async fn post_video(a: &Instance, token: &str) -> String {
    post_clip(a, token, 3, "Pier at dawn").await
}

/// A posts a video of `seconds`; returns its media id.
async fn post_clip(a: &Instance, token: &str, seconds: u32, caption: &str) -> String {
    let response = a
        .upload(token, common::clip(seconds, 640, 360), "clip.mp4", "video/mp4")
        .await;
    let media: Value = response.json().await.expect("json");
    let media_id = media["id"].as_str().expect("id").to_owned();
    let created = a
        .http
        .post(format!("{}/api/v1/statuses", a.url))
        .bearer_auth(token)
        .json(&json!({ "status": caption, "media_ids": [media_id] }))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 200);
    media_id
}

async fn read_object(store: &kaleido::storage::Store, key: &kaleido::storage::Key) -> Vec<u8> {
    let mut data = Vec::new();
    let mut object = store.get(key, None).await.expect("get");
    while let Some(chunk) = futures_util::StreamExt::next(&mut object.body).await {
        data.extend_from_slice(&chunk.expect("chunk"));
    }
    data
}

async fn write_object(store: &kaleido::storage::Store, key: &kaleido::storage::Key, data: Vec<u8>) {
    let size = data.len() as u64;
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(data))]);
    store
        .put(key, Box::pin(body), Some(size), "video/mp4")
        .await
        .expect("put");
}

/// Flips one byte inside the last segment of the first rendition file stored under `prefix`;
/// returns the file's key and its sound bytes.
async fn rot_a_rendition(store: &kaleido::storage::Store, prefix: &str) -> (kaleido::storage::Key, Vec<u8>) {
    let objects = store.list(prefix).await.expect("list");
    let file = objects
        .iter()
        .find(|o| o.key.as_str().ends_with(".mp4") && o.key.as_str().contains("p/"))
        .expect("a rendition file")
        .key
        .clone();
    let good = read_object(store, &file).await;
    let mut data = good.clone();
    let last = data.len() - 10;
    data[last] ^= 0xff;
    write_object(store, &file, data).await;
    (file, good)
}

/// B's media id for the video of a copy it lists.
async fn media_of_copy(b: &Instance, b_admin: &str, copy: &Value) -> String {
    let status_id = copy["status_id"].as_str().expect("status");
    let (_, status) = get(b, b_admin, &format!("/api/v1/statuses/{status_id}")).await;
    status["media_attachments"][0]["id"]
        .as_str()
        .expect("media")
        .to_owned()
}

/// The copies B holds, as its admin API lists them.
async fn held(b: &Instance, b_admin: &str) -> Vec<Value> {
    let (_, list) = get(b, b_admin, "/api/v1/admin/mirrors").await;
    list["held"].as_array().cloned().unwrap_or_default()
}

/// Waits for B to hold a verified copy; returns it as the admin API lists it.
async fn verified_copy(b: &Instance, b_admin: &str, secs: u64) -> Value {
    common::eventually(secs, "B to hold a verified copy", || async {
        held(b, b_admin)
            .await
            .into_iter()
            .find(|m| m["state"] == "verified")
    })
    .await
}

/// Whose copies A lists for its media.
async fn listed_copies(a: &Instance, token: &str, media_id: &str) -> Value {
    let (_, media) = get(a, token, &format!("/api/v1/media/{media_id}")).await;
    media["kaleido"]["mirrors"].clone()
}

async fn mirror_pair(accept_from: &'static str) -> (Instance, Instance, String, String) {
    mirror_pair_with(accept_from, |_| {}).await
}

/// Origin A (SQLite, local files) and mirror B (PostgreSQL, S3) whose instance actor follows
/// A's; returns them with a user token on A and an admin token on B. With "followings" A's
/// instance actor follows B's too (A trusts B as a mirror, as an admin does by following it);
/// with "stranger" A uses the same policy but does not follow B; "nobody" accepts no mirror.
async fn mirror_pair_with(
    accept_from: &'static str,
    tweak_b: impl FnOnce(&mut kaleido::config::Config),
) -> (Instance, Instance, String, String) {
    let a = instance_with(Backend::SqliteLocal, |c| {
        c.mirroring.accept_from = match accept_from {
            "nobody" => kaleido::config::AcceptFrom::Nobody,
            "followings" | "stranger" => kaleido::config::AcceptFrom::Followings,
            other => panic!("no such policy {other}"),
        };
    })
    .await;
    let a_url = a.url.clone();
    let b = instance_with(Backend::PostgresS3, |c| {
        c.mirroring.follow = vec![a_url];
        tweak_b(c);
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
    if accept_from == "followings" {
        trust(&a, &b).await;
    }
    (a, b, alice, b_admin)
}

/// Waits until A has received B's announcement (`Create{CacheFile}`) of its copy `copy_id`
/// and has applied everything in its inbox. (Waiting for any delivery from B to A would also be
/// satisfied by B's earlier Follow.)
async fn announced_to(b: &Instance, a: &Instance, copy_id: &str) {
    let create = format!("{}/mirrors/{copy_id}/activity", b.url);
    common::eventually(20, "A to receive B's announcement of its copy", || async {
        let received = kaleido::db::federation::incoming(a.db(), &create)
            .await
            .expect("db");
        let jobs = kaleido::db::jobs::list_by_kind(a.db(), "federation.inbox")
            .await
            .expect("jobs");
        let applied = jobs.iter().all(|j| j.state == "done" || j.state == "failed");
        (received.is_some() && applied).then_some(())
    })
    .await;
}

/// Posts `activity` to `to`'s shared inbox, signed by `from`'s instance actor, as its server would.
async fn send_as_instance(from: &Instance, to: &Instance, activity: &Value) {
    let state = &from.running.state;
    let signer = kaleido::federation::resolve::instance_signer(state)
        .await
        .expect("signer");
    let delivered = state
        .http
        .post_signed(
            &format!("{}/inbox", to.url),
            serde_json::to_vec(activity).expect("json"),
            &signer,
        )
        .await
        .expect("delivered");
    assert!(delivered.status.is_success(), "{}", delivered.status);
}

/// A's admin follows B's instance actor, and B accepts: A now lists B's copies.
async fn trust(a: &Instance, b: &Instance) {
    if kaleido::db::accounts::by_username(a.db(), "a_admin")
        .await
        .expect("db")
        .is_none()
    {
        kaleido::accounts::create(a.db(), "a_admin", "correct horse battery", true)
            .await
            .expect("admin");
    }
    let a_admin = a.login("a_admin", "correct horse battery").await;
    let response = a
        .http
        .post(format!("{}/api/v1/admin/mirroring/follow", a.url))
        .bearer_auth(&a_admin)
        .json(&json!({ "url": b.url }))
        .send()
        .await
        .expect("follow");
    assert_eq!(response.status(), 200);
    let b_actor = format!("{}/actor", b.url);
    common::eventually(20, "B to accept A's instance follow", || async {
        let followed = kaleido::db::mirrors::followed_actors(a.db()).await.expect("db");
        followed.contains(&b_actor).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_copies_verifies_and_announces_a_video_and_players_get_both() {
    let (a, b, alice, b_admin) = mirror_pair("followings").await;
    let media_id = post_video(&a, &alice).await;

    // B's copy is verified, then A lists B among the video's copies.
    let held = verified_copy(&b, &b_admin, 60).await;
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
    // PeerTube's shape: the copy's folder, where the master keeps the origin's file name.
    let folder = cache_file["url"]["href"].as_str().expect("href");
    assert!(!folder.ends_with(".m3u8"), "{cache_file}");
    let master_in_folder = bytes(&b, &format!("{folder}/master.m3u8")).await;
    assert!(master_in_folder.starts_with(b"#EXTM3U"));
    // The poster was copied too: B's page shows it from B.
    let media_on_b = media_of_copy(&b, &b_admin, &held).await;
    let poster = b
        .http
        .get(format!("{}/media/{media_on_b}/poster", b.url))
        .send()
        .await
        .expect("poster");
    assert_eq!(
        poster.status(),
        200,
        "the poster redirect was followed to B's copy"
    );
    assert!(poster.url().as_str().starts_with(&b.url), "{}", poster.url());
    assert_eq!(poster.headers()["content-type"], "image/jpeg");
    common::eventually(20, "A to list B's copy", || async {
        (listed_copies(&a, &alice, &media_id).await == json!([b.url])).then_some(())
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
    // A copy whose promise ran out without renewal is not listed, and the clean-up forgets it.
    let gone = "http://gone.example";
    kaleido::db::mirrors::add_copy(
        a.db(),
        &media_id,
        gone,
        &format!("{gone}/master.m3u8"),
        &format!("{gone}/mirrors/1"),
        &format!("{gone}/actor"),
        Some(kaleido::db::now_ms() - 1),
    )
    .await
    .expect("add");
    assert_eq!(listed_copies(&a, &alice, &media_id).await, json!([b.url]));
    let forgotten = kaleido::db::mirrors::forget_expired(a.db())
        .await
        .expect("forget");
    assert_eq!(forgotten.len(), 1, "the video that lost a copy");
    assert_eq!(listed_copies(&a, &alice, &media_id).await, json!([b.url]));

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
    let copy = verified_copy(&b, &b_admin, 60).await;
    // The announcement has been delivered and processed by now; A still lists no copy. (Waiting
    // for any delivery to A would also be satisfied by B's earlier Follow.)
    announced_to(&b, &a, copy["id"].as_str().expect("id")).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(listed_copies(&a, &alice, &media_id).await, json!([]));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playback_survives_the_origin_going_away_in_chromium() {
    let (a, b, alice, b_admin) = mirror_pair("followings").await;
    post_clip(&a, &alice, 30, "Thirty seconds of harbour").await;
    let held = verified_copy(&b, &b_admin, 120).await;
    let page = format!(
        "{}/statuses/{}",
        b.url,
        held["status_id"].as_str().expect("status")
    );
    play_while_the_origin_dies(&page, a, &b.url, (&b, &b_admin)).await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotten_copy_is_found_by_reverification_and_copied_again() {
    let (a, b, alice, b_admin) = mirror_pair("followings").await;
    post_video(&a, &alice).await;
    let held = verified_copy(&b, &b_admin, 60).await;
    let mirror_id = held["id"].as_str().expect("id").to_owned();
    // A has sampled and listed the sound copy before anything rots (A samples at random, so a
    // rot during its check would be seen there first).
    common::eventually(20, "A to list B's copy", || async {
        let listed = kaleido::db::mirrors::copies_of_ours(a.db()).await.expect("db");
        (!listed.is_empty()).then_some(())
    })
    .await;

    // One byte flips in B's store, inside the last segment of a rendition.
    let store = &b.running.state.store;
    let (file, good) = rot_a_rendition(store, &format!("mirrors/{mirror_id}/")).await;

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
    assert!(
        read_object(store, &file).await == good,
        "the rotten file was not replaced"
    );
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
    let (a, b, alice, b_admin) = mirror_pair_with("followings", |c| c.mirroring.quota_bytes = 1).await;
    let first = post_video(&a, &alice).await;
    common::eventually(60, "A to list B's copy of the first video", || async {
        (listed_copies(&a, &alice, &first).await == json!([b.url])).then_some(())
    })
    .await;
    let second = post_video(&a, &alice).await;
    common::eventually(60, "the first copy to give way to the second", || async {
        let (one, two) = (
            listed_copies(&a, &alice, &first).await,
            listed_copies(&a, &alice, &second).await,
        );
        (one == json!([]) && two == json!([b.url])).then_some(())
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
    // C's admin trusts B as a mirror (mirroring.accept_from = "followings"): only then do C's
    // viewers get B's copy from the mirror tags A's video lists.
    trust(&c, &b).await;
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

    let media_id = post_clip(&a, &alice, 30, "Thirty seconds of harbour").await;
    common::eventually(120, "A to list B's copy", || async {
        (listed_copies(&a, &alice, &media_id).await == json!([b.url])).then_some(())
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
    kaleido::accounts::create(c.db(), "admin", "correct horse battery", true)
        .await
        .expect("admin");
    let c_admin = c.login("admin", "correct horse battery").await;
    play_while_the_origin_dies(&page, a, &b.url, (&c, &c_admin)).await;
    b.stop().await;
    c.stop().await;
}

/// Plays `page` in Chromium, stops the origin `a` mid-playback, and checks what a viewer sees:
/// playback goes on past the player's buffer without a visible stall, later fragments come from
/// the copy at `copy_url`, and a fresh visit with the origin gone plays from the copy too.
/// The viewer's instance counts the failover and the view its player reported.
async fn play_while_the_origin_dies(page: &str, a: Instance, copy_url: &str, viewer: (&Instance, &str)) {
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
    let (instance, admin) = viewer;
    let metrics = instance
        .http
        .get(format!("{}/metrics", instance.url))
        .bearer_auth(admin)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let failovers = metric(&metrics, "kaleido_player_failovers_total");
    assert!(failovers >= 1, "the player's failover was not counted: {metrics}");
    let status_id = page.rsplit('/').next().expect("status id");
    let views = kaleido::db::statuses::views(instance.db(), status_id)
        .await
        .expect("views");
    assert!(views >= 1, "over twenty seconds watched and no view counted");
}

fn metric(text: &str, name: &str) -> i64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

/// The status B holds for the video A posted with `caption`, and its media id on B.
async fn remote_post_on_b(b: &Instance, token: &str, caption: &str) -> (String, String) {
    common::eventually(30, "B to receive A's post", || async {
        let (_, timeline) = get(b, token, "/api/v1/timelines/public?remote=true").await;
        let status = timeline
            .as_array()?
            .iter()
            .find(|s| s["content"].as_str().is_some_and(|c| c.contains(caption)))?
            .clone();
        Some((
            status["id"].as_str()?.to_owned(),
            status["media_attachments"][0]["id"].as_str()?.to_owned(),
        ))
    })
    .await
}

async fn plan(b: &Instance, b_admin: &str) -> Value {
    let response = b
        .http
        .post(format!("{}/api/v1/admin/mirrors/plan", b.url))
        .bearer_auth(b_admin)
        .send()
        .await
        .expect("plan");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

/// `viewers` different people behind B's (local) reverse proxy each watch the video.
async fn watch(b: &Instance, media_id: &str, viewers: usize) {
    for n in 0..viewers {
        let r = b
            .http
            .post(format!("{}/media/{media_id}/views", b.url))
            .header("X-Forwarded-For", format!("192.0.2.{}", n + 1))
            .send()
            .await
            .expect("view");
        assert_eq!(r.status(), 204);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn most_viewed_copies_what_is_watched_and_keeps_each_copy_its_minimum_lifetime() {
    const LIFETIME_S: u64 = 6;
    let (a, b, alice, b_admin) = mirror_pair_with("followings", |c| {
        c.mirroring.strategies = vec![kaleido::config::MirrorStrategy {
            strategy: kaleido::config::StrategyKind::MostViewed,
            // Room for one copy: the most watched.
            quota_bytes: 1,
            min_lifetime_seconds: LIFETIME_S,
            max_age_seconds: 86_400,
        }];
    })
    .await;
    let quiet = post_clip(&a, &alice, 3, "Quiet harbour").await;
    let busy = post_clip(&a, &alice, 3, "Busy harbour").await;
    let (_, quiet_on_b) = remote_post_on_b(&b, &b_admin, "Quiet harbour").await;
    let (_, busy_on_b) = remote_post_on_b(&b, &b_admin, "Busy harbour").await;
    // Nobody has watched either: nothing is copied.
    let nothing = plan(&b, &b_admin).await;
    assert_eq!(nothing["copy"], json!([]), "{nothing}");
    assert!(held(&b, &b_admin).await.is_empty());

    // Viewers on B watch one of them twice: it is copied, and A lists B for it. The same
    // viewer again, within the hour, is not another view.
    watch(&b, &busy_on_b, 2).await;
    watch(&b, &busy_on_b, 1).await;
    let (busy_status, _) = remote_post_on_b(&b, &b_admin, "Busy harbour").await;
    assert_eq!(
        kaleido::db::statuses::views(b.db(), &busy_status)
            .await
            .expect("views"),
        2
    );
    let planned = plan(&b, &b_admin).await;
    assert_eq!(planned["copy"][0]["strategy"], "most_viewed", "{planned}");
    let first = verified_copy(&b, &b_admin, 60).await;
    common::eventually(20, "A to list B's copy of the busy video", || async {
        (listed_copies(&a, &alice, &busy).await == json!([b.url])).then_some(())
    })
    .await;

    // The other becomes the most watched, but the first copy is younger than its lifetime.
    watch(&b, &quiet_on_b, 5).await;
    let held_back = plan(&b, &b_admin).await;
    assert_eq!(
        held_back,
        json!({ "copy": [], "drop": [] }),
        "within the minimum lifetime"
    );
    tokio::time::sleep(std::time::Duration::from_secs(LIFETIME_S)).await;
    // Past it: the most watched is copied and the least watched gives way once it is verified.
    let planned = plan(&b, &b_admin).await;
    assert_eq!(planned["copy"].as_array().map(Vec::len), Some(1), "{planned}");
    common::eventually(60, "the busy copy to give way to the quiet one", || async {
        let copies = held(&b, &b_admin).await;
        let state_of = |id: &Value| {
            copies
                .iter()
                .find(|m| m["id"] == *id)
                .map(|m| m["state"].as_str().unwrap_or_default().to_owned())
        };
        let quiet_state = copies
            .iter()
            .find(|m| m["id"] != first["id"])
            .map(|m| m["state"].as_str().unwrap_or_default().to_owned());
        (state_of(&first["id"]).as_deref() == Some("dropped") && quiet_state.as_deref() == Some("verified"))
            .then_some(())
    })
    .await;
    common::eventually(20, "A to list B for the quiet video only", || async {
        let (q, b_) = (
            listed_copies(&a, &alice, &quiet).await,
            listed_copies(&a, &alice, &busy).await,
        );
        (q == json!([b.url]) && b_ == json!([])).then_some(())
    })
    .await;
    a.stop().await;
    b.stop().await;
}

/// Bytes in the unfinished (`.part`) files of B's copies in progress.
fn partial_bytes(tmp: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![tmp.join("mirrors")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "part") {
                total += entry.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_cut_short_by_a_restart_resumes_where_it_stopped_within_the_speed_cap() {
    const RATE: u64 = 100_000;
    let (a, b, alice, b_admin) = mirror_pair_with("followings", |c| {
        c.mirroring.max_bytes_per_second_per_host = RATE;
    })
    .await;
    let media_id = post_clip(&a, &alice, 10, "Slow tide").await;
    let tmp = b.tmp_path();
    common::eventually(60, "B's copy to be under way", || async {
        (partial_bytes(&tmp) > 50_000).then_some(())
    })
    .await;
    let copied = |b: &Instance| {
        let db = b.db().clone();
        async move {
            kaleido::db::mirrors::metrics(&db)
                .await
                .expect("metrics")
                .into_iter()
                .find(|(name, _)| name == "mirror_bytes_copied_total")
                .map_or(0, |(_, v)| v)
        }
    };
    // B stops mid-copy (the download is cut off); what it had fetched stays on disk.
    let mut partial = 0;
    let b = b
        .restart(|| async {
            partial = partial_bytes(&tmp);
        })
        .await;
    assert!(partial > 0, "nothing was left half-fetched");
    let restarted = std::time::Instant::now();
    let before = copied(&b).await;
    let copy = verified_copy(&b, &b_admin, 120).await;
    let size = copy["size_bytes"].as_u64().expect("size");
    let fetched = copied(&b).await;
    // Only what was missing was fetched again: every byte of the copy came over once.
    assert_eq!(
        fetched as u64 + partial,
        size,
        "fetched {fetched} (of which {before} before the restart), {partial} kept from before, copy {size}"
    );
    // And no faster than the cap allows (a quarter-second burst aside).
    let rest = (size - partial - before as u64) as f64 / RATE as f64;
    assert!(
        restarted.elapsed().as_secs_f64() >= rest - 0.3,
        "{rest:.2} s of bytes at the cap came in {:?}",
        restarted.elapsed()
    );
    common::eventually(20, "A to list B's copy", || async {
        (listed_copies(&a, &alice, &media_id).await == json!([b.url])).then_some(())
    })
    .await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_that_does_not_match_the_hash_list_is_never_served_and_is_retried() {
    let (a, b, alice, b_admin) = mirror_pair("followings").await;
    // A's own file rots after its hash list was made; then alice posts the video.
    let response = a
        .upload(&alice, common::clip(3, 640, 360), "clip.mp4", "video/mp4")
        .await;
    let media: Value = response.json().await.expect("json");
    let media_id = media["id"].as_str().expect("id").to_owned();
    let (status, _) = a.wait_processed(&alice, &media_id).await;
    assert_eq!(status, 200);
    let store = &a.running.state.store;
    let (file, good) = rot_a_rendition(store, &format!("media/{media_id}/hls/")).await;
    let created = a
        .http
        .post(format!("{}/api/v1/statuses", a.url))
        .bearer_auth(&alice)
        .json(&json!({ "status": "Rotten pier", "media_ids": [media_id] }))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 200);

    // B's copy fails its check: marked failed with the reason, counted, and never served.
    let failed = common::eventually(60, "B's copy to fail its check", || async {
        held(&b, &b_admin)
            .await
            .into_iter()
            .find(|m| m["state"] == "failed")
    })
    .await;
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("does not match its hash")),
        "{failed}"
    );
    let media_on_b = media_of_copy(&b, &b_admin, &failed).await;
    let master = String::from_utf8(bytes(&b, &format!("{}/media/{media_on_b}/master.m3u8", b.url)).await)
        .expect("text");
    assert!(!master.contains(&b.url), "B lists a copy that failed: {master}");
    let leftovers = b
        .running
        .state
        .store
        .list(&format!("mirrors/{}/", failed["id"].as_str().expect("id")))
        .await
        .expect("list");
    assert!(leftovers.is_empty(), "a failed copy left files in B's store");
    assert_eq!(listed_copies(&a, &alice, &media_id).await, json!([]));

    // A's file is mended; B's retry copies it and A lists the copy.
    write_object(store, &file, good).await;
    verified_copy(&b, &b_admin, 60).await;
    common::eventually(20, "A to list B's copy", || async {
        (listed_copies(&a, &alice, &media_id).await == json!([b.url])).then_some(())
    })
    .await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_accepts_a_cachefile_exactly_as_peertube_sends_it() {
    let (a, b, alice, b_admin) = mirror_pair("followings").await;
    let media_id = post_video(&a, &alice).await;
    let held = verified_copy(&b, &b_admin, 60).await;
    common::eventually(20, "A to list B's own announcement", || async {
        (listed_copies(&a, &alice, &media_id).await == json!([b.url])).then_some(())
    })
    .await;
    // A forgets it, so what follows is decided by the PeerTube-shaped announcement alone.
    let ours = format!("{}/mirrors/{}", b.url, held["id"].as_str().expect("id"));
    let b_actor = format!("{}/actor", b.url);
    assert!(
        kaleido::db::mirrors::remove_copy(a.db(), &ours, &b_actor)
            .await
            .expect("remove")
    );
    assert_eq!(listed_copies(&a, &alice, &media_id).await, json!([]));

    // Our fixture in the shape built from PeerTube's source, with its hosts made the test's: B's
    // application actor, A's video and owner, and B's copy folder.
    let mut create = common::fixtures::read(&common::fixtures::OURS, "peertube-create-cachefile.json");
    let (_, local) = get(&a, &alice, "/api/v1/timelines/public?local=true").await;
    let video = local[0]["uri"].as_str().expect("video uri").to_owned();
    let owner = local[0]["account"]["uri"].as_str().expect("owner").to_owned();
    let (_, cache_file) = {
        let r = b
            .http
            .get(&ours)
            .header("Accept", "application/activity+json")
            .send()
            .await
            .expect("cache file");
        (r.status(), r.json::<Value>().await.expect("json"))
    };
    let folder = cache_file["url"]["href"].as_str().expect("href").to_owned();
    let id = format!("{}/redundancy/streaming-playlists/hls/{media_id}", b.url);
    create["id"] = json!(format!("{id}/activity"));
    create["actor"] = json!(b_actor);
    create["to"] = json!([owner]);
    create["object"]["id"] = json!(id);
    create["object"]["object"] = json!(video);
    create["object"]["to"] = json!([owner]);
    create["object"]["expires"] = json!("2099-01-01T00:00:00.000Z");
    create["object"]["url"]["href"] = json!(folder);
    send_as_instance(&b, &a, &create).await;
    common::eventually(20, "A to check and list the PeerTube-shaped copy", || async {
        (listed_copies(&a, &alice, &media_id).await == json!([b.url])).then_some(())
    })
    .await;
    a.stop().await;
    b.stop().await;
}

/// Mirroring's trust, as an attacker tried it: with `accept_from = "followings"`, a mirror that
/// merely follows us is not listed; an Accept of our instance follow counts only from the actor
/// we followed; and a listed copy is sampled at every renewal, its init section included (the
/// hash list does not cover it), and dropped when the sample fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_trusted_mirrors_are_listed_and_each_renewal_is_sampled() {
    let (a, b, alice, b_admin) = mirror_pair("stranger").await;
    let c = instance_with(Backend::SqliteLocal, |_| {}).await;
    let media_id = post_video(&a, &alice).await;
    let copy = verified_copy(&b, &b_admin, 60).await;
    let copy_id = copy["id"].as_str().expect("id").to_owned();
    let inbox_done = || async {
        let jobs = kaleido::db::jobs::list_by_kind(a.db(), "federation.inbox")
            .await
            .expect("jobs");
        jobs.iter().all(|j| j.state == "done" || j.state == "failed")
    };
    // The delivery of the copy's own announcement (not just B's follow) is done.
    announced_to(&b, &a, &copy_id).await;
    common::eventually(20, "A to process its inbox", || async {
        inbox_done().await.then_some(())
    })
    .await;
    assert_eq!(
        listed_copies(&a, &alice, &media_id).await,
        json!([]),
        "a mere follower was listed"
    );

    // A follows B (still pending); a stranger's Accept of that follow does not count.
    let b_actor = format!("{}/actor", b.url);
    let follow_id = format!("{}/actor#follows/trust-test", a.url);
    kaleido::db::mirrors::record_follow(
        a.db(),
        &b_actor,
        kaleido::db::mirrors::Direction::Out,
        &format!("{}/inbox", b.url),
        false,
        Some(&follow_id),
    )
    .await
    .expect("follow");
    let accept = |from: &Instance| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/actor#accepts/{}", from.url, uuid::Uuid::now_v7()),
            "type": "Accept",
            "actor": format!("{}/actor", from.url),
            "object": { "id": follow_id, "type": "Follow", "actor": format!("{}/actor", a.url), "object": b_actor },
        })
    };
    for from in [&c, &b] {
        send_as_instance(from, &a, &accept(from)).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        common::eventually(20, "A to process the Accept", || async {
            inbox_done().await.then_some(())
        })
        .await;
        let followed = kaleido::db::mirrors::followed_actors(a.db()).await.expect("db");
        assert_eq!(
            followed.contains(&b_actor),
            std::ptr::eq(from, &b),
            "after {}'s Accept",
            from.url
        );
    }

    // B's next renewal is sampled and, B being trusted now, listed.
    let verify = || async {
        let response = b
            .http
            .post(format!("{}/api/v1/admin/mirrors/{copy_id}/verify", b.url))
            .bearer_auth(&b_admin)
            .send()
            .await
            .expect("verify");
        assert_eq!(response.status(), 200);
    };
    verify().await;
    common::eventually(30, "A to list B after its renewal", || async {
        (listed_copies(&a, &alice, &media_id).await == json!([b.url])).then_some(())
    })
    .await;

    // A lying mirror: every segment of its copy rots but the first one of its first rendition
    // (all that a check of one fixed segment looks at), and it renews its promise anyway.
    let store = &b.running.state.store;
    let prefix = format!("mirrors/{copy_id}/");
    let files = store.list(&prefix).await.expect("list");
    let text_of = |name: &str| {
        let key = files
            .iter()
            .find(|f| f.key.as_str().ends_with(name))
            .unwrap_or_else(|| panic!("{name} in B's copy"))
            .key
            .clone();
        async move { String::from_utf8(read_object(store, &key).await).expect("text") }
    };
    let master = text_of("master.m3u8").await;
    let variants: Vec<&str> = master
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    let mut rotted = 0;
    for (v, variant) in variants.iter().enumerate() {
        let playlist = text_of(variant).await;
        let mut ranges = Vec::new();
        let mut file = String::new();
        for line in playlist.lines() {
            if let Some(spec) = line.strip_prefix("#EXT-X-BYTERANGE:") {
                let (len, at) = spec.split_once('@').expect("range");
                ranges.push(at.parse::<usize>().expect("offset") + len.parse::<usize>().expect("len") / 2);
            } else if !line.starts_with('#') && !line.is_empty() {
                file = line.to_owned();
            }
        }
        let key = files
            .iter()
            .find(|f| f.key.as_str().ends_with(&format!("/{file}")))
            .expect("rendition file")
            .key
            .clone();
        let mut data = read_object(store, &key).await;
        for (i, middle) in ranges.iter().enumerate() {
            if v == 0 && i == 0 {
                continue;
            }
            data[*middle] ^= 0xff;
            rotted += 1;
        }
        write_object(store, &key, data).await;
    }
    assert!(rotted >= 2, "too few segments to sample: {rotted}");
    let cache_file: Value = b
        .http
        .get(format!("{}/mirrors/{copy_id}", b.url))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .expect("cache file")
        .json()
        .await
        .expect("json");
    let renewal = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/mirrors/{copy_id}#lying-renewal", b.url),
        "type": "Update",
        "actor": b_actor,
        "to": cache_file["to"],
        "object": cache_file,
    });
    send_as_instance(&b, &a, &renewal).await;
    common::eventually(30, "A to drop B's copy after a failed sample", || async {
        (listed_copies(&a, &alice, &media_id).await == json!([])).then_some(())
    })
    .await;
    a.stop().await;
    b.stop().await;
    c.stop().await;
}
