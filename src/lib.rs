//! Kaleido: a federated photo and video host. `docs/architecture.md` maps the modules and the
//! one direction their imports run in; `app` builds a running instance from a [`config::Config`].

pub mod accounts;
pub mod admin;
pub mod app;
pub mod archive;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod federation;
pub mod http;
pub mod inbox;
pub mod jobs;
pub mod live;
pub mod maintenance;
pub mod media;
pub mod mirror;
pub mod net;
pub mod profiles;
pub mod social;
pub mod state;
pub mod statuses;
pub mod storage;
pub mod telemetry;
