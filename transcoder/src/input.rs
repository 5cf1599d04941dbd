//! Opening an input safely: a local regular file, a whitelisted demuxer, limits checked first.

use std::path::Path;

use ffmpeg_next::{Dictionary, format};

use crate::Error;

/// Demuxers for the containers phones, cameras and editors write. Anything that can reference
/// other files or URLs (hls, concat, image2 sequences, playlists) is absent on purpose.
pub const DEMUXERS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpeg,mpegts,flv,ogg";

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_seconds: f64,
    pub max_pixels: u64,
    pub max_frames: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_seconds: 4.0 * 3600.0,
            max_pixels: 3840 * 2160,
            max_frames: 4 * 3600 * 120,
        }
    }
}

pub fn open(path: &Path) -> Result<format::context::Input, Error> {
    let metadata = std::fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(Error::Refused("the input is not a regular file".into()));
    }
    let mut options = Dictionary::new();
    options.set("format_whitelist", DEMUXERS);
    options.set("protocol_whitelist", "file");
    // Open by path only: FFmpeg reads this one file, nothing it names.
    let input = format::input_with_dictionary(&path, options).map_err(|e| match e {
        ffmpeg_next::Error::InvalidData => Error::Refused("this is not a video Kaleido reads".into()),
        other => Error::Broken(other.to_string()),
    })?;
    let name = input.format().name().to_owned();
    if !name
        .split(',')
        .all(|n| DEMUXERS.split(',').any(|allowed| allowed == n))
    {
        return Err(Error::Refused(format!("the {name} format is not accepted")));
    }
    Ok(input)
}
