//! The mirroring admin page, as admins see it in a browser: B holds a verified copy of A's video
//! and says so, checks it again at the press of a button; A lists B among the servers that
//! mirror its videos and follows B through the page's form. Everyone else is kept out.

mod common;

use common::{Backend, Instance, start_federated as instance_with};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// A client that keeps cookies and shows redirects instead of following them, like the
/// address bar after each step.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, String) {
    let response = client.get(url).send().await.expect("get");
    let status = response.status().as_u16();
    (status, response.text().await.expect("text"))
}

/// The text between `start` (excluded) and the next `end`, after the first `anchor`.
fn after<'a>(html: &'a str, anchor: &str, start: &str, end: &str) -> Option<&'a str> {
    let from = html.find(anchor)? + anchor.len();
    let rest = &html[from..];
    let begin = rest.find(start)? + start.len();
    let len = rest[begin..].find(end)?;
    Some(&rest[begin..begin + len])
}

/// The value of a field of the form that posts to `action`.
fn form_field(html: &str, action: &str, name: &str) -> String {
    after(
        html,
        &format!("action=\"{action}\""),
        &format!("name=\"{name}\" value=\""),
        "\"",
    )
    .unwrap_or_else(|| panic!("no {name} field in the form for {action}:\n{html}"))
    .to_owned()
}

/// Logs in through the login form, as a person would; the session cookie stays in `client`.
async fn log_in(app: &Instance, client: &reqwest::Client, user: &str) {
    let response = common::log_in_form(app, client, user, PASSWORD, "/admin/mirrors").await;
    assert_eq!(response.status(), 303, "login of {user}");
    assert_eq!(response.headers()["location"], "/admin/mirrors");
}

/// "1.2 MB" → 1 200 000.
fn bytes_of(shown: &str) -> f64 {
    let (number, unit) = shown.split_once(' ').unwrap_or_else(|| panic!("size {shown:?}"));
    let scale = match unit {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        other => panic!("unit {other:?} in {shown:?}"),
    };
    number.parse::<f64>().unwrap_or_else(|_| panic!("size {shown:?}")) * scale
}

/// An RFC 3339 UTC time as something that orders correctly: its fraction of a second varies
/// in length, so plain string order would put 12:00:05Z after 12:00:05.5Z.
fn instant(rfc3339: &str) -> (String, String) {
    let time = rfc3339
        .strip_suffix('Z')
        .unwrap_or_else(|| panic!("not UTC: {rfc3339:?}"));
    let (seconds, fraction) = time.split_once('.').unwrap_or((time, ""));
    (seconds.to_owned(), format!("{fraction:0<9}"))
}

fn checked_at(html: &str) -> String {
    after(html, "<td class=\"checked\">", "<time datetime=\"", "\"")
        .unwrap_or_else(|| panic!("no check time:\n{html}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_and_check_the_copies_and_who_mirrors_their_videos() {
    let a = instance_with(Backend::SqliteLocal, |_| {}).await;
    let a_url = a.url.clone();
    let b = instance_with(Backend::PostgresS3, |c| {
        c.mirroring.follow = vec![a_url];
        c.mirroring.quota_bytes = 2_000_000_000;
    })
    .await;
    for (name, admin) in [("admin", true), ("bob", false)] {
        kaleido::accounts::create(b.db(), name, PASSWORD, admin)
            .await
            .expect("account on B");
    }
    kaleido::accounts::create(a.db(), "admin", PASSWORD, true)
        .await
        .expect("admin on A");
    let alice = a.user("alice").await;

    // Anonymous visitors are sent to log in, and back here after.
    let anonymous = browser();
    let gated = anonymous
        .get(format!("{}/admin/mirrors", b.url))
        .send()
        .await
        .expect("get");
    assert_eq!(gated.status(), 303);
    assert_eq!(gated.headers()["location"], "/login?next=/admin/mirrors");

    // A signed-in user who is no admin gets the error page, and cannot use the forms.
    let bob = browser();
    log_in(&b, &bob, "bob").await;
    let refused = bob
        .get(format!("{}/admin/mirrors", b.url))
        .send()
        .await
        .expect("get");
    assert_eq!(refused.status(), 403);
    assert!(
        refused.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html"))
    );
    let html = refused.text().await.expect("text");
    assert!(
        html.contains("<h1>Forbidden</h1>") && html.contains("for the server&#39;s admins"),
        "{html}"
    );
    let (_, home) = get(&bob, &b.url).await;
    let bob_csrf = form_field(&home, "/logout", "csrf");
    let posted = bob
        .post(format!("{}/admin/mirrors/follow", b.url))
        .form(&[("csrf", bob_csrf.as_str()), ("url", a.url.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(posted.status(), 403);

    // B's instance actor follows A's (from its configuration), and A's follows B's, so that A
    // trusts B's copies (mirroring.accept_from = "followings"); A posts a video.
    common::eventually(20, "B to follow A's instance actor", || async {
        let inboxes = kaleido::db::mirrors::follower_inboxes(a.db()).await.expect("db");
        (!inboxes.is_empty()).then_some(())
    })
    .await;
    kaleido::mirror::peers::follow(&a.running.state, &b.url)
        .await
        .expect("A follows B");
    common::eventually(20, "B to accept A's instance follow", || async {
        let followed = kaleido::db::mirrors::followed_actors(a.db()).await.expect("db");
        (!followed.is_empty()).then_some(())
    })
    .await;
    let media: Value = a
        .upload(&alice, common::clip(3, 640, 360), "clip.mp4", "video/mp4")
        .await
        .json()
        .await
        .expect("json");
    let status: Value = a
        .http
        .post(format!("{}/api/v1/statuses", a.url))
        .bearer_auth(&alice)
        .json(&json!({ "status": "Pier at dawn", "media_ids": [media["id"]] }))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    let video_uri = status["uri"].as_str().expect("uri").to_owned();

    // B's admin watches the page until the copy is verified.
    let admin = browser();
    log_in(&b, &admin, "admin").await;
    let page = common::eventually(60, "B's page to show a verified copy", || async {
        let (code, html) = get(&admin, &format!("{}/admin/mirrors", b.url)).await;
        assert_eq!(code, 200, "{html}");
        html.contains("<td class=\"state\">verified</td>").then_some(html)
    })
    .await;
    assert!(
        page.contains(&format!("href=\"{video_uri}\"")),
        "origin link: {page}"
    );
    let held = kaleido::db::mirrors::mirrors(b.db()).await.expect("db");
    let copy = held.first().expect("a copy");
    assert!(
        page.contains(&format!("href=\"/statuses/{}\"", copy.status_id)),
        "{page}"
    );
    let shown = after(&page, "<td class=\"size\">", "", "<").expect("size cell");
    let error = (bytes_of(shown) - copy.size_bytes as f64).abs() / copy.size_bytes as f64;
    assert!(
        copy.size_bytes > 0 && error < 0.05,
        "{shown:?} for {} bytes",
        copy.size_bytes
    );
    let totals = after(&page, "<p class=\"totals\">", "", "</p>").expect("totals");
    assert!(
        totals.contains("1 verified copy") && totals.contains(shown) && totals.contains("2.0 GB"),
        "{totals}"
    );
    // Without configured strategies, everything goes to "all", within the one quota.
    let share = after(&page, "<li class=\"strategy\">", "", "</li>").expect("strategy share");
    assert!(
        share.contains("<b>all</b>: 1 copy") && share.contains(shown) && share.contains("2.0 GB"),
        "{share}"
    );
    assert!(
        page.contains("No other server has announced a copy of our videos."),
        "{page}"
    );

    // Check now: the form's token, a redirect back, and the page shows the new check.
    let before = checked_at(&page);
    let action = format!(
        "/admin/mirrors/{}/verify",
        after(
            &page,
            "<form method=\"post\" action=\"/admin/mirrors/",
            "",
            "/verify"
        )
        .expect("check form")
    );
    assert_eq!(action, format!("/admin/mirrors/{}/verify", copy.id));
    let forged = admin
        .post(format!("{}{action}", b.url))
        .form(&[("csrf", "made-up")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);
    assert!(
        forged
            .text()
            .await
            .expect("text")
            .contains("The form has expired")
    );
    let csrf = form_field(&page, &action, "csrf");
    let pressed = admin
        .post(format!("{}{action}", b.url))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(pressed.status(), 303);
    assert_eq!(pressed.headers()["location"], "/admin/mirrors");
    let (_, page) = get(&admin, &format!("{}/admin/mirrors", b.url)).await;
    let now = checked_at(&page);
    assert!(
        instant(&now) > instant(&before),
        "the check time did not move: {before} then {now}"
    );
    assert!(page.contains("<td class=\"state\">verified</td>"), "{page}");

    // A's admin sees B among the servers that hold copies of A's videos.
    let a_admin = browser();
    log_in(&a, &a_admin, "admin").await;
    let page = common::eventually(20, "A's page to list B's copy", || async {
        let (_, html) = get(&a_admin, &format!("{}/admin/mirrors", a.url)).await;
        html.contains(&format!("class=\"mirror-server\" href=\"{}\"", b.url))
            .then_some(html)
    })
    .await;
    assert!(page.contains(media["id"].as_str().expect("id")), "{page}");
    assert!(page.contains("0 verified copies"), "{page}");

    // A follows B to mirror it, through the form; a wrong address shows on the error page.
    let csrf = form_field(&page, "/admin/mirrors/follow", "csrf");
    let wrong = a_admin
        .post(format!("{}/admin/mirrors/follow", a.url))
        .form(&[("csrf", csrf.as_str()), ("url", "nonsense")])
        .send()
        .await
        .expect("post");
    assert_eq!(wrong.status(), 422);
    let html = wrong.text().await.expect("text");
    assert!(
        html.contains("is not a URL") && html.contains("class=\"panel\""),
        "{html}"
    );
    // Its own address: refused, not a silent "following".
    let itself = a_admin
        .post(format!("{}/admin/mirrors/follow", a.url))
        .form(&[("csrf", csrf.as_str()), ("url", a.url.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(itself.status(), 422);
    let html = itself.text().await.expect("text");
    assert!(html.contains("this instance"), "{html}");
    let followed = a_admin
        .post(format!("{}/admin/mirrors/follow", a.url))
        .form(&[("csrf", csrf.as_str()), ("url", b.url.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(followed.status(), 303);
    assert_eq!(followed.headers()["location"], "/admin/mirrors");
    common::eventually(20, "B to accept A's follow", || async {
        let inboxes = kaleido::db::mirrors::follower_inboxes(b.db()).await.expect("db");
        inboxes.iter().any(|i| i.starts_with(&a.url)).then_some(())
    })
    .await;

    a.stop().await;
    b.stop().await;
}

#[test]
fn sizes_read_as_people_write_them() {
    use kaleido::http::admin_pages::human_size;
    assert_eq!(human_size(-1), "0 B");
    assert_eq!(human_size(999), "999 B");
    assert_eq!(human_size(1_000), "1.0 kB");
    assert_eq!(human_size(175_400), "175 kB");
    assert_eq!(human_size(28_300_000), "28 MB");
    assert_eq!(human_size(283_000_000), "283 MB");
    assert_eq!(human_size(999_600_000), "1.0 GB");
    assert_eq!(human_size(1_240_000_000), "1.2 GB");
    assert_eq!(human_size(i64::MAX), "9.2 EB");
}
