//! An account's archives: asked for from settings or the API, listed, and downloaded by their
//! owner only, with ranges so a large one resumes, until they expire.

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde_json::{Value, json};

use super::{
    auth::{CurrentAccount, Viewer},
    files::{Shared, serve_object},
    pages::page,
};
use crate::{
    archive,
    db::{self, exports::Export},
    domain::time::rfc3339,
    error::{Error, Kind, Result},
    state::AppState,
};

fn entity(state: &AppState, e: &Export) -> Value {
    json!({
        "id": e.id,
        "state": e.state,
        "size": e.size_bytes,
        "error": e.error,
        "created_at": rfc3339(e.created_at),
        "expires_at": rfc3339(e.expires_at),
        "url": (e.state == "ready").then(|| format!("{}/api/kaleido/v1/exports/{}/download", state.config.public_url(), e.id)),
    })
}

/// `POST /api/kaleido/v1/exports`: asks for an archive (once a day).
pub async fn create(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    let export = archive::request(&state, &current.0).await?;
    Ok(HttpResponse::Accepted().json(entity(&state, &export)))
}

/// `GET /api/kaleido/v1/exports`: the caller's archives, newest first.
pub async fn list(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    let exports = db::exports::of_account(&state.db, &current.0.id).await?;
    Ok(HttpResponse::Ok().json(exports.iter().map(|e| entity(&state, e)).collect::<Vec<_>>()))
}

/// `GET /api/kaleido/v1/exports/:id/download`: the zip, to its owner (a token or the
/// browser session), with `Range`; 410 once expired.
pub async fn download(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let key = archive::stored(&state, &current.0, &id).await?;
    serve_object(&state, &req, &key, Shared::Private("kaleido-archive.zip")).await
}

/// `/settings/export`: the button, and the archives there are.
pub async fn page_of(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse> {
    let Some(me) = viewer.account.as_ref() else {
        return Ok(HttpResponse::SeeOther()
            .insert_header((actix_web::http::header::LOCATION, "/login?next=/settings/export"))
            .finish());
    };
    let exports: Vec<Value> = db::exports::of_account(&state.db, &me.id)
        .await?
        .iter()
        .map(|e| entity(&state, e))
        .collect();
    let nav = super::settings::nav(&state, me, "export");
    page(
        &state,
        &viewer,
        "settings_export.html",
        context! { exports => exports, ..nav },
    )
}

#[derive(serde::Deserialize)]
pub struct ExportForm {
    csrf: String,
}

/// The settings page's button.
pub async fn request_from_page(
    state: web::Data<AppState>,
    viewer: Viewer,
    form: web::Form<ExportForm>,
) -> Result<HttpResponse> {
    let Some(me) = viewer.account.as_ref() else {
        return Err(Error::unauthorized("invalid_token", "log in first"));
    };
    if !viewer.sent_own_token(&form.csrf) {
        return Err(Error::new(
            Kind::Forbidden,
            "invalid_csrf_token",
            "the form has expired; reload the page",
        ));
    }
    match archive::request(&state, me).await {
        Ok(_) => {}
        Err(e) if e.kind == Kind::TooManyRequests => {}
        Err(e) => return Err(e),
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/settings/export"))
        .finish())
}
