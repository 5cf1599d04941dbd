//! The one way out: every fetch and delivery to another server goes through this client. It
//! refuses private, loopback and link-local addresses (checked after DNS, in the resolver the
//! connection actually uses, so a name cannot be re-pointed between check and connect), plain
//! `http://` unless allowed, redirects it has not re-checked, slow answers and large bodies.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use reqwest::{StatusCode, Url, dns::Resolve, redirect::Policy};
use serde_json::Value;

use super::signatures;
use crate::{
    config::FederationConfig,
    error::{Error, Kind, Result},
};

/// The media type ActivityPub documents are sent as.
pub const ACTIVITY_JSON: &str = "application/activity+json; charset=utf-8";

/// A JSON document larger than this is not an actor or a post.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
const MAX_REDIRECTS: usize = 3;
const ACCEPT: &str =
    "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

fn remote_error(message: impl Into<String>) -> Error {
    Error::new(Kind::BadGateway, "remote_error", message)
}

fn refused(message: impl Into<String>) -> Error {
    Error::new(Kind::Unprocessable, "address_refused", message)
}

/// Whether an address is one the public internet can route to. IPv6 forms that carry an IPv4
/// address (mapped, compatible, NAT64, 6to4) are judged by that address; tunnels whose endpoint
/// cannot be judged (Teredo) and ranges that are not global are refused.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                // Carrier-grade NAT and the benchmarking range.
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                // IETF protocol assignments and the 6to4 relay anycast.
                || (a == 192 && b == 0 && c == 0)
                || (a == 192 && b == 88 && c == 99))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                let [h1, h2] = hi.to_be_bytes();
                let [l1, l2] = lo.to_be_bytes();
                is_public(IpAddr::V4(std::net::Ipv4Addr::new(h1, h2, l1, l2)))
            };
            if v6.is_loopback() || v6.is_unspecified() {
                return false;
            }
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            // IPv4-compatible (::a.b.c.d, deprecated but still routed by some stacks).
            if s[..6] == [0; 6] {
                return embedded(s[6], s[7]);
            }
            // NAT64, the well-known prefix: the IPv4 address is the last 32 bits.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return embedded(s[6], s[7]);
            }
            // 6to4: the IPv4 address follows the prefix.
            if s[0] == 0x2002 {
                return embedded(s[1], s[2]);
            }
            !(v6.is_multicast()
                // Local-use NAT64 (64:ff9b:1::/48): translated to whatever the network chooses.
                || (s[0] == 0x64 && s[1] == 0xff9b)
                // Teredo (2001::/32), documentation (2001:db8::/32), discard-only (100::/64).
                || (s[0] == 0x2001 && (s[1] == 0 || s[1] == 0x0db8))
                || (s[0] == 0x100 && s[1..4] == [0, 0, 0])
                // Unique local, link-local and the deprecated site-local (fec0::/10).
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0)
        }
    }
}

/// Resolves names for the client, dropping addresses it may not reach.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                let e = std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{} resolves only to private addresses", name.as_str()),
                );
                return Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Who signs a request: a key id and its private key.
#[derive(Clone)]
pub struct Signer {
    pub key_id: String,
    pub private_key_pem: Arc<String>,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    allow_private: bool,
    allow_http: bool,
    user_agent: String,
}

/// What a delivery got back.
pub struct Delivered {
    pub status: StatusCode,
}

impl Client {
    pub fn new(config: &FederationConfig, public_url: &str) -> Result<Client> {
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: config.allow_private_addresses,
            }))
            .redirect(Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::internal("cannot build the HTTP client").with_source(e))?;
        Ok(Client {
            http,
            allow_private: config.allow_private_addresses,
            allow_http: config.allow_http,
            user_agent: format!("Kaleido/{} (+{public_url})", env!("CARGO_PKG_VERSION")),
        })
    }

    /// Checks what can be checked before any connection: scheme, and addresses written literally.
    pub fn check_url(&self, raw: &str) -> Result<Url> {
        let url = Url::parse(raw).map_err(|_| refused(format!("{raw:?} is not a URL")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            other => {
                return Err(refused(format!(
                    "{other}: URLs are refused; only https is fetched"
                )));
            }
        }
        let host = url
            .host()
            .ok_or_else(|| refused(format!("{raw} names no host")))?;
        let literal = match host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        };
        if let Some(ip) = literal
            && !self.allow_private
            && !is_public(ip)
        {
            return Err(refused(format!("{ip} is a private address")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refused("URLs with credentials are refused"));
        }
        Ok(url)
    }

    fn signed_headers(
        &self,
        method: &str,
        url: &Url,
        body: Option<&[u8]>,
        signer: &Signer,
    ) -> Result<HashMap<String, String>> {
        let mut headers = HashMap::from([
            ("host".to_owned(), authority(url)),
            (
                "date".to_owned(),
                httpdate::fmt_http_date(std::time::SystemTime::now()),
            ),
        ]);
        let names = if let Some(body) = body {
            headers.insert("digest".into(), signatures::digest(body));
            signatures::SIGNED_HEADERS
        } else {
            signatures::SIGNED_GET_HEADERS
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let signature = signatures::sign(
            method,
            &path,
            &headers,
            names,
            &signer.key_id,
            &signer.private_key_pem,
        )?;
        headers.insert("signature".into(), signature);
        Ok(headers)
    }

    /// Fetches an ActivityPub document, signed when a signer is given (servers in authorized
    /// fetch mode ask for it). Returns the URL it finally came from, after checked redirects.
    pub async fn get_json(&self, raw: &str, signer: Option<&Signer>) -> Result<(Url, Value)> {
        self.get(raw, ACCEPT, signer).await
    }

    pub async fn get(&self, raw: &str, accept: &str, signer: Option<&Signer>) -> Result<(Url, Value)> {
        let (url, response) = self.fetch(raw, accept, signer, None).await?;
        let body = read_capped(response, MAX_DOCUMENT_BYTES).await?;
        let value =
            serde_json::from_slice(&body).map_err(|_| remote_error(format!("{url} did not answer JSON")))?;
        Ok((url, value))
    }

    /// A small file (a playlist, a hash list), at most `cap` bytes.
    pub async fn get_bytes(&self, raw: &str, cap: usize) -> Result<Vec<u8>> {
        let (_, response) = self.fetch(raw, "*/*", None, None).await?;
        read_capped(response, cap).await
    }

    /// Part of a file (`Range: bytes=start-end`, end inclusive), at most `cap` bytes.
    pub async fn get_range(&self, raw: &str, start: u64, end: u64, cap: usize) -> Result<Vec<u8>> {
        let (_, response) = self.fetch(raw, "*/*", None, Some((start, Some(end)))).await?;
        let body = read_capped(response, cap).await?;
        if body.len() as u64 != end.saturating_sub(start) + 1 {
            return Err(remote_error(format!("{raw} did not answer the range asked for")));
        }
        Ok(body)
    }

    /// Streams a file to `path`, refusing more than `cap` bytes in all. Bytes already in `path`
    /// (an earlier attempt cut short) are kept and only the rest is asked for; a server that
    /// ignores the range sends the whole file again. `each` gets every chunk with its offset in
    /// the file (to check it, to pace the download) and may stop the download with an error.
    /// Returns the file's size and the bytes fetched now.
    pub async fn download_resuming<F, Fut>(
        &self,
        raw: &str,
        path: &std::path::Path,
        cap: u64,
        mut each: F,
    ) -> Result<(u64, u64)>
    where
        F: FnMut(u64, &[u8]) -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        use tokio::io::AsyncWriteExt;
        let have = tokio::fs::metadata(path).await.map(|m| m.len()).unwrap_or(0);
        let (_, mut response) = match self
            .fetch(raw, "*/*", None, (have > 0).then_some((have, None)))
            .await
        {
            Ok(answer) => answer,
            // A refused range (the file was complete after all, or changed): start over.
            Err(_) if have > 0 => self.fetch(raw, "*/*", None, None).await?,
            Err(e) => return Err(e),
        };
        let resumed = have > 0 && response.status() == StatusCode::PARTIAL_CONTENT;
        let mut size = if resumed { have } else { 0 };
        if response.content_length().is_some_and(|n| n + size > cap) {
            return Err(remote_error(format!("{raw} is larger than {cap} bytes")));
        }
        let mut file = if resumed {
            tokio::fs::OpenOptions::new().append(true).open(path).await?
        } else {
            tokio::fs::File::create(path).await?
        };
        let mut fetched = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| remote_error(format!("reading {raw}: {}", describe(&e))))?
        {
            let offset = size;
            size += chunk.len() as u64;
            fetched += chunk.len() as u64;
            if size > cap {
                return Err(remote_error(format!("{raw} is larger than {cap} bytes")));
            }
            file.write_all(&chunk).await?;
            each(offset, &chunk).await?;
        }
        file.flush().await?;
        Ok((size, fetched))
    }

    /// A GET through the guard, redirects re-checked; a success or an error.
    async fn fetch(
        &self,
        raw: &str,
        accept: &str,
        signer: Option<&Signer>,
        range: Option<(u64, Option<u64>)>,
    ) -> Result<(Url, reqwest::Response)> {
        let mut url = self.check_url(raw)?;
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self
                .http
                .get(url.clone())
                .header("accept", accept)
                .header("user-agent", &self.user_agent);
            match range {
                Some((start, Some(end))) => request = request.header("range", format!("bytes={start}-{end}")),
                Some((start, None)) => request = request.header("range", format!("bytes={start}-")),
                None => {}
            }
            if let Some(signer) = signer {
                let (this, url2, signer) = (self.clone(), url.clone(), signer.clone());
                let headers =
                    tokio::task::spawn_blocking(move || this.signed_headers("GET", &url2, None, &signer))
                        .await
                        .map_err(|e| Error::internal("signing task failed").with_source(e))??;
                request = with_headers(request, headers);
            }
            let response = request
                .send()
                .await
                .map_err(|e| remote_error(format!("{}: {}", host_of(&url), describe(&e))))?;
            if response.status().is_redirection() {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| remote_error("a redirect without a Location"))?;
                let next = url
                    .join(location)
                    .map_err(|_| remote_error("a redirect to an unreadable Location"))?;
                url = self.check_url(next.as_str())?;
                continue;
            }
            let status = response.status();
            if !status.is_success() {
                return Err(Error::new(
                    if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
                        Kind::NotFound
                    } else {
                        Kind::BadGateway
                    },
                    "remote_error",
                    format!("{} answered {status} for {url}", host_of(&url)),
                ));
            }
            return Ok((url, response));
        }
        Err(remote_error("too many redirects"))
    }

    /// POSTs a signed activity to an inbox. Redirects are not followed: an inbox that moves
    /// is a misconfiguration, and the body must not be replayed elsewhere.
    pub async fn post_signed(&self, inbox: &str, body: Vec<u8>, signer: &Signer) -> Result<Delivered> {
        let url = self.check_url(inbox)?;
        let (this, url2, signer, body2) = (self.clone(), url.clone(), signer.clone(), body.clone());
        let headers =
            tokio::task::spawn_blocking(move || this.signed_headers("POST", &url2, Some(&body2), &signer))
                .await
                .map_err(|e| Error::internal("signing task failed").with_source(e))??;
        let mut request = self
            .http
            .post(url.clone())
            .header("content-type", ACTIVITY_JSON)
            .header("user-agent", &self.user_agent)
            .body(body);
        request = with_headers(request, headers);
        let response = request
            .send()
            .await
            .map_err(|e| remote_error(format!("{}: {}", host_of(&url), describe(&e))))?;
        Ok(Delivered {
            status: response.status(),
        })
    }
}

/// Adds the signed headers; `host` is reqwest's to set, from the URL it signed.
fn with_headers(
    mut request: reqwest::RequestBuilder,
    headers: HashMap<String, String>,
) -> reqwest::RequestBuilder {
    for (name, value) in headers {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    request
}

/// `host[:port]` as the Host header carries it.
pub fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    }
}

/// The domain as Kaleido names instances: host, with the port when there is one.
pub fn host_of(url: &Url) -> String {
    authority(url)
}

fn describe(e: &reqwest::Error) -> String {
    // The resolver's refusal is buried in the source chain; surface it.
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut last = e.to_string();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    if e.is_timeout() { "timed out".into() } else { last }
}

async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(remote_error(format!("the answer is larger than {cap} bytes")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| remote_error(format!("reading the answer: {}", describe(&e))))?
    {
        if body.len() + chunk.len() > cap {
            return Err(remote_error(format!("the answer is larger than {cap} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = private.parse().expect("ip");
            assert!(!is_public(ip), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "1.1.1.1"] {
            let ip: IpAddr = public.parse().expect("ip");
            assert!(is_public(ip), "{public}");
        }
    }

    #[test]
    fn ipv6_forms_that_carry_ipv4_or_are_not_global_are_refused() {
        for private in [
            "64:ff9b::7f00:1",    // NAT64 of 127.0.0.1
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "64:ff9b:1::808:808", // local-use NAT64, whatever it carries
            "2002:7f00:1::1",     // 6to4 of 127.0.0.1
            "2002:c0a8:101::",    // 6to4 of 192.168.1.1
            "::127.0.0.1",        // IPv4-compatible
            "::10.0.0.1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
            "fec0::1",                              // site-local
            "100::1",                               // discard-only
            "192.0.0.8",
            "192.88.99.1",
        ] {
            let ip: IpAddr = private.parse().expect("ip");
            assert!(!is_public(ip), "{private}");
        }
        // The same forms around a public IPv4 address stay reachable.
        for public in ["64:ff9b::808:808", "2002:808:808::1", "::8.8.8.8"] {
            let ip: IpAddr = public.parse().expect("ip");
            assert!(is_public(ip), "{public}");
        }
        let strict = Client::new(&FederationConfig::default(), "https://k.example").expect("client");
        for bad in [
            "https://[64:ff9b::7f00:1]/x",
            "https://[2002:7f00:1::1]/x",
            "https://[::127.0.0.1]/x",
        ] {
            assert!(strict.check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_checked_before_connecting() {
        let strict = Client::new(&FederationConfig::default(), "https://k.example").expect("client");
        assert!(strict.check_url("https://example.com/users/a").is_ok());
        for bad in [
            "http://example.com/x",
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest/meta-data",
            "file:///etc/passwd",
            "gopher://example.com/",
            "https://user:pw@example.com/",
            "not a url",
        ] {
            assert!(strict.check_url(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn names_that_resolve_to_loopback_are_refused() {
        let strict = Client::new(&FederationConfig::default(), "https://k.example").expect("client");
        let config = FederationConfig {
            allow_http: true,
            ..FederationConfig::default()
        };
        let http_only = Client::new(&config, "https://k.example").expect("client");
        // "localhost" passes the literal check; the resolver must stop it.
        let err = http_only
            .get_json("http://localhost:9/users/a", None)
            .await
            .expect_err("must refuse");
        assert!(err.message.contains("private"), "{}", err.message);
        assert!(strict.get_json("https://localhost/users/a", None).await.is_err());
    }
}
