//! The endpoints apps open at start or on a tab: relation lists (with the owner's choice to hide
//! them), favourites, account search, preferences, a retried post under one Idempotency-Key,
//! and honest empty answers for what Kaleido has none of yet, never a 404.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|a| a["username"].as_str().unwrap_or_default().to_owned())
        .collect()
}

both_backends!(lists_apps_open, |backend| async move {
    let app = common::start(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let id_of = |token: String| {
        let app = &app;
        async move {
            let (_, me) = app
                .api(&token, Method::GET, "/api/v1/accounts/verify_credentials", None)
                .await;
            me["id"].as_str().expect("id").to_owned()
        }
    };
    let (alice_id, carol_id) = (id_of(alice.clone()).await, id_of(carol.clone()).await);
    assert_eq!(
        app.api(
            &bob,
            Method::POST,
            &format!("/api/v1/accounts/{alice_id}/follow"),
            None
        )
        .await
        .0,
        200
    );
    let (_, post) = app
        .api(
            &alice,
            Method::POST,
            "/api/v1/statuses",
            Some(json!({"status": "first light"})),
        )
        .await;
    let post_id = post["id"].as_str().expect("post").to_owned();
    app.api(
        &bob,
        Method::POST,
        &format!("/api/v1/statuses/{post_id}/favourite"),
        None,
    )
    .await;
    app.api(
        &bob,
        Method::POST,
        &format!("/api/v1/statuses/{post_id}/reblog"),
        None,
    )
    .await;
    app.api(
        &bob,
        Method::POST,
        &format!("/api/v1/accounts/{carol_id}/block"),
        None,
    )
    .await;

    let (status, followers) = app
        .api(
            &carol,
            Method::GET,
            &format!("/api/v1/accounts/{alice_id}/followers"),
            None,
        )
        .await;
    assert_eq!((status, ids(&followers)), (200, vec!["bob".to_owned()]));
    let (_, bob_me) = app
        .api(&bob, Method::GET, "/api/v1/accounts/verify_credentials", None)
        .await;
    let bob_id = bob_me["id"].as_str().expect("id");
    let (_, following) = app
        .api(
            &carol,
            Method::GET,
            &format!("/api/v1/accounts/{bob_id}/following"),
            None,
        )
        .await;
    assert_eq!(ids(&following), vec!["alice".to_owned()]);
    let (_, liked) = app
        .api(
            &carol,
            Method::GET,
            &format!("/api/v1/statuses/{post_id}/favourited_by"),
            None,
        )
        .await;
    assert_eq!(ids(&liked), vec!["bob".to_owned()]);
    let (_, boosted) = app
        .api(
            &carol,
            Method::GET,
            &format!("/api/v1/statuses/{post_id}/reblogged_by"),
            None,
        )
        .await;
    assert_eq!(ids(&boosted), vec!["bob".to_owned()]);
    let (_, blocks) = app.api(&bob, Method::GET, "/api/v1/blocks", None).await;
    assert_eq!(ids(&blocks), vec!["carol".to_owned()]);
    let (_, mutes) = app.api(&bob, Method::GET, "/api/v1/mutes", None).await;
    assert!(ids(&mutes).is_empty());
    let (_, favourites) = app.api(&bob, Method::GET, "/api/v1/favourites", None).await;
    assert_eq!(favourites[0]["id"], post_id.as_str());
    assert_eq!(favourites[0]["favourited"], true);

    // Hidden collections: others get an empty list, the owner still sees it.
    app.api(
        &alice,
        Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Some(json!({"hide_collections": true, "source": {"privacy": "unlisted"}})),
    )
    .await;
    let (_, hidden) = app
        .api(
            &carol,
            Method::GET,
            &format!("/api/v1/accounts/{alice_id}/followers"),
            None,
        )
        .await;
    assert!(ids(&hidden).is_empty());
    let (_, own) = app
        .api(
            &alice,
            Method::GET,
            &format!("/api/v1/accounts/{alice_id}/followers"),
            None,
        )
        .await;
    assert_eq!(ids(&own), vec!["bob".to_owned()]);

    let (status, found) = app
        .api(
            &carol,
            Method::GET,
            "/api/v1/accounts/search?q=alice&resolve=1",
            None,
        )
        .await;
    assert_eq!((status, ids(&found)), (200, vec!["alice".to_owned()]));
    let (_, prefs) = app.api(&alice, Method::GET, "/api/v1/preferences", None).await;
    assert_eq!(prefs["posting:default:visibility"], "unlisted");

    // What there is none of yet answers an empty list, not a 404.
    for path in [
        "/api/v1/lists",
        "/api/v2/filters",
        "/api/v1/filters",
        "/api/v1/bookmarks",
        "/api/v1/conversations",
        "/api/v1/announcements",
        "/api/v1/custom_emojis",
        "/api/v1/trends/tags",
        "/api/v2/suggestions",
        "/api/v1/followed_tags",
        "/api/v1/domain_blocks",
    ] {
        let (status, body) = app.api(&alice, Method::GET, path, None).await;
        assert_eq!((status, body), (200, json!([])), "{path}");
    }
    let (status, markers) = app
        .api(&alice, Method::GET, "/api/v1/markers?timeline[]=home", None)
        .await;
    assert_eq!((status, markers), (200, json!({})));
    // Making one is refused in words, not answered 200 and dropped.
    for (path, body) in [
        ("/api/v1/lists", json!({"title": "friends"})),
        (
            "/api/v2/filters",
            json!({"title": "spoilers", "context": ["home"]}),
        ),
        (
            "/api/v1/filters",
            json!({"phrase": "spoilers", "context": ["home"]}),
        ),
    ] {
        let (status, answer) = app.api(&alice, Method::POST, path, Some(body)).await;
        assert_eq!(status, 422, "{path}");
        assert!(
            answer["error_description"]
                .as_str()
                .is_some_and(|m| m.starts_with("Kaleido keeps no")),
            "{answer}"
        );
        let (_, list) = app.api(&alice, Method::GET, path, None).await;
        assert_eq!(list, json!([]), "{path}");
    }
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_post_with_the_same_idempotency_key_is_posted_once() {
    let app = common::start(common::Backend::SqliteLocal).await;
    let token = app.user("retry").await;
    let post = |key: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let response = app
                .http
                .post(format!("{}/api/v1/statuses", app.url))
                .bearer_auth(&token)
                .header("Idempotency-Key", key)
                .json(&json!({"status": "posted once"}))
                .send()
                .await
                .expect("post");
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.expect("json");
            body["id"].as_str().expect("id").to_owned()
        }
    };
    let (first, second) = tokio::join!(post("key-1"), post("key-1"));
    assert_eq!(first, second, "two requests at once, one post");
    assert_eq!(post("key-1").await, first, "and a later retry too");
    assert_ne!(post("key-2").await, first, "another key is another post");
    let (_, home) = app.api(&token, Method::GET, "/api/v1/timelines/home", None).await;
    assert_eq!(home.as_array().map(Vec::len), Some(2));
}
