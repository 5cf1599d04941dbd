//! HTTP to other servers, below every feature: the guarded outgoing client, HTTP signatures
//! (draft-cavage and RFC 9421) and the RSA keys they use, and per-host politeness limits.
//! Knows nothing of ActivityPub's vocabulary; `federation` builds on it.

pub mod client;
pub mod keys;
pub mod limits;
pub mod mail;
pub mod rfc9421;
pub mod signatures;
