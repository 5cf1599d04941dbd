//! Reading what other servers send: actors and posts in the shapes Mastodon, PeerTube,
//! Pixelfed and Kaleido produce, tolerant of the ways JSON-LD lets them differ (a value or a
//! list, an id or an embedded object), strict about what we rely on.

use serde_json::Value;
use url::Url;

use super::objects::PUBLIC;
use crate::{
    domain::{
        account::{Field, NewRemoteAccount, RemoteActor},
        media::MediaKind,
        status::Visibility,
    },
    error::{Error, Result},
};

fn invalid(message: impl Into<String>) -> Error {
    Error::unprocessable(message)
}

/// The id of a value that is either a URL string or an object with an `id`.
pub fn id_of(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// A property that may be one value or a list, as a list.
pub fn many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

pub fn str_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// The first type of an object (`type` may be a list).
pub fn type_of(value: &Value) -> &str {
    match value.get("type") {
        Some(Value::String(s)) => s,
        Some(Value::Array(items)) => items.first().and_then(Value::as_str).unwrap_or(""),
        _ => "",
    }
}

/// `host[:port]` of a URL, the way instances are named here.
pub fn host(raw: &str) -> Option<String> {
    let url = Url::parse(raw).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

pub fn same_host(a: &str, b: &str) -> bool {
    matches!((host(a), host(b)), (Some(x), Some(y)) if x == y)
}

fn http_url(raw: Option<&str>) -> Option<String> {
    let raw = raw?;
    let url = Url::parse(raw).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

pub const ACTOR_TYPES: [&str; 5] = ["Person", "Group", "Application", "Service", "Organization"];

/// An actor document. `fetched_from` is where it came from: the id must be on that host.
pub fn actor(doc: &Value, fetched_from: &str) -> Result<NewRemoteAccount> {
    let kind = type_of(doc);
    if !ACTOR_TYPES.contains(&kind) {
        return Err(invalid(format!("{kind:?} is not an actor type")));
    }
    let uri = str_of(doc, "id").ok_or_else(|| invalid("the actor has no id"))?;
    if !same_host(uri, fetched_from) {
        return Err(invalid("the actor's id is on another host than it came from"));
    }
    let domain = host(uri).ok_or_else(|| invalid("the actor's id is not a URL"))?;
    let username = str_of(doc, "preferredUsername")
        .filter(|u| !u.is_empty() && u.len() <= 100 && !u.contains(['@', '/', ' ']))
        .ok_or_else(|| invalid("the actor has no usable preferredUsername"))?;
    let inbox = http_url(str_of(doc, "inbox")).ok_or_else(|| invalid("the actor has no inbox"))?;
    // Some servers list several keys; the one owned by this actor is the one we can use.
    let key = many(doc.get("publicKey").unwrap_or(&Value::Null))
        .into_iter()
        .find(|k| str_of(k, "owner").is_none_or(|o| o == uri) && str_of(k, "publicKeyPem").is_some())
        .ok_or_else(|| invalid("the actor has no public key"))?;
    let key_id = str_of(key, "id").ok_or_else(|| invalid("the actor's key has no id"))?;
    if !same_host(key_id, uri) {
        return Err(invalid("the actor's key lives on another host"));
    }
    let endpoints = doc.get("endpoints").unwrap_or(&Value::Null);
    let icon = many(doc.get("icon").unwrap_or(&Value::Null))
        .into_iter()
        .find_map(|i| http_url(i.get("url").and_then(|u| id_of(u).or_else(|| str_of(u, "href")))));
    let header = many(doc.get("image").unwrap_or(&Value::Null))
        .into_iter()
        .find_map(|i| http_url(i.get("url").and_then(|u| id_of(u).or_else(|| str_of(u, "href")))));
    let fields = many(doc.get("attachment").unwrap_or(&Value::Null))
        .into_iter()
        .filter(|a| type_of(a) == "PropertyValue")
        .filter_map(|a| {
            let name: String = str_of(a, "name")?.chars().take(255).collect();
            let value: String = html_to_text(str_of(a, "value").unwrap_or(""))
                .chars()
                .take(2000)
                .collect();
            Some(Field {
                name,
                value,
                verified_at: None,
            })
        })
        .take(16)
        .collect();
    let profile_url = match doc.get("url") {
        Some(Value::String(s)) => http_url(Some(s)),
        Some(other) => many(other).into_iter().find_map(|l| http_url(str_of(l, "href"))),
        None => None,
    };
    Ok(NewRemoteAccount {
        username: username.to_owned(),
        domain,
        display_name: str_of(doc, "name")
            .unwrap_or(username)
            .chars()
            .take(100)
            .collect(),
        note: html_to_text(str_of(doc, "summary").unwrap_or(""))
            .chars()
            .take(2000)
            .collect(),
        locked: doc
            .get("manuallyApprovesFollowers")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        public_key_pem: str_of(key, "publicKeyPem").unwrap_or_default().to_owned(),
        actor: RemoteActor {
            uri: uri.to_owned(),
            actor_type: kind.to_owned(),
            inbox_url: inbox,
            shared_inbox_url: http_url(str_of(endpoints, "sharedInbox")),
            followers_url: http_url(str_of(doc, "followers")),
            profile_url,
            avatar_url: icon,
            header_url: header,
            key_id: key_id.to_owned(),
        },
        fields,
        discoverable: doc.get("discoverable").and_then(Value::as_bool).unwrap_or(false),
        indexable: doc.get("indexable").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// A post's attachment, shown from where it lives.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteMedia {
    pub kind: MediaKind,
    pub mime: String,
    pub url: String,
    pub preview_url: Option<String>,
    pub hls_url: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub blurhash: Option<String>,
    pub description: Option<String>,
    pub focus: Option<(f64, f64)>,
    /// Master playlists of verified copies the origin lists (Kaleido's `mirror` tags).
    pub mirrors: Vec<String>,
}

/// A post from another server: a Note (Mastodon, Pixelfed, Kaleido photos) or a Video
/// (PeerTube, Kaleido videos).
#[derive(Debug, Clone)]
pub struct RemoteStatus {
    pub uri: String,
    pub url: Option<String>,
    pub author: String,
    /// PeerTube's `name`: a video's title.
    pub title: Option<String>,
    pub text: String,
    pub visibility: Visibility,
    pub sensitive: bool,
    pub spoiler_text: String,
    pub in_reply_to: Option<String>,
    pub published_ms: Option<i64>,
    pub media: Vec<RemoteMedia>,
    /// PeerTube's view count of a video, as the origin last said.
    pub views: Option<i64>,
    /// The language named by `contentMap` (Mastodon) or `language` (PeerTube).
    pub language: Option<String>,
    /// When the author last edited it (`updated`).
    pub updated_ms: Option<i64>,
    /// The actors it mentions (`Mention` tags) or addresses by name (`to`/`cc`), by id.
    pub mentions: Vec<String>,
    /// Its hashtags, case-folded, without `#` (Mastodon's and Pixelfed's `#name`, PeerTube's
    /// bare `name`).
    pub tags: Vec<String>,
}

/// Mentioned actors and hashtags of a post object, each bounded.
fn conversation_of(object: &Value) -> (Vec<String>, Vec<String>) {
    let limit = crate::db::conversation::MAX_PER_POST;
    let mut mentions: Vec<String> = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    for item in many(object.get("tag").unwrap_or(&Value::Null))
        .into_iter()
        .take(200)
    {
        match type_of(item) {
            "Mention" => {
                if let Some(href) = http_url(str_of(item, "href"))
                    && !mentions.contains(&href)
                {
                    mentions.push(href);
                }
            }
            "Hashtag" => {
                if let Some(name) = str_of(item, "name")
                    && crate::domain::text::is_tag(name.trim_start_matches('#'))
                {
                    let tag = crate::domain::text::normal_tag(name);
                    if !tags.contains(&tag) {
                        tags.push(tag);
                    }
                }
            }
            _ => {}
        }
    }
    // Some servers address a direct post to its people without tagging them.
    for key in ["to", "cc"] {
        for id in many(object.get(key).unwrap_or(&Value::Null))
            .into_iter()
            .filter_map(id_of)
        {
            if id != PUBLIC
                && !id.ends_with("/followers")
                && let Some(href) = http_url(Some(id))
                && !mentions.contains(&href)
            {
                mentions.push(href);
            }
        }
    }
    mentions.truncate(limit);
    tags.truncate(limit);
    (mentions, tags)
}

fn language_of(object: &Value) -> Option<String> {
    let from_map = object
        .get("contentMap")
        .and_then(Value::as_object)
        .and_then(|m| m.keys().next().cloned());
    let from_peertube = object
        .get("language")
        .and_then(|l| str_of(l, "identifier"))
        .map(str::to_owned);
    from_map
        .or(from_peertube)
        .filter(|code| crate::domain::status::is_language(code))
}

pub const POST_TYPES: [&str; 6] = ["Note", "Video", "Article", "Page", "Image", "Question"];

/// Who an object or activity is addressed to, read as Mastodon's visibilities.
pub fn visibility(object: &Value) -> Visibility {
    let has = |key: &str, what: &dyn Fn(&str) -> bool| {
        many(object.get(key).unwrap_or(&Value::Null))
            .into_iter()
            .filter_map(id_of)
            .any(what)
    };
    let public = |s: &str| s == PUBLIC || s == "as:Public" || s == "Public";
    if has("to", &public) {
        Visibility::Public
    } else if has("cc", &public) {
        Visibility::Unlisted
    } else if has("to", &|s: &str| s.ends_with("/followers"))
        || has("cc", &|s: &str| s.ends_with("/followers"))
    {
        Visibility::Private
    } else {
        Visibility::Direct
    }
}

/// An RFC 3339 time (`published`, `expires`) in epoch milliseconds.
pub fn time_ms(raw: Option<&str>) -> Option<i64> {
    let t = time::OffsetDateTime::parse(raw?, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// The author: `attributedTo` may list a Person and a Group (PeerTube); the Person is the author.
fn author(object: &Value) -> Option<String> {
    let attributed = many(object.get("attributedTo").unwrap_or(&Value::Null));
    attributed
        .iter()
        .find(|a| type_of(a) == "Person")
        .and_then(|a| id_of(a))
        .or_else(|| attributed.first().and_then(|a| id_of(a)))
        .map(str::to_owned)
}

fn kind_of(mime: &str) -> Option<MediaKind> {
    if mime.starts_with("image/") {
        Some(MediaKind::Image)
    } else if mime.starts_with("video/") {
        Some(MediaKind::Video)
    } else {
        None
    }
}

fn note_attachment(a: &Value) -> Option<RemoteMedia> {
    let url_value = a.get("url")?;
    let (url, link_mime) = match url_value {
        Value::String(s) => (s.clone(), None),
        other => {
            let link = many(other).into_iter().find(|l| str_of(l, "href").is_some())?;
            (str_of(link, "href")?.to_owned(), str_of(link, "mediaType"))
        }
    };
    let mime = str_of(a, "mediaType").or(link_mime).unwrap_or(match type_of(a) {
        "Image" => "image/jpeg",
        "Video" => "video/mp4",
        _ => "",
    });
    let focus = a.get("focalPoint").and_then(Value::as_array).and_then(|p| {
        let x = p.first()?.as_f64()?;
        let y = p.get(1)?.as_f64()?;
        ((-1.0..=1.0).contains(&x) && (-1.0..=1.0).contains(&y)).then_some((x, y))
    });
    Some(RemoteMedia {
        kind: kind_of(mime)?,
        mime: mime.to_owned(),
        url: http_url(Some(&url))?,
        preview_url: None,
        hls_url: None,
        width: a.get("width").and_then(Value::as_i64),
        height: a.get("height").and_then(Value::as_i64),
        blurhash: str_of(a, "blurhash").map(str::to_owned),
        description: str_of(a, "name").filter(|n| !n.is_empty()).map(str::to_owned),
        focus,
        mirrors: Vec::new(),
    })
}

/// A PeerTube-shaped Video: the HLS master playlist, and an MP4 to play without it (the largest
/// up to 720p, as Kaleido's own `url`), with the biggest `icon` as its preview.
fn video_media(object: &Value) -> Option<RemoteMedia> {
    let links = many(object.get("url").unwrap_or(&Value::Null));
    let hls = links
        .iter()
        .find(|l| str_of(l, "mediaType") == Some("application/x-mpegURL"));
    let mut mp4s: Vec<&Value> = links
        .iter()
        .copied()
        .filter(|l| str_of(l, "mediaType") == Some("video/mp4"))
        .collect();
    if let Some(hls) = hls {
        mp4s.extend(
            many(hls.get("tag").unwrap_or(&Value::Null))
                .into_iter()
                .filter(|l| str_of(l, "mediaType") == Some("video/mp4")),
        );
    }
    let height = |l: &Value| l.get("height").and_then(Value::as_i64).unwrap_or(0);
    let mp4 = mp4s
        .iter()
        .filter(|l| height(l) <= 720)
        .max_by_key(|l| height(l))
        .or_else(|| mp4s.iter().min_by_key(|l| height(l)))
        .copied();
    let hls_url = hls.and_then(|l| http_url(str_of(l, "href")));
    let mirrors = hls
        .map(|l| many(l.get("tag").unwrap_or(&Value::Null)))
        .unwrap_or_default()
        .into_iter()
        .filter(|t| {
            str_of(t, "name") == Some("mirror") && str_of(t, "mediaType") == Some("application/x-mpegURL")
        })
        .filter_map(|t| http_url(str_of(t, "href")))
        .take(10)
        .collect();
    let url = mp4
        .and_then(|l| http_url(str_of(l, "href")))
        .or_else(|| hls_url.clone())?;
    let preview = many(object.get("icon").unwrap_or(&Value::Null))
        .into_iter()
        .max_by_key(|i| i.get("width").and_then(Value::as_i64).unwrap_or(0))
        .and_then(|i| http_url(i.get("url").and_then(id_of)));
    Some(RemoteMedia {
        kind: MediaKind::Video,
        mime: "video/mp4".into(),
        url,
        preview_url: preview,
        hls_url,
        width: mp4.and_then(|l| l.get("width")).and_then(Value::as_i64),
        height: mp4.and_then(|l| l.get("height")).and_then(Value::as_i64),
        blurhash: None,
        description: None,
        focus: None,
        mirrors,
    })
}

/// A post object. `origin` is the URL or actor it came from: the object's id must share its host.
pub fn post(object: &Value, origin: &str) -> Result<RemoteStatus> {
    let kind = type_of(object);
    if !POST_TYPES.contains(&kind) {
        return Err(invalid(format!("{kind:?} is not a post type Kaleido shows")));
    }
    let uri = str_of(object, "id").ok_or_else(|| invalid("the post has no id"))?;
    if !same_host(uri, origin) {
        return Err(invalid("the post's id is on another host than it came from"));
    }
    let author = author(object).ok_or_else(|| invalid("the post has no author"))?;
    if !same_host(&author, uri) {
        return Err(invalid("the post's author lives on another host"));
    }
    let url = match object.get("url") {
        Some(Value::String(s)) => http_url(Some(s)),
        Some(other) => many(other)
            .into_iter()
            .find(|l| str_of(l, "mediaType") == Some("text/html"))
            .and_then(|l| http_url(str_of(l, "href"))),
        None => None,
    };
    let content = str_of(object, "content").unwrap_or("");
    let text = if str_of(object, "mediaType") == Some("text/markdown") {
        content.replace("\r\n", "\n")
    } else {
        html_to_text(content)
    };
    let media = if kind == "Video" {
        video_media(object).into_iter().collect()
    } else {
        many(object.get("attachment").unwrap_or(&Value::Null))
            .into_iter()
            .filter_map(note_attachment)
            .take(20)
            .collect()
    };
    let title = (kind == "Video" || kind == "Article" || kind == "Page")
        .then(|| str_of(object, "name").map(str::to_owned))
        .flatten();
    let summary = str_of(object, "summary").map(html_to_text).unwrap_or_default();
    let (mentions, tags) = conversation_of(object);
    Ok(RemoteStatus {
        uri: uri.to_owned(),
        url,
        author,
        title,
        text: text.chars().take(20_000).collect(),
        visibility: visibility(object),
        sensitive: object.get("sensitive").and_then(Value::as_bool).unwrap_or(false) || !summary.is_empty(),
        spoiler_text: summary.chars().take(500).collect(),
        in_reply_to: object.get("inReplyTo").and_then(id_of).map(str::to_owned),
        published_ms: time_ms(str_of(object, "published")),
        media,
        views: object.get("views").and_then(Value::as_i64).filter(|v| *v >= 0),
        language: language_of(object),
        updated_ms: time_ms(str_of(object, "updated")),
        mentions,
        tags,
    })
}

/// Remote HTML as plain text: we never render another server's markup; line breaks and
/// paragraphs survive, tags do not, entities are decoded once.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
            .collect();
        match name.as_str() {
            "br" | "br/" => out.push('\n'),
            "/p" | "/li" | "/blockquote" | "/h1" | "/h2" | "/h3" | "/pre" => out.push_str("\n\n"),
            _ => {}
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    let decoded = decode_entities(&out);
    decoded
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let entity = &after[..e];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text() {
        assert_eq!(
            html_to_text("<p>Hi <a href=\"x\">@bob</a> &amp; you</p><p>line<br>two &lt;3 &#128247;</p>"),
            "Hi @bob & you\n\nline\ntwo <3 📷"
        );
        assert_eq!(html_to_text("<script>alert(1)</script>"), "alert(1)");
        assert_eq!(html_to_text("a &bogus; b & c"), "a &bogus; b & c");
    }

    #[test]
    fn hosts_compare_with_ports() {
        assert!(same_host("https://a.example/x", "https://A.example/y"));
        assert!(!same_host("http://127.0.0.1:1/x", "http://127.0.0.1:2/x"));
        assert!(!same_host("https://a.example", "https://a.example.evil"));
    }
}
