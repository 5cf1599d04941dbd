//! What the templates see: plain data built from statuses and media, with the URLs, sizes and
//! text already decided, so templates only lay things out.

use serde::Serialize;

use super::entities::status_url;
use crate::{
    domain::{
        media::{Media, MediaKind, MediaState},
        status::Visibility,
    },
    state::AppState,
    statuses::Hydrated,
};

#[derive(Serialize)]
pub struct Photo {
    pub src: String,
    pub srcset: String,
    pub width: u32,
    pub height: u32,
    pub alt: String,
    pub blurhash: Option<String>,
    pub is_video: bool,
    pub ready: bool,
    /// Videos: the master playlist and the still shown before playing.
    pub hls: Option<String>,
    pub poster: Option<String>,
    /// For the player's beacons (views, failovers).
    pub media_id: String,
}

#[derive(Serialize)]
pub struct Post {
    pub id: String,
    pub url: String,
    pub author_name: String,
    pub author_handle: String,
    pub author_url: String,
    pub content_html: String,
    pub excerpt: String,
    /// A short title for the page and link previews.
    pub title: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub created_at: String,
    pub photos: Vec<Photo>,
    pub published: bool,
    /// Replies, boosts, likes; and whether the viewer liked or boosted it.
    pub replies: i64,
    pub reblogs: i64,
    pub favourites: i64,
    pub favourited: bool,
    pub reblogged: bool,
    /// Only public and unlisted posts can be boosted.
    pub boostable: bool,
    pub visibility: &'static str,
    pub tags: Vec<String>,
    /// Who boosted it, when this came as a boost.
    pub boosted_by: Option<String>,
}

pub fn host(state: &AppState) -> String {
    let url = state.config.public_url();
    url.split_once("://").map_or(url, |(_, h)| h).to_owned()
}

pub fn photo(state: &AppState, media: &Media) -> Photo {
    if let Some(remote) = &media.remote {
        // Another server's media is shown from where it lives.
        return Photo {
            src: remote.url.clone(),
            srcset: String::new(),
            width: media.width.unwrap_or(0).max(0) as u32,
            height: media.height.unwrap_or(0).max(0) as u32,
            alt: media.description.clone().unwrap_or_default(),
            blurhash: media.blurhash.clone(),
            is_video: media.kind == MediaKind::Video,
            ready: true,
            // Through this instance, which adds its own copy when it holds one.
            hls: remote
                .hls_url
                .as_ref()
                .map(|_| format!("{}/media/{}/master.m3u8", state.config.public_url(), media.id)),
            // Through this instance too: our copy's poster outlives the origin.
            poster: match (media.kind, &remote.preview_url) {
                (MediaKind::Video, Some(_)) => {
                    Some(format!("{}/media/{}/poster", state.config.public_url(), media.id))
                }
                _ => remote.preview_url.clone(),
            },
            media_id: media.id.clone(),
        };
    }
    let ready = media.state == MediaState::Ready;
    // One candidate per width: small images have identical variants.
    let mut widths = Vec::new();
    let srcset = ["thumb", "preview", "display"]
        .iter()
        .filter_map(|name| media.variant(name))
        .filter(|v| {
            let new = !widths.contains(&v.width);
            widths.push(v.width);
            new
        })
        .map(|v| format!("{} {}w", state.file_url(&v.key), v.width))
        .collect::<Vec<_>>()
        .join(", ");
    let main = media
        .variant("display")
        .or_else(|| media.variant("mp4"))
        .or_else(|| media.variant("original"));
    Photo {
        src: main
            .filter(|_| ready)
            .map(|v| state.file_url(&v.key))
            .unwrap_or_default(),
        srcset,
        width: main.map_or(0, |v| v.width),
        height: main.map_or(0, |v| v.height),
        // Every image gets an alt attribute; an empty one says "decorative" rather than nothing.
        alt: media.description.clone().unwrap_or_default(),
        blurhash: media.blurhash.clone(),
        is_video: media.kind == MediaKind::Video,
        ready,
        // The playlist that lists every known copy, so the player can move between them.
        hls: media
            .variant("hls")
            .filter(|_| ready)
            .map(|_| format!("{}/media/{}/master.m3u8", state.config.public_url(), media.id)),
        poster: media
            .variant("thumb")
            .filter(|_| ready && media.kind == MediaKind::Video)
            .map(|v| state.file_url(&v.key)),
        media_id: media.id.clone(),
    }
}

fn title(text: &str, photos: usize) -> String {
    let first_line = text.lines().next().unwrap_or_default().trim();
    if first_line.is_empty() {
        return match photos {
            0 => "a post".to_owned(),
            1 => "a photo".to_owned(),
            n => format!("{n} photos"),
        };
    }
    let mut title: String = first_line.chars().take(60).collect();
    if first_line.chars().count() > 60 {
        title.push('…');
    }
    title
}

pub fn post(state: &AppState, item: &Hydrated) -> Post {
    // A boost shows the boosted post, saying who boosted it.
    if let Some(inner) = &item.reblog {
        let mut shown = post(state, inner);
        shown.boosted_by = Some(if item.author.display_name.is_empty() {
            item.author.username.clone()
        } else {
            item.author.display_name.clone()
        });
        return shown;
    }
    let full_text;
    let text = match &item.status.title {
        Some(title) => {
            full_text = format!("{title}\n\n{}", item.status.text.trim());
            full_text.as_str()
        }
        None => item.status.text.trim(),
    };
    let excerpt: String = text.chars().take(200).collect();
    let base = state.config.public_url();
    // Remote posts and authors get this instance's pages, which link on to their origin.
    let (url, author_handle, author_url) = match &item.author.domain {
        Some(domain) => (
            format!("{base}/statuses/{}", item.status.id),
            format!("@{}@{domain}", item.author.username),
            format!("{base}/@{}@{domain}", item.author.username),
        ),
        None => (
            status_url(state, &item.author.username, &item.status.id),
            format!("@{}@{}", item.author.username, host(state)),
            format!("{base}/@{}", item.author.username),
        ),
    };
    Post {
        id: item.status.id.clone(),
        url,
        author_name: if item.author.display_name.is_empty() {
            item.author.username.clone()
        } else {
            item.author.display_name.clone()
        },
        author_handle,
        author_url,
        content_html: super::entities::content_html(state, &item.status, &item.mentions),
        title: title(text, item.media.len()),
        excerpt,
        spoiler_text: item.status.spoiler_text.clone(),
        sensitive: item.status.sensitive,
        created_at: crate::domain::time::rfc3339(item.status.created_at),
        photos: item.media.iter().map(|m| photo(state, m)).collect(),
        published: item.status.published_at.is_some(),
        replies: item.counts.0,
        reblogs: item.counts.1,
        favourites: item.counts.2,
        favourited: item.favourited,
        reblogged: item.reblogged,
        boostable: matches!(item.status.visibility, Visibility::Public | Visibility::Unlisted),
        visibility: item.status.visibility.as_str(),
        tags: item.tags.clone(),
        boosted_by: None,
    }
}
