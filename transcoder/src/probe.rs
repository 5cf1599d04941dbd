//! What a video is: size as displayed, duration, frame rate, codecs, rotation, audio.

use std::path::Path;

use ffmpeg_next::{codec, media};
use serde::{Deserialize, Serialize};

use crate::{Error, input};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Probe {
    /// As displayed, after rotation.
    pub width: u32,
    pub height: u32,
    pub duration_seconds: f64,
    pub frame_rate: f64,
    pub video_codec: String,
    pub audio_codec: Option<String>,
    /// Clockwise degrees to turn the stored picture to show it upright: 0, 90, 180 or 270.
    pub rotation: u32,
    pub format: String,
}

/// Clockwise rotation from a display matrix (nine 32-bit values, 16.16 fixed point).
pub(crate) fn rotation_of(matrix: &[u8]) -> u32 {
    if matrix.len() < 36 {
        return 0;
    }
    let at = |i: usize| {
        f64::from(i32::from_ne_bytes([
            matrix[i * 4],
            matrix[i * 4 + 1],
            matrix[i * 4 + 2],
            matrix[i * 4 + 3],
        ]))
    };
    let (m0, m1, m3, m4) = (at(0), at(1), at(3), at(4));
    let (scale0, scale1) = (m0.hypot(m3), m1.hypot(m4));
    if scale0 == 0.0 || scale1 == 0.0 {
        return 0;
    }
    let degrees = (m1 / scale1).atan2(m0 / scale0).to_degrees().round();
    (degrees.rem_euclid(360.0) as u32 + 45) / 90 % 4 * 90
}

pub fn probe(path: &Path, limits: &input::Limits) -> Result<Probe, Error> {
    crate::init()?;
    let input = input::open(path)?;
    let video = input
        .streams()
        .best(media::Type::Video)
        .ok_or_else(|| Error::Refused("the file has no video (audio-only files are not accepted)".into()))?;
    let parameters = video.parameters();
    let decoder = codec::context::Context::from_parameters(parameters.clone())?
        .decoder()
        .video()?;
    let (stored_w, stored_h) = (decoder.width(), decoder.height());
    if stored_w == 0 || stored_h == 0 {
        return Err(Error::Broken("the video has no picture size".into()));
    }
    if u64::from(stored_w) * u64::from(stored_h) > limits.max_pixels {
        return Err(Error::Refused(format!(
            "the video is {stored_w}×{stored_h}, more than this instance's limit of {} pixels",
            limits.max_pixels
        )));
    }
    let rotation = video
        .side_data()
        .find(|s| s.kind() == codec::packet::side_data::Type::DisplayMatrix)
        .map_or(0, |s| rotation_of(s.data()));
    let (width, height) = if rotation % 180 == 90 {
        (stored_h, stored_w)
    } else {
        (stored_w, stored_h)
    };
    let duration_seconds = if input.duration() > 0 {
        input.duration() as f64 / f64::from(ffmpeg_next::ffi::AV_TIME_BASE)
    } else {
        video.duration() as f64 * f64::from(video.time_base())
    };
    if !duration_seconds.is_finite() || duration_seconds <= 0.0 {
        return Err(Error::Broken("the video has no duration".into()));
    }
    if duration_seconds > limits.max_seconds {
        return Err(Error::Refused(format!(
            "the video lasts {:.0} s, more than this instance's limit of {:.0} s",
            duration_seconds, limits.max_seconds
        )));
    }
    let rate = video.avg_frame_rate();
    let rate = if rate.numerator() > 0 && rate.denominator() > 0 {
        rate
    } else {
        video.rate()
    };
    let frame_rate = if rate.denominator() > 0 {
        f64::from(rate)
    } else {
        0.0
    };
    let frame_rate = if frame_rate.is_finite() && frame_rate > 0.0 && frame_rate <= 240.0 {
        frame_rate
    } else {
        30.0
    };
    if duration_seconds * frame_rate > limits.max_frames as f64 {
        return Err(Error::Refused("the video has too many frames".into()));
    }
    let audio_codec = input
        .streams()
        .best(media::Type::Audio)
        .map(|a| a.parameters().id().name().to_owned());
    Ok(Probe {
        width,
        height,
        duration_seconds,
        frame_rate,
        video_codec: parameters.id().name().to_owned(),
        audio_codec,
        rotation,
        format: input.format().name().to_owned(),
    })
}
