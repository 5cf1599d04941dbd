//! The tus 1.0 endpoint: `/api/v1/tus` (creation) and `/api/v1/tus/{id}` (HEAD, PATCH, DELETE).
//! A finished upload answers with `Kaleido-Media-Id`; poll `/api/v1/media/{id}` from there.

use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, http::StatusCode, web};

use super::auth::CurrentAccount;
use crate::{
    error::{Error, Kind, Result},
    media::tus::{self, Appended},
    state::AppState,
};

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn respond(status: StatusCode) -> HttpResponseBuilder {
    let mut response = HttpResponse::build(status);
    response
        .insert_header(("Tus-Resumable", tus::VERSION))
        .insert_header(("Cache-Control", "no-store"));
    response
}

fn check_version(req: &HttpRequest) -> Result<()> {
    match header(req, "Tus-Resumable") {
        Some(tus::VERSION) => Ok(()),
        _ => Err(Error::new(
            Kind::PreconditionFailed,
            "tus_version",
            "this server speaks tus 1.0.0 (Tus-Resumable: 1.0.0)",
        )),
    }
}

pub async fn options(state: web::Data<AppState>) -> HttpResponse {
    respond(StatusCode::NO_CONTENT)
        .insert_header(("Tus-Version", tus::VERSION))
        .insert_header(("Tus-Extension", tus::EXTENSIONS))
        .insert_header(("Tus-Checksum-Algorithm", tus::CHECKSUMS))
        .insert_header(("Tus-Max-Size", state.config.limits.max_upload_bytes.to_string()))
        .finish()
}

pub async fn create(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
) -> Result<HttpResponse> {
    check_version(&req)?;
    let length = header(&req, "Upload-Length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            Error::bad_request("Upload-Length is required (deferred lengths are not supported)")
        })?;
    let metadata = tus::parse_metadata(header(&req, "Upload-Metadata"));
    let upload = tus::create(&state, &current.0.id, length, &metadata).await?;
    Ok(respond(StatusCode::CREATED)
        .insert_header((
            "Location",
            format!("{}/api/v1/tus/{}", state.config.public_url(), upload.id),
        ))
        .insert_header(("Upload-Offset", "0"))
        .finish())
}

pub async fn head(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let upload = tus::find(&state, &id, &current.0.id).await?;
    let mut response = respond(StatusCode::OK);
    response
        .insert_header(("Upload-Offset", upload.offset.to_string()))
        .insert_header(("Upload-Length", upload.length.to_string()));
    if let Some(media) = &upload.media_id {
        response.insert_header(("Kaleido-Media-Id", media.as_str()));
    }
    Ok(response.finish())
}

pub async fn patch(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse> {
    check_version(&req)?;
    if header(&req, "Content-Type") != Some("application/offset+octet-stream") {
        return Err(Error::new(
            Kind::UnsupportedMediaType,
            "unsupported_media_type",
            "PATCH bodies must be application/offset+octet-stream",
        ));
    }
    let offset = header(&req, "Upload-Offset")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or_else(|| Error::bad_request("Upload-Offset is required"))?;
    let checksum = header(&req, "Upload-Checksum")
        .map(tus::parse_checksum)
        .transpose()?;
    let upload = tus::find(&state, &id, &current.0.id).await?;
    let mut response = respond(StatusCode::NO_CONTENT);
    match tus::append(&state, &upload, offset, body, checksum).await? {
        Appended::Partial(at) => {
            response.insert_header(("Upload-Offset", at.to_string()));
        }
        Appended::Complete(at, media) => {
            response
                .insert_header(("Upload-Offset", at.to_string()))
                .insert_header(("Kaleido-Media-Id", media.id.as_str()));
        }
    }
    Ok(response.finish())
}

pub async fn delete(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    check_version(&req)?;
    let upload = tus::find(&state, &id, &current.0.id).await?;
    tus::terminate(&state, &upload).await?;
    Ok(respond(StatusCode::NO_CONTENT).finish())
}
