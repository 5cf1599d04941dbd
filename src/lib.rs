//! Kaleido: a federated photo and video host. See ARCHITECTURE.md in the shared docs and the
//! README for the layout; `app` builds a running instance from a [`config::Config`].

pub mod accounts;
pub mod app;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod federation;
pub mod http;
pub mod jobs;
pub mod maintenance;
pub mod media;
pub mod mirror;
pub mod social;
pub mod statuses;
pub mod storage;
pub mod telemetry;
