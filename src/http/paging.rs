//! Mastodon's `Link` header for paged lists: the next (older) page from the last item, and
//! the previous (newer) one from the first, keeping the request's other parameters (its
//! `limit`, its filters) so a client that follows the link gets the same kind of page.

use actix_web::HttpRequest;

const CURSORS: &[&str] = &["max_id", "min_id", "since_id"];

fn page_url(base: &str, req: &HttpRequest, cursor: &str, id: &str) -> String {
    let kept = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| !CURSORS.contains(&k.as_ref()));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .append_pair(cursor, id)
        .finish();
    format!("{base}{}?{query}", req.path())
}

/// The header's value: `next` only, or with `prev` when the first id is given.
pub fn link(base: &str, req: &HttpRequest, first: Option<&str>, last: &str) -> String {
    let next = format!("<{}>; rel=\"next\"", page_url(base, req, "max_id", last));
    match first {
        Some(first) => format!("{next}, <{}>; rel=\"prev\"", page_url(base, req, "min_id", first)),
        None => next,
    }
}
