//! Kaleido's video transcoder: probing, thumbnails and the HLS ladder, on the system FFmpeg.
//!
//! Inputs are opened only as local files through a whitelist of demuxers (no playlists, no
//! concat, no image sequences, no network protocols), and checked against limits before any
//! decoding. The ladder decodes the source once and encodes every rendition from that decode.

mod input;
pub mod ladder;
pub mod probe;
pub mod thumbnail;

pub use input::Limits;
pub use probe::{Probe, probe};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Refused(String),
    #[error("the video is damaged or unreadable: {0}")]
    Broken(String),
    #[error("transcoding failed: {0}")]
    Internal(String),
}

impl Error {
    /// Whether a retry could succeed (a verdict about the input will not change).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Internal(_))
    }
}

impl From<ffmpeg_next::Error> for Error {
    fn from(e: ffmpeg_next::Error) -> Self {
        Error::Broken(e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Internal(e.to_string())
    }
}

/// Initialises FFmpeg once and keeps its own logging quiet (errors come back as values).
pub fn init() -> Result<(), Error> {
    ffmpeg_next::init().map_err(|e| Error::Internal(e.to_string()))?;
    ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Error);
    Ok(())
}
