//! The HLS ladder: decode once, one filter graph (rotation, then `split` into one scaler per
//! rendition), one H.264 encoder per rendition, one AAC encoder shared by all, and FFmpeg's own
//! HLS muxer writing a single fragmented MP4 per rendition with byte-range segments. Every
//! rendition forces IDR frames at the same instants, so segments line up across the ladder and
//! players can switch between them.

use std::{collections::BTreeMap, fs, path::Path};

use ffmpeg_next::{
    ChannelLayout, Dictionary, Packet, Rational, codec, encoder, filter, format, frame, media, picture,
    util::format::{Pixel, Sample, sample::Type as SampleType},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, input, probe};

#[derive(Debug, Clone)]
pub struct Options {
    /// Rendition heights; those above the source are skipped.
    pub heights: Vec<u32>,
    pub segment_seconds: u32,
    /// x264 preset: `veryfast` for production, `ultrafast` in tests.
    pub preset: String,
    pub limits: input::Limits,
    /// Where to write a still (JPEG, at most this high), taken from the same single decode.
    pub thumbnail: Option<(std::path::PathBuf, u32)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rendition {
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// The media playlist and the single fragmented MP4 it points into, relative to the output.
    pub playlist: String,
    pub file: String,
    pub bandwidth: u64,
    pub average_bandwidth: u64,
    pub codecs: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ladder {
    pub probe: probe::Probe,
    pub renditions: Vec<Rendition>,
    pub master: String,
    pub hashes: String,
    /// The still's size, when one was asked for.
    pub thumbnail: Option<(u32, u32)>,
}

/// Heights (with widths keeping the displayed aspect, both even) to encode for a source.
pub fn plan(width: u32, height: u32, heights: &[u32]) -> Vec<(u32, u32)> {
    // The nearest even size, ties going down (854×480 and 426×240 from 16:9, as players expect).
    let even = |v: f64| ((v / 2.0 - 0.5).ceil() as u32).max(1) * 2;
    let mut rungs: Vec<u32> = heights.iter().copied().filter(|h| *h <= height).collect();
    rungs.sort_unstable_by(|a, b| b.cmp(a));
    rungs.dedup();
    if rungs.is_empty() {
        // Smaller than the smallest rung: one rendition at its own size.
        rungs.push(height);
    }
    rungs
        .into_iter()
        .map(|h| {
            (
                even(f64::from(width) * f64::from(h) / f64::from(height)),
                even(f64::from(h)),
            )
        })
        .collect()
}

/// Bits per second for a rendition: about 0.1 bit per pixel per frame at 30 fps, in the range
/// PeerTube and YouTube use for these sizes.
fn bitrate(width: u32, height: u32, fps: f64) -> usize {
    let pixels = f64::from(width) * f64::from(height);
    (pixels * fps.clamp(24.0, 60.0) * 0.1).clamp(150_000.0, 12_000_000.0) as usize
}

struct Output {
    name: String,
    width: u32,
    height: u32,
    encoder: encoder::Video,
    muxer: format::context::Output,
    sink: String,
    frame_duration: i64,
    next_keyframe: f64,
}

fn even_floor(v: u32) -> u32 {
    (v / 2 * 2).max(2)
}

/// Transcodes `source` into `out_dir`: `{height}p/index.m3u8` with its fragmented MP4,
/// `master.m3u8` and `segments-sha256.json`. `progress` receives 0–100.
pub fn transcode(
    source: &Path,
    out_dir: &Path,
    options: &Options,
    mut progress: impl FnMut(u8),
) -> Result<Ladder, Error> {
    let probe = probe::probe(source, &options.limits)?;
    let mut input = input::open(source)?;
    let video_index = input
        .streams()
        .best(media::Type::Video)
        .map(|s| s.index())
        .ok_or_else(|| Error::Refused("no video".into()))?;
    let audio_index = input.streams().best(media::Type::Audio).map(|s| s.index());

    let video_stream = input
        .stream(video_index)
        .ok_or_else(|| Error::Internal("video stream vanished".into()))?;
    let video_tb = video_stream.time_base();
    let mut decoder = codec::context::Context::from_parameters(video_stream.parameters())?;
    decoder.set_threading(codec::threading::Config {
        kind: codec::threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    let mut decoder = decoder.decoder().video()?;
    let mut audio_decoder = match audio_index.and_then(|i| input.stream(i)) {
        Some(stream) => Some(
            codec::context::Context::from_parameters(stream.parameters())?
                .decoder()
                .audio()?,
        ),
        None => None,
    };
    let audio_tb = audio_index.and_then(|i| input.stream(i)).map(|s| s.time_base());

    let fps = probe.frame_rate;
    let (stored_w, stored_h) = (even_floor(probe.width), even_floor(probe.height));
    let rungs = plan(stored_w, stored_h, &options.heights);

    // The filter graph: rotate, split, scale each rendition; resample audio once.
    let mut graph = filter::Graph::new();
    let sar = decoder.aspect_ratio();
    let sar = if sar.numerator() > 0 {
        sar
    } else {
        Rational::new(1, 1)
    };
    graph.add(
        &filter::find("buffer").ok_or_else(|| Error::Internal("no buffer filter".into()))?,
        "vin",
        &format!(
            "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
            decoder.width(),
            decoder.height(),
            ffmpeg_next::ffi::AVPixelFormat::from(decoder.format()) as i32,
            video_tb.numerator(),
            video_tb.denominator(),
            sar.numerator(),
            sar.denominator()
        ),
    )?;
    let buffersink = filter::find("buffersink").ok_or_else(|| Error::Internal("no buffersink".into()))?;
    let mut spec = String::from("[vin]");
    spec.push_str(match probe.rotation {
        90 => "transpose=clock,",
        180 => "hflip,vflip,",
        270 => "transpose=cclock,",
        _ => "",
    });
    spec.push_str(&format!("split={}", rungs.len()));
    for i in 0..rungs.len() {
        spec.push_str(&format!("[s{i}]"));
    }
    for (i, (w, h)) in rungs.iter().enumerate() {
        graph.add(&buffersink, &format!("vout{i}"), "")?;
        spec.push_str(&format!(
            ";[s{i}]scale={w}:{h}:flags=bicubic,setsar=1,format=yuv420p[vout{i}]"
        ));
    }
    if let (Some(audio), Some(tb)) = (&audio_decoder, audio_tb) {
        let layout = if audio.channel_layout().is_empty() {
            ChannelLayout::default(i32::from(audio.channels()))
        } else {
            audio.channel_layout()
        };
        graph.add(
            &filter::find("abuffer").ok_or_else(|| Error::Internal("no abuffer".into()))?,
            "ain",
            &format!(
                "time_base={}/{}:sample_rate={}:sample_fmt={}:channel_layout=0x{:x}",
                tb.numerator(),
                tb.denominator(),
                audio.rate(),
                audio.format().name(),
                layout.bits()
            ),
        )?;
        graph.add(
            &filter::find("abuffersink").ok_or_else(|| Error::Internal("no abuffersink".into()))?,
            "aout",
            "",
        )?;
        spec.push_str(";[ain]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[aout]");
    }
    {
        let mut parser = graph.output("vin", 0)?;
        if audio_decoder.is_some() {
            parser = parser.output("ain", 0)?;
        }
        for i in 0..rungs.len() {
            parser = parser.input(&format!("vout{i}"), 0)?;
        }
        if audio_decoder.is_some() {
            parser = parser.input("aout", 0)?;
        }
        parser.parse(&spec)?;
    }
    graph.validate()?;

    // One AAC encoder; its packets go to every rendition.
    let mut audio_encoder = if audio_decoder.is_some() {
        let aac = encoder::find(codec::Id::AAC).ok_or_else(|| Error::Internal("no AAC encoder".into()))?;
        let mut enc = codec::context::Context::new_with_codec(aac).encoder().audio()?;
        enc.set_rate(48_000);
        enc.set_channel_layout(ChannelLayout::STEREO);
        enc.set_channels(2);
        enc.set_format(Sample::F32(SampleType::Planar));
        enc.set_bit_rate(128_000);
        enc.set_time_base((1, 48_000));
        let mut opts = Dictionary::new();
        opts.set("flags", "+global_header");
        let enc = enc.open_as_with(aac, opts)?;
        if let Some(mut sink) = graph.get("aout") {
            sink.sink().set_frame_size(enc.frame_size().max(1024));
        }
        Some(enc)
    } else {
        None
    };

    let sink_tb = graph
        .get("vout0")
        .map(|mut s| s.sink().time_base())
        .ok_or_else(|| Error::Internal("no video sink".into()))?;
    let x264 =
        encoder::find_by_name("libx264").ok_or_else(|| Error::Internal("FFmpeg has no libx264".into()))?;
    let mut outputs = Vec::with_capacity(rungs.len());
    for (i, (w, h)) in rungs.iter().copied().enumerate() {
        let name = format!("{h}p");
        let dir = out_dir.join(&name);
        fs::create_dir_all(&dir)?;
        let mut enc = codec::context::Context::new_with_codec(x264).encoder().video()?;
        enc.set_width(w);
        enc.set_height(h);
        enc.set_format(Pixel::YUV420P);
        enc.set_time_base(sink_tb);
        // Said explicitly, or x264's rate control misjudges it from the time base.
        enc.set_frame_rate(Some(Rational::from(fps)));
        let rate = bitrate(w, h, fps);
        enc.set_bit_rate(rate);
        enc.set_max_bit_rate(rate * 107 / 100);
        enc.set_gop((fps * f64::from(options.segment_seconds) * 2.0).round() as u32);
        let mut opts = Dictionary::new();
        opts.set("preset", &options.preset);
        // As an option: setting the flag directly drops x264's closed GOP and the IDRs drift.
        opts.set("flags", "+global_header");
        opts.set("forced-idr", "1");
        opts.set("bufsize", &(rate * 3 / 2).to_string());
        opts.set("threads", "auto");
        let enc = enc.open_as_with(x264, opts)?;

        let playlist = dir.join("index.m3u8");
        let mut muxer = format::output_as(&playlist, "hls")?;
        {
            let mut stream = muxer.add_stream(x264)?;
            stream.set_parameters(&enc);
            stream.set_time_base(sink_tb);
        }
        if let Some(aenc) = &audio_encoder {
            let mut stream = muxer.add_stream(encoder::find(codec::Id::AAC))?;
            stream.set_parameters(aenc);
            stream.set_time_base((1, 48_000));
        }
        let mut mux_opts = Dictionary::new();
        mux_opts.set("hls_time", &options.segment_seconds.to_string());
        mux_opts.set("hls_playlist_type", "vod");
        mux_opts.set("hls_segment_type", "fmp4");
        mux_opts.set("hls_flags", "independent_segments+single_file");
        mux_opts.set(
            "hls_segment_filename",
            dir.join(format!("{name}.mp4")).to_string_lossy().as_ref(),
        );
        muxer.write_header_with(mux_opts)?;
        let frame_duration = ((f64::from(sink_tb.denominator()) / f64::from(sink_tb.numerator())) / fps)
            .round()
            .max(1.0) as i64;
        outputs.push(Output {
            name,
            width: w,
            height: h,
            encoder: enc,
            muxer,
            sink: format!("vout{i}"),
            frame_duration,
            next_keyframe: 0.0,
        });
        let _ = i;
    }

    let total = probe.duration_seconds.max(0.001);
    let segment = f64::from(options.segment_seconds);
    let mut last_progress = 0u8;
    let mut decoded = frame::Video::empty();
    let mut filtered = frame::Video::empty();
    let mut audio_frame = frame::Audio::empty();
    let mut audio_filtered = frame::Audio::empty();
    let mut frames: u64 = 0;
    // The still is chosen on the way: the first interesting frame at a mark, else the first.
    let marks = crate::thumbnail::marks(probe.duration_seconds);
    let mut next_mark = 0;
    let mut still: Option<frame::Video> = None;
    let mut first_frame: Option<frame::Video> = None;

    let drain_video = |graph: &mut filter::Graph,
                       outputs: &mut Vec<Output>,
                       filtered: &mut frame::Video|
     -> Result<(), Error> {
        for out in outputs.iter_mut() {
            let mut sink = graph
                .get(&out.sink)
                .ok_or_else(|| Error::Internal("sink vanished".into()))?;
            while sink.sink().frame(filtered).is_ok() {
                // Keyframes at the same instants in every rendition; none of the source's own.
                let t = filtered.pts().unwrap_or(0) as f64 * f64::from(sink_tb);
                if t + 1e-6 >= out.next_keyframe {
                    filtered.set_kind(picture::Type::I);
                    out.next_keyframe += segment;
                    while out.next_keyframe <= t {
                        out.next_keyframe += segment;
                    }
                } else {
                    filtered.set_kind(picture::Type::None);
                }
                out.encoder.send_frame(filtered)?;
                write_video_packets(out)?;
            }
        }
        Ok(())
    };

    for (stream, packet) in input.packets() {
        if stream.index() == video_index {
            decoder
                .send_packet(&packet)
                .map_err(|e| Error::Broken(e.to_string()))?;
            while decoder.receive_frame(&mut decoded).is_ok() {
                frames += 1;
                if frames > options.limits.max_frames {
                    return Err(Error::Refused("the video has too many frames".into()));
                }
                let pts = decoded.timestamp();
                decoded.set_pts(pts);
                if options.thumbnail.is_some() && still.is_none() {
                    if first_frame.is_none() {
                        first_frame = Some(decoded.clone());
                    }
                    let t = pts.unwrap_or(0) as f64 * f64::from(video_tb);
                    if next_mark < marks.len() && t >= marks[next_mark] {
                        next_mark += 1;
                        if crate::thumbnail::interesting(&decoded) {
                            still = Some(decoded.clone());
                        }
                    }
                }
                if let Some(t) = pts {
                    let done = ((t as f64 * f64::from(video_tb)) / total * 100.0).clamp(0.0, 99.0) as u8;
                    if done > last_progress {
                        last_progress = done;
                        progress(done);
                    }
                }
                filter_named(&mut graph, "vin")?.source().add(&decoded)?;
                drain_video(&mut graph, &mut outputs, &mut filtered)?;
            }
        } else if Some(stream.index()) == audio_index {
            let Some(adec) = audio_decoder.as_mut() else {
                continue;
            };
            if adec.send_packet(&packet).is_err() {
                // A damaged audio packet costs a moment of sound, not the video.
                continue;
            }
            while adec.receive_frame(&mut audio_frame).is_ok() {
                let pts = audio_frame.timestamp();
                audio_frame.set_pts(pts);
                filter_named(&mut graph, "ain")?.source().add(&audio_frame)?;
                drain_audio(
                    &mut graph,
                    audio_encoder.as_mut(),
                    &mut outputs,
                    &mut audio_filtered,
                )?;
            }
        }
    }
    if frames == 0 {
        return Err(Error::Broken("no frame could be decoded".into()));
    }

    // Flush decoders, filters and encoders.
    decoder.send_eof()?;
    while decoder.receive_frame(&mut decoded).is_ok() {
        let pts = decoded.timestamp();
        decoded.set_pts(pts);
        filter_named(&mut graph, "vin")?.source().add(&decoded)?;
        drain_video(&mut graph, &mut outputs, &mut filtered)?;
    }
    filter_named(&mut graph, "vin")?.source().flush()?;
    drain_video(&mut graph, &mut outputs, &mut filtered)?;
    if let Some(adec) = audio_decoder.as_mut() {
        let _ = adec.send_eof();
        while adec.receive_frame(&mut audio_frame).is_ok() {
            let pts = audio_frame.timestamp();
            audio_frame.set_pts(pts);
            filter_named(&mut graph, "ain")?.source().add(&audio_frame)?;
        }
        filter_named(&mut graph, "ain")?.source().flush()?;
        drain_audio(
            &mut graph,
            audio_encoder.as_mut(),
            &mut outputs,
            &mut audio_filtered,
        )?;
        if let Some(aenc) = audio_encoder.as_mut() {
            aenc.send_eof()?;
            write_audio_packets(aenc, &mut outputs)?;
        }
    }
    for out in outputs.iter_mut() {
        out.encoder.send_eof()?;
        write_video_packets(out)?;
        out.muxer.write_trailer()?;
    }

    let audio_codec = audio_encoder.as_ref().map(|_| "mp4a.40.2");
    let renditions = outputs
        .iter()
        .map(|out| describe(out_dir, out, audio_codec, total))
        .collect::<Result<Vec<_>, Error>>()?;
    let master = write_master(out_dir, &renditions, fps)?;
    let hashes = write_hashes(out_dir, &renditions)?;
    let thumbnail = match (&options.thumbnail, still.or(first_frame)) {
        (Some((path, max_height)), Some(frame)) => Some(crate::thumbnail::write_jpeg(
            &frame,
            probe.rotation,
            *max_height,
            path,
        )?),
        _ => None,
    };
    progress(100);
    Ok(Ladder {
        probe,
        renditions,
        master,
        hashes,
        thumbnail,
    })
}

/// A filter of the graph by name (sources and sinks are looked up, not kept, as the graph owns them).
fn filter_named(graph: &mut filter::Graph, name: &str) -> Result<filter::Context, Error> {
    graph
        .get(name)
        .ok_or_else(|| Error::Internal(format!("the filter {name} vanished")))
}

fn write_video_packets(out: &mut Output) -> Result<(), Error> {
    let mut packet = Packet::empty();
    while out.encoder.receive_packet(&mut packet).is_ok() {
        // libx264 leaves durations at 0, which makes the muxer's segment lengths drift.
        packet.set_duration(out.frame_duration);
        packet.set_stream(0);
        let stream_tb = out
            .muxer
            .stream(0)
            .map(|s| s.time_base())
            .ok_or_else(|| Error::Internal("no stream".into()))?;
        packet.rescale_ts(out.encoder.time_base(), stream_tb);
        packet
            .write_interleaved(&mut out.muxer)
            .map_err(|e| Error::Internal(e.to_string()))?;
    }
    Ok(())
}

fn drain_audio(
    graph: &mut filter::Graph,
    encoder: Option<&mut encoder::Audio>,
    outputs: &mut [Output],
    filtered: &mut frame::Audio,
) -> Result<(), Error> {
    let Some(encoder) = encoder else { return Ok(()) };
    let mut sink = filter_named(graph, "aout")?;
    while sink.sink().frame(filtered).is_ok() {
        encoder.send_frame(filtered)?;
        write_audio_packets(encoder, outputs)?;
    }
    Ok(())
}

fn write_audio_packets(encoder: &mut encoder::Audio, outputs: &mut [Output]) -> Result<(), Error> {
    let mut packet = Packet::empty();
    while encoder.receive_packet(&mut packet).is_ok() {
        for out in outputs.iter_mut() {
            let mut copy = packet.clone();
            copy.set_stream(1);
            let stream_tb = out
                .muxer
                .stream(1)
                .map(|s| s.time_base())
                .ok_or_else(|| Error::Internal("no audio stream".into()))?;
            copy.rescale_ts(encoder.time_base(), stream_tb);
            copy.write_interleaved(&mut out.muxer)
                .map_err(|e| Error::Internal(e.to_string()))?;
        }
    }
    Ok(())
}

/// `avc1.PPCCLL` from the SPS in the encoder's extradata (Annex B or avcC).
fn avc1_codec(extradata: &[u8]) -> Option<String> {
    let sps = if extradata.first() == Some(&1) && extradata.len() >= 4 {
        &extradata[1..4]
    } else {
        let at = extradata
            .windows(4)
            .position(|w| w[..3] == [0, 0, 1] && w[3] & 0x1f == 7)?;
        extradata.get(at + 4..at + 7)?
    };
    Some(format!("avc1.{:02x}{:02x}{:02x}", sps[0], sps[1], sps[2]))
}

fn byte_ranges(playlist: &Path) -> Result<(String, Vec<(u64, u64)>), Error> {
    let text = fs::read(playlist)?;
    let parsed = m3u8_rs::parse_media_playlist_res(&text)
        .map_err(|e| Error::Internal(format!("own playlist unreadable: {e}")))?;
    let mut file = None;
    let mut ranges = Vec::new();
    let mut next_offset = 0u64;
    for segment in &parsed.segments {
        if let Some(map) = &segment.map {
            if let Some(range) = &map.byte_range {
                let offset = range.offset.unwrap_or(0);
                ranges.push((offset, range.length));
                next_offset = offset + range.length;
            }
            file.get_or_insert_with(|| map.uri.clone());
        }
        file.get_or_insert_with(|| segment.uri.clone());
        if let Some(range) = &segment.byte_range {
            let offset = range.offset.unwrap_or(next_offset);
            ranges.push((offset, range.length));
            next_offset = offset + range.length;
        }
    }
    let file = file.ok_or_else(|| Error::Internal("empty playlist".into()))?;
    Ok((file, ranges))
}

fn describe(
    out_dir: &Path,
    out: &Output,
    audio_codec: Option<&str>,
    duration: f64,
) -> Result<Rendition, Error> {
    let playlist = out_dir.join(&out.name).join("index.m3u8");
    let (file, ranges) = byte_ranges(&playlist)?;
    let size = fs::metadata(out_dir.join(&out.name).join(&file))?.len();
    // Peak: the largest segment (the first range is the init section) over the segment length.
    let parsed = m3u8_rs::parse_media_playlist_res(&fs::read(&playlist)?)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let peak = parsed
        .segments
        .iter()
        .filter_map(|s| s.byte_range.as_ref().map(|r| (r.length, s.duration)))
        .map(|(len, secs)| (len as f64 * 8.0 / f64::from(secs).max(0.1)) as u64)
        .max()
        .unwrap_or(0);
    // The SPS as the MP4 carries it: the avcC box of the init section.
    let init_len = ranges.first().map_or(4096, |(_, len)| *len as usize);
    let head = fs::read(out_dir.join(&out.name).join(&file))?;
    let init = &head[..init_len.min(head.len())];
    let video = init
        .windows(4)
        .position(|w| w == b"avcC")
        .and_then(|at| avc1_codec(&init[at + 4..]))
        .unwrap_or_else(|| "avc1.64001f".into());
    Ok(Rendition {
        name: out.name.clone(),
        width: out.width,
        height: out.height,
        playlist: format!("{}/index.m3u8", out.name),
        file: format!("{}/{file}", out.name),
        bandwidth: peak.max(1),
        average_bandwidth: ((size as f64 * 8.0) / duration) as u64,
        codecs: match audio_codec {
            Some(audio) => format!("{video},{audio}"),
            None => video,
        },
    })
}

fn write_master(out_dir: &Path, renditions: &[Rendition], fps: f64) -> Result<String, Error> {
    let playlist = m3u8_rs::MasterPlaylist {
        version: Some(7),
        independent_segments: true,
        variants: renditions
            .iter()
            .map(|r| m3u8_rs::VariantStream {
                uri: r.playlist.clone(),
                bandwidth: r.bandwidth,
                average_bandwidth: Some(r.average_bandwidth),
                codecs: Some(r.codecs.clone()),
                resolution: Some(m3u8_rs::Resolution {
                    width: u64::from(r.width),
                    height: u64::from(r.height),
                }),
                frame_rate: Some((fps * 1000.0).round() / 1000.0),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let mut bytes = Vec::new();
    playlist.write_to(&mut bytes)?;
    fs::write(out_dir.join("master.m3u8"), bytes)?;
    Ok("master.m3u8".into())
}

/// PeerTube's `segments-sha256.json`: for each file, the SHA-256 of each byte range
/// (`"start-end"`, end inclusive), so a mirror or a player can verify any segment it fetched.
fn write_hashes(out_dir: &Path, renditions: &[Rendition]) -> Result<String, Error> {
    let mut all: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for rendition in renditions {
        let (_, ranges) = byte_ranges(&out_dir.join(&rendition.playlist))?;
        let data = fs::read(out_dir.join(&rendition.file))?;
        let mut hashes = BTreeMap::new();
        for (offset, length) in ranges {
            let (start, end) = (offset as usize, (offset + length) as usize);
            let slice = data
                .get(start..end)
                .ok_or_else(|| Error::Internal("range outside the file".into()))?;
            hashes.insert(
                format!("{}-{}", start, end - 1),
                hex::encode(Sha256::digest(slice)),
            );
        }
        let file_name = rendition
            .file
            .rsplit('/')
            .next()
            .unwrap_or(&rendition.file)
            .to_owned();
        all.insert(file_name, hashes);
    }
    let json = serde_json::to_vec_pretty(&all).map_err(|e| Error::Internal(e.to_string()))?;
    fs::write(out_dir.join("segments-sha256.json"), json)?;
    Ok("segments-sha256.json".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_never_upscale() {
        assert_eq!(
            plan(1920, 1080, &[1080, 720, 480, 360, 240]),
            vec![(1920, 1080), (1280, 720), (854, 480), (640, 360), (426, 240)]
        );
        assert_eq!(plan(1080, 1920, &[720, 480]), vec![(404, 720), (270, 480)]);
        assert_eq!(plan(160, 90, &[1080, 720, 240]), vec![(160, 90)]);
        assert_eq!(plan(852, 478, &[1080, 720, 480, 360]), vec![(642, 360)]);
    }

    #[test]
    fn codec_strings() {
        assert_eq!(
            avc1_codec(&[0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac]).as_deref(),
            Some("avc1.64001f")
        );
        assert_eq!(
            avc1_codec(&[1, 0x42, 0xc0, 0x1e, 0xff]).as_deref(),
            Some("avc1.42c01e")
        );
    }
}
