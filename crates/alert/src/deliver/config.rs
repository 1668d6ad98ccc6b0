//! Delivery configuration as it appears in `bucketwatch.toml`: the `[[destinations]]` array and
//! the `[delivery]` knobs, with their checks. Holds no secret: secrets are named by environment
//! variable and read when the deliverer is built.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::Severity;
use crate::outbox::{Route, Routes};

/// Everything the deliverer needs. Every field has a default, so `[delivery]` may be absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    #[serde(default)]
    pub destinations: Vec<DestinationConfig>,
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Sends in flight at once, across destinations.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Deliveries claimed from the outbox per round.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How long one HTTP request or SNS publish may take before it counts as failed (retried).
    #[serde(default = "default_timeout_secs")]
    pub request_timeout_secs: u64,
    /// How often [`Deliverer::run`](super::Deliverer::run) looks for due deliveries.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Base URL of the web console; alerts then carry a `link` to `<console_url>/alerts/<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_url: Option<String>,
}

fn default_concurrency() -> usize {
    16
}
fn default_batch_size() -> usize {
    256
}
fn default_timeout_secs() -> u64 {
    10
}
fn default_poll_interval_ms() -> u64 {
    1000
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            destinations: Vec::new(),
            retry: RetryPolicy::default(),
            concurrency: default_concurrency(),
            batch_size: default_batch_size(),
            request_timeout_secs: default_timeout_secs(),
            poll_interval_ms: default_poll_interval_ms(),
            console_url: None,
        }
    }
}

impl DeliveryConfig {
    /// The routing table for [`SqliteAlertStore::with_routes`](crate::SqliteAlertStore::with_routes).
    /// Give the store the same configuration as the deliverer.
    pub fn routes(&self) -> Routes {
        Routes::new(
            self.destinations
                .iter()
                .map(|d| Route {
                    destination_id: d.id.clone(),
                    min_severity: d.min_severity,
                    log_types: d.log_types.clone(),
                    rule_ids: d.rule_ids.clone(),
                })
                .collect(),
        )
    }

    /// Checks what can be checked without the environment: ids, required fields per kind,
    /// limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.concurrency == 0 || self.batch_size == 0 {
            return Err(ConfigError::Zero {
                field: if self.concurrency == 0 {
                    "concurrency"
                } else {
                    "batch_size"
                },
            });
        }
        self.retry.validate()?;
        let mut seen = std::collections::HashSet::new();
        for d in &self.destinations {
            if d.id.is_empty()
                || !d
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err(ConfigError::BadId { id: d.id.clone() });
            }
            if !seen.insert(d.id.as_str()) {
                return Err(ConfigError::DuplicateId { id: d.id.clone() });
            }
            d.check_fields()?;
        }
        Ok(())
    }
}

/// One `[[destinations]]` entry.
///
/// ```toml
/// [[destinations]]
/// id = "soc-webhook"
/// kind = "webhook"
/// url = "https://hooks.example.com/bucketwatch"
/// secret_env = "BUCKETWATCH_WEBHOOK_SECRET"
/// headers = { "X-Team" = "security" }
/// min_severity = "MEDIUM"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationConfig {
    /// What rules name in `destinations()` and what the delivery log shows: letters, digits,
    /// `-`, `_`, `.`.
    pub id: String,
    pub kind: DestinationKind,
    /// webhook, slack: where to POST. Prefer `url_env` for Slack, whose URL is its secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// webhook, slack: the environment variable holding the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// webhook: the environment variable holding the HMAC-SHA256 signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// webhook: extra request headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// sns: the topic to publish to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_arn: Option<String>,
    /// file: the JSON-lines file to append to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Routing filters, applied when the rule's `destinations()` did not choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_ids: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationKind {
    /// POST the alert as JSON, optionally signed.
    Webhook,
    /// A Slack incoming webhook: a readable message.
    Slack,
    /// Publish the alert JSON to an SNS topic.
    Sns,
    /// Append the alert JSON as one line to a file.
    File,
    /// Write the alert JSON as one line to standard output.
    Stdout,
}

impl DestinationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::Webhook => "webhook",
            DestinationKind::Slack => "slack",
            DestinationKind::Sns => "sns",
            DestinationKind::File => "file",
            DestinationKind::Stdout => "stdout",
        }
    }
}

impl DestinationConfig {
    fn check_fields(&self) -> Result<(), ConfigError> {
        let kind = self.kind;
        let present = [
            ("url", self.url.is_some() || self.url_env.is_some()),
            ("secret_env", self.secret_env.is_some()),
            ("headers", !self.headers.is_empty()),
            ("topic_arn", self.topic_arn.is_some()),
            ("path", self.path.is_some()),
        ];
        let (required, allowed): (&[&str], &[&str]) = match kind {
            DestinationKind::Webhook => (&["url"], &["url", "secret_env", "headers"]),
            DestinationKind::Slack => (&["url"], &["url"]),
            DestinationKind::Sns => (&["topic_arn"], &["topic_arn"]),
            DestinationKind::File => (&["path"], &["path"]),
            DestinationKind::Stdout => (&[], &[]),
        };
        for (field, is_set) in present {
            if is_set && !allowed.contains(&field) {
                return Err(ConfigError::FieldNotAllowed {
                    id: self.id.clone(),
                    kind: kind.as_str(),
                    field,
                });
            }
            if !is_set && required.contains(&field) {
                return Err(ConfigError::MissingField {
                    id: self.id.clone(),
                    kind: kind.as_str(),
                    field: if field == "url" {
                        "url or url_env"
                    } else {
                        field
                    },
                });
            }
        }
        if self.url.is_some() && self.url_env.is_some() {
            return Err(ConfigError::BothUrlForms {
                id: self.id.clone(),
            });
        }
        Ok(())
    }
}

/// Exponential backoff with jitter, and when to give up.
///
/// Attempt `n` (1-based) that fails is retried after `min(base · 2^(n-1), max)` scaled by a
/// jitter factor in [0.5, 1), derived from the delivery id and `n` so that runs are
/// reproducible while deliveries that failed together spread out. A `Retry-After` from the
/// destination lengthens the wait (up to `max_retry_after_secs`). A delivery is failed for good
/// after `max_attempts` attempts or once it is older than `max_age_secs`; until then a
/// destination that is down keeps it pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    pub base_delay_secs: u64,
    pub max_delay_secs: u64,
    pub max_attempts: u32,
    pub max_age_secs: u64,
    pub max_retry_after_secs: u64,
}

impl Default for RetryPolicy {
    /// 10 s doubling to 30 min; up to 60 attempts or 48 h (about 26 h of attempts at the cap):
    /// a destination may be down overnight without losing an alert.
    fn default() -> Self {
        RetryPolicy {
            base_delay_secs: 10,
            max_delay_secs: 1800,
            max_attempts: 60,
            max_age_secs: 48 * 3600,
            max_retry_after_secs: 3600,
        }
    }
}

impl RetryPolicy {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.base_delay_secs == 0 {
            return Err(ConfigError::Zero {
                field: "retry.base_delay_secs",
            });
        }
        if self.max_attempts == 0 {
            return Err(ConfigError::Zero {
                field: "retry.max_attempts",
            });
        }
        if self.max_delay_secs < self.base_delay_secs {
            return Err(ConfigError::MaxBelowBase);
        }
        Ok(())
    }

    /// The wait after failed attempt `attempt` (1-based) of `delivery_id`, before Retry-After.
    pub fn backoff(&self, delivery_id: &str, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(32);
        let full = self
            .base_delay_secs
            .saturating_mul(1u64 << exponent)
            .min(self.max_delay_secs);
        let full = Duration::from_secs(full);
        // FNV-1a of id and attempt: cheap, stable across builds and platforms.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in delivery_id.bytes().chain(attempt.to_le_bytes()) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        let fraction = (hash >> 11) as f64 / (1u64 << 53) as f64;
        full.mul_f64(0.5 + fraction / 2.0)
    }
}

/// A configuration the deliverer cannot run with. Messages name the destination and field;
/// they never contain a URL or secret value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error(
        "destination id {id:?} is not usable: use letters, digits, '-', '_' or '.' (it appears \
         in delivery ids and rules' destinations())"
    )]
    BadId { id: String },
    #[error(
        "destination id {id:?} is configured twice; give each [[destinations]] entry its own id"
    )]
    DuplicateId { id: String },
    #[error("destination {id:?} ({kind}) needs `{field}`")]
    MissingField {
        id: String,
        kind: &'static str,
        field: &'static str,
    },
    #[error("destination {id:?} ({kind}) does not use `{field}`; remove it or change `kind`")]
    FieldNotAllowed {
        id: String,
        kind: &'static str,
        field: &'static str,
    },
    #[error("destination {id:?} sets both `url` and `url_env`; keep one")]
    BothUrlForms { id: String },
    #[error(
        "destination {id:?}: environment variable {var} ({what}) is not set or not UTF-8; set \
         it in the service's environment"
    )]
    MissingEnv {
        id: String,
        var: String,
        what: &'static str,
    },
    #[error("destination {id:?}: the URL is not a valid http(s) URL ({reason})")]
    BadUrl { id: String, reason: String },
    #[error("destination {id:?}: header {name:?} is not a valid HTTP header name or value")]
    BadHeader { id: String, name: String },
    #[error("cannot build the HTTP client for webhook and Slack destinations: {reason}")]
    HttpClient { reason: String },
    #[error("delivery setting `{field}` must be greater than 0")]
    Zero { field: &'static str },
    #[error("retry.max_delay_secs must be at least retry.base_delay_secs")]
    MaxBelowBase,
}
