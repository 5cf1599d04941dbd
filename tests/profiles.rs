//! Profiles people have: `update_credentials` as JSON, form and multipart, pictures through the
//! photo pipeline, fields with rel=me verification, the Person other servers read and the
//! `Update` that tells them, suspension answering 410 here and gone there, self-deletion,
//! password changes, and quotas.

mod common;

use std::process::Command;

use common::{Backend, Instance};
use serde_json::{Value, json};

async fn call(
    app: &Instance,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    app.api(token, method, path, body).await
}

async fn get(app: &Instance, token: &str, path: &str) -> (u16, Value) {
    call(app, token, reqwest::Method::GET, path, None).await
}

async fn patch_json(app: &Instance, token: &str, body: Value) -> (u16, Value) {
    call(
        app,
        token,
        reqwest::Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Some(body),
    )
    .await
}

async fn patch_multipart(app: &Instance, token: &str, form: reqwest::multipart::Form) -> (u16, Value) {
    let response = app
        .http
        .patch(format!("{}/api/v1/accounts/update_credentials", app.url))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

/// A JPEG carrying a GPS position and a camera serial number.
fn tagged_jpeg(width: u32, height: u32) -> Vec<u8> {
    let file = tempfile::Builder::new().suffix(".jpg").tempfile().expect("temp");
    std::fs::write(file.path(), common::jpeg(width, height)).expect("write");
    let status = Command::new("exiftool")
        .args([
            "-q",
            "-overwrite_original",
            "-GPSLatitude=48.8584",
            "-GPSLatitudeRef=N",
            "-SerialNumber=SN-SECRET",
        ])
        .arg(file.path())
        .status()
        .expect("exiftool");
    assert!(status.success());
    std::fs::read(file.path()).expect("read")
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let image = image::load_from_memory(bytes).expect("a readable picture");
    (image.width(), image.height())
}

both_backends!(every_credential_mastodon_takes, |backend| async move {
    let app = common::start(backend).await;
    let token = app.user("fox").await;
    let (status, me) = patch_json(
        &app,
        &token,
        json!({
            "display_name": "  Red Fox  ",
            "note": "I shoot <b>foxes</b> at dawn.\n#Wildlife with @fox and https://foxes.example/gallery",
            "locked": true,
            "bot": false,
            "discoverable": false,
            "indexable": true,
            "hide_collections": true,
            "fields_attributes": [
                {"name": "Site", "value": "https://foxes.example"},
                {"name": "Camera", "value": "an old <Nikon>"},
            ],
            "source": {"privacy": "unlisted", "sensitive": true, "language": "fr"},
        }),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["display_name"], "Red Fox");
    assert_eq!(me["locked"], true);
    assert_eq!(me["discoverable"], false);
    assert_eq!(me["indexable"], true);
    assert_eq!(me["hide_collections"], true);
    let note = me["note"].as_str().expect("note");
    assert!(
        note.contains("&lt;b&gt;foxes&lt;/b&gt;"),
        "markup is text: {note}"
    );
    assert!(note.contains("class=\"mention hashtag\""), "{note}");
    assert!(note.contains("class=\"u-url mention\""), "{note}");
    assert!(note.contains("href=\"https://foxes.example/gallery\""), "{note}");
    assert_eq!(me["fields"][0]["name"], "Site");
    assert!(
        me["fields"][0]["value"]
            .as_str()
            .is_some_and(|v| v.contains("rel=\"me nofollow")),
        "{me}"
    );
    assert_eq!(me["fields"][1]["value"], "an old &lt;Nikon&gt;");
    assert_eq!(me["fields"][0]["verified_at"], Value::Null);
    assert_eq!(me["source"]["privacy"], "unlisted");
    assert_eq!(me["source"]["sensitive"], true);
    assert_eq!(me["source"]["language"], "fr");
    assert_eq!(
        me["source"]["note"],
        "I shoot <b>foxes</b> at dawn.\n#Wildlife with @fox and https://foxes.example/gallery"
    );
    assert!(
        me["avatar"]
            .as_str()
            .is_some_and(|a| a.ends_with("/static/avatar.png")),
        "{me}"
    );
    assert_eq!(me["avatar_static"], me["avatar"]);
    assert!(
        me["header"]
            .as_str()
            .is_some_and(|a| a.ends_with("/static/header.png"))
    );

    // A form, as Rails reads it: nested keys and 1/0 booleans.
    let form = app
        .http
        .patch(format!("{}/api/v1/accounts/update_credentials", app.url))
        .bearer_auth(&token)
        .form(&[
            ("locked", "0"),
            ("fields_attributes[0][name]", "Portfolio"),
            ("fields_attributes[0][value]", "https://portfolio.example"),
            ("source[privacy]", "private"),
        ])
        .send()
        .await
        .expect("form");
    assert_eq!(form.status(), 200);
    let me: Value = form.json().await.expect("json");
    assert_eq!(me["locked"], false);
    assert_eq!(
        me["fields"].as_array().map(Vec::len),
        Some(1),
        "fields are replaced as a whole"
    );
    assert_eq!(me["fields"][0]["name"], "Portfolio");
    assert_eq!(me["source"]["privacy"], "private");
    assert_eq!(me["display_name"], "Red Fox", "what was not sent stays");

    // Refused clearly, nothing changed.
    let five: Vec<Value> = (0..5)
        .map(|i| json!({"name": format!("f{i}"), "value": "x"}))
        .collect();
    for bad in [
        json!({"fields_attributes": five}),
        json!({"display_name": "x".repeat(31)}),
        json!({"note": "y".repeat(501)}),
        json!({"locked": "perhaps"}),
        json!({"source": {"privacy": "everyone"}}),
        json!({"attribution_domains": ["foxes.example"]}),
        json!({"source": {"quote_policy": "nobody"}}),
    ] {
        let (status, body) = patch_json(&app, &token, bad.clone()).await;
        assert_eq!(status, 422, "{bad} -> {body}");
    }
    let (_, after) = get(&app, &token, "/api/v1/accounts/verify_credentials").await;
    assert_eq!(after["fields"][0]["name"], "Portfolio");
    assert_eq!(after["display_name"], "Red Fox");

    // Multipart: pictures through the photo pipeline, cropped, scaled, without metadata.
    let form = reqwest::multipart::Form::new()
        .text("display_name", "Fox with a face")
        .text("bot", "1")
        .part(
            "avatar",
            reqwest::multipart::Part::bytes(tagged_jpeg(1200, 800)).file_name("me.jpg"),
        )
        .part(
            "header",
            reqwest::multipart::Part::bytes(tagged_jpeg(3000, 2000)).file_name("dawn.jpg"),
        );
    let (status, me) = patch_multipart(&app, &token, form).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["display_name"], "Fox with a face");
    assert_eq!(me["bot"], true);
    let avatar_url = me["avatar"].as_str().expect("avatar").to_owned();
    assert!(!avatar_url.contains("/static/"), "{me}");
    let avatar = app.http.get(&avatar_url).send().await.expect("avatar");
    assert_eq!(avatar.status(), 200, "{avatar_url}");
    let avatar = avatar.bytes().await.expect("bytes");
    assert_eq!(dimensions(&avatar), (400, 400));
    let header = app
        .http
        .get(me["header"].as_str().expect("header"))
        .send()
        .await
        .expect("header")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(dimensions(&header), (1500, 500));
    for picture in [&avatar, &header] {
        let text = String::from_utf8_lossy(picture);
        assert!(
            !text.contains("SN-SECRET") && !text.contains("Exif"),
            "metadata stripped"
        );
    }

    // A file that is no picture, a field that takes no file, a body too big: refused, and
    // the avatar is the one before.
    let junk = reqwest::multipart::Form::new()
        .text("display_name", "Broken")
        .part(
            "avatar",
            reqwest::multipart::Part::bytes(b"not an image at all".to_vec()).file_name("x.jpg"),
        );
    let (status, body) = patch_multipart(&app, &token, junk).await;
    assert!(status == 422 || status == 415, "{status} {body}");
    let odd = reqwest::multipart::Form::new().part(
        "wallpaper",
        reqwest::multipart::Part::bytes(common::tiny_jpeg()).file_name("w.jpg"),
    );
    assert_eq!(patch_multipart(&app, &token, odd).await.0, 422);
    let huge = reqwest::multipart::Form::new().part(
        "avatar",
        reqwest::multipart::Part::bytes(vec![0u8; 9 * 1024 * 1024]).file_name("big.jpg"),
    );
    assert_eq!(patch_multipart(&app, &token, huge).await.0, 413);
    let (_, after) = get(&app, &token, "/api/v1/accounts/verify_credentials").await;
    assert_eq!(after["avatar"], avatar_url.as_str());
    assert_eq!(after["display_name"], "Fox with a face");

    // An animated GIF keeps moving, with a still of its first frame as avatar_static.
    let mut gif = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
        for shade in [10u8, 130, 250] {
            let frame = image::RgbaImage::from_pixel(500, 500, image::Rgba([shade, 90, 30, 255]));
            encoder.encode_frame(image::Frame::new(frame)).expect("frame");
        }
    }
    let animated = reqwest::multipart::Form::new().part(
        "avatar",
        reqwest::multipart::Part::bytes(gif).file_name("wave.gif"),
    );
    let (status, me) = patch_multipart(&app, &token, animated).await;
    assert_eq!(status, 200, "{me}");
    let moving = me["avatar"].as_str().expect("avatar");
    let still = me["avatar_static"].as_str().expect("avatar_static");
    assert!(moving.ends_with(".gif") && !still.ends_with(".gif"), "{me}");
    let bytes = app
        .http
        .get(moving)
        .send()
        .await
        .expect("gif")
        .bytes()
        .await
        .expect("bytes");
    let frames = image::AnimationDecoder::into_frames(
        image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes.to_vec())).expect("a gif"),
    )
    .count();
    assert_eq!(frames, 3);
    let bytes = app
        .http
        .get(still)
        .send()
        .await
        .expect("still")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(dimensions(&bytes), (400, 400));

    // Removing the avatar brings the stand-in back.
    let (status, me) = call(
        &app,
        &token,
        reqwest::Method::DELETE,
        "/api/v1/profile/avatar",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        me["avatar"]
            .as_str()
            .is_some_and(|a| a.ends_with("/static/avatar.png"))
    );
    // Other endpoints take multipart too, as Rails does for Mastodon, but no files...
    let posted = app
        .http
        .post(format!("{}/api/v1/statuses", app.url))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("status", "hello"))
        .send()
        .await
        .expect("request");
    assert_eq!(posted.status(), 200);
    let posted: Value = posted.json().await.expect("json");
    assert_eq!(posted["content"], "<p>hello</p>");
    let with_file = app
        .http
        .post(format!("{}/api/v1/statuses", app.url))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("status", "and a file").part(
            "media",
            reqwest::multipart::Part::bytes(common::tiny_jpeg()).file_name("a.jpg"),
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(with_file.status(), 422);
    // ...and a body of another type is refused rather than guessed at.
    let wrong = app
        .http
        .post(format!("{}/api/v1/statuses", app.url))
        .bearer_auth(&token)
        .header("Content-Type", "text/plain")
        .body("status=hello")
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 415);
});

/// A website of the profile's owner: answers every request with `page`. Other people's sites are
/// not ours to run, so this stands in for one, over real HTTP.
async fn website(page: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/about", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let page = page.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = socket.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_change_reaches_followers_and_reads_as_mastodons_person() {
    let home = common::start_federated(Backend::SqliteLocal, |_| {}).await;
    let there = common::start_federated(Backend::SqliteLocal, |_| {}).await;
    let alice = home.user("alice").await;
    let bob = there.user("bob").await;
    let home_host = home.url.trim_start_matches("http://").to_owned();

    // bob follows alice from the other server.
    let (_, found) = get(
        &there,
        &bob,
        &format!("/api/v2/search?q=%40alice%40{home_host}&resolve=true"),
    )
    .await;
    let remote_id = found["accounts"][0]["id"].as_str().expect("found").to_owned();
    let (status, _) = call(
        &there,
        &bob,
        reqwest::Method::POST,
        &format!("/api/v1/accounts/{remote_id}/follow"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    common::eventually(20, "the follow to be accepted", || async {
        let (_, r) = get(
            &there,
            &bob,
            &format!("/api/v1/accounts/relationships?id[]={remote_id}"),
        )
        .await;
        (r[0]["following"] == true).then_some(())
    })
    .await;

    let verified_site = website(format!(
        "<html><a href=\"{}/@alice\" rel=\"me\">my fediverse</a></html>",
        home.url
    ))
    .await;
    let unrelated_site =
        website("<html><a href=\"https://elsewhere.example/@alice\" rel=\"me\">x</a></html>".into()).await;
    let form = reqwest::multipart::Form::new()
        .text("display_name", "Alice in the snow")
        .text("note", "Winter light, mostly.")
        .text("fields_attributes[0][name]", "Blog")
        .text("fields_attributes[0][value]", verified_site.clone())
        .text("fields_attributes[1][name]", "Shop")
        .text("fields_attributes[1][value]", unrelated_site.clone())
        .part(
            "avatar",
            reqwest::multipart::Part::bytes(common::jpeg(800, 800)).file_name("a.jpg"),
        );
    let (status, me) = patch_multipart(&home, &alice, form).await;
    assert_eq!(status, 200, "{me}");

    // The Person as other servers fetch it.
    let person: Value = home
        .http
        .get(format!("{}/users/alice", home.url))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .expect("person")
        .json()
        .await
        .expect("json");
    assert_eq!(person["name"], "Alice in the snow");
    assert_eq!(person["summary"], "<p>Winter light, mostly.</p>");
    assert_eq!(person["icon"]["type"], "Image");
    assert_eq!(person["icon"]["mediaType"], "image/jpeg");
    assert_eq!(person["attachment"][0]["type"], "PropertyValue");
    assert_eq!(person["attachment"][0]["name"], "Blog");
    for key in [
        "manuallyApprovesFollowers",
        "discoverable",
        "indexable",
        "published",
        "url",
        "endpoints",
    ] {
        assert!(person.get(key).is_some(), "{key} in {person}");
    }
    // Every term Mastodon's own Person uses for these is what ours uses, with the same types.
    let mastodon: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/activitypub/mastodon-person.json"
        ))
        .or_else(|_| {
            std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/fixtures/activitypub/mastodon-person.json"
            ))
        })
        .expect("the Mastodon person"),
    )
    .expect("json");
    for key in [
        "name",
        "summary",
        "attachment",
        "manuallyApprovesFollowers",
        "discoverable",
        "published",
        "icon",
    ] {
        let (ours, theirs) = (&person[key], &mastodon[key]);
        let kind = |v: &Value| std::mem::discriminant(v);
        assert_eq!(
            kind(ours),
            kind(theirs),
            "{key}: ours {ours}, Mastodon's {theirs}"
        );
    }
    let parsed =
        kaleido::federation::parse::actor(&person, &home.url).expect("our Person parses as any actor");
    assert_eq!(parsed.fields[0].name, "Blog");
    assert!(parsed.actor.avatar_url.is_some());

    // The Update reached bob's server: the profile there changed, avatar and fields included.
    let seen = common::eventually(20, "the Update{Person} to arrive", || async {
        let (_, a) = get(&there, &bob, &format!("/api/v1/accounts/{remote_id}")).await;
        (a["display_name"] == "Alice in the snow").then_some(a)
    })
    .await;
    assert_eq!(seen["note"], "<p>Winter light, mostly.</p>");
    assert_eq!(seen["fields"][0]["name"], "Blog");
    assert_eq!(seen["avatar"], person["icon"]["url"]);

    // rel=me: the page that links back is verified, the other is not, and the check mark is
    // federated too.
    let me = common::eventually(20, "the rel=me check", || async {
        let (_, me) = get(&home, &alice, "/api/v1/accounts/verify_credentials").await;
        me["fields"][0]["verified_at"].is_string().then_some(me)
    })
    .await;
    assert_eq!(me["fields"][1]["verified_at"], Value::Null);
    let page = home
        .http
        .get(format!("{}/@alice", home.url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("Alice in the snow") && page.contains("verified-mark"),
        "{page}"
    );
    assert!(
        page.contains(&format!("href=\"{verified_site}\"")),
        "the field is a link on the profile page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_account_answers_410_here_and_is_gone_there() {
    let home = common::start_federated(Backend::SqliteLocal, |_| {}).await;
    let there = common::start_federated(Backend::SqliteLocal, |_| {}).await;
    kaleido::accounts::create(home.db(), "mod", "correct horse battery", true)
        .await
        .expect("admin");
    let admin = home.login("mod", "correct horse battery").await;
    let troll = home.user("troll").await;
    let watcher = there.user("watcher").await;
    let home_host = home.url.trim_start_matches("http://").to_owned();
    let (_, post) = call(
        &home,
        &troll,
        reqwest::Method::POST,
        "/api/v1/statuses",
        Some(json!({"status": "buy my stuff"})),
    )
    .await;
    let post_id = post["id"].as_str().expect("post").to_owned();

    let (_, found) = get(
        &there,
        &watcher,
        &format!("/api/v2/search?q=%40troll%40{home_host}&resolve=true"),
    )
    .await;
    let remote_id = found["accounts"][0]["id"].as_str().expect("found").to_owned();
    call(
        &there,
        &watcher,
        reqwest::Method::POST,
        &format!("/api/v1/accounts/{remote_id}/follow"),
        None,
    )
    .await;
    common::eventually(20, "the follow to be accepted", || async {
        let (_, r) = get(
            &there,
            &watcher,
            &format!("/api/v1/accounts/relationships?id[]={remote_id}"),
        )
        .await;
        (r[0]["following"] == true).then_some(())
    })
    .await;

    let (_, me) = get(&home, &troll, "/api/v1/accounts/verify_credentials").await;
    let troll_id = me["id"].as_str().expect("id").to_owned();
    let (status, body) = call(
        &home,
        &admin,
        reqwest::Method::POST,
        &format!("/api/v1/admin/accounts/{troll_id}/action"),
        Some(json!({"type": "suspend", "text": "spam"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Here: the actor, the profile, the post and the account answer 410; the token is dead.
    let actor = home
        .http
        .get(format!("{}/users/troll", home.url))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .expect("actor");
    assert_eq!(actor.status(), 410);
    assert_eq!(
        home.http
            .get(format!("{}/@troll", home.url))
            .send()
            .await
            .expect("page")
            .status(),
        410
    );
    assert_eq!(
        get(
            &home,
            &watcher_free(&home).await,
            &format!("/api/v1/accounts/{troll_id}")
        )
        .await
        .0,
        410
    );
    assert_eq!(
        home.http
            .get(format!("{}/api/v1/statuses/{post_id}", home.url))
            .send()
            .await
            .expect("post")
            .status(),
        410
    );
    assert_eq!(
        get(&home, &troll, "/api/v1/accounts/verify_credentials").await.0,
        401,
        "its tokens are revoked"
    );
    let login = home
        .http
        .post(format!("{}/oauth/token", home.url))
        .form(&[
            ("grant_type", "password"),
            ("username", "troll"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 403);
    let (_, admin_view) = get(&home, &admin, &format!("/api/v1/admin/accounts/{troll_id}")).await;
    assert_eq!(admin_view["suspended"], true);

    // There: the account and its post are gone.
    common::eventually(20, "the account to be gone there", || async {
        let (status, _) = get(&there, &watcher, &format!("/api/v1/accounts/{remote_id}")).await;
        (status == 404).then_some(())
    })
    .await;

    // Unsuspended: back here, and the audit log has both.
    let (status, _) = call(
        &home,
        &admin,
        reqwest::Method::POST,
        &format!("/api/v1/admin/accounts/{troll_id}/unsuspend"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let actor = home
        .http
        .get(format!("{}/users/troll", home.url))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .expect("actor");
    assert_eq!(actor.status(), 200);
    let entries = kaleido::db::audit::list(home.db(), None, 10)
        .await
        .expect("audit");
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["unsuspend", "suspend"]);
    assert_eq!(entries[1].note, "spam");
}

/// Any signed-in account, for reading the API as a stranger does.
async fn watcher_free(app: &Instance) -> String {
    app.user(&format!("reader{}", rand_suffix())).await
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() % 100_000)
}

/// Signs in through the login form; returns the cookie client and the page's CSRF token.
async fn browser(
    app: &Instance,
    user: &str,
    password: &str,
    page: &str,
) -> (reqwest::Client, String, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let landed = common::log_in_form(app, &client, user, password, page).await;
    let html = landed.text().await.expect("page");
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a form with a csrf token") + marker.len();
    let csrf = html[start..].split('"').next().expect("token").to_owned();
    (client, csrf, html)
}

both_backends!(
    leaving_deletes_everything_and_keeps_the_name,
    |backend| async move {
        let app = common::start_with(backend, |c| {
            c.registrations.mode = kaleido::config::RegistrationMode::Open
        })
        .await;
        let token = app.user("leaver").await;
        let media: Value = app
            .upload(&token, common::jpeg(320, 240), "p.jpg", "image/jpeg")
            .await
            .json()
            .await
            .expect("json");
        let media_id = media["id"].as_str().expect("id").to_owned();
        app.wait_processed(&token, &media_id).await;
        let (_, post) = call(
            &app,
            &token,
            reqwest::Method::POST,
            "/api/v1/statuses",
            Some(json!({"status": "goodbye", "media_ids": [media_id]})),
        )
        .await;
        let photo_url = post["media_attachments"][0]["url"]
            .as_str()
            .expect("url")
            .to_owned();
        let post_id = post["id"].as_str().expect("id").to_owned();

        let (client, csrf, page) =
            browser(&app, "leaver", "correct horse battery", "/settings/account").await;
        assert!(page.contains("Delete my account"));
        // The wrong password deletes nothing.
        let wrong = client
            .post(format!("{}/settings/delete", app.url))
            .form(&[("csrf", csrf.as_str()), ("password", "not my password")])
            .send()
            .await
            .expect("delete");
        assert_eq!(wrong.status(), 403);
        assert_eq!(
            get(&app, &token, "/api/v1/accounts/verify_credentials").await.0,
            200
        );
        let done = client
            .post(format!("{}/settings/delete", app.url))
            .form(&[("csrf", csrf.as_str()), ("password", "correct horse battery")])
            .send()
            .await
            .expect("delete");
        assert_eq!(done.status(), 200);
        assert!(
            done.text()
                .await
                .expect("text")
                .contains("Your account is deleted")
        );

        assert_eq!(
            get(&app, &token, "/api/v1/accounts/verify_credentials").await.0,
            401,
            "tokens end"
        );
        let actor = app
            .http
            .get(format!("{}/users/leaver", app.url))
            .header("Accept", "application/activity+json")
            .send()
            .await
            .expect("actor");
        assert_eq!(actor.status(), 410);
        let note = app
            .http
            .get(format!("{}/users/leaver/statuses/{post_id}", app.url))
            .header("Accept", "application/activity+json")
            .send()
            .await
            .expect("note");
        assert_eq!(note.status(), 410, "the post leaves a tombstone");
        common::eventually(20, "the photo to be purged", || async {
            let status = app.http.get(&photo_url).send().await.ok()?.status();
            (status == 404).then_some(())
        })
        .await;
        let again = app
            .http
            .post(format!("{}/api/v1/accounts", app.url))
            .json(&json!({"username": "leaver", "password": "correct horse battery", "agreement": true}))
            .send()
            .await
            .expect("sign-up");
        assert_eq!(again.status(), 422, "the name is never given again");
        let login = app
            .http
            .post(format!("{}/oauth/token", app.url))
            .form(&[
                ("grant_type", "password"),
                ("username", "leaver"),
                ("password", "correct horse battery"),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(login.status(), 401);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_can_end_every_other_session() {
    let app = common::start(Backend::SqliteLocal).await;
    let app_token = app.user("kim").await;
    let (other, _, _) = browser(&app, "kim", "correct horse battery", "/settings/account").await;
    let (client, csrf, page) = browser(&app, "kim", "correct horse battery", "/settings/account").await;
    assert!(
        page.contains("this one"),
        "the sessions list marks the current one"
    );
    let wrong = client
        .post(format!("{}/settings/password", app.url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", "guess guess"),
            ("new_password", "a whole new phrase"),
            ("end_others", "1"),
        ])
        .send()
        .await
        .expect("change");
    assert_eq!(wrong.status(), 403);
    let changed = client
        .post(format!("{}/settings/password", app.url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", "correct horse battery"),
            ("new_password", "a whole new phrase"),
            ("end_others", "0"),
            ("end_others", "1"),
        ])
        .send()
        .await
        .expect("change");
    assert_eq!(changed.status(), 200);
    assert!(
        changed
            .text()
            .await
            .expect("page")
            .contains("Your password was changed")
    );
    assert_eq!(
        get(&app, &app_token, "/api/v1/accounts/verify_credentials")
            .await
            .0,
        401,
        "the app token ended"
    );
    let elsewhere = other
        .get(format!("{}/settings/account", app.url))
        .send()
        .await
        .expect("page");
    assert!(
        elsewhere.url().path().starts_with("/login"),
        "the other browser is logged out"
    );
    let still = client
        .get(format!("{}/settings/account", app.url))
        .send()
        .await
        .expect("page");
    assert_eq!(still.url().path(), "/settings/account", "this browser stays in");
    app.login("kim", "a whole new phrase").await;
}

both_backends!(quotas_refuse_uploads_clearly, |backend| async move {
    let app = common::start_with(backend, |c| {
        c.limits.storage_quota_bytes = 0;
        c.limits.daily_upload_quota_bytes = 0;
    })
    .await;
    kaleido::accounts::create(app.db(), "boss", "correct horse battery", true)
        .await
        .expect("admin");
    let admin = app.login("boss", "correct horse battery").await;
    let token = app.user("snapper").await;
    let (_, me) = get(&app, &token, "/api/v1/accounts/verify_credentials").await;
    let id = me["id"].as_str().expect("id").to_owned();
    let photo = common::jpeg(640, 480);
    assert!(
        app.upload(&token, photo.clone(), "a.jpg", "image/jpeg")
            .await
            .status()
            .is_success()
    );

    // One more photo's worth: the next upload goes past it.
    let quota = (photo.len() as i64) * 3 / 2;
    let (status, body) = call(
        &app,
        &admin,
        reqwest::Method::PUT,
        &format!("/api/v1/admin/accounts/{id}/quota"),
        Some(json!({"storage_quota_bytes": quota})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kaleido"]["storage_quota_bytes"], quota);
    let refused = app.upload(&token, photo.clone(), "b.jpg", "image/jpeg").await;
    assert_eq!(refused.status(), 413);
    let body: Value = refused.json().await.expect("json");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|e| e.contains("storage quota")),
        "{body}"
    );

    // tus says no at creation, before any byte is sent.
    let tus = app
        .http
        .post(format!("{}/api/v1/tus", app.url))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "10000000")
        .send()
        .await
        .expect("tus");
    assert_eq!(tus.status(), 413);

    // The daily quota, the same way; and back to the defaults (none here) lets it through.
    call(
        &app,
        &admin,
        reqwest::Method::PUT,
        &format!("/api/v1/admin/accounts/{id}/quota"),
        Some(json!({"daily_upload_quota_bytes": 10})),
    )
    .await;
    let refused: Value = app
        .upload(&token, photo.clone(), "c.jpg", "image/jpeg")
        .await
        .json()
        .await
        .expect("json");
    assert!(
        refused["error_description"]
            .as_str()
            .is_some_and(|e| e.contains("daily upload quota")),
        "{refused}"
    );
    call(
        &app,
        &admin,
        reqwest::Method::PUT,
        &format!("/api/v1/admin/accounts/{id}/quota"),
        Some(json!({})),
    )
    .await;
    assert!(
        app.upload(&token, photo, "d.jpg", "image/jpeg")
            .await
            .status()
            .is_success()
    );

    // Settings show what is used.
    let (_, _, page) = browser(&app, "snapper", "correct horse battery", "/settings/account").await;
    assert!(page.contains("stored") && page.contains("KiB"), "{page}");
});
