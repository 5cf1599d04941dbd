//! The object-store contract, on the local folder and on a real S3 server (Garage).

mod common;

use bytes::Bytes;
use futures_util::StreamExt;
use kaleido::{
    error::Kind,
    storage::{self, ByteRange, Key, ObjectStore},
};

async fn store_for(backend: common::Backend) -> (storage::Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = common::config(backend, dir.path()).await;
    (storage::from_config(&config.storage).await.expect("store"), dir)
}

fn body(bytes: Vec<u8>) -> storage::ByteStream {
    // Uneven chunks, as a network delivers them.
    let chunks: Vec<std::io::Result<Bytes>> = bytes
        .chunks(70_001)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures_util::stream::iter(chunks))
}

async fn read_all(store: &dyn ObjectStore, key: &Key, range: Option<ByteRange>) -> Vec<u8> {
    let mut object = store.get(key, range).await.expect("get");
    let mut out = Vec::new();
    while let Some(chunk) = object.body.next().await {
        out.extend_from_slice(&chunk.expect("chunk"));
    }
    out
}

both_backends!(put_get_head_list_delete, |backend| async move {
    let (store, _dir) = store_for(backend).await;
    let store = store.as_ref();
    store.check().await.expect("healthy");
    let small = Key::parse("media/a/small.bin").expect("key");
    let large = Key::parse("media/b/large.bin").expect("key");
    let other = Key::parse("other/c.bin").expect("key");
    let large_bytes = common::fake_mp4(11 * 1024 * 1024 + 7);

    store
        .put(
            &small,
            body(b"hello, store".to_vec()),
            None,
            "application/octet-stream",
        )
        .await
        .expect("put");
    // Larger than two 5 MiB parts: multipart on S3, streamed either way.
    store
        .put(&large, body(large_bytes.clone()), None, "video/mp4")
        .await
        .expect("put large");
    store
        .put(&other, body(vec![1, 2, 3]), Some(3), "application/octet-stream")
        .await
        .expect("put");

    assert_eq!(read_all(store, &small, None).await, b"hello, store");
    assert_eq!(read_all(store, &large, None).await, large_bytes);
    let range = ByteRange {
        start: 5 * 1024 * 1024 - 3,
        end: 5 * 1024 * 1024 + 3,
    };
    assert_eq!(
        read_all(store, &large, Some(range)).await,
        &large_bytes[range.start as usize..=range.end as usize]
    );
    let ranged = store.get(&large, Some(range)).await.expect("get");
    assert_eq!(
        ranged.meta.size,
        large_bytes.len() as u64,
        "a ranged read still knows the full size"
    );

    let head = store.head(&large).await.expect("head");
    assert_eq!(head.size, large_bytes.len() as u64);
    assert!(!head.etag.is_empty());

    let listed: Vec<String> = store
        .list("media/")
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key.as_str().to_owned())
        .collect();
    assert_eq!(listed, vec!["media/a/small.bin", "media/b/large.bin"]);
    assert_eq!(store.list("media/a").await.expect("list").len(), 1);

    // Replacing an object replaces it whole.
    store
        .put(&small, body(b"v2".to_vec()), Some(2), "text/plain")
        .await
        .expect("overwrite");
    assert_eq!(read_all(store, &small, None).await, b"v2");

    store.delete(&small).await.expect("delete");
    store.delete(&small).await.expect("deleting twice is fine");
    let missing = store.head(&small).await.expect_err("gone");
    assert_eq!(missing.kind, Kind::NotFound);
    let missing = store.get(&small, None).await.err().expect("gone");
    assert_eq!(missing.kind, Kind::NotFound);
});

both_backends!(failed_streams_leave_nothing, |backend| async move {
    let (store, _dir) = store_for(backend).await;
    let key = Key::parse("media/broken.bin").expect("key");
    // The body breaks after 6 MiB (past the first S3 part).
    let good = common::fake_mp4(6 * 1024 * 1024);
    let chunks: Vec<std::io::Result<Bytes>> = vec![
        Ok(Bytes::from(good)),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ];
    let result = store
        .put(
            &key,
            Box::pin(futures_util::stream::iter(chunks)),
            None,
            "video/mp4",
        )
        .await;
    assert!(result.is_err());
    assert_eq!(store.head(&key).await.expect_err("absent").kind, Kind::NotFound);
    assert!(store.list("").await.expect("list").is_empty());
});
