//! Accounts, relationships, search and follow requests in Mastodon's API shapes.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    auth::{CurrentAccount, Viewer},
    entities,
    throttle::Throttle,
};
use crate::{
    accounts::{
        self,
        signup::{self, SignUp},
    },
    config::RegistrationMode,
    db::{
        self,
        accounts::{Picture, ProfileEdit},
        statuses::{Page, Timeline},
    },
    domain::account::{check_display_name, check_fields, check_note},
    error::{Error, Result},
    profiles::{self, NewPicture},
    social,
    state::AppState,
    statuses,
};

pub async fn verify_credentials(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(own_account(&state, &current.0).await?))
}

/// An account others may see: not one waiting for approval, and a suspended or deleted one
/// answers 410 to everyone but admins.
pub async fn visible_account(
    state: &AppState,
    id: &str,
    viewer: Option<&crate::domain::account::Account>,
) -> Result<crate::domain::account::Account> {
    let account = db::accounts::by_id(&state.db, id)
        .await?
        .filter(|a| a.standing.approved || viewer.is_some_and(|v| v.is_admin))
        .ok_or_else(|| Error::not_found("account"))?;
    if account.standing.gone() && viewer.is_none_or(|v| !v.is_admin) {
        return Err(Error::new(
            crate::error::Kind::Gone,
            "account_gone",
            "this account is suspended or deleted",
        ));
    }
    Ok(account)
}

pub async fn show(state: web::Data<AppState>, viewer: Viewer, id: web::Path<String>) -> Result<HttpResponse> {
    let account = visible_account(&state, &id, viewer.account.as_ref()).await?;
    Ok(HttpResponse::Ok().json(entities::account_with_counts(&state, &account).await?))
}

#[derive(Deserialize)]
pub struct LookupQuery {
    acct: String,
}

/// `GET /api/v1/accounts/lookup?acct=name[@host]`: known accounts only, nothing fetched.
pub async fn lookup(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<LookupQuery>,
) -> Result<HttpResponse> {
    let found = social::search(&state, &query.acct, false, viewer.account.as_ref()).await?;
    let account = found
        .accounts
        .first()
        .ok_or_else(|| Error::not_found("account"))?;
    Ok(HttpResponse::Ok().json(entities::account_with_counts(&state, account).await?))
}

#[derive(Deserialize)]
pub struct AccountStatusesQuery {
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    limit: Option<i64>,
    /// Only the posts pinned to the profile.
    #[serde(default, deserialize_with = "super::body::flex_bool_or_false")]
    pinned: bool,
}

pub async fn statuses(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<AccountStatusesQuery>,
) -> Result<HttpResponse> {
    let account = visible_account(&state, &id, viewer.account.as_ref()).await?;
    if query.pinned {
        // Pins are few (five at most) and come in one page, newest pin first.
        let pinned = statuses::only_visible(
            &state,
            crate::db::marks::pins(&state.db, &account.id).await?,
            viewer.account.as_ref(),
        )
        .await?;
        let items = statuses::hydrate(&state, pinned, viewer.account.as_ref()).await?;
        return Ok(HttpResponse::Ok().json(
            items
                .iter()
                .map(|i| entities::status_full(&state, i))
                .collect::<Vec<_>>(),
        ));
    }
    let page = Page {
        max_id: query.max_id.clone(),
        since_id: query.since_id.clone(),
        min_id: query.min_id.clone(),
        limit: query.limit.unwrap_or(20),
    };
    let items = statuses::timeline(
        &state,
        Timeline::Account { account_id: &id },
        &page,
        viewer.account.as_ref(),
    )
    .await?;
    Ok(super::statuses::page_response(&state, &req, &items))
}

#[derive(Deserialize)]
pub struct FollowRequest {
    #[serde(default, deserialize_with = "super::body::flex_bool")]
    reblogs: Option<bool>,
    #[serde(default, deserialize_with = "super::body::flex_bool")]
    notify: Option<bool>,
    #[serde(default)]
    languages: Vec<String>,
}

/// `POST /api/v1/accounts/:id/follow` `{notify}`: following again only changes the bell.
pub async fn follow(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let request: FollowRequest =
        super::body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    // What Kaleido does not keep is refused, not answered as if it were.
    if request.reblogs == Some(false) {
        return Err(Error::unprocessable(
            "Kaleido always shows the boosts of accounts you follow",
        ));
    }
    if !request.languages.is_empty() {
        return Err(Error::unprocessable(
            "Kaleido shows posts in every language; it keeps no language filter",
        ));
    }
    let mut relationship = social::follow(&state, &current.0, &id).await?;
    if let Some(notify) = request.notify {
        relationship = social::ring(&state, &current.0, &id, notify).await?;
    }
    Ok(HttpResponse::Ok().json(relationship))
}

pub async fn unfollow(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(social::unfollow(&state, &current.0, &id).await?))
}

/// `GET /api/v1/accounts/relationships?id[]=a&id[]=b` (or `id=a`).
pub async fn relationships(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| Error::bad_request(format!("invalid query: {e}")))?;
    let mut out = Vec::new();
    for (name, id) in pairs.into_iter().take(40) {
        if name == "id[]" || name == "id" {
            out.push(social::relationship(&state, &current.0, &id).await?);
        }
    }
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: String,
    #[serde(default, deserialize_with = "super::body::flex_bool_or_false")]
    resolve: bool,
    /// accounts, statuses or hashtags; all three when absent.
    #[serde(rename = "type")]
    kind: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

fn number(raw: Option<&str>, default: i64, name: &str) -> Result<i64> {
    match raw {
        Some(raw) => raw
            .parse()
            .map_err(|_| Error::unprocessable(format!("{name} is a number"))),
        None => Ok(default),
    }
}

/// `GET /api/v2/search`: an address or link looked up (and fetched with `resolve`), then
/// accounts by name, posts by the words in them and tags by prefix.
pub async fn search(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse> {
    let kind = query.kind.as_deref();
    if kind.is_some_and(|k| !matches!(k, "accounts" | "statuses" | "hashtags")) {
        return Err(Error::unprocessable("type is accounts, statuses or hashtags"));
    }
    let wanted = social::Wanted {
        accounts: kind.is_none_or(|k| k == "accounts"),
        statuses: kind.is_none_or(|k| k == "statuses"),
        hashtags: kind.is_none_or(|k| k == "hashtags"),
        limit: number(query.limit.as_deref(), 20, "limit")?,
        offset: number(query.offset.as_deref(), 0, "offset")?,
    };
    let me = viewer.account.as_ref();
    let mut found = social::search(&state, &query.q, query.resolve, me).await?;
    social::full_text(&state, &query.q, &wanted, me, &mut found).await?;
    let mut accounts = Vec::with_capacity(found.accounts.len());
    for account in found.accounts.iter().filter(|_| wanted.accounts) {
        accounts.push(entities::account_with_counts(&state, account).await?);
    }
    let base = state.config.public_url();
    Ok(HttpResponse::Ok().json(json!({
        "accounts": accounts,
        "statuses": found.statuses.iter().filter(|_| wanted.statuses).map(|s| entities::status_full(&state, s)).collect::<Vec<_>>(),
        "hashtags": found.hashtags.iter().map(|t| json!({"name": t, "url": format!("{base}/tags/{t}"), "history": []})).collect::<Vec<_>>(),
    })))
}

pub async fn follow_requests(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    let accounts = social::follow_requests(&state, &current.0).await?;
    Ok(HttpResponse::Ok().json(
        accounts
            .iter()
            .map(|a| entities::account(&state, a))
            .collect::<Vec<_>>(),
    ))
}

/// `/api/v1/follow_requests/:account_id/authorize` or `/reject`.
pub async fn answer_request(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let accept = req.path().ends_with("/authorize");
    Ok(HttpResponse::Ok().json(social::answer_request(&state, &current.0, &id, accept).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SourceUpdate {
    privacy: Option<String>,
    #[serde(default, deserialize_with = "super::body::flex_bool")]
    sensitive: Option<bool>,
    language: Option<String>,
}

/// Everything Mastodon's `update_credentials` takes that Kaleido keeps. Anything else (say
/// `attribution_domains`) is refused with 422 naming it, rather than answered 200 and dropped.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CredentialsUpdate {
    display_name: Option<String>,
    note: Option<String>,
    #[serde(default, deserialize_with = "super::body::flex_bool")]
    locked: Option<bool>,
    #[serde(default, deserialize_with = "super::body::flex_bool")]
    bot: Option<bool>,
    #[serde(default, deserialize_with = "super::body::flex_bool")]
    discoverable: Option<bool>,
    #[serde(default, deserialize_with = "super::body::flex_bool")]
    indexable: Option<bool>,
    #[serde(default, deserialize_with = "super::body::flex_bool")]
    hide_collections: Option<bool>,
    /// A list of `{name, value}`, or (from forms) an object keyed by position.
    fields_attributes: Option<Value>,
    source: Option<SourceUpdate>,
}

const PRIVACIES: [&str; 4] = ["public", "unlisted", "private", "direct"];

fn field_pairs(raw: &Value) -> Result<Vec<(String, String)>> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let items: Vec<&Value> = match raw {
        Value::Array(items) => items.iter().collect(),
        Value::Object(map) => {
            let mut keyed: Vec<(usize, &Value)> = map
                .iter()
                .map(|(k, v)| {
                    k.parse::<usize>()
                        .map(|n| (n, v))
                        .map_err(|_| Error::unprocessable("fields_attributes are keyed 0, 1, 2, 3"))
                })
                .collect::<Result<_>>()?;
            keyed.sort_by_key(|(n, _)| *n);
            keyed.into_iter().map(|(_, v)| v).collect()
        }
        _ => {
            return Err(Error::unprocessable(
                "fields_attributes must be a list of {name, value}",
            ));
        }
    };
    Ok(items
        .into_iter()
        .map(|f| (text(f.get("name")), text(f.get("value"))))
        .collect())
}

/// Checks an update against the profile rules and makes it the edit `profiles` applies.
pub fn profile_edit(update: CredentialsUpdate) -> Result<ProfileEdit> {
    let source = update.source.unwrap_or_default();
    if let Some(privacy) = &source.privacy
        && !PRIVACIES.contains(&privacy.as_str())
    {
        return Err(Error::unprocessable(
            "source[privacy] is public, unlisted, private or direct",
        ));
    }
    if let Some(language) = &source.language
        && !crate::domain::status::is_language(language)
    {
        return Err(Error::unprocessable(
            "source[language] is a language code such as en",
        ));
    }
    Ok(ProfileEdit {
        display_name: update
            .display_name
            .as_deref()
            .map(check_display_name)
            .transpose()?,
        note: update.note.as_deref().map(check_note).transpose()?,
        fields: update
            .fields_attributes
            .as_ref()
            .map(|raw| field_pairs(raw).and_then(check_fields))
            .transpose()?,
        locked: update.locked,
        bot: update.bot,
        discoverable: update.discoverable,
        indexable: update.indexable,
        hide_collections: update.hide_collections,
        default_privacy: source.privacy,
        default_sensitive: source.sensitive,
        default_language: source.language,
    })
}

/// The pictures of a multipart edit: `avatar` and `header`; any other file is refused.
pub fn pictures(files: Vec<super::body::Upload>) -> Result<Vec<NewPicture>> {
    files
        .into_iter()
        .map(|f| {
            let which = match f.field.as_str() {
                "avatar" => Picture::Avatar,
                "header" => Picture::Header,
                other => {
                    return Err(Error::unprocessable(format!(
                        "the file field {other:?} is not taken here; send avatar or header"
                    )));
                }
            };
            Ok(NewPicture {
                which,
                bytes: f.bytes,
            })
        })
        .collect()
}

/// The account as it sees itself: with its counts and `source`.
pub async fn own_account(state: &AppState, account: &crate::domain::account::Account) -> Result<Value> {
    let mut value = entities::account_with_counts(state, account).await?;
    let requests = social::follow_requests(state, account).await?.len() as i64;
    value["source"] = entities::source(account, requests);
    value["role"] = entities::role(account, state.config.registrations.users_can_invite);
    Ok(value)
}

/// `PATCH /api/v1/accounts/update_credentials`: JSON, a form, or multipart with pictures.
pub async fn update_credentials(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let limits = &state.config.limits;
    let body = super::body::read_with_files(
        &req,
        payload,
        limits.max_request_body_bytes,
        limits.max_avatar_bytes as usize,
    )
    .await?;
    let edit = profile_edit(super::body::into(body.value)?)?;
    let pictures = pictures(body.files)?;
    let account = profiles::edit(&state, &current.0, edit, pictures).await?;
    Ok(HttpResponse::Ok().json(own_account(&state, &account).await?))
}

/// `DELETE /api/v1/profile/avatar` and `/header`.
pub async fn remove_picture(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let which = if req.path().ends_with("/header") {
        Picture::Header
    } else {
        Picture::Avatar
    };
    let account = profiles::remove_picture(&state, &current.0, which).await?;
    Ok(HttpResponse::Ok().json(own_account(&state, &account).await?))
}

#[derive(Deserialize)]
pub struct SignUpRequest {
    username: String,
    password: String,
    email: Option<String>,
    #[serde(default, deserialize_with = "super::body::flex_bool_or_false")]
    agreement: bool,
    locale: Option<String>,
    reason: Option<String>,
    invite_code: Option<String>,
}

/// `POST /api/v1/accounts`: signs up and answers with a token, as Mastodon does. A sign-up that
/// waits for approval gets one too; it works once an admin lets the account in.
pub async fn sign_up(
    state: web::Data<AppState>,
    throttle: web::Data<Throttle>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let request: SignUpRequest =
        super::body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    let address = super::beacons::viewer_address(&req);
    if state.config.registrations.mode != RegistrationMode::Closed {
        throttle.sign_up(address, state.config.registrations.max_per_address_per_hour)?;
    }
    let registered = signup::sign_up(
        &state,
        SignUp {
            username: request.username,
            password: request.password,
            email: request.email,
            agreement: request.agreement,
            locale: request.locale,
            reason: request.reason,
            invite: request.invite_code,
            address: address.map(|a| a.to_string()),
        },
    )
    .await?;
    let app_token = super::auth::bearer(&req);
    let token = accounts::oauth::sign_up_token(&state.db, &registered.account, app_token.as_deref()).await?;
    Ok(HttpResponse::Ok().json(json!({
        "access_token": token.token,
        "token_type": "Bearer",
        "scope": token.scope,
        "created_at": token.created_at / 1000,
    })))
}
