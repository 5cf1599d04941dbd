//! Kaleido's video transcoder: probing, thumbnails and the HLS ladder.
//!
//! Empty until the video work lands; it exists now so the workspace layout and the
//! build already have the shape the server will depend on.
