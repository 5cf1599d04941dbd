//! Every captured object in `../shared/fixtures/activitypub/` read the way the inbox reads it:
//! actors from Mastodon and PeerTube, posts from Mastodon, Pixelfed and PeerTube, and what
//! Kaleido refuses (a Pixelfed Story) refused with a reason.

use kaleido::{
    domain::{media::MediaKind, status::Visibility},
    federation::{parse, resolve},
};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../shared/fixtures/activitypub/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("shared fixture")).expect("json")
}

#[test]
fn actors_from_mastodon_and_peertube() {
    let mastodon = parse::actor(
        &fixture("mastodon-person.json"),
        "https://masto.qa.urbanwildlife.biz/users/mastodon",
    )
    .expect("Mastodon Person");
    assert_eq!(mastodon.username, "mastodon");
    assert_eq!(mastodon.domain, "masto.qa.urbanwildlife.biz");
    assert_eq!(mastodon.actor.actor_type, "Person");
    assert_eq!(
        mastodon.actor.key_id,
        "https://masto.qa.urbanwildlife.biz/users/mastodon#main-key"
    );
    assert_eq!(
        mastodon.actor.delivery_inbox(),
        "https://masto.qa.urbanwildlife.biz/inbox"
    );
    assert!(mastodon.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----"));

    let account = parse::actor(
        &fixture("peertube-account-person.json"),
        "https://tilvids.com/accounts/x",
    )
    .expect("PeerTube Person");
    assert_eq!(account.username, "thelinuxexperiment");
    assert_eq!(
        account.actor.shared_inbox_url.as_deref(),
        Some("https://tilvids.com/inbox")
    );
    let channel = parse::actor(
        &fixture("peertube-channel-group.json"),
        "https://tilvids.com/video-channels/x",
    )
    .expect("PeerTube Group");
    assert_eq!(channel.actor.actor_type, "Group");
    assert_eq!(channel.username, "thelinuxexperiment_channel");

    // An actor document served by another host than its id names is not believed.
    assert!(
        parse::actor(
            &fixture("mastodon-person.json"),
            "https://evil.example/users/mastodon"
        )
        .is_err()
    );
}

#[test]
fn a_mastodon_photo_post() {
    let create = fixture("mastodon-create-note-media.json");
    let post = parse::post(&create["object"], "https://mastodon.social/users/mczachurski").expect("Note");
    assert_eq!(post.author, "https://mastodon.social/users/mczachurski");
    assert_eq!(post.visibility, Visibility::Public);
    assert!(
        post.text.starts_with("Holidays almost finished. It's time"),
        "{}",
        post.text
    );
    assert!(!post.text.contains('<'), "markup survived: {}", post.text);
    let photo = &post.media[0];
    assert_eq!(photo.kind, MediaKind::Image);
    assert_eq!(photo.mime, "image/png");
    assert_eq!((photo.width, photo.height), (Some(2200), Some(1384)));
    assert_eq!(
        photo.blurhash.as_deref(),
        Some("U48NqcIA9ZX8t8axofs,0JRjxat7D$t8xuIU")
    );
    assert_eq!(photo.focus, Some((0.0, 0.0)));
    assert!(
        photo
            .description
            .as_deref()
            .is_some_and(|d| d.starts_with("Screenshot from Capture One"))
    );
    assert!(photo.url.starts_with("https://files.mastodon.social/"));
}

#[test]
fn a_pixelfed_photo_post() {
    let create = fixture("pixelfed-create-note-photo.json");
    let post = parse::post(&create["object"], "https://pixelfed.social/users/mczachurski").expect("Note");
    assert_eq!(post.visibility, Visibility::Public);
    assert!(
        post.text.starts_with("Shadows #colorphotography"),
        "{}",
        post.text
    );
    let photo = &post.media[0];
    assert_eq!(photo.kind, MediaKind::Image);
    assert_eq!((photo.width, photo.height), (Some(1620), Some(1080)));
    assert!(
        photo
            .description
            .as_deref()
            .is_some_and(|d| d.starts_with("Stickers on the glass"))
    );
    assert!(photo.blurhash.is_some());
}

#[test]
fn a_peertube_video_and_a_comment() {
    let video = fixture("peertube-video.json");
    let post = parse::post(
        &video,
        "https://tilvids.com/videos/watch/e7946124-7b72-4ad7-9d22-844a84bb2de1",
    )
    .expect("Video");
    assert_eq!(post.author, "https://tilvids.com/accounts/thelinuxexperiment");
    assert!(
        post.title
            .as_deref()
            .is_some_and(|t| t.starts_with("Mesa, Wayland & X.org in trouble"))
    );
    assert!(
        post.text.starts_with("Head to https://squarespace.com"),
        "markdown kept as text"
    );
    assert_eq!(
        post.url.as_deref(),
        Some("https://tilvids.com/videos/watch/e7946124-7b72-4ad7-9d22-844a84bb2de1")
    );
    let media = &post.media[0];
    assert_eq!(media.kind, MediaKind::Video);
    assert!(
        media
            .hls_url
            .as_deref()
            .is_some_and(|u| u.ends_with("-master.m3u8"))
    );
    // The MP4 to play without HLS: the largest rendition up to 720p (this one has 1080, 360, 144).
    assert!(media.url.ends_with("-360-fragmented.mp4"), "{}", media.url);
    assert_eq!(media.height, Some(360));
    assert!(
        media
            .preview_url
            .as_deref()
            .is_some_and(|u| u.contains("/previews/")),
        "the larger icon"
    );

    let comment = fixture("peertube-comment-note.json");
    let reply = parse::post(&comment, "https://video.antopie.org/accounts/yoge6785555").expect("Note");
    assert_eq!(
        reply.in_reply_to.as_deref(),
        Some("https://bae.st/objects/87c1cbf5-542a-491d-af57-0414c8648381")
    );
    assert_eq!(reply.text, "@af2@bae.st idk");
}

#[test]
fn what_kaleido_does_not_show_is_refused_with_a_reason() {
    let story = fixture("pixelfed-story.json");
    let err = parse::post(&story, "https://pixelfed.test/users/dansup").expect_err("a Story is not a post");
    assert!(err.message.contains("Story"), "{}", err.message);
    // A post whose id is on another host than the server that handed it over is not believed.
    let create = fixture("mastodon-create-note-media.json");
    assert!(parse::post(&create["object"], "https://evil.example/users/x").is_err());
}

#[test]
fn webfinger_names_the_actor() {
    let jrd = fixture("mastodon-webfinger-spec-fixture.json");
    assert_eq!(
        resolve::self_link(&jrd).as_deref(),
        Some("https://ap.example.com/users/foo")
    );
}
