//! The registry of log types bucketwatch understands, with their Panther names and lake tables.

use std::fmt;
use std::str::FromStr;

/// A log type: the value of `p_log_type` and the name of the lake table that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogType {
    S3ServerAccess,
    CloudTrail,
    CloudTrailDigest,
    CloudTrailInsight,
    /// Input that no parser accepted, kept with its raw text.
    ClassificationFailure,
}

impl LogType {
    /// Every log type a user can name with `--log-type` (failures are not a parseable type).
    pub const PARSEABLE: [LogType; 4] = [
        LogType::S3ServerAccess,
        LogType::CloudTrail,
        LogType::CloudTrailDigest,
        LogType::CloudTrailInsight,
    ];

    /// Every log type, failures included, in table order.
    pub const ALL: [LogType; 5] = [
        LogType::S3ServerAccess,
        LogType::CloudTrail,
        LogType::CloudTrailDigest,
        LogType::CloudTrailInsight,
        LogType::ClassificationFailure,
    ];

    /// The `p_log_type` value.
    pub const fn name(self) -> &'static str {
        match self {
            LogType::S3ServerAccess => "AWS.S3ServerAccess",
            LogType::CloudTrail => "AWS.CloudTrail",
            LogType::CloudTrailDigest => "AWS.CloudTrailDigest",
            LogType::CloudTrailInsight => "AWS.CloudTrailInsight",
            LogType::ClassificationFailure => "Bucketwatch.ClassificationFailure",
        }
    }

    /// The table name: the log type lowercased with `.` turned into `_`, as Panther names them;
    /// failures live in `classification_failures`.
    pub const fn table_name(self) -> &'static str {
        match self {
            LogType::S3ServerAccess => "aws_s3serveraccess",
            LogType::CloudTrail => "aws_cloudtrail",
            LogType::CloudTrailDigest => "aws_cloudtraildigest",
            LogType::CloudTrailInsight => "aws_cloudtrailinsight",
            LogType::ClassificationFailure => "classification_failures",
        }
    }
}

impl fmt::Display for LogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A log type name that bucketwatch does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLogType(pub String);

impl fmt::Display for UnknownLogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = LogType::PARSEABLE.iter().map(|t| t.name()).collect();
        write!(
            f,
            "unknown log type '{}'; known log types: {}",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownLogType {}

impl FromStr for LogType {
    type Err = UnknownLogType;

    /// Accepts the Panther name or the table name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogType::PARSEABLE
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s) || t.table_name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownLogType(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_panther_and_table_names() {
        assert_eq!("AWS.S3ServerAccess".parse(), Ok(LogType::S3ServerAccess));
        assert_eq!("aws.cloudtrail".parse(), Ok(LogType::CloudTrail));
        assert_eq!(
            "aws_cloudtraildigest".parse(),
            Ok(LogType::CloudTrailDigest)
        );
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let err = "AWS.ALB".parse::<LogType>().unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("AWS.ALB") && msg.contains("AWS.S3ServerAccess"),
            "{msg}"
        );
    }

    #[test]
    fn failures_are_not_a_parseable_type() {
        assert!(
            "Bucketwatch.ClassificationFailure"
                .parse::<LogType>()
                .is_err()
        );
        assert_eq!(
            LogType::ClassificationFailure.table_name(),
            "classification_failures"
        );
    }
}
