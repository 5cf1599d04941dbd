//! Server-rendered pages from the `web/` templates, embedded in the binary at build time.
//! Everything reads without JavaScript; scripts only add the album arrows, blurhash
//! placeholders and the upload page's progress.

use actix_web::{HttpResponse, http::header, web};
use minijinja::{Environment, Value, context};

use super::{auth::Viewer, views};
use crate::{
    db::{
        self,
        statuses::{Page, Timeline},
    },
    error::{Error, Result},
    state::AppState,
    statuses,
};

pub struct Templates {
    env: Environment<'static>,
}

const TEMPLATES: &[(&str, &str)] = &[
    (
        "oauth_authorize.html",
        include_str!("../../web/templates/oauth_authorize.html"),
    ),
    (
        "oauth_code.html",
        include_str!("../../web/templates/oauth_code.html"),
    ),
    ("base.html", include_str!("../../web/templates/base.html")),
    ("grid.html", include_str!("../../web/templates/grid.html")),
    ("feed.html", include_str!("../../web/templates/feed.html")),
    ("home.html", include_str!("../../web/templates/home.html")),
    (
        "notifications.html",
        include_str!("../../web/templates/notifications.html"),
    ),
    ("search.html", include_str!("../../web/templates/search.html")),
    ("tag.html", include_str!("../../web/templates/tag.html")),
    ("index.html", include_str!("../../web/templates/index.html")),
    ("profile.html", include_str!("../../web/templates/profile.html")),
    ("status.html", include_str!("../../web/templates/status.html")),
    ("login.html", include_str!("../../web/templates/login.html")),
    ("upload.html", include_str!("../../web/templates/upload.html")),
    ("error.html", include_str!("../../web/templates/error.html")),
    ("continue.html", include_str!("../../web/templates/continue.html")),
    ("player.html", include_str!("../../web/templates/player.html")),
    ("embed.html", include_str!("../../web/templates/embed.html")),
    ("signup.html", include_str!("../../web/templates/signup.html")),
    (
        "two_factor_login.html",
        include_str!("../../web/templates/two_factor_login.html"),
    ),
    (
        "recovery_codes.html",
        include_str!("../../web/templates/recovery_codes.html"),
    ),
    (
        "password_new.html",
        include_str!("../../web/templates/password_new.html"),
    ),
    (
        "password_edit.html",
        include_str!("../../web/templates/password_edit.html"),
    ),
    ("message.html", include_str!("../../web/templates/message.html")),
    (
        "settings_nav.html",
        include_str!("../../web/templates/settings_nav.html"),
    ),
    (
        "settings_profile.html",
        include_str!("../../web/templates/settings_profile.html"),
    ),
    (
        "settings_account.html",
        include_str!("../../web/templates/settings_account.html"),
    ),
    (
        "settings_export.html",
        include_str!("../../web/templates/settings_export.html"),
    ),
    (
        "settings_invites.html",
        include_str!("../../web/templates/settings_invites.html"),
    ),
    (
        "admin_accounts.html",
        include_str!("../../web/templates/admin_accounts.html"),
    ),
    (
        "admin_reports.html",
        include_str!("../../web/templates/admin_reports.html"),
    ),
    (
        "admin_audit.html",
        include_str!("../../web/templates/admin_audit.html"),
    ),
    (
        "admin_mirrors.html",
        include_str!("../../web/templates/admin_mirrors.html"),
    ),
];

const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "player.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/static/player.js"),
    ),
    // Installed from npm by `make deps` (web/package.json), embedded so no CDN is ever asked.
    (
        "hls.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/node_modules/hls.js/dist/hls.min.js"),
    ),
    // What an account without a picture of its own shows, as Mastodon's missing.png.
    (
        "avatar.png",
        "image/png",
        include_bytes!("../../web/static/avatar.png"),
    ),
    (
        "header.png",
        "image/png",
        include_bytes!("../../web/static/header.png"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../../web/static/icon.svg"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../web/static/style.css"),
    ),
    (
        "blurhash.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/static/blurhash.js"),
    ),
    (
        "album.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/static/album.js"),
    ),
    (
        "upload.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/static/upload.js"),
    ),
];

impl Templates {
    pub fn new() -> Result<Templates> {
        let mut env = Environment::new();
        env.set_formatter(escape_html);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| Error::internal(format!("template {name} is invalid")).with_source(e))?;
        }
        Ok(Templates { env })
    }

    /// The templates of this binary, parsed once per process (they are compiled in, so they
    /// are the same for every instance a process runs).
    pub fn get() -> Result<&'static Templates> {
        static PARSED: std::sync::LazyLock<std::result::Result<Templates, String>> =
            std::sync::LazyLock::new(|| Templates::new().map_err(|e| e.to_string()));
        PARSED.as_ref().map_err(|e| Error::internal(e.clone()))
    }

    pub fn render(&self, name: &str, ctx: Value) -> Result<String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| Error::internal(format!("rendering {name} failed")).with_source(e))
    }
}

/// HTML escaping of the five characters that matter, leaving URLs readable (minijinja's default
/// also escapes `/`, which bloats every link and confuses naive link-preview scrapers).
fn escape_html(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &Value,
) -> std::result::Result<(), minijinja::Error> {
    match value.as_str() {
        Some(text) if state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe() => {
            for c in text.chars() {
                let escaped = match c {
                    '&' => "&amp;",
                    '<' => "&lt;",
                    '>' => "&gt;",
                    '"' => "&quot;",
                    '\'' => "&#39;",
                    _ => {
                        write!(out, "{c}")
                            .map_err(|_| minijinja::Error::from(minijinja::ErrorKind::WriteFailure))?;
                        continue;
                    }
                };
                out.write_str(escaped)
                    .map_err(|_| minijinja::Error::from(minijinja::ErrorKind::WriteFailure))?;
            }
            Ok(())
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

pub fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    // Media of other servers and copies elsewhere are fetched by the page (images, the player's
    // playlists and segments). `http:` is listed for private networks served over plain HTTP;
    // an https page cannot load http content anyway (browsers block mixed content).
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' https: http: data: blob:; media-src 'self' https: http: blob:; \
             connect-src 'self' https: http:; worker-src 'self' blob:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .body(body)
}

/// Renders a page with what every page needs (host, viewer, CSRF token).
pub fn page(state: &AppState, viewer: &Viewer, name: &str, ctx: Value) -> Result<HttpResponse> {
    page_with_status(state, viewer, name, ctx, actix_web::http::StatusCode::OK)
}

pub fn page_with_status(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    ctx: Value,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse> {
    let common = context! {
        host => views::host(state),
        version => env!("CARGO_PKG_VERSION"),
        viewer => viewer.account.as_ref().map(|a| context! { username => a.username.clone() }),
        csrf_token => viewer.csrf_token.clone(),
        unread => viewer.unread,
        sign_up_open => crate::accounts::signup::open_to_strangers(state.config.registrations.mode),
        mail => state.config.email.is_some(),
    };
    let body = Templates::get()?.render(name, context! { ..ctx, ..common })?;
    Ok(html(status, body))
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    max_id: Option<String>,
}

fn page_of(query: &PageQuery) -> Page {
    Page {
        max_id: query.max_id.clone(),
        limit: 24,
        ..Page::default()
    }
}

fn older_link(posts: &[views::Post], base: &str) -> Option<String> {
    (posts.len() >= 24)
        .then(|| posts.last().map(|p| format!("{base}?max_id={}", p.id)))
        .flatten()
}

pub async fn index(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse> {
    let items = statuses::timeline(
        &state,
        Timeline::Public {
            local: true,
            remote: false,
            viewer: viewer.account.as_ref().map(|a| a.id.as_str()),
        },
        &page_of(&query),
        viewer.account.as_ref(),
    )
    .await?;
    let posts: Vec<_> = items.iter().map(|i| views::post(&state, i)).collect();
    let accounts = db::accounts::count(&state.db).await?;
    let older = older_link(&posts, "/");
    page(
        &state,
        &viewer,
        "index.html",
        context! { posts => posts, accounts => accounts, older => older },
    )
}

pub async fn profile(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: actix_web::HttpRequest,
    name: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse> {
    if super::federation::asks_for_activity_json(&req) {
        // Remote servers resolve profile links too: same account, its actor document.
        return super::federation::person(state, req, name).await;
    }
    // `/@name` is ours; `/@name@host` an account of another server that this one knows.
    let found = crate::social::search(&state, &name, false, viewer.account.as_ref())
        .await
        .ok()
        .and_then(|f| f.accounts.into_iter().next());
    let Some(account) = found.filter(|a| a.standing.approved) else {
        return not_found_page(&state, &viewer);
    };
    if account.standing.gone() {
        return page_with_status(
            &state,
            &viewer,
            "message.html",
            context! { title => "This account is gone", message => "It was suspended or deleted." },
            actix_web::http::StatusCode::GONE,
        );
    }
    let items = statuses::timeline(
        &state,
        Timeline::Account {
            account_id: &account.id,
        },
        &page_of(&query),
        viewer.account.as_ref(),
    )
    .await?;
    let posts: Vec<_> = items.iter().map(|i| views::post(&state, i)).collect();
    let count = db::statuses::count_for_account(&state.db, &account.id).await?;
    let older = older_link(&posts, &format!("/@{}", account.acct()));
    let relationship = match &viewer.account {
        Some(me) if me.id != account.id => Some(crate::social::relationship(&state, me, &account.id).await?),
        _ => None,
    };
    let (followers, following) = db::federation::counts(&state.db, &account.id).await?;
    let featured: Vec<_> = db::conversation::featured_tags(&state.db, &account.id)
        .await?
        .into_iter()
        .map(|t| context! { name => t.name, statuses_count => t.statuses_count })
        .collect();
    // The follow-from-your-server form of an anonymous visitor carries a token of its own.
    let form = (viewer.account.is_none() && account.is_local()).then(|| super::session::form_token(&state));
    let super::entities::Pictures { avatar, header, .. } = super::entities::pictures(&state, &account);
    let base = state.config.public_url();
    let text_links = crate::domain::text::Links { base, rel_me: false };
    let field_links = crate::domain::text::Links { base, rel_me: true };
    let mut response = page(
        &state,
        &viewer,
        "profile.html",
        context! {
            form_csrf => form.as_ref().map(|(token, _)| token.clone()),
            profile => context! {
                acct => account.acct(),
                local => account.is_local(),
                name => if account.display_name.is_empty() { account.username.clone() } else { account.display_name.clone() },
                handle => match &account.domain {
                    Some(domain) => format!("@{}@{domain}", account.username),
                    None => format!("@{}@{}", account.username, views::host(&state)),
                },
                origin => account.remote.as_ref().map(|r| r.profile_url.clone().unwrap_or_else(|| r.uri.clone())),
                // Escaped and linked by `text::to_html`: safe to place as HTML.
                note_html => crate::domain::text::to_html(&account.note, &text_links),
                avatar => avatar,
                header => header,
                fields => account.profile.fields.iter().map(|f| context! {
                    name => f.name,
                    value_html => crate::domain::text::field_html(&f.value, &field_links),
                    verified => f.verified_at.is_some(),
                }).collect::<Vec<_>>(),
                bot => account.profile.bot,
                locked => account.locked,
                posts => count,
                followers => followers,
                following => following,
                featured_tags => featured,
            },
            relationship => relationship,
            posts => posts,
            older => older,
        },
    )?;
    if let Some((_, cookie)) = form {
        response
            .add_cookie(&cookie)
            .map_err(|e| crate::error::Error::internal("cannot set cookie").with_source(e))?;
    }
    Ok(response)
}

#[derive(serde::Deserialize)]
pub struct FollowForm {
    csrf: String,
    #[serde(default)]
    unfollow: bool,
}

/// The follow button of a profile page (a plain form: no JavaScript needed).
pub async fn follow(
    state: web::Data<AppState>,
    viewer: Viewer,
    name: web::Path<String>,
    form: web::Form<FollowForm>,
) -> Result<HttpResponse> {
    let Some(me) = viewer.account.as_ref() else {
        return Ok(see_other(&format!("/login?next=/@{name}")));
    };
    if !viewer.sent_own_token(&form.csrf) {
        return Err(crate::error::Error::new(
            crate::error::Kind::Forbidden,
            "invalid_csrf_token",
            "the form has expired; reload the page",
        ));
    }
    let target = crate::social::search(&state, &name, false, Some(me))
        .await?
        .accounts
        .into_iter()
        .next()
        .ok_or_else(|| crate::error::Error::not_found("account"))?;
    if form.unfollow {
        crate::social::unfollow(&state, me, &target.id).await?;
    } else {
        crate::social::follow(&state, me, &target.id).await?;
    }
    Ok(see_other(&format!("/@{}", target.acct())))
}

#[derive(serde::Deserialize)]
pub struct RemoteFollowForm {
    address: String,
    #[serde(default)]
    csrf: String,
}

/// A visitor from another server follows from there: their server's WebFinger names its
/// "subscribe" page, to which they are sent with this account's address.
pub async fn remote_follow(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: actix_web::HttpRequest,
    name: web::Path<String>,
    form: web::Form<RemoteFollowForm>,
) -> Result<HttpResponse> {
    // Posted from another site, this would make us look up any host and send the visitor there.
    if !super::session::form_token_ok(&req, &form.csrf) {
        return Err(crate::error::Error::new(
            crate::error::Kind::Forbidden,
            "invalid_csrf_token",
            "The form has expired; reload the page.",
        ));
    }
    let account = crate::social::search(&state, &name, false, None)
        .await?
        .accounts
        .into_iter()
        .find(|a| a.is_local())
        .ok_or_else(|| crate::error::Error::not_found("account"))?;
    let ours = format!("{}@{}", account.username, views::host(&state));
    let template = crate::federation::resolve::subscribe_template(&state, &form.address).await?;
    let target = template.replace("{uri}", &super::oembed::encode_component(&ours));
    // A page that moves on, not a redirect: the form may only post to this site
    // (form-action 'self'), and the visitor should see where they are being sent. Only to the
    // server they named (or its own web domain: Mastodon may serve `@you@example.com` from
    // `social.example.com`): a WebFinger answer may not send them to a third site.
    let server = crate::federation::parse::host(&target).unwrap_or_default();
    let named = form
        .address
        .trim()
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let bare = |h: &str| h.split(':').next().unwrap_or_default().to_owned();
    let related = |a: &str, b: &str| a == b || a.ends_with(&format!(".{b}"));
    if !(server == named || related(&bare(&server), &bare(&named)) || related(&bare(&named), &bare(&server)))
    {
        return Err(crate::error::Error::unprocessable(format!(
            "{named} says to follow from {server}, another server"
        )));
    }
    page(
        &state,
        &viewer,
        "continue.html",
        context! { target => target, server => server, who => format!("@{ours}") },
    )
}

#[derive(serde::Deserialize)]
pub struct InteractionQuery {
    uri: String,
}

/// Where other servers send their users to follow someone from here (the WebFinger
/// "subscribe" template): find the account, then show its profile with the follow button.
pub async fn authorize_interaction(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<InteractionQuery>,
) -> Result<HttpResponse> {
    let here = format!(
        "/authorize_interaction?uri={}",
        super::oembed::encode_component(&query.uri)
    );
    if viewer.account.is_none() {
        return Ok(see_other(&format!(
            "/login?next={}",
            super::oembed::encode_component(&here)
        )));
    }
    let q = query.uri.trim_start_matches("acct:");
    let found = crate::social::search(&state, q, true, viewer.account.as_ref()).await?;
    match found.accounts.first() {
        Some(account) => Ok(see_other(&format!("/@{}", account.acct()))),
        None => not_found_page(&state, &viewer),
    }
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location.to_owned()))
        .finish()
}

pub async fn status_page(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (name, id) = path.into_inner();
    show_status(&state, &viewer, &id, Some(name.trim_start_matches('@'))).await
}

pub async fn status_by_id(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    show_status(&state, &viewer, &id, None).await
}

async fn show_status(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    name: Option<&str>,
) -> Result<HttpResponse> {
    let Some(post) = visible_post(state, viewer, id, name).await? else {
        return not_found_page(state, viewer);
    };
    let video = post.photos.first().filter(|p| p.is_video && p.ready).map(|p| {
        context! { src => p.src.clone(), poster => p.poster.clone(), width => p.width, height => p.height }
    });
    let embed_url = format!("{}/statuses/{}/embed", state.config.public_url(), post.id);
    let oembed_url = format!(
        "{}/api/oembed?url={}",
        state.config.public_url(),
        super::oembed::encode_component(&post.url)
    );
    // The thread: what it answers above, replies (local and from other servers) below.
    let (ancestors, replies): (Vec<views::Post>, Vec<views::Post>) =
        match crate::social::context(state, &post.id, viewer.account.as_ref()).await {
            Ok((above, below)) => (
                above.iter().map(|r| views::post(state, r)).collect(),
                below.iter().map(|r| views::post(state, r)).collect(),
            ),
            Err(_) => (Vec::new(), Vec::new()),
        };
    let plays = match &video {
        Some(_) => Some(db::statuses::views(&state.db, &post.id).await?),
        None => None,
    };
    page(
        state,
        viewer,
        "status.html",
        context! {
            post => post, video => video, embed_url => embed_url, oembed_url => oembed_url,
            ancestors => ancestors, replies => replies, plays => plays,
        },
    )
}

/// The post as the viewer may see it, or None (also when `name` is not its author).
pub async fn visible_post(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    name: Option<&str>,
) -> Result<Option<views::Post>> {
    let (status, author, _) = match statuses::fetch(state, id, viewer.account.as_ref()).await {
        Ok(found) => found,
        Err(e) if e.kind == crate::error::Kind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if name.is_some_and(|n| !n.eq_ignore_ascii_case(&author.username)) {
        return Ok(None);
    }
    let item = statuses::hydrate(state, vec![status], viewer.account.as_ref()).await?;
    Ok(item.first().map(|i| views::post(state, i)))
}

/// Just the player, for other sites to frame (oEmbed, Twitter cards).
pub async fn embed(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse> {
    let nobody = Viewer::nobody();
    let post = visible_post(&state, &nobody, &id, None)
        .await?
        .filter(|p| p.photos.first().is_some_and(|m| m.is_video && m.ready));
    let Some(post) = post else {
        return not_found_page(&state, &nobody);
    };
    let body = Templates::get()?.render(
        "embed.html",
        context! { post => post, host => views::host(&state) },
    )?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' https: data: blob:; media-src 'self' https: blob:; \
             connect-src 'self' https:; worker-src 'self' blob:; style-src 'self'; script-src 'self'; \
             frame-ancestors *; base-uri 'none'",
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body))
}

pub fn not_found_page(state: &AppState, viewer: &Viewer) -> Result<HttpResponse> {
    page_with_status(
        state,
        viewer,
        "error.html",
        context! { title => "Not found", message => "There is nothing here, or it is not public." },
        actix_web::http::StatusCode::NOT_FOUND,
    )
}

pub async fn asset(name: web::Path<String>) -> Result<HttpResponse> {
    let (_, mime, bytes) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name.as_str())
        .ok_or_else(|| Error::not_found("asset"))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, *mime))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(*bytes))
}
