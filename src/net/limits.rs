//! Politeness towards the servers we copy from: at most `max_copies_per_host` copies at once
//! and `max_bytes_per_second_per_host` of download speed per origin host, shared by every copy
//! this process makes. A mirror must never be what takes its origin down.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A burst allowed before pacing starts, so short files are not slowed at all.
const BURST: Duration = Duration::from_millis(250);

pub struct HostLimits {
    bytes_per_second: u64,
    copies_per_host: usize,
    gates: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Per host: the moment the bytes read so far are "paid for" at the allowed speed.
    clocks: Mutex<HashMap<String, Instant>>,
}

impl HostLimits {
    pub fn new(bytes_per_second: u64, copies_per_host: usize) -> HostLimits {
        HostLimits {
            bytes_per_second,
            copies_per_host: copies_per_host.max(1),
            gates: Mutex::new(HashMap::new()),
            clocks: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a copy slot for `host`; the slot is held until the permit is dropped.
    pub async fn slot(&self, host: &str) -> Option<OwnedSemaphorePermit> {
        let gate = {
            let mut gates = self.gates.lock().ok()?;
            gates
                .entry(host.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.copies_per_host)))
                .clone()
        };
        gate.acquire_owned().await.ok()
    }

    /// Accounts for `bytes` just read from `host`, sleeping as long as the speed cap needs.
    pub async fn pace(&self, host: &str, bytes: usize) {
        let Some(wait) = self.charge(host, bytes, Instant::now()) else {
            return;
        };
        tokio::time::sleep(wait).await;
    }

    /// How long to wait after reading `bytes` at `now`, if at all.
    fn charge(&self, host: &str, bytes: usize, now: Instant) -> Option<Duration> {
        if self.bytes_per_second == 0 {
            return None;
        }
        let cost = Duration::from_secs_f64(bytes as f64 / self.bytes_per_second as f64);
        let mut clocks = self.clocks.lock().ok()?;
        let clock = clocks.entry(host.to_owned()).or_insert(now);
        *clock = (*clock).max(now) + cost;
        let ahead = clock.saturating_duration_since(now);
        (ahead > BURST).then(|| ahead - BURST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_speed_cap_is_per_host_and_allows_a_short_burst() {
        let limits = HostLimits::new(1_000_000, 1);
        let now = Instant::now();
        assert_eq!(
            limits.charge("a", 100_000, now),
            None,
            "0.1 s of budget: within the burst"
        );
        let wait = limits.charge("a", 1_000_000, now).expect("1.1 s ahead");
        assert!((wait.as_millis() as i64 - 850).abs() < 5, "{wait:?}");
        assert_eq!(
            limits.charge("b", 100_000, now),
            None,
            "another host has its own budget"
        );
        assert_eq!(
            HostLimits::new(0, 1).charge("a", usize::MAX, now),
            None,
            "0 means no cap"
        );
    }

    #[tokio::test]
    async fn copies_per_host_wait_for_a_slot() {
        let limits = HostLimits::new(0, 1);
        let first = limits.slot("a").await.expect("slot");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), limits.slot("a"))
                .await
                .is_err(),
            "a second copy from the same host waits"
        );
        assert!(limits.slot("b").await.is_some(), "another host does not");
        drop(first);
        assert!(limits.slot("a").await.is_some());
    }
}
