//! Which log type an object holds, decided by where it is: a source maps `bucket/prefix` to a
//! log type, and the longest matching prefix wins (so `logs/` can be access logs while
//! `logs/AWSLogs/` is CloudTrail).
//!
//! Owns that lookup and its checks. Must not read objects or guess from content: without a
//! matching prefix the caller decides (classify each record, or skip the object).

use std::collections::BTreeMap;

use bucketwatch_core::LogType;

/// Where a matching object's records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Every record is parsed as this log type.
    LogType(LogType),
    /// Each record is classified on its own.
    Classify,
}

/// A source's `bucket/prefix → log type` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixMap {
    /// `(bucket, key prefix)`, longest prefix first within a bucket.
    entries: Vec<(String, String, Route)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixMapError {
    #[error("prefix {entry:?}: write bucket/key-prefix (the bucket alone matches all its objects)")]
    NoBucket { entry: String },
    #[error("prefix {entry:?}: {reason}, or \"auto\" to classify each record")]
    LogType {
        entry: String,
        reason: bucketwatch_core::log_type::UnknownLogType,
    },
}

impl PrefixMap {
    /// Builds the table from `"bucket/prefix" = "LogType"` entries (`"auto"` classifies). An
    /// `s3://` in front of an entry is accepted.
    pub fn new(entries: &BTreeMap<String, String>) -> Result<PrefixMap, PrefixMapError> {
        let mut parsed = Vec::with_capacity(entries.len());
        for (entry, log_type) in entries {
            let location = entry.strip_prefix("s3://").unwrap_or(entry);
            let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
            if bucket.is_empty() {
                return Err(PrefixMapError::NoBucket {
                    entry: entry.clone(),
                });
            }
            let route = if log_type.eq_ignore_ascii_case("auto") {
                Route::Classify
            } else {
                Route::LogType(log_type.parse().map_err(|reason| PrefixMapError::LogType {
                    entry: entry.clone(),
                    reason,
                })?)
            };
            parsed.push((bucket.to_string(), prefix.to_string(), route));
        }
        parsed.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.len().cmp(&a.1.len())));
        Ok(PrefixMap { entries: parsed })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The route of the longest prefix matching `bucket`/`key`, if any.
    pub fn route(&self, bucket: &str, key: &str) -> Option<Route> {
        self.entries
            .iter()
            .find(|(b, prefix, _)| b == bucket && key.starts_with(prefix.as_str()))
            .map(|(_, _, route)| *route)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, &str)]) -> Result<PrefixMap, PrefixMapError> {
        PrefixMap::new(
            &entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn the_longest_prefix_wins_within_its_bucket() {
        let m = map(&[
            ("logs", "AWS.S3ServerAccess"),
            ("logs/AWSLogs/", "AWS.CloudTrail"),
            ("s3://other/in/", "auto"),
        ])
        .unwrap();
        assert_eq!(
            m.route("logs", "AWSLogs/1/x.json.gz"),
            Some(Route::LogType(LogType::CloudTrail))
        );
        assert_eq!(
            m.route("logs", "2026-03-14-10-00-00-ABC"),
            Some(Route::LogType(LogType::S3ServerAccess))
        );
        assert_eq!(m.route("other", "in/x"), Some(Route::Classify));
        assert_eq!(m.route("other", "out/x"), None);
        assert_eq!(m.route("elsewhere", "AWSLogs/x"), None);
    }

    #[test]
    fn bad_entries_say_what_to_write() {
        let err = map(&[("/prefix", "auto")]).unwrap_err();
        assert!(err.to_string().contains("bucket/key-prefix"), "{err}");
        let err = map(&[("logs/", "AWS.S3Access")]).unwrap_err();
        assert!(err.to_string().contains("AWS.S3ServerAccess"), "{err}");
    }
}
