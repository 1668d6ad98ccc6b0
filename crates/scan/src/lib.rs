//! bucketwatch's posture scanner.
//!
//! Owns: the collectors that read bucket and account configuration from AWS ([`collect`]), the
//! `AWS.S3.Bucket` / `AWS.S3.Account` resource JSON with its verdicts ([`resource`]), bucket-policy
//! analysis with IAM semantics ([`iam`]), and running policies over resources into a
//! [`ScanReport`] ([`report`]). Must not touch: argument parsing and printing (the CLI), storing
//! results (the lake), alerting.

pub mod collect;
pub mod iam;
pub mod report;
pub mod resource;

pub use collect::{CollectOptions, Collected, ScanError, collect};
pub use report::{
    PolicyResult, ReportOptions, ScanReport, ScanSettings, SettingsError, Status, Summary, evaluate,
};
pub use resource::{AccountRaw, ApiFailure, BucketRaw, Fetched};

use serde_json::{Map, Value};

/// CloudTrail event names (source `s3.amazonaws.com`) that change what a scan reads about a
/// bucket; a successful one is a reason to rescan that bucket.
pub const CONFIGURATION_CHANGES: &[&str] = &[
    "CreateBucket",
    "DeleteBucketCors",
    "DeleteBucketEncryption",
    "DeleteBucketLifecycle",
    "DeleteBucketOwnershipControls",
    "DeleteBucketPolicy",
    "DeleteBucketPublicAccessBlock",
    "DeleteBucketReplication",
    "DeleteBucketTagging",
    "DeleteBucketWebsite",
    "PutBucketAcl",
    "PutBucketCors",
    "PutBucketEncryption",
    "PutBucketLifecycle",
    "PutBucketLifecycleConfiguration",
    "PutBucketLogging",
    "PutBucketNotification",
    "PutBucketNotificationConfiguration",
    "PutBucketOwnershipControls",
    "PutBucketPolicy",
    "PutBucketPublicAccessBlock",
    "PutBucketReplication",
    "PutBucketTagging",
    "PutBucketVersioning",
    "PutBucketWebsite",
    "PutObjectLockConfiguration",
];

/// The bucket whose configuration a normalized CloudTrail event changed, if it is a
/// successful [`CONFIGURATION_CHANGES`] call.
pub fn changed_bucket(event: &Map<String, Value>) -> Option<&str> {
    let text = |key: &str| event.get(key).and_then(Value::as_str);
    if text("eventSource") != Some("s3.amazonaws.com")
        || event.get("errorCode").is_some_and(|e| !e.is_null())
        || !CONFIGURATION_CHANGES.contains(&text("eventName")?)
    {
        return None;
    }
    event
        .get("requestParameters")?
        .get("bucketName")?
        .as_str()
        .filter(|b| !b.is_empty())
}

/// The resources of a collection: the account first, then each bucket, with cross-bucket facts
/// (logging targets, replication destinations) linked.
pub fn resources(collected: &Collected) -> Vec<Value> {
    let mut buckets: Vec<Value> = collected
        .buckets
        .iter()
        .map(|b| resource::bucket_resource(b, &collected.account))
        .collect();
    let outside = &collected.outside_regions;
    resource::link_buckets(&mut buckets, &|name| outside.get(name).cloned().flatten());
    let mut out = vec![resource::account_resource(&collected.account)];
    out.extend(buckets);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn successful_configuration_calls_name_their_bucket() {
        let put = event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy",
            "requestParameters": {"bucketName": "prod-data", "policy": "{}"}}),
        );
        assert_eq!(changed_bucket(&put), Some("prod-data"));
        let denied = event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy",
            "errorCode": "AccessDenied", "requestParameters": {"bucketName": "prod-data"}}),
        );
        assert_eq!(changed_bucket(&denied), None);
        let read = event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "GetBucketPolicy",
            "requestParameters": {"bucketName": "prod-data"}}),
        );
        assert_eq!(changed_bucket(&read), None);
        let other = event(
            json!({"eventSource": "iam.amazonaws.com", "eventName": "PutBucketPolicy",
            "requestParameters": {"bucketName": "prod-data"}}),
        );
        assert_eq!(changed_bucket(&other), None);
        let null_error = event(json!({"eventSource": "s3.amazonaws.com",
            "eventName": "DeleteBucketEncryption", "errorCode": null,
            "requestParameters": {"bucketName": "logs"}}));
        assert_eq!(changed_bucket(&null_error), Some("logs"));
    }
}
