//! Detection feeding alert grouping: built-in content through the engine into the SQLite store.

use std::path::Path;
use std::sync::Arc;

use bucketwatch_alert::{AlertKind, AlertStore, RuleResult, SqliteAlertStore};
use bucketwatch_core::Timestamp;
use bucketwatch_detect::{Engine, EngineOptions};
use serde_json::{Value, json};

fn denied(key: &str) -> Arc<Value> {
    Arc::new(json!({
        "p_log_type": "AWS.S3ServerAccess",
        "p_event_time": "2026-03-14 09:15:02.000000000",
        "bucket": "payroll-data",
        "requester": "arn:aws:sts::111122223333:assumed-role/scanner/s1",
        "remoteip": "198.51.100.7",
        "operation": "REST.GET.OBJECT",
        "key": key,
        "httpstatus": 403,
        "errorcode": "AccessDenied",
    }))
}

fn results(engine: &Engine, event: &Arc<Value>, rule_id: &str) -> Vec<RuleResult> {
    let mut out = Vec::new();
    engine.evaluate(event, &mut out);
    out.into_iter()
        .filter(|d| d.create_alert && d.result.rule_id == rule_id)
        .map(|d| d.result)
        .collect()
}

#[test]
fn enumeration_alerts_once_twenty_distinct_keys_are_denied() {
    let content = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content");
    let engine = Engine::load(&[content], &EngineOptions::default());
    assert!(engine.problems().is_empty(), "{:?}", engine.problems());
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteAlertStore::open(dir.path().join("alerts.db")).unwrap();
    let rule = "BucketWatch.S3Access.AccessDeniedEnumeration";
    let now = Timestamp::parse_iso8601(b"2026-03-14T09:20:00Z").unwrap();

    // 19 distinct keys, each denied twice: retries of one key do not count twice.
    let mut batch = Vec::new();
    for i in 0..19 {
        for _ in 0..2 {
            batch.extend(results(&engine, &denied(&format!("hr/{i}.csv")), rule));
        }
    }
    assert_eq!(batch.len(), 38);
    let outcome = store.record(&batch, now).unwrap();
    assert!(outcome.created.is_empty(), "{:?}", outcome.created);

    // The twentieth distinct key reaches the threshold: exactly one alert.
    let batch = results(&engine, &denied("hr/19.csv"), rule);
    let outcome = store.record(&batch, now).unwrap();
    assert_eq!(outcome.created.len(), 1);
    let alert = &outcome.created[0];
    assert_eq!(alert.kind, AlertKind::Rule);
    assert_eq!(alert.rule_id, rule);
    assert_eq!(alert.event_count, 39);
    assert!(alert.title.contains("scanner"), "{}", alert.title);

    // More denials in the same window update it and never open a second alert.
    let batch = results(&engine, &denied("hr/20.csv"), rule);
    let outcome = store.record(&batch, now).unwrap();
    assert!(outcome.created.is_empty());
}

#[test]
fn rule_errors_alert_at_once_and_group_by_exception() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fragile.yml"),
        "AnalysisType: rule\nRuleID: Test.Fragile\nEnabled: true\nLogTypes: [AWS.S3ServerAccess]\nSeverity: Low\nFilename: fragile.py\nThreshold: 100\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("fragile.py"),
        "def rule(event):\n    return event['no_such_field'] == 1\n",
    )
    .unwrap();
    let engine = Engine::load(&[dir.path().to_path_buf()], &EngineOptions::default());
    let mut store = SqliteAlertStore::open_in_memory().unwrap();
    let now = Timestamp::parse_iso8601(b"2026-03-14T09:20:00Z").unwrap();
    let batch: Vec<RuleResult> = (0..3)
        .flat_map(|i| results(&engine, &denied(&format!("k{i}")), "Test.Fragile"))
        .collect();
    assert_eq!(batch.len(), 3);
    assert!(batch.iter().all(RuleResult::is_error));
    let outcome = store.record(&batch, now).unwrap();
    assert_eq!(
        outcome.created.len(),
        1,
        "errors ignore the threshold and group by exception"
    );
    assert_eq!(outcome.created[0].kind, AlertKind::RuleError);
    assert_eq!(outcome.created[0].dedup, "KeyError");
    assert_eq!(outcome.created[0].event_count, 3);
}
