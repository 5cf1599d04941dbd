//! A representative still from the source: the first of a few sampled moments that is neither
//! nearly black nor flat, as a JPEG.

use std::path::Path;

use ffmpeg_next::{
    Dictionary, Packet, Rational, codec, encoder, format::Pixel, frame, media, software::scaling,
};

use crate::{Error, input, probe};

pub(crate) fn interesting(frame: &frame::Video) -> bool {
    // Mean and spread of the luma plane, sampled.
    let (data, stride) = (frame.data(0), frame.stride(0));
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let mut values = Vec::new();
    for y in (0..h).step_by((h / 32).max(1)) {
        for x in (0..w).step_by((w / 32).max(1)) {
            if let Some(v) = data.get(y * stride + x) {
                values.push(f64::from(*v));
            }
        }
    }
    if values.is_empty() {
        return false;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let spread = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt();
    mean > 24.0 && mean < 235.0 && spread > 6.0
}

/// Writes a JPEG of at most `max_height` pixels high, upright, to `out`.
pub fn thumbnail(
    source: &Path,
    out: &Path,
    max_height: u32,
    limits: &input::Limits,
) -> Result<(u32, u32), Error> {
    let probe = probe::probe(source, limits)?;
    let mut input = input::open(source)?;
    let index = input
        .streams()
        .best(media::Type::Video)
        .map(|s| s.index())
        .ok_or_else(|| Error::Refused("no video".into()))?;
    let stream = input
        .stream(index)
        .ok_or_else(|| Error::Internal("stream vanished".into()))?;
    let tb = stream.time_base();
    let mut decoder = codec::context::Context::from_parameters(stream.parameters())?
        .decoder()
        .video()?;
    // Sample moments at 10 %, 25 %, 50 % of the video; fall back to the first decoded frame.
    let marks = marks(probe.duration_seconds);
    let mut chosen: Option<frame::Video> = None;
    let mut first: Option<frame::Video> = None;
    let mut decoded = frame::Video::empty();
    let mut next_mark = 0;
    'read: for (s, packet) in input.packets() {
        if s.index() != index {
            continue;
        }
        if decoder.send_packet(&packet).is_err() {
            continue;
        }
        while decoder.receive_frame(&mut decoded).is_ok() {
            if first.is_none() {
                first = Some(decoded.clone());
            }
            let t = decoded.timestamp().unwrap_or(0) as f64 * f64::from(tb);
            if next_mark < marks.len() && t >= marks[next_mark] {
                next_mark += 1;
                if interesting(&decoded) {
                    chosen = Some(decoded.clone());
                    break 'read;
                }
            }
        }
    }
    let picture = chosen
        .or(first)
        .ok_or_else(|| Error::Broken("no frame could be decoded".into()))?;
    write_jpeg(&picture, probe.rotation, max_height, out)
}

/// The moments worth a look for a still: 10 %, 25 % and 50 % into the video.
pub(crate) fn marks(duration_seconds: f64) -> Vec<f64> {
    [0.1, 0.25, 0.5].iter().map(|f| f * duration_seconds).collect()
}

/// Encodes a decoded frame as an upright JPEG at most `max_height` high.
pub(crate) fn write_jpeg(
    picture: &frame::Video,
    rotation: u32,
    max_height: u32,
    out: &Path,
) -> Result<(u32, u32), Error> {
    let (w, h) = match rotation % 180 {
        90 => (picture.height(), picture.width()),
        _ => (picture.width(), picture.height()),
    };
    let target_h = (h.min(max_height) / 2 * 2).max(2);
    let target_w = ((f64::from(w) * f64::from(target_h) / f64::from(h)).round() as u32 / 2 * 2).max(2);
    // Scale the stored picture; rotation then moves the scaled planes' pixels.
    let (scale_w, scale_h) = if rotation % 180 == 90 {
        (target_h, target_w)
    } else {
        (target_w, target_h)
    };
    let mut scaler = scaling::Context::get(
        picture.format(),
        picture.width(),
        picture.height(),
        Pixel::YUVJ420P,
        scale_w,
        scale_h,
        scaling::Flags::BICUBIC,
    )?;
    let mut scaled = frame::Video::empty();
    scaler.run(picture, &mut scaled)?;
    let upright = rotate(&scaled, rotation);

    let mjpeg = encoder::find(codec::Id::MJPEG).ok_or_else(|| Error::Internal("no MJPEG encoder".into()))?;
    let mut enc = codec::context::Context::new_with_codec(mjpeg).encoder().video()?;
    enc.set_width(upright.width());
    enc.set_height(upright.height());
    enc.set_format(Pixel::YUVJ420P);
    enc.set_time_base(Rational::new(1, 25));
    let mut opts = Dictionary::new();
    opts.set("qmin", "2");
    opts.set("qmax", "4");
    let mut enc = enc.open_as_with(mjpeg, opts)?;
    enc.send_frame(&upright)?;
    enc.send_eof()?;
    let mut packet = Packet::empty();
    enc.receive_packet(&mut packet)?;
    std::fs::write(out, packet.data().unwrap_or_default())?;
    Ok((upright.width(), upright.height()))
}

/// Turns a YUV 4:2:0 frame by a multiple of 90° clockwise.
fn rotate(frame: &frame::Video, degrees: u32) -> frame::Video {
    if degrees == 0 {
        return frame.clone();
    }
    let (w, h) = (frame.width(), frame.height());
    let (nw, nh) = if degrees % 180 == 90 { (h, w) } else { (w, h) };
    let mut out = frame::Video::new(frame.format(), nw, nh);
    for plane in 0..3 {
        let (pw, ph) = if plane == 0 {
            (w as usize, h as usize)
        } else {
            (w as usize / 2, h as usize / 2)
        };
        let (src_stride, dst_stride) = (frame.stride(plane), out.stride(plane));
        let src = frame.data(plane).to_vec();
        let dst = out.data_mut(plane);
        for y in 0..ph {
            for x in 0..pw {
                let (dx, dy) = match degrees {
                    90 => (ph - 1 - y, x),
                    180 => (pw - 1 - x, ph - 1 - y),
                    _ => (y, pw - 1 - x),
                };
                if let (Some(v), Some(d)) = (src.get(y * src_stride + x), dst.get_mut(dy * dst_stride + dx)) {
                    *d = *v;
                }
            }
        }
    }
    out
}
