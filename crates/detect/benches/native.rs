//! Throughput of native rules: four S3 server-access-log rules of the kind bucketwatch ships,
//! evaluated over pre-built events. One element is one event checked against all four rules;
//! the target is at least 1,000,000 events/s per core.

use std::hint::black_box;

use bucketwatch_detect::content::spec::RuleSpec;
use bucketwatch_detect::{CompiledRule, Lookups};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

const HEADER: &str = "AnalysisType: rule
Enabled: true
LogTypes: [AWS.S3ServerAccess]
Severity: Low
";

const RULES: [&str; 4] = [
    "RuleID: Bench.S3.Error
Detection:
  - {KeyPath: operation, Condition: StartsWith, Value: REST.}
  - {KeyPath: operation, Condition: EndsWith, Value: .OBJECT}
  - {KeyPath: httpstatus, Condition: IsIn, Values: [400, 403, 405]}
",
    "RuleID: Bench.S3.Insecure
Detection:
  - {KeyPath: operation, Condition: StartsWith, Value: REST.}
  - {KeyPath: operation, Condition: EndsWith, Value: .OBJECT}
  - {KeyPath: ciphersuite, Condition: IsNullOrEmpty}
",
    "RuleID: Bench.S3.IPAllowlist
Detection:
  - {KeyPath: bucket, Condition: IsIn, Values: [payroll-data, customer-exports, audit-logs]}
  - {KeyPath: remoteip, Condition: IsIPAddressNotInCIDR, Value: 10.0.0.0/8}
",
    "RuleID: Bench.S3.UnknownRequester
Detection:
  - {KeyPath: operation, Condition: Equals, Value: REST.GET.OBJECT}
  - {KeyPath: errorcode, Condition: IsNullOrEmpty}
  - {KeyPath: requester, Condition: IsNotIn, Values:
      [arn:aws:iam::123456789012:role/etl, arn:aws:iam::123456789012:role/reporting,
       arn:aws:iam::123456789012:user/backup]}
",
];

fn rules() -> Vec<CompiledRule> {
    RULES
        .iter()
        .map(|rule| {
            let spec: RuleSpec = serde_saphyr::from_str(&format!("{HEADER}{rule}")).unwrap();
            CompiledRule::compile(&spec).unwrap()
        })
        .collect()
}

/// Deterministic S3 server access log events with a realistic mix of operations, statuses,
/// callers and TLS details.
fn events(n: usize) -> Vec<Value> {
    const OPERATIONS: [&str; 6] = [
        "REST.GET.OBJECT",
        "REST.GET.OBJECT",
        "REST.PUT.OBJECT",
        "REST.HEAD.OBJECT",
        "REST.GET.BUCKET",
        "BATCH.DELETE.OBJECT",
    ];
    const BUCKETS: [&str; 5] = [
        "payroll-data",
        "customer-exports",
        "audit-logs",
        "static-site",
        "ml-training",
    ];
    const REQUESTERS: [&str; 5] = [
        "arn:aws:iam::123456789012:role/etl",
        "arn:aws:iam::123456789012:role/reporting",
        "arn:aws:iam::123456789012:user/backup",
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:sts::210987654321:assumed-role/external/session",
    ];
    const STATUSES: [u16; 8] = [200, 200, 200, 200, 206, 304, 403, 404];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |bound: usize| {
        // xorshift64*: deterministic and dependency-free.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % bound
    };
    (0..n)
        .map(|i| {
            let operation = OPERATIONS[next(OPERATIONS.len())];
            let status = STATUSES[next(STATUSES.len())];
            let remoteip = if next(4) == 0 {
                format!("54.{}.{}.{}", next(256), next(256), next(256))
            } else {
                format!("10.{}.{}.{}", next(256), next(256), next(256))
            };
            let tls = next(10) != 0;
            let mut event = json!({
                "bucketowner": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
                "bucket": BUCKETS[next(BUCKETS.len())],
                "time": "2026-11-27 20:41:25.000000000",
                "remoteip": remoteip,
                "requester": REQUESTERS[next(REQUESTERS.len())],
                "requestid": format!("3E57427F3{i:07X}"),
                "operation": operation,
                "key": format!("exports/2026/11/27/part-{i:05}.parquet"),
                "requesturi": format!("GET /exports/2026/11/27/part-{i:05}.parquet HTTP/1.1"),
                "httpstatus": status,
                "bytessent": next(5_000_000),
                "objectsize": 5_000_000,
                "totaltime": next(900),
                "turnaroundtime": next(50),
                "referrer": "-",
                "useragent": "aws-sdk-java/1.12.261 Linux/5.10 OpenJDK_64-Bit_Server_VM/25.342",
                "hostid": "s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234=",
                "signatureversion": "SigV4",
                "authenticationtype": "AuthHeader",
                "hostheader": "s3.us-west-2.amazonaws.com",
            });
            let fields = event.as_object_mut().expect("built as an object");
            if status >= 400 {
                fields.insert("errorcode".into(), json!(if status == 403 { "AccessDenied" } else { "NoSuchKey" }));
            }
            if tls {
                fields.insert("ciphersuite".into(), json!("ECDHE-RSA-AES128-GCM-SHA256"));
                fields.insert("tlsVersion".into(), json!("TLSv1.2"));
            }
            event
        })
        .collect()
}

fn native_rules(c: &mut Criterion) {
    let rules = rules();
    let events = events(10_000);
    // Guard against measuring a rule that trivially never (or always) matches.
    for (rule, text) in rules.iter().zip(RULES) {
        let hits = events
            .iter()
            .filter(|e| rule.matches(e) == Some(true))
            .count();
        assert!(
            0 < hits && hits < events.len(),
            "{hits} matches for\n{text}"
        );
    }
    let mut group = c.benchmark_group("native");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("s3_access_4_rules", |b| {
        b.iter(|| {
            let mut matches = 0usize;
            for event in &events {
                let lookups = Lookups::new(black_box(event));
                for rule in &rules {
                    matches += usize::from(rule.matches_in(&lookups) == Some(true));
                }
            }
            black_box(matches)
        });
    });
    group.finish();
}

/// The seven no-code renditions of the built-in access-log rule set (bench/detect/native), as
/// `bench/run-detect.sh` runs them end to end, here without reading, parsing or output.
///
/// Twice: over 10,000 events (about 40 MB of `Value`s, beyond this machine's 2 MB of L2 per
/// core, so every event comes from L3 or memory) and over 256 events (about 1 MB, in L2). The
/// engine meets each event the way the second case does: `bucketwatch` evaluates an event right
/// after parsing it, while it is still in cache.
fn rendered_rule_set(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/detect/native");
    let content = bucketwatch_detect::load(&dir, &Default::default());
    assert!(content.errors.is_empty(), "{:?}", content.errors);
    assert_eq!(content.rules.len(), 7);
    let rules: Vec<&CompiledRule> = content.rules.iter().map(|r| &r.compiled).collect();
    let mut group = c.benchmark_group("native");
    for (name, count) in [
        ("s3_access_built_in_set_7_rules", 10_000),
        ("s3_access_built_in_set_7_rules_in_cache", 256),
    ] {
        let events = events(count);
        group.throughput(Throughput::Elements(events.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut matches = 0usize;
                for event in &events {
                    // As the engine does: one set of key lookups per event, shared by its rules.
                    let lookups = Lookups::new(black_box(event));
                    for rule in &rules {
                        let hit = rule.passes_filters_in(&lookups)
                            && rule.matches_in(&lookups) == Some(true);
                        matches += usize::from(hit);
                    }
                }
                black_box(matches)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, native_rules, rendered_rule_set);
criterion_main!(benches);
