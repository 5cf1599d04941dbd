//! Media: taking uploads in (spool, sniff, store, record) and processing them on the workers.

pub mod ingest;
pub mod photo;
pub mod process;
pub mod quota;
pub mod tus;
pub mod video;
