//! Which scope each API request needs, as Mastodon documents them: reading needs a `read:`
//! scope and changing a `write:` one, each of its kind; relationships take `follow` too (the
//! scope covers them); the admin API needs `admin:read:` / `admin:write:`.

use actix_web::http::Method;

pub fn required(method: &Method, path: &str) -> &'static str {
    let read = matches!(*method, Method::GET | Method::HEAD);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rw = |r: &'static str, w: &'static str| if read { r } else { w };
    match segments.as_slice() {
        ["api", _, "admin", kind, ..] => match *kind {
            "reports" => rw("admin:read:reports", "admin:write:reports"),
            "domain_blocks" => rw("admin:read:domain_blocks", "admin:write:domain_blocks"),
            // Mirroring and quotas belong to running the server, as accounts do.
            _ => rw("admin:read:accounts", "admin:write:accounts"),
        },
        ["api", "v1", "accounts", "verify_credentials"] => "profile",
        ["api", "v1", "accounts", "update_credentials"] | ["api", "v1", "profile", ..] => "write:accounts",
        ["api", "v1", "accounts", "relationships"]
        | ["api", "v1", "accounts", _, "followers" | "following"] => "read:follows",
        ["api", "v1", "blocks"] => "read:blocks",
        ["api", "v1", "mutes"] => "read:mutes",
        ["api", "v1", "lists", ..] => rw("read:lists", "write:lists"),
        ["api", _, "filters", ..] => rw("read:filters", "write:filters"),
        ["api", "v1", "conversations", ..] => rw("read:statuses", "write:conversations"),
        ["api", "v1", "markers"] => rw("read:statuses", "write:statuses"),
        ["api", "v1", "accounts", _, "follow" | "unfollow"] => "write:follows",
        ["api", "v1", "accounts", _, "block" | "unblock"] => "write:blocks",
        ["api", "v1", "accounts", _, "mute" | "unmute"] => "write:mutes",
        ["api", "v1", "accounts", ..] => rw("read:accounts", "write:accounts"),
        ["api", "v1", "follow_requests", ..] => rw("read:follows", "write:follows"),
        ["api", _, "notifications", ..] => rw("read:notifications", "write:notifications"),
        ["api", "v1", "tags", _, "follow" | "unfollow"] => "write:follows",
        ["api", "v1", "followed_tags"] => "read:follows",
        ["api", "v1", "featured_tags", ..] => rw("read:accounts", "write:accounts"),
        ["api", _, "search"] => "read:search",
        ["api", "v1", "statuses", _, "favourite" | "unfavourite"] => "write:favourites",
        ["api", "v1", "statuses", _, "bookmark" | "unbookmark"] => "write:bookmarks",
        // A pin changes the profile, as Mastodon scopes it.
        ["api", "v1", "statuses", _, "pin" | "unpin"] => "write:accounts",
        ["api", "v1", "statuses", ..] | ["api", "v1", "timelines", ..] => {
            rw("read:statuses", "write:statuses")
        }
        // Mastodon asks write:media even to read an upload's state.
        ["api", _, "media", ..] | ["api", "v1", "tus", ..] => "write:media",
        ["api", "v1", "reports", ..] => "write:reports",
        ["api", "v1", "favourites"] => "read:favourites",
        ["api", "v1", "bookmarks"] => "read:bookmarks",
        _ => rw("read", "write"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_and_writing_need_their_kind() {
        assert_eq!(required(&Method::GET, "/api/v1/timelines/home"), "read:statuses");
        assert_eq!(required(&Method::POST, "/api/v1/statuses"), "write:statuses");
        assert_eq!(required(&Method::POST, "/api/v2/media"), "write:media");
        assert_eq!(
            required(&Method::POST, "/api/v1/accounts/1/follow"),
            "write:follows"
        );
        assert_eq!(
            required(&Method::GET, "/api/v1/accounts/verify_credentials"),
            "profile"
        );
        assert_eq!(
            required(&Method::GET, "/api/v2/admin/accounts"),
            "admin:read:accounts"
        );
        assert_eq!(
            required(&Method::POST, "/api/v1/admin/reports/1/resolve"),
            "admin:write:reports"
        );
        assert_eq!(
            required(&Method::PATCH, "/api/v1/accounts/update_credentials"),
            "write:accounts"
        );
    }
}
