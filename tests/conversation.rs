//! People hear of each other: mentions (addressed and delivered, a direct post reaching exactly
//! whom it names), hashtags (read, linked, followed, with tag timelines), and notifications
//! written by local actions and by the inbox, across two instances (SQLite and PostgreSQL);
//! and search by the words of a post on both databases.

mod common;

use common::{Backend, Instance};
use reqwest::Method;
use serde_json::{Value, json};

async fn post(app: &Instance, token: &str, body: Value) -> Value {
    let (status, posted) = app.api(token, Method::POST, "/api/v1/statuses", Some(body)).await;
    assert_eq!(status, 200, "{posted}");
    posted
}

async fn id_of(app: &Instance, token: &str) -> String {
    let (_, me) = app
        .api(token, Method::GET, "/api/v1/accounts/verify_credentials", None)
        .await;
    me["id"].as_str().expect("id").to_owned()
}

/// The account's notifications as (type, sender's acct, post id).
async fn told(app: &Instance, token: &str, query: &str) -> Vec<(String, String, String)> {
    let (status, list) = app
        .api(token, Method::GET, &format!("/api/v1/notifications{query}"), None)
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .expect("a list")
        .iter()
        .map(|n| {
            (
                n["type"].as_str().unwrap_or_default().to_owned(),
                n["account"]["acct"].as_str().unwrap_or_default().to_owned(),
                n["status"]["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn kinds(list: &[(String, String, String)]) -> Vec<&str> {
    list.iter().map(|(k, _, _)| k.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_tags_and_notifications_between_two_servers() {
    let home = common::start_federated(Backend::SqliteLocal, |_| {}).await;
    let there = common::start_federated(Backend::PostgresS3, |_| {}).await;
    let alice = home.user("alice").await;
    let carol = home.user("carol").await;
    let erin = home.user("erin").await;
    let bob = there.user("bob").await;
    let dave = there.user("dave").await;
    let home_host = home.url.trim_start_matches("http://").to_owned();
    let there_host = there.url.trim_start_matches("http://").to_owned();
    let alice_id = id_of(&home, &alice).await;

    // bob and dave follow alice from the other server; alice is told of each.
    let (_, found) = there
        .api(
            &bob,
            Method::GET,
            &format!("/api/v2/search?q=%40alice%40{home_host}&resolve=true"),
            None,
        )
        .await;
    let alice_there = found["accounts"][0]["id"].as_str().expect("found").to_owned();
    for token in [&bob, &dave] {
        there
            .api(
                token,
                Method::POST,
                &format!("/api/v1/accounts/{alice_there}/follow"),
                None,
            )
            .await;
    }
    common::eventually(20, "both follows to be accepted", || async {
        let list = told(&home, &alice, "?types[]=follow").await;
        (list.len() == 2).then_some(())
    })
    .await;

    // A public post with mentions (here and there) and tags.
    let hello = post(
        &home,
        &alice,
        json!({"status": format!("Hello @bob@{there_host} and @carol, and @nobody. #Foxes #wildlife")}),
    )
    .await;
    let hello_id = hello["id"].as_str().expect("id").to_owned();
    let mentioned: Vec<&str> = hello["mentions"]
        .as_array()
        .expect("mentions")
        .iter()
        .filter_map(|m| m["acct"].as_str())
        .collect();
    assert_eq!(mentioned, vec![format!("bob@{there_host}").as_str(), "carol"]);
    let tags: Vec<&str> = hello["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(tags, vec!["foxes", "wildlife"]);
    let content = hello["content"].as_str().expect("content");
    assert!(
        content.contains(&format!("href=\"{}/@bob\" class=\"u-url mention\"", there.url)),
        "{content}"
    );
    assert!(content.contains("and @nobody."), "nobody is no link: {content}");
    assert!(
        content.contains("/tags/foxes\" class=\"mention hashtag\""),
        "{content}"
    );

    // carol, here, is told; bob, there, gets the post with its mention and tags and is told.
    common::eventually(20, "carol to be told", || async {
        let list = told(&home, &carol, "").await;
        (list.first() == Some(&("mention".into(), "alice".into(), hello_id.clone()))).then_some(())
    })
    .await;
    let bob_told = common::eventually(20, "bob to be told", || async {
        let list = told(&there, &bob, "?types[]=mention").await;
        list.into_iter().next()
    })
    .await;
    assert_eq!(bob_told.1, format!("alice@{home_host}"));
    let hello_there = bob_told.2;
    let (_, seen) = there
        .api(
            &bob,
            Method::GET,
            &format!("/api/v1/statuses/{hello_there}"),
            None,
        )
        .await;
    let seen_tags: Vec<&str> = seen["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(seen_tags, vec!["foxes", "wildlife"]);
    assert!(
        seen["mentions"]
            .as_array()
            .expect("mentions")
            .iter()
            .any(|m| m["acct"] == "bob"),
        "{seen}"
    );
    // The tag timeline there shows the post that came from here.
    let (_, tagged) = there
        .api(&dave, Method::GET, "/api/v1/timelines/tag/Foxes", None)
        .await;
    assert_eq!(tagged[0]["id"], hello_there.as_str());

    // A direct post reaches exactly whom it mentions: bob, not dave (a follower), not carol.
    let secret = post(
        &home,
        &alice,
        json!({"status": format!("@bob@{there_host} the nest is by the old oak"), "visibility": "direct"}),
    )
    .await;
    let secret_id = secret["id"].as_str().expect("id").to_owned();
    let secret_uri = secret["uri"].as_str().expect("uri").to_owned();
    let (status, _) = home
        .api(
            &carol,
            Method::GET,
            &format!("/api/v1/statuses/{secret_id}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "carol was not named");
    let secret_there = common::eventually(20, "bob to get the direct post", || async {
        let (_, timeline) = there.api(&bob, Method::GET, "/api/v1/timelines/home", None).await;
        timeline.as_array().and_then(|items| {
            items.iter().find(|s| s["uri"] == secret_uri.as_str()).map(|s| {
                (
                    s["id"].as_str().unwrap_or_default().to_owned(),
                    s["visibility"].clone(),
                )
            })
        })
    })
    .await;
    assert_eq!(secret_there.1, "direct");
    let (status, _) = there
        .api(
            &dave,
            Method::GET,
            &format!("/api/v1/statuses/{}", secret_there.0),
            None,
        )
        .await;
    assert_eq!(status, 404, "dave follows alice but was not named");
    let (_, dave_home) = there
        .api(&dave, Method::GET, "/api/v1/timelines/home", None)
        .await;
    assert!(
        dave_home
            .as_array()
            .expect("list")
            .iter()
            .all(|s| s["uri"] != secret_uri.as_str()),
        "{dave_home}"
    );

    // bob replies, likes and boosts from there; alice is told of each.
    let hello_for_bob = hello_there.clone();
    let reply = post(
        &there,
        &bob,
        json!({"status": format!("@alice@{home_host} thanks!"), "in_reply_to_id": hello_for_bob}),
    )
    .await;
    assert_eq!(reply["in_reply_to_account_id"], alice_there.as_str());
    for verb in ["favourite", "reblog"] {
        there
            .api(
                &bob,
                Method::POST,
                &format!("/api/v1/statuses/{hello_for_bob}/{verb}"),
                None,
            )
            .await;
    }
    let alice_told = common::eventually(20, "alice to hear of the reply, like and boost", || async {
        let list = told(&home, &alice, "?exclude_types[]=follow").await;
        (list.len() == 3).then_some(list)
    })
    .await;
    let mut got: Vec<&str> = kinds(&alice_told);
    got.sort();
    assert_eq!(got, vec!["favourite", "mention", "reblog"]);
    assert!(
        alice_told
            .iter()
            .all(|(_, from, _)| *from == format!("bob@{there_host}"))
    );

    // Local ones: carol likes and boosts; erin follows; a follow of a locked account asks.
    for verb in ["favourite", "reblog"] {
        home.api(
            &carol,
            Method::POST,
            &format!("/api/v1/statuses/{hello_id}/{verb}"),
            None,
        )
        .await;
    }
    home.api(
        &erin,
        Method::POST,
        &format!("/api/v1/accounts/{alice_id}/follow"),
        None,
    )
    .await;
    let everything = told(&home, &alice, "").await;
    assert_eq!(everything.len(), 8, "{everything:?}");
    let only_local: Vec<_> = everything
        .iter()
        .filter(|(_, from, _)| !from.contains('@'))
        .map(|(k, from, _)| (k.as_str(), from.as_str()))
        .collect();
    assert_eq!(
        only_local,
        vec![("follow", "erin"), ("reblog", "carol"), ("favourite", "carol")]
    );

    // Paging with Link, filters, one by id, the grouped form, dismiss, the unread count.
    let response = home
        .http
        .get(format!("{}/api/v1/notifications?limit=2", home.url))
        .bearer_auth(&alice)
        .send()
        .await
        .expect("page");
    let link = response.headers()["link"].to_str().expect("link").to_owned();
    let first_page: Value = response.json().await.expect("json");
    assert_eq!(first_page.as_array().map(Vec::len), Some(2));
    let next = link
        .split(['<', '>'])
        .nth(1)
        .expect("next")
        .replace(&home.url, "");
    let (_, second_page) = home.api(&alice, Method::GET, &next, None).await;
    assert_eq!(second_page.as_array().map(Vec::len), Some(2));
    assert_ne!(first_page[1]["id"], second_page[0]["id"]);
    let favourites = told(&home, &alice, "?types[]=favourite").await;
    assert_eq!(favourites.len(), 2);
    let (_, grouped) = home.api(&alice, Method::GET, "/api/v2/notifications", None).await;
    let groups = grouped["notification_groups"].as_array().expect("groups");
    let likes = groups
        .iter()
        .find(|g| g["type"] == "favourite")
        .expect("a group of likes");
    assert_eq!(likes["notifications_count"], 2, "{likes}");
    assert_eq!(likes["group_key"], format!("favourite-{hello_id}"));
    assert!(grouped["accounts"].as_array().is_some_and(|a| a.len() >= 3));
    assert!(grouped["statuses"].as_array().is_some_and(|s| !s.is_empty()));
    let one_id = first_page[0]["id"].as_str().expect("id").to_owned();
    let (status, one) = home
        .api(
            &alice,
            Method::GET,
            &format!("/api/v1/notifications/{one_id}"),
            None,
        )
        .await;
    assert_eq!((status, one["id"].clone()), (200, json!(one_id)));
    let (status, _) = home
        .api(
            &carol,
            Method::GET,
            &format!("/api/v1/notifications/{one_id}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "alice's are alice's");
    let (_, unread) = home
        .api(&alice, Method::GET, "/api/v1/notifications/unread_count", None)
        .await;
    assert_eq!(unread["count"], 8);
    home.api(
        &alice,
        Method::POST,
        "/api/v1/markers",
        Some(json!({"notifications": {"last_read_id": second_page[0]["id"]}})),
    )
    .await;
    let (_, unread) = home
        .api(&alice, Method::GET, "/api/v1/notifications/unread_count", None)
        .await;
    assert_eq!(unread["count"], 2, "newer than the marker");
    let (status, _) = home
        .api(
            &alice,
            Method::POST,
            &format!("/api/v1/notifications/{one_id}/dismiss"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(told(&home, &alice, "").await.len(), 7);
    let (status, _) = home
        .api(
            &alice,
            Method::GET,
            "/api/v1/notifications?types[]=nonsense",
            None,
        )
        .await;
    assert_eq!(status, 422);

    // An edit of a post carol boosted tells carol.
    home.api(
        &alice,
        Method::PUT,
        &format!("/api/v1/statuses/{hello_id}"),
        Some(json!({"status": format!("Hello @bob@{there_host} and @carol! #Foxes #wildlife")})),
    )
    .await;
    common::eventually(20, "carol to hear of the edit", || async {
        let list = told(&home, &carol, "?types[]=update").await;
        (list.first().map(|(_, from, id)| (from.as_str(), id.as_str())) == Some(("alice", hello_id.as_str())))
            .then_some(())
    })
    .await;
    home.api(&alice, Method::POST, "/api/v1/notifications/clear", None)
        .await;
    assert!(told(&home, &alice, "").await.is_empty());
}

#[tokio::test]
async fn tag_timelines_and_followed_tags() {
    let app = common::start(Backend::SqliteLocal).await;
    let alice = app.user("alice").await;
    let carol = app.user("carol").await;
    let both = post(&app, &alice, json!({"status": "#Heron and #reeds"})).await;
    let heron = post(&app, &alice, json!({"status": "just a #heron"})).await;
    let reeds = post(&app, &alice, json!({"status": "only #reeds"})).await;
    let hidden = post(
        &app,
        &alice,
        json!({"status": "#heron for friends", "visibility": "private"}),
    )
    .await;
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .expect("list")
            .iter()
            .filter_map(|s| s["id"].as_str().map(str::to_owned))
            .collect()
    };
    let id = |s: &Value| s["id"].as_str().expect("id").to_owned();
    let (_, heron_line) = app
        .api(&carol, Method::GET, "/api/v1/timelines/tag/heron", None)
        .await;
    assert_eq!(
        ids(&heron_line),
        vec![id(&heron), id(&both)],
        "public ones only, newest first"
    );
    assert!(!ids(&heron_line).contains(&id(&hidden)));
    let (_, any) = app
        .api(
            &carol,
            Method::GET,
            "/api/v1/timelines/tag/heron?any[]=reeds",
            None,
        )
        .await;
    assert_eq!(ids(&any), vec![id(&reeds), id(&heron), id(&both)]);
    let (_, all) = app
        .api(
            &carol,
            Method::GET,
            "/api/v1/timelines/tag/heron?all[]=reeds",
            None,
        )
        .await;
    assert_eq!(ids(&all), vec![id(&both)]);
    let (_, none) = app
        .api(
            &carol,
            Method::GET,
            "/api/v1/timelines/tag/heron?none[]=REEDS",
            None,
        )
        .await;
    assert_eq!(ids(&none), vec![id(&heron)]);
    let anonymous: Value = app
        .http
        .get(format!("{}/api/v1/timelines/tag/heron", app.url))
        .send()
        .await
        .expect("anonymous")
        .json()
        .await
        .expect("json");
    assert_eq!(ids(&anonymous).len(), 2, "anyone may read a tag");
    let (status, _) = app
        .api(&carol, Method::GET, "/api/v1/timelines/tag/no%20tag", None)
        .await;
    assert_eq!(status, 404);

    // carol follows #reeds: alice's #reeds posts come home to her though she follows nobody.
    let (_, tag) = app.api(&carol, Method::GET, "/api/v1/tags/reeds", None).await;
    assert_eq!(
        (tag["name"].clone(), tag["following"].clone()),
        (json!("reeds"), json!(false))
    );
    let (status, _) = app.api(&carol, Method::GET, "/api/v1/tags/unused", None).await;
    assert_eq!(status, 404);
    let (_, followed) = app
        .api(&carol, Method::POST, "/api/v1/tags/Reeds/follow", None)
        .await;
    assert_eq!(followed["following"], true);
    let (_, list) = app.api(&carol, Method::GET, "/api/v1/followed_tags", None).await;
    assert_eq!(list[0]["name"], "reeds");
    let (_, home) = app.api(&carol, Method::GET, "/api/v1/timelines/home", None).await;
    assert_eq!(ids(&home), vec![id(&reeds), id(&both)]);
    app.api(&carol, Method::POST, "/api/v1/tags/reeds/unfollow", None)
        .await;
    let (_, home) = app.api(&carol, Method::GET, "/api/v1/timelines/home", None).await;
    assert_eq!(home, json!([]));
}

#[tokio::test]
async fn admins_hear_of_sign_ups_and_reports() {
    let app = common::start_with(Backend::SqliteLocal, |c| {
        c.registrations.mode = kaleido::config::RegistrationMode::Approval;
    })
    .await;
    kaleido::accounts::create(app.db(), "root", "correct horse battery", true)
        .await
        .expect("admin");
    let admin = app.login("root", "correct horse battery").await;
    let alice = app.user("alice").await;
    let troll = app.user("troll").await;
    let response = app
        .http
        .post(format!("{}/api/v1/accounts", app.url))
        .json(&json!({"username": "newcomer", "password": "a long enough password", "agreement": true, "locale": "en", "reason": "I take photos of birds"}))
        .send()
        .await
        .expect("sign up");
    assert_eq!(response.status(), 200);
    let troll_id = id_of(&app, &troll).await;
    let (status, report) = app
        .api(
            &alice,
            Method::POST,
            "/api/v1/reports",
            Some(json!({"account_id": troll_id, "comment": "spam"})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let (_, list) = app.api(&admin, Method::GET, "/api/v1/notifications", None).await;
    let list = list.as_array().expect("list");
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["type"], "admin.report");
    assert_eq!(list[0]["report"]["id"], report["id"]);
    assert_eq!(list[0]["account"]["username"], "alice");
    assert_eq!(list[1]["type"], "admin.sign_up");
    assert_eq!(list[1]["account"]["username"], "newcomer");
    assert!(
        told(&app, &alice, "").await.is_empty(),
        "not for people who are not admins"
    );
}

both_backends!(search_finds_posts_by_their_words, |backend| async move {
    let app = common::start(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    // alice lets her posts be found; bob does not (the default, as on Mastodon).
    let (status, _) = app
        .api(
            &alice,
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(json!({"indexable": true, "display_name": "Alice Wren"})),
        )
        .await;
    assert_eq!(status, 200);
    let hers = post(
        &app,
        &alice,
        json!({"status": "The Kingfisher returned to the old willow #kingfishers"}),
    )
    .await;
    let his = post(&app, &bob, json!({"status": "a kingfisher at dusk, again"})).await;
    post(&app, &alice, json!({"status": "nothing about birds"})).await;
    let search = |token: String, q: &'static str| {
        let app = &app;
        async move {
            let (status, found) = app
                .api(&token, Method::GET, &format!("/api/v2/search?q={q}"), None)
                .await;
            assert_eq!(status, 200, "{found}");
            found
        }
    };
    let ids = |found: &Value| -> Vec<String> {
        found["statuses"]
            .as_array()
            .expect("statuses")
            .iter()
            .filter_map(|s| s["id"].as_str().map(str::to_owned))
            .collect()
    };
    let id = |s: &Value| s["id"].as_str().expect("id").to_owned();
    assert_eq!(ids(&search(carol.clone(), "kingfisher").await), vec![id(&hers)]);
    assert_eq!(
        ids(&search(carol.clone(), "OLD%20willow").await),
        vec![id(&hers)],
        "every word, any case"
    );
    assert!(ids(&search(carol.clone(), "willow%20dusk").await).is_empty());
    // bob finds his own; carol finds his once she liked it.
    assert_eq!(
        ids(&search(bob.clone(), "kingfisher").await),
        vec![id(&his), id(&hers)]
    );
    app.api(
        &carol,
        Method::POST,
        &format!("/api/v1/statuses/{}/favourite", id(&his)),
        None,
    )
    .await;
    assert_eq!(
        ids(&search(carol.clone(), "kingfisher").await),
        vec![id(&his), id(&hers)]
    );
    // Only words are matched: quotes, stars and brackets are no query syntax, and break nothing.
    assert!(ids(&search(carol.clone(), "%22kingfisher%22%20*%20(-)").await).contains(&id(&hers)));
    // Nobody signed in: accounts and tags, no posts.
    let anonymous: Value = app
        .http
        .get(format!("{}/api/v2/search?q=kingfisher", app.url))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    assert_eq!(anonymous["statuses"], json!([]));
    // Accounts by a part of their name, tags by their start.
    let found = search(carol.clone(), "wren").await;
    assert_eq!(found["accounts"][0]["username"], "alice");
    let found = search(carol.clone(), "%23kingf").await;
    assert_eq!(found["hashtags"][0]["name"], "kingfishers");
    let (_, only) = app
        .api(
            &carol,
            Method::GET,
            "/api/v2/search?q=kingfisher&type=accounts",
            None,
        )
        .await;
    assert_eq!(only["statuses"], json!([]));
    // An edit changes what finds the post; a deleted post is found no more.
    app.api(
        &alice,
        Method::PUT,
        &format!("/api/v1/statuses/{}", id(&hers)),
        Some(json!({"status": "The heron returned to the old willow"})),
    )
    .await;
    assert_eq!(ids(&search(carol.clone(), "heron").await), vec![id(&hers)]);
    assert_eq!(ids(&search(carol.clone(), "kingfisher").await), vec![id(&his)]);
    app.api(
        &alice,
        Method::DELETE,
        &format!("/api/v1/statuses/{}", id(&hers)),
        None,
    )
    .await;
    assert!(ids(&search(carol.clone(), "heron").await).is_empty());
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masto_js_streams_a_post_from_another_server_as_it_happens() {
    let home = common::start_federated(Backend::SqliteLocal, |_| {}).await;
    let there = common::start_federated(Backend::PostgresS3, |_| {}).await;
    let alice = home.user("alice").await;
    let bob = there.user("bob").await;
    let home_host = home.url.trim_start_matches("http://").to_owned();
    let there_host = there.url.trim_start_matches("http://").to_owned();
    there.follow_remote(&bob, &home, "alice").await;
    let out = common::node(
        "streaming.mjs",
        vec![
            there.url.clone().into(),
            bob.clone().into(),
            home.url.clone().into(),
            alice.clone().into(),
            format!("@bob@{there_host} a #Heron at the pond").into(),
            "heron".into(),
        ],
    )
    .await;
    assert_eq!(out["how"], "complete", "{out}");
    let uri = out["uri"].as_str().expect("uri");
    let user: Vec<(String, Value)> = out["seen"]["user"]
        .as_array()
        .expect("user")
        .iter()
        .map(|e| (e["event"].as_str().unwrap_or_default().to_owned(), e.clone()))
        .collect();
    let order: Vec<&str> = user.iter().map(|(e, _)| e.as_str()).collect();
    assert!(
        order.contains(&"update") && order.contains(&"notification"),
        "{out}"
    );
    let update = &user.iter().find(|(e, _)| e == "update").expect("update").1;
    assert_eq!(update["uri"], uri);
    assert_eq!(update["stream"], json!(["user"]));
    let told = &user
        .iter()
        .find(|(e, _)| e == "notification")
        .expect("notification")
        .1;
    assert_eq!(
        (told["type"].clone(), told["uri"].clone()),
        (json!("mention"), json!(uri))
    );
    assert_eq!(told["from"], format!("alice@{home_host}"));
    let edited = &user
        .iter()
        .find(|(e, _)| e == "status.update")
        .expect("status.update")
        .1;
    assert!(
        edited["content"].as_str().is_some_and(|c| c.contains("(edited)")),
        "{out}"
    );
    let deleted = &user.iter().find(|(e, _)| e == "delete").expect("delete").1;
    assert_eq!(deleted["id"], update["id"], "the id of the post on this server");
    let tagged = out["seen"]["hashtag"].as_array().expect("hashtag");
    assert_eq!(tagged[0]["event"], "update", "{out}");
    assert_eq!(tagged[0]["stream"], json!(["hashtag", "heron"]));
    assert_eq!(tagged[0]["uri"], uri);
}

/// Live updates cross processes on PostgreSQL: an event sent on one connection pool reaches a
/// listener on another, as a worker's reaches every `serve`. (SQLite is one process.)
#[tokio::test]
async fn events_cross_connections_through_postgres() {
    let url = common::fresh_pg_database().await;
    let config = |url: &str| kaleido::config::DatabaseConfig {
        url: kaleido::config::Secret::new(url.to_owned()),
        ..Default::default()
    };
    let sender = kaleido::db::Db::connect(&config(&url)).await.expect("sender");
    let listener = kaleido::db::Db::connect(&config(&url)).await.expect("listener");
    let mut events = kaleido::db::events::subscribe(&listener);
    let event = kaleido::db::events::Event::Posted {
        status_id: "s1".into(),
    };
    // The listener connects in the background: send until it hears.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let heard = loop {
        kaleido::db::events::emit(&sender, event.clone()).await;
        if let Ok(Ok(heard)) =
            tokio::time::timeout(std::time::Duration::from_millis(200), events.recv()).await
        {
            break heard;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the event never reached the other connection"
        );
    };
    assert_eq!(heard, event);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_like_boost_reply_search_and_read_notifications_on_the_web() {
    let app = common::start(Backend::SqliteLocal).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.api(
        &alice,
        Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Some(json!({"indexable": true})),
    )
    .await;
    let alice_id = id_of(&app, &alice).await;
    app.api(
        &bob,
        Method::POST,
        &format!("/api/v1/accounts/{alice_id}/follow"),
        None,
    )
    .await;
    let posted = post(&app, &alice, json!({"status": "A kingfisher at the #heron pond"})).await;
    let url = posted["url"].as_str().expect("url").to_owned();
    let out = common::node(
        "interact.mjs",
        vec![
            app.url.clone().into(),
            url.clone().into(),
            "kingfisher".into(),
            "heron".into(),
        ],
    )
    .await;
    let expect = |key: &str, value: Value| assert_eq!(out[key], value, "{key} in {out}");
    expect("like_before", "Like".into());
    expect("like_after", json!(["Liked", "true", "1 like"]));
    expect("boost_after", json!(["Boosted", "1 boost"]));
    expect("replies", json!(["Lovely light on the water!"]));
    expect("reply_count", "1 reply".into());
    assert!(
        out["reply_url"].as_str().is_some_and(|u| u.contains("#reply-")),
        "{out}"
    );
    expect("thread_above", json!(["A kingfisher at the #heron pond"]));
    // bob's home has alice's post and his own reply; alice's post is found by a word in it.
    let home = out["home"].as_array().expect("home");
    assert!(
        home.iter().any(|t| t == "A kingfisher at the #heron pond"),
        "{out}"
    );
    assert!(home.iter().any(|t| t == "Lovely light on the water!"), "{out}");
    expect("search_posts", json!(["A kingfisher at the #heron pond"]));
    expect("tag_cards", json!([url]));
    expect("tag_button", "Unfollow #heron".into());
    // alice sees four unread in the header (bob's follow first), reads them, and the count is
    // gone.
    expect("badge", "Notifications 4".into());
    let mut told: Vec<String> = out["notifications"]
        .as_array()
        .expect("notifications")
        .iter()
        .map(|n| {
            n.as_str()
                .unwrap_or_default()
                .split(" 2")
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    told.sort();
    assert_eq!(
        told,
        vec![
            "bob boosted your post",
            "bob followed you",
            "bob liked your post",
            "bob mentioned you"
        ],
        "{out}"
    );
    expect("badge_after", "Notifications".into());
    expect("problems", json!([]));
    let (_, tags) = app.api(&bob, Method::GET, "/api/v1/followed_tags", None).await;
    assert_eq!(tags[0]["name"], "heron");
}

#[tokio::test]
async fn a_rung_bell_tells_of_each_post_and_profiles_feature_tags() {
    let app = common::start(Backend::SqliteLocal).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let alice_id = id_of(&app, &alice).await;
    let (status, rel) = app
        .api(
            &bob,
            Method::POST,
            &format!("/api/v1/accounts/{alice_id}/follow"),
            Some(json!({"notify": true, "reblogs": true})),
        )
        .await;
    assert_eq!((status, rel["notifying"].clone()), (200, json!(true)), "{rel}");
    let (status, _) = app
        .api(
            &bob,
            Method::POST,
            &format!("/api/v1/accounts/{alice_id}/follow"),
            Some(json!({"reblogs": false})),
        )
        .await;
    assert_eq!(status, 422, "hiding boosts is not kept, so it is refused");
    let public = post(&app, &alice, json!({"status": "new photos up #heron"})).await;
    post(
        &app,
        &alice,
        json!({"status": "@carol just for you", "visibility": "direct"}),
    )
    .await;
    let public_id = public["id"].as_str().expect("id").to_owned();
    let list = common::eventually(10, "bob to hear of the post", || async {
        let list = told(&app, &bob, "?types[]=status").await;
        (!list.is_empty()).then_some(list)
    })
    .await;
    assert_eq!(
        list,
        vec![("status".to_owned(), "alice".to_owned(), public_id)],
        "not the direct one"
    );
    let (_, rel) = app
        .api(
            &bob,
            Method::POST,
            &format!("/api/v1/accounts/{alice_id}/follow"),
            Some(json!({"notify": false})),
        )
        .await;
    assert_eq!(rel["notifying"], false);

    // Featured tags: ten at most, on the profile, listed for anyone.
    let (status, featured) = app
        .api(
            &alice,
            Method::POST,
            "/api/v1/featured_tags",
            Some(json!({"name": "#Heron"})),
        )
        .await;
    assert_eq!(status, 200, "{featured}");
    assert_eq!(
        (featured["name"].clone(), featured["statuses_count"].clone()),
        (json!("heron"), json!(1))
    );
    for n in 0..9 {
        let (status, _) = app
            .api(
                &alice,
                Method::POST,
                "/api/v1/featured_tags",
                Some(json!({"name": format!("tag{n}x")})),
            )
            .await;
        assert_eq!(status, 200);
    }
    let (status, body) = app
        .api(
            &alice,
            Method::POST,
            "/api/v1/featured_tags",
            Some(json!({"name": "onemore"})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = app
        .api(
            &alice,
            Method::POST,
            "/api/v1/featured_tags",
            Some(json!({"name": "not a tag"})),
        )
        .await;
    assert_eq!(status, 422);
    let (_, theirs) = app
        .api(
            &carol,
            Method::GET,
            &format!("/api/v1/accounts/{alice_id}/featured_tags"),
            None,
        )
        .await;
    assert_eq!(theirs.as_array().map(Vec::len), Some(10));
    assert_eq!(theirs[0]["name"], "heron");
    let (_, suggested) = app
        .api(&alice, Method::GET, "/api/v1/featured_tags/suggestions", None)
        .await;
    assert_eq!(suggested[0]["name"], "heron");
    let page = app
        .http
        .get(format!("{}/@alice", app.url))
        .send()
        .await
        .expect("profile")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("href=\"/tags/heron\" rel=\"tag\">#heron</a>"),
        "the profile shows it"
    );
    let id = featured["id"].as_str().expect("id");
    let (status, _) = app
        .api(
            &carol,
            Method::DELETE,
            &format!("/api/v1/featured_tags/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "only alice may take hers down");
    app.api(
        &alice,
        Method::DELETE,
        &format!("/api/v1/featured_tags/{id}"),
        None,
    )
    .await;
    let (_, mine) = app.api(&alice, Method::GET, "/api/v1/featured_tags", None).await;
    assert!(
        mine.as_array()
            .expect("list")
            .iter()
            .all(|t| t["name"] != "heron")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_post_across_three_servers_reaches_exactly_whom_it_names() {
    let home = common::start_federated(Backend::SqliteLocal, |_| {}).await;
    let there = common::start_federated(Backend::PostgresS3, |_| {}).await;
    let third = common::start_federated(Backend::SqliteLocal, |_| {}).await;
    let alice = home.user("alice").await;
    let bob = there.user("bob").await;
    let dave = there.user("dave").await;
    let erin = third.user("erin").await;
    let frank = third.user("frank").await;
    // dave and frank follow alice; only bob and erin are named.
    there.follow_remote(&dave, &home, "alice").await;
    third.follow_remote(&frank, &home, "alice").await;
    let host = |i: &Instance| i.url.trim_start_matches("http://").to_owned();
    let secret = post(
        &home,
        &alice,
        json!({"status": format!("@bob@{} @erin@{} meet at the hide at six", host(&there), host(&third)), "visibility": "direct"}),
    )
    .await;
    let uri = secret["uri"].as_str().expect("uri").to_owned();
    arrived(&there, &bob, &uri, "bob to be told").await;
    let erins = arrived(&third, &erin, &uri, "erin to be told").await;
    for (app, token) in [(&there, &dave), (&third, &frank)] {
        let (_, line) = app.api(token, Method::GET, "/api/v1/timelines/home", None).await;
        assert!(
            line.as_array()
                .expect("list")
                .iter()
                .all(|s| s["uri"] != uri.as_str()),
            "a follower who was not named does not get it: {line}"
        );
        assert!(told(app, token, "").await.is_empty());
    }
    // erin answers from the third server, to the two people in the conversation.
    post(
        &third,
        &erin,
        json!({"status": format!("@alice@{} @bob@{} see you there", host(&home), host(&there)), "visibility": "direct", "in_reply_to_id": erins}),
    )
    .await;
    common::eventually(20, "alice to hear erin's answer", || async {
        let list = told(&home, &alice, "?types[]=mention").await;
        list.first()
            .filter(|(_, from, _)| *from == format!("erin@{}", host(&third)))
            .map(|_| ())
    })
    .await;
}

/// Waits for `token`'s account to be told of a mention, then finds the post `uri` in its home
/// timeline: its id there.
async fn arrived(app: &Instance, token: &str, uri: &str, what: &str) -> String {
    common::eventually(20, what, || async {
        let list = told(app, token, "?types[]=mention").await;
        list.first().map(|(_, _, id)| id.clone())
    })
    .await;
    let (_, line) = app.api(token, Method::GET, "/api/v1/timelines/home", None).await;
    line.as_array()
        .expect("list")
        .iter()
        .find(|s| s["uri"] == uri)
        .map(|s| s["id"].as_str().unwrap_or_default().to_owned())
        .expect("in the named person's home")
}

/// Reads a server-sent events stream until a chunk holds `wanted`; the text read so far.
async fn read_events(response: reqwest::Response, wanted: &str) -> String {
    use futures_util::StreamExt;
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while !seen.contains(wanted) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .unwrap_or_else(|_| panic!("no {wanted:?} within 15 s; got {seen}"))
            .expect("the stream ended")
            .expect("a chunk");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sent_events_for_the_public_and_for_a_direct_conversation() {
    let app = common::start(Backend::SqliteLocal).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let open = |path: &'static str, token: Option<String>| {
        let app = &app;
        async move {
            let mut request = app.http.get(format!("{}{path}", app.url));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("stream");
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(response.headers()["content-type"], "text/event-stream");
            response
        }
    };
    let (status, _) = {
        let r = app
            .http
            .get(format!("{}/api/v1/streaming/user", app.url))
            .send()
            .await
            .expect("user");
        (r.status().as_u16(), ())
    };
    assert_eq!(status, 401, "a personal stream needs a token");
    let public = open("/api/v1/streaming/public/local", None).await;
    let direct = open("/api/v1/streaming/direct", Some(bob.clone())).await;
    // Streams are open once the first heartbeat is no longer needed; give them a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let said = post(&app, &alice, json!({"status": "open to all"})).await;
    let secret = post(
        &app,
        &alice,
        json!({"status": "@bob only you", "visibility": "direct"}),
    )
    .await;
    let seen = read_events(public, "event: update").await;
    assert!(seen.contains(said["id"].as_str().expect("id")), "{seen}");
    let seen = read_events(direct, "event: conversation").await;
    let data = seen
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("a data line");
    let conversation: Value = serde_json::from_str(data).expect("JSON");
    assert_eq!(conversation["last_status"]["id"], secret["id"]);
    assert_eq!(
        conversation["accounts"][0]["username"], "alice",
        "everyone in it but bob"
    );
    assert!(
        !seen.contains(said["id"].as_str().expect("id")),
        "the public post is not a conversation"
    );
}
