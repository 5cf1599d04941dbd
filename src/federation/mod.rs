//! ActivityPub: discovery and actor documents, objects, signatures (draft-cavage and RFC 9421),
//! the guarded outgoing client, inboxes and deliveries.

pub mod actors;
pub mod client;
pub mod inbox;
pub mod instance;
pub mod objects;
pub mod outbox;
pub mod parse;
pub mod resolve;
pub mod rfc9421;
pub mod signatures;

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

pub const ACTIVITY_JSON: &str = "application/activity+json; charset=utf-8";

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
