//! Admin pages of the web UI: what this server mirrors and who mirrors it, in plain HTML forms
//! (the JSON side of the same is in `mirrors.rs`).

use actix_web::{
    HttpResponse,
    http::{StatusCode, header},
    web,
};
use minijinja::{Value, context};
use serde::Deserialize;

use super::{
    auth::Viewer,
    pages::{page, page_with_status},
};
use crate::{
    db::mirrors::Mirror,
    error::{Error, Kind, Result},
    state::AppState,
};

const MIRRORS_PAGE: &str = "/admin/mirrors";

/// Copies held here, their total against the quota, and the servers holding copies of ours.
pub async fn mirrors(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse> {
    if let Some(refusal) = refuse_unless_admin(&state, &viewer)? {
        return Ok(refusal);
    }
    let held = crate::db::mirrors::mirrors(&state.db).await?;
    let ours = crate::db::mirrors::copies_of_ours(&state.db).await?;
    let verified: Vec<&Mirror> = held.iter().filter(|m| m.state == "verified").collect();
    let verified_bytes: i64 = verified.iter().map(|m| m.size_bytes).sum();
    page(
        &state,
        &viewer,
        "admin_mirrors.html",
        context! {
            held => held.iter().map(held_row).collect::<Vec<_>>(),
            verified_count => verified.len(),
            verified_size => human_size(verified_bytes),
            quota => human_size(i64::try_from(state.config.mirroring.quota_bytes).unwrap_or(i64::MAX)),
            strategies => strategy_rows(&state, &verified),
            ours => ours
                .iter()
                .map(|(media_id, base_url, verified_at)| context! {
                    media_id => media_id,
                    base_url => base_url,
                    checked => crate::domain::time::rfc3339(*verified_at),
                })
                .collect::<Vec<_>>(),
        },
    )
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// The "Check now" button of a held copy.
pub async fn verify(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse> {
    if let Some(refusal) = refuse_form(&state, &viewer, &form.csrf)? {
        return Ok(refusal);
    }
    // Whether the copy was sound shows on the page it returns to: a rotten one is "failed".
    match crate::mirror::verify::reverify(&state, &id).await {
        Ok(_) => Ok(back()),
        Err(e) => error_page(&state, &viewer, &e),
    }
}

#[derive(Deserialize)]
pub struct FollowForm {
    csrf: String,
    url: String,
}

/// Follows another instance, to mirror its videos.
pub async fn follow(
    state: web::Data<AppState>,
    viewer: Viewer,
    form: web::Form<FollowForm>,
) -> Result<HttpResponse> {
    if let Some(refusal) = refuse_form(&state, &viewer, &form.csrf)? {
        return Ok(refusal);
    }
    match crate::mirror::peers::follow(&state, form.url.trim()).await {
        Ok(()) => Ok(back()),
        Err(e) => error_page(&state, &viewer, &e),
    }
}

/// Each strategy's share: what its verified copies take of its quota.
fn strategy_rows(state: &AppState, verified: &[&Mirror]) -> Vec<Value> {
    state
        .config
        .mirroring
        .effective_strategies()
        .iter()
        .map(|s| {
            let mine = verified.iter().filter(|m| m.strategy == s.strategy.as_str());
            context! {
                name => s.strategy.as_str().replace('_', " "),
                copies => mine.clone().count(),
                size => human_size(mine.map(|m| m.size_bytes).sum()),
                quota => human_size(i64::try_from(s.quota_bytes).unwrap_or(i64::MAX)),
                min_lifetime_hours => s.min_lifetime_seconds / 3600,
            }
        })
        .collect()
}

fn held_row(m: &Mirror) -> Value {
    context! {
        id => m.id,
        status_id => m.status_id,
        video_uri => m.video_uri,
        size => human_size(m.size_bytes),
        state => m.state,
        checked => m.verified_at.map(crate::domain::time::rfc3339),
        error => m.error,
        strategy => m.strategy.replace('_', " "),
    }
}

/// Decimal units, as disks and network transfers are counted: 283 MB, 1.2 GB.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    let bytes = bytes.max(0);
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.5 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if value < 9.95 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// Anonymous visitors are sent to log in and come back here; anyone else but an admin is
/// refused with the error page.
fn refuse_unless_admin(state: &AppState, viewer: &Viewer) -> Result<Option<HttpResponse>> {
    match &viewer.account {
        None => Ok(Some(see_other(&format!("/login?next={MIRRORS_PAGE}")))),
        Some(account) if !account.is_admin => error_page(
            state,
            viewer,
            &Error::new(
                Kind::Forbidden,
                "forbidden",
                "This page is for the server's admins.",
            ),
        )
        .map(Some),
        Some(_) => Ok(None),
    }
}

/// The admin check, then the session's CSRF token, which the page put in each form: the session
/// cookie alone would let another site post these forms in an admin's name.
fn refuse_form(state: &AppState, viewer: &Viewer, sent: &str) -> Result<Option<HttpResponse>> {
    if let Some(refusal) = refuse_unless_admin(state, viewer)? {
        return Ok(Some(refusal));
    }
    if viewer.sent_own_token(sent) {
        return Ok(None);
    }
    error_page(
        state,
        viewer,
        &Error::new(
            Kind::Forbidden,
            "invalid_csrf_token",
            "The form has expired; reload the page.",
        ),
    )
    .map(Some)
}

/// The error page with the error's status. Internal causes stay in the log, as for API errors.
fn error_page(state: &AppState, viewer: &Viewer, error: &Error) -> Result<HttpResponse> {
    let status = error.kind.status();
    let message = if error.kind == Kind::Internal {
        tracing::error!(error = %error, "admin page request failed");
        "Something went wrong on this server; the log says what.".to_owned()
    } else {
        error.message.clone()
    };
    page_with_status(
        state,
        viewer,
        "error.html",
        context! { title => status.canonical_reason().unwrap_or("Error"), message => message },
        status,
    )
}

fn back() -> HttpResponse {
    see_other(MIRRORS_PAGE)
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::SEE_OTHER)
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}
