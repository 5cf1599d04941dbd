//! ActivityPub's vocabulary and protocol: discovery and actor documents, objects in and out,
//! resolving remote actors and posts, the instance actor, and deliveries. Signing and the
//! guarded client are `net`'s; processing what arrives is `inbox`'s.

pub mod actors;
pub mod instance;
pub mod objects;
pub mod outbox;
pub mod parse;
pub mod resolve;

/// The media types that ask for ActivityPub JSON rather than HTML.
pub fn wants_activity_json(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|part| {
            let part = part.trim();
            part.starts_with("application/activity+json")
                || (part.starts_with("application/ld+json") && part.contains("activitystreams"))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_negotiation() {
        assert!(wants_activity_json(Some("application/activity+json")));
        assert!(wants_activity_json(Some(
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
        )));
        assert!(wants_activity_json(Some(
            "text/html, application/activity+json;q=0.9"
        )));
        assert!(!wants_activity_json(Some("text/html,application/xhtml+xml")));
        assert!(!wants_activity_json(Some("application/ld+json")));
        assert!(!wants_activity_json(None));
    }
}
