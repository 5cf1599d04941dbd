//! Times as the protocols write them. Kaleido keeps times as Unix milliseconds.

/// Milliseconds since the epoch as RFC 3339 (`2026-12-01T19:37:49.123Z`); empty when out of range.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}
