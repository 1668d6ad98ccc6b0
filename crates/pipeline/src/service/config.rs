//! `bucketwatch.toml`: what `bucketwatch run` reads, with its checks. Every field has a
//! default except the sources, so a minimal file names one source.
//!
//! ```toml
//! content = ["content"]
//!
//! [[sources]]
//! id = "prod-logs"
//! kind = "sqs"
//! queue_url = "https://sqs.us-east-1.amazonaws.com/111122223333/bucketwatch"
//! prefixes = { "prod-access-logs/" = "AWS.S3ServerAccess", "prod-trail/AWSLogs/" = "AWS.CloudTrail" }
//!
//! [[delivery.destinations]]
//! id = "soc"
//! kind = "webhook"
//! url = "https://hooks.example.com/bucketwatch"
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bucketwatch_alert::{ConfigError as DeliveryConfigError, DeliveryConfig};
use bucketwatch_collect::routing::{PrefixMap, PrefixMapError};
use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// The data directory (local path or s3://bucket/prefix); `--data-dir` and
    /// `BUCKETWATCH_DATA_DIR` take precedence.
    #[serde(default)]
    pub data_dir: Option<String>,
    /// Content directories (rules, policies, queries); relative paths are relative to the
    /// configuration file.
    #[serde(default = "default_content")]
    pub content: Vec<PathBuf>,
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub batch: BatchConfig,
    #[serde(default)]
    pub alerts: AlertStoreConfig,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub maintenance: MaintenanceConfig,
    /// Posture scans; absent, the service does not scan.
    #[serde(default)]
    pub scan: Option<ScanConfig>,
}

/// `[scan]`: posture scans by the service, recorded in the lake, new failures alerted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// Minutes between full scans; the first runs at start. 0: only rescans on change.
    #[serde(default = "default_scan_minutes")]
    pub interval_minutes: u64,
    /// Bucket-name globs to scan; empty scans every bucket.
    #[serde(default)]
    pub buckets: Vec<String>,
    /// Rescan a bucket when an ingested CloudTrail event shows its configuration changing.
    #[serde(default = "default_true")]
    pub rescan_on_change: bool,
    /// Buckets read at the same time.
    #[serde(default = "default_scan_concurrency")]
    pub concurrency: usize,
}

fn default_scan_minutes() -> u64 {
    24 * 60
}
fn default_scan_concurrency() -> usize {
    16
}

fn default_content() -> Vec<PathBuf> {
    vec![PathBuf::from("content")]
}

/// One `[[sources]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// `p_source_id` of its events, and its name in logs and metrics.
    pub id: String,
    /// `p_source_label` of its events.
    #[serde(default)]
    pub label: Option<String>,
    pub kind: SourceKind,
    /// sqs: the queue receiving S3 notifications (any shape).
    #[serde(default)]
    pub queue_url: Option<String>,
    /// s3: `s3://bucket/prefix` to poll.
    #[serde(default)]
    pub url: Option<String>,
    /// directory: the folder to watch.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// s3, directory: seconds between polls.
    #[serde(default = "default_poll_secs")]
    pub poll_interval_secs: u64,
    /// sqs: how long received messages stay hidden; extended while they are worked on.
    #[serde(default = "default_visibility_secs")]
    pub visibility_timeout_secs: u64,
    /// sqs: long-poll wait (at most 20).
    #[serde(default = "default_wait_secs")]
    pub wait_time_secs: u64,
    /// `"bucket/prefix" = "LogType"` (or `"auto"`); the longest matching prefix wins. With
    /// entries, objects matching none are skipped (and counted); without, every object is read
    /// and each record classified.
    #[serde(default)]
    pub prefixes: BTreeMap<String, String>,
}

fn default_poll_secs() -> u64 {
    60
}
fn default_visibility_secs() -> u64 {
    120
}
fn default_wait_secs() -> u64 {
    20
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Sqs,
    S3,
    Directory,
    Stdin,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Sqs => "sqs",
            SourceKind::S3 => "s3",
            SourceKind::Directory => "directory",
            SourceKind::Stdin => "stdin",
        }
    }
}

/// How work is grouped into lake commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Objects per batch at most: one lake commit and one acknowledgement per batch.
    #[serde(default = "default_max_objects")]
    pub max_objects: usize,
    /// Commit a large batch early once this many rows are buffered.
    #[serde(default = "default_commit_rows")]
    pub commit_rows: usize,
}

fn default_max_objects() -> usize {
    100
}
/// Lower than `bucketwatch ingest`'s (a backfill favours few large commits): a long-running
/// service's peak memory is its buffered rows, and at 50,000 the peak was half of 500,000's
/// for 5% less throughput (docs/BENCHMARKS.md, service).
fn default_commit_rows() -> usize {
    50_000
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_objects: default_max_objects(),
            commit_rows: default_commit_rows(),
        }
    }
}

/// Where alert state lives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertStoreConfig {
    /// A SQLite file; default `<data dir>/alerts.db` (or the local state directory when the
    /// lake is on S3). For one `run` process.
    #[serde(default)]
    pub sqlite_path: Option<PathBuf>,
    /// A DynamoDB table instead, shared by several `run` processes on one queue; created
    /// (on-demand capacity) when missing.
    #[serde(default)]
    pub dynamodb_table: Option<String>,
}

/// The Prometheus endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Where `/metrics` is served; loopback by default, as the figures are not for everyone.
    #[serde(default = "default_metrics_listen")]
    pub listen: SocketAddr,
    #[serde(default = "default_true")]
    pub enabled: bool,
}

fn default_metrics_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9109))
}
fn default_true() -> bool {
    true
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: default_metrics_listen(),
            enabled: true,
        }
    }
}

/// Lake upkeep and scheduled queries, run between batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceConfig {
    /// Minutes between compactions; 0 turns compaction off.
    #[serde(default = "default_compact_minutes")]
    pub compact_interval_minutes: u64,
    /// Target file size of compaction.
    #[serde(default = "default_compact_target_mib")]
    pub compact_target_mib: u64,
    /// Days of data kept; expired daily. Absent keeps everything.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// Whether scheduled queries run (each on its own schedule, checked every minute).
    #[serde(default = "default_true")]
    pub scheduled_queries: bool,
}

fn default_compact_minutes() -> u64 {
    60
}
fn default_compact_target_mib() -> u64 {
    128
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        MaintenanceConfig {
            compact_interval_minutes: default_compact_minutes(),
            compact_target_mib: default_compact_target_mib(),
            retention_days: None,
            scheduled_queries: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error(
        "no [[sources]]: name at least one source (kind = \"sqs\", \"s3\", \"directory\" or \"stdin\")"
    )]
    NoSources,
    #[error("source {id:?} ({kind}) needs `{field}`")]
    Missing {
        id: String,
        kind: &'static str,
        field: &'static str,
    },
    #[error("source {id:?} ({kind}) does not use `{field}`; remove it or change `kind`")]
    Stray {
        id: String,
        kind: &'static str,
        field: &'static str,
    },
    #[error("source id {id:?} is used twice; give each source its own id")]
    DuplicateId { id: String },
    #[error("more than one stdin source; there is one standard input")]
    TwoStdins,
    #[error("source {id:?}: {source}")]
    Prefixes {
        id: String,
        #[source]
        source: PrefixMapError,
    },
    #[error("source {id:?}: {field} must be between {min} and {max}")]
    Range {
        id: String,
        field: &'static str,
        min: u64,
        max: u64,
    },
    #[error("[batch] max_objects and commit_rows must be at least 1")]
    Batch,
    #[error(
        "[alerts] names both sqlite_path and dynamodb_table: keep sqlite_path for one process, \
         dynamodb_table for several"
    )]
    TwoAlertStores,
    #[error("[scan] concurrency must be at least 1")]
    ScanConcurrency,
    #[error(
        "[alerts] dynamodb_table {0:?} is not a DynamoDB table name (3 to 255 of a-z, A-Z, 0-9, \
         '_', '-', '.')"
    )]
    TableName(String),
    #[error(transparent)]
    Delivery(#[from] DeliveryConfigError),
}

impl ServiceConfig {
    /// Reads and checks a file; relative content paths become relative to it.
    pub fn load(path: &Path) -> Result<ServiceConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut config: ServiceConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for dir in &mut config.content {
            if dir.is_relative() {
                *dir = base.join(&*dir);
            }
        }
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.sources.is_empty() {
            return Err(ConfigError::NoSources);
        }
        let mut ids = std::collections::HashSet::new();
        for source in &self.sources {
            if !ids.insert(source.id.as_str()) {
                return Err(ConfigError::DuplicateId {
                    id: source.id.clone(),
                });
            }
            source.validate()?;
        }
        if self
            .sources
            .iter()
            .filter(|s| s.kind == SourceKind::Stdin)
            .count()
            > 1
        {
            return Err(ConfigError::TwoStdins);
        }
        if self.batch.max_objects == 0 || self.batch.commit_rows == 0 {
            return Err(ConfigError::Batch);
        }
        if let Some(table) = &self.alerts.dynamodb_table {
            if self.alerts.sqlite_path.is_some() {
                return Err(ConfigError::TwoAlertStores);
            }
            let valid = (3..=255).contains(&table.len())
                && table
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !valid {
                return Err(ConfigError::TableName(table.clone()));
            }
        }
        if let Some(scan) = &self.scan
            && scan.concurrency == 0
        {
            return Err(ConfigError::ScanConcurrency);
        }
        self.delivery.validate()?;
        Ok(())
    }
}

impl SourceConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let kind = self.kind.as_str();
        let present = [
            ("queue_url", self.queue_url.is_some()),
            ("url", self.url.is_some()),
            ("path", self.path.is_some()),
        ];
        let required: &[&'static str] = match self.kind {
            SourceKind::Sqs => &["queue_url"],
            SourceKind::S3 => &["url"],
            SourceKind::Directory => &["path"],
            SourceKind::Stdin => &[],
        };
        for (field, is_present) in present {
            let wanted = required.contains(&field);
            if wanted && !is_present {
                return Err(ConfigError::Missing {
                    id: self.id.clone(),
                    kind,
                    field,
                });
            }
            if !wanted && is_present {
                return Err(ConfigError::Stray {
                    id: self.id.clone(),
                    kind,
                    field,
                });
            }
        }
        if self.kind == SourceKind::Stdin && !self.prefixes.is_empty() {
            return Err(ConfigError::Stray {
                id: self.id.clone(),
                kind,
                field: "prefixes",
            });
        }
        let range = |field, value: u64, min, max| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::Range {
                    id: self.id.clone(),
                    field,
                    min,
                    max,
                })
            }
        };
        range("wait_time_secs", self.wait_time_secs, 0, 20)?;
        range(
            "visibility_timeout_secs",
            self.visibility_timeout_secs,
            1,
            43_200,
        )?;
        range("poll_interval_secs", self.poll_interval_secs, 1, 86_400)?;
        self.prefix_map()?;
        Ok(())
    }

    pub fn prefix_map(&self) -> Result<PrefixMap, ConfigError> {
        PrefixMap::new(&self.prefixes).map_err(|source| ConfigError::Prefixes {
            id: self.id.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServiceConfig, ConfigError> {
        let config: ServiceConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "test.toml".into(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn a_full_file_reads_with_defaults_filled_in() {
        let config = parse(
            r#"
            data_dir = "/var/lib/bucketwatch"

            [[sources]]
            id = "prod"
            label = "Production"
            kind = "sqs"
            queue_url = "https://sqs.us-east-1.amazonaws.com/111122223333/bw"
            prefixes = { "logs/" = "AWS.S3ServerAccess", "trail/AWSLogs/" = "AWS.CloudTrail" }

            [[sources]]
            id = "legacy"
            kind = "s3"
            url = "s3://legacy/access/"
            poll_interval_secs = 300

            [[sources]]
            id = "local"
            kind = "directory"
            path = "/var/log/s3"

            [maintenance]
            retention_days = 90

            [[delivery.destinations]]
            id = "soc"
            kind = "webhook"
            url = "https://hooks.example.com/x"
            "#,
        )
        .unwrap();
        assert_eq!(config.sources.len(), 3);
        assert_eq!(config.sources[0].visibility_timeout_secs, 120);
        assert_eq!(config.sources[2].poll_interval_secs, 60);
        assert_eq!(config.content, [PathBuf::from("content")]);
        assert_eq!(config.maintenance.retention_days, Some(90));
        assert_eq!(config.maintenance.compact_interval_minutes, 60);
        assert_eq!(config.delivery.destinations.len(), 1);
        assert_eq!(config.metrics.listen.to_string(), "127.0.0.1:9109");
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("", "missing field `sources`"),
            ("sources = []", "no [[sources]]"),
            (
                "[[sources]]\nid = \"a\"\nkind = \"sqs\"",
                "source \"a\" (sqs) needs `queue_url`",
            ),
            (
                "[[sources]]\nid = \"a\"\nkind = \"stdin\"\npath = \"/x\"",
                "source \"a\" (stdin) does not use `path`",
            ),
            (
                "[[sources]]\nid = \"a\"\nkind = \"stdin\"\n[[sources]]\nid = \"a\"\nkind = \"s3\"\nurl = \"s3://b\"",
                "used twice",
            ),
            (
                "[[sources]]\nid = \"a\"\nkind = \"sqs\"\nqueue_url = \"q\"\nwait_time_secs = 30",
                "wait_time_secs must be between 0 and 20",
            ),
            (
                "[[sources]]\nid = \"a\"\nkind = \"s3\"\nurl = \"s3://b\"\nprefixes = { \"b/\" = \"Nope\" }",
                "unknown log type 'Nope'",
            ),
            (
                "[[sources]]\nid = \"a\"\nkind = \"stdin\"\nqueu_url = \"q\"",
                "unknown field `queu_url`",
            ),
            (
                "[[sources]]\nid = \"a\"\nkind = \"pipe\"",
                "unknown variant `pipe`",
            ),
            (
                "[[sources]]\nid = \"a\"\nkind = \"stdin\"\n[alerts]\nsqlite_path = \"a.db\"\ndynamodb_table = \"bw\"",
                "names both sqlite_path and dynamodb_table",
            ),
            (
                "[[sources]]\nid = \"a\"\nkind = \"stdin\"\n[alerts]\ndynamodb_table = \"bw alerts\"",
                "\"bw alerts\" is not a DynamoDB table name",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn content_paths_are_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bucketwatch.toml");
        std::fs::write(
            &path,
            "content = [\"rules\", \"/abs\"]\n[[sources]]\nid = \"in\"\nkind = \"stdin\"\n",
        )
        .unwrap();
        let config = ServiceConfig::load(&path).unwrap();
        assert_eq!(
            config.content,
            [dir.path().join("rules"), PathBuf::from("/abs")]
        );
        let missing = ServiceConfig::load(&dir.path().join("nope.toml")).unwrap_err();
        assert!(
            missing.to_string().contains("nope.toml: cannot read"),
            "{missing}"
        );
    }
}
