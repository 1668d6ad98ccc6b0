//! S3 objects as inputs: list a bucket prefix, stream one object.
//!
//! Owns talking to S3 for reading logs. Uses `object_store`, the S3 client the lake's Delta
//! tables already use, so one HTTP and credential stack serves both. Credentials come from the
//! environment (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, web identity,
//! ECS and EC2 instance roles); `AWS_ENDPOINT_URL` points it at an S3-compatible endpoint such
//! as a moto server. Must not decompress or parse: callers wrap the stream with
//! [`decoded_reader`](crate::decoded_reader).

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::runtime::Handle;

#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("{url}: not an S3 location; write s3://bucket/prefix")]
    NotS3 { url: String },
    #[error("s3://{bucket}: cannot set up the S3 client: {source}")]
    Client {
        bucket: String,
        #[source]
        source: object_store::Error,
    },
    #[error("s3://{bucket}/{key} does not exist (deleted since it was announced?)")]
    NotFound { bucket: String, key: String },
    #[error(
        "reading the metadata of s3://{bucket}/{key} failed: {source}; check the region and credentials"
    )]
    Head {
        bucket: String,
        key: String,
        #[source]
        source: object_store::Error,
    },
    #[error(
        "listing s3://{bucket}/{prefix} failed: {source}; check the bucket name, region and credentials"
    )]
    List {
        bucket: String,
        prefix: String,
        #[source]
        source: object_store::Error,
    },
}

/// Settings every S3 client of bucketwatch shares: with a custom endpoint (an emulator, an
/// S3-compatible store) path-style requests, and plain HTTP only when the endpoint says so.
pub fn endpoint_options() -> Vec<(String, String)> {
    let mut options = Vec::new();
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL_S3").or_else(|_| std::env::var("AWS_ENDPOINT_URL"));
    if let Ok(endpoint) = endpoint {
        if endpoint.starts_with("http://") {
            options.push(("AWS_ALLOW_HTTP".to_string(), "true".to_string()));
        }
        options.push(("AWS_ENDPOINT_URL".to_string(), endpoint));
        options.push((
            "AWS_VIRTUAL_HOSTED_STYLE_REQUEST".to_string(),
            "false".to_string(),
        ));
    }
    options
}

/// A bucket and key prefix to ingest from.
#[derive(Clone)]
pub struct S3Prefix {
    pub bucket: String,
    pub prefix: String,
    store: Arc<dyn ObjectStore>,
}

/// One object found under a prefix.
#[derive(Clone)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for S3Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl PartialEq for S3Object {
    fn eq(&self, other: &Self) -> bool {
        (&self.bucket, &self.key, self.size, &self.etag)
            == (&other.bucket, &other.key, other.size, &other.etag)
    }
}

impl Eq for S3Object {}

impl S3Prefix {
    /// `s3://bucket` or `s3://bucket/prefix`.
    pub fn parse(url: &str) -> Result<S3Prefix, S3Error> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| S3Error::NotS3 {
            url: url.to_string(),
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(S3Error::NotS3 {
                url: url.to_string(),
            });
        }
        Ok(S3Prefix {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            store: bucket_store(bucket)?,
        })
    }

    /// Every object under the prefix in key order, without folder markers (keys ending in `/`)
    /// and empty objects, which hold no records.
    pub async fn list(&self) -> Result<Vec<S3Object>, S3Error> {
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        let metas: Vec<_> = self
            .store
            .list(prefix.as_ref())
            .try_collect()
            .await
            .map_err(|source| S3Error::List {
                bucket: self.bucket.clone(),
                prefix: self.prefix.clone(),
                source,
            })?;
        let mut objects: Vec<S3Object> = metas
            .into_iter()
            .filter(|m| m.size > 0 && !m.location.as_ref().ends_with('/'))
            // `Path` normalizes away a leading or doubled `/`, so a prefix match is rechecked.
            .filter(|m| {
                m.location
                    .as_ref()
                    .starts_with(self.prefix.trim_start_matches('/'))
            })
            .map(|m| S3Object {
                bucket: self.bucket.clone(),
                key: m.location.to_string(),
                size: m.size,
                etag: m.e_tag,
                store: Arc::clone(&self.store),
            })
            .collect();
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }
}

fn bucket_store(bucket: &str) -> Result<Arc<dyn ObjectStore>, S3Error> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    for (key, value) in endpoint_options() {
        if let Ok(key) = key.to_ascii_lowercase().parse() {
            builder = builder.with_config(key, value);
        }
    }
    let store = builder.build().map_err(|source| S3Error::Client {
        bucket: bucket.to_string(),
        source,
    })?;
    Ok(Arc::new(store))
}

/// S3 clients by bucket, for objects named one at a time (by notifications).
#[derive(Default)]
pub struct S3Buckets {
    stores: HashMap<String, Arc<dyn ObjectStore>>,
}

impl S3Buckets {
    /// The object's current size and ETag: what identifies this version of it.
    pub async fn head(&mut self, bucket: &str, key: &str) -> Result<S3Object, S3Error> {
        let store = match self.stores.get(bucket) {
            Some(store) => Arc::clone(store),
            None => {
                let store = bucket_store(bucket)?;
                self.stores.insert(bucket.to_string(), Arc::clone(&store));
                store
            }
        };
        let meta = store
            .head(&Path::from(key))
            .await
            .map_err(|source| match source {
                object_store::Error::NotFound { .. } => S3Error::NotFound {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                },
                source => S3Error::Head {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                    source,
                },
            })?;
        Ok(S3Object {
            bucket: bucket.to_string(),
            key: key.to_string(),
            size: meta.size,
            etag: meta.e_tag,
            store,
        })
    }
}

impl S3Object {
    /// `s3://bucket/key`, for messages and `p_source_object`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Streams the object. `handle` runs the requests; call from outside that runtime's
    /// worker threads (the read blocks on it).
    pub fn open(&self, handle: &Handle) -> io::Result<Box<dyn Read + Send>> {
        let path = Path::from(self.key.as_str());
        let result = handle
            .block_on(self.store.get(&path))
            .map_err(|e| io::Error::other(format!("{}: {e}", self.url())))?;
        Ok(Box::new(StreamReader {
            stream: result.into_stream(),
            current: Bytes::new(),
            handle: handle.clone(),
            url: self.url(),
        }))
    }
}

/// A blocking reader over the object's byte stream: memory stays at one network chunk.
struct StreamReader {
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    current: Bytes,
    handle: Handle,
    url: String,
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(io::Error::other(format!("{}: {e}", self.url))),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_split_into_bucket_and_prefix() {
        let p = S3Prefix::parse("s3://logs-bucket/AWSLogs/123456789012/").unwrap();
        assert_eq!(
            (p.bucket.as_str(), p.prefix.as_str()),
            ("logs-bucket", "AWSLogs/123456789012/")
        );
        let p = S3Prefix::parse("s3://logs-bucket").unwrap();
        assert_eq!(p.prefix, "");
        assert!(S3Prefix::parse("/local/path").is_err());
        assert!(S3Prefix::parse("s3:///key").is_err());
    }
}
