//! Routes and thin handlers: parse the request, call the domain, render the answer.

pub mod accounts;
pub mod admin;
pub mod admin_pages;
pub mod apps;
pub mod auth;
pub mod beacons;
pub mod body;
pub mod entities;
pub mod exports;
pub mod federation;
pub mod files;
pub mod health;
pub mod instance;
pub mod interactions;
pub mod lists;
pub mod mail_links;
pub mod media;
pub mod mirrors;
pub mod moderation;
pub mod moderation_pages;
pub mod notifications;
pub mod oauth;
pub mod oembed;
pub mod pages;
pub mod paging;
pub mod range;
mod request_id;
pub mod scopes;
pub mod session;
pub mod settings;
pub mod signup;
pub mod social_pages;
pub mod statuses;
pub mod streaming;
pub mod tags;
pub mod throttle;
pub mod tus;
pub mod views;

use actix_web::{HttpRequest, HttpResponse, middleware, web};

use crate::{config::LimitsConfig, error::Error};

pub fn configure(cfg: &mut web::ServiceConfig, limits: &LimitsConfig) {
    let body_limit = limits.max_request_body_bytes;
    cfg.app_data(web::PayloadConfig::new(body_limit))
        .app_data(
            web::JsonConfig::default()
                .limit(body_limit)
                .error_handler(|e, _| Error::bad_request(format!("invalid JSON body: {e}")).into()),
        )
        .app_data(
            web::FormConfig::default()
                .limit(body_limit)
                .error_handler(|e, _| Error::bad_request(format!("invalid form body: {e}")).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| Error::bad_request(format!("invalid query: {e}")).into()),
        )
        .app_data(
            web::PathConfig::default()
                .error_handler(|e, _| Error::bad_request(format!("invalid path: {e}")).into()),
        )
        .service(
            web::scope("")
                .wrap(middleware::from_fn(request_id::request_id))
                .wrap(middleware::Compress::default())
                // Rails answers `/api/v1/instance/` as `/api/v1/instance`, and clients (Mastodon.py)
                // send the slash.
                .wrap(middleware::NormalizePath::trim())
                .route("/", web::get().to(pages::index))
                .route("/login", web::get().to(session::login_form))
                .route("/login", web::post().to(session::login))
                .route("/login/two_factor", web::post().to(session::two_factor))
                .route("/logout", web::post().to(session::logout))
                .route("/upload", web::get().to(session::upload_page))
                .route("/signup", web::get().to(signup::form))
                .route("/signup", web::post().to(signup::submit))
                .route("/invite/{code}", web::get().to(signup::invite))
                .route("/auth/confirm", web::get().to(mail_links::confirm))
                .route("/auth/password/new", web::get().to(mail_links::reset_form))
                .route("/auth/password/new", web::post().to(mail_links::request_reset))
                .route(
                    "/auth/password/edit",
                    web::get().to(mail_links::new_password_form),
                )
                .route(
                    "/auth/password/edit",
                    web::post().to(mail_links::set_new_password),
                )
                .route("/settings/profile", web::get().to(settings::profile))
                .route("/settings/profile", web::post().to(settings::save_profile))
                .route("/settings/account", web::get().to(settings::account_page))
                .route("/settings/password", web::post().to(settings::change_password))
                .route(
                    "/settings/sessions/end_all",
                    web::post().to(settings::end_all_sessions),
                )
                .route(
                    "/settings/sessions/{handle}/end",
                    web::post().to(settings::end_session),
                )
                .route("/settings/apps/{id}/revoke", web::post().to(settings::revoke_app))
                .route("/settings/delete", web::post().to(settings::delete_account))
                .route(
                    "/settings/two_factor/begin",
                    web::post().to(settings::begin_two_factor),
                )
                .route(
                    "/settings/two_factor/confirm",
                    web::post().to(settings::confirm_two_factor),
                )
                .route(
                    "/settings/two_factor/disable",
                    web::post().to(settings::disable_two_factor),
                )
                .route("/settings/export", web::get().to(exports::page_of))
                .route("/settings/export", web::post().to(exports::request_from_page))
                .route("/api/kaleido/v1/exports", web::get().to(exports::list))
                .route("/api/kaleido/v1/exports", web::post().to(exports::create))
                .route(
                    "/api/kaleido/v1/exports/{id}/download",
                    web::get().to(exports::download),
                )
                .route("/settings/invites", web::get().to(settings::invites))
                .route("/settings/invites", web::post().to(settings::make_invite))
                .route(
                    "/settings/invites/{code}/revoke",
                    web::post().to(settings::revoke_invite),
                )
                .route("/admin/accounts", web::get().to(moderation_pages::accounts))
                .route(
                    "/admin/accounts/{id}/{action}",
                    web::post().to(moderation_pages::account_action),
                )
                .route("/admin/reports", web::get().to(moderation_pages::reports))
                .route(
                    "/admin/reports/{id}/resolve",
                    web::post().to(moderation_pages::resolve_report),
                )
                .route("/admin/audit", web::get().to(moderation_pages::audit))
                .route("/admin/mirrors", web::get().to(admin_pages::mirrors))
                .route("/admin/mirrors/follow", web::post().to(admin_pages::follow))
                .route("/admin/mirrors/{id}/verify", web::post().to(admin_pages::verify))
                .route("/statuses/{id}", web::get().to(pages::status_by_id))
                .route("/statuses/{id}/act", web::post().to(social_pages::act))
                .route("/statuses/{id}/reply", web::post().to(social_pages::reply))
                .route("/home", web::get().to(social_pages::home))
                .route("/notifications", web::get().to(social_pages::notifications))
                .route("/search", web::get().to(social_pages::search))
                .route("/tags/{tag}", web::get().to(social_pages::tag))
                .route("/tags/{tag}/follow", web::post().to(social_pages::follow_tag))
                .route("/statuses/{id}/embed", web::get().to(pages::embed))
                .route("/api/oembed", web::get().to(oembed::oembed))
                .route("/.well-known/webfinger", web::get().to(federation::webfinger))
                .route("/.well-known/host-meta", web::get().to(federation::host_meta))
                .route("/.well-known/nodeinfo", web::get().to(federation::nodeinfo_links))
                .route("/nodeinfo/{version}", web::get().to(federation::nodeinfo))
                .route("/users/{name}", web::get().to(federation::person))
                .route("/users/{name}/outbox", web::get().to(federation::outbox))
                .route("/users/{name}/followers", web::get().to(federation::relations))
                .route("/users/{name}/following", web::get().to(federation::relations))
                .route(
                    "/users/{name}/statuses/{id}",
                    web::get().to(federation::status_object),
                )
                .route(
                    "/users/{name}/statuses/{id}/activity",
                    web::get().to(federation::status_activity),
                )
                .route("/channels/{name}", web::get().to(federation::channel))
                .route("/actor", web::get().to(federation::instance_actor))
                .route("/inbox", web::post().to(federation::inbox))
                .route("/users/{name}/inbox", web::post().to(federation::inbox))
                .route("/channels/{name}/inbox", web::post().to(federation::inbox))
                .route("/actor/inbox", web::post().to(federation::inbox))
                .route("/mirrors/{id}", web::get().to(federation::cache_file))
                .route("/@{name}", web::get().to(pages::profile))
                .route("/@{name}/follow", web::post().to(pages::follow))
                .route("/@{name}/remote_follow", web::post().to(pages::remote_follow))
                .route(
                    "/authorize_interaction",
                    web::get().to(pages::authorize_interaction),
                )
                .route("/@{name}/{id}", web::get().to(pages::status_page))
                .route("/static/{file}", web::get().to(pages::asset))
                .route("/healthz", web::get().to(health::healthz))
                .route("/metrics", web::get().to(mirrors::metrics))
                .route("/oauth/token", web::post().to(oauth::token))
                .route("/oauth/authorize", web::get().to(apps::authorize))
                .route("/oauth/authorize", web::post().to(apps::decide))
                .route("/api/v1/apps", web::post().to(apps::create))
                .route("/api/v1/apps/verify_credentials", web::get().to(apps::verify))
                .route(
                    "/.well-known/oauth-authorization-server",
                    web::get().to(apps::metadata),
                )
                .route("/oauth/revoke", web::post().to(oauth::revoke))
                .route(
                    "/api/v1/accounts/verify_credentials",
                    web::get().to(accounts::verify_credentials),
                )
                .route(
                    "/api/v1/accounts/relationships",
                    web::get().to(accounts::relationships),
                )
                .route("/api/v1/accounts/lookup", web::get().to(accounts::lookup))
                .route("/api/v1/accounts/search", web::get().to(lists::search_accounts))
                .route("/api/v1/accounts/{id}/followers", web::get().to(lists::relations))
                .route("/api/v1/accounts/{id}/following", web::get().to(lists::relations))
                .route(
                    "/api/v1/statuses/{id}/favourited_by",
                    web::get().to(lists::interactions),
                )
                .route(
                    "/api/v1/statuses/{id}/reblogged_by",
                    web::get().to(lists::interactions),
                )
                .route("/api/v1/blocks", web::get().to(lists::shunned))
                .route("/api/v1/mutes", web::get().to(lists::shunned))
                .route("/api/v1/favourites", web::get().to(lists::favourites))
                .route("/api/v1/preferences", web::get().to(lists::preferences))
                .route("/api/v1/markers", web::get().to(lists::markers))
                .route("/api/v1/markers", web::post().to(lists::save_markers))
                .route("/api/v1/bookmarks", web::get().to(lists::favourites))
                .route("/api/v1/lists", web::get().to(lists::nothing_yet_signed_in))
                .route("/api/v1/lists", web::post().to(lists::not_kept))
                .route("/api/v1/filters", web::get().to(lists::nothing_yet_signed_in))
                .route("/api/v1/filters", web::post().to(lists::not_kept))
                .route("/api/v2/filters", web::get().to(lists::nothing_yet_signed_in))
                .route("/api/v2/filters", web::post().to(lists::not_kept))
                .route(
                    "/api/v1/conversations",
                    web::get().to(lists::nothing_yet_signed_in),
                )
                .route("/api/v1/streaming", web::get().to(streaming::websocket))
                .route("/api/v1/streaming/health", web::get().to(streaming::health))
                .route("/api/v1/streaming/{stream:.+}", web::get().to(streaming::events))
                .route("/api/v1/followed_tags", web::get().to(tags::followed))
                .route("/api/v1/tags/{name}", web::get().to(tags::show))
                .route("/api/v1/tags/{name}/follow", web::post().to(tags::follow))
                .route("/api/v1/tags/{name}/unfollow", web::post().to(tags::follow))
                .route("/api/v1/timelines/tag/{tag}", web::get().to(tags::timeline))
                .route("/api/v1/notifications", web::get().to(notifications::list))
                .route("/api/v2/notifications", web::get().to(notifications::grouped))
                .route(
                    "/api/v1/notifications/unread_count",
                    web::get().to(notifications::unread_count),
                )
                .route(
                    "/api/v1/notifications/clear",
                    web::post().to(notifications::clear),
                )
                .route("/api/v1/notifications/{id}", web::get().to(notifications::show))
                .route(
                    "/api/v1/notifications/{id}/dismiss",
                    web::post().to(notifications::dismiss),
                )
                .route("/api/v1/featured_tags", web::get().to(tags::featured))
                .route("/api/v1/featured_tags", web::post().to(tags::feature))
                .route(
                    "/api/v1/featured_tags/suggestions",
                    web::get().to(tags::suggestions),
                )
                .route("/api/v1/featured_tags/{id}", web::delete().to(tags::unfeature))
                .route(
                    "/api/v1/accounts/{id}/featured_tags",
                    web::get().to(tags::featured_of),
                )
                .route(
                    "/api/v1/domain_blocks",
                    web::get().to(lists::nothing_yet_signed_in),
                )
                .route(
                    "/api/v1/endorsements",
                    web::get().to(lists::nothing_yet_signed_in),
                )
                .route(
                    "/api/v1/announcements",
                    web::get().to(lists::nothing_yet_signed_in),
                )
                .route("/api/v2/suggestions", web::get().to(lists::nothing_yet_signed_in))
                .route("/api/v1/suggestions", web::get().to(lists::nothing_yet_signed_in))
                .route("/api/v1/custom_emojis", web::get().to(lists::nothing_yet))
                .route("/api/v1/trends", web::get().to(lists::nothing_yet))
                .route("/api/v1/trends/tags", web::get().to(lists::nothing_yet))
                .route("/api/v1/trends/statuses", web::get().to(lists::nothing_yet))
                .route("/api/v1/trends/links", web::get().to(lists::nothing_yet))
                .route(
                    "/api/v1/accounts/update_credentials",
                    web::patch().to(accounts::update_credentials),
                )
                .route("/api/v1/accounts", web::post().to(accounts::sign_up))
                .route(
                    "/api/v1/profile/avatar",
                    web::delete().to(accounts::remove_picture),
                )
                .route(
                    "/api/v1/profile/header",
                    web::delete().to(accounts::remove_picture),
                )
                .route("/api/v1/instance", web::get().to(instance::v1))
                .route("/api/v2/instance", web::get().to(instance::v2))
                .route("/api/v1/instance/rules", web::get().to(instance::rules_list))
                .route("/api/v1/instance/peers", web::get().to(instance::peers))
                .route("/api/v1/instance/activity", web::get().to(instance::activity))
                .route(
                    "/api/v1/instance/extended_description",
                    web::get().to(instance::extended_description),
                )
                .route("/api/v1/admin/accounts", web::get().to(admin::accounts_v1))
                .route("/api/v2/admin/accounts", web::get().to(admin::accounts_v2))
                .route("/api/v1/admin/accounts/{id}", web::get().to(admin::account))
                .route("/api/v1/admin/accounts/{id}", web::delete().to(admin::delete))
                .route(
                    "/api/v1/admin/accounts/{id}/action",
                    web::post().to(admin::action),
                )
                .route("/api/v1/admin/accounts/{id}/{verb}", web::post().to(admin::verb))
                .route(
                    "/api/v1/admin/reports/{id}/resolve",
                    web::post().to(admin::resolve_report),
                )
                .route(
                    "/api/v1/admin/accounts/{id}/quota",
                    web::put().to(admin::set_quotas),
                )
                .route("/api/v1/accounts/{id}/block", web::post().to(moderation::shun))
                .route("/api/v1/accounts/{id}/unblock", web::post().to(moderation::shun))
                .route("/api/v1/accounts/{id}/mute", web::post().to(moderation::shun))
                .route("/api/v1/accounts/{id}/unmute", web::post().to(moderation::shun))
                .route(
                    "/api/v1/follow_requests",
                    web::get().to(accounts::follow_requests),
                )
                .route(
                    "/api/v1/follow_requests/{id}/authorize",
                    web::post().to(accounts::answer_request),
                )
                .route(
                    "/api/v1/follow_requests/{id}/reject",
                    web::post().to(accounts::answer_request),
                )
                .route("/api/v1/reports", web::post().to(moderation::report))
                .route("/api/v1/admin/reports", web::get().to(moderation::reports))
                .route("/api/v1/accounts/{id}", web::get().to(accounts::show))
                .route(
                    "/api/v1/accounts/{id}/statuses",
                    web::get().to(accounts::statuses),
                )
                .route("/api/v1/accounts/{id}/follow", web::post().to(accounts::follow))
                .route(
                    "/api/v1/accounts/{id}/unfollow",
                    web::post().to(accounts::unfollow),
                )
                .route("/api/v2/search", web::get().to(accounts::search))
                .route(
                    "/api/v1/statuses/{id}/favourite",
                    web::post().to(interactions::interact),
                )
                .route(
                    "/api/v1/statuses/{id}/unfavourite",
                    web::post().to(interactions::interact),
                )
                .route(
                    "/api/v1/statuses/{id}/reblog",
                    web::post().to(interactions::interact),
                )
                .route(
                    "/api/v1/statuses/{id}/unreblog",
                    web::post().to(interactions::interact),
                )
                .route(
                    "/api/v1/statuses/{id}/context",
                    web::get().to(interactions::context),
                )
                .route(
                    "/api/v1/admin/domain_blocks",
                    web::get().to(moderation::domain_blocks),
                )
                .route(
                    "/api/v1/admin/domain_blocks",
                    web::post().to(moderation::block_domain),
                )
                .route(
                    "/api/v1/admin/domain_blocks/{domain}",
                    web::delete().to(moderation::unblock_domain),
                )
                .route("/api/v2/media", web::post().to(media::upload))
                .route("/api/v1/media", web::post().to(media::upload))
                .route(
                    "/api/v1/tus",
                    web::method(actix_web::http::Method::OPTIONS).to(tus::options),
                )
                .route("/api/v1/tus", web::post().to(tus::create))
                .route("/api/v1/tus/{id}", web::head().to(tus::head))
                .route("/api/v1/tus/{id}", web::patch().to(tus::patch))
                .route("/api/v1/tus/{id}", web::delete().to(tus::delete))
                .route("/api/v1/media/{id}", web::get().to(media::show))
                .route("/api/v1/media/{id}", web::put().to(media::update))
                .route("/api/v1/statuses", web::post().to(statuses::create))
                .route("/api/v1/statuses/{id}", web::get().to(statuses::show))
                .route("/api/v1/statuses/{id}", web::delete().to(statuses::delete))
                .route("/api/v1/statuses/{id}", web::put().to(statuses::edit))
                .route("/api/v1/statuses/{id}/source", web::get().to(statuses::source))
                .route("/api/v1/statuses/{id}/history", web::get().to(statuses::history))
                .route("/api/v1/statuses/{id}/bookmark", web::post().to(statuses::mark))
                .route("/api/v1/statuses/{id}/unbookmark", web::post().to(statuses::mark))
                .route("/api/v1/statuses/{id}/pin", web::post().to(statuses::mark))
                .route("/api/v1/statuses/{id}/unpin", web::post().to(statuses::mark))
                .route(
                    "/api/v1/timelines/public",
                    web::get().to(statuses::public_timeline),
                )
                .route("/api/v1/timelines/home", web::get().to(statuses::home_timeline))
                .route("/media/{id}/master.m3u8", web::get().to(media::master_playlist))
                .route("/media/{id}/poster", web::get().to(media::poster))
                .route("/media/{id}/views", web::post().to(media::view))
                .route("/media/{id}/failovers", web::post().to(media::failover))
                .route("/api/v1/admin/mirrors/plan", web::post().to(mirrors::plan))
                .route("/api/v1/admin/mirrors", web::get().to(mirrors::mirrors))
                .route(
                    "/api/v1/admin/mirrors/{id}/verify",
                    web::post().to(mirrors::verify_mirror),
                )
                .route(
                    "/api/v1/admin/mirroring/follow",
                    web::post().to(mirrors::mirror_peer),
                )
                .route("/files/{key:.+}", web::get().to(files::serve))
                .route("/files/{key:.+}", web::head().to(files::serve))
                .default_service(web::to(not_found)),
        );
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    actix_web::ResponseError::error_response(&Error::not_found(&format!("{} {}", req.method(), req.path())))
}
