//! HTTP signatures as the fediverse uses them (draft-cavage-http-signatures, `rsa-sha256`, or
//! `hs2019` with an RSA key as GoToSocial sends): signing outgoing requests over
//! `(request-target) host date digest`, and verifying incoming ones, digest first.
//!
//! RSA work is CPU-bound: callers run these on the blocking pool.

use std::collections::HashMap;

use base64::Engine;
use rsa::{
    pkcs1v15::{Signature, SigningKey, VerifyingKey},
    pkcs8::{DecodePrivateKey, DecodePublicKey},
    signature::{SignatureEncoding, Signer, Verifier},
};
use sha2::{Digest, Sha256};

use crate::error::{Error, Kind, Result};

/// How far a request's `Date` may be from our clock.
pub const MAX_SKEW_SECONDS: i64 = 3600;
pub const SIGNED_HEADERS: &str = "(request-target) host date digest";
/// A GET has no body to digest.
pub const SIGNED_GET_HEADERS: &str = "(request-target) host date";

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn refused(message: impl Into<String>) -> Error {
    Error::new(Kind::Unauthorized, "invalid_signature", message)
}

/// `SHA-256=<base64>` of a body, for the `Digest` header.
pub fn digest(body: &[u8]) -> String {
    format!("SHA-256={}", b64().encode(Sha256::digest(body)))
}

/// What a signature covers: the request line and the named headers, lowercase, one a line.
fn signing_string(
    method: &str,
    path: &str,
    headers: &HashMap<String, String>,
    names: &[&str],
) -> Result<String> {
    names
        .iter()
        .map(|name| {
            if *name == "(request-target)" {
                Ok(format!(
                    "(request-target): {} {path}",
                    method.to_ascii_lowercase()
                ))
            } else {
                headers
                    .get(*name)
                    .map(|value| format!("{name}: {}", value.trim()))
                    .ok_or_else(|| refused(format!("the signed header {name} is missing")))
            }
        })
        .collect::<Result<Vec<_>>>()
        .map(|lines| lines.join("\n"))
}

/// The `Signature` header for a request over the headers named in `covered` (space-separated,
/// as [`SIGNED_HEADERS`]), all of which `headers` must hold.
pub fn sign(
    method: &str,
    path: &str,
    headers: &HashMap<String, String>,
    covered: &str,
    key_id: &str,
    private_key_pem: &str,
) -> Result<String> {
    let key = rsa::PrivateKey::from_pkcs8_pem(private_key_pem)
        .map_err(|e| Error::internal(format!("unreadable private key: {e}")))?;
    let names: Vec<&str> = covered.split(' ').collect();
    let text = signing_string(method, path, headers, &names)?;
    let signature = SigningKey::<Sha256>::new(key).sign(text.as_bytes());
    Ok(format!(
        "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{covered}\",signature=\"{}\"",
        b64().encode(signature.to_bytes())
    ))
}

#[derive(Debug, PartialEq, Eq)]
pub struct SignatureHeader {
    pub key_id: String,
    pub algorithm: String,
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
}

pub fn parse(header: &str) -> Result<SignatureHeader> {
    let mut fields = HashMap::new();
    for part in header.split(',') {
        let (name, value) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| refused("malformed Signature header"))?;
        fields.insert(name.trim().to_owned(), value.trim().trim_matches('"').to_owned());
    }
    let key_id = fields
        .remove("keyId")
        .ok_or_else(|| refused("the signature names no keyId"))?;
    let algorithm = fields.remove("algorithm").unwrap_or_else(|| "hs2019".into());
    if algorithm != "rsa-sha256" && algorithm != "hs2019" {
        return Err(refused(format!("unsupported signature algorithm {algorithm}")));
    }
    let headers = fields
        .remove("headers")
        .unwrap_or_else(|| "date".into())
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let signature = b64()
        .decode(
            fields
                .remove("signature")
                .ok_or_else(|| refused("no signature"))?,
        )
        .map_err(|_| refused("the signature is not base64"))?;
    Ok(SignatureHeader {
        key_id,
        algorithm,
        headers,
        signature,
    })
}

/// Checks a request: the body against `Digest` (before anything parses it), the `Date` window,
/// that the essential headers are covered, and the signature against the key.
pub fn verify(
    method: &str,
    path: &str,
    headers: &HashMap<String, String>,
    body: &[u8],
    public_key_pem: &str,
    now_seconds: i64,
) -> Result<SignatureHeader> {
    let header = parse(
        headers
            .get("signature")
            .ok_or_else(|| refused("the request is not signed"))?,
    )?;
    let covered = |name: &str| header.headers.iter().any(|h| h == name);
    if !covered("(request-target)") || !covered("host") || !(covered("date") || covered("(created)")) {
        return Err(refused(
            "the signature must cover (request-target), host and date",
        ));
    }
    if method.eq_ignore_ascii_case("POST") {
        if !covered("digest") {
            return Err(refused("a signed POST must cover its digest"));
        }
        let sent = headers.get("digest").ok_or_else(|| refused("no Digest header"))?;
        let ours = digest(body);
        if !sent.split(',').any(|d| d.trim() == ours) {
            return Err(refused("the body does not match its Digest"));
        }
    }
    if let Some(date) = headers.get("date") {
        let sent = httpdate::parse_http_date(date).map_err(|_| refused("unreadable Date header"))?;
        let sent = sent
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if (now_seconds - sent).abs() > MAX_SKEW_SECONDS {
            return Err(refused("the request's Date is too far from now"));
        }
    }
    let names: Vec<&str> = header.headers.iter().map(String::as_str).collect();
    let text = signing_string(method, path, headers, &names)?;
    let key =
        rsa::PublicKey::from_public_key_pem(public_key_pem).map_err(|_| refused("unreadable public key"))?;
    let signature =
        Signature::try_from(header.signature.as_slice()).map_err(|_| refused("malformed signature"))?;
    VerifyingKey::<Sha256>::new(key)
        .verify(text.as_bytes(), &signature)
        .map_err(|_| refused("the signature does not verify"))?;
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (String, String) {
        crate::net::keys::generate_key_pair().expect("keys")
    }

    fn request(body: &[u8], date: &str) -> HashMap<String, String> {
        HashMap::from([
            ("host".to_owned(), "photos.example".to_owned()),
            ("date".to_owned(), date.to_owned()),
            ("digest".to_owned(), digest(body)),
        ])
    }

    #[test]
    fn signs_and_verifies_and_refuses_tampering() {
        let (private, public) = keys();
        let now = std::time::SystemTime::now();
        let now_seconds = now
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let date = httpdate::fmt_http_date(now);
        let body = br#"{"type":"Follow"}"#;
        let mut headers = request(body, &date);
        let key_id = "https://photos.example/users/alice#main-key";
        let signature = sign(
            "POST",
            "/users/bob/inbox",
            &headers,
            SIGNED_HEADERS,
            key_id,
            &private,
        )
        .expect("sign");
        headers.insert("signature".into(), signature);
        let checked =
            verify("POST", "/users/bob/inbox", &headers, body, &public, now_seconds).expect("verify");
        assert_eq!(checked.key_id, key_id);

        // Another body, another path, another host, an old date, another key: all refused.
        assert!(verify("POST", "/users/bob/inbox", &headers, b"{}", &public, now_seconds).is_err());
        assert!(verify("POST", "/users/carol/inbox", &headers, body, &public, now_seconds).is_err());
        let mut moved = headers.clone();
        moved.insert("host".into(), "evil.example".into());
        assert!(verify("POST", "/users/bob/inbox", &moved, body, &public, now_seconds).is_err());
        assert!(
            verify(
                "POST",
                "/users/bob/inbox",
                &headers,
                body,
                &public,
                now_seconds + 2 * MAX_SKEW_SECONDS
            )
            .is_err()
        );
        let (_, other_public) = keys();
        assert!(
            verify(
                "POST",
                "/users/bob/inbox",
                &headers,
                body,
                &other_public,
                now_seconds
            )
            .is_err()
        );
        let mut unsigned = headers.clone();
        unsigned.remove("signature");
        assert!(verify("POST", "/users/bob/inbox", &unsigned, body, &public, now_seconds).is_err());
    }

    #[test]
    fn parses_what_other_servers_send() {
        let header = parse(
            "keyId=\"https://gts.example/users/x/main-key\",algorithm=\"hs2019\",headers=\"(request-target) host date digest\",signature=\"AAAA\"",
        )
        .expect("parse");
        assert_eq!(header.key_id, "https://gts.example/users/x/main-key");
        assert_eq!(header.algorithm, "hs2019");
        assert_eq!(header.headers, vec!["(request-target)", "host", "date", "digest"]);
        assert!(parse("keyId=\"k\",algorithm=\"hmac-sha256\",signature=\"AAAA\"").is_err());
        assert!(parse("garbage").is_err());
    }
}
// Append to src/federation/signatures.rs. Test data from draft-cavage-http-signatures-12
// Appendix C (identical in drafts 10 and 11): the "Test" key and its published signatures.
#[cfg(test)]
mod cavage_vectors {
    use super::*;

    const PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----";
    const PATH: &str = "/foo?param=value&pet=dog";
    const BODY: &[u8] = br#"{"hello": "world"}"#;
    /// Sun, 05 Jan 2014 21:31:40 GMT, the vectors' Date.
    const NOW: i64 = 1388957500;
    const DEFAULT: &str = concat!(
        "keyId=\"Test\",algorithm=\"rsa-sha256\",signature=\"SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz",
        "6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5lp7q25WqS+lavg7T8hc0GppauB6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k",
        "/5OxEPXe5WozsbM=\""
    );
    const BASIC: &str = concat!(
        "keyId=\"Test\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date\",signature=\"qdx+H7PHHDZgy4",
        "y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x",
        "1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0=\""
    );
    // Draft 12 prints `(created) (expires)` in C.3's header list, but its signature covers
    // only these six, as every implementation that checks the vector has found.
    const ALL_HEADERS: &str = concat!(
        "keyId=\"Test\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date content-type digest ",
        "content-length\",signature=\"vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB",
        "2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE=\""
    );

    fn request(signature: &str) -> HashMap<String, String> {
        [
            ("host", "example.com"),
            ("date", "Sun, 05 Jan 2014 21:31:40 GMT"),
            ("content-type", "application/json"),
            ("digest", "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="),
            ("content-length", "18"),
            ("signature", signature),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// The bare RSA check over the signing string, without `verify`'s policy.
    fn raw_signature_verifies(signature: &str) -> bool {
        let headers = request(signature);
        let header = parse(signature).expect("parse");
        let names: Vec<&str> = header.headers.iter().map(String::as_str).collect();
        let text = signing_string("POST", PATH, &headers, &names).expect("signing string");
        let key = rsa::PublicKey::from_public_key_pem(PUBLIC).expect("key");
        Signature::try_from(header.signature.as_slice()).is_ok_and(|s| {
            VerifyingKey::<Sha256>::new(key)
                .verify(text.as_bytes(), &s)
                .is_ok()
        })
    }

    fn refusal(signature: &str, body: &[u8]) -> String {
        verify("POST", PATH, &request(signature), body, PUBLIC, NOW)
            .expect_err("refused")
            .message
    }

    #[test]
    fn draft_cavage_appendix_c() {
        assert_eq!(
            digest(BODY),
            "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
        );

        // C.3 All Headers: covers the digest, so it passes policy and crypto alike.
        let checked = verify("POST", PATH, &request(ALL_HEADERS), BODY, PUBLIC, NOW).expect("C.3 verifies");
        assert_eq!(checked.key_id, "Test");
        assert_eq!(checked.headers.len(), 6);
        assert!(refusal(ALL_HEADERS, br#"{"hello": "World"}"#).contains("Digest"));
        let mut bytes = parse(ALL_HEADERS).expect("parse").signature;
        bytes[64] ^= 1;
        let flipped = ALL_HEADERS.replace(
            ALL_HEADERS
                .rsplit_once("signature=\"")
                .expect("signature")
                .1
                .trim_end_matches('"'),
            &b64().encode(&bytes),
        );
        assert!(refusal(&flipped, BODY).contains("does not verify"));

        // C.2 Basic: the RSA signature is good, but a POST that does not sign its digest is
        // refused, as Mastodon refuses it.
        assert!(raw_signature_verifies(BASIC));
        assert!(refusal(BASIC, BODY).contains("digest"));

        // C.1 Default: `headers` absent means `date` alone, which the policy refuses.
        assert_eq!(parse(DEFAULT).expect("parse").headers, vec!["date"]);
        assert!(raw_signature_verifies(DEFAULT));
        assert!(refusal(DEFAULT, BODY).contains("(request-target), host and date"));
    }
}
