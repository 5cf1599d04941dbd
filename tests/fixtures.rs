//! Our own ActivityPub objects (`tests/fixtures/activitypub/`, written here in the shapes of
//! those captured from Mastodon, PeerTube and Pixelfed) read the way the inbox reads them:
//! actors from Mastodon and PeerTube, posts from Mastodon, Pixelfed and PeerTube, what Kaleido
//! refuses (a Pixelfed Story) refused with a reason, and a mirror's PeerTube `CacheFile`. The
//! same checks run on the captured objects in `tests/captured.rs`.

mod common;

use common::fixtures::{self, OURS};

#[test]
fn actors_from_mastodon_and_peertube() {
    fixtures::actors_from_mastodon_and_peertube(&OURS);
}

#[test]
fn a_mastodon_photo_post() {
    fixtures::a_mastodon_photo_post(&OURS);
}

#[test]
fn a_pixelfed_photo_post() {
    fixtures::a_pixelfed_photo_post(&OURS);
}

#[test]
fn a_peertube_video_and_a_comment() {
    fixtures::a_peertube_video_and_a_comment(&OURS);
}

#[test]
fn what_kaleido_does_not_show_is_refused_with_a_reason() {
    fixtures::what_kaleido_does_not_show_is_refused_with_a_reason(&OURS);
}

#[test]
fn webfinger_names_the_actor() {
    fixtures::webfinger_names_the_actor(&OURS);
}

#[test]
fn a_peertube_cache_file_announcement() {
    fixtures::a_peertube_cache_file_announcement(&OURS);
}
