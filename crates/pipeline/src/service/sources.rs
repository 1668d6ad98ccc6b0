//! The service's sources: each turns what it watches into batches for the worker and
//! acknowledges only what the worker committed.
//!
//! - **sqs**: notifications of every shape ([`classify`]); a message is deleted once all its
//!   objects are in the lake (or were already), kept hidden while they are worked on, and left
//!   for redelivery (then the queue's dead-letter queue) when they fail.
//! - **s3**: a prefix listed every poll interval; objects not yet in the ledger are read.
//! - **directory**: a folder scanned every poll interval; files are read once they have not
//!   changed for a few seconds.
//! - **stdin**: read once to its end.
//!
//! Owns when to read and when to acknowledge. Must not parse, detect or write: that is the
//! worker's [`IngestJob`](crate::IngestJob).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bucketwatch_collect::notification::{Notice, ObjectRef, classify};
use bucketwatch_collect::routing::{PrefixMap, Route};
use bucketwatch_collect::sqs::{Message, Queue};
use bucketwatch_collect::{S3Buckets, S3Error, S3Prefix};
use bucketwatch_core::{LogType, SourceInfo};
use tokio::sync::{mpsc, oneshot, watch};

use super::config::{ServiceConfig, SourceConfig, SourceKind};
use super::metrics::Metrics;
use super::{Batch, BatchOutcome, Work};
use crate::ingest_job::{IngestItem, Source};

/// Files younger than this are still being written, as far as the folder source knows.
const SETTLE: Duration = Duration::from_secs(2);
/// How long a source waits after its backend failed before trying again.
const RETRY_PAUSE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source {id:?}: {source}")]
    S3 {
        id: String,
        #[source]
        source: Box<S3Error>,
    },
    #[error("source {id:?}: an SQS source needs AWS configuration")]
    NoAws { id: String },
}

/// A configured source, ready to run.
pub(super) struct BuiltSource {
    id: String,
    info: SourceInfo,
    prefixes: PrefixMap,
    kind: Kind,
}

enum Kind {
    Sqs {
        queue: Queue,
        sns: Box<aws_config::SdkConfig>,
        wait: Duration,
        visibility: Duration,
    },
    S3 {
        prefix: S3Prefix,
        interval: Duration,
    },
    Directory {
        path: PathBuf,
        interval: Duration,
    },
    Stdin,
}

pub(super) fn build(
    config: &ServiceConfig,
    aws: Option<&aws_config::SdkConfig>,
) -> Result<Vec<BuiltSource>, SourceError> {
    config.sources.iter().map(|s| build_one(s, aws)).collect()
}

fn build_one(
    source: &SourceConfig,
    aws: Option<&aws_config::SdkConfig>,
) -> Result<BuiltSource, SourceError> {
    let id = source.id.clone();
    let interval = Duration::from_secs(source.poll_interval_secs);
    let kind = match source.kind {
        SourceKind::Sqs => {
            let aws = aws.ok_or_else(|| SourceError::NoAws { id: id.clone() })?;
            Kind::Sqs {
                queue: Queue::new(aws, source.queue_url.clone().unwrap_or_default()),
                sns: Box::new(aws.clone()),
                wait: Duration::from_secs(source.wait_time_secs),
                visibility: Duration::from_secs(source.visibility_timeout_secs),
            }
        }
        SourceKind::S3 => Kind::S3 {
            prefix: S3Prefix::parse(source.url.as_deref().unwrap_or_default()).map_err(
                |source| SourceError::S3 {
                    id: id.clone(),
                    source: Box::new(source),
                },
            )?,
            interval,
        },
        SourceKind::Directory => Kind::Directory {
            path: source.path.clone().unwrap_or_default(),
            interval,
        },
        SourceKind::Stdin => Kind::Stdin,
    };
    Ok(BuiltSource {
        info: SourceInfo::new(Some(id.clone()), source.label.clone(), None),
        prefixes: source
            .prefix_map()
            .expect("the configuration was validated"),
        id,
        kind,
    })
}

impl BuiltSource {
    pub(super) async fn run(
        self,
        work: mpsc::Sender<Work>,
        shutdown: watch::Receiver<bool>,
        metrics: Arc<Metrics>,
        max_objects: usize,
    ) {
        let id = self.id.clone();
        let ctx = Context {
            id: self.id,
            info: self.info,
            prefixes: self.prefixes,
            work,
            shutdown,
            metrics,
            max_objects,
        };
        match self.kind {
            Kind::Sqs {
                queue,
                sns,
                wait,
                visibility,
            } => ctx.run_sqs(queue, *sns, wait, visibility).await,
            Kind::S3 { prefix, interval } => ctx.run_s3(prefix, interval).await,
            Kind::Directory { path, interval } => ctx.run_directory(&path, interval).await,
            Kind::Stdin => {
                let item = ctx.item(Source::Stdin, None);
                if let Some(outcome) = ctx.submit(vec![item]).await
                    && let Some(Some(e)) = outcome.failures.first()
                {
                    tracing::error!("source {}: stdin: {e}", ctx.id);
                }
            }
        }
        tracing::info!("source {id} stopped");
    }
}

/// What every source loop shares.
struct Context {
    id: String,
    info: SourceInfo,
    prefixes: PrefixMap,
    work: mpsc::Sender<Work>,
    shutdown: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
    max_objects: usize,
}

impl Context {
    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Sleeps `pause`, or less when shutdown comes first. Returns whether to go on.
    async fn pause(&mut self, pause: Duration) -> bool {
        let slept = tokio::select! {
            _ = tokio::time::sleep(pause) => true,
            _ = self.shutdown.wait_for(|stopped| *stopped) => false,
        };
        slept && !self.stopping()
    }

    /// Where an object's records go: `None` when the source has prefixes and none matches.
    fn route(&self, bucket: &str, key: &str) -> Option<Option<LogType>> {
        if self.prefixes.is_empty() {
            return Some(None);
        }
        match self.prefixes.route(bucket, key)? {
            Route::LogType(t) => Some(Some(t)),
            Route::Classify => Some(None),
        }
    }

    fn item(&self, source: Source, log_type: Option<LogType>) -> IngestItem {
        IngestItem {
            source,
            log_type,
            info: self.info.clone(),
        }
    }

    /// Hands a batch to the worker and waits for its outcome, even during shutdown: a batch
    /// sent is a batch finished. `None` when the worker is gone.
    async fn submit(&self, items: Vec<IngestItem>) -> Option<BatchOutcome> {
        let (done, outcome) = oneshot::channel();
        self.work
            .send(Work::Batch(Batch { items, done }))
            .await
            .ok()?;
        outcome.await.ok()
    }

    async fn run_sqs(
        mut self,
        queue: Queue,
        sns: aws_config::SdkConfig,
        wait: Duration,
        visibility: Duration,
    ) {
        let mut buckets = S3Buckets::default();
        let mut last_backlog = std::time::Instant::now() - Duration::from_secs(60);
        while !self.stopping() {
            if last_backlog.elapsed() >= Duration::from_secs(15) {
                last_backlog = std::time::Instant::now();
                match queue.backlog().await {
                    Ok(n) => self.metrics.queue_backlog(&self.id, n),
                    Err(e) => tracing::warn!("source {}: {e}", self.id),
                }
            }
            let received = tokio::select! {
                r = queue.receive(self.max_objects, wait, visibility) => r,
                _ = self.shutdown.wait_for(|stopped| *stopped) => break,
            };
            let mut messages = match received {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!("source {}: {e}", self.id);
                    if !self.pause(RETRY_PAUSE).await {
                        break;
                    }
                    continue;
                }
            };
            if messages.is_empty() {
                continue;
            }
            // A full receive means more are waiting: gather them into the same commit.
            let mut last = messages.len();
            while last == bucketwatch_collect::sqs::MAX_BATCH && messages.len() < self.max_objects {
                match queue
                    .receive(
                        self.max_objects - messages.len(),
                        Duration::ZERO,
                        visibility,
                    )
                    .await
                {
                    Ok(more) => {
                        last = more.len();
                        messages.extend(more);
                    }
                    Err(_) => break,
                }
            }
            self.batch_of_messages(&queue, &sns, &mut buckets, messages, visibility)
                .await;
        }
    }

    async fn batch_of_messages(
        &self,
        queue: &Queue,
        sns: &aws_config::SdkConfig,
        buckets: &mut S3Buckets,
        messages: Vec<Message>,
        visibility: Duration,
    ) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        if let Some(oldest) = messages.iter().filter_map(|m| m.sent_at_ms).min() {
            self.metrics
                .queue_lag(&self.id, (now_ms - oldest).max(0) as f64 / 1000.0);
        }
        let handles: Vec<String> = messages.iter().map(|m| m.receipt_handle.clone()).collect();
        let heartbeat = {
            let queue = queue.clone();
            let id = self.id.clone();
            tokio::spawn(async move {
                let every = visibility / 2;
                loop {
                    tokio::time::sleep(every).await;
                    let refs: Vec<&str> = handles.iter().map(String::as_str).collect();
                    if let Err(e) = queue.extend(&refs, visibility).await {
                        tracing::warn!("source {id}: extending visibility: {e}");
                    }
                }
            })
        };

        // Per message: the items it announced, or why it cannot be handled now.
        let mut items = Vec::new();
        let mut plans: Vec<Result<Vec<usize>, String>> = Vec::with_capacity(messages.len());
        for message in &messages {
            let plan = match classify(&message.body) {
                Ok(Notice::Ignore(why)) => {
                    tracing::debug!("source {}: message {}: {why}", self.id, message.message_id);
                    self.metrics.message(&self.id, "ignored");
                    Ok(Vec::new())
                }
                Ok(Notice::ConfirmSubscription { topic_arn, token }) => {
                    confirm_subscription(sns, &topic_arn, &token)
                        .await
                        .map(|()| {
                            tracing::info!(
                                "source {}: confirmed the SNS subscription to {topic_arn}",
                                self.id
                            );
                            Vec::new()
                        })
                }
                Ok(Notice::Objects { objects, .. }) => {
                    self.plan_objects(buckets, objects, &mut items).await
                }
                Err(e) => {
                    self.metrics.message(&self.id, "unrecognized");
                    Err(e.to_string())
                }
            };
            plans.push(plan);
        }
        let outcome = if items.is_empty() {
            Some(BatchOutcome {
                failures: Vec::new(),
            })
        } else {
            self.submit(items).await
        };
        heartbeat.abort();
        let Some(outcome) = outcome else {
            // The worker is gone (the service is stopping after a failure): nothing was
            // committed, so nothing is acknowledged.
            return;
        };
        let failed_items = outcome.failures.iter().filter(|f| f.is_some()).count() as u64;
        self.metrics.object(&self.id, "failed", failed_items);
        self.metrics.object(
            &self.id,
            "ingested",
            outcome.failures.len() as u64 - failed_items,
        );
        let mut acknowledged = Vec::new();
        for (message, plan) in messages.iter().zip(plans) {
            let failure = match plan {
                Err(e) => Some(e),
                Ok(indices) => indices
                    .iter()
                    .filter_map(|&i| outcome.failures.get(i).cloned().flatten())
                    .reduce(|a, b| format!("{a}; {b}")),
            };
            match failure {
                None => acknowledged.push(message.receipt_handle.as_str()),
                Some(e) => {
                    self.metrics.message(&self.id, "failed");
                    tracing::error!(
                        "source {}: message {} (received {} times) not acknowledged: {e}; it comes back after its visibility timeout and goes to the queue's dead-letter queue after maxReceiveCount receives",
                        self.id,
                        message.message_id,
                        message.receive_count
                    );
                }
            }
        }
        if !acknowledged.is_empty() {
            match queue.delete(&acknowledged).await {
                Ok(()) => {
                    for _ in &acknowledged {
                        self.metrics.message(&self.id, "acknowledged");
                    }
                }
                // Committed but not deleted: the redelivery finds the objects in the ledger.
                Err(e) => tracing::warn!("source {}: {e}", self.id),
            }
        }
    }

    /// Resolves a notification's objects (size and ETag identify the version read) into items.
    async fn plan_objects(
        &self,
        buckets: &mut S3Buckets,
        objects: Vec<ObjectRef>,
        items: &mut Vec<IngestItem>,
    ) -> Result<Vec<usize>, String> {
        let mut indices = Vec::new();
        for object in objects {
            let Some(log_type) = self.route(&object.bucket, &object.key) else {
                self.metrics.object(&self.id, "unrouted", 1);
                tracing::debug!(
                    "source {}: s3://{}/{} matches no prefix; skipped",
                    self.id,
                    object.bucket,
                    object.key
                );
                continue;
            };
            let head = match buckets.head(&object.bucket, &object.key).await {
                Err(S3Error::NotFound { .. }) if object.alternate_key.is_some() => {
                    let alternate = object.alternate_key.as_deref().unwrap_or_default();
                    buckets.head(&object.bucket, alternate).await
                }
                other => other,
            };
            match head {
                Ok(found) if found.size == 0 => continue,
                Ok(found) => {
                    indices.push(items.len());
                    items.push(self.item(Source::S3(found), log_type));
                }
                Err(e) => {
                    self.metrics.object(&self.id, "failed", 1);
                    return Err(e.to_string());
                }
            }
        }
        Ok(indices)
    }

    async fn run_s3(mut self, prefix: S3Prefix, interval: Duration) {
        let mut done: HashSet<String> = HashSet::new();
        loop {
            match prefix.list().await {
                Err(e) => tracing::error!("source {}: {e}", self.id),
                Ok(objects) => {
                    let items: Vec<IngestItem> = objects
                        .into_iter()
                        .filter(|o| !done.contains(&version_of(&o.key, o.etag.as_deref(), o.size)))
                        .filter_map(|o| {
                            let log_type = self.route(&o.bucket, &o.key);
                            if log_type.is_none() {
                                self.metrics.object(&self.id, "unrouted", 1);
                            }
                            Some(self.item(Source::S3(o), log_type?))
                        })
                        .collect();
                    let versions = |batch: &[IngestItem]| -> Vec<String> {
                        batch
                            .iter()
                            .map(|i| match &i.source {
                                Source::S3(o) => version_of(&o.key, o.etag.as_deref(), o.size),
                                _ => String::new(),
                            })
                            .collect()
                    };
                    if !self.run_batches(items, versions, &mut done).await {
                        return;
                    }
                }
            }
            if !self.pause(interval).await {
                return;
            }
        }
    }

    async fn run_directory(mut self, root: &Path, interval: Duration) {
        let mut done: HashSet<String> = HashSet::new();
        loop {
            let items = self.settled_files(root, &done);
            let versions = |batch: &[IngestItem]| -> Vec<String> {
                batch
                    .iter()
                    .map(|i| match &i.source {
                        Source::File(p) => file_version(p).unwrap_or_default(),
                        _ => String::new(),
                    })
                    .collect()
            };
            if !self.run_batches(items, versions, &mut done).await {
                return;
            }
            if !self.pause(interval).await {
                return;
            }
        }
    }

    /// Files under `root` not seen yet and not modified for [`SETTLE`], in name order; the
    /// first path component is the "bucket" of the source's prefixes.
    fn settled_files(&self, root: &Path, done: &HashSet<String>) -> Vec<IngestItem> {
        let mut items = Vec::new();
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!("source {}: {e}", self.id);
                    continue;
                }
            };
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !entry.file_type().is_file() || hidden {
                continue;
            }
            let path = entry.path();
            let Some(version) = file_version(path) else {
                continue;
            };
            let young = path
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age < SETTLE);
            if done.contains(&version) || young {
                continue;
            }
            let relative = path
                .strip_prefix(root)
                .unwrap_or(path)
                .to_string_lossy()
                .replace('\\', "/");
            let (first, rest) = relative.split_once('/').unwrap_or(("", &relative));
            let Some(log_type) = self.route(first, rest) else {
                continue;
            };
            items.push(self.item(Source::File(path.to_path_buf()), log_type));
        }
        items
    }

    /// Submits `items` in batches of `max_objects`, remembering what committed. Returns false
    /// when the service is stopping.
    async fn run_batches(
        &mut self,
        items: Vec<IngestItem>,
        versions: impl Fn(&[IngestItem]) -> Vec<String>,
        done: &mut HashSet<String>,
    ) -> bool {
        let mut rest = items;
        while !rest.is_empty() {
            if self.stopping() {
                return false;
            }
            let tail = rest.split_off(rest.len().min(self.max_objects));
            let batch = std::mem::replace(&mut rest, tail);
            let names = versions(&batch);
            let Some(outcome) = self.submit(batch).await else {
                return false;
            };
            for (name, failure) in names.into_iter().zip(outcome.failures) {
                match failure {
                    None => {
                        self.metrics.object(&self.id, "ingested", 1);
                        done.insert(name);
                    }
                    Some(e) => {
                        self.metrics.object(&self.id, "failed", 1);
                        tracing::error!("source {}: {e}; retried at the next poll", self.id);
                    }
                }
            }
        }
        !self.stopping()
    }
}

fn version_of(key: &str, etag: Option<&str>, size: u64) -> String {
    format!("{key}?etag={}&size={size}", etag.unwrap_or_default())
}

fn file_version(path: &Path) -> Option<String> {
    let meta = path.metadata().ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!(
        "{}?size={}&mtime={mtime}",
        path.display(),
        meta.len()
    ))
}

/// Confirms a subscription in the topic's own region, as SNS requires.
async fn confirm_subscription(
    aws: &aws_config::SdkConfig,
    topic_arn: &str,
    token: &str,
) -> Result<(), String> {
    let region = topic_arn.split(':').nth(3).unwrap_or_default().to_string();
    let config = aws_sdk_sns::config::Builder::from(aws)
        .region(aws_sdk_sns::config::Region::new(region))
        .build();
    aws_sdk_sns::Client::from_conf(config)
        .confirm_subscription()
        .topic_arn(topic_arn)
        .token(token)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "confirming the SNS subscription to {topic_arn} failed: {}; confirm it in the SNS console or check sns:ConfirmSubscription permissions",
                aws_sdk_sns::error::DisplayErrorContext(e)
            )
        })
}
