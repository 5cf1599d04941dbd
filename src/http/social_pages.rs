//! The pages where people meet: the home feed, notifications, search and hashtag pages, and
//! the post page's like, boost and reply forms. Plain forms that work without JavaScript;
//! every one that changes something carries the session's CSRF token.

use actix_web::{HttpResponse, http::header, web};
use minijinja::context;
use serde::Deserialize;

use super::{
    auth::Viewer,
    pages::{page, page_with_status},
    views,
};
use crate::{
    db::{
        self,
        statuses::{Page, Timeline},
    },
    error::{Error, Kind, Result},
    social,
    state::AppState,
    statuses,
};

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

fn expired() -> Error {
    Error::new(
        Kind::Forbidden,
        "invalid_csrf_token",
        "the form has expired; reload the page",
    )
}

/// Where a visitor who is not signed in goes first, to come back `here`.
fn to_login(here: &str) -> HttpResponse {
    let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    see_other(&format!("/login?next={next}"))
}

#[derive(Deserialize)]
pub struct FeedQuery {
    max_id: Option<String>,
}

const PAGE: i64 = 20;

fn older(posts: &[views::Post], base: &str, full: bool) -> Option<String> {
    full.then(|| posts.last().map(|p| format!("{base}?max_id={}", p.id)))
        .flatten()
}

/// `/home`: what the signed-in viewer follows, newest first.
pub async fn home(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse> {
    let Some(me) = viewer.account.as_ref() else {
        return Ok(to_login("/home"));
    };
    let page_of = Page {
        max_id: query.max_id.clone(),
        limit: PAGE,
        ..Page::default()
    };
    let items = statuses::timeline(&state, Timeline::Home { account_id: &me.id }, &page_of, Some(me)).await?;
    let posts: Vec<views::Post> = items.iter().map(|i| views::post(&state, i)).collect();
    let more = older(&posts, "/home", items.len() as i64 == PAGE);
    page(
        &state,
        &viewer,
        "home.html",
        context! { posts => posts, older => more },
    )
}

/// One line of the notifications page.
#[derive(serde::Serialize)]
struct Line {
    kind: String,
    text: String,
    who: String,
    who_url: String,
    post: Option<views::Post>,
    at: String,
}

fn sentence(kind: &str) -> &'static str {
    match kind {
        "mention" => "mentioned you",
        "favourite" => "liked your post",
        "reblog" => "boosted your post",
        "follow" => "followed you",
        "follow_request" => "asked to follow you",
        "update" => "edited a post you boosted",
        "admin.sign_up" => "signed up",
        "admin.report" => "filed a report",
        _ => "did something",
    }
}

/// `/notifications`: what the viewer was told, newest first; seeing them marks them read.
pub async fn notifications(
    state: web::Data<AppState>,
    mut viewer: Viewer,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse> {
    let Some(me) = viewer.account.clone() else {
        return Ok(to_login("/notifications"));
    };
    let filter = db::notifications::Filter {
        max_id: query.max_id.clone(),
        limit: PAGE,
        ..Default::default()
    };
    let told = social::notifications(&state, &me, &filter).await?;
    if query.max_id.is_none()
        && let Some(newest) = told.first()
    {
        db::marks::set_marker(&state.db, &me.id, "notifications", &newest.notification.id).await?;
        viewer.unread = 0;
    }
    let base = state.config.public_url();
    let lines: Vec<Line> = told
        .iter()
        .map(|t| Line {
            kind: t.notification.kind.clone(),
            text: sentence(&t.notification.kind).to_owned(),
            who: if t.from.display_name.is_empty() {
                t.from.username.clone()
            } else {
                t.from.display_name.clone()
            },
            who_url: format!("{base}/@{}", t.from.acct()),
            post: t.status.as_ref().map(|s| views::post(&state, s)),
            at: crate::domain::time::rfc3339(t.notification.created_at),
        })
        .collect();
    let more = (told.len() as i64 == PAGE)
        .then(|| {
            told.last()
                .map(|t| format!("/notifications?max_id={}", t.notification.id))
        })
        .flatten();
    page(
        &state,
        &viewer,
        "notifications.html",
        context! { lines => lines, older => more },
    )
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// `/search?q=`: accounts, posts and tags, as the API finds them.
pub async fn search(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse> {
    let q = query.q.trim().to_owned();
    let me = viewer.account.as_ref();
    let mut found = social::Found::default();
    if !q.is_empty() {
        found = match social::search(&state, &q, me.is_some(), me).await {
            Ok(found) => found,
            Err(e) if e.kind.status().is_client_error() => social::Found::default(),
            Err(e) => return Err(e),
        };
        let wanted = social::Wanted {
            accounts: true,
            statuses: true,
            hashtags: true,
            limit: 20,
            offset: 0,
        };
        social::full_text(&state, &q, &wanted, me, &mut found).await?;
    }
    let base = state.config.public_url();
    let accounts: Vec<_> = found
        .accounts
        .iter()
        .filter(|a| a.standing.approved && !a.standing.gone())
        .map(|a| {
            context! {
                name => if a.display_name.is_empty() { a.username.clone() } else { a.display_name.clone() },
                handle => format!("@{}", a.acct()),
                url => format!("{base}/@{}", a.acct()),
            }
        })
        .collect();
    let posts: Vec<views::Post> = found.statuses.iter().map(|s| views::post(&state, s)).collect();
    page(
        &state,
        &viewer,
        "search.html",
        context! { q => q, accounts => accounts, posts => posts, tags => found.hashtags, searched => !query.q.trim().is_empty() },
    )
}

/// `/tags/:tag`: the tag's public posts as a grid.
pub async fn tag(
    state: web::Data<AppState>,
    viewer: Viewer,
    tag: web::Path<String>,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse> {
    let name = crate::domain::text::normal_tag(&tag);
    if !crate::domain::text::is_tag(&name) {
        return super::pages::not_found_page(&state, &viewer);
    }
    let page_of = Page {
        max_id: query.max_id.clone(),
        limit: 24,
        ..Page::default()
    };
    let any = [name.clone()];
    let items = statuses::timeline(
        &state,
        Timeline::Tag {
            any: &any,
            all: &[],
            none: &[],
            local: false,
            remote: false,
            viewer: viewer.account.as_ref().map(|a| a.id.as_str()),
        },
        &page_of,
        viewer.account.as_ref(),
    )
    .await?;
    let posts: Vec<views::Post> = items.iter().map(|i| views::post(&state, i)).collect();
    let following = match &viewer.account {
        Some(me) => db::conversation::followed_tags(&state.db, &me.id)
            .await?
            .contains(&name),
        None => false,
    };
    let more = older(&posts, &format!("/tags/{name}"), items.len() == 24);
    page(
        &state,
        &viewer,
        "tag.html",
        context! { tag => name, posts => posts, older => more, following => following },
    )
}

#[derive(Deserialize)]
pub struct TagForm {
    csrf: String,
    #[serde(default)]
    unfollow: bool,
}

/// The follow button of a tag page.
pub async fn follow_tag(
    state: web::Data<AppState>,
    viewer: Viewer,
    tag: web::Path<String>,
    form: web::Form<TagForm>,
) -> Result<HttpResponse> {
    let name = crate::domain::text::normal_tag(&tag);
    let Some(me) = viewer.account.as_ref() else {
        return Ok(to_login(&format!("/tags/{name}")));
    };
    if !viewer.sent_own_token(&form.csrf) {
        return Err(expired());
    }
    if !crate::domain::text::is_tag(&name) {
        return Err(Error::not_found("tag"));
    }
    if form.unfollow {
        db::conversation::unfollow_tag(&state.db, &me.id, &name).await?;
    } else {
        db::conversation::follow_tag(&state.db, &me.id, &name).await?;
    }
    Ok(see_other(&format!("/tags/{name}")))
}

#[derive(Deserialize)]
pub struct ActForm {
    csrf: String,
    action: String,
}

/// The like and boost buttons of a post (and taking either back), then back to the post.
pub async fn act(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<String>,
    form: web::Form<ActForm>,
) -> Result<HttpResponse> {
    let Some(me) = viewer.account.as_ref() else {
        return Ok(to_login(&format!("/statuses/{id}")));
    };
    if !viewer.sent_own_token(&form.csrf) {
        return Err(expired());
    }
    let item = match form.action.as_str() {
        "favourite" => social::favourite(&state, me, &id, false).await?,
        "unfavourite" => social::favourite(&state, me, &id, true).await?,
        "reblog" => social::reblog(&state, me, &id, false).await?,
        "unreblog" => social::reblog(&state, me, &id, true).await?,
        other => {
            return Err(Error::unprocessable(format!(
                "{other:?} is not something to do with a post"
            )));
        }
    };
    let shown = views::post(&state, &item);
    Ok(see_other(&format!("{}#actions", shown.url)))
}

#[derive(Deserialize)]
pub struct ReplyForm {
    csrf: String,
    status: String,
    #[serde(default)]
    spoiler_text: String,
}

/// The reply form under a post: the answer goes to the thread, as visible as the post it
/// answers allows (never wider), and the viewer lands on it.
pub async fn reply(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<String>,
    form: web::Form<ReplyForm>,
) -> Result<HttpResponse> {
    let Some(me) = viewer.account.as_ref() else {
        return Ok(to_login(&format!("/statuses/{id}")));
    };
    if !viewer.sent_own_token(&form.csrf) {
        return Err(expired());
    }
    let made = statuses::reply(&state, me, &id, form.status.clone(), form.spoiler_text.clone()).await;
    let (status, _) = match made {
        Ok(made) => made,
        Err(e) if e.kind == Kind::Unprocessable => {
            return page_with_status(
                &state,
                &viewer,
                "error.html",
                context! { title => "The reply was not posted", message => e.message },
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        Err(e) => return Err(e),
    };
    Ok(see_other(&format!("/statuses/{id}#reply-{}", status.id)))
}
