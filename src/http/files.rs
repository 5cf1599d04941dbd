//! Serving stored media with byte ranges and validators, from either backend, so players can
//! seek and browsers can cache.

use actix_web::{
    HttpRequest, HttpResponse,
    body::SizedStream,
    http::{Method, StatusCode, header},
    web,
};

use super::range::{Requested, resolve};
use crate::{
    domain::media::mime_for_key,
    error::{Error, Kind, Result},
    state::AppState,
    storage::Key,
};

/// Only what has been made public lives under these prefixes: processed media, verified
/// copies of other servers' videos (written master-last, so a copy is whole once listed), and
/// profile pictures (stored only once scaled and stripped).
const PUBLIC_PREFIXES: [&str; 3] = ["media/", "mirrors/", "accounts/"];

pub async fn serve(
    state: web::Data<AppState>,
    req: HttpRequest,
    key: web::Path<String>,
) -> Result<HttpResponse> {
    let key = Key::parse(&key)?;
    if !PUBLIC_PREFIXES.iter().any(|p| key.as_str().starts_with(p)) {
        return Err(Error::not_found("file"));
    }
    serve_object(&state, &req, &key, Shared::Public).await
}

/// Who may keep a copy of an answer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shared {
    /// Anyone, for good (keys are never reused).
    Public,
    /// The one who asked, not a shared cache (an account's archive), under this file name.
    Private(&'static str),
}

/// A stored object with ranges, ETags and conditional requests, streamed from the store.
pub async fn serve_object(
    state: &AppState,
    req: &HttpRequest,
    key: &Key,
    shared: Shared,
) -> Result<HttpResponse> {
    let meta = state.store.head(key).await?;
    let headers = req.headers();
    let etag_matches = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == meta.etag || t.trim() == "*"))
    };
    let mut response = HttpResponse::build(StatusCode::OK);
    response
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::ETAG, meta.etag.clone()))
        .insert_header((header::CONTENT_TYPE, mime_for_key(key.as_str())))
        // A stored file is what its key says it is: a browser must not guess HTML into it.
        .insert_header(("X-Content-Type-Options", "nosniff"));
    match shared {
        Shared::Public => {
            // Keys are never reused for other content, so a copy may be kept for good.
            response
                .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
                .insert_header(("Access-Control-Allow-Origin", "*"))
                .insert_header((
                    "Access-Control-Expose-Headers",
                    "Content-Length, Content-Range, Accept-Ranges, ETag",
                ));
        }
        Shared::Private(name) => {
            response
                .insert_header((header::CACHE_CONTROL, "private, no-store"))
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ));
        }
    }
    if let Some(modified) = meta.modified.and_then(|s| u64::try_from(s).ok()) {
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(modified);
        response.insert_header((header::LAST_MODIFIED, httpdate::fmt_http_date(when)));
    }
    if etag_matches(header::IF_NONE_MATCH) {
        return Ok(response.status(StatusCode::NOT_MODIFIED).finish());
    }
    // A Range is honoured only while the client's copy (If-Range) is still current.
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == meta.etag);
    let range_header = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| if_range_ok);
    let range = match resolve(range_header, meta.size) {
        Requested::Whole => None,
        Requested::Part(r) => Some(r),
        Requested::Unsatisfiable => {
            let error = Error::new(
                Kind::RangeNotSatisfiable,
                "range_not_satisfiable",
                format!("the file has {} bytes", meta.size),
            );
            let mut refused = actix_web::ResponseError::error_response(&error);
            if let Ok(value) = header::HeaderValue::from_str(&format!("bytes */{}", meta.size)) {
                refused.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return Ok(refused);
        }
    };
    let length = range.map_or(meta.size, |r| r.len());
    if let Some(r) = range {
        response.status(StatusCode::PARTIAL_CONTENT).insert_header((
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{}", r.start, r.end, meta.size),
        ));
    }
    if req.method() == Method::HEAD {
        // The length is announced; the body is never read from the store.
        return Ok(response.body(SizedStream::new(
            length,
            futures_util::stream::empty::<std::io::Result<bytes::Bytes>>(),
        )));
    }
    let object = state.store.get(key, range).await?;
    Ok(response.body(SizedStream::new(length, object.body)))
}
