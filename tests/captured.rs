//! The checks of `tests/fixtures.rs` on the objects captured from real Mastodon, PeerTube and
//! Pixelfed servers (in `../shared`, listed in its `SOURCES.md`; the `CacheFile` one is derived
//! from PeerTube's source). Run by `make test-captured` only: it needs `../shared` beside the
//! clone, which a clone of this repository alone does not have.

mod common;

use common::fixtures::{self, CAPTURED};

#[test]
fn actors_from_mastodon_and_peertube() {
    fixtures::actors_from_mastodon_and_peertube(&CAPTURED);
}

#[test]
fn a_mastodon_photo_post() {
    fixtures::a_mastodon_photo_post(&CAPTURED);
}

#[test]
fn a_pixelfed_photo_post() {
    fixtures::a_pixelfed_photo_post(&CAPTURED);
}

#[test]
fn a_peertube_video_and_a_comment() {
    fixtures::a_peertube_video_and_a_comment(&CAPTURED);
}

#[test]
fn what_kaleido_does_not_show_is_refused_with_a_reason() {
    fixtures::what_kaleido_does_not_show_is_refused_with_a_reason(&CAPTURED);
}

#[test]
fn webfinger_names_the_actor() {
    fixtures::webfinger_names_the_actor(&CAPTURED);
}

#[test]
fn a_peertube_cache_file_announcement() {
    fixtures::a_peertube_cache_file_announcement(&CAPTURED);
}

/// Every field of a captured object, with the JSON type of its value, is in ours too: the
/// fixtures in the repository keep the shapes (and quirks) of what real servers send, so a
/// parser change that only the real shape breaks fails `make test` as well. Array items are
/// compared by shape, not position; `@context` terms and the derived file's `_note` are not data.
#[test]
fn our_fixtures_keep_every_captured_shape() {
    use std::collections::BTreeSet;

    use serde_json::Value;

    fn shapes(value: &Value, path: &str, out: &mut BTreeSet<String>) {
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        out.insert(format!("{path}: {kind}"));
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    if key != "@context" && key != "_note" {
                        shapes(inner, &format!("{path}.{key}"), out);
                    }
                }
            }
            Value::Array(items) => items
                .iter()
                .for_each(|item| shapes(item, &format!("{path}[]"), out)),
            _ => {}
        }
    }

    let files = std::fs::read_dir(fixtures::OURS.dir).expect("our fixtures");
    let mut compared = 0;
    for entry in files {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let captured_name = if name == fixtures::OURS.cache_file {
            CAPTURED.cache_file.to_owned()
        } else {
            name.clone()
        };
        let (mut ours, mut theirs) = (BTreeSet::new(), BTreeSet::new());
        shapes(&fixtures::read(&fixtures::OURS, &name), "", &mut ours);
        shapes(&fixtures::read(&CAPTURED, &captured_name), "", &mut theirs);
        let missing: Vec<&String> = theirs.difference(&ours).collect();
        assert!(
            missing.is_empty(),
            "{name} lacks what the captured object has: {missing:#?}"
        );
        compared += 1;
    }
    assert_eq!(compared, 10, "one of ours per captured object");
}
