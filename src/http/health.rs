use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::app::AppState;

/// 200 when the database and the object store both answer, 503 (saying which failed) otherwise.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let (db, store) = tokio::join!(state.db.ping(), state.store.check());
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    for (what, result) in [("database", &db), ("storage", &store)] {
        if let Err(e) = result {
            tracing::warn!(error = %e, "{what} health check failed");
        }
    }
    let healthy = db.is_ok() && store.is_ok();
    let body = json!({
        "status": word(healthy),
        "database": word(db.is_ok()),
        "storage": word(store.is_ok()),
    });
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
