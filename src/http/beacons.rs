//! The player's anonymous beacons (a view, a failover) counted at most once per viewer address,
//! video and kind within a window: views steer what mirrors copy, so a script must not be able
//! to make a video "most viewed" by posting in a loop.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use actix_web::HttpRequest;

/// One count per address, video and kind in this window (PeerTube counts a view per IP and
/// video within an hour, too).
const WINDOW: Duration = Duration::from_secs(3600);
/// Addresses remembered at most; past it, expired entries are swept, and when every entry is
/// still fresh, new beacons are not counted (a flood must not grow memory).
const CAPACITY: usize = 100_000;

#[derive(Default)]
pub struct Beacons {
    seen: Mutex<HashMap<(IpAddr, String, &'static str), Instant>>,
}

impl Beacons {
    /// Whether this beacon counts: the first from `address` for `media_id` and `kind` within
    /// the window.
    pub fn first(&self, address: IpAddr, media_id: &str, kind: &'static str, now: Instant) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        let key = (address, media_id.to_owned(), kind);
        if seen.get(&key).is_some_and(|at| now.duration_since(*at) < WINDOW) {
            return false;
        }
        if seen.len() >= CAPACITY {
            seen.retain(|_, at| now.duration_since(*at) < WINDOW);
            if seen.len() >= CAPACITY {
                return false;
            }
        }
        seen.insert(key, now);
        true
    }

    /// How many beacons are remembered now.
    pub fn len(&self) -> usize {
        self.seen.lock().map_or(0, |seen| seen.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The viewer's address. A reverse proxy on this machine (the usual set-up) connects from
/// loopback: then the address it appended to `X-Forwarded-For` (the last one) is the viewer's;
/// anyone else's header is ignored, as a client can write anything there.
pub fn viewer_address(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !peer.is_loopback() {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok());
    Some(forwarded.unwrap_or(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_address_video_and_kind_within_the_window() {
        let beacons = Beacons::default();
        let (one, two): (IpAddr, IpAddr) =
            ("192.0.2.1".parse().expect("ip"), "192.0.2.2".parse().expect("ip"));
        let now = Instant::now();
        assert!(beacons.first(one, "m", "views", now));
        assert!(!beacons.first(one, "m", "views", now + Duration::from_secs(60)));
        assert!(beacons.first(one, "m", "failovers", now), "another kind");
        assert!(beacons.first(one, "n", "views", now), "another video");
        assert!(beacons.first(two, "m", "views", now), "another viewer");
        assert!(
            beacons.first(one, "m", "views", now + WINDOW),
            "the window has passed"
        );
    }

    #[test]
    fn the_forwarded_address_counts_only_from_a_local_proxy() {
        let direct = actix_web::test::TestRequest::default()
            .peer_addr("198.51.100.7:4000".parse().expect("addr"))
            .insert_header(("x-forwarded-for", "203.0.113.9"))
            .to_http_request();
        assert_eq!(viewer_address(&direct), "198.51.100.7".parse().ok());
        let proxied = actix_web::test::TestRequest::default()
            .peer_addr("127.0.0.1:4000".parse().expect("addr"))
            .insert_header(("x-forwarded-for", "10.9.9.9, 203.0.113.9"))
            .to_http_request();
        assert_eq!(viewer_address(&proxied), "203.0.113.9".parse().ok());
    }
}
