//! Results per second through the SQLite alert store, in batches of 1,000 drawn from 50 rules ×
//! 200 dedup strings (10,000 windows). Rules 0–29 alert at once, 30–44 have a threshold of 5,
//! 45–49 count distinct `unique()` values against a threshold of 2 — roughly the shape of the
//! panther-analysis S3 content. `now` advances one second per batch, so windows stay open and
//! most groups update an existing alert, as in steady operation.
//!
//! `file`: WAL and `synchronous = FULL` as in production (one fsync per batch);
//! `memory`: the same work without the disk, to separate SQLite I/O from grouping cost.

use std::collections::BTreeMap;
use std::hint::black_box;

use bucketwatch_alert::{AlertStore, ResultKind, RuleResult, Severity, SqliteAlertStore};
use bucketwatch_core::Timestamp;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

const BATCH: usize = 1_000;
const RULES: u64 = 50;
const DEDUPS: u64 = 200;
/// Distinct pre-built batches, cycled.
const BATCHES: usize = 64;

/// A fixed xorshift stream, so every run records the same batches.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn batches() -> Vec<Vec<RuleResult>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..BATCHES)
        .map(|_| {
            (0..BATCH)
                .map(|_| {
                    let rule = rng.below(RULES);
                    let dedup = rng.below(DEDUPS);
                    let actor = format!("arn:aws:iam::123456789012:user/user-{dedup}");
                    RuleResult {
                        rule_id: format!("AWS.S3.Rule{rule:02}"),
                        rule_version: Some("3".into()),
                        log_type: "AWS.CloudTrail".into(),
                        dedup: actor.clone(),
                        unique: (rule >= 45).then(|| format!("control-{}", rng.below(4))),
                        title: format!("S3 rule {rule} fired for {actor}"),
                        severity: Severity::ALL[(rule % 5) as usize],
                        dedup_period_minutes: 60,
                        threshold: match rule {
                            0..30 => 1,
                            30..45 => 5,
                            _ => 2,
                        },
                        alert_context: Some(json!({
                            "actor": actor, "bucket": format!("bucket-{dedup}"),
                            "sourceIPAddress": "198.51.100.7",
                        })),
                        description: "An S3 security control changed.".into(),
                        runbook: "Check with the actor whether the change was intended.".into(),
                        reference: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/".into(),
                        tags: vec!["AWS".into(), "S3".into()].into(),
                        reports: BTreeMap::from([(
                            "MITRE ATT&CK".into(),
                            vec!["TA0005:T1562".into()],
                        )])
                        .into(),
                        destinations: None,
                        kind: ResultKind::Match,
                        event: std::sync::Arc::new(json!({
                            "eventVersion": "1.09", "eventSource": "s3.amazonaws.com",
                            "eventName": "PutBucketVersioning", "awsRegion": "us-east-1",
                            "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.0",
                            "userIdentity": {"type": "IAMUser", "arn": actor,
                                             "accountId": "123456789012"},
                            "requestParameters": {"bucketName": format!("bucket-{dedup}"),
                                                  "VersioningConfiguration": {"Status": "Suspended"}},
                            "eventID": format!("{:016x}", rng.below(u64::MAX)),
                            "recipientAccountId": "123456789012",
                        })),
                        event_time: Timestamp(1_700_000_000_000_000_000),
                    }
                })
                .collect()
        })
        .collect()
}

fn record_batches(c: &mut Criterion) {
    let batches = batches();
    let dir = tempfile::tempdir().expect("temporary directory");
    let stores = [
        (
            "file",
            SqliteAlertStore::open(dir.path().join("alerts.db")).expect("open the file store"),
        ),
        (
            "memory",
            SqliteAlertStore::open_in_memory().expect("open the in-memory store"),
        ),
    ];
    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    for (name, mut store) in stores {
        let mut now = Timestamp(1_700_000_000_000_000_000);
        let mut next = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                now = Timestamp(now.0 + 1_000_000_000);
                let batch = &batches[next % BATCHES];
                next += 1;
                black_box(store.record(batch, now).expect("record a batch"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, record_batches);
criterion_main!(benches);
