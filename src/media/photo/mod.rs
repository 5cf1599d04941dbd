//! The photo pipeline: from an uploaded original to the files that are served.
//!
//! Every served file is upright without an Orientation tag, carries no metadata that could
//! identify a person or place (EXIF, GPS, XMP, IPTC, maker notes, comments), and keeps the
//! original's colour profile so colours stay right. JPEGs are decoded once, scaled in the DCT
//! domain by libjpeg-turbo to just above the largest size needed, and resized from there; a JPEG
//! that needs neither resizing nor rotation is not recompressed at all.

pub mod jpeg;

use std::io::Cursor;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, metadata::Orientation};

/// Long-edge sizes of the served variants.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub display: u32,
    pub preview: u32,
    pub thumb: u32,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes {
            display: 2048,
            preview: 640,
            thumb: 160,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhotoError {
    #[error("{0}")]
    Unsupported(String),
    #[error("the image is {width}×{height} pixels, more than this instance's limit of {limit} pixels")]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("the image is damaged or incomplete: {0}")]
    Broken(String),
}

/// What a header says, read without decoding any pixels.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub format: ImageFormat,
    /// As displayed, after the orientation is applied.
    pub width: u32,
    pub height: u32,
    pub orientation: Orientation,
    pub has_alpha: bool,
}

pub struct Variant {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub mime: &'static str,
    pub extension: &'static str,
}

pub struct Processed {
    pub width: u32,
    pub height: u32,
    /// display, preview, thumb: in that order.
    pub variants: Vec<Variant>,
    pub blurhash: String,
    /// True when the display file is the original's compressed data, only stripped.
    pub lossless: bool,
}

fn broken(e: impl std::fmt::Display) -> PhotoError {
    PhotoError::Broken(e.to_string())
}

/// Bytes a decoder may allocate for an image of `max_pixels`: one RGBA8 frame and some room
/// (a 16-bit image near the limit is refused as too large to decode, not decoded at twice it).
fn max_alloc(max_pixels: u64) -> u64 {
    max_pixels.saturating_mul(4).saturating_add(64 * 1024 * 1024)
}

fn reader(data: &[u8], max_pixels: u64) -> Result<ImageReader<Cursor<&[u8]>>, PhotoError> {
    let mut reader = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(broken)?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_alloc(max_pixels));
    reader.limits(limits);
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP) => Ok(reader),
        Some(other) => Err(PhotoError::Unsupported(format!(
            "{} images are not supported; upload JPEG, PNG, WebP or GIF",
            other
                .extensions_str()
                .first()
                .copied()
                .unwrap_or("these")
                .to_uppercase()
        ))),
        None => Err(PhotoError::Unsupported(
            "this is not an image format Kaleido reads".into(),
        )),
    }
}

fn swaps_axes(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Reads the header and checks the pixel limit before anything is decoded, so a small file that
/// claims enormous dimensions (a decompression bomb) is refused for the price of its header.
pub fn probe(data: &[u8], max_pixels: u64) -> Result<Probe, PhotoError> {
    let reader = reader(data, max_pixels)?;
    let format = reader.format().ok_or_else(|| broken("unknown format"))?;
    let mut decoder = reader.into_decoder().map_err(broken)?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(broken("the image has no pixels"));
    }
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(PhotoError::TooManyPixels {
            width: w,
            height: h,
            limit: max_pixels,
        });
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let (width, height) = if swaps_axes(orientation) { (h, w) } else { (w, h) };
    Ok(Probe {
        format,
        width,
        height,
        orientation,
        has_alpha: decoder.color_type().has_alpha(),
    })
}

/// The size that fits `long_edge`, never larger than the image itself.
pub fn fit(width: u32, height: u32, long_edge: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= long_edge {
        return (width, height);
    }
    let scale = f64::from(long_edge) / f64::from(longest);
    let w = ((f64::from(width) * scale).round() as u32).clamp(1, long_edge);
    let h = ((f64::from(height) * scale).round() as u32).clamp(1, long_edge);
    (w, h)
}

/// Produces the display, preview and thumbnail files of an image.
pub fn process(data: &[u8], sizes: Sizes, max_pixels: u64) -> Result<Processed, PhotoError> {
    let probe = probe(data, max_pixels)?;
    let icc = match probe.format {
        ImageFormat::Jpeg => jpeg::icc_profile(data),
        _ => reader(data, max_pixels)?
            .into_decoder()
            .ok()
            .and_then(|mut d| d.icc_profile().ok().flatten()),
    };
    let display_size = fit(probe.width, probe.height, sizes.display);
    let needs_pixels_changed =
        display_size != (probe.width, probe.height) || probe.orientation != Orientation::NoTransforms;

    // Decode once, as small as the largest variant allows.
    let mut image = match probe.format {
        ImageFormat::Jpeg => decode_jpeg_scaled(data, display_size.0.max(display_size.1))?,
        _ => {
            let decoder = reader(data, max_pixels)?.into_decoder().map_err(broken)?;
            let image = DynamicImage::from_decoder(decoder).map_err(|e| match e {
                image::ImageError::Limits(_) => PhotoError::Unsupported(
                    "the image needs more memory to decode than this instance allows".into(),
                ),
                e => broken(e),
            })?;
            if probe.has_alpha {
                DynamicImage::ImageRgba8(image.into_rgba8())
            } else {
                DynamicImage::ImageRgb8(image.into_rgb8())
            }
        }
    };
    image.apply_orientation(probe.orientation);

    let as_jpeg = probe.format == ImageFormat::Jpeg || (!probe.has_alpha && probe.format != ImageFormat::Png);
    let encode = |img: &DynamicImage, quality: i32| -> Result<Vec<u8>, PhotoError> {
        if as_jpeg {
            encode_jpeg(img, quality, icc.as_deref())
        } else {
            encode_png(img, icc.as_deref())
        }
    };
    let (mime, extension) = if as_jpeg {
        ("image/jpeg", "jpg")
    } else {
        ("image/png", "png")
    };

    let mut variants = Vec::with_capacity(3);
    let lossless = probe.format == ImageFormat::Jpeg && !needs_pixels_changed;
    let display = resize(&image, display_size)?;
    let display_bytes = if lossless {
        jpeg::strip_metadata(data).map_err(broken)?
    } else {
        encode(&display, 90)?
    };
    variants.push(Variant {
        name: "display",
        bytes: display_bytes,
        width: display.width(),
        height: display.height(),
        mime,
        extension,
    });
    // Each smaller variant is made from the previous one: less work, same result.
    let mut previous = display;
    for (name, long_edge) in [("preview", sizes.preview), ("thumb", sizes.thumb)] {
        let size = fit(probe.width, probe.height, long_edge);
        let bytes = match variants.last() {
            Some(last) if (last.width, last.height) == size => last.bytes.clone(),
            _ => {
                previous = resize(&previous, size)?;
                encode(&previous, 85)?
            }
        };
        variants.push(Variant {
            name,
            bytes,
            width: size.0,
            height: size.1,
            mime,
            extension,
        });
    }
    let blurhash = blurhash_of(&previous)?;
    Ok(Processed {
        width: probe.width,
        height: probe.height,
        variants,
        blurhash,
        lossless,
    })
}

/// A profile picture: a still, and for an animated GIF the animation too (Mastodon's
/// `avatar` and `avatar_static`).
pub struct ProfilePicture {
    pub still: Variant,
    pub animated: Option<Variant>,
}

/// Frames of an animated picture decoded at most, and their pixels in all: an avatar is small,
/// a GIF claiming thousands of frames is not one.
const MAX_FRAMES: usize = 300;
const MAX_ANIMATION_PIXELS: u64 = 150_000_000;

/// [`profile_still`], and for a GIF of several frames the same crop of each frame, as a GIF.
pub fn profile_picture(
    data: &[u8],
    width: u32,
    height: u32,
    max_pixels: u64,
) -> Result<ProfilePicture, PhotoError> {
    let still = profile_still(data, width, height, max_pixels)?;
    let probe = probe(data, max_pixels)?;
    let animated = if probe.format == ImageFormat::Gif {
        animate(data, &probe, width, height)?
    } else {
        None
    };
    Ok(ProfilePicture { still, animated })
}

fn animate(data: &[u8], probe: &Probe, width: u32, height: u32) -> Result<Option<Variant>, PhotoError> {
    use image::{
        AnimationDecoder, Frame,
        codecs::gif::{GifDecoder, GifEncoder, Repeat},
    };
    let frame_pixels = u64::from(probe.width) * u64::from(probe.height);
    let decoder = GifDecoder::new(Cursor::new(data)).map_err(broken)?;
    let mut frames = Vec::new();
    for frame in decoder.into_frames() {
        let frame = frame.map_err(broken)?;
        if frames.len() == MAX_FRAMES || (frames.len() as u64 + 1) * frame_pixels > MAX_ANIMATION_PIXELS {
            return Err(PhotoError::Unsupported(format!(
                "the animation is too long for a profile picture (at most {MAX_FRAMES} frames)"
            )));
        }
        frames.push(frame);
    }
    if frames.len() < 2 {
        return Ok(None);
    }
    let ratio = f64::from(width) / f64::from(height);
    let mut out = Vec::new();
    let (mut out_w, mut out_h) = (0, 0);
    {
        let mut encoder = GifEncoder::new_with_speed(&mut out, 10);
        encoder.set_repeat(Repeat::Infinite).map_err(broken)?;
        for frame in frames {
            let delay = frame.delay();
            let image = DynamicImage::ImageRgba8(frame.into_buffer());
            let (iw, ih) = (image.width(), image.height());
            let (cw, ch) = if f64::from(iw) / f64::from(ih) > ratio {
                (((f64::from(ih) * ratio).round() as u32).clamp(1, iw), ih)
            } else {
                (iw, ((f64::from(iw) / ratio).round() as u32).clamp(1, ih))
            };
            let cropped = image.crop_imm((iw - cw) / 2, (ih - ch) / 2, cw, ch);
            let size = if cw > width { (width, height) } else { (cw, ch) };
            let scaled = resize(&cropped, size)?;
            (out_w, out_h) = size;
            encoder
                .encode_frame(Frame::from_parts(scaled.into_rgba8(), 0, 0, delay))
                .map_err(broken)?;
        }
    }
    Ok(Some(Variant {
        name: "profile-animated",
        bytes: out,
        width: out_w,
        height: out_h,
        mime: "image/gif",
        extension: "gif",
    }))
}

/// A still profile picture: the largest centred crop of `width`:`height`, scaled down to at
/// most `width`×`height` (never up), upright, without metadata; an animation's first frame.
/// JPEG out, or PNG when the picture has transparency.
pub fn profile_still(data: &[u8], width: u32, height: u32, max_pixels: u64) -> Result<Variant, PhotoError> {
    let probe = probe(data, max_pixels)?;
    let ratio = f64::from(width) / f64::from(height);
    let crop_of = |w: u32, h: u32| -> (u32, u32) {
        if f64::from(w) / f64::from(h) > ratio {
            (((f64::from(h) * ratio).round() as u32).clamp(1, w), h)
        } else {
            (w, ((f64::from(w) / ratio).round() as u32).clamp(1, h))
        }
    };
    let (crop_w, _) = crop_of(probe.width, probe.height);
    let mut image = match probe.format {
        ImageFormat::Jpeg => {
            // Decoded just large enough that the crop still covers the target.
            let longest = u64::from(probe.width.max(probe.height));
            let needed = (longest * u64::from(width)).div_ceil(u64::from(crop_w.max(1)));
            decode_jpeg_scaled(data, u32::try_from(needed).unwrap_or(u32::MAX))?
        }
        _ => {
            let decoder = reader(data, max_pixels)?.into_decoder().map_err(broken)?;
            let image = DynamicImage::from_decoder(decoder).map_err(broken)?;
            if probe.has_alpha {
                DynamicImage::ImageRgba8(image.into_rgba8())
            } else {
                DynamicImage::ImageRgb8(image.into_rgb8())
            }
        }
    };
    image.apply_orientation(probe.orientation);
    let (iw, ih) = (image.width(), image.height());
    let (cw, ch) = crop_of(iw, ih);
    let cropped = image.crop_imm((iw - cw) / 2, (ih - ch) / 2, cw, ch);
    let size = if cw > width { (width, height) } else { (cw, ch) };
    let out = resize(&cropped, size)?;
    let icc = (probe.format == ImageFormat::Jpeg)
        .then(|| jpeg::icc_profile(data))
        .flatten();
    let (bytes, mime, extension) = if probe.has_alpha {
        (encode_png(&out, icc.as_deref())?, "image/png", "png")
    } else {
        (encode_jpeg(&out, 90, icc.as_deref())?, "image/jpeg", "jpg")
    };
    Ok(Variant {
        name: "profile",
        bytes,
        width: out.width(),
        height: out.height(),
        mime,
        extension,
    })
}

/// Picks the smallest DCT scaling (n/8, n = 1..=8) whose result still covers `long_edge`, so a
/// 24-megapixel photo is never decoded at full size to make a 2048-pixel one.
fn decode_jpeg_scaled(data: &[u8], long_edge: u32) -> Result<DynamicImage, PhotoError> {
    let mut decompressor = turbojpeg::Decompressor::new().map_err(broken)?;
    let header = decompressor.read_header(data).map_err(broken)?;
    if matches!(
        header.colorspace,
        turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK
    ) {
        // libjpeg-turbo will not convert CMYK to RGB; the pure-Rust decoder does.
        let image = image::load_from_memory_with_format(data, ImageFormat::Jpeg).map_err(broken)?;
        return Ok(DynamicImage::ImageRgb8(image.into_rgb8()));
    }
    let longest = header.width.max(header.height);
    let eighths = (1..=8usize)
        .find(|n| (longest * n).div_ceil(8) >= long_edge as usize)
        .unwrap_or(8);
    // libjpeg-turbo picks the scaling factor from the output size asked for.
    let width = (header.width * eighths).div_ceil(8);
    let height = (header.height * eighths).div_ceil(8);
    let mut pixels = vec![0u8; width * height * 3];
    let output = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width,
        pitch: width * 3,
        height,
        format: turbojpeg::PixelFormat::RGB,
    };
    // A truncated or corrupt file is an error here (libjpeg-turbo's warnings count), never a
    // half-grey picture.
    decompressor.decompress(data, output).map_err(broken)?;
    let w = u32::try_from(width).map_err(broken)?;
    let h = u32::try_from(height).map_err(broken)?;
    image::RgbImage::from_raw(w, h, pixels)
        .map(DynamicImage::ImageRgb8)
        .ok_or_else(|| broken("decoded size mismatch"))
}

fn resize(image: &DynamicImage, (width, height): (u32, u32)) -> Result<DynamicImage, PhotoError> {
    if (image.width(), image.height()) == (width, height) {
        return Ok(image.clone());
    }
    let mut out = DynamicImage::new(width, height, image.color());
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new().resize(image, &mut out, &options).map_err(broken)?;
    Ok(out)
}

fn encode_jpeg(image: &DynamicImage, quality: i32, icc: Option<&[u8]>) -> Result<Vec<u8>, PhotoError> {
    let rgb = image.to_rgb8();
    let mut compressor = turbojpeg::Compressor::new().map_err(broken)?;
    compressor.set_quality(quality);
    compressor.set_subsamp(turbojpeg::Subsamp::Sub2x2);
    let (width, height) = (rgb.width() as usize, rgb.height() as usize);
    let input = turbojpeg::Image {
        pixels: rgb.as_raw().as_slice(),
        width,
        pitch: width * 3,
        height,
        format: turbojpeg::PixelFormat::RGB,
    };
    let jpeg = compressor.compress_to_vec(input).map_err(broken)?;
    match icc {
        Some(icc) => jpeg::with_icc_profile(&jpeg, icc).map_err(broken),
        None => Ok(jpeg),
    }
}

fn encode_png(image: &DynamicImage, icc: Option<&[u8]>) -> Result<Vec<u8>, PhotoError> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    let mut encoder = image::codecs::png::PngEncoder::new(&mut out);
    if let Some(icc) = icc {
        // A profile the encoder refuses is dropped rather than failing the photo.
        let _ = encoder.set_icc_profile(icc.to_vec());
    }
    encoder
        .write_image(
            image.as_bytes(),
            image.width(),
            image.height(),
            image.color().into(),
        )
        .map_err(broken)?;
    Ok(out)
}

fn blurhash_of(image: &DynamicImage) -> Result<String, PhotoError> {
    let rgba = image.to_rgba8();
    blurhash::encode(4, 4, rgba.width(), rgba.height(), rgba.as_raw()).map_err(broken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_pictures_are_cropped_to_shape() {
        let wide = image::RgbImage::from_pixel(900, 300, image::Rgb([200, 30, 30]));
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(wide)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .expect("png");
        let avatar = profile_picture(&png, 400, 400, 50_000_000).expect("avatar");
        assert!(avatar.animated.is_none(), "a PNG is a still");
        let avatar = avatar.still;
        // The largest centred square of a 900×300 picture is 300×300: never scaled up.
        assert_eq!(
            (avatar.width, avatar.height, avatar.mime),
            (300, 300, "image/jpeg")
        );
        let header = profile_picture(&png, 1500, 500, 50_000_000)
            .expect("header")
            .still;
        assert_eq!((header.width, header.height), (900, 300));
        assert!(
            profile_picture(&png, 400, 400, 1000).is_err(),
            "pixel limit holds"
        );
    }

    #[test]
    fn animated_gifs_keep_moving_with_a_still_beside() {
        use image::{
            AnimationDecoder, Frame,
            codecs::gif::{GifDecoder, GifEncoder},
        };
        let mut gif = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut gif);
            for shade in [0u8, 120, 240] {
                let frame = image::RgbaImage::from_pixel(600, 300, image::Rgba([shade, 40, 40, 255]));
                encoder.encode_frame(Frame::new(frame)).expect("frame");
            }
        }
        let picture = profile_picture(&gif, 400, 400, 50_000_000).expect("avatar");
        let animated = picture.animated.expect("still animated");
        assert_eq!(
            (animated.width, animated.height, animated.mime),
            (300, 300, "image/gif")
        );
        let frames = GifDecoder::new(Cursor::new(&animated.bytes))
            .expect("gif")
            .into_frames()
            .count();
        assert_eq!(frames, 3);
        assert_eq!((picture.still.width, picture.still.height), (300, 300));
        assert_ne!(picture.still.mime, "image/gif");
    }

    #[test]
    fn fit_never_upscales() {
        assert_eq!(fit(4000, 3000, 2048), (2048, 1536));
        assert_eq!(fit(3000, 4000, 640), (480, 640));
        assert_eq!(fit(800, 600, 2048), (800, 600));
        assert_eq!(fit(10000, 3, 160), (160, 1));
    }
}
