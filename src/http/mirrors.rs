//! The admin side of mirroring: copies held and of ours, peers to mirror, checks, metrics.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::auth::{CurrentAccount, admin};
use crate::{error::Result, state::AppState};

/// Copies this instance holds, and the copies of our videos that others announced.
pub async fn mirrors(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    admin(&current)?;
    let held: Vec<_> = crate::db::mirrors::mirrors(&state.db)
        .await?
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id,
                "status_id": m.status_id,
                "video": m.video_uri,
                "origin_master": m.origin_master,
                "state": m.state,
                "error": m.error,
                "strategy": m.strategy,
                "size_bytes": m.size_bytes,
                "verified_at": m.verified_at.map(crate::domain::time::rfc3339),
            })
        })
        .collect();
    let ours: Vec<_> = crate::db::mirrors::copies_of_ours(&state.db)
        .await?
        .into_iter()
        .map(|(media_id, base, verified_at)| {
            json!({ "media_id": media_id, "mirror": base, "verified_at": crate::domain::time::rfc3339(verified_at) })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "held": held, "ours": ours })))
}

#[derive(Deserialize)]
pub struct MirrorPeerRequest {
    url: String,
}

/// Follows another instance's actor at run time, to mirror its videos.
pub async fn mirror_peer(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    admin(&current)?;
    let request: MirrorPeerRequest =
        super::body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    crate::mirror::peers::follow(&state, &request.url).await?;
    Ok(HttpResponse::Ok().json(json!({ "following": request.url.trim_end_matches('/') })))
}

/// Runs the strategies now: copies dropped and copies started, as ids.
pub async fn plan(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    admin(&current)?;
    let plan = crate::mirror::strategy::run(&state).await?;
    Ok(HttpResponse::Ok().json(json!({
        "copy": plan.copy.iter().map(|(status, kind)| json!({ "status_id": status, "strategy": kind.as_str() })).collect::<Vec<_>>(),
        "drop": plan.drop.iter().map(|(mirror, why)| json!({ "id": mirror, "reason": why })).collect::<Vec<_>>(),
    })))
}

/// Reads one stored copy back now and checks it; a rotten one is withdrawn and copied again.
pub async fn verify_mirror(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    admin(&current)?;
    let sound = crate::mirror::verify::reverify(&state, &id).await?;
    Ok(HttpResponse::Ok().json(json!({ "id": id.as_str(), "sound": sound })))
}

/// Prometheus text: copies held and their bytes, copy and verification failures, copies of our
/// videos elsewhere, deliveries by state, dead servers. Admins only (a scraper sends a token).
pub async fn metrics(
    state: web::Data<AppState>,
    beacons: web::Data<super::beacons::Beacons>,
    current: CurrentAccount,
) -> Result<HttpResponse> {
    admin(&current)?;
    let mut body = String::new();
    for (name, value) in crate::db::mirrors::metrics(&state.db).await? {
        body.push_str(&format!("kaleido_{name} {value}\n"));
    }
    // This process's memory of recent beacons: what a stranger posting them can make us hold.
    body.push_str(&format!("kaleido_beacons_remembered {}\n", beacons.len()));
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Type", "text/plain; version=0.0.4"))
        .body(body))
}
