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

/// The `Signature` header for a request. `headers` must hold `host`, `date` and `digest`.
pub fn sign(
    method: &str,
    path: &str,
    headers: &HashMap<String, String>,
    key_id: &str,
    private_key_pem: &str,
) -> Result<String> {
    let key = rsa::PrivateKey::from_pkcs8_pem(private_key_pem)
        .map_err(|e| Error::internal(format!("unreadable private key: {e}")))?;
    let names: Vec<&str> = SIGNED_HEADERS.split(' ').collect();
    let text = signing_string(method, path, headers, &names)?;
    let signature = SigningKey::<Sha256>::new(key).sign(text.as_bytes());
    Ok(format!(
        "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{SIGNED_HEADERS}\",signature=\"{}\"",
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
        crate::accounts::generate_key_pair().expect("keys")
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
        let signature = sign("POST", "/users/bob/inbox", &headers, key_id, &private).expect("sign");
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
