//! Federation between real instances on loopback (one on SQLite with local files, one on
//! PostgreSQL with S3): search and follow, posts with media arriving, likes, boosts and replies
//! going back, deletes and undos propagating, forged and replayed requests refused, blocked
//! domains getting nothing, and a server that was down catching up.

mod common;

use std::collections::HashMap;

use common::{
    Backend, Instance,
    signing::{deliver, private_key_of, signed_headers},
    start_federated as instance_with,
};
use serde_json::{Value, json};

/// Instances that may talk to each other over plain HTTP on loopback.
async fn instance(backend: Backend) -> Instance {
    instance_with(backend, |_| {}).await
}

fn host(app: &Instance) -> String {
    app.url.trim_start_matches("http://").to_owned()
}

async fn api(
    app: &Instance,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    app.api(token, method, path, body).await
}

async fn get(app: &Instance, token: &str, path: &str) -> (u16, Value) {
    api(app, token, reqwest::Method::GET, path, None).await
}

async fn post(app: &Instance, token: &str, path: &str, body: Value) -> (u16, Value) {
    api(app, token, reqwest::Method::POST, path, Some(body)).await
}

/// Finds `name@host` from `app` (WebFinger and actor fetch) and returns its local account id.
async fn resolve(app: &Instance, token: &str, address: &str) -> String {
    let (status, found) = get(app, token, &format!("/api/v2/search?q=%40{address}&resolve=true")).await;
    assert_eq!(status, 200, "{found}");
    let accounts = found["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 1, "search for {address}: {found}");
    assert_eq!(accounts[0]["acct"], address);
    accounts[0]["id"].as_str().expect("id").to_owned()
}

/// `follower` (on `from`) follows `address` and waits for the Accept.
async fn follow(from: &Instance, token: &str, address: &str) -> String {
    let id = resolve(from, token, address).await;
    let (status, relationship) = post(from, token, &format!("/api/v1/accounts/{id}/follow"), json!({})).await;
    assert_eq!(status, 200, "{relationship}");
    assert!(relationship["following"] == true || relationship["requested"] == true);
    common::eventually(20, "the follow to be accepted", || async {
        let (_, r) = get(from, token, &format!("/api/v1/accounts/relationships?id[]={id}")).await;
        (r[0]["following"] == true).then_some(())
    })
    .await;
    id
}

async fn photo_post(app: &Instance, token: &str, text: &str, alt: &str) -> Value {
    let response = app
        .upload(token, common::jpeg(640, 480), "photo.jpg", "image/jpeg")
        .await;
    let media: Value = response.json().await.expect("json");
    let media_id = media["id"].as_str().expect("media id").to_owned();
    app.wait_processed(token, &media_id).await;
    let (status, _) = api(
        app,
        token,
        reqwest::Method::PUT,
        &format!("/api/v1/media/{media_id}"),
        Some(json!({ "description": alt })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, created) = post(
        app,
        token,
        "/api/v1/statuses",
        json!({ "status": text, "media_ids": [media_id] }),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    created
}

/// The status with this text in `token`'s home timeline, once it is there.
async fn arrives(app: &Instance, token: &str, text: &str) -> Value {
    common::eventually(20, &format!("{text:?} to arrive"), || async {
        let (_, home) = get(app, token, "/api/v1/timelines/home").await;
        home.as_array()?
            .iter()
            .find(|s| s["content"].as_str().is_some_and(|c| c.contains(text)))
            .cloned()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_post_like_boost_reply_and_delete_across_instances() {
    let a = instance(Backend::SqliteLocal).await;
    let b = instance(Backend::PostgresS3).await;
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;

    let alice_on_b = follow(&b, &bob, &format!("alice@{}", host(&a))).await;
    // A knows bob as a follower, in its collection and its counts.
    let followers: Value = a
        .http
        .get(format!("{}/users/alice/followers", a.url))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .expect("followers")
        .json()
        .await
        .expect("json");
    assert_eq!(followers["orderedItems"], json!([format!("{}/users/bob", b.url)]));
    let (_, me) = get(&a, &alice, "/api/v1/accounts/verify_credentials").await;
    assert_eq!(me["followers_count"], 1);

    // A photo post arrives with its media, shown from A, alt text and blurhash included.
    let original = photo_post(&a, &alice, "Sunset over the harbour", "orange sky above boats").await;
    let original_id = original["id"].as_str().expect("id").to_owned();
    let seen = arrives(&b, &bob, "Sunset over the harbour").await;
    assert_eq!(seen["account"]["acct"], format!("alice@{}", host(&a)));
    assert_eq!(seen["account"]["id"], alice_on_b);
    assert_eq!(seen["uri"], original["uri"]);
    let attachment = &seen["media_attachments"][0];
    assert_eq!(attachment["type"], "image");
    assert_eq!(attachment["description"], "orange sky above boats");
    assert!(
        attachment["blurhash"].as_str().is_some_and(|h| h.len() > 5),
        "{attachment}"
    );
    let image_url = attachment["url"].as_str().expect("url");
    assert!(image_url.starts_with(&a.url), "{image_url}");
    let image = b.http.get(image_url).send().await.expect("image");
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/jpeg");
    // It is in B's federated timeline, not its local one.
    let (_, remote) = get(&b, &bob, "/api/v1/timelines/public?remote=true").await;
    assert!(
        remote
            .as_array()
            .expect("list")
            .iter()
            .any(|s| s["uri"] == original["uri"])
    );
    let (_, local) = get(&b, &bob, "/api/v1/timelines/public?local=true").await;
    assert!(local.as_array().expect("list").is_empty(), "{local}");

    // Like, boost and reply from B reach A.
    let seen_id = seen["id"].as_str().expect("id").to_owned();
    let (status, liked) = post(
        &b,
        &bob,
        &format!("/api/v1/statuses/{seen_id}/favourite"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{liked}");
    assert_eq!(liked["favourited"], true);
    let (status, boosted) = post(&b, &bob, &format!("/api/v1/statuses/{seen_id}/reblog"), json!({})).await;
    assert_eq!(status, 200, "{boosted}");
    assert_eq!(boosted["reblog"]["id"], seen_id);
    let (status, reply) = post(
        &b,
        &bob,
        "/api/v1/statuses",
        json!({ "status": "What a view!", "in_reply_to_id": seen_id }),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    common::eventually(20, "like, boost and reply to reach A", || async {
        let (_, s) = get(&a, &alice, &format!("/api/v1/statuses/{original_id}")).await;
        (s["favourites_count"] == 1 && s["reblogs_count"] == 1 && s["replies_count"] == 1).then_some(())
    })
    .await;
    let (_, context) = get(&a, &alice, &format!("/api/v1/statuses/{original_id}/context")).await;
    let replies = context["descendants"].as_array().expect("descendants");
    assert_eq!(replies.len(), 1, "{context}");
    assert!(
        replies[0]["content"]
            .as_str()
            .expect("content")
            .contains("What a view!")
    );
    assert_eq!(replies[0]["account"]["acct"], format!("bob@{}", host(&b)));
    // The reply shows under the post on A's page.
    let page = a
        .http
        .get(format!("{}/statuses/{original_id}", a.url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("What a view!"),
        "the reply is not on the post's page"
    );

    // Undoing them propagates.
    post(
        &b,
        &bob,
        &format!("/api/v1/statuses/{seen_id}/unfavourite"),
        json!({}),
    )
    .await;
    post(
        &b,
        &bob,
        &format!("/api/v1/statuses/{seen_id}/unreblog"),
        json!({}),
    )
    .await;
    common::eventually(20, "the undos to reach A", || async {
        let (_, s) = get(&a, &alice, &format!("/api/v1/statuses/{original_id}")).await;
        (s["favourites_count"] == 0 && s["reblogs_count"] == 0).then_some(())
    })
    .await;

    // Deleting the post removes it from B.
    let (status, _) = api(
        &a,
        &alice,
        reqwest::Method::DELETE,
        &format!("/api/v1/statuses/{original_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    // Its id now answers with a Tombstone.
    let gone = a
        .http
        .get(original["uri"].as_str().expect("uri"))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .expect("tombstone");
    assert_eq!(gone.status(), 410);
    let tombstone: Value = gone.json().await.expect("json");
    assert_eq!(tombstone["type"], "Tombstone");
    assert_eq!(tombstone["formerType"], "Note");
    common::eventually(20, "the delete to reach B", || async {
        let (status, _) = get(&b, &bob, &format!("/api/v1/statuses/{seen_id}")).await;
        (status == 404).then_some(())
    })
    .await;

    // Unfollowing: A forgets bob as a follower.
    let (status, r) = post(
        &b,
        &bob,
        &format!("/api/v1/accounts/{alice_on_b}/unfollow"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(r["following"], false);
    common::eventually(20, "the unfollow to reach A", || async {
        let (_, me) = get(&a, &alice, "/api/v1/accounts/verify_credentials").await;
        (me["followers_count"] == 0).then_some(())
    })
    .await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_post_federates_as_a_peertube_video() {
    let a = instance(Backend::PostgresS3).await;
    let b = instance(Backend::SqliteLocal).await;
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    follow(&b, &bob, &format!("alice@{}", host(&a))).await;

    let response = a
        .upload(&alice, common::clip(3, 640, 360), "clip.mp4", "video/mp4")
        .await;
    let media: Value = response.json().await.expect("json");
    let media_id = media["id"].as_str().expect("id").to_owned();
    let (status, created) = post(
        &a,
        &alice,
        "/api/v1/statuses",
        json!({ "status": "Harbour timelapse\nShot from the pier.", "media_ids": [media_id] }),
    )
    .await;
    assert_eq!(status, 200, "{created}");

    let seen = arrives(&b, &bob, "Harbour timelapse").await;
    let video = &seen["media_attachments"][0];
    assert_eq!(video["type"], "video");
    let hls = video["kaleido"]["hls"].as_str().expect("hls");
    assert!(hls.starts_with(&a.url) && hls.ends_with(".m3u8"), "{hls}");
    let playlist = b
        .http
        .get(hls)
        .send()
        .await
        .expect("playlist")
        .text()
        .await
        .expect("text");
    assert!(playlist.starts_with("#EXTM3U"), "{playlist}");
    let mp4 = b
        .http
        .get(video["url"].as_str().expect("url"))
        .send()
        .await
        .expect("mp4");
    assert_eq!(mp4.status(), 200);

    // The object itself, as PeerTube reads it.
    let object: Value = a
        .http
        .get(created["uri"].as_str().expect("uri"))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .expect("object")
        .json()
        .await
        .expect("json");
    assert_eq!(object["type"], "Video");
    assert_eq!(object["name"], "Harbour timelapse");
    // Every property PeerTube's Video validator insists on is there, of the JSON type a real
    // PeerTube Video (ours, in the shape of the one captured from tilvids.com) gives it.
    let peertube = common::fixtures::read(&common::fixtures::OURS, "peertube-video.json");
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    for key in [
        "id",
        "type",
        "name",
        "duration",
        "uuid",
        "url",
        "published",
        "updated",
        "attributedTo",
        "to",
        "cc",
        "sensitive",
        "commentsEnabled",
        "downloadEnabled",
        "waitTranscoding",
        "state",
        "content",
        "mediaType",
        "icon",
        "tag",
        "views",
        "isLiveBroadcast",
    ] {
        assert_eq!(
            kind(&object[key]),
            kind(&peertube[key]),
            "{key}: {} vs {}",
            object[key],
            peertube[key]
        );
    }
    assert!(
        object["duration"]
            .as_str()
            .is_some_and(|d| d.starts_with("PT") && d.ends_with('S'))
    );
    assert_eq!(object["uuid"], media_id);
    let links = object["url"].as_array().expect("url links");
    let master = links
        .iter()
        .find(|l| l["mediaType"] == "application/x-mpegURL")
        .expect("HLS link");
    let tags = master["tag"].as_array().expect("tags");
    let hashes = tags.iter().find(|t| t["name"] == "sha256").expect("sha256 link");
    let hash_list: Value = b
        .http
        .get(hashes["href"].as_str().expect("href"))
        .send()
        .await
        .expect("hashes")
        .json()
        .await
        .expect("json");
    assert!(
        hash_list.as_object().is_some_and(|o| !o.is_empty()),
        "{hash_list}"
    );
    let renditions: Vec<i64> = tags
        .iter()
        .filter(|t| t["mediaType"] == "video/mp4")
        .map(|t| t["height"].as_i64().expect("height"))
        .collect();
    // The test ladder is 480/240 and never upscales: a 360p source gets the 240p rung.
    assert_eq!(renditions, vec![240]);
    assert!(links.iter().any(|l| l["mediaType"] == "video/mp4"));
    assert!(
        object["icon"][0]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(".jpg"))
    );
    let attributed: Vec<&str> = object["attributedTo"]
        .as_array()
        .expect("attributedTo")
        .iter()
        .map(|a| a["type"].as_str().expect("type"))
        .collect();
    assert_eq!(attributed, vec!["Person", "Group"]);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_replayed_requests_are_refused() {
    let a = instance(Backend::SqliteLocal).await;
    let b = instance(Backend::SqliteLocal).await;
    let alice = a.user("alice").await;
    b.user("bob").await;
    b.user("carol").await;
    let bob_key = private_key_of(&b, "bob").await;
    let bob_uri = format!("{}/users/bob", b.url);
    let key_id = format!("{bob_uri}#main-key");
    let inbox = format!("{}/users/alice/inbox", a.url);
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{bob_uri}#follows/1"),
        "type": "Follow",
        "actor": bob_uri,
        "object": format!("{}/users/alice", a.url),
    });
    let body = follow.to_string().into_bytes();
    let now = std::time::SystemTime::now();
    let followers = || async {
        let (_, me) = get(&a, &alice, "/api/v1/accounts/verify_credentials").await;
        me["followers_count"].as_i64().expect("count")
    };

    // Unsigned.
    assert_eq!(deliver(&a, &inbox, &body, &HashMap::new()).await, 401);
    // Signed, then the body changed.
    let headers = signed_headers(&inbox, &body, &key_id, &bob_key, now);
    let forged = follow.to_string().replace("follows/1", "follows/2").into_bytes();
    assert_eq!(deliver(&a, &inbox, &forged, &headers).await, 401);
    // Bob's key, but the activity claims to be carol's.
    let as_carol = follow
        .to_string()
        .replace("/users/bob\"", "/users/carol\"")
        .into_bytes();
    let headers_carol = signed_headers(&inbox, &as_carol, &key_id, &bob_key, now);
    assert_eq!(deliver(&a, &inbox, &as_carol, &headers_carol).await, 401);
    // Bob's key id, someone else's key.
    let (other_private, _) = kaleido::net::keys::generate_key_pair().expect("keys");
    let impostor = signed_headers(&inbox, &body, &key_id, &other_private, now);
    assert_eq!(deliver(&a, &inbox, &body, &impostor).await, 401);
    // Signed two hours ago: outside the window, even though the signature is good.
    let old = signed_headers(
        &inbox,
        &body,
        &key_id,
        &bob_key,
        now - std::time::Duration::from_secs(7200),
    );
    assert_eq!(deliver(&a, &inbox, &body, &old).await, 401);
    assert_eq!(followers().await, 0, "a refused request changed something");

    // The genuine request is accepted and applied, once.
    assert_eq!(deliver(&a, &inbox, &body, &headers).await, 202);
    common::eventually(20, "the follow to be applied", || async {
        (followers().await == 1).then_some(())
    })
    .await;
    // Replayed verbatim: accepted (it is genuine) but changes nothing.
    assert_eq!(deliver(&a, &inbox, &body, &headers).await, 202);
    // Bob unfollows; a replay of the old Follow must not bring the follow back.
    let undo = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{bob_uri}#follows/1/undo"),
        "type": "Undo",
        "actor": bob_uri,
        "object": follow,
    });
    let undo_body = undo.to_string().into_bytes();
    let undo_headers = signed_headers(&inbox, &undo_body, &key_id, &bob_key, now);
    assert_eq!(deliver(&a, &inbox, &undo_body, &undo_headers).await, 202);
    common::eventually(20, "the undo to be applied", || async {
        (followers().await == 0).then_some(())
    })
    .await;
    assert_eq!(deliver(&a, &inbox, &body, &headers).await, 202);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(followers().await, 0, "a replayed Follow was applied again");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_domain_gets_nothing_and_is_heard_from_no_more() {
    let a = instance(Backend::SqliteLocal).await;
    let b = instance(Backend::SqliteLocal).await;
    let c = instance(Backend::PostgresS3).await;
    kaleido::accounts::create(a.db(), "admin", "correct horse battery", true)
        .await
        .expect("admin");
    let admin = a.login("admin", "correct horse battery").await;
    let alice = a.user("alice").await;
    let dave = a.user("dave").await;
    let bob = b.user("bob").await;
    let carol = c.user("carol").await;
    follow(&b, &bob, &format!("alice@{}", host(&a))).await;
    follow(&c, &carol, &format!("alice@{}", host(&a))).await;

    let before: Vec<String> = kaleido::db::jobs::list_by_kind(a.db(), "federation.deliver")
        .await
        .expect("jobs")
        .into_iter()
        .map(|j| j.id)
        .collect();

    // Only admins block; the block is listed with its reason.
    let (status, _) = post(
        &a,
        &alice,
        "/api/v1/admin/domain_blocks",
        json!({ "domain": host(&c) }),
    )
    .await;
    assert_eq!(status, 403);
    let (status, block) = post(
        &a,
        &admin,
        "/api/v1/admin/domain_blocks",
        json!({ "domain": c.url, "private_comment": "spam wave" }),
    )
    .await;
    assert_eq!(status, 200, "{block}");
    assert_eq!(block["domain"], host(&c));
    let (_, blocks) = get(&a, &admin, "/api/v1/admin/domain_blocks").await;
    assert_eq!(blocks[0]["private_comment"], "spam wave");

    // Nothing is delivered there any more; the other follower still gets the post.
    let (status, _) = post(
        &a,
        &alice,
        "/api/v1/statuses",
        json!({ "status": "After the block" }),
    )
    .await;
    assert_eq!(status, 200);
    arrives(&b, &bob, "After the block").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (_, home) = get(&c, &carol, "/api/v1/timelines/home").await;
    assert!(home.as_array().expect("home").is_empty(), "{home}");
    let deliveries = kaleido::db::jobs::list_by_kind(a.db(), "federation.deliver")
        .await
        .expect("jobs");
    assert!(
        deliveries
            .iter()
            .filter(|j| !before.contains(&j.id))
            .all(|j| !j.payload.contains(&host(&c))),
        "a delivery to the blocked domain was queued"
    );

    // Its deliveries are refused: carol's follow of dave never lands.
    let dave_on_c = resolve(&c, &carol, &format!("dave@{}", host(&a))).await;
    let (status, _) = post(
        &c,
        &carol,
        &format!("/api/v1/accounts/{dave_on_c}/follow"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    common::eventually(20, "C's delivery to be refused for good", || async {
        let jobs = kaleido::db::jobs::list_by_kind(c.db(), "federation.deliver")
            .await
            .expect("jobs");
        jobs.iter()
            .any(|j| j.state == "failed" && j.last_error.as_deref().is_some_and(|e| e.contains("403")))
            .then_some(())
    })
    .await;
    let (_, me) = get(&a, &dave, "/api/v1/accounts/verify_credentials").await;
    assert_eq!(me["followers_count"], 0);
    // And nothing is fetched from it.
    let (status, refused) = get(
        &a,
        &alice,
        &format!("/api/v2/search?q=%40carol%40{}&resolve=true", host(&c)),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"], "domain_blocked");

    let (status, _) = api(
        &a,
        &admin,
        reqwest::Method::DELETE,
        &format!("/api/v1/admin/domain_blocks/{}", host(&c)),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (_, blocks) = get(&a, &admin, "/api/v1/admin/domain_blocks").await;
    assert_eq!(blocks, json!([]));
    a.stop().await;
    b.stop().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_was_down_gets_everything_once_back() {
    let a = instance_with(Backend::SqliteLocal, |c| {
        c.federation.dead_host_after_seconds = 1;
        c.federation.dead_host_retry_seconds = 1;
    })
    .await;
    let b = instance(Backend::PostgresS3).await;
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    follow(&b, &bob, &format!("alice@{}", host(&a))).await;

    // B goes down (its database and store survive) while A posts twice, and comes back at the
    // same address.
    let b_host = host(&b);
    let b = b
        .restart(|| async {
            for text in ["While you were away, one", "While you were away, two"] {
                let (status, _) = post(&a, &alice, "/api/v1/statuses", json!({ "status": text })).await;
                assert_eq!(status, 200);
            }
            // A notices: the deliveries fail, and after a second of nothing but failures B is dead.
            common::eventually(20, "A to mark B dead", || async {
                kaleido::db::federation::peer_dead(a.db(), &b_host)
                    .await
                    .expect("db")
                    .then_some(())
            })
            .await;
        })
        .await;
    // Both posts arrive, none lost.
    assert_eq!(host(&b), b_host);
    arrives(&b, &bob, "While you were away, one").await;
    arrives(&b, &bob, "While you were away, two").await;
    common::eventually(20, "A to see B alive again", || async {
        (!kaleido::db::federation::peer_dead(a.db(), &b_host)
            .await
            .expect("db"))
        .then_some(())
    })
    .await;
    let deliveries = kaleido::db::jobs::list_by_kind(a.db(), "federation.deliver")
        .await
        .expect("jobs");
    assert!(
        deliveries.iter().all(|j| j.state != "failed"),
        "a delivery was given up"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_follows_from_their_own_instance_in_chromium() {
    let a = instance(Backend::SqliteLocal).await;
    let b = instance(Backend::SqliteLocal).await;
    let alice = a.user("alice").await;
    b.user("bob").await;

    let report = common::node(
        "remote-follow.mjs",
        vec![
            format!("{}/@alice", a.url).into(),
            format!("bob@{}", host(&b)).into(),
            "correct horse battery".into(),
        ],
    )
    .await;
    assert_eq!(
        report["remoteProfile"],
        format!("{}/@alice@{}", b.url, host(&a)),
        "{report}"
    );
    assert!(
        report["handle"]
            .as_str()
            .is_some_and(|h| h.starts_with(&format!("@alice@{}", host(&a)))),
        "{report}"
    );
    assert_eq!(report["before"], "none");
    assert_eq!(report["state"], "following", "{report}");
    assert_eq!(report["problems"], json!([]), "{report}");
    let (_, me) = get(&a, &alice, "/api/v1/accounts/verify_credentials").await;
    assert_eq!(me["followers_count"], 1);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_accounts_blocks_mutes_and_reports_across_instances() {
    let a = instance(Backend::PostgresS3).await;
    let b = instance(Backend::SqliteLocal).await;
    kaleido::accounts::create(a.db(), "admin", "correct horse battery", true)
        .await
        .expect("admin");
    let admin = a.login("admin", "correct horse battery").await;
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;
    let carol = b.user("carol").await;

    // Alice approves her followers.
    let (status, me) = api(
        &a,
        &alice,
        reqwest::Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Some(json!({ "locked": true })),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["locked"], true);
    let address = format!("alice@{}", host(&a));
    let alice_on_b = resolve(&b, &bob, &address).await;
    let (_, r) = post(
        &b,
        &bob,
        &format!("/api/v1/accounts/{alice_on_b}/follow"),
        json!({}),
    )
    .await;
    assert_eq!(r["requested"], true, "{r}");
    let alice_on_b_for_carol = resolve(&b, &carol, &address).await;
    post(
        &b,
        &carol,
        &format!("/api/v1/accounts/{alice_on_b_for_carol}/follow"),
        json!({}),
    )
    .await;
    let requests = common::eventually(20, "two follow requests", || async {
        let (_, list) = get(&a, &alice, "/api/v1/follow_requests").await;
        (list.as_array()?.len() == 2).then_some(list)
    })
    .await;
    let id_of = |acct: String| {
        requests
            .as_array()
            .expect("list")
            .iter()
            .find(|r| r["acct"] == acct)
            .and_then(|r| r["id"].as_str())
            .expect("request")
            .to_owned()
    };
    let bob_on_a = id_of(format!("bob@{}", host(&b)));
    let carol_on_a = id_of(format!("carol@{}", host(&b)));
    let (status, r) = post(
        &a,
        &alice,
        &format!("/api/v1/follow_requests/{bob_on_a}/authorize"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["followed_by"], true);
    post(
        &a,
        &alice,
        &format!("/api/v1/follow_requests/{carol_on_a}/reject"),
        json!({}),
    )
    .await;
    common::eventually(20, "bob accepted, carol refused", || async {
        let (_, rb) = get(
            &b,
            &bob,
            &format!("/api/v1/accounts/relationships?id[]={alice_on_b}"),
        )
        .await;
        let (_, rc) = get(
            &b,
            &carol,
            &format!("/api/v1/accounts/relationships?id[]={alice_on_b}"),
        )
        .await;
        (rb[0]["following"] == true && rc[0]["following"] == false && rc[0]["requested"] == false)
            .then_some(())
    })
    .await;

    // Bob reports one of alice's posts and has the report forwarded: A's admins see it.
    let (_, posted) = post(
        &a,
        &alice,
        "/api/v1/statuses",
        json!({ "status": "A post bob dislikes" }),
    )
    .await;
    let seen = arrives(&b, &bob, "A post bob dislikes").await;
    let (status, report) = post(
        &b,
        &bob,
        "/api/v1/reports",
        json!({ "account_id": alice_on_b, "status_ids": [seen["id"]], "comment": "spam links", "forward": true }),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let (status, _) = get(&a, &alice, "/api/v1/admin/reports").await;
    assert_eq!(status, 403);
    let received = common::eventually(20, "the report to reach A", || async {
        let (_, list) = get(&a, &admin, "/api/v1/admin/reports").await;
        list.as_array()?.first().cloned()
    })
    .await;
    assert_eq!(received["comment"], "spam links");
    assert_eq!(received["status_ids"], json!([posted["id"]]));
    assert_eq!(received["target_account"]["acct"], "alice");
    // Anonymous to A: the report comes from B's instance actor, not from bob.
    assert_ne!(received["account"]["acct"], format!("bob@{}", host(&b)));

    // Alice blocks bob: the follow ends on both sides and his new Follow is refused.
    let (status, r) = post(
        &a,
        &alice,
        &format!("/api/v1/accounts/{bob_on_a}/block"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["blocking"], true);
    assert_eq!(r["followed_by"], false);
    common::eventually(20, "B to learn of the block", || async {
        let (_, rb) = get(
            &b,
            &bob,
            &format!("/api/v1/accounts/relationships?id[]={alice_on_b}"),
        )
        .await;
        (rb[0]["following"] == false).then_some(())
    })
    .await;
    post(
        &b,
        &bob,
        &format!("/api/v1/accounts/{alice_on_b}/follow"),
        json!({}),
    )
    .await;
    common::eventually(20, "the refused follow to settle", || async {
        let (_, rb) = get(
            &b,
            &bob,
            &format!("/api/v1/accounts/relationships?id[]={alice_on_b}"),
        )
        .await;
        (rb[0]["following"] == false && rb[0]["requested"] == false).then_some(())
    })
    .await;
    let (_, me) = get(&a, &alice, "/api/v1/accounts/verify_credentials").await;
    assert_eq!(me["followers_count"], 0);

    // Carol mutes alice: alice's posts leave carol's federated timeline, not anyone else's.
    let (status, r) = post(
        &b,
        &carol,
        &format!("/api/v1/accounts/{alice_on_b_for_carol}/mute"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(r["muting"], true);
    let (_, for_carol) = get(&b, &carol, "/api/v1/timelines/public?remote=true").await;
    assert!(
        for_carol
            .as_array()
            .expect("list")
            .iter()
            .all(|s| s["account"]["id"] != alice_on_b),
        "{for_carol}"
    );
    let (_, for_bob) = get(&b, &bob, "/api/v1/timelines/public?remote=true").await;
    assert!(
        for_bob
            .as_array()
            .expect("list")
            .iter()
            .any(|s| s["account"]["id"] == alice_on_b)
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_9421_signatures_are_accepted_as_mastodon_sends_them() {
    let a = instance(Backend::SqliteLocal).await;
    let b = instance(Backend::SqliteLocal).await;
    let alice = a.user("alice").await;
    b.user("bob").await;
    let bob_key = private_key_of(&b, "bob").await;
    let bob_uri = format!("{}/users/bob", b.url);
    let inbox = format!("{}/users/alice/inbox", a.url);
    let body = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{bob_uri}#follows/9421"),
        "type": "Follow",
        "actor": bob_uri,
        "object": format!("{}/users/alice", a.url),
    })
    .to_string()
    .into_bytes();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let headers: HashMap<String, String> = kaleido::net::rfc9421::sign(
        "POST",
        &inbox,
        &HashMap::new(),
        Some(&body),
        &format!("{bob_uri}#main-key"),
        &bob_key,
        now,
    )
    .expect("sign")
    .into_iter()
    .collect();
    // The same signature over another body is refused, before bob's key is even fetched: a
    // forged body costs A no request to B (bob is not known at A afterwards).
    let mut tampered = body.clone();
    tampered.push(b' ');
    assert_eq!(deliver(&a, &inbox, &tampered, &headers).await, 401);
    assert!(
        kaleido::db::accounts::by_uri(a.db(), &bob_uri)
            .await
            .expect("db")
            .is_none(),
        "A fetched the signer's key for a body that did not match its Content-Digest"
    );
    // The genuine request is applied.
    assert_eq!(deliver(&a, &inbox, &body, &headers).await, 202);
    common::eventually(20, "the follow to be applied", || async {
        let (_, me) = get(&a, &alice, "/api/v1/accounts/verify_credentials").await;
        (me["followers_count"] == 1).then_some(())
    })
    .await;
    a.stop().await;
    b.stop().await;
}

/// A remote `Announce` of a local followers-only post must not put it before the booster's
/// followers here; a boost of a public post still arrives, so the check is not vacuous.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_boost_never_widens_who_sees_a_post() {
    let a = instance(Backend::SqliteLocal).await;
    let b = instance(Backend::PostgresS3).await;
    let alice = a.user("alice").await;
    let carol = a.user("carol").await;
    b.user("bob").await;
    follow(&a, &carol, &format!("bob@{}", host(&b))).await;
    let (_, secret) = post(
        &a,
        &alice,
        "/api/v1/statuses",
        json!({ "status": "for my followers only", "visibility": "private" }),
    )
    .await;
    let (_, open) = post(
        &a,
        &alice,
        "/api/v1/statuses",
        json!({ "status": "for everyone" }),
    )
    .await;
    let bob_uri = format!("{}/users/bob", b.url);
    let bob_key = private_key_of(&b, "bob").await;
    let inbox = format!("{}/inbox", a.url);
    let boost = |n: u32, object: &Value| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{bob_uri}/statuses/{n}/activity"),
            "type": "Announce",
            "actor": bob_uri,
            "published": "2026-12-01T12:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [format!("{bob_uri}/followers")],
            "object": object["uri"],
        })
    };
    for (n, status) in [(1, &secret), (2, &open)] {
        let body = boost(n, status).to_string().into_bytes();
        let headers = signed_headers(
            &inbox,
            &body,
            &format!("{bob_uri}#main-key"),
            &bob_key,
            std::time::SystemTime::now(),
        );
        assert_eq!(deliver(&a, &inbox, &body, &headers).await, 202);
    }
    let home = common::eventually(20, "the public boost in carol's home", || async {
        let (_, home) = get(&a, &carol, "/api/v1/timelines/home").await;
        let boosts = home.as_array()?.iter().filter(|s| !s["reblog"].is_null()).count();
        (boosts >= 1).then_some(home)
    })
    .await;
    let texts: Vec<&str> = home
        .as_array()
        .expect("home")
        .iter()
        .filter_map(|s| s["reblog"]["content"].as_str())
        .collect();
    assert!(texts.iter().any(|t| t.contains("for everyone")), "{home}");
    assert!(
        !home.to_string().contains("for my followers only"),
        "leaked: {home}"
    );
    // Nor does the booster's profile or the public timeline show it to anyone else.
    let (_, public) = get(&a, &carol, "/api/v1/timelines/public").await;
    assert!(!public.to_string().contains("for my followers only"), "{public}");
    a.stop().await;
    b.stop().await;
}

/// De-duplication by activity id: a server that sends first, with its own key, an activity
/// carrying another server's predictable id must not make the real one a "repeat". And a
/// request signed for another server's inbox is not accepted here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_ids_cannot_be_claimed_and_requests_for_other_servers_are_refused() {
    let a = instance(Backend::SqliteLocal).await;
    let b = instance(Backend::SqliteLocal).await;
    let c = instance(Backend::PostgresS3).await;
    let alice = a.user("alice").await;
    b.user("bob").await;
    c.user("mallory").await;
    let bob_uri = format!("{}/users/bob", b.url);
    let mallory_uri = format!("{}/users/mallory", c.url);
    let inbox = format!("{}/users/alice/inbox", a.url);
    let now = std::time::SystemTime::now();
    let followers = || async {
        let (_, me) = get(&a, &alice, "/api/v1/accounts/verify_credentials").await;
        me["followers_count"].as_i64().expect("count")
    };
    let follow_of = |actor: &str, id: &str| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": id,
            "type": "Follow",
            "actor": actor,
            "object": format!("{}/users/alice", a.url),
        })
    };
    // Mallory's server claims bob's next Follow id in advance, signed with mallory's own key.
    let claimed = format!("{bob_uri}#follows/1");
    let squat = follow_of(&mallory_uri, &claimed).to_string().into_bytes();
    let mallory_key = private_key_of(&c, "mallory").await;
    let headers = signed_headers(
        &inbox,
        &squat,
        &format!("{mallory_uri}#main-key"),
        &mallory_key,
        now,
    );
    assert_eq!(deliver(&a, &inbox, &squat, &headers).await, 202);
    common::eventually(20, "mallory's follow", || async {
        (followers().await == 1).then_some(())
    })
    .await;
    // Bob's real Follow, with that id, from bob's server: applied, not taken for a repeat.
    let real = follow_of(&bob_uri, &claimed).to_string().into_bytes();
    let bob_key = private_key_of(&b, "bob").await;
    let bob_headers = signed_headers(&inbox, &real, &format!("{bob_uri}#main-key"), &bob_key, now);
    // First the same request replayed at A as if A were another server: refused.
    let b_inbox = format!("{}/users/alice/inbox", b.url);
    let for_b = signed_headers(&b_inbox, &real, &format!("{bob_uri}#main-key"), &bob_key, now);
    let b_host = b.url.trim_start_matches("http://").to_owned();
    assert_eq!(
        common::signing::deliver_as(&a, &inbox, &real, &for_b, Some(&b_host)).await,
        401,
        "a request signed for {b_host} was accepted by {}",
        a.url
    );
    assert_eq!(deliver(&a, &inbox, &real, &bob_headers).await, 202);
    // Mallory and bob: without keying ids by their signer, bob's would be a "repeat".
    common::eventually(20, "bob's follow", || async {
        (followers().await == 2).then_some(())
    })
    .await;
    a.stop().await;
    b.stop().await;
    c.stop().await;
}

/// What a remote post names is fetched, or sent to, only within bounds: its poster only on its
/// own server over http(s) (else every visitor could be redirected anywhere through us), and its
/// mirrors only on hosts our mirroring policy trusts (else every play would make us fetch from
/// whatever hosts a post lists).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_videos_poster_and_mirrors_come_only_from_where_they_may() {
    let a = instance(Backend::SqliteLocal).await;
    let b = instance(Backend::SqliteLocal).await;
    let carol = a.user("carol").await;
    b.user("bob").await;
    follow(&a, &carol, &format!("bob@{}", host(&b))).await;
    let bob_uri = format!("{}/users/bob", b.url);
    // A PeerTube-shaped Video from bob's server, naming a poster and a mirror elsewhere.
    let fixture = common::fixtures::read(&common::fixtures::OURS, "peertube-video.json");
    let mut video: Value =
        serde_json::from_str(&fixture.to_string().replace("https://video.example", &b.url)).expect("json");
    video["attributedTo"] = json!([{ "type": "Person", "id": bob_uri }]);
    video["cc"] = json!([format!("{bob_uri}/followers")]);
    for icon in video["icon"].as_array_mut().expect("icons") {
        icon["url"] = json!("https://evil.example/poster.jpg");
    }
    let hls = video["url"]
        .as_array_mut()
        .expect("links")
        .iter_mut()
        .find(|l| l["mediaType"] == "application/x-mpegURL")
        .expect("hls link");
    hls["tag"].as_array_mut().expect("tags").push(json!({
        "type": "Link",
        "name": "mirror",
        "mediaType": "application/x-mpegURL",
        "href": "http://198.51.100.7/static/streaming-playlists/hls/x/master.m3u8",
    }));
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{bob_uri}/statuses/video-1/activity"),
        "type": "Create",
        "actor": bob_uri,
        "to": video["to"],
        "cc": video["cc"],
        "object": video,
    });
    let body = create.to_string().into_bytes();
    let inbox = format!("{}/inbox", a.url);
    let key = private_key_of(&b, "bob").await;
    let headers = signed_headers(
        &inbox,
        &body,
        &format!("{bob_uri}#main-key"),
        &key,
        std::time::SystemTime::now(),
    );
    assert_eq!(deliver(&a, &inbox, &body, &headers).await, 202);
    let media_id = common::eventually(20, "the video in carol's home", || async {
        let (_, home) = get(&a, &carol, "/api/v1/timelines/home").await;
        home.as_array()?
            .iter()
            .find_map(|s| s["media_attachments"][0]["id"].as_str().map(str::to_owned))
    })
    .await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let poster = no_redirects
        .get(format!("{}/media/{media_id}/poster", a.url))
        .send()
        .await
        .expect("poster");
    assert_eq!(
        poster.status(),
        404,
        "redirected to {:?}",
        poster.headers().get("location")
    );
    let copies = kaleido::db::mirrors::copies(a.db(), &media_id).await.expect("db");
    assert!(
        copies.is_empty(),
        "an untrusted host's copy was taken: {copies:?}"
    );
    a.stop().await;
    b.stop().await;
}
