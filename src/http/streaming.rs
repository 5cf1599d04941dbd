//! `/api/v1/streaming`: Mastodon's streaming API in this same server. Over WebSocket a client
//! subscribes to streams with `{"type": "subscribe", "stream": "public"}` (or names one in
//! the query); over server-sent events each stream has its own path. Events are Mastodon's:
//! `update`, `status.update`, `delete`, `notification`, each naming its stream. The token may
//! come as the WebSocket subprotocol (how masto.js sends it), `access_token` or the header.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};

use super::{auth, entities};
use crate::{
    accounts,
    db::{self, events::Event},
    domain::account::Account,
    error::{Error, Kind, Result},
    live::{self, Shown, Stream},
    state::AppState,
};

/// How often an idle connection is pinged, so proxies keep it and dead ones are noticed.
const HEARTBEAT: Duration = Duration::from_secs(30);
/// Streams one connection may hold.
const MAX_STREAMS: usize = 16;

#[derive(Deserialize)]
pub struct StreamQuery {
    access_token: Option<String>,
    stream: Option<String>,
    tag: Option<String>,
}

/// The signed-in account, from the subprotocol, the query or the header; None without a token.
/// A token that is not valid is refused, not taken as no one.
async fn viewer(
    state: &AppState,
    req: &HttpRequest,
    query: &StreamQuery,
) -> Result<(Option<Account>, Option<String>)> {
    let protocol = req
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    let token = protocol
        .clone()
        .or_else(|| query.access_token.clone())
        .or_else(|| auth::bearer(req));
    let Some(token) = token else {
        return Ok((None, None));
    };
    let (account, scopes) = accounts::authenticate(&state.db, &token).await?;
    if !crate::domain::scope::covers(&scopes, "read:statuses") {
        return Err(Error::new(
            Kind::Forbidden,
            "insufficient_scope",
            "this token lacks the scope read:statuses streaming needs",
        ));
    }
    Ok((Some(account), protocol))
}

fn checked(stream: Option<Stream>, viewer: Option<&Account>) -> Result<Stream> {
    let stream = stream.ok_or_else(|| Error::unprocessable("unknown stream"))?;
    if stream.personal() && viewer.is_none() {
        return Err(Error::unauthorized(
            "invalid_token",
            "this stream needs an access token",
        ));
    }
    Ok(stream)
}

/// An event as the streaming API sends it: `payload` is itself JSON text (the id alone for
/// `delete`), as Mastodon sends it.
fn event_and_payload(
    state: &AppState,
    stream: &Stream,
    shown: &Shown,
    viewer: Option<&Account>,
) -> (&'static str, String) {
    match shown {
        // The direct stream speaks of conversations, as Mastodon's does: Kaleido keeps none
        // apart from their posts, so each post is its own, with everyone in it but the viewer.
        Shown::Status { status, .. } if *stream == Stream::Direct => {
            let mut people: Vec<&Account> = status.mentions.iter().collect();
            people.push(&status.author);
            people.retain(|a| viewer.is_none_or(|v| v.id != a.id));
            people.dedup_by(|a, b| a.id == b.id);
            let conversation = json!({
                "id": status.status.id,
                "unread": true,
                "accounts": people.iter().map(|a| entities::account(state, a)).collect::<Vec<_>>(),
                "last_status": entities::status_full(state, status),
            });
            ("conversation", conversation.to_string())
        }
        Shown::Status { edited, status } => (
            if *edited { "status.update" } else { "update" },
            entities::status_full(state, status).to_string(),
        ),
        Shown::Delete(id) => ("delete", id.clone()),
        Shown::Notification(told) => (
            "notification",
            super::notifications::entity(state, told).to_string(),
        ),
    }
}

fn message(state: &AppState, stream: &Stream, shown: &Shown, viewer: Option<&Account>) -> String {
    let (event, payload) = event_and_payload(state, stream, shown, viewer);
    json!({ "stream": stream.names(), "event": event, "payload": payload }).to_string()
}

/// What one event sends on a connection's streams.
async fn messages(
    state: &AppState,
    event: &Event,
    viewer: Option<&Account>,
    streams: &[Stream],
) -> Vec<String> {
    match live::show(state, event, viewer, streams).await {
        Ok(shown) => shown.iter().map(|(s, m)| message(state, s, m, viewer)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "a live update could not be shown");
            Vec::new()
        }
    }
}

/// `GET /api/v1/streaming` as a WebSocket.
pub async fn websocket(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse> {
    let (viewer, protocol) = viewer(&state, &req, &query).await?;
    let mut streams = Vec::new();
    if let Some(name) = &query.stream {
        streams.push(checked(
            Stream::parse(name, query.tag.as_deref()),
            viewer.as_ref(),
        )?);
    }
    let (mut response, mut session, mut incoming) = actix_ws::handle(&req, payload)
        .map_err(|e| Error::bad_request(format!("not a WebSocket handshake: {e}")))?;
    // A client that sent its token as the subprotocol waits to hear it chosen.
    if let Some(protocol) = protocol
        && let Ok(value) = header::HeaderValue::from_str(&protocol)
    {
        response
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_PROTOCOL, value);
    }
    let mut events = db::events::subscribe(&state.db);
    let state = state.into_inner();
    actix_web::rt::spawn(async move {
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                message = incoming.recv() => {
                    let Some(Ok(message)) = message else { break };
                    match message {
                        actix_ws::Message::Text(text) => {
                            let answer = command(&text, viewer.as_ref(), &mut streams);
                            if let Some(answer) = answer
                                && session.text(answer).await.is_err()
                            {
                                break;
                            }
                        }
                        actix_ws::Message::Ping(bytes) if session.pong(&bytes).await.is_err() => break,
                        actix_ws::Message::Close(_) => break,
                        _ => {}
                    }
                }
                event = events.recv() => {
                    let event = match event {
                        Ok(event) => event,
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => break,
                    };
                    if streams.is_empty() {
                        continue;
                    }
                    for text in messages(&state, &event, viewer.as_ref(), &streams).await {
                        if session.text(text).await.is_err() {
                            return;
                        }
                    }
                }
                _ = heartbeat.tick() => {
                    if session.ping(b"").await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = session.close(None).await;
    });
    Ok(response)
}

#[derive(Deserialize)]
struct Command {
    #[serde(rename = "type")]
    kind: String,
    stream: String,
    tag: Option<String>,
}

/// A client's `subscribe` or `unsubscribe`; an error to send back when it was not one.
fn command(text: &str, viewer: Option<&Account>, streams: &mut Vec<Stream>) -> Option<String> {
    let Ok(command) = serde_json::from_str::<Command>(text) else {
        return Some(json!({"error": "send {\"type\": \"subscribe\", \"stream\": …}"}).to_string());
    };
    let stream = match checked(Stream::parse(&command.stream, command.tag.as_deref()), viewer) {
        Ok(s) => s,
        Err(e) => return Some(json!({"error": e.message, "status": e.kind.status().as_u16()}).to_string()),
    };
    match command.kind.as_str() {
        "subscribe" if !streams.contains(&stream) => {
            if streams.len() == MAX_STREAMS {
                return Some(json!({"error": format!("at most {MAX_STREAMS} streams at once")}).to_string());
            }
            streams.push(stream);
        }
        "subscribe" => {}
        "unsubscribe" => streams.retain(|s| *s != stream),
        _ => return Some(json!({"error": "type is subscribe or unsubscribe"}).to_string()),
    }
    None
}

/// `GET /api/v1/streaming/{stream…}` as server-sent events: `user`, `user/notification`,
/// `public`, `public/local`, `public/remote`, `hashtag` (`?tag=`), `hashtag/local`, `direct`.
pub async fn events(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse> {
    let (viewer, _) = viewer(&state, &req, &query).await?;
    let name = path.replace('/', ":");
    let stream = checked(Stream::parse(&name, query.tag.as_deref()), viewer.as_ref())?;
    let mut events = db::events::subscribe(&state.db);
    let state = state.into_inner();
    let (sender, mut outgoing) = mpsc::channel::<web::Bytes>(64);
    actix_web::rt::spawn(async move {
        let streams = vec![stream];
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        loop {
            let chunk = tokio::select! {
                event = events.recv() => match event {
                    Ok(event) => {
                        let mut chunk = String::new();
                        for (s, shown) in live::show(&state, &event, viewer.as_ref(), &streams).await.unwrap_or_default() {
                            let (name, payload) = event_and_payload(&state, &s, &shown, viewer.as_ref());
                            chunk.push_str(&format!("event: {name}\ndata: {payload}\n\n"));
                        }
                        chunk
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = heartbeat.tick() => ":thump\n\n".to_owned(),
            };
            if !chunk.is_empty() && sender.send(web::Bytes::from(chunk)).await.is_err() {
                break;
            }
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| {
        outgoing
            .poll_recv(cx)
            .map(|chunk| chunk.map(Ok::<_, actix_web::Error>))
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// `GET /api/v1/streaming/health`
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("OK")
}
