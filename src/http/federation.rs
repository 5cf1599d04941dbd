//! Discovery and actors: WebFinger, host-meta, NodeInfo, and the actor documents, with the same
//! URL giving HTML to browsers and JSON to ActivityPub clients.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::Deserialize;
use serde_json::json;

use super::views;
use crate::{
    db,
    domain::account::Username,
    error::{Error, Result},
    federation::{actors, instance, objects, outbox, wants_activity_json},
    inbox,
    net::client::ACTIVITY_JSON,
    state::AppState,
    statuses,
};

/// An activity bigger than this is not one a server sends.
const MAX_ACTIVITY_BYTES: usize = 1024 * 1024;

fn activity_json(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, ACTIVITY_JSON))
        .insert_header((header::VARY, "Accept"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(body.to_string())
}

pub fn asks_for_activity_json(req: &HttpRequest) -> bool {
    wants_activity_json(req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()))
}

async fn account_named(state: &AppState, name: &str) -> Result<crate::domain::account::Account> {
    let name = Username::parse(name).map_err(|_| Error::not_found("account"))?;
    let account = db::accounts::by_username(&state.db, &name.key())
        .await?
        .ok_or_else(|| Error::not_found("account"))?;
    if account.standing.gone() {
        return Err(Error::new(
            crate::error::Kind::Gone,
            "account_gone",
            "this account is suspended or deleted",
        ));
    }
    if !account.standing.approved {
        return Err(Error::not_found("account"));
    }
    Ok(account)
}

/// `/users/{name}`: the Person for ActivityPub, the profile page for people.
pub async fn person(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse> {
    let account = account_named(&state, &name).await?;
    if asks_for_activity_json(&req) {
        return Ok(activity_json(actors::person(
            state.config.public_url(),
            &account,
            &|key| state.file_url(key),
        )));
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/@{}", account.username)))
        .insert_header((header::VARY, "Accept"))
        .finish())
}

pub async fn channel(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse> {
    let account = account_named(&state, &name).await?;
    if asks_for_activity_json(&req) {
        return Ok(activity_json(actors::channel(
            state.config.public_url(),
            &account,
            &|key| state.file_url(key),
        )));
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/@{}", account.username)))
        .finish())
}

pub async fn instance_actor(state: web::Data<AppState>) -> Result<HttpResponse> {
    let keys = instance::keys(&state.db).await?;
    Ok(activity_json(actors::instance_actor(
        state.config.public_url(),
        &views::host(&state),
        &keys.public_pem,
    )))
}

#[derive(Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

/// `acct:name@host`, or the actor's or profile's URL, on this instance.
pub async fn webfinger(
    state: web::Data<AppState>,
    query: web::Query<WebfingerQuery>,
) -> Result<HttpResponse> {
    let resource = query
        .resource
        .as_deref()
        .ok_or_else(|| Error::bad_request("the resource parameter is required"))?;
    let base = state.config.public_url();
    let host = views::host(&state);
    let name = if let Some(acct) = resource.strip_prefix("acct:") {
        let (name, domain) = acct
            .rsplit_once('@')
            .ok_or_else(|| Error::bad_request("expected acct:name@host"))?;
        if !domain.eq_ignore_ascii_case(&host) {
            return Err(Error::not_found("account"));
        }
        name.trim_start_matches('@').to_owned()
    } else if let Some(name) = resource
        .strip_prefix(&format!("{base}/users/"))
        .or_else(|| resource.strip_prefix(&format!("{base}/@")))
    {
        name.to_owned()
    } else {
        return Err(Error::not_found("account"));
    };
    let account = account_named(&state, &name).await?;
    let actor = crate::domain::account::person_id(base, &account.username);
    let profile = format!("{base}/@{}", account.username);
    let body = json!({
        "subject": format!("acct:{}@{host}", account.username),
        "aliases": [actor, profile],
        "links": [
            { "rel": "self", "type": "application/activity+json", "href": actor },
            { "rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile },
            { "rel": "http://ostatus.org/schema/1.0/subscribe", "template": format!("{base}/authorize_interaction?uri={{uri}}") },
        ],
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/jrd+json; charset=utf-8"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(body.to_string()))
}

pub async fn host_meta(state: web::Data<AppState>) -> HttpResponse {
    let base = state.config.public_url();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  <Link rel=\"lrdd\" template=\"{base}/.well-known/webfinger?resource={{uri}}\"/>\n</XRD>\n"
    );
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/xrd+xml; charset=utf-8"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(body)
}

pub async fn nodeinfo_links(state: web::Data<AppState>) -> HttpResponse {
    let base = state.config.public_url();
    HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(json!({
            "links": [
                { "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": format!("{base}/nodeinfo/2.0") },
                { "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": format!("{base}/nodeinfo/2.1") },
            ]
        }))
}

pub async fn nodeinfo(state: web::Data<AppState>, version: web::Path<String>) -> Result<HttpResponse> {
    let version = version.into_inner();
    if version != "2.0" && version != "2.1" {
        return Err(Error::not_found("NodeInfo version"));
    }
    let day = 24 * 3600 * 1000;
    let now = db::now_ms();
    let users = db::accounts::count(&state.db).await?;
    let (posts, month, half_year) = db::statuses::usage(&state.db, now - 30 * day, now - 180 * day).await?;
    let mut software = json!({ "name": "kaleido", "version": env!("CARGO_PKG_VERSION") });
    if version == "2.1" {
        software["homepage"] = json!(state.config.public_url());
    }
    let accepted: Vec<&str> = [
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "video/mp4",
        "video/quicktime",
        "video/webm",
        "video/x-matroska",
    ]
    .to_vec();
    let body = json!({
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": { "inbound": [], "outbound": [] },
        "openRegistrations": crate::accounts::signup::open_to_strangers(state.config.registrations.mode),
        "usage": {
            "users": { "total": users, "activeMonth": month, "activeHalfyear": half_year },
            "localPosts": posts,
        },
        "metadata": {
            "nodeName": views::host(&state),
            "acceptedMediaTypes": accepted,
            "maxUploadBytes": state.config.limits.max_upload_bytes,
        },
    });
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            format!("application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\""),
        ))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(body.to_string()))
}

/// A status's ActivityPub id: the Note for ActivityPub clients, the post page for people.
/// Only what anyone may read is served (signed fetches for the rest come with federation).
pub async fn status_object(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (name, id) = path.into_inner();
    if !asks_for_activity_json(&req) {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/@{name}/{id}")))
            .insert_header((header::VARY, "Accept"))
            .finish());
    }
    match public_note(&state, &name, &id).await {
        Ok(note) => Ok(activity_json(note)),
        Err(e) if e.kind == crate::error::Kind::NotFound => {
            // A post that was here and was deleted says so.
            let uri = objects::status_uri(state.config.public_url(), &name, &id);
            match db::statuses::tombstone(&state.db, &uri).await? {
                Some((former_type, deleted_at)) => {
                    let mut tombstone = objects::tombstone(&uri);
                    tombstone["@context"] = json!("https://www.w3.org/ns/activitystreams");
                    tombstone["formerType"] = json!(former_type);
                    tombstone["deleted"] = json!(crate::domain::time::rfc3339(deleted_at));
                    Ok(HttpResponse::Gone()
                        .insert_header((header::CONTENT_TYPE, ACTIVITY_JSON))
                        .body(tombstone.to_string()))
                }
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

pub async fn status_activity(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (name, id) = path.into_inner();
    let note = public_note(&state, &name, &id).await?;
    Ok(activity_json(objects::create(note)))
}

/// A public local status's object (Note or Video), if `name` is its author.
async fn public_note(state: &AppState, name: &str, id: &str) -> Result<serde_json::Value> {
    let (status, author, _) = statuses::fetch(state, id, None).await?;
    if !author.username.eq_ignore_ascii_case(name) || !author.is_local() {
        return Err(Error::not_found("status"));
    }
    outbox::status_object(state, &status.id)
        .await?
        .map(|(object, _)| object)
        .ok_or_else(|| Error::not_found("status"))
}

#[derive(Deserialize)]
pub struct CollectionQuery {
    page: Option<bool>,
    max_id: Option<String>,
}

/// The outbox: the account's public posts as `Create` activities, newest first, by pages.
pub async fn outbox(
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: web::Query<CollectionQuery>,
) -> Result<HttpResponse> {
    let account = account_named(&state, &name).await?;
    let id = format!(
        "{}/outbox",
        crate::domain::account::person_id(state.config.public_url(), &account.username)
    );
    if query.page != Some(true) {
        let total = db::statuses::count_for_account(&state.db, &account.id).await?;
        return Ok(activity_json(json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": id,
            "type": "OrderedCollection",
            "totalItems": total,
            "first": format!("{id}?page=true"),
        })));
    }
    let page = db::statuses::Page {
        max_id: query.max_id.clone(),
        limit: 20,
        ..Default::default()
    };
    let items = statuses::timeline(
        &state,
        db::statuses::Timeline::Account {
            account_id: &account.id,
        },
        &page,
        None,
    )
    .await?;
    let mut activities = Vec::with_capacity(items.len());
    for item in items
        .iter()
        .filter(|i| i.status.visibility == crate::domain::status::Visibility::Public)
    {
        let Some((object, _)) = outbox::status_object(&state, &item.status.id).await? else {
            continue;
        };
        let mut activity = objects::create(object);
        if let Some(o) = activity.as_object_mut() {
            o.remove("@context");
        }
        activities.push(activity);
    }
    let mut body = json!({
        "@context": actors::context(),
        "id": format!("{id}?page=true{}", query.max_id.as_ref().map(|m| format!("&max_id={m}")).unwrap_or_default()),
        "type": "OrderedCollectionPage",
        "partOf": id,
        "orderedItems": activities,
    });
    if let Some(last) = items.last().filter(|_| items.len() == 20) {
        body["next"] = json!(format!("{id}?page=true&max_id={}", last.status.id));
    }
    Ok(activity_json(body))
}

/// Followers and following, as actor ids.
pub async fn relations(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse> {
    let account = account_named(&state, &name).await?;
    let which = if req.path().ends_with("/followers") {
        "followers"
    } else {
        "following"
    };
    let id = format!(
        "{}/{which}",
        crate::domain::account::person_id(state.config.public_url(), &account.username)
    );
    let items = db::federation::relation_uris(
        &state.db,
        &account.id,
        which == "followers",
        state.config.public_url(),
    )
    .await?;
    Ok(activity_json(json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "OrderedCollection",
        "totalItems": items.len(),
        "orderedItems": items,
    })))
}

/// A copy this instance holds, as the `CacheFile` it announced.
pub async fn cache_file(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse> {
    crate::mirror::announce::served(&state, &id)
        .await?
        .map(activity_json)
        .ok_or_else(|| Error::not_found("copy"))
}

/// An inbox (an account's, the shared one, the instance actor's): verified at the door, stored,
/// answered 202; applied by a job.
pub async fn inbox(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    if body.len() > MAX_ACTIVITY_BYTES {
        return Err(Error::new(
            crate::error::Kind::PayloadTooLarge,
            "payload_too_large",
            format!("an activity may be at most {MAX_ACTIVITY_BYTES} bytes"),
        ));
    }
    let headers = req
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((
                name.as_str().to_ascii_lowercase(),
                value.to_str().ok()?.to_owned(),
            ))
        })
        .collect();
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned());
    let target_uri = format!("{}{path}", state.config.public_url());
    inbox::receive(
        &state,
        inbox::Incoming {
            method: req.method().as_str(),
            path: &path,
            target_uri,
            headers,
            body: &body,
        },
    )
    .await?;
    Ok(HttpResponse::Accepted().finish())
}
