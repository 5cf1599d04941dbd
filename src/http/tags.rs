//! Hashtags: a tag's timeline (with Mastodon's `any`, `all` and `none`), the tag itself, and
//! following it (followed tags feed the home timeline).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    auth::{CurrentAccount, Viewer},
    body,
};
use crate::{
    db::{
        self,
        statuses::{Page, Timeline},
    },
    domain::text::{is_tag, normal_tag},
    error::{Error, Result},
    state::AppState,
    statuses,
};

fn checked(raw: &str) -> Result<String> {
    let name = raw.trim_start_matches('#');
    if !is_tag(name) {
        return Err(Error::not_found("tag"));
    }
    Ok(normal_tag(name))
}

fn checked_all(raw: &[String]) -> Result<Vec<String>> {
    raw.iter()
        .take(4)
        .map(|t| checked(t).map_err(|_| Error::unprocessable(format!("{t:?} is not a hashtag"))))
        .collect()
}

#[derive(Deserialize)]
pub struct TagQuery {
    #[serde(default, deserialize_with = "body::one_or_many")]
    any: Vec<String>,
    #[serde(default, deserialize_with = "body::one_or_many")]
    all: Vec<String>,
    #[serde(default, deserialize_with = "body::one_or_many")]
    none: Vec<String>,
    #[serde(default, deserialize_with = "body::flex_bool_or_false")]
    local: bool,
    #[serde(default, deserialize_with = "body::flex_bool_or_false")]
    remote: bool,
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    limit: Option<String>,
}

/// `GET /api/v1/timelines/tag/:tag`: public posts with the tag (or any of `any[]`), all of
/// `all[]` and none of `none[]`, newest first.
pub async fn timeline(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    tag: web::Path<String>,
) -> Result<HttpResponse> {
    let query: TagQuery = body::query(&req)?;
    let mut any = vec![checked(&tag)?];
    any.extend(checked_all(&query.any)?);
    let (all, none) = (checked_all(&query.all)?, checked_all(&query.none)?);
    let limit = match query.limit.as_deref() {
        Some(raw) => raw
            .parse::<i64>()
            .map_err(|_| Error::unprocessable("limit is a number"))?,
        None => 20,
    };
    let page = Page {
        max_id: query.max_id,
        since_id: query.since_id,
        min_id: query.min_id,
        limit,
    };
    let items = statuses::timeline(
        &state,
        Timeline::Tag {
            any: &any,
            all: &all,
            none: &none,
            local: query.local,
            remote: query.remote,
            viewer: viewer.account.as_ref().map(|a| a.id.as_str()),
        },
        &page,
        viewer.account.as_ref(),
    )
    .await?;
    Ok(super::statuses::page_response(&state, &req, &items))
}

fn tag_entity(state: &AppState, name: &str, following: Option<bool>) -> Value {
    let mut value = json!({
        "name": name,
        "url": format!("{}/tags/{name}", state.config.public_url()),
        "history": [],
    });
    if let Some(following) = following {
        value["following"] = json!(following);
    }
    value
}

/// `GET /api/v1/tags/:name`: a tag used here (404 for one nobody used or followed).
pub async fn show(
    state: web::Data<AppState>,
    viewer: Viewer,
    name: web::Path<String>,
) -> Result<HttpResponse> {
    let name = checked(&name)?;
    if !db::conversation::tag_exists(&state.db, &name).await? {
        return Err(Error::not_found("tag"));
    }
    let following = match &viewer.account {
        Some(me) => Some(
            db::conversation::followed_tags(&state.db, &me.id)
                .await?
                .contains(&name),
        ),
        None => None,
    };
    Ok(HttpResponse::Ok().json(tag_entity(&state, &name, following)))
}

/// `POST /api/v1/tags/:name/follow` and `/unfollow`.
pub async fn follow(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse> {
    let name = checked(&name)?;
    let undo = req.path().ends_with("/unfollow");
    if undo {
        db::conversation::unfollow_tag(&state.db, &current.0.id, &name).await?;
    } else {
        db::conversation::follow_tag(&state.db, &current.0.id, &name).await?;
    }
    Ok(HttpResponse::Ok().json(tag_entity(&state, &name, Some(!undo))))
}

/// `GET /api/v1/followed_tags`
pub async fn followed(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    let names = db::conversation::followed_tags(&state.db, &current.0.id).await?;
    let body: Vec<Value> = names.iter().map(|n| tag_entity(&state, n, Some(true))).collect();
    Ok(HttpResponse::Ok().json(body))
}

fn featured_entity(state: &AppState, t: &db::conversation::Featured) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "url": format!("{}/tags/{}", state.config.public_url(), t.name),
        "statuses_count": t.statuses_count,
        "last_status_at": t.last_status_at.map(|ms| crate::domain::time::rfc3339(ms)[..10].to_owned()),
    })
}

/// `GET /api/v1/featured_tags`: the caller's own.
pub async fn featured(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    let tags = db::conversation::featured_tags(&state.db, &current.0.id).await?;
    Ok(HttpResponse::Ok().json(
        tags.iter()
            .map(|t| featured_entity(&state, t))
            .collect::<Vec<_>>(),
    ))
}

/// `GET /api/v1/accounts/:id/featured_tags`: what an account shows on its profile.
pub async fn featured_of(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let account = super::accounts::visible_account(&state, &id, viewer.account.as_ref()).await?;
    let tags = db::conversation::featured_tags(&state.db, &account.id).await?;
    Ok(HttpResponse::Ok().json(
        tags.iter()
            .map(|t| featured_entity(&state, t))
            .collect::<Vec<_>>(),
    ))
}

#[derive(Deserialize)]
pub struct FeatureRequest {
    name: String,
}

/// `POST /api/v1/featured_tags` `{name}`
pub async fn feature(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let request: FeatureRequest =
        body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    let name = checked(&request.name)
        .map_err(|_| Error::unprocessable(format!("{:?} is not a hashtag", request.name)))?;
    let Some(id) = db::conversation::feature_tag(&state.db, &current.0.id, &name).await? else {
        return Err(Error::unprocessable(format!(
            "at most {} tags can be featured",
            db::conversation::MAX_FEATURED
        )));
    };
    let tags = db::conversation::featured_tags(&state.db, &current.0.id).await?;
    let made = tags
        .iter()
        .find(|t| t.id == id)
        .ok_or_else(|| Error::internal("a featured tag vanished"))?;
    Ok(HttpResponse::Ok().json(featured_entity(&state, made)))
}

/// `DELETE /api/v1/featured_tags/:id`
pub async fn unfeature(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    if !db::conversation::unfeature_tag(&state.db, &current.0.id, &id).await? {
        return Err(Error::not_found("featured tag"));
    }
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `GET /api/v1/featured_tags/suggestions`: the tags the caller used most.
pub async fn suggestions(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    let names = db::conversation::used_tags(&state.db, &current.0.id, 10).await?;
    let followed = db::conversation::followed_tags(&state.db, &current.0.id).await?;
    let body: Vec<Value> = names
        .iter()
        .map(|n| tag_entity(&state, n, Some(followed.contains(n))))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}
