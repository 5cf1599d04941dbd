//! The ActivityPub objects the parser must read, in two sets of the same shapes: ours, written
//! in this repository (`tests/fixtures/activitypub/`), and the objects captured from Mastodon,
//! PeerTube and Pixelfed (`../shared/fixtures/activitypub/`, beside the clone). Each check reads
//! one set and asserts what its values must parse to: `tests/fixtures.rs` runs them on [`OURS`],
//! `tests/captured.rs` (`make test-captured`) on [`CAPTURED`].
#![allow(dead_code)]

use kaleido::{
    domain::{media::MediaKind, status::Visibility},
    federation::{parse, resolve},
};
use serde_json::Value;

/// A set of fixtures and the values its objects hold.
pub struct Set {
    /// What the set is called in messages.
    pub name: &'static str,
    pub dir: &'static str,
    /// What to do when a file of the set is missing.
    pub missing: &'static str,
    /// The `Create{CacheFile}` a PeerTube mirror sends.
    pub cache_file: &'static str,
    pub mastodon_person: MastodonPerson,
    pub peertube_account: PeerTubeAccount,
    pub peertube_channel: PeerTubeChannel,
    pub mastodon_post: MastodonPost,
    pub pixelfed_post: PixelfedPost,
    pub peertube_video: PeerTubeVideo,
    pub peertube_comment: PeerTubeComment,
    /// Where the Pixelfed Story comes from.
    pub story_origin: &'static str,
    /// The actor the WebFinger JRD's `self` link names.
    pub webfinger_self: &'static str,
}

/// `mastodon-person.json`.
pub struct MastodonPerson {
    pub fetched_from: &'static str,
    pub username: &'static str,
    pub domain: &'static str,
    pub key_id: &'static str,
    pub delivery_inbox: &'static str,
}

/// `peertube-account-person.json`.
pub struct PeerTubeAccount {
    pub fetched_from: &'static str,
    pub username: &'static str,
    pub shared_inbox: &'static str,
}

/// `peertube-channel-group.json`.
pub struct PeerTubeChannel {
    pub fetched_from: &'static str,
    pub username: &'static str,
}

/// The Note of `mastodon-create-note-media.json` and its one photo.
pub struct MastodonPost {
    /// Where it comes from, and its author.
    pub author: &'static str,
    pub text_start: &'static str,
    pub mime: &'static str,
    pub size: (i64, i64),
    pub blurhash: &'static str,
    pub focus: (f64, f64),
    pub description_start: &'static str,
    pub url_start: &'static str,
    /// Its first hashtags, as they are kept (case-folded, no `#`).
    pub tags_start: &'static [&'static str],
}

/// The Note of `pixelfed-create-note-photo.json` and its one photo.
pub struct PixelfedPost {
    pub origin: &'static str,
    pub text_start: &'static str,
    pub size: (i64, i64),
    pub description_start: &'static str,
    pub tags: &'static [&'static str],
}

/// `peertube-video.json`.
pub struct PeerTubeVideo {
    /// Where it comes from, and its `text/html` link.
    pub url: &'static str,
    pub author: &'static str,
    pub title_start: &'static str,
    pub text_start: &'static str,
    /// The MP4 to play without HLS: the largest rendition up to 720p.
    pub mp4_end: &'static str,
    pub mp4_height: i64,
}

/// `peertube-comment-note.json`.
pub struct PeerTubeComment {
    pub origin: &'static str,
    pub in_reply_to: &'static str,
    pub text: &'static str,
    /// The actor its `Mention` names.
    pub mentions: &'static str,
}

/// Ours, written in this repository in the captured objects' shapes (on invented `.example`
/// hosts). The video has renditions of 1080, 720 and 240 lines: 720 itself is the MP4.
pub const OURS: Set = Set {
    name: "in-repository",
    dir: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/activitypub"),
    missing: "it belongs to the repository (tests/fixtures/activitypub/)",
    cache_file: "peertube-create-cachefile.json",
    mastodon_person: MastodonPerson {
        fetched_from: "https://social.example/users/heronwatch",
        username: "heronwatch",
        domain: "social.example",
        key_id: "https://social.example/users/heronwatch#main-key",
        delivery_inbox: "https://social.example/inbox",
    },
    peertube_account: PeerTubeAccount {
        fetched_from: "https://video.example/accounts/x",
        username: "maplewood",
        shared_inbox: "https://video.example/inbox",
    },
    peertube_channel: PeerTubeChannel {
        fetched_from: "https://video.example/video-channels/x",
        username: "maplewood_workshop",
    },
    mastodon_post: MastodonPost {
        author: "https://social.example/users/wrenfield",
        text_start: "Back from a week on the coast. It's time",
        mime: "image/png",
        size: (2048, 1365),
        blurhash: "UaEx@rs:jtof0rS4a|WX$%oKjtj@xaj@fQj@",
        focus: (0.32, -0.15),
        description_start: "Photo catalogue on a laptop",
        url_start: "https://files.social.example/",
        tags_start: &["tidepools", "goteborg", "skagen"],
    },
    pixelfed_post: PixelfedPost {
        origin: "https://pixels.example/users/juniperlens",
        text_start: "Reflections #urbanlight",
        size: (1440, 1800),
        description_start: "Neon shop signs mirrored",
        tags: &["nightphotography", "urbanlight"],
    },
    peertube_video: PeerTubeVideo {
        url: "https://video.example/videos/watch/c1a81c40-9cf3-4729-ab1d-9b609492f74b",
        author: "https://video.example/accounts/maplewood",
        title_start: "Restoring a 1962 valve radio",
        text_start: "Parts list and schematic: https://workshop.example/",
        mp4_end: "-720-fragmented.mp4",
        mp4_height: 720,
    },
    peertube_comment: PeerTubeComment {
        origin: "https://video.example/accounts/fernhollow",
        in_reply_to: "https://chatter.example/objects/fb488f18-2e5a-4d7b-ad65-25cce213b3b0",
        text: "@kestrel@chatter.example thanks, will try",
        mentions: "https://chatter.example/users/kestrel",
    },
    story_origin: "https://pixels.example/users/juniperlens",
    webfinger_self: "https://photos.example/users/ottilie",
};

/// The objects captured from real servers (listed in `../shared/fixtures/activitypub/SOURCES.md`).
/// The video has renditions of 1080, 360 and 144 lines: 360 is the MP4.
pub const CAPTURED: Set = Set {
    name: "captured",
    dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/activitypub"),
    missing: "`make test-captured` needs ../shared (the captured fixtures) beside the clone",
    cache_file: "peertube-create-cachefile.DERIVED.json",
    mastodon_person: MastodonPerson {
        fetched_from: "https://masto.qa.urbanwildlife.biz/users/mastodon",
        username: "mastodon",
        domain: "masto.qa.urbanwildlife.biz",
        key_id: "https://masto.qa.urbanwildlife.biz/users/mastodon#main-key",
        delivery_inbox: "https://masto.qa.urbanwildlife.biz/inbox",
    },
    peertube_account: PeerTubeAccount {
        fetched_from: "https://tilvids.com/accounts/x",
        username: "thelinuxexperiment",
        shared_inbox: "https://tilvids.com/inbox",
    },
    peertube_channel: PeerTubeChannel {
        fetched_from: "https://tilvids.com/video-channels/x",
        username: "thelinuxexperiment_channel",
    },
    mastodon_post: MastodonPost {
        author: "https://mastodon.social/users/mczachurski",
        text_start: "Holidays almost finished. It's time",
        mime: "image/png",
        size: (2200, 1384),
        blurhash: "U48NqcIA9ZX8t8axofs,0JRjxat7D$t8xuIU",
        focus: (0.0, 0.0),
        description_start: "Screenshot from Capture One",
        url_start: "https://files.mastodon.social/",
        tags_start: &["prague", "gdansk", "krakow", "london"],
    },
    pixelfed_post: PixelfedPost {
        origin: "https://pixelfed.social/users/mczachurski",
        text_start: "Shadows #colorphotography",
        size: (1620, 1080),
        description_start: "Stickers on the glass",
        tags: &["streetphotography", "colorphotography"],
    },
    peertube_video: PeerTubeVideo {
        url: "https://tilvids.com/videos/watch/e7946124-7b72-4ad7-9d22-844a84bb2de1",
        author: "https://tilvids.com/accounts/thelinuxexperiment",
        title_start: "Mesa, Wayland & X.org in trouble",
        text_start: "Head to https://squarespace.com",
        mp4_end: "-360-fragmented.mp4",
        mp4_height: 360,
    },
    peertube_comment: PeerTubeComment {
        origin: "https://video.antopie.org/accounts/yoge6785555",
        in_reply_to: "https://bae.st/objects/87c1cbf5-542a-491d-af57-0414c8648381",
        text: "@af2@bae.st idk",
        mentions: "https://bae.st/users/af2",
    },
    story_origin: "https://pixelfed.test/users/dansup",
    webfinger_self: "https://ap.example.com/users/foo",
};

/// One file of a set, parsed; a missing file fails the test naming its path.
pub fn read(set: &Set, name: &str) -> Value {
    let path = format!("{}/{name}", set.dir);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the {} fixture {path} cannot be read ({e}): {}",
            set.name, set.missing
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the {} fixture {path} is not JSON: {e}", set.name))
}

pub fn actors_from_mastodon_and_peertube(set: &Set) {
    let expected = &set.mastodon_person;
    let mastodon =
        parse::actor(&read(set, "mastodon-person.json"), expected.fetched_from).expect("Mastodon Person");
    assert_eq!(mastodon.username, expected.username);
    assert_eq!(mastodon.domain, expected.domain);
    assert_eq!(mastodon.actor.actor_type, "Person");
    assert_eq!(mastodon.actor.key_id, expected.key_id);
    assert_eq!(mastodon.actor.delivery_inbox(), expected.delivery_inbox);
    assert!(mastodon.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----"));

    let expected = &set.peertube_account;
    let account = parse::actor(&read(set, "peertube-account-person.json"), expected.fetched_from)
        .expect("PeerTube Person");
    assert_eq!(account.username, expected.username);
    assert_eq!(
        account.actor.shared_inbox_url.as_deref(),
        Some(expected.shared_inbox)
    );
    let expected = &set.peertube_channel;
    let channel = parse::actor(&read(set, "peertube-channel-group.json"), expected.fetched_from)
        .expect("PeerTube Group");
    assert_eq!(channel.actor.actor_type, "Group");
    assert_eq!(channel.username, expected.username);

    // An actor document served by another host than its id names is not believed.
    assert!(
        parse::actor(
            &read(set, "mastodon-person.json"),
            "https://evil.example/users/mastodon"
        )
        .is_err()
    );
}

pub fn a_mastodon_photo_post(set: &Set) {
    let expected = &set.mastodon_post;
    let create = read(set, "mastodon-create-note-media.json");
    let post = parse::post(&create["object"], expected.author).expect("Note");
    assert_eq!(post.author, expected.author);
    assert_eq!(post.visibility, Visibility::Public);
    assert!(post.text.starts_with(expected.text_start), "{}", post.text);
    assert!(!post.text.contains('<'), "markup survived: {}", post.text);
    let photo = &post.media[0];
    assert_eq!(photo.kind, MediaKind::Image);
    assert_eq!(photo.mime, expected.mime);
    assert_eq!(
        (photo.width, photo.height),
        (Some(expected.size.0), Some(expected.size.1))
    );
    assert_eq!(photo.blurhash.as_deref(), Some(expected.blurhash));
    assert_eq!(photo.focus, Some(expected.focus));
    assert!(
        photo
            .description
            .as_deref()
            .is_some_and(|d| d.starts_with(expected.description_start))
    );
    assert!(photo.url.starts_with(expected.url_start));
    assert_eq!(&post.tags[..expected.tags_start.len()], expected.tags_start);
    assert!(post.mentions.is_empty(), "{:?}", post.mentions);
}

pub fn a_pixelfed_photo_post(set: &Set) {
    let expected = &set.pixelfed_post;
    let create = read(set, "pixelfed-create-note-photo.json");
    let post = parse::post(&create["object"], expected.origin).expect("Note");
    assert_eq!(post.visibility, Visibility::Public);
    assert!(post.text.starts_with(expected.text_start), "{}", post.text);
    let photo = &post.media[0];
    assert_eq!(photo.kind, MediaKind::Image);
    assert_eq!(
        (photo.width, photo.height),
        (Some(expected.size.0), Some(expected.size.1))
    );
    assert!(
        photo
            .description
            .as_deref()
            .is_some_and(|d| d.starts_with(expected.description_start))
    );
    assert!(photo.blurhash.is_some());
    assert_eq!(post.tags, expected.tags);
}

pub fn a_peertube_video_and_a_comment(set: &Set) {
    let expected = &set.peertube_video;
    let video = read(set, "peertube-video.json");
    let post = parse::post(&video, expected.url).expect("Video");
    assert_eq!(post.author, expected.author);
    assert!(
        post.title
            .as_deref()
            .is_some_and(|t| t.starts_with(expected.title_start))
    );
    assert!(
        post.text.starts_with(expected.text_start),
        "markdown kept as text"
    );
    assert_eq!(post.url.as_deref(), Some(expected.url));
    let media = &post.media[0];
    assert_eq!(media.kind, MediaKind::Video);
    assert!(
        media
            .hls_url
            .as_deref()
            .is_some_and(|u| u.ends_with("-master.m3u8"))
    );
    // The MP4 to play without HLS: the largest rendition up to 720p.
    assert!(media.url.ends_with(expected.mp4_end), "{}", media.url);
    assert_eq!(media.height, Some(expected.mp4_height));
    assert!(
        media
            .preview_url
            .as_deref()
            .is_some_and(|u| u.contains("/previews/")),
        "the larger icon"
    );

    let expected = &set.peertube_comment;
    let comment = read(set, "peertube-comment-note.json");
    let reply = parse::post(&comment, expected.origin).expect("Note");
    assert_eq!(reply.in_reply_to.as_deref(), Some(expected.in_reply_to));
    assert_eq!(reply.text, expected.text);
    assert_eq!(reply.mentions, vec![expected.mentions.to_owned()]);
}

pub fn what_kaleido_does_not_show_is_refused_with_a_reason(set: &Set) {
    let story = read(set, "pixelfed-story.json");
    let err = parse::post(&story, set.story_origin).expect_err("a Story is not a post");
    assert!(err.message.contains("Story"), "{}", err.message);
    // A post whose id is on another host than the server that handed it over is not believed.
    let create = read(set, "mastodon-create-note-media.json");
    assert!(parse::post(&create["object"], "https://evil.example/users/x").is_err());
}

pub fn webfinger_names_the_actor(set: &Set) {
    let jrd = read(set, "mastodon-webfinger-spec-fixture.json");
    assert_eq!(resolve::self_link(&jrd).as_deref(), Some(set.webfinger_self));
}

/// The `Create{CacheFile}` a PeerTube mirror sends about the video: what the origin's inbox
/// reads of it (`tests/mirroring.rs` delivers ours, its hosts made the test's).
pub fn a_peertube_cache_file_announcement(set: &Set) {
    let create = read(set, set.cache_file);
    assert_eq!(parse::type_of(&create), "Create");
    let mirror = parse::str_of(&create, "actor").expect("actor");
    let owner = set.peertube_video.author;
    assert_eq!(create["to"], serde_json::json!([owner]));
    let object = &create["object"];
    assert_eq!(parse::type_of(object), "CacheFile");
    let id = parse::str_of(object, "id").expect("id");
    assert!(parse::same_host(id, mirror), "{id} is not on {mirror}");
    assert_eq!(
        object.get("object").and_then(parse::id_of),
        Some(set.peertube_video.url)
    );
    assert!(parse::time_ms(parse::str_of(object, "expires")).is_some());
    assert_eq!(object["url"]["type"], "Link");
    assert_eq!(object["url"]["mediaType"], "application/x-mpegURL");
    let href = parse::str_of(&object["url"], "href").expect("href");
    assert!(parse::same_host(href, mirror), "{href} is not on {mirror}");
    assert_eq!(object["to"], serde_json::json!([owner]));
    assert_eq!(object["cc"], serde_json::json!([]));
}
