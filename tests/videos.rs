//! Videos end to end: upload, transcode in a child process, the HLS ladder, the MP4 and the
//! thumbnail served from either backend.

mod common;

use serde_json::Value;
use sha2::Digest;

async fn fetch(app: &common::Instance, url: &str, range: Option<&str>) -> (u16, Vec<u8>) {
    let mut request = app.http.get(url);
    if let Some(range) = range {
        request = request.header("Range", range);
    }
    let response = request.send().await.expect("get");
    (
        response.status().as_u16(),
        response.bytes().await.expect("body").to_vec(),
    )
}

fn ffprobe_streams(bytes: &[u8]) -> Value {
    let file = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(file.path(), bytes).expect("write");
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-of",
            "json",
            "-show_entries",
            "stream=codec_name,width,height",
        ])
        .arg(file.path())
        .output()
        .expect("ffprobe");
    serde_json::from_slice(&out.stdout).expect("json")
}

both_backends!(video_becomes_an_hls_ladder, |backend| async move {
    let app = common::start(backend).await;
    let token = app.user("alice").await;
    let response = app
        .upload(
            &token,
            common::clip(3, 854, 480),
            "holiday.mov",
            "video/quicktime",
        )
        .await;
    assert_eq!(response.status(), 202);
    let media: Value = response.json().await.expect("json");
    assert_eq!(media["type"], "video");
    let id = media["id"].as_str().expect("id").to_owned();
    let (status, media) = app.wait_processed(&token, &id).await;
    assert_eq!(status, 200, "{media}");
    assert_eq!(media["kaleido"]["progress"], 100);
    assert_eq!(media["meta"]["original"]["width"], 854);
    assert_eq!(media["kaleido"]["mirrors"], serde_json::json!([]));

    // The master playlist lists both rungs (480p, 240p) with their attributes.
    let master_url = media["kaleido"]["hls"].as_str().expect("hls").to_owned();
    let (code, master) = fetch(&app, &master_url, None).await;
    assert_eq!(code, 200);
    let master = String::from_utf8(master).expect("utf-8");
    assert!(
        master.contains("RESOLUTION=854x480") && master.contains("RESOLUTION=426x240"),
        "{master}"
    );
    assert!(
        master.contains("CODECS=\"avc1.") && master.contains("mp4a.40.2"),
        "{master}"
    );

    // A segment fetched by byte range, as hls.js does, matches the published hash.
    let base = master_url.rsplit_once('/').expect("base").0.to_owned();
    let (_, playlist) = fetch(&app, &format!("{base}/240p/index.m3u8"), None).await;
    let playlist = String::from_utf8(playlist).expect("utf-8");
    let (length, offset) = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-BYTERANGE:"))
        .and_then(|r| r.split_once('@'))
        .map(|(l, o)| {
            (
                l.parse::<usize>().expect("length"),
                o.parse::<usize>().expect("offset"),
            )
        })
        .expect("byte range");
    let (code, segment) = fetch(
        &app,
        &format!("{base}/240p/240p.mp4"),
        Some(&format!("bytes={offset}-{}", offset + length - 1)),
    )
    .await;
    assert_eq!(code, 206);
    assert_eq!(segment.len(), length);
    let (_, hashes) = fetch(&app, &format!("{base}/segments-sha256.json"), None).await;
    let hashes: Value = serde_json::from_slice(&hashes).expect("json");
    let expected = &hashes["240p.mp4"][format!("{offset}-{}", offset + length - 1)];
    assert_eq!(
        expected.as_str(),
        Some(hex::encode(sha2::Sha256::digest(&segment)).as_str())
    );

    // The MP4 plays on its own; the thumbnail is a JPEG of the video's shape.
    let (code, mp4) = fetch(&app, media["url"].as_str().expect("url"), None).await;
    assert_eq!(code, 200);
    let streams = ffprobe_streams(&mp4);
    assert_eq!(streams["streams"][0]["codec_name"], "h264");
    assert_eq!(streams["streams"][1]["codec_name"], "aac");
    let (code, thumb) = fetch(&app, media["preview_url"].as_str().expect("preview"), None).await;
    assert_eq!(code, 200);
    let thumb = image::load_from_memory(&thumb).expect("jpeg");
    assert_eq!((thumb.width(), thumb.height()), (854, 480));
    app.stop().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_videos_fail_with_a_reason_and_keep_the_original() {
    let app = common::start(common::Backend::SqliteLocal).await;
    let token = app.user("alice").await;
    let whole = common::clip(2, 320, 240);
    let cut = whole[..whole.len() / 3].to_vec();
    let media: Value = app
        .upload(&token, cut, "cut.mp4", "video/mp4")
        .await
        .json()
        .await
        .expect("json");
    let id = media["id"].as_str().expect("id").to_owned();
    let (status, media) = app.wait_processed(&token, &id).await;
    assert_eq!(status, 422, "{media}");
    assert!(
        media["kaleido"]["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{media}"
    );
    assert_eq!(
        app.running
            .state
            .store
            .list("originals/")
            .await
            .expect("list")
            .len(),
        1,
        "the original is kept"
    );
    assert!(
        app.running
            .state
            .store
            .list(&format!("media/{id}/"))
            .await
            .expect("list")
            .is_empty()
    );
    app.stop().await;
}

/// The untrusted upload is probed by the child, under its memory limit and watchdog, never by
/// the worker itself: here the "child" is a stand-in that refuses every file, and a file the
/// worker's own probe would reject first is answered with the child's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_is_probed_in_the_child_not_in_the_worker() {
    let dir = tempfile::tempdir().expect("dir");
    let child = dir.path().join("transcoder");
    std::fs::write(
        &child,
        "#!/bin/sh\necho 'refused by the child process' >&2\nexit 3\n",
    )
    .expect("script");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&child)
        .status()
        .expect("chmod");
    let program = child.clone();
    let app = common::start_with(common::Backend::SqliteLocal, move |c| {
        c.transcoding.program = Some(program);
    })
    .await;
    let token = app.user("alice").await;
    // An MP4's first bytes and nothing a demuxer can read.
    let media: Value = app
        .upload(&token, common::fake_mp4(64 * 1024), "odd.mp4", "video/mp4")
        .await
        .json()
        .await
        .expect("json");
    let id = media["id"].as_str().expect("id").to_owned();
    let (status, media) = app.wait_processed(&token, &id).await;
    assert_eq!(status, 422, "{media}");
    assert_eq!(
        media["kaleido"]["error"], "refused by the child process",
        "{media}"
    );
    app.stop().await;
}
