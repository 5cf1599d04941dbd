//! Quotas: what one account may keep stored and upload in a day. Checked before an upload is
//! accepted (and, for resumable uploads, when one is announced with its length), so nobody
//! sends gigabytes only to be refused at the end.

use crate::{
    db,
    error::{Error, Kind, Result},
    state::AppState,
};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// An account's quotas and use, as its settings page shows them. A limit of 0 is no limit.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Usage {
    pub storage_quota_bytes: u64,
    pub storage_used_bytes: u64,
    pub daily_quota_bytes: u64,
    pub uploaded_last_day_bytes: u64,
}

pub async fn usage(state: &AppState, account_id: &str) -> Result<Usage> {
    let limits = &state.config.limits;
    let (storage, daily) = db::accounts::quotas(&state.db, account_id).await?;
    let (used, today) = db::accounts::usage(&state.db, account_id, db::now_ms() - DAY_MS).await?;
    let bytes = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(Usage {
        storage_quota_bytes: storage.map_or(limits.storage_quota_bytes, bytes),
        storage_used_bytes: bytes(used),
        daily_quota_bytes: daily.map_or(limits.daily_upload_quota_bytes, bytes),
        uploaded_last_day_bytes: bytes(today),
    })
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Refuses `incoming` more bytes when they would take the account past a quota.
pub async fn check(state: &AppState, account_id: &str, incoming: u64) -> Result<()> {
    let usage = usage(state, account_id).await?;
    if usage.storage_quota_bytes > 0 && usage.storage_used_bytes + incoming > usage.storage_quota_bytes {
        return Err(Error::new(
            Kind::PayloadTooLarge,
            "quota_exceeded",
            format!(
                "this upload would exceed your storage quota: {} of {} used, the file is {}",
                mib(usage.storage_used_bytes),
                mib(usage.storage_quota_bytes),
                mib(incoming)
            ),
        ));
    }
    if usage.daily_quota_bytes > 0 && usage.uploaded_last_day_bytes + incoming > usage.daily_quota_bytes {
        return Err(Error::new(
            Kind::PayloadTooLarge,
            "daily_quota_exceeded",
            format!(
                "this upload would exceed your daily upload quota: {} of {} uploaded in the last 24 hours, the file is {}",
                mib(usage.uploaded_last_day_bytes),
                mib(usage.daily_quota_bytes),
                mib(incoming)
            ),
        ));
    }
    Ok(())
}
