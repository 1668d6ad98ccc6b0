//! The values that cross this crate's boundary: what detection hands in ([`RuleResult`]) and
//! what gets delivered and listed ([`Alert`], [`AlertSummary`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use bucketwatch_core::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Dedup window used when a rule's `DedupPeriodMinutes` is absent or 0, as in Panther.
pub const DEFAULT_DEDUP_PERIOD_MINUTES: u32 = 60;

/// At most this many matched events are kept with an alert: enough to triage from, bounded so
/// a noisy window cannot grow a row without limit.
pub const MAX_SAMPLE_EVENTS: usize = 10;

/// Alert severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The upper-case name Panther's alerts carry (`INFO` … `CRITICAL`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// 0 (Info) to 4 (Critical); how the store keeps it so "at least High" is one comparison.
    pub(crate) fn rank(self) -> i64 {
        self as i64
    }

    pub(crate) fn from_rank(rank: i64) -> Option<Severity> {
        usize::try_from(rank)
            .ok()
            .and_then(|i| Severity::ALL.get(i).copied())
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is none of Info, Low, Medium, High, Critical in any letter case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {input:?}; expected one of Info, Low, Medium, High, Critical")]
pub struct ParseSeverityError {
    pub input: String,
}

impl FromStr for Severity {
    type Err = ParseSeverityError;

    /// Case-insensitive: YAML specs write `High`, `severity()` functions return `HIGH`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseSeverityError {
                input: s.to_owned(),
            })
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Whether a rule matched or raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResultKind {
    Match,
    /// `rule()` (or the rule's import) raised: a `RULE_ERROR` alert, never thresholded.
    Error {
        /// The exception class name, e.g. `KeyError`.
        error_type: String,
        /// The message with the `file, line N, in rule` location of the last frame.
        message: String,
    },
}

/// One rule's verdict on one event: a match or a rule error, with everything the alert it may
/// open needs. Built by detection; the fields mirror the rule's spec and its optional functions
/// after their fallbacks (panther-compat.md §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    pub rule_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_version: Option<String>,
    pub log_type: String,
    /// What stays constant for an alert: `dedup()`, `GroupBy`, or their fallbacks; for an error
    /// the exception class name.
    pub dedup: String,
    /// `unique()`: when present, the threshold counts distinct values instead of matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique: Option<String>,
    pub title: String,
    pub severity: Severity,
    /// As stored in the spec; 0 means [`DEFAULT_DEDUP_PERIOD_MINUTES`].
    #[serde(default)]
    pub dedup_period_minutes: u32,
    /// As stored in the spec; 0 means 1.
    #[serde(default)]
    pub threshold: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_context: Option<Value>,
    // The spec's texts are the same for every match of a rule: shared, not copied per match
    // (they were a tenth of a rules-on ingest's heap). Serialized as plain strings and lists.
    #[serde(default)]
    pub description: Arc<str>,
    #[serde(default)]
    pub runbook: Arc<str>,
    #[serde(default)]
    pub reference: Arc<str>,
    #[serde(default)]
    pub tags: Arc<[String]>,
    #[serde(default)]
    pub reports: Arc<BTreeMap<String, Vec<String>>>,
    /// `destinations()`: `None` sends to the configured outputs, an empty list nowhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destinations: Option<Vec<String>>,
    pub kind: ResultKind,
    /// The event as the rule saw it, kept as a sample on the alert; shared with the caller, not
    /// copied per match.
    pub event: Arc<Value>,
    /// `p_event_time`. Carried for the rule_matches rows; grouping never reads it, because
    /// windows are measured in processing time.
    #[serde(with = "timestamp_text")]
    pub event_time: Timestamp,
}

impl RuleResult {
    pub fn is_error(&self) -> bool {
        matches!(self.kind, ResultKind::Error { .. })
    }

    /// The dedup period in minutes after the "0 means default" rule.
    pub fn effective_dedup_period_minutes(&self) -> u32 {
        match self.dedup_period_minutes {
            0 => DEFAULT_DEDUP_PERIOD_MINUTES,
            n => n,
        }
    }

    /// The threshold after the "0 means 1" rule; always 1 for errors, which are never held back.
    pub fn effective_threshold(&self) -> u32 {
        if self.is_error() {
            1
        } else {
            self.threshold.max(1)
        }
    }
}

/// Panther's alert type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlertKind {
    #[serde(rename = "RULE")]
    Rule,
    #[serde(rename = "RULE_ERROR")]
    RuleError,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Rule => "RULE",
            AlertKind::RuleError => "RULE_ERROR",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<AlertKind> {
        [AlertKind::Rule, AlertKind::RuleError]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// The exception behind a `RULE_ERROR` alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleErrorInfo {
    pub error_type: String,
    pub message: String,
}

/// The descriptive part of an alert, taken from the first result of its window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_version: Option<String>,
    pub description: String,
    pub runbook: String,
    pub reference: String,
    pub tags: Vec<String>,
    pub reports: BTreeMap<String, Vec<String>>,
    /// `None`: the configured outputs; an empty list: nowhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destinations: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RuleErrorInfo>,
}

/// An alert as delivered and as `get_alert` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `md5_hex("<RuleID>:<alertCount>:<dedup>")`, `:error` appended to the dedup for errors.
    pub alert_id: String,
    pub kind: AlertKind,
    pub rule_id: String,
    /// The dedup string as the rule produced it (without `:error`).
    pub dedup: String,
    pub title: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    #[serde(flatten)]
    pub details: AlertDetails,
    /// Every log type that contributed to the window, sorted.
    pub log_types: Vec<String>,
    /// The moment the threshold was reached (processing time).
    #[serde(with = "timestamp_text")]
    pub creation_time: Timestamp,
    /// The last batch that added to the alert.
    #[serde(with = "timestamp_text")]
    pub update_time: Timestamp,
    /// Results in the window, including those before the threshold was reached.
    pub event_count: u64,
    /// The window's first [`MAX_SAMPLE_EVENTS`] events.
    pub samples: Vec<Value>,
}

/// An alert without its context and samples: one row of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSummary {
    pub alert_id: String,
    pub kind: AlertKind,
    pub rule_id: String,
    pub dedup: String,
    pub title: String,
    pub severity: Severity,
    #[serde(with = "timestamp_text")]
    pub creation_time: Timestamp,
    #[serde(with = "timestamp_text")]
    pub update_time: Timestamp,
    pub event_count: u64,
}

/// Timestamps in JSON as Panther writes them, `YYYY-MM-DD HH:MM:SS.fffffffff` UTC; reading also
/// accepts ISO 8601.
pub(crate) mod timestamp_text {
    use bucketwatch_core::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(t)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Timestamp::parse_iso8601(text.as_bytes()).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid timestamp {text:?}; expected YYYY-MM-DD HH:MM:SS.fffffffff"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn severity_parses_in_any_case_and_orders() {
        assert_eq!("high".parse(), Ok(Severity::High));
        assert_eq!("CRITICAL".parse(), Ok(Severity::Critical));
        assert_eq!("Info".parse(), Ok(Severity::Info));
        let err = "urgent".parse::<Severity>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown severity \"urgent\"; expected one of Info, Low, Medium, High, Critical"
        );
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
        for sev in Severity::ALL {
            assert_eq!(Severity::from_rank(sev.rank()), Some(sev));
        }
        assert_eq!(Severity::from_rank(5), None);
        assert_eq!(Severity::from_rank(-1), None);
    }

    #[test]
    fn severity_serde_is_upper_case_and_reads_any_case() {
        assert_eq!(
            serde_json::to_value(Severity::Medium).unwrap(),
            json!("MEDIUM")
        );
        let sev: Severity = serde_json::from_value(json!("medium")).unwrap();
        assert_eq!(sev, Severity::Medium);
        assert!(serde_json::from_value::<Severity>(json!("meh")).is_err());
    }

    #[test]
    fn rule_result_defaults_and_round_trip() {
        let text = json!({
            "rule_id": "AWS.S3.BucketDeleted",
            "log_type": "AWS.CloudTrail",
            "dedup": "arn:aws:iam::123456789012:user/alice",
            "title": "Bucket deleted",
            "severity": "Info",
            "kind": {"type": "match"},
            "event": {"eventName": "DeleteBucket"},
            "event_time": "2024-05-01 10:00:00.000000000",
        });
        let result: RuleResult = serde_json::from_value(text).unwrap();
        assert_eq!(result.effective_dedup_period_minutes(), 60);
        assert_eq!(result.effective_threshold(), 1);
        assert!(!result.is_error());
        let back: RuleResult =
            serde_json::from_value(serde_json::to_value(&result).unwrap()).unwrap();
        assert_eq!(back, result);

        let error = RuleResult {
            threshold: 50,
            dedup_period_minutes: 90,
            kind: ResultKind::Error {
                error_type: "KeyError".into(),
                message: "'x' (rule.py, line 3, in rule)".into(),
            },
            ..result
        };
        assert_eq!(
            error.effective_threshold(),
            1,
            "errors are never thresholded"
        );
        assert_eq!(error.effective_dedup_period_minutes(), 90);
        let value = serde_json::to_value(&error).unwrap();
        assert_eq!(value["kind"]["type"], "error");
        assert_eq!(value["kind"]["error_type"], "KeyError");
    }

    #[test]
    fn bad_timestamp_text_is_refused_with_the_value() {
        let err = serde_json::from_value::<AlertSummary>(json!({
            "alert_id": "a", "kind": "RULE", "rule_id": "r", "dedup": "d", "title": "t",
            "severity": "LOW", "creation_time": "yesterday",
            "update_time": "2024-05-01 10:00:00.000000000", "event_count": 1,
        }))
        .unwrap_err();
        assert!(err.to_string().contains("\"yesterday\""), "{err}");
    }
}
