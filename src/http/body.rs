//! Request bodies the Mastodon way: JSON, a urlencoded form, or a multipart form (with files),
//! where `key[]` repeats into a list and `key[sub]` nests, as Rails reads them. Booleans may
//! arrive as `true`/`false`, `1`/`0` or `on`/`off`: [`flex_bool`] reads them all.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, http::header, web};
use futures_util::StreamExt;
use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::error::{Error, Kind, Result};

fn content_type(req: &HttpRequest) -> &str {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

pub fn parse<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T> {
    into(to_value(req, body)?)
}

/// A parsed body as the type a handler wants: 422 naming the field that did not fit.
pub fn into<T: DeserializeOwned>(value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| Error::unprocessable(format!("invalid request: {}: {}", e.path(), e.inner())))
}

fn to_value(req: &HttpRequest, body: &[u8]) -> Result<Value> {
    let kind = content_type(req);
    if kind.starts_with("application/json") {
        return serde_json::from_slice(body)
            .map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")));
    }
    if kind.starts_with("multipart/") {
        return Err(Error::new(
            Kind::UnsupportedMediaType,
            "unsupported_media_type",
            "this endpoint takes JSON or a urlencoded form, not multipart",
        ));
    }
    if !kind.is_empty() && !kind.starts_with("application/x-www-form-urlencoded") && !body.is_empty() {
        return Err(Error::new(
            Kind::UnsupportedMediaType,
            "unsupported_media_type",
            format!("a body of type {kind:?} cannot be read here; send JSON or a form"),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| {
        Error::new(
            Kind::BadRequest,
            "invalid_request",
            format!("invalid form body: {e}"),
        )
    })?;
    Ok(form_to_json(pairs))
}

/// A file sent in a multipart form.
pub struct Upload {
    pub field: String,
    pub bytes: Vec<u8>,
}

/// A body that may carry files: its fields as JSON, and the files apart.
pub struct WithFiles {
    pub value: Value,
    pub files: Vec<Upload>,
}

const MAX_FILES: usize = 4;

fn malformed(e: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("malformed multipart body: {e}"))
}

/// Reads JSON, a form or a multipart form; text is capped at `text_limit` bytes in all, each
/// file at `file_limit` (413 past it, before more is read).
pub async fn read_with_files(
    req: &HttpRequest,
    mut payload: web::Payload,
    text_limit: usize,
    file_limit: usize,
) -> Result<WithFiles> {
    if !content_type(req).starts_with("multipart/form-data") {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| Error::bad_request(format!("unreadable body: {e}")))?;
            if body.len() + chunk.len() > text_limit {
                return Err(Error::new(
                    Kind::PayloadTooLarge,
                    "payload_too_large",
                    format!("the body is larger than {text_limit} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(WithFiles {
            value: to_value(req, &body)?,
            files: Vec::new(),
        });
    }
    let mut form = Multipart::new(req.headers(), payload);
    let mut pairs = Vec::new();
    let mut files = Vec::new();
    let mut text_bytes = 0usize;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(malformed)?;
        let name = field.name().unwrap_or_default().to_owned();
        let is_file = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .is_some();
        let limit = if is_file {
            file_limit
        } else {
            text_limit.saturating_sub(text_bytes)
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(malformed)?;
            if bytes.len() + chunk.len() > limit {
                return Err(Error::new(
                    Kind::PayloadTooLarge,
                    "payload_too_large",
                    if is_file {
                        format!("the file {name} is larger than {file_limit} bytes")
                    } else {
                        format!("the form's text is larger than {text_limit} bytes")
                    },
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_file {
            if files.len() == MAX_FILES {
                return Err(Error::unprocessable(format!("at most {MAX_FILES} files at once")));
            }
            files.push(Upload { field: name, bytes });
        } else {
            text_bytes += bytes.len();
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::bad_request(format!("the field {name} is not UTF-8")))?;
            pairs.push((name, text));
        }
    }
    Ok(WithFiles {
        value: form_to_json(pairs),
        files,
    })
}

/// A query string read the way forms are (`types[]=a&types[]=b` is a list), as the type a
/// handler wants; 422 naming the parameter that did not fit.
pub fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| Error::bad_request(format!("invalid query string: {e}")))?;
    into(form_to_json(pairs))
}

/// A list given as `key[]=a&key[]=b`, or one value as `key=a`.
pub fn one_or_many<'de, D: Deserializer<'de>>(de: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Raw>::deserialize(de)? {
        None => Vec::new(),
        Some(Raw::One(s)) => vec![s],
        Some(Raw::Many(v)) => v,
    })
}

/// A body of fields only, in any of the three encodings, as the type a handler wants: a file
/// in it is refused, as the endpoint has nowhere to keep it.
pub async fn read<T: DeserializeOwned>(req: &HttpRequest, payload: web::Payload, limit: usize) -> Result<T> {
    let body = read_with_files(req, payload, limit, limit).await?;
    if let Some(file) = body.files.first() {
        return Err(Error::unprocessable(format!(
            "this endpoint takes no files, and {} is one",
            file.field
        )));
    }
    into(body.value)
}

/// `a[b][]=x` into `{"a": {"b": ["x"]}}`: the path of a key, its first part and the bracketed rest.
fn key_path(key: &str) -> Vec<&str> {
    let Some(open) = key.find('[') else {
        return vec![key];
    };
    let mut parts = vec![&key[..open]];
    let mut rest = &key[open..];
    while let Some(inner) = rest.strip_prefix('[') {
        match inner.find(']') {
            Some(close) => {
                parts.push(&inner[..close]);
                rest = &inner[close + 1..];
            }
            None => return vec![key],
        }
    }
    if rest.is_empty() { parts } else { vec![key] }
}

fn insert(target: &mut Value, path: &[&str], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if first.is_empty() {
        // `[]`: append to a list.
        if !target.is_array() {
            *target = Value::Array(Vec::new());
        }
        if let Value::Array(items) = target {
            if rest.is_empty() {
                items.push(value);
            } else {
                let mut item = Value::Object(Map::new());
                insert(&mut item, rest, value);
                items.push(item);
            }
        }
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        if rest.is_empty() {
            map.insert((*first).to_owned(), value);
        } else {
            let entry = map.entry((*first).to_owned()).or_insert(Value::Null);
            insert(entry, rest, value);
        }
    }
}

fn form_to_json(pairs: Vec<(String, String)>) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, value) in pairs {
        insert(&mut root, &key_path(&key), Value::String(value));
    }
    root
}

/// A boolean from JSON or from a form's text.
pub fn flex_bool<'de, D: Deserializer<'de>>(de: D) -> std::result::Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    match Option::<Raw>::deserialize(de)? {
        None => Ok(None),
        Some(Raw::Bool(b)) => Ok(Some(b)),
        Some(Raw::Int(0)) => Ok(Some(false)),
        Some(Raw::Int(1)) => Ok(Some(true)),
        Some(Raw::Text(t)) => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "on" | "yes" => Ok(Some(true)),
            "false" | "0" | "off" | "no" | "" => Ok(Some(false)),
            other => Err(serde::de::Error::custom(format!("{other:?} is not a boolean"))),
        },
        Some(Raw::Int(n)) => Err(serde::de::Error::custom(format!("{n} is not a boolean"))),
    }
}

/// `flex_bool` for a field that must be present or defaults to false.
pub fn flex_bool_or_false<'de, D: Deserializer<'de>>(de: D) -> std::result::Result<bool, D::Error> {
    Ok(flex_bool(de)?.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_nest_as_rails_reads_them() {
        let value = form_to_json(vec![
            ("display_name".into(), "Fox".into()),
            ("fields_attributes[0][name]".into(), "Site".into()),
            ("fields_attributes[0][value]".into(), "https://fox.example".into()),
            ("source[privacy]".into(), "unlisted".into()),
            ("media_ids[]".into(), "1".into()),
            ("media_ids[]".into(), "2".into()),
            ("odd[key".into(), "kept whole".into()),
        ]);
        assert_eq!(
            value,
            serde_json::json!({
                "display_name": "Fox",
                "fields_attributes": {"0": {"name": "Site", "value": "https://fox.example"}},
                "source": {"privacy": "unlisted"},
                "media_ids": ["1", "2"],
                "odd[key": "kept whole",
            })
        );
    }

    #[test]
    fn booleans_from_anywhere() {
        #[derive(Deserialize)]
        struct B {
            #[serde(default, deserialize_with = "flex_bool")]
            b: Option<bool>,
        }
        for (raw, want) in [
            (serde_json::json!({"b": "1"}), Some(true)),
            (serde_json::json!({"b": "false"}), Some(false)),
            (serde_json::json!({"b": true}), Some(true)),
            (serde_json::json!({"b": 0}), Some(false)),
            (serde_json::json!({}), None),
        ] {
            assert_eq!(into::<B>(raw).expect("parses").b, want);
        }
        assert!(into::<B>(serde_json::json!({"b": "maybe"})).is_err());
    }
}
