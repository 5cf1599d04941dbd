//! Server-rendered pages from the `web/` templates, embedded in the binary at build time.

use actix_web::{HttpResponse, http::header, web};
use minijinja::{Environment, context};

use crate::{
    app::AppState,
    db,
    error::{Error, Result},
};

pub struct Templates {
    env: Environment<'static>,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../web/templates/base.html")),
    ("index.html", include_str!("../../web/templates/index.html")),
];

const ASSETS: &[(&str, &str, &[u8])] = &[(
    "style.css",
    "text/css; charset=utf-8",
    include_bytes!("../../web/static/style.css"),
)];

impl Templates {
    pub fn new() -> Result<Templates> {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| Error::internal(format!("template {name} is invalid")).with_source(e))?;
        }
        Ok(Templates { env })
    }

    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| Error::internal(format!("rendering {name} failed")).with_source(e))
    }
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' https: data:; media-src 'self' https: blob:",
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

pub async fn index(state: web::Data<AppState>) -> Result<HttpResponse> {
    let accounts = db::accounts::count(&state.db).await?;
    let host = state
        .config
        .public_url()
        .split_once("://")
        .map_or(state.config.public_url(), |(_, h)| h)
        .to_owned();
    let body = state.templates.render(
        "index.html",
        context! { host => host, accounts => accounts, version => env!("CARGO_PKG_VERSION") },
    )?;
    Ok(html(body))
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
