use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::{
    error::{Error, Result},
    state::AppState,
};

/// A load balancer's probe must get an answer quickly even when a dependency hangs.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

async fn within(probe: impl Future<Output = Result<()>>) -> Result<()> {
    tokio::time::timeout(PROBE_TIMEOUT, probe)
        .await
        .unwrap_or_else(|_| Err(Error::unavailable("timed out")))
}

/// 200 when the database and the object store both answer, 503 (saying which failed) otherwise.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let (db, store) = tokio::join!(within(state.db.ping()), within(state.store.check()));
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
