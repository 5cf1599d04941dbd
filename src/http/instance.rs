//! The instance as apps read it: `/api/v1/instance` and `/api/v2/instance` with a version
//! Mastodon clients accept, the real limits of this configuration, registrations and rules;
//! and `/instance/peers`, `/activity`, `/extended_description`. NodeInfo stays the
//! machine-readable truth for crawlers.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use crate::{
    accounts::signup::open_to_strangers,
    config::RegistrationMode,
    db,
    domain::{media::accepted_mimes, status::MAX_TEXT_CHARS},
    error::Result,
    state::AppState,
};

/// Mastodon clients gate features on the version: this says "a 4.3 API", as Pixelfed and Akkoma
/// do, and which server it really is.
pub fn version() -> String {
    format!("4.3.0 (compatible; Kaleido {})", env!("CARGO_PKG_VERSION"))
}

fn rules(state: &AppState) -> Vec<Value> {
    state
        .config
        .registrations
        .rules
        .iter()
        .enumerate()
        .map(|(i, text)| json!({ "id": (i + 1).to_string(), "text": text, "hint": "" }))
        .collect()
}

fn media_limits(state: &AppState) -> Value {
    let limits = &state.config.limits;
    json!({
        "supported_mime_types": accepted_mimes().collect::<Vec<_>>(),
        "image_size_limit": limits.max_image_bytes,
        "image_matrix_limit": limits.max_image_pixels,
        "video_size_limit": limits.max_upload_bytes,
        "video_frame_rate_limit": 60,
        "video_matrix_limit": 3840u64 * 2160,
        "description_limit": crate::media::ingest::MAX_DESCRIPTION_CHARS,
    })
}

fn statuses_limits(state: &AppState) -> Value {
    json!({
        "max_characters": MAX_TEXT_CHARS,
        "max_media_attachments": state.config.limits.max_album_size,
        "characters_reserved_per_url": 23,
    })
}

/// Polls are not made here; apps read these limits anyway.
fn polls() -> Value {
    json!({ "max_options": 4, "max_characters_per_option": 50, "min_expiration": 300, "max_expiration": 2_629_746 })
}

async fn contact(state: &AppState) -> Result<Value> {
    let admins = db::accounts::admin_list(
        &state.db,
        &db::accounts::AdminFilter {
            local: Some(true),
            status: Some("active".into()),
            staff: true,
            limit: 1,
            ..Default::default()
        },
    )
    .await?;
    Ok(match admins.last() {
        Some(admin) => super::entities::account_with_counts(state, admin).await?,
        None => Value::Null,
    })
}

fn thumbnail(state: &AppState) -> String {
    format!("{}/static/header.png", state.config.public_url())
}

fn description(state: &AppState) -> String {
    format!(
        "{} is a Kaleido server: photos and videos on the fediverse.",
        super::views::host(state)
    )
}

/// Where apps open the streaming API: this same server, over ws:// or wss://.
fn streaming_url(state: &AppState) -> String {
    let base = state.config.public_url();
    match base.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}"),
        None => format!("ws://{}", base.trim_start_matches("http://")),
    }
}

pub async fn v1(state: web::Data<AppState>) -> Result<HttpResponse> {
    let host = super::views::host(&state);
    let mode = state.config.registrations.mode;
    let users = db::accounts::count(&state.db).await?;
    let (posts, _, _) = db::statuses::usage(&state.db, 0, 0).await?;
    let domains = db::accounts::peer_domains(&state.db).await?.len();
    Ok(HttpResponse::Ok().json(json!({
        "uri": host,
        "title": host,
        "short_description": description(&state),
        "description": description(&state),
        "email": "",
        "version": version(),
        "urls": { "streaming_api": streaming_url(&state) },
        "stats": { "user_count": users, "status_count": posts, "domain_count": domains },
        "thumbnail": thumbnail(&state),
        "languages": ["en"],
        "registrations": open_to_strangers(mode),
        "approval_required": mode == RegistrationMode::Approval,
        "invites_enabled": mode != RegistrationMode::Closed,
        "configuration": {
            "accounts": { "max_featured_tags": crate::db::conversation::MAX_FEATURED, "max_pinned_statuses": crate::statuses::MAX_PINS },
            "statuses": statuses_limits(&state),
            "media_attachments": media_limits(&state),
            "polls": polls(),
        },
        "contact_account": contact(&state).await?,
        "rules": rules(&state),
    })))
}

pub async fn v2(state: web::Data<AppState>) -> Result<HttpResponse> {
    let host = super::views::host(&state);
    let base = state.config.public_url();
    let mode = state.config.registrations.mode;
    let now = db::now_ms();
    let (_, month, _) = db::statuses::usage(&state.db, now - 30 * 86_400_000, now - 180 * 86_400_000).await?;
    Ok(HttpResponse::Ok().json(json!({
        "domain": host,
        "title": host,
        "version": version(),
        // The package names no repository yet: empty, rather than a made-up address.
        "source_url": env!("CARGO_PKG_REPOSITORY"),
        "description": description(&state),
        "usage": { "users": { "active_month": month } },
        "thumbnail": { "url": thumbnail(&state) },
        "icon": [{ "src": format!("{base}/static/icon.svg"), "size": "any" }],
        "languages": ["en"],
        "configuration": {
            "urls": { "streaming": streaming_url(&state), "status": Value::Null },
            "vapid": { "public_key": "" },
            "accounts": { "max_featured_tags": crate::db::conversation::MAX_FEATURED, "max_pinned_statuses": crate::statuses::MAX_PINS },
            "statuses": statuses_limits(&state),
            "media_attachments": media_limits(&state),
            "polls": polls(),
            "translation": { "enabled": false },
        },
        "registrations": {
            "enabled": open_to_strangers(mode),
            "approval_required": mode == RegistrationMode::Approval,
            "message": Value::Null,
            "url": Value::Null,
        },
        "api_versions": { "mastodon": 2 },
        "contact": { "email": "", "account": contact(&state).await? },
        "rules": rules(&state),
    })))
}

pub async fn peers(state: web::Data<AppState>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(db::accounts::peer_domains(&state.db).await?))
}

/// The last twelve weeks, newest first, as Mastodon counts them (strings, as it sends them).
pub async fn activity(state: web::Data<AppState>) -> Result<HttpResponse> {
    const WEEK: i64 = 7 * 86_400_000;
    let now = db::now_ms();
    let this_week = now - now.rem_euclid(WEEK);
    let mut weeks = Vec::with_capacity(12);
    for i in 0..12 {
        let from = this_week - i * WEEK;
        let (statuses, registrations, logins) =
            db::accounts::activity_between(&state.db, from, from + WEEK).await?;
        weeks.push(json!({
            "week": (from / 1000).to_string(),
            "statuses": statuses.to_string(),
            "logins": logins.to_string(),
            "registrations": registrations.to_string(),
        }));
    }
    Ok(HttpResponse::Ok().json(weeks))
}

pub async fn extended_description(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "updated_at": crate::domain::time::rfc3339(0),
        "content": format!("<p>{}</p>", description(&state)),
    }))
}

pub async fn rules_list(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(rules(&state))
}
