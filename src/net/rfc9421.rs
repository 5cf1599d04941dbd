//! HTTP Message Signatures (RFC 9421) as Mastodon 4.5 sends them: `Signature-Input:
//! sig1=("@method" "@target-uri" "content-digest");created=…;keyid="…"` with no `alg`
//! (RSASSA-PKCS1-v1_5 SHA-256), the body bound by `Content-Digest` (RFC 9530). `rsa-pss-sha512`
//! is also accepted so the RFC's own examples can check this code.
//!
//! RSA work is CPU-bound: callers run these on the blocking pool.

use std::collections::HashMap;

use base64::Engine;
use rsa::{
    pkcs1v15,
    pkcs8::{DecodePrivateKey, DecodePublicKey},
    pss,
    signature::{SignatureEncoding, Signer, Verifier},
};
use sha2::{Digest, Sha256, Sha512};

use crate::error::{Error, Kind, Result};

/// The label we sign under, as Mastodon does.
pub const LABEL: &str = "sig1";

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn refused(message: impl Into<String>) -> Error {
    Error::new(Kind::Unauthorized, "invalid_signature", message)
}

#[derive(Debug)]
pub struct Signed {
    pub label: String,
    pub key_id: String,
    /// Component names in signed order (`@query-param` without its `name`).
    pub components: Vec<String>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    pub alg: Option<String>,
    pub signature: Vec<u8>,
    pub signature_base: String,
}

/// True when the request carries RFC 9421 headers (`signature-input`).
pub fn present(headers: &HashMap<String, String>) -> bool {
    headers.contains_key("signature-input")
}

// Structured fields (RFC 8941): only what Signature-Input, Signature and Content-Digest use.

// Tokens and booleans are parsed for syntax only: no parameter we act on takes one.
enum Bare {
    Int(i64),
    Str(String),
    Token,
    Bool,
    Bytes(Vec<u8>),
}

type Params = Vec<(String, Bare)>;

struct Item {
    value: Bare,
    params: Params,
}

enum Member {
    Item(Item),
    List(Vec<Item>, Params),
}

impl Member {
    fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            Member::Item(Item {
                value: Bare::Bytes(bytes),
                ..
            }) => Some(bytes),
            _ => None,
        }
    }
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

fn malformed() -> Error {
    refused("malformed structured header")
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }
    fn spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    // `f` accepts ASCII only, so both ends fall on char boundaries.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        &self.s[start..self.i]
    }
    fn key(&mut self) -> Result<String> {
        if !matches!(self.peek(), Some(b'a'..=b'z' | b'*')) {
            return Err(malformed());
        }
        let key = self.take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c));
        Ok(key.to_owned())
    }
    fn bare(&mut self) -> Result<Bare> {
        match self.peek().ok_or_else(malformed)? {
            b'"' => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    match self.peek().ok_or_else(malformed)? {
                        b'"' => break,
                        b'\\' if matches!(self.s.as_bytes().get(self.i + 1), Some(b'"' | b'\\')) => {
                            self.i += 1
                        }
                        b'\\' => return Err(malformed()),
                        0x20..=0x7e => {}
                        _ => return Err(malformed()),
                    }
                    out.push(char::from(self.s.as_bytes()[self.i]));
                    self.i += 1;
                }
                self.i += 1;
                Ok(Bare::Str(out))
            }
            b':' => {
                self.i += 1;
                let text = self.take_while(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c));
                let bytes = b64().decode(text).map_err(|_| malformed())?;
                self.eat(b':').then_some(Bare::Bytes(bytes)).ok_or_else(malformed)
            }
            b'?' => {
                self.i += 1;
                (self.eat(b'1') || self.eat(b'0'))
                    .then_some(Bare::Bool)
                    .ok_or_else(malformed)
            }
            b'-' | b'0'..=b'9' => {
                let text = self.take_while(|c| c == b'-' || c.is_ascii_digit());
                match text.parse() {
                    Ok(n) if text.len() <= 16 && self.peek() != Some(b'.') => Ok(Bare::Int(n)),
                    _ => Err(malformed()),
                }
            }
            c if c.is_ascii_alphabetic() || c == b'*' => {
                self.take_while(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c));
                Ok(Bare::Token)
            }
            _ => Err(malformed()),
        }
    }
    fn params(&mut self) -> Result<Params> {
        let mut out = Params::new();
        while self.eat(b';') {
            self.spaces();
            let key = self.key()?;
            let value = if self.eat(b'=') { self.bare()? } else { Bare::Bool };
            out.push((key, value));
        }
        Ok(out)
    }
    fn item(&mut self) -> Result<Item> {
        Ok(Item {
            value: self.bare()?,
            params: self.params()?,
        })
    }
    fn member(&mut self) -> Result<Member> {
        if !self.eat(b'(') {
            return Ok(Member::Item(self.item()?));
        }
        let mut items = Vec::new();
        loop {
            self.spaces();
            if self.eat(b')') {
                return Ok(Member::List(items, self.params()?));
            }
            items.push(self.item()?);
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return Err(malformed());
            }
        }
    }
}

/// A dictionary in order, each member with its value exactly as sent (for `@signature-params`).
fn dictionary(text: &str) -> Result<Vec<(String, Member, &str)>> {
    let mut p = Parser { s: text.trim(), i: 0 };
    let mut out: Vec<(String, Member, &str)> = Vec::new();
    while p.i < p.s.len() {
        let key = p.key()?;
        let start = p.i + 1;
        let member = if p.eat(b'=') {
            p.member()?
        } else {
            Member::Item(Item {
                value: Bare::Bool,
                params: p.params()?,
            })
        };
        // Duplicate labels would let the two headers disagree on which one counts.
        if out.iter().any(|(k, ..)| *k == key) {
            return Err(refused(format!("duplicate member {key}")));
        }
        out.push((key, member, p.s.get(start..p.i).unwrap_or("")));
        p.spaces();
        if p.i < p.s.len() {
            if !p.eat(b',') {
                return Err(malformed());
            }
            p.spaces();
            if p.i == p.s.len() {
                return Err(malformed());
            }
        }
    }
    Ok(out)
}

fn sf_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

// The request URI, split the way the derived components need it.
struct Target<'a> {
    uri: &'a str,
    scheme: String,
    authority: String,
    path: &'a str,
    query: Option<&'a str>,
}

fn target(uri: &str) -> Result<Target<'_>> {
    let uri = uri.split_once('#').map_or(uri, |(u, _)| u);
    let (scheme, rest) = uri
        .split_once("://")
        .ok_or_else(|| refused("the target URI is not absolute"))?;
    let (authority, rest) = rest.find(['/', '?']).map_or((rest, ""), |i| rest.split_at(i));
    let (path, query) = rest.split_once('?').map_or((rest, None), |(p, q)| (p, Some(q)));
    if authority.is_empty() || authority.contains('@') {
        return Err(refused("the target URI has no usable authority"));
    }
    let scheme = scheme.to_ascii_lowercase();
    let mut authority = authority.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => "",
    };
    if !default_port.is_empty() && authority.ends_with(default_port) {
        authority.truncate(authority.len() - default_port.len());
    }
    Ok(Target {
        uri,
        scheme,
        authority,
        path: if path.is_empty() { "/" } else { path },
        query,
    })
}

// RFC 9421 2.2.8: decode as application/x-www-form-urlencoded, re-encode with spaces as %20.
fn reencode(raw: &str) -> String {
    let raw = raw.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < raw.len() {
        let hex = raw
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        let byte = match (raw[i], hex) {
            (b'%', Some(byte)) => {
                i += 2;
                byte
            }
            (b'+', _) => b' ',
            (c, _) => c,
        };
        i += 1;
        if byte.is_ascii_alphanumeric() || b"*-._".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn component(
    name: &str,
    query_name: Option<&str>,
    method: &str,
    t: &Target,
    headers: &HashMap<String, String>,
) -> Result<String> {
    Ok(match name {
        "@method" => method.to_owned(),
        "@target-uri" => t.uri.to_owned(),
        "@authority" => t.authority.clone(),
        "@scheme" => t.scheme.clone(),
        "@path" => t.path.to_owned(),
        "@query" => format!("?{}", t.query.unwrap_or("")),
        "@request-target" => t
            .query
            .map_or_else(|| t.path.to_owned(), |q| format!("{}?{q}", t.path)),
        "@query-param" => {
            let wanted = query_name.ok_or_else(|| refused("@query-param needs a name"))?;
            let mut values = t.query.unwrap_or("").split('&').filter_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (reencode(k) == wanted).then(|| reencode(v))
            });
            // A repeated parameter is ambiguous, and the RFC forbids covering it.
            match (values.next(), values.next()) {
                (Some(value), None) => value,
                _ => return Err(refused(format!("query parameter {wanted} is absent or repeated"))),
            }
        }
        _ if name.starts_with('@') => return Err(refused(format!("unsupported component {name}"))),
        _ => headers
            .get(name)
            .map(|v| v.trim().to_owned())
            .ok_or_else(|| refused(format!("the signed header {name} is missing")))?,
    })
}

/// `"<component>": <value>` lines, then `"@signature-params": <the inner list as sent>`.
fn signature_base(
    method: &str,
    t: &Target,
    headers: &HashMap<String, String>,
    components: &[(String, Option<String>)],
    params: &str,
) -> Result<String> {
    let mut base = String::new();
    for (name, query_name) in components {
        let value = component(name, query_name.as_deref(), method, t, headers)?;
        let id = query_name.as_ref().map_or_else(
            || sf_string(name),
            |q| format!("{};name={}", sf_string(name), sf_string(q)),
        );
        base.push_str(&format!("{id}: {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    Ok(base)
}

/// Parses `Signature-Input` / `Signature` (the first label present in both) and builds the
/// signature base for this request. `target_uri` is the full URI as the server sees it.
pub fn parse(method: &str, target_uri: &str, headers: &HashMap<String, String>) -> Result<Signed> {
    let header = |name: &str| {
        headers
            .get(name)
            .ok_or_else(|| refused(format!("no {name} header")))
    };
    let inputs = dictionary(header("signature-input")?)?;
    let signatures = dictionary(header("signature")?)?;
    let (label, member, raw) = inputs
        .into_iter()
        .find(|(label, ..)| signatures.iter().any(|(l, ..)| l == label))
        .ok_or_else(|| refused("no label appears in both Signature-Input and Signature"))?;
    let signature = signatures
        .into_iter()
        .find(|(l, ..)| *l == label)
        .and_then(|(_, member, _)| member.into_bytes())
        .ok_or_else(|| refused("the Signature value is not a byte sequence"))?;
    let Member::List(items, params) = member else {
        return Err(refused("the Signature-Input value is not an inner list"));
    };

    let mut components: Vec<(String, Option<String>)> = Vec::new();
    for Item { value, params } in items {
        let Bare::Str(name) = value else {
            return Err(malformed());
        };
        let query_name = match params.as_slice() {
            [] => None,
            [(key, Bare::Str(q))] if key == "name" && name == "@query-param" => Some(q.clone()),
            // `;req`, `;key`, `;sf`, `;bs`, `;tr` change how values are derived; no fediverse
            // sender uses them, so they are refused rather than half-supported.
            _ => return Err(refused(format!("unsupported parameters on component {name}"))),
        };
        let entry = (name, query_name);
        if entry.0 != entry.0.to_ascii_lowercase()
            || entry.0 == "@signature-params"
            || components.contains(&entry)
        {
            return Err(refused(format!("invalid or repeated component {}", entry.0)));
        }
        components.push(entry);
    }

    let (mut created, mut expires, mut key_id, mut alg) = (None, None, None, None);
    for (key, value) in params {
        match (key.as_str(), value) {
            ("created", Bare::Int(n)) => created = Some(n),
            ("expires", Bare::Int(n)) => expires = Some(n),
            ("keyid", Bare::Str(s)) => key_id = Some(s),
            ("alg", Bare::Str(s)) => alg = Some(s),
            ("nonce" | "tag", Bare::Str(_)) => {}
            ("created" | "expires" | "keyid" | "alg" | "nonce" | "tag", _) => {
                return Err(refused(format!("signature parameter {key} has the wrong type")));
            }
            _ => {}
        }
    }
    let t = target(target_uri)?;
    Ok(Signed {
        signature_base: signature_base(method, &t, headers, &components, raw)?,
        label,
        key_id: key_id.ok_or_else(|| refused("the signature names no keyid"))?,
        components: components.into_iter().map(|(name, _)| name).collect(),
        created,
        expires,
        alg,
        signature,
    })
}

/// RFC 9530 `Content-Digest`: every sha-256 / sha-512 offered must match, and one must be offered.
fn check_digest(header: &str, body: &[u8]) -> Result<()> {
    let mut checked = false;
    for (alg, member, _) in dictionary(header)? {
        let sent = member
            .into_bytes()
            .ok_or_else(|| refused("malformed Content-Digest"))?;
        let ours = match alg.as_str() {
            "sha-256" => Sha256::digest(body).to_vec(),
            "sha-512" => Sha512::digest(body).to_vec(),
            _ => continue,
        };
        if sent != ours {
            return Err(refused("the body does not match its Content-Digest"));
        }
        checked = true;
    }
    checked
        .then_some(())
        .ok_or_else(|| refused("Content-Digest offers neither sha-256 nor sha-512"))
}

/// The body against its `Content-Digest`, which the signature must cover when there is a body.
/// Cheap, and needs no key: the inbox runs it before fetching the signer's key, so a forged body
/// costs us no fetch.
pub fn check_body(signed: &Signed, body: Option<&[u8]>, headers: &HashMap<String, String>) -> Result<()> {
    let covered = signed.components.iter().any(|c| c == "content-digest");
    if body.is_some() && !covered {
        return Err(refused("a request with a body must cover content-digest"));
    }
    if covered {
        let header = headers
            .get("content-digest")
            .ok_or_else(|| refused("no Content-Digest header"))?;
        check_digest(header, body.unwrap_or_default())?;
    }
    Ok(())
}

/// Checks what the signature covers, the body against `Content-Digest`, the `created` /
/// `expires` window, then the RSA signature. `body` is `None` for requests without one.
/// Returns the key id.
pub fn verify(
    signed: &Signed,
    body: Option<&[u8]>,
    headers: &HashMap<String, String>,
    public_key_pem: &str,
    now: i64,
    max_skew: i64,
) -> Result<String> {
    let covered = |name: &str| signed.components.iter().any(|c| c == name);
    // @path alone would leave the query unsigned, so it only counts together with @query.
    let target = covered("@target-uri")
        || (covered("@authority") && (covered("@request-target") || (covered("@path") && covered("@query"))));
    if !covered("@method") || !target {
        return Err(refused("the signature must cover @method and @target-uri"));
    }
    check_body(signed, body, headers)?;
    let created = signed
        .created
        .ok_or_else(|| refused("the signature has no created time"))?;
    if (now - created).abs() > max_skew {
        return Err(refused("the signature's created time is too far from now"));
    }
    if signed.expires.is_some_and(|expires| expires < now) {
        return Err(refused("the signature has expired"));
    }
    verify_crypto(
        signed,
        public_key_pem,
        signed.alg.as_deref().unwrap_or("rsa-v1_5-sha256"),
    )?;
    Ok(signed.key_id.clone())
}

fn verify_crypto(signed: &Signed, public_key_pem: &str, alg: &str) -> Result<()> {
    let key =
        rsa::PublicKey::from_public_key_pem(public_key_pem).map_err(|_| refused("unreadable public key"))?;
    let (base, signature) = (signed.signature_base.as_bytes(), signed.signature.as_slice());
    let valid = match alg {
        "rsa-v1_5-sha256" => pkcs1v15::Signature::try_from(signature).is_ok_and(|s| {
            pkcs1v15::VerifyingKey::<Sha256>::new(key)
                .verify(base, &s)
                .is_ok()
        }),
        // RFC 9421 3.3.1: MGF1 with SHA-512 and a 64-byte salt, which is what `new` sets.
        "rsa-pss-sha512" => pss::Signature::try_from(signature)
            .is_ok_and(|s| pss::VerifyingKey::<Sha512>::new(key).verify(base, &s).is_ok()),
        other => return Err(refused(format!("unsupported signature algorithm {other}"))),
    };
    valid
        .then_some(())
        .ok_or_else(|| refused("the signature does not verify"))
}

/// Headers to add to an outgoing request (`content-digest` when there is a body, then
/// `signature-input` and `signature`), shaped like Mastodon's: rsa-v1_5-sha256 over
/// `("@method" "@target-uri" "content-digest")` with `created` and `keyid`.
pub fn sign(
    method: &str,
    target_uri: &str,
    headers: &HashMap<String, String>,
    body: Option<&[u8]>,
    key_id: &str,
    private_key_pem: &str,
    now: i64,
) -> Result<Vec<(String, String)>> {
    if !key_id.bytes().all(|c| (0x20..0x7f).contains(&c)) {
        return Err(Error::internal("a key id must be printable ASCII"));
    }
    let key = rsa::PrivateKey::from_pkcs8_pem(private_key_pem)
        .map_err(|e| Error::internal(format!("unreadable private key: {e}")))?;
    let mut headers = headers.clone();
    let mut added = Vec::new();
    let mut names = vec!["@method", "@target-uri"];
    if let Some(body) = body {
        let digest = format!("sha-256=:{}:", b64().encode(Sha256::digest(body)));
        headers.insert("content-digest".into(), digest.clone());
        added.push(("content-digest".to_owned(), digest));
        names.push("content-digest");
    }
    let list: Vec<String> = names.iter().map(|n| sf_string(n)).collect();
    let input = format!("({});created={now};keyid={}", list.join(" "), sf_string(key_id));
    let components: Vec<(String, Option<String>)> = names.iter().map(|n| (n.to_string(), None)).collect();
    let base = signature_base(method, &target(target_uri)?, &headers, &components, &input)?;
    let signature = pkcs1v15::SigningKey::<Sha256>::new(key).sign(base.as_bytes());
    added.push(("signature-input".into(), format!("{LABEL}={input}")));
    added.push((
        "signature".into(),
        format!("{LABEL}=:{}:", b64().encode(signature.to_bytes())),
    ));
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 9421 B.1.2 test-key-rsa-pss (public half) and the B.2 test request.
    const RSA_PSS_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----";
    const RFC_URI: &str = "https://example.com/foo?param=Value&Pet=dog";
    const RFC_BODY: &[u8] = br#"{"hello": "world"}"#;
    const RFC_DIGEST: &str =
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

    fn rfc_request(input: &str, signature: &str) -> HashMap<String, String> {
        HashMap::from([
            ("host", "example.com"),
            ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
            ("content-type", "application/json"),
            ("content-digest", RFC_DIGEST),
            ("content-length", "18"),
            ("signature-input", input),
            ("signature", signature),
        ])
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Parses an RFC example, compares the base with the printed one, checks the RFC's signature.
    fn rfc_example(input: &str, signature: &str, expected_base: &str) -> Signed {
        let headers = rfc_request(input, signature);
        let mut signed = parse("POST", RFC_URI, &headers).expect("parse");
        assert_eq!(signed.signature_base, expected_base);
        assert_eq!(signed.key_id, "test-key-rsa-pss");
        assert_eq!(signed.created, Some(1618884473));
        verify_crypto(&signed, RSA_PSS_PUBLIC, "rsa-pss-sha512").expect("the RFC's signature verifies");
        signed.signature[10] ^= 1;
        assert!(verify_crypto(&signed, RSA_PSS_PUBLIC, "rsa-pss-sha512").is_err());
        signed.signature[10] ^= 1;
        signed
    }

    #[test]
    fn rfc_b21_minimal() {
        let signed = rfc_example(
            r#"sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#,
            concat!(
                "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx",
                "7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DG",
                "ezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SIT",
                "Lq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:"
            ),
            r#""@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#,
        );
        assert_eq!(signed.label, "sig-b21");
        // Cryptographically fine, but it covers nothing about the request: policy refuses it.
        let refused = verify(
            &signed,
            Some(RFC_BODY),
            &HashMap::new(),
            RSA_PSS_PUBLIC,
            1618884473,
            300,
        );
        assert!(refused.expect_err("uncovered").message.contains("@method"));
    }

    #[test]
    fn rfc_b22_selective() {
        rfc_example(
            r#"sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example""#,
            concat!(
                "sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH7KT8",
                "UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYhpTlaqwZVtR8NV7+4U",
                "KkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAo",
                "xk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:"
            ),
            &[
                r#""@authority": example.com"#,
                &format!(r#""content-digest": {RFC_DIGEST}"#),
                r#""@query-param";name="Pet": dog"#,
                r#""@signature-params": ("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example""#,
            ]
            .join("\n"),
        );
        // The example's sha-512 Content-Digest is the digest of its body.
        assert!(check_digest(RFC_DIGEST, RFC_BODY).is_ok());
        assert!(check_digest(RFC_DIGEST, b"{}").is_err());
    }

    #[test]
    fn rfc_b23_full_coverage() {
        rfc_example(
            r#"sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss""#,
            concat!(
                "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2",
                "voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmI",
                "koQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpv",
                "RX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:"
            ),
            &[
                r#""date": Tue, 20 Apr 2021 02:07:55 GMT"#,
                r#""@method": POST"#,
                r#""@path": /foo"#,
                r#""@query": ?param=Value&Pet=dog"#,
                r#""@authority": example.com"#,
                r#""content-type": application/json"#,
                &format!(r#""content-digest": {RFC_DIGEST}"#),
                r#""content-length": 18"#,
                r#""@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss""#,
            ]
            .join("\n"),
        );
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        let parse_input = |input: &str| parse("POST", RFC_URI, &rfc_request(input, "sig1=:AAAA:"));
        assert!(parse_input(r#"sig1=("@method";req);keyid="k""#).is_err());
        assert!(parse_input(r#"sig1=("content-type";key="x");keyid="k""#).is_err());
        assert!(parse_input(r#"sig1=("x-missing");keyid="k""#).is_err());
        assert!(parse_input(r#"sig1=("@method" "@method");keyid="k""#).is_err());
        assert!(parse_input(r#"sig1=("@method");created="soon";keyid="k""#).is_err());
        assert!(parse_input(r#"sig1=("@method");created=1"#).is_err());
        assert!(parse_input(r#"other=("@method");keyid="k""#).is_err());
        assert!(parse_input(r#"sig1=("@method");keyid="k""#).is_ok());
    }

    #[test]
    fn derives_components() {
        let none = HashMap::new();
        let derive = |uri: &str, name: &str, q: Option<&str>| {
            component(name, q, "GET", &target(uri).expect("uri"), &none).expect(name)
        };
        // RFC 9421 2.2.8's example query.
        let uri = "https://Example.COM:443/p?var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace\
                   &fa%C3%A7ade%22%3A%20=something";
        assert_eq!(
            derive(uri, "@query-param", Some("var")),
            "this%20is%20a%20big%0Amultiline%20value"
        );
        assert_eq!(
            derive(uri, "@query-param", Some("bar")),
            "with%20plus%20whitespace"
        );
        assert_eq!(
            derive(uri, "@query-param", Some("fa%C3%A7ade%22%3A%20")),
            "something"
        );
        assert_eq!(derive(uri, "@authority", None), "example.com");
        assert_eq!(
            derive("http://h.example:8080", "@authority", None),
            "h.example:8080"
        );
        assert_eq!(derive("http://h.example", "@request-target", None), "/");
        assert_eq!(derive("http://h.example/a#frag", "@query", None), "?");
        assert_eq!(
            derive("http://h.example/a?b=c#frag", "@target-uri", None),
            "http://h.example/a?b=c"
        );
    }

    #[test]
    fn signs_like_mastodon_and_verifies() {
        let (private, public) = crate::net::keys::generate_key_pair().expect("keys");
        let (uri, key_id, now) = (
            "https://photos.example/users/bob/inbox",
            "https://masto.example/users/alice#main-key",
            1_760_000_000,
        );
        let body = br#"{"type":"Follow"}"#;
        let mut headers = HashMap::from([("host".to_owned(), "photos.example".to_owned())]);
        headers.extend(sign("POST", uri, &headers, Some(body), key_id, &private, now).expect("sign"));
        let signed = parse("POST", uri, &headers).expect("parse");
        let digest = format!("sha-256=:{}:", b64().encode(Sha256::digest(body)));
        assert_eq!(headers["content-digest"], digest);
        assert_eq!(
            signed.signature_base,
            format!(
                "\"@method\": POST\n\"@target-uri\": {uri}\n\"content-digest\": {digest}\n\"@signature-params\": \
                 (\"@method\" \"@target-uri\" \"content-digest\");created={now};keyid=\"{key_id}\""
            )
        );
        let check =
            |signed: &Signed, body: &[u8], now: i64| verify(signed, Some(body), &headers, &public, now, 300);
        assert_eq!(check(&signed, body, now + 60).expect("verify"), key_id);

        let message = |result: Result<String>| result.expect_err("refused").message;
        assert!(message(check(&signed, b"{}", now)).contains("Content-Digest"));
        assert!(message(check(&signed, body, now + 3600)).contains("created"));
        let mut tampered = parse("POST", uri, &headers).expect("parse");
        tampered.signature[0] ^= 0x80;
        assert!(message(check(&tampered, body, now)).contains("does not verify"));
        let elsewhere = parse("POST", "https://photos.example/users/carol/inbox", &headers).expect("parse");
        assert!(message(check(&elsewhere, body, now)).contains("does not verify"));

        // Signed without a body: fine for a GET, refused when a body turns up.
        let mut get = HashMap::new();
        get.extend(sign("GET", uri, &get, None, key_id, &private, now).expect("sign"));
        let signed = parse("GET", uri, &get).expect("parse");
        assert_eq!(
            verify(&signed, None, &get, &public, now, 300).expect("verify"),
            key_id
        );
        let refused = verify(&signed, Some(body), &get, &public, now, 300);
        assert!(message(refused).contains("content-digest"));
    }
}
