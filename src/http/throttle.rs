//! Throttling password logins (`/oauth/token`, `/login`, and sign-up when it comes): a rate per
//! address (governor's keyed GCRA), and per account a delay that doubles with each failure after
//! the first few, so guessing one account's password is slow from any number of addresses.
//! Refusals are answered before any password is hashed, so they cost almost nothing.

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::error::{Error, Kind, Result};

/// Attempts one address may make: a burst of this many, one more every `PER_ADDRESS_EVERY`.
/// Generous for people behind one NAT; far too slow for guessing.
const PER_ADDRESS_BURST: u32 = 20;
const PER_ADDRESS_EVERY: Duration = Duration::from_secs(15);
/// Failures of one account allowed before the delay starts, and the longest delay.
const FREE_FAILURES: u32 = 5;
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Accounts and addresses remembered at most; past it the oldest are forgotten.
const CAPACITY: usize = 100_000;

struct Failures {
    count: u32,
    /// No attempt for this account before then.
    until: Instant,
}

pub struct Throttle {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    per_account: Mutex<HashMap<String, Failures>>,
    /// Sign-ups per address: made at first use, from the configured hourly figure.
    sign_ups: std::sync::OnceLock<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Default for Throttle {
    fn default() -> Self {
        let burst = NonZeroU32::new(PER_ADDRESS_BURST).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(PER_ADDRESS_EVERY)
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(burst);
        Throttle {
            per_address: RateLimiter::keyed(quota),
            per_account: Mutex::new(HashMap::new()),
            sign_ups: std::sync::OnceLock::new(),
        }
    }
}

fn too_many(wait: Duration) -> Error {
    // Rounded up: coming back a moment too early would be refused again.
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    Error::new(
        Kind::TooManyRequests,
        "too_many_attempts",
        format!("too many login attempts; try again in {seconds} s"),
    )
    .with_retry_after(seconds)
}

impl Throttle {
    /// Whether a login for `account` (the name as typed) from `address` may be tried now.
    pub fn check(&self, address: Option<IpAddr>, account: &str) -> Result<()> {
        let now = Instant::now();
        if let Ok(failures) = self.per_account.lock()
            && let Some(f) = failures.get(&key(account))
            && f.until > now
        {
            return Err(too_many(f.until - now));
        }
        // Without a peer address (not seen on TCP) every such request shares one budget.
        let address = address.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if self.per_address.len() >= CAPACITY {
            self.per_address.retain_recent();
        }
        self.per_address
            .check_key(&address)
            .map_err(|not_until| too_many(not_until.wait_time_from(DefaultClock::default().now())))
    }

    /// Whether `address` may sign up once more: `per_hour` at once, then one every
    /// hour/`per_hour`. Counted before any password is hashed or key made.
    pub fn sign_up(&self, address: Option<IpAddr>, per_hour: u32) -> Result<()> {
        let limiter = self.sign_ups.get_or_init(|| {
            let n = NonZeroU32::new(per_hour.max(1)).unwrap_or(NonZeroU32::MIN);
            RateLimiter::keyed(Quota::per_hour(n))
        });
        let address = address.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if limiter.len() >= CAPACITY {
            limiter.retain_recent();
        }
        limiter.check_key(&address).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let seconds = wait.as_secs().max(1);
            Error::new(
                Kind::TooManyRequests,
                "too_many_sign_ups",
                format!(
                    "too many sign-ups from your address; try again in {} minutes",
                    seconds.div_ceil(60)
                ),
            )
            .with_retry_after(seconds)
        })
    }

    pub fn failed(&self, account: &str) {
        let Ok(mut failures) = self.per_account.lock() else {
            return;
        };
        let now = Instant::now();
        if failures.len() >= CAPACITY {
            failures.retain(|_, f| f.until > now);
            if failures.len() >= CAPACITY {
                return;
            }
        }
        let f = failures
            .entry(key(account))
            .or_insert(Failures { count: 0, until: now });
        f.count += 1;
        if f.count >= FREE_FAILURES {
            let doublings = (f.count - FREE_FAILURES).min(20);
            f.until = now + Duration::from_secs(1u64 << doublings).min(MAX_DELAY);
        }
    }

    pub fn succeeded(&self, account: &str) {
        if let Ok(mut failures) = self.per_account.lock() {
            failures.remove(&key(account));
        }
    }
}

/// Usernames match case-insensitively, so their throttling does too.
fn key(account: &str) -> String {
    account.trim().trim_start_matches('@').to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_of_one_account_slow_it_down_and_success_resets() {
        let throttle = Throttle::default();
        let address = Some(IpAddr::from([192, 0, 2, 1]));
        for _ in 0..FREE_FAILURES - 1 {
            assert!(throttle.check(address, "Alice").is_ok());
            throttle.failed("alice");
        }
        assert!(throttle.check(address, "alice").is_ok());
        throttle.failed("ALICE");
        let refused = throttle.check(Some(IpAddr::from([198, 51, 100, 7])), "alice");
        assert_eq!(
            refused.map_err(|e| e.kind),
            Err(Kind::TooManyRequests),
            "from any address"
        );
        assert!(
            throttle.check(address, "bob").is_ok(),
            "other accounts are not slowed"
        );
        throttle.succeeded("alice");
        assert!(throttle.check(address, "alice").is_ok());
    }

    #[test]
    fn sign_ups_per_address_per_hour() {
        let throttle = Throttle::default();
        let address = Some(IpAddr::from([192, 0, 2, 9]));
        for _ in 0..3 {
            assert!(throttle.sign_up(address, 3).is_ok());
        }
        let refused = throttle.sign_up(address, 3).expect_err("fourth");
        assert_eq!(refused.kind, Kind::TooManyRequests);
        assert!(refused.retry_after().is_some_and(|s| s > 60));
        assert!(throttle.sign_up(Some(IpAddr::from([192, 0, 2, 10])), 3).is_ok());
    }

    #[test]
    fn one_address_gets_a_burst_then_waits() {
        let throttle = Throttle::default();
        let address = Some(IpAddr::from([192, 0, 2, 2]));
        for i in 0..PER_ADDRESS_BURST {
            assert!(
                throttle.check(address, &format!("user{i}")).is_ok(),
                "attempt {i}"
            );
        }
        let refused = throttle.check(address, "someone").expect_err("over the burst");
        assert_eq!(refused.retry_after(), Some(PER_ADDRESS_EVERY.as_secs()));
        assert!(
            throttle
                .check(Some(IpAddr::from([192, 0, 2, 3])), "someone")
                .is_ok()
        );
    }
}
