//! oEmbed for video posts, so Mastodon, forums and CMSes embed the player from a link.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{auth::Viewer, pages::visible_post, views};
use crate::{
    error::{Error, Result},
    state::AppState,
};

#[derive(Deserialize)]
pub struct Query {
    url: String,
    maxwidth: Option<u32>,
    format: Option<String>,
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for a URL inside a query.
pub fn encode_component(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn html_attribute(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub async fn oembed(state: web::Data<AppState>, query: web::Query<Query>) -> Result<HttpResponse> {
    if query.format.as_deref().is_some_and(|f| f != "json") {
        return Err(Error::new(
            crate::error::Kind::BadRequest,
            "unsupported_format",
            "only format=json is offered",
        ));
    }
    // Only this instance's own post pages: /@name/ID or /statuses/ID.
    let base = state.config.public_url();
    let path = query
        .url
        .strip_prefix(base)
        .ok_or_else(|| Error::not_found("post"))?;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (name, id) = match segments.as_slice() {
        [user, id] if user.starts_with('@') => (Some(user.trim_start_matches('@')), *id),
        ["statuses", id] => (None, *id),
        _ => return Err(Error::not_found("post")),
    };
    let nobody = Viewer::nobody();
    let post = visible_post(&state, &nobody, id, name)
        .await?
        .ok_or_else(|| Error::not_found("post"))?;
    let video = post
        .photos
        .first()
        .filter(|p| p.is_video && p.ready)
        .ok_or_else(|| Error::not_found("video"))?;
    let scale = |w: u32, h: u32| match query.maxwidth {
        Some(max) if max < w && w > 0 => (max, h * max / w),
        _ => (w, h),
    };
    let (width, height) = scale(
        video.width.min(1280),
        video.height * video.width.min(1280) / video.width.max(1),
    );
    let embed = format!("{base}/statuses/{}/embed", post.id);
    Ok(HttpResponse::Ok().json(json!({
        "version": "1.0",
        "type": "video",
        "title": post.title,
        "author_name": post.author_name,
        "author_url": post.author_url,
        "provider_name": views::host(&state),
        "provider_url": base,
        "thumbnail_url": video.poster,
        "width": width,
        "height": height,
        "html": format!(
            "<iframe src=\"{}\" width=\"{width}\" height=\"{height}\" frameborder=\"0\" allowfullscreen sandbox=\"allow-scripts allow-same-origin allow-popups\" title=\"{}\"></iframe>",
            html_attribute(&embed),
            html_attribute(&post.title)
        ),
    })))
}
