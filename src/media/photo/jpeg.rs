//! JPEG at the marker level: removing metadata without touching the compressed image, and
//! carrying the colour profile across.
//!
//! A JPEG is a sequence of segments (`FF xx` + length + payload) up to the start of scan; what
//! follows is entropy-coded image data. Stripping keeps every segment that decoding needs and the
//! scan bytes as they are, so a photo that needs no resize or rotation is served bit-for-bit
//! identical in its image data.

/// Why a file is not a JPEG we can rewrite.
#[derive(Debug, thiserror::Error)]
#[error("malformed JPEG: {0}")]
pub struct Malformed(&'static str);

const SOI: u8 = 0xD8;
const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;
const APP0: u8 = 0xE0;
const APP2: u8 = 0xE2;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;
const ICC_TAG: &[u8] = b"ICC_PROFILE\0";
/// Payload room in one APP2 segment after the length, tag and chunk numbering.
const ICC_CHUNK: usize = 65535 - 2 - 14;

struct Segment<'a> {
    marker: u8,
    /// The whole segment, marker and length included.
    raw: &'a [u8],
    payload: &'a [u8],
}

/// The segments before the first scan, and the offset where the scan (SOS) starts.
fn segments(data: &[u8]) -> Result<(Vec<Segment<'_>>, usize), Malformed> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != SOI {
        return Err(Malformed("no start-of-image marker"));
    }
    let mut list = Vec::new();
    let mut at = 2;
    loop {
        // Markers may be preceded by fill bytes (0xFF).
        while at < data.len() && data[at] == 0xFF && data.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        if at + 4 > data.len() || data[at] != 0xFF {
            return Err(Malformed("truncated before the image data"));
        }
        let marker = data[at + 1];
        if marker == SOS {
            return Ok((list, at));
        }
        if marker == EOI {
            return Err(Malformed("no image data"));
        }
        let len = usize::from(u16::from_be_bytes([data[at + 2], data[at + 3]]));
        if len < 2 || at + 2 + len > data.len() {
            return Err(Malformed("a segment runs past the end of the file"));
        }
        list.push(Segment {
            marker,
            raw: &data[at..at + 2 + len],
            payload: &data[at + 4..at + 2 + len],
        });
        at += 2 + len;
    }
}

/// Segments needed to decode the image and show its colours: everything but APPn and COM,
/// except the JFIF header (APP0 "JFIF"), the ICC profile (APP2 "ICC_PROFILE") and Adobe's
/// colour-transform flag (APP14 "Adobe"). EXIF, XMP, IPTC/Photoshop, maker notes, comments and
/// every vendor segment go.
fn keep(segment: &Segment<'_>) -> bool {
    match segment.marker {
        APP0 => segment.payload.starts_with(b"JFIF\0"),
        APP2 => segment.payload.starts_with(ICC_TAG),
        APP14 => segment.payload.starts_with(b"Adobe"),
        0xE1..=0xEF | COM => false,
        _ => true,
    }
}

/// The file without metadata; the image data is copied byte for byte.
pub fn strip_metadata(data: &[u8]) -> Result<Vec<u8>, Malformed> {
    let (list, scan) = segments(data)?;
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&[0xFF, SOI]);
    for segment in list.iter().filter(|s| keep(s)) {
        out.extend_from_slice(segment.raw);
    }
    out.extend_from_slice(&data[scan..image_end(data, scan)?]);
    Ok(out)
}

/// Where the image ends: just past the end-of-image marker. Whatever follows it (a phone's
/// motion-photo video with its own metadata, or any payload) is not part of the photo and is
/// not published. A file that stops before its EOI ends where it stops.
fn image_end(data: &[u8], scan: usize) -> Result<usize, Malformed> {
    let mut at = scan;
    while at + 1 < data.len() {
        if data[at] != 0xFF {
            at += 1;
            continue;
        }
        match data[at + 1] {
            // Stuffed zero, fill byte, restart markers: still entropy-coded data.
            0x00 | 0xFF | 0xD0..=0xD7 => at += if data[at + 1] == 0xFF { 1 } else { 2 },
            EOI => return Ok(at + 2),
            // A segment between scans (tables, or the next scan's header): skip its payload.
            _ => {
                let len = data
                    .get(at + 2..at + 4)
                    .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                    .ok_or(Malformed("truncated inside a segment"))?;
                if len < 2 {
                    return Err(Malformed("a segment has a length below two"));
                }
                at += 2 + len;
            }
        }
    }
    Ok(data.len())
}

/// The embedded ICC profile, reassembled from its APP2 chunks in order.
pub fn icc_profile(data: &[u8]) -> Option<Vec<u8>> {
    let (list, _) = segments(data).ok()?;
    let mut chunks: Vec<(u8, &[u8])> = list
        .iter()
        .filter(|s| s.marker == APP2 && s.payload.len() > ICC_TAG.len() + 2 && s.payload.starts_with(ICC_TAG))
        .map(|s| (s.payload[ICC_TAG.len()], &s.payload[ICC_TAG.len() + 2..]))
        .collect();
    if chunks.is_empty() {
        return None;
    }
    chunks.sort_by_key(|(n, _)| *n);
    Some(chunks.into_iter().flat_map(|(_, c)| c.iter().copied()).collect())
}

/// Inserts `icc` (as APP2 chunks) right after the start of image and any JFIF header.
pub fn with_icc_profile(jpeg: &[u8], icc: &[u8]) -> Result<Vec<u8>, Malformed> {
    let (list, _) = segments(jpeg)?;
    let after_jfif = 2 + list
        .iter()
        .take_while(|s| s.marker == APP0)
        .map(|s| s.raw.len())
        .sum::<usize>();
    let count = icc.len().div_ceil(ICC_CHUNK);
    let count_byte = u8::try_from(count).map_err(|_| Malformed("ICC profile too large"))?;
    let mut out = Vec::with_capacity(jpeg.len() + icc.len() + 18 * count);
    out.extend_from_slice(&jpeg[..after_jfif]);
    for (i, chunk) in icc.chunks(ICC_CHUNK).enumerate() {
        let len = u16::try_from(2 + ICC_TAG.len() + 2 + chunk.len()).map_err(|_| Malformed("chunk"))?;
        out.extend_from_slice(&[0xFF, APP2]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(ICC_TAG);
        out.push(u8::try_from(i + 1).map_err(|_| Malformed("chunk"))?);
        out.push(count_byte);
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&jpeg[after_jfif..]);
    Ok(out)
}

/// The compressed image data, from the first start-of-scan to the end of image: what stripping
/// must not change.
pub fn scan_data(data: &[u8]) -> Option<&[u8]> {
    let (_, scan) = segments(data).ok()?;
    Some(&data[scan..image_end(data, scan).ok()?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(payload.len() + 2).expect("len").to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    fn sample() -> Vec<u8> {
        let mut f = vec![0xFF, SOI];
        f.extend(segment(APP0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        f.extend(segment(0xE1, b"Exif\0\0GPS and serial"));
        f.extend(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<xmp/>"));
        f.extend(segment(APP2, b"ICC_PROFILE\0\x01\x01profile-bytes"));
        f.extend(segment(0xED, b"Photoshop 3.0\0IPTC"));
        f.extend(segment(COM, b"a comment"));
        f.extend(segment(0xDB, &[0; 65]));
        f.extend([
            0xFF, SOS, 0, 8, 1, 1, 0, 0, 0x3F, 0, 0x12, 0x34, 0xFF, 0x00, 0xFF, EOI,
        ]);
        f
    }

    #[test]
    fn strips_metadata_and_keeps_image_data() {
        let original = sample();
        let stripped = strip_metadata(&original).expect("strip");
        let text = String::from_utf8_lossy(&stripped);
        for gone in ["Exif", "xap", "Photoshop", "a comment"] {
            assert!(!text.contains(gone), "{gone} survived");
        }
        assert!(text.contains("JFIF") && text.contains("ICC_PROFILE"));
        assert_eq!(scan_data(&stripped), scan_data(&original));
        assert_eq!(icc_profile(&stripped).as_deref(), Some(&b"profile-bytes"[..]));
    }

    #[test]
    fn icc_round_trips_in_chunks() {
        let bare = strip_metadata(&sample()).expect("strip");
        let big: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        let without: Vec<u8> = {
            let mut f = vec![0xFF, SOI];
            f.extend(segment(0xDB, &[0; 65]));
            f.extend_from_slice(scan_data(&bare).expect("scan"));
            f
        };
        let with = with_icc_profile(&without, &big).expect("insert");
        assert_eq!(icc_profile(&with), Some(big));
        assert_eq!(scan_data(&with), scan_data(&without));
    }

    #[test]
    fn nothing_after_the_end_of_image_is_kept() {
        let photo = sample();
        let mut with_video = photo.clone();
        // What a phone appends: a motion-photo MP4 with metadata of its own.
        with_video.extend_from_slice(b"\0\0\0\x18ftypmp42 GPS 51.5N serial=XY123");
        let stripped = strip_metadata(&with_video).expect("strip");
        assert!(stripped.ends_with(&[0xFF, EOI]));
        assert_eq!(stripped, strip_metadata(&photo).expect("strip"));
        assert!(!String::from_utf8_lossy(&stripped).contains("ftyp"));
        // Restart markers and stuffed bytes inside the scan are image data, not its end.
        let mut restarts = photo[..photo.len() - 2].to_vec();
        restarts.extend([
            0xFF, 0xD0, 0x55, 0xFF, 0x00, 0xFF, 0xFF, 0xD1, 0x66, 0xFF, EOI, 1, 2, 3,
        ]);
        let stripped = strip_metadata(&restarts).expect("strip");
        assert_eq!(&stripped[stripped.len() - 4..], &[0xD1, 0x66, 0xFF, EOI]);
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert!(strip_metadata(b"not a jpeg").is_err());
        let truncated = &sample()[..30];
        assert!(strip_metadata(truncated).is_err());
    }
}
