//! The nouns of Kaleido and their rules. Nothing here does I/O.

pub mod account;
pub mod media;
pub mod scope;
pub mod status;
pub mod text;
pub mod time;
