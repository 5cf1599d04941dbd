//! Request bodies the Mastodon way: JSON, or a form where `key[]` repeats into a list.

use actix_web::{HttpRequest, http::header};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Kind, Result};

pub fn parse<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let value = if is_json {
        serde_json::from_slice(body).map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")))?
    } else {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| {
            Error::new(
                Kind::BadRequest,
                "invalid_request",
                format!("invalid form body: {e}"),
            )
        })?;
        form_to_json(pairs)
    };
    serde_json::from_value(value).map_err(|e| Error::unprocessable(format!("invalid request: {e}")))
}

fn form_to_json(pairs: Vec<(String, String)>) -> Value {
    let mut map = Map::new();
    for (key, value) in pairs {
        if let Some(list) = key.strip_suffix("[]") {
            let entry = map
                .entry(list.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = entry {
                items.push(Value::String(value));
            }
        } else {
            // Forms carry only strings; booleans arrive as "true"/"false" or "1"/"0".
            let value = match value.as_str() {
                "true" | "1" | "on" if key == "sensitive" => Value::Bool(true),
                "false" | "0" if key == "sensitive" => Value::Bool(false),
                _ => Value::String(value),
            };
            map.insert(key, value);
        }
    }
    Value::Object(map)
}
