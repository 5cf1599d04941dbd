//! Objects in an S3-compatible store (AWS, Garage, Ceph, …) through aws-sdk-s3.
//!
//! Checksums are computed only when the API requires them: self-hosted stores reject the SDK's
//! default signed-trailer bodies over plain HTTP, and content integrity is already ours (every
//! upload is hashed on the way in).

use std::time::Duration;

use aws_sdk_s3::{
    Client,
    config::{
        BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
        http::HttpResponse, timeout::TimeoutConfig,
    },
    error::{DisplayErrorContext, SdkError},
    primitives::ByteStream as SdkBody,
    types::{CompletedMultipartUpload, CompletedPart},
};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use super::{ByteRange, ByteStream, Key, Object, ObjectMeta, ObjectStore, not_found};
use crate::{
    config::S3Config,
    error::{Error, Result},
};

pub struct S3Store {
    client: Client,
    bucket: String,
    public_url: Option<String>,
    part_size: usize,
}

fn s3_error<E>(what: &str, key: &str, e: SdkError<E, HttpResponse>) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    let detail = format!("object store: {what} {key} failed: {}", DisplayErrorContext(&e));
    // The store down (refused, unreachable, timing out, or saying so with a 503) is an outage the
    // client should wait out, not a bug; anything else it answers (a 403, a 404, a malformed
    // reply) or a request we could not even build stays an internal error.
    let outage = match &e {
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(d) => d.is_io() || d.is_timeout(),
        SdkError::ServiceError(s) => s.raw().status().as_u16() == 503,
        _ => false,
    };
    if outage {
        super::unavailable(detail)
    } else {
        Error::internal(detail)
    }
}

fn is_not_found<E>(e: &SdkError<E, HttpResponse>) -> bool {
    matches!(e, SdkError::ServiceError(s) if s.raw().status().as_u16() == 404)
}

impl S3Store {
    pub fn new(config: &S3Config) -> S3Store {
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .force_path_style(config.path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .read_timeout(Duration::from_secs(120))
                    .build(),
            );
        if !config.access_key_id.is_empty() {
            // Static keys: no probing of instance metadata services for credentials.
            builder = builder.credentials_provider(Credentials::new(
                config.access_key_id.clone(),
                config.secret_access_key.expose().to_owned(),
                None,
                None,
                "kaleido-config",
            ));
        }
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint.clone());
        }
        S3Store {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
            public_url: config
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_owned()),
            part_size: usize::try_from(config.part_size_bytes).unwrap_or(16 * 1024 * 1024),
        }
    }

    async fn put_multipart(
        &self,
        key: &Key,
        first: Bytes,
        mut rest: ByteStream,
        mut buffer: BytesMut,
        content_type: &str,
    ) -> Result<()> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| s3_error("starting upload of", key.as_str(), e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| Error::internal("object store returned no upload id"))?
            .to_owned();
        let result = async {
            let mut parts = Vec::new();
            let mut pending = Some(first);
            let mut ended = false;
            while let Some(part) = pending.take() {
                let number = i32::try_from(parts.len() + 1).map_err(|_| Error::internal("too many parts"))?;
                let uploaded = self
                    .client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key.as_str())
                    .upload_id(&upload_id)
                    .part_number(number)
                    .body(SdkBody::from(part))
                    .send()
                    .await
                    .map_err(|e| s3_error("uploading a part of", key.as_str(), e))?;
                // Only the ETag and the number: some stores reject completions carrying checksums.
                parts.push(
                    CompletedPart::builder()
                        .e_tag(uploaded.e_tag().unwrap_or_default())
                        .part_number(number)
                        .build(),
                );
                if !ended {
                    ended = fill(&mut rest, &mut buffer, self.part_size).await?;
                }
                if !buffer.is_empty() {
                    let take = buffer.len().min(self.part_size);
                    pending = Some(buffer.split_to(take).freeze());
                }
            }
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key.as_str())
                .upload_id(&upload_id)
                .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                .send()
                .await
                .map_err(|e| s3_error("completing upload of", key.as_str(), e))?;
            Ok(())
        }
        .await;
        if result.is_err() {
            // Leave no orphaned parts billing the bucket.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key.as_str())
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }
}

/// Reads from the stream until `buffer` holds at least `target` bytes; true when the stream ended.
async fn fill(stream: &mut ByteStream, buffer: &mut BytesMut, target: usize) -> Result<bool> {
    while buffer.len() < target {
        match stream.next().await {
            Some(chunk) => buffer.extend_from_slice(&chunk?),
            None => return Ok(true),
        }
    }
    Ok(false)
}

fn parse_total(content_range: Option<&str>) -> Option<u64> {
    content_range?.rsplit_once('/')?.1.parse().ok()
}

#[async_trait::async_trait]
impl ObjectStore for S3Store {
    async fn put(
        &self,
        key: &Key,
        mut body: ByteStream,
        _size_hint: Option<u64>,
        content_type: &str,
    ) -> Result<()> {
        let mut buffer = BytesMut::with_capacity(self.part_size.min(8 * 1024 * 1024));
        let ended = fill(&mut body, &mut buffer, self.part_size).await?;
        if ended && buffer.len() <= self.part_size {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key.as_str())
                .content_type(content_type)
                .body(SdkBody::from(buffer.freeze()))
                .send()
                .await
                .map_err(|e| s3_error("storing", key.as_str(), e))?;
            return Ok(());
        }
        let first = buffer.split_to(self.part_size).freeze();
        self.put_multipart(key, first, body, buffer, content_type).await
    }

    async fn get(&self, key: &Key, range: Option<ByteRange>) -> Result<Object> {
        let mut request = self.client.get_object().bucket(&self.bucket).key(key.as_str());
        if let Some(r) = range {
            request = request.range(format!("bytes={}-{}", r.start, r.end));
        }
        let output = request.send().await.map_err(|e| {
            if is_not_found(&e) {
                not_found(key)
            } else {
                s3_error("reading", key.as_str(), e)
            }
        })?;
        let length = output
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        let size = match range {
            Some(_) => parse_total(output.content_range()).unwrap_or(length),
            None => length,
        };
        let meta = ObjectMeta {
            key: key.clone(),
            size,
            etag: output.e_tag().unwrap_or_default().to_owned(),
            modified: output.last_modified().map(|t| t.secs()),
        };
        let reader = output.body.into_async_read();
        Ok(Object {
            meta,
            body: Box::pin(tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024)),
            range,
        })
    }

    async fn head(&self, key: &Key) -> Result<ObjectMeta> {
        let output = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| {
                if is_not_found(&e) {
                    not_found(key)
                } else {
                    s3_error("inspecting", key.as_str(), e)
                }
            })?;
        Ok(ObjectMeta {
            key: key.clone(),
            size: output
                .content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
            etag: output.e_tag().unwrap_or_default().to_owned(),
            modified: output.last_modified().map(|t| t.secs()),
        })
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| s3_error("deleting", key.as_str(), e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| s3_error("listing", prefix, e))?;
            for object in page.contents() {
                let Some(key) = object.key().and_then(|k| Key::parse(k).ok()) else {
                    continue;
                };
                found.push(ObjectMeta {
                    key,
                    size: object.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                    etag: object.e_tag().unwrap_or_default().to_owned(),
                    modified: object.last_modified().map(|t| t.secs()),
                });
            }
        }
        Ok(found)
    }

    async fn check(&self) -> Result<()> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| s3_error("checking bucket", &self.bucket, e))?;
        Ok(())
    }

    fn public_url(&self, key: &Key) -> Option<String> {
        self.public_url.as_ref().map(|base| format!("{base}/{key}"))
    }
}
