use std::collections::BTreeSet;

use bucketwatch_collect::decoded_reader;
use bucketwatch_core::{LogType, SourceInfo, Timestamp};
use bucketwatch_parse::{Framer, Normalizer};
use serde_json::Value;

use super::generate::{
    APP_DATA, ATTACKS, BACKUPS, EXFIL_ROLE, LogObject, OUTSIDE_IP, RANSOMWARE_IP, Scenario,
    WEB_ASSETS,
};
use super::{DemoError, DemoJob, MARKER, expected_rules, suggested_queries};

/// 2026-03-14.
const DAY: i64 = 20_526;

fn scenario() -> Scenario {
    Scenario { day: DAY, seed: 7 }
}

/// Every record of the objects, normalized as ingest does it.
fn normalize(objects: &[LogObject]) -> (Vec<Value>, u64) {
    let mut normalizer = Normalizer::new(None);
    let mut events = Vec::new();
    for object in objects {
        let (_, reader) = decoded_reader(std::io::Cursor::new(object.bytes.clone())).unwrap();
        let mut framer = Framer::new(reader);
        let mut line = Vec::new();
        let mut records = 0;
        while let Some(unit) = framer.next_unit().unwrap() {
            line.clear();
            let log_type = normalizer.normalize(&unit, &SourceInfo::default(), &mut line);
            assert_eq!(log_type, object.log_type, "{}", object.path);
            events.push(serde_json::from_slice(&line).unwrap());
            records += 1;
        }
        assert_eq!(records, object.records, "{}", object.path);
    }
    (events, normalizer.counts().failures())
}

fn text<'a>(event: &'a Value, field: &str) -> &'a str {
    event.get(field).and_then(Value::as_str).unwrap_or_default()
}

fn number(event: &Value, field: &str) -> u64 {
    event.get(field).and_then(Value::as_u64).unwrap_or_default()
}

fn access_logs(events: &[Value]) -> impl Iterator<Item = &Value> {
    events
        .iter()
        .filter(|e| text(e, "p_log_type") == "AWS.S3ServerAccess")
}

fn cloudtrail<'a>(events: &'a [Value], name: &'a str) -> impl Iterator<Item = &'a Value> {
    events
        .iter()
        .filter(move |e| text(e, "p_log_type") == "AWS.CloudTrail" && text(e, "eventName") == name)
}

#[test]
fn the_same_day_and_seed_give_the_same_bytes() {
    let first = scenario().generate();
    assert_eq!(first, scenario().generate());
    let other_seed = Scenario {
        seed: 8,
        ..scenario()
    }
    .generate();
    assert_ne!(first, other_seed);
    let next_day = Scenario {
        day: DAY + 1,
        ..scenario()
    };
    assert!(
        next_day
            .generate()
            .iter()
            .any(|o| o.path.contains("/2026/03/15/"))
    );
}

#[test]
fn yesterday_is_the_day_before_now() {
    let now = Timestamp::from_civil(2026, 3, 15, 0, 0, 1, 0).unwrap();
    let s = Scenario::yesterday(now, 1);
    assert_eq!(s.date(), "2026-03-14");
}

#[test]
fn every_record_parses_and_every_event_falls_on_the_day() {
    let objects = scenario().generate();
    assert!(objects.iter().any(|o| o.log_type == LogType::CloudTrail));
    // CloudTrail is delivered gzipped, access logs as plain text, as AWS does it.
    for o in &objects {
        let gzip = o.bytes.starts_with(&[0x1f, 0x8b]);
        assert_eq!(gzip, o.log_type == LogType::CloudTrail, "{}", o.path);
    }
    let (events, failures) = normalize(&objects);
    assert_eq!(failures, 0);
    assert!(events.len() > 3_000, "a day has {} records", events.len());
    for e in &events {
        assert!(text(e, "p_event_time").starts_with("2026-03-14 "), "{e}");
    }
}

#[test]
fn each_attack_has_its_records() {
    let (events, _) = normalize(&scenario().generate());

    // Enumeration: one client denied on 20 or more distinct targets.
    let denied: BTreeSet<(String, String)> = access_logs(&events)
        .filter(|e| text(e, "requester").ends_with(":user/ci-deployer"))
        .filter(|e| number(e, "httpstatus") == 403)
        .map(|e| (text(e, "bucket").into(), text(e, "key").into()))
        .collect();
    assert!(denied.len() >= 20, "{} denied targets", denied.len());

    // Exfiltration: 25 or more downloads of at least 10 MiB by an unapproved role.
    let large = access_logs(&events)
        .filter(|e| text(e, "requester").contains(&format!("assumed-role/{EXFIL_ROLE}/")))
        .filter(|e| text(e, "bucket") == APP_DATA && text(e, "operation") == "REST.GET.OBJECT")
        .filter(|e| number(e, "bytessent") >= 10 * 1024 * 1024)
        .count();
    assert!(large >= 25, "{large} large downloads");

    // Plain HTTP: an object request without a cipher suite.
    assert!(
        access_logs(&events).any(|e| {
            text(e, "operation").ends_with(".OBJECT") && e.get("ciphersuite").is_none()
        })
    );

    // Outside the approved network: a role's requests from the outside address.
    assert!(access_logs(&events).any(|e| {
        text(e, "remoteip") == OUTSIDE_IP && text(e, "requester").contains("data-pipeline")
    }));

    // Bucket made public: a policy statement allowing everyone.
    assert!(cloudtrail(&events, "PutBucketPolicy").any(|e| {
        e.pointer("/requestParameters/bucketPolicy/Statement/0/Principal") == Some(&"*".into())
    }));

    // Logging disabled: BucketLoggingStatus without LoggingEnabled.
    assert!(cloudtrail(&events, "PutBucketLogging").any(|e| {
        let status = e.pointer("/requestParameters/BucketLoggingStatus");
        status.is_some_and(|s| s.get("LoggingEnabled").is_none())
    }));

    // SSE-C rewrite: 10 or more objects copied under a customer-provided key.
    let rewritten: BTreeSet<&str> = cloudtrail(&events, "CopyObject")
        .filter(|e| {
            e.pointer("/requestParameters/x-amz-server-side-encryption-customer-algorithm")
                .is_some()
        })
        .filter_map(|e| e.pointer("/requestParameters/key").and_then(Value::as_str))
        .collect();
    assert!(rewritten.len() >= 10, "{} rewritten", rewritten.len());

    // Mass deletion: 50 or more distinct backups deleted by one principal.
    let deleted: BTreeSet<&str> = cloudtrail(&events, "DeleteObject")
        .filter(|e| text(e, "sourceIPAddress") == RANSOMWARE_IP)
        .filter(|e| e.pointer("/requestParameters/bucketName") == Some(&BACKUPS.into()))
        .filter_map(|e| e.pointer("/requestParameters/key").and_then(Value::as_str))
        .collect();
    assert!(deleted.len() >= 50, "{} deleted", deleted.len());
}

#[test]
fn background_stays_inside_the_lines_the_settings_draw() {
    let (events, _) = normalize(&scenario().generate());
    let attack_requesters = [
        "user/ci-deployer",
        EXFIL_ROLE,
        "i-0legacy",
        "etl-adhoc",
        "contractor",
        "user/svc-backup",
    ];
    let background = access_logs(&events).filter(|e| {
        let requester = text(e, "requester");
        !attack_requesters.iter().any(|a| requester.contains(a))
    });
    for e in background {
        let requester = text(e, "requester");
        let ip = text(e, "remoteip");
        let internal = requester.starts_with("svc:") || requester == "AmazonS3";
        if requester.is_empty() {
            assert_eq!(
                text(e, "bucket"),
                WEB_ASSETS,
                "anonymous access elsewhere: {e}"
            );
        } else if !internal {
            assert!(ip.starts_with("10."), "outside the approved network: {e}");
            if text(e, "bucket") == APP_DATA {
                assert!(
                    requester.contains("assumed-role/app-server/")
                        || requester.contains("assumed-role/data-pipeline/")
                        || !text(e, "operation").ends_with(".OBJECT"),
                    "unapproved principal on {APP_DATA}: {e}"
                );
            }
        }
        if text(e, "operation").starts_with("REST.") {
            assert!(e.get("ciphersuite").is_some(), "without TLS: {e}");
        }
        assert!(
            number(e, "bytessent") < 10 * 1024 * 1024,
            "large download: {e}"
        );
    }
}

#[test]
fn the_attacks_name_each_expected_rule_once() {
    let rules = expected_rules();
    let unique: BTreeSet<_> = rules.iter().collect();
    assert_eq!(unique.len(), rules.len());
    assert!(ATTACKS.iter().all(|a| !a.rules.is_empty()));
}

#[test]
fn suggested_queries_fit_in_double_quotes_on_a_shell_line() {
    for q in suggested_queries() {
        assert!(!q.sql.contains(['"', '$', '`', '\\', '\n']), "{}", q.sql);
    }
}

#[test]
fn prepare_writes_the_objects_and_replaces_only_its_own_earlier_demo() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("demo");
    let now = Timestamp::from_civil(2026, 3, 15, 8, 0, 0, 0).unwrap();
    let job = DemoJob::new(&dir, vec![], now);
    let first = job.prepare().unwrap();
    assert!(!first.replaced);
    let written = walkdir::WalkDir::new(&job.paths.incoming)
        .into_iter()
        .filter(|e| e.as_ref().unwrap().file_type().is_file())
        .count();
    assert_eq!(written, first.objects);
    assert!(job.paths.settings.is_file());

    // A leftover of the earlier run goes; a file of the user's stays.
    std::fs::write(&job.paths.alerts_jsonl, "old\n").unwrap();
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    let second = job.prepare().unwrap();
    assert!(second.replaced);
    assert!(!job.paths.alerts_jsonl.exists());
    assert!(dir.join("notes.txt").is_file());

    // A directory the demo did not make is refused and left alone.
    let other = root.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep.txt"), "keep\n").unwrap();
    let refused = DemoJob::new(&other, vec![], now).prepare();
    assert!(
        matches!(refused, Err(DemoError::NotADemoDirectory { .. })),
        "{refused:?}"
    );
    assert!(other.join("keep.txt").is_file());
    assert!(!other.join(MARKER).exists());
}

#[test]
fn run_refuses_to_start_without_the_demo_settings_in_effect() {
    let root = tempfile::tempdir().unwrap();
    let job = DemoJob::new(&root.path().join("demo"), vec![], Timestamp::now());
    job.prepare().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // No test of this binary sets the variable to a demo directory of its own.
    let outcome = job.run(&runtime, &mut |_| {});
    assert!(
        matches!(outcome, Err(DemoError::SettingsNotInEffect { .. })),
        "{:?}",
        outcome.err()
    );
}
