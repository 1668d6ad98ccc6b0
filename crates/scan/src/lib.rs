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

use serde_json::Value;

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
