//! OAuth scopes as Mastodon defines them: `read`, `write`, `follow`, `push`, `profile`, the
//! granular `read:statuses` kind and `admin:read` / `admin:write` with theirs. A token's scopes
//! cover a required one when they name it or a scope that contains it.

use crate::error::{Error, Kind, Result};

const TOP: [&str; 5] = ["read", "write", "follow", "push", "profile"];
const READ: [&str; 11] = [
    "accounts",
    "blocks",
    "bookmarks",
    "favourites",
    "filters",
    "follows",
    "lists",
    "mutes",
    "notifications",
    "search",
    "statuses",
];
const WRITE: [&str; 14] = [
    "accounts",
    "blocks",
    "bookmarks",
    "conversations",
    "favourites",
    "filters",
    "follows",
    "lists",
    "media",
    "mutes",
    "notifications",
    "reports",
    "statuses",
    "push",
];
const ADMIN: [&str; 5] = [
    "accounts",
    "reports",
    "domain_allows",
    "domain_blocks",
    "ip_blocks",
];

fn known(scope: &str) -> bool {
    if TOP.contains(&scope) || scope == "admin:read" || scope == "admin:write" {
        return true;
    }
    match scope.split_once(':') {
        Some(("read", sub)) => READ.contains(&sub),
        Some(("write", sub)) => WRITE.contains(&sub),
        Some(("admin", rest)) => rest
            .split_once(':')
            .is_some_and(|(mode, sub)| matches!(mode, "read" | "write") && ADMIN.contains(&sub)),
        _ => false,
    }
}

/// Scopes as sent (`"read write"`, or with `+` or commas as some apps send them): each must be
/// one Mastodon knows. Empty gives `default`.
pub fn parse(raw: &str, default: &str) -> Result<Vec<String>> {
    let raw = if raw.trim().is_empty() { default } else { raw };
    let mut scopes: Vec<String> = Vec::new();
    for scope in raw
        .split(|c: char| c.is_whitespace() || c == '+' || c == ',')
        .filter(|s| !s.is_empty())
    {
        if !known(scope) {
            return Err(Error::new(
                Kind::BadRequest,
                "invalid_scope",
                format!("{scope:?} is not a scope this server knows"),
            ));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

/// Whether `granted` allows `required`.
pub fn covers(granted: &[String], required: &str) -> bool {
    granted.iter().any(|g| {
        g == required
            || required.strip_prefix(&format!("{g}:")).is_some()
            // `follow` is the old name for relationships, read and written.
            || (g == "follow"
                && matches!(
                    required,
                    "read:follows" | "write:follows" | "read:blocks" | "write:blocks" | "read:mutes" | "write:mutes"
                ))
            // `profile` only reads the signed-in account itself; `read` covers it too.
            || (required == "profile" && (g == "read" || g == "read:accounts"))
    })
}

/// Whether every scope of `requested` is within `allowed` (an app asks for no more than it
/// registered).
pub fn within(requested: &[String], allowed: &[String]) -> bool {
    requested.iter().all(|r| covers(allowed, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        parse(s, "read").expect("scopes")
    }

    #[test]
    fn scopes_cover_their_parts() {
        assert!(covers(&v("read"), "read:statuses"));
        assert!(covers(&v("write:statuses"), "write:statuses"));
        assert!(!covers(&v("read"), "write:statuses"));
        assert!(!covers(&v("read:accounts"), "read:statuses"));
        assert!(covers(&v("follow"), "write:follows"));
        assert!(covers(&v("admin:read"), "admin:read:accounts"));
        assert!(!covers(&v("read write follow"), "admin:read:accounts"));
        assert!(covers(&v("read"), "profile") && covers(&v("profile"), "profile"));
        assert!(!covers(&v("profile"), "read:accounts"));
        assert!(within(&v("read:statuses write:media"), &v("read write")));
        assert!(!within(&v("read write"), &v("read")));
    }

    #[test]
    fn unknown_scopes_are_refused() {
        assert!(parse("read everything", "read").is_err());
        assert!(parse("write:nonsense", "read").is_err());
        assert_eq!(parse("", "read").expect("default"), vec!["read".to_owned()]);
        assert_eq!(parse("read+write,follow", "read").expect("joined").len(), 3);
    }
}
