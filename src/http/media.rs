use actix_multipart::Multipart;
use actix_web::{HttpResponse, http::StatusCode, web};
use futures_util::StreamExt;

use super::{auth::CurrentAccount, beacons::Beacons, entities};
use crate::{
    db,
    domain::media::{Focus, MediaState},
    error::{Error, Result},
    media::ingest::{self, MAX_DESCRIPTION_CHARS},
    state::AppState,
};

/// Text fields beside the file are small; anything bigger is not a description.
const MAX_TEXT_FIELD_BYTES: usize = MAX_DESCRIPTION_CHARS * 4 + 64;

pub async fn upload(
    state: web::Data<AppState>,
    current: CurrentAccount,
    mut form: Multipart,
) -> Result<HttpResponse> {
    let mut upload = None;
    let mut file_name = None;
    let mut description = None;
    let mut focus = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| Error::bad_request(format!("malformed multipart body: {e}")))?;
        match field.name().unwrap_or_default() {
            "file" if upload.is_none() => {
                file_name = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .map(str::to_owned);
                let limit = state.config.limits.max_upload_bytes;
                upload = Some(ingest::spool(&mut field, limit, &state.config.storage.tmp_path).await?);
            }
            "description" => description = Some(read_text(&mut field).await?),
            // Checked before the file is stored: a bad focus refuses the upload whole.
            "focus" => {
                let raw = read_text(&mut field).await?;
                focus = Some(Focus::parse(&raw).ok_or_else(|| {
                    Error::unprocessable("focus must be \"x,y\" with both between -1.0 and 1.0")
                })?);
            }
            _ => {
                // Unknown fields are drained and ignored, as Mastodon does.
                while let Some(chunk) = field.next().await {
                    chunk.map_err(|e| Error::bad_request(format!("malformed multipart body: {e}")))?;
                }
            }
        }
    }
    let upload = upload.ok_or_else(|| Error::unprocessable("the form has no `file` field"))?;
    let mut media = ingest::accept(&state, &current.0.id, upload, description, file_name.as_deref()).await?;
    if focus.is_some() {
        db::media::update_details(&state.db, &media.id, media.description.as_deref(), focus).await?;
        media.focus = focus;
    }
    let status = if media.state == MediaState::Ready {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok(HttpResponse::build(status).json(entities::media_attachment(&state, &media)))
}

/// `/media/:id/master.m3u8`: a video's master playlist listing every known copy, for
/// players; served with CORS like the files it points at.
/// Combined master playlists answered lately, for as long as the answer says it may be kept:
/// each request for a remote video's may cost fetches from its origin and copies, and anyone
/// may ask.
#[derive(Default)]
pub struct PlaylistCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, String)>>,
}

const PLAYLIST_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);
const PLAYLIST_CACHE_ENTRIES: usize = 10_000;

impl PlaylistCache {
    fn get(&self, media_id: &str, now: std::time::Instant) -> Option<String> {
        let entries = self.entries.lock().ok()?;
        let (at, body) = entries.get(media_id)?;
        (now.duration_since(*at) < PLAYLIST_MAX_AGE).then(|| body.clone())
    }

    fn put(&self, media_id: &str, body: &str, now: std::time::Instant) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= PLAYLIST_CACHE_ENTRIES {
            entries.retain(|_, (at, _)| now.duration_since(*at) < PLAYLIST_MAX_AGE);
            if entries.len() >= PLAYLIST_CACHE_ENTRIES {
                return;
            }
        }
        entries.insert(media_id.to_owned(), (now, body.to_owned()));
    }
}

pub async fn master_playlist(
    state: web::Data<AppState>,
    cache: web::Data<PlaylistCache>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let now = std::time::Instant::now();
    let answer = |body: String| {
        HttpResponse::Ok()
            .insert_header(("Content-Type", "application/vnd.apple.mpegurl"))
            .insert_header(("Access-Control-Allow-Origin", "*"))
            .insert_header((
                "Cache-Control",
                format!("public, max-age={}", PLAYLIST_MAX_AGE.as_secs()),
            ))
            .body(body)
    };
    let media = db::media::get(&state.db, &id)
        .await?
        .filter(|m| m.kind == crate::domain::media::MediaKind::Video && m.state == MediaState::Ready)
        .ok_or_else(|| Error::not_found("playlist"))?;
    // Only a remote video's answer costs fetches; a local one's is read from our own store.
    let remote = media.remote.is_some();
    if remote && let Some(body) = cache.get(&id, now) {
        return Ok(answer(body));
    }
    // Like the files it lists, it is reachable by those who know the media's id.
    let body = match crate::mirror::playlist::for_media(&state, &media).await? {
        crate::mirror::playlist::Playlist::Combined(body) => body,
        crate::mirror::playlist::Playlist::Origin(url) => {
            return Ok(HttpResponse::Found()
                .insert_header(("Location", url))
                .insert_header(("Access-Control-Allow-Origin", "*"))
                .finish());
        }
    };
    if remote {
        cache.put(&id, &body, now);
    }
    Ok(answer(body))
}

/// A remote video's poster: our copy's when we hold one (so the page needs nothing of an
/// origin that is gone), else the origin's.
pub async fn poster(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse> {
    let media = db::media::get(&state.db, &id)
        .await?
        .ok_or_else(|| Error::not_found("poster"))?;
    let url = crate::mirror::playlist::poster_for(&state, &media)
        .await?
        .ok_or_else(|| Error::not_found("poster"))?;
    Ok(HttpResponse::Found()
        .insert_header(("Location", url))
        .insert_header(("Cache-Control", "public, max-age=60"))
        .finish())
}

/// The player's "watched for a while" beacon: plays here rank videos for mirroring and are
/// the `views` a local video federates.
pub async fn view(
    state: web::Data<AppState>,
    beacons: web::Data<Beacons>,
    req: actix_web::HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    // Looked up before anything is remembered: a beacon for a media that does not exist (of
    // any length) must cost nothing.
    video(&state, &id).await?;
    if counts(&beacons, &req, &id, "views") && !db::statuses::add_view(&state.db, &id).await? {
        return Err(Error::not_found("media"));
    }
    Ok(HttpResponse::NoContent().finish())
}

async fn video(state: &AppState, id: &str) -> Result<crate::domain::media::Media> {
    if id.len() > 64 {
        return Err(Error::not_found("media"));
    }
    db::media::get(&state.db, id)
        .await?
        .filter(|m| m.kind == crate::domain::media::MediaKind::Video)
        .ok_or_else(|| Error::not_found("media"))
}

/// Whether a beacon is the first of its kind from this viewer for this video lately; repeats
/// are answered the same but not counted.
fn counts(beacons: &Beacons, req: &actix_web::HttpRequest, media_id: &str, kind: &'static str) -> bool {
    super::beacons::viewer_address(req)
        .is_some_and(|address| beacons.first(address, media_id, kind, std::time::Instant::now()))
}

/// The player's "moved to another copy" beacon, for `/metrics`: failovers happen in browsers.
pub async fn failover(
    state: web::Data<AppState>,
    beacons: web::Data<Beacons>,
    req: actix_web::HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    video(&state, &id).await?;
    if counts(&beacons, &req, &id, "failovers") {
        db::mirrors::count(&state.db, "player_failovers_total", 1).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

async fn read_text(field: &mut actix_multipart::Field) -> Result<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| Error::bad_request(format!("malformed multipart body: {e}")))?;
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD_BYTES {
            return Err(Error::unprocessable(format!(
                "the description is longer than {MAX_DESCRIPTION_CHARS} characters"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| Error::bad_request("text fields must be UTF-8"))
}

/// The owner's view of a media: 200 ready, 206 still processing, 422 failed.
pub async fn show(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let media = db::media::get(&state.db, &id)
        .await?
        .filter(|m| m.account_id == current.0.id)
        .ok_or_else(|| Error::not_found("media"))?;
    let status = match media.state {
        MediaState::Ready => StatusCode::OK,
        MediaState::Queued | MediaState::Processing => StatusCode::PARTIAL_CONTENT,
        MediaState::Failed => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut entity = entities::media_attachment(&state, &media);
    if media.kind == crate::domain::media::MediaKind::Video {
        // The copies other instances hold, checked before they were listed.
        let copies = db::mirrors::copies(&state.db, &media.id).await?;
        entity["kaleido"]["mirrors"] =
            serde_json::json!(copies.into_iter().map(|(base, _)| base).collect::<Vec<_>>());
    }
    Ok(HttpResponse::build(status).json(entity))
}

#[derive(serde::Deserialize)]
pub struct UpdateRequest {
    description: Option<String>,
    focus: Option<String>,
}

/// Alt text and focal point, editable until (and after) the media is posted.
pub async fn update(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    // Apps send JSON, a form, or multipart (masto.js does, for a new thumbnail beside the
    // text). A thumbnail file is refused: Kaleido makes its own posters.
    let request: UpdateRequest =
        super::body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    let media = db::media::get(&state.db, &id)
        .await?
        .filter(|m| m.account_id == current.0.id)
        .ok_or_else(|| Error::not_found("media"))?;
    let description = match request.description {
        Some(d) => ingest::check_description(Some(d))?,
        None => media.description.clone(),
    };
    let focus =
        match request.focus.as_deref() {
            Some(raw) => Some(Focus::parse(raw).ok_or_else(|| {
                Error::unprocessable("focus must be \"x,y\" with both between -1.0 and 1.0")
            })?),
            None => media.focus,
        };
    db::media::update_details(&state.db, &media.id, description.as_deref(), focus).await?;
    let media = db::media::get(&state.db, &media.id)
        .await?
        .ok_or_else(|| Error::not_found("media"))?;
    Ok(HttpResponse::Ok().json(entities::media_attachment(&state, &media)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlists_are_kept_for_their_max_age_only() {
        let cache = PlaylistCache::default();
        let start = std::time::Instant::now();
        cache.put("m1", "#EXTM3U\n", start);
        assert_eq!(
            cache
                .get("m1", start + std::time::Duration::from_secs(59))
                .as_deref(),
            Some("#EXTM3U\n")
        );
        assert_eq!(cache.get("m1", start + PLAYLIST_MAX_AGE), None);
        assert_eq!(cache.get("m2", start), None);
    }
}
