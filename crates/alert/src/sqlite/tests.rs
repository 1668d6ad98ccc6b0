//! The SQLite store against the grouping rules, persistence, atomicity and concurrency.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::grouping::tests::{MINUTE, error, result};
use crate::grouping::{alert_id, dedup_key};
use crate::model::{MAX_SAMPLE_EVENTS, ResultKind, RuleErrorInfo};
use crate::outbox::{
    AttemptOutcome, DeliveryAttempt, DeliveryFilter, DeliveryState, Route, Routes, Settled,
    delivery_id,
};
use crate::store::WindowStatus;

const T0: i64 = 1_700_000_000_000_000_000;

fn at(minutes: i64) -> Timestamp {
    Timestamp(T0 + minutes * MINUTE)
}

fn memory() -> SqliteAlertStore {
    SqliteAlertStore::open_in_memory().unwrap()
}

fn statuses(outcome: &RecordOutcome) -> Vec<(&str, WindowStatus)> {
    outcome
        .windows
        .iter()
        .map(|w| (w.dedup.as_str(), w.status))
        .collect()
}

fn thresholded(rule: &str, dedup: &str, threshold: u32) -> RuleResult {
    RuleResult {
        threshold,
        ..result(rule, dedup)
    }
}

fn count_rows(store: &SqliteAlertStore, table: &str) -> i64 {
    store
        .conn
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn window_opens_and_closes_across_the_period_boundary() {
    let mut store = memory();
    let r = vec![result("A", "x")];

    let out = store.record(&r, at(0)).unwrap();
    assert_eq!(out.created.len(), 1);
    let first = out.created[0].clone();
    assert_eq!(first.alert_id, alert_id("A", 1, "x"));
    assert_eq!(first.creation_time, at(0));
    assert_eq!(first.kind, AlertKind::Rule);

    let out = store.record(&r, at(30)).unwrap();
    assert_eq!(statuses(&out), [("x", WindowStatus::Updated)]);
    let out = store.record(&r, at(60)).unwrap();
    assert_eq!(
        statuses(&out),
        [("x", WindowStatus::Updated)],
        "the end of the period is still inside the window"
    );
    assert_eq!(
        out.windows[0].window_start,
        at(0),
        "the window does not slide"
    );
    assert_eq!(out.windows[0].event_count, 3);

    let later = Timestamp(at(60).0 + 1_000);
    let out = store.record(&r, later).unwrap();
    assert_eq!(statuses(&out), [("x", WindowStatus::Created)]);
    assert_eq!(out.created[0].alert_id, alert_id("A", 2, "x"));
    assert_eq!(out.created[0].event_count, 1);

    let stored = store.get_alert(&first.alert_id).unwrap().unwrap();
    assert_eq!(stored.event_count, 3);
    assert_eq!(stored.update_time, at(60));
    assert_eq!(stored.creation_time, at(0));
    assert_eq!(stored.samples.len(), 3);
}

#[test]
fn the_dedup_period_is_the_rules() {
    let mut store = memory();
    let r = vec![RuleResult {
        dedup_period_minutes: 720,
        ..result("A", "x")
    }];
    store.record(&r, at(0)).unwrap();
    let out = store.record(&r, at(700)).unwrap();
    assert_eq!(out.windows[0].status, WindowStatus::Updated);
    let out = store.record(&r, at(721)).unwrap();
    assert_eq!(out.windows[0].status, WindowStatus::Created);
}

#[test]
fn threshold_is_crossed_exactly_at_n() {
    let mut store = memory();
    let five = |n: usize| vec![thresholded("A", "x", 5); n];

    let out = store.record(&five(2), at(0)).unwrap();
    assert_eq!(statuses(&out), [("x", WindowStatus::Pending)]);
    assert_eq!(out.below_threshold(), 2);
    let pending_id = out.windows[0].alert_id.clone();
    assert_eq!(out.windows[0].creation_time, None);

    let out = store.record(&five(2), at(1)).unwrap();
    assert_eq!(statuses(&out), [("x", WindowStatus::Pending)]);
    assert!(out.created.is_empty());
    assert_eq!(count_rows(&store, "alerts"), 0);

    let out = store.record(&five(1), at(2)).unwrap();
    assert_eq!(statuses(&out), [("x", WindowStatus::Created)]);
    let alert = &out.created[0];
    assert_eq!(
        alert.alert_id, pending_id,
        "the window's id, fixed when it opened"
    );
    assert_eq!(alert.event_count, 5);
    assert_eq!(alert.creation_time, at(2), "created at the crossing");
    assert_eq!(
        alert.samples.len(),
        5,
        "samples held while pending are kept"
    );

    let out = store.record(&five(3), at(3)).unwrap();
    assert_eq!(statuses(&out), [("x", WindowStatus::Updated)]);
    assert!(out.created.is_empty());
    let updated: Vec<_> = out.updated().collect();
    assert_eq!(updated.len(), 1);
    assert_eq!((updated[0].event_count, updated[0].new_events), (8, 3));
    assert_eq!(updated[0].creation_time, Some(at(2)));

    // A threshold reached within a single batch.
    let out = store
        .record(&vec![thresholded("A", "y", 5); 7], at(4))
        .unwrap();
    assert_eq!(out.created[0].event_count, 7);
}

#[test]
fn a_window_that_closes_below_its_threshold_leaves_nothing_behind() {
    let mut store = memory();
    store
        .record(&vec![thresholded("A", "x", 5); 3], at(0))
        .unwrap();
    assert_eq!(count_rows(&store, "alert_samples"), 3);
    let out = store.record(&[thresholded("A", "x", 5)], at(61)).unwrap();
    assert_eq!(out.windows[0].alert_id, alert_id("A", 2, "x"));
    assert_eq!(
        count_rows(&store, "alert_headers"),
        1,
        "only the open window's"
    );
    assert_eq!(count_rows(&store, "alert_samples"), 1);
    assert_eq!(count_rows(&store, "alerts"), 0);
}

#[test]
fn unique_values_count_once_each() {
    let mut store = memory();
    // AWS.S3.SecurityControlDisabling: threshold 2 over distinct `unique()` values.
    let disabled = |control: &str| RuleResult {
        threshold: 2,
        dedup_period_minutes: 90,
        unique: Some(control.into()),
        ..result("AWS.S3.SecurityControlDisabling", "bucket-a:alice")
    };
    let out = store.record(&vec![disabled("logging"); 10], at(0)).unwrap();
    assert_eq!(out.windows[0].status, WindowStatus::Pending);
    let out = store.record(&vec![disabled("logging"); 5], at(10)).unwrap();
    assert_eq!(
        out.windows[0].status,
        WindowStatus::Pending,
        "repeats never count"
    );
    assert_eq!(out.windows[0].event_count, 15);

    let out = store.record(&[disabled("versioning")], at(20)).unwrap();
    assert_eq!(out.windows[0].status, WindowStatus::Created);
    assert_eq!(out.created[0].event_count, 16);

    // The count resets with the window.
    let out = store.record(&[disabled("mfa-delete")], at(200)).unwrap();
    assert_eq!(out.windows[0].status, WindowStatus::Pending);
}

#[test]
fn errors_are_grouped_apart_from_matches_and_never_thresholded() {
    let mut store = memory();
    let batch = vec![
        thresholded("A", "KeyError", 50),
        RuleResult {
            threshold: 50,
            ..error("A", "KeyError")
        },
        error("A", "KeyError"),
    ];
    let out = store.record(&batch, at(0)).unwrap();
    assert_eq!(
        statuses(&out),
        [
            ("KeyError", WindowStatus::Pending),
            ("KeyError", WindowStatus::Created)
        ]
    );
    assert_eq!(out.result_windows, [0, 1, 1]);
    let alert = &out.created[0];
    assert_eq!(alert.kind, AlertKind::RuleError);
    assert_eq!(alert.alert_id, alert_id("A", 1, "KeyError:error"));
    assert_eq!(alert.dedup, "KeyError");
    assert_eq!(alert.event_count, 2);
    assert_eq!(
        alert.details.error,
        Some(RuleErrorInfo {
            error_type: "KeyError".into(),
            message: "boom (rule.py, line 1, in rule)".into()
        })
    );
    assert_ne!(out.windows[0].alert_id, out.windows[1].alert_id);
    let state_keys: i64 = count_rows(&store, "windows");
    assert_eq!(state_keys, 2);
    assert_eq!(dedup_key("KeyError", true), "KeyError:error");
}

#[test]
fn every_result_maps_to_its_window() {
    let mut store = memory();
    let batch = vec![result("A", "x"), thresholded("B", "y", 3), result("A", "x")];
    let out = store.record(&batch, at(0)).unwrap();
    let ids: Vec<_> = (0..3)
        .map(|i| out.window_of(i).unwrap().alert_id.clone())
        .collect();
    assert_eq!(
        ids,
        [
            alert_id("A", 1, "x"),
            alert_id("B", 1, "y"),
            alert_id("A", 1, "x")
        ]
    );
    assert!(out.window_of(3).is_none());
}

#[test]
fn the_first_result_of_a_window_titles_the_alert() {
    let mut store = memory();
    let titled = |title: &str, severity| RuleResult {
        title: title.into(),
        severity,
        alert_context: Some(json!({"title": title})),
        ..thresholded("A", "x", 2)
    };
    store
        .record(&[titled("first", Severity::Low)], at(0))
        .unwrap();
    let out = store
        .record(&[titled("second", Severity::High)], at(1))
        .unwrap();
    let alert = &out.created[0];
    assert_eq!(alert.title, "first");
    assert_eq!(alert.severity, Severity::Low);
    assert_eq!(alert.context, Some(json!({"title": "first"})));
    assert_eq!(
        store.get_alert(&alert.alert_id).unwrap().as_ref(),
        Some(alert)
    );
}

#[test]
fn samples_are_bounded_per_alert() {
    let mut store = memory();
    let batch: Vec<_> = (0..7)
        .map(|i| RuleResult {
            event: std::sync::Arc::new(json!({"n": i})),
            ..result("A", "x")
        })
        .collect();
    for minute in 0..4 {
        store.record(&batch, at(minute)).unwrap();
    }
    let alert = store.get_alert(&alert_id("A", 1, "x")).unwrap().unwrap();
    assert_eq!(alert.event_count, 28);
    assert_eq!(alert.samples.len(), MAX_SAMPLE_EVENTS);
    assert_eq!(
        alert.samples[7],
        json!({"n": 0}),
        "the window's first events, in order"
    );
}

#[test]
fn log_types_accumulate_over_the_window() {
    let mut store = memory();
    let typed = |log_type: &str| RuleResult {
        log_type: log_type.into(),
        ..result("A", "x")
    };
    store.record(&[typed("AWS.CloudTrail")], at(0)).unwrap();
    store
        .record(
            &[typed("AWS.S3ServerAccess"), typed("AWS.CloudTrail")],
            at(1),
        )
        .unwrap();
    let alert = store.get_alert(&alert_id("A", 1, "x")).unwrap().unwrap();
    assert_eq!(alert.log_types, ["AWS.CloudTrail", "AWS.S3ServerAccess"]);
}

/// A day of batches touching several rules, thresholds, errors and unique values.
fn scripted_batches() -> Vec<(Timestamp, Vec<RuleResult>)> {
    let unique = |u: &str| RuleResult {
        unique: Some(u.into()),
        ..thresholded("U", "b", 2)
    };
    (0..48)
        .map(|half_hours| {
            let mut batch = vec![result("A", &format!("d{}", half_hours % 3))];
            batch.push(thresholded("T", "x", 3));
            batch.push(unique(["p", "q", "r"][half_hours % 3]));
            if half_hours % 5 == 0 {
                batch.push(error("A", "TypeError"));
            }
            (at(30 * half_hours as i64), batch)
        })
        .collect()
}

#[test]
fn the_same_batches_give_the_same_ids_in_two_fresh_stores() {
    let run = || {
        let mut store = memory();
        let mut ids = Vec::new();
        for (now, batch) in scripted_batches() {
            let out = store.record(&batch, now).unwrap();
            ids.extend(out.created.into_iter().map(|a| a.alert_id));
        }
        ids
    };
    let first = run();
    assert!(first.len() > 20, "{}", first.len());
    assert_eq!(first, run());
}

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.db");
    {
        let mut store = SqliteAlertStore::open(&path).unwrap();
        store.record(&[result("A", "x")], at(0)).unwrap();
        store.record(&[thresholded("T", "y", 2)], at(0)).unwrap();
    }
    let mut store = SqliteAlertStore::open(&path).unwrap();
    let out = store.record(&[result("A", "x")], at(10)).unwrap();
    assert_eq!(
        out.windows[0].status,
        WindowStatus::Updated,
        "the window continues"
    );
    assert_eq!(out.windows[0].event_count, 2);
    let out = store.record(&[thresholded("T", "y", 2)], at(10)).unwrap();
    assert_eq!(
        out.windows[0].status,
        WindowStatus::Created,
        "the pending count continues"
    );
    assert_eq!(out.created[0].samples.len(), 2);
    assert_eq!(out.created[0].title, "T on y");
    let out = store.record(&[result("A", "x")], at(61)).unwrap();
    assert_eq!(out.created[0].alert_id, alert_id("A", 2, "x"));
    drop(store);

    let journal: String = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
}

#[test]
fn a_failing_batch_leaves_no_partial_state() {
    let mut store = memory();
    // An alert row that the batch's second group will try to create: the insert fails after
    // the first group's state and alert were written inside the transaction.
    let blocker = alert_id("B", 1, "y");
    store
        .conn
        .execute(
            "INSERT INTO alerts VALUES (?1, 'B', 0, 0, 1, '[]')",
            [&blocker],
        )
        .unwrap();
    let batch = vec![result("A", "x"), result("B", "y")];
    let err = store.record(&batch, at(0)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("inserting alert {blocker} (rule \"B\")")),
        "{text}"
    );
    assert!(matches!(err, StoreError::Sqlite { .. }));
    for (table, rows) in [
        ("windows", 0),
        ("alert_headers", 0),
        ("alert_samples", 0),
        ("alerts", 1),
    ] {
        assert_eq!(count_rows(&store, table), rows, "{table}");
    }

    store
        .conn
        .execute("DELETE FROM alerts WHERE alert_id = ?1", [&blocker])
        .unwrap();
    let out = store.record(&batch, at(1)).unwrap();
    let ids: Vec<_> = out.created.iter().map(|a| a.alert_id.as_str()).collect();
    assert_eq!(
        ids,
        [alert_id("A", 1, "x"), blocker],
        "nothing of the failed batch counted"
    );
}

#[test]
fn an_invalid_result_is_refused_before_anything_is_written() {
    let mut store = memory();
    let err = store
        .record(&[result("A", "x"), result("", "x")], at(0))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "result 1 of the batch: rule_id is empty; nothing was recorded"
    );
    assert_eq!(count_rows(&store, "windows"), 0);
}

#[test]
fn an_ambiguous_state_key_is_refused() {
    let mut store = memory();
    store.record(&[result("a:b", "c")], at(0)).unwrap();
    let err = store.record(&[result("a", "b:c")], at(1)).unwrap_err();
    assert!(matches!(err, StoreError::KeyCollision { .. }), "{err}");
    assert!(err.to_string().contains("rename the rule"), "{err}");
}

#[test]
fn two_stores_on_one_file_share_windows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.db");
    let mut one = SqliteAlertStore::open(&path).unwrap();
    let mut two = SqliteAlertStore::open(&path).unwrap();
    let out = one.record(&[result("A", "x")], at(0)).unwrap();
    assert_eq!(out.windows[0].status, WindowStatus::Created);
    let out = two.record(&[result("A", "x")], at(1)).unwrap();
    assert_eq!(out.windows[0].status, WindowStatus::Updated);
    assert_eq!(out.windows[0].event_count, 2);
    assert!(one.get_alert(&alert_id("A", 1, "x")).unwrap().is_some());
}

#[test]
fn concurrent_writers_create_each_alert_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.db");
    SqliteAlertStore::open(&path).unwrap();
    let batch: Vec<_> = (0..20)
        .map(|i| thresholded("A", &format!("d{i}"), 4))
        .collect();
    let created: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let (path, batch) = (&path, &batch);
                scope.spawn(move || {
                    let mut store = SqliteAlertStore::open(path).unwrap();
                    (0..10)
                        .map(|_| store.record(batch, at(0)).unwrap().created.len())
                        .sum::<usize>()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(
        created, 20,
        "one alert per dedup string, whichever worker crossed"
    );
    let store = SqliteAlertStore::open(&path).unwrap();
    let alert = store.get_alert(&alert_id("A", 1, "d7")).unwrap().unwrap();
    assert_eq!(alert.event_count, 30);
}

#[test]
fn listing_is_newest_first_filtered_and_paged() {
    let mut store = memory();
    let sev = |rule: &str, severity| RuleResult {
        severity,
        ..result(rule, "x")
    };
    store.record(&[sev("A", Severity::Low)], at(0)).unwrap();
    store.record(&[sev("B", Severity::High)], at(1)).unwrap();
    store
        .record(
            &[sev("C", Severity::Critical), sev("A", Severity::Info)],
            at(2),
        )
        .unwrap();
    store.record(&[error("C", "KeyError")], at(3)).unwrap();

    let list = |filter: AlertFilter| -> Vec<String> {
        store
            .list_alerts(&filter)
            .unwrap()
            .into_iter()
            .map(|a| format!("{}@{}", a.rule_id, (a.creation_time.0 - T0) / MINUTE))
            .collect()
    };
    assert_eq!(list(AlertFilter::default()), ["C@3", "C@2", "B@1", "A@0"]);
    let by_rule = AlertFilter {
        rule_id: Some("C".into()),
        ..AlertFilter::default()
    };
    assert_eq!(list(by_rule), ["C@3", "C@2"]);
    let severe = AlertFilter {
        min_severity: Some(Severity::High),
        ..AlertFilter::default()
    };
    assert_eq!(list(severe), ["C@2", "B@1"], "the error alert is Medium");
    let recent = AlertFilter {
        since: Some(at(2)),
        ..AlertFilter::default()
    };
    assert_eq!(list(recent), ["C@3", "C@2"]);

    let mut pages = Vec::new();
    let mut filter = AlertFilter {
        limit: 3,
        ..AlertFilter::default()
    };
    loop {
        let page = store.list_alerts(&filter).unwrap();
        let Some(last) = page.last() else { break };
        filter.before = Some(last.cursor());
        pages.push(page.len());
    }
    assert_eq!(pages, [3, 1]);

    let summary = &store.list_alerts(&AlertFilter::default()).unwrap()[0];
    assert_eq!(summary.kind, AlertKind::RuleError);
    assert_eq!(store.get_alert("no-such-alert").unwrap(), None);
}

#[test]
fn alerts_at_the_same_time_page_without_gaps() {
    let mut store = memory();
    let batch: Vec<_> = (0..5).map(|i| result("A", &format!("d{i}"))).collect();
    store.record(&batch, at(0)).unwrap();
    let mut seen = Vec::new();
    let mut filter = AlertFilter {
        limit: 2,
        ..AlertFilter::default()
    };
    while let Some(last) = store.list_alerts(&filter).unwrap().last().cloned() {
        filter.before = Some(last.cursor());
        seen.push(last.alert_id.clone());
    }
    let all: Vec<_> = store
        .list_alerts(&AlertFilter::default())
        .unwrap()
        .into_iter()
        .map(|a| a.alert_id)
        .collect();
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "ties ordered by id");
    assert_eq!(seen, [all[1].clone(), all[3].clone(), all[4].clone()]);
}

#[test]
fn foreign_and_newer_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let newer = dir.path().join("newer.db");
    SqliteAlertStore::open(&newer).unwrap();
    Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = SqliteAlertStore::open(&newer).err().unwrap();
    assert!(
        matches!(
            err,
            StoreError::SchemaVersion {
                found: 99,
                supported: 2,
                ..
            }
        ),
        "{err}"
    );

    let foreign = dir.path().join("foreign.db");
    let conn = Connection::open(&foreign).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT); PRAGMA user_version = 3;")
        .unwrap();
    drop(conn);
    let err = SqliteAlertStore::open(&foreign).err().unwrap();
    assert!(matches!(err, StoreError::NotAnAlertStore { .. }), "{err}");
    assert!(err.to_string().contains("foreign.db"), "{err}");

    let missing_dir = dir.path().join("no/such/dir/alerts.db");
    let err = SqliteAlertStore::open(&missing_dir).err().unwrap();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
}

/// Panther's grouping, written as plainly as possible: one entry per (rule, dedup, is_error)
/// holding the window start, the matches and distinct values counted, and whether it alerted.
#[derive(Default)]
struct Model {
    windows: HashMap<(String, String, bool), ModelWindow>,
}

struct ModelWindow {
    start: i64,
    alert_count: u64,
    plain: u64,
    values: HashSet<String>,
    alerted: bool,
}

impl Model {
    /// Returns the alert ids this batch creates.
    fn record(&mut self, batch: &[RuleResult], now: i64) -> Vec<String> {
        let mut order = Vec::new();
        let mut per_key: HashMap<_, Vec<&RuleResult>> = HashMap::new();
        for r in batch {
            let key = (r.rule_id.clone(), r.dedup.clone(), r.is_error());
            if !per_key.contains_key(&key) {
                order.push(key.clone());
            }
            per_key.entry(key).or_default().push(r);
        }
        let mut created = Vec::new();
        for key in order {
            let results = &per_key[&key];
            let period = i64::from(results[0].effective_dedup_period_minutes()) * MINUTE;
            let threshold = u64::from(results[0].effective_threshold());
            let window = self.windows.entry(key.clone()).or_insert(ModelWindow {
                start: now,
                alert_count: 0,
                plain: 0,
                values: HashSet::new(),
                alerted: false,
            });
            if window.alert_count == 0 || now > window.start + period {
                *window = ModelWindow {
                    start: now,
                    alert_count: window.alert_count + 1,
                    plain: 0,
                    values: HashSet::new(),
                    alerted: false,
                };
            }
            for r in results {
                match &r.unique {
                    Some(v) if !key.2 => {
                        window.values.insert(v.clone());
                    }
                    _ => window.plain += 1,
                }
            }
            if !window.alerted && window.plain + window.values.len() as u64 >= threshold {
                window.alerted = true;
                let dedup = if key.2 {
                    format!("{}:error", key.1)
                } else {
                    key.1.clone()
                };
                created.push(alert_id(&key.0, window.alert_count, &dedup));
            }
        }
        created
    }
}

/// Three rules with different periods and thresholds; the third counts distinct values.
fn generated(rule: usize, dedup: usize, value: usize, is_error: bool) -> RuleResult {
    let base = match rule {
        0 => RuleResult {
            dedup_period_minutes: 30,
            ..result("R0", "")
        },
        1 => RuleResult {
            threshold: 3,
            ..result("R1", "")
        },
        _ => RuleResult {
            dedup_period_minutes: 10,
            threshold: 2,
            unique: Some(format!("v{value}")),
            ..result("R2", "")
        },
    };
    let base = RuleResult {
        dedup: format!("d{dedup}"),
        ..base
    };
    if is_error {
        RuleResult {
            kind: ResultKind::Error {
                error_type: "KeyError".into(),
                message: String::new(),
            },
            ..base
        }
    } else {
        base
    }
}

proptest! {
    #[test]
    fn alerts_created_match_a_reference_model(
        batches in prop::collection::vec(
            (
                0i64..45,
                prop::collection::vec((0usize..3, 0usize..3, 0usize..4, prop::bool::weighted(0.1)), 0..12),
            ),
            1..25,
        )
    ) {
        let mut store = memory();
        let mut model = Model::default();
        let mut now = T0;
        for (gap_minutes, batch) in batches {
            now += gap_minutes * MINUTE;
            let batch: Vec<_> = batch
                .into_iter()
                .map(|(rule, dedup, value, is_error)| generated(rule, dedup, value, is_error))
                .collect();
            let expected = model.record(&batch, now);
            let created: Vec<_> = store
                .record(&batch, Timestamp(now))
                .unwrap()
                .created
                .into_iter()
                .map(|a| a.alert_id)
                .collect();
            prop_assert_eq!(created, expected);
        }
    }
}

#[test]
fn a_unit_recorded_twice_counts_once_and_keeps_its_alert_ids() {
    let mut store = memory();
    let batch = vec![thresholded("A", "x", 2), thresholded("A", "x", 2)];
    let first = store.record_unit("s3://b/k1#0", &batch, at(0)).unwrap();
    assert_eq!(first.created.len(), 1);
    assert_eq!(first.windows[0].event_count, 2);

    let replay = store.record_unit("s3://b/k1#0", &batch, at(5)).unwrap();
    assert!(
        replay.created.is_empty(),
        "a replay announces no alert again"
    );
    assert_eq!(replay.windows, first.windows);
    assert_eq!(replay.result_windows, first.result_windows);

    let other = store
        .record_unit("s3://b/k2#0", &batch[..1], at(6))
        .unwrap();
    assert_eq!(
        other.windows[0].event_count, 3,
        "the replay added no events"
    );
    assert_eq!(count_rows(&store, "applied_units"), 2);
}

#[test]
fn a_failed_unit_is_not_marked_applied() {
    let mut store = memory();
    let invalid = RuleResult {
        rule_id: String::new(),
        ..result("A", "x")
    };
    assert!(store.record_unit("u", &[invalid], at(0)).is_err());
    assert_eq!(count_rows(&store, "applied_units"), 0);
    let out = store.record_unit("u", &[result("A", "x")], at(1)).unwrap();
    assert_eq!(out.created.len(), 1);
}

// The delivery outbox: routing, the enqueue inside `record`'s transaction, claims, the log.

fn route(id: &str) -> Route {
    Route {
        destination_id: id.into(),
        min_severity: None,
        log_types: Vec::new(),
        rule_ids: Vec::new(),
    }
}

/// `high` takes High and above, `ct` CloudTrail alerts, `x` rule X's, `all` everything.
fn routes() -> Routes {
    Routes::new(vec![
        Route {
            min_severity: Some(Severity::High),
            ..route("high")
        },
        Route {
            log_types: vec!["AWS.CloudTrail".into()],
            ..route("ct")
        },
        Route {
            rule_ids: vec!["X".into()],
            ..route("x")
        },
        route("all"),
    ])
}

fn routed_alert(severity: Severity, log_type: &str, destinations: Option<&[&str]>) -> Alert {
    let mut store = memory();
    let result = RuleResult {
        severity,
        log_type: log_type.into(),
        destinations: destinations.map(|d| d.iter().map(|s| s.to_string()).collect()),
        ..result("R", "x")
    };
    store.record(&[result], at(0)).unwrap().created.remove(0)
}

#[test]
fn routing_follows_the_rules_destinations_then_the_filters() {
    let routes = routes();
    let to = |alert: &Alert| routes.destinations_for(alert).join(",");
    assert_eq!(
        to(&routed_alert(Severity::Medium, "AWS.CloudTrail", None)),
        "ct,all"
    );
    assert_eq!(
        to(&routed_alert(
            Severity::Critical,
            "AWS.S3ServerAccess",
            None
        )),
        "high,all"
    );
    assert_eq!(
        to(&routed_alert(
            Severity::Info,
            "AWS.CloudTrail",
            Some(&[][..])
        )),
        "",
        "an empty destinations() sends nowhere"
    );
    assert_eq!(
        to(&routed_alert(
            Severity::Info,
            "AWS.CloudTrail",
            Some(&["x", "high", "x"][..])
        )),
        "x,high",
        "named destinations take the alert whatever their filters, each once"
    );
    assert_eq!(
        to(&routed_alert(
            Severity::Info,
            "AWS.CloudTrail",
            Some(&["x", "pagerduty"][..])
        )),
        "ct,all",
        "one unknown name: destinations() is ignored, as in Panther"
    );
    assert_eq!(
        Routes::default()
            .destinations_for(&routed_alert(Severity::Critical, "AWS.CloudTrail", None))
            .len(),
        0
    );
}

#[test]
fn record_queues_each_created_alert_for_its_destinations() {
    let mut store = memory().with_routes(routes());
    let out = store
        .record(&[result("X", "a"), thresholded("Y", "b", 2)], at(0))
        .unwrap();
    assert_eq!(out.created.len(), 1, "Y is below its threshold");
    let id = &out.created[0].alert_id;
    let queued = store.list_deliveries(&DeliveryFilter::default()).unwrap();
    let pairs: Vec<_> = queued
        .iter()
        .map(|d| (d.destination_id.as_str(), d.state, d.attempts))
        .collect();
    assert_eq!(
        pairs,
        [
            ("all", DeliveryState::Pending, 0),
            ("ct", DeliveryState::Pending, 0),
            ("x", DeliveryState::Pending, 0)
        ]
    );
    assert!(queued.iter().all(|d| d.alert_id == *id
        && d.delivery_id == delivery_id(id, &d.destination_id)
        && d.enqueued_at == at(0)
        && d.next_attempt == at(0)));
    // Updating an alert delivers nothing new; the next window's alert is queued again.
    store.record(&[result("X", "a")], at(10)).unwrap();
    assert_eq!(store.pending_deliveries().unwrap(), 3);
    store.record(&[result("X", "a")], at(61)).unwrap();
    assert_eq!(store.pending_deliveries().unwrap(), 6);
}

#[test]
fn a_failed_batch_queues_nothing() {
    let mut store = memory().with_routes(routes());
    let blocker = alert_id("B", 1, "y");
    store
        .conn
        .execute(
            "INSERT INTO alerts VALUES (?1, 'B', 0, 0, 1, '[]')",
            [&blocker],
        )
        .unwrap();
    store
        .record(&[result("A", "x"), result("B", "y")], at(0))
        .unwrap_err();
    assert_eq!(
        count_rows(&store, "deliveries"),
        0,
        "A's alert was created and queued inside the transaction, then rolled back"
    );
}

#[test]
fn claims_lease_deliveries_and_settling_logs_every_attempt() {
    let mut store = memory().with_routes(Routes::new(vec![route("all")]));
    store.record(&[result("A", "x")], at(0)).unwrap();
    assert_eq!(store.claim_due(at(0), 10, at(5)).unwrap().len(), 1);
    assert!(
        store.claim_due(at(1), 10, at(6)).unwrap().is_empty(),
        "claimed: not due again before the lease ends"
    );
    let claimed = store.claim_due(at(5), 10, at(10)).unwrap();
    assert_eq!(
        claimed.len(),
        1,
        "a lost claim comes back when its lease ends"
    );
    let d = &claimed[0];
    let attempt = |n: u32, outcome, at_: Timestamp, error: Option<&str>| DeliveryAttempt {
        delivery_id: d.delivery_id.clone(),
        attempt: n,
        at: at_,
        alert_id: d.alert_id.clone(),
        destination_id: d.destination_id.clone(),
        outcome,
        http_status: Some(500),
        error: error.map(str::to_owned),
    };
    store
        .settle(
            &[Settled {
                attempt: attempt(1, AttemptOutcome::Retry, at(5), Some("HTTP 500")),
                next_attempt: Some(at(7)),
            }],
            &[],
        )
        .unwrap();
    let pending = &store.list_deliveries(&DeliveryFilter::default()).unwrap()[0];
    assert_eq!(
        (pending.state, pending.attempts, pending.next_attempt),
        (DeliveryState::Pending, 1, at(7))
    );
    assert_eq!(pending.last_error.as_deref(), Some("HTTP 500"));
    store
        .settle(
            &[Settled {
                attempt: attempt(2, AttemptOutcome::Failed, at(7), Some("HTTP 410")),
                next_attempt: None,
            }],
            &[],
        )
        .unwrap();
    let failed = DeliveryFilter {
        state: Some(DeliveryState::Failed),
        ..DeliveryFilter::default()
    };
    let listed = store.list_deliveries(&failed).unwrap();
    assert_eq!(listed.len(), 1, "failed deliveries are kept and listable");
    assert_eq!(listed[0].finished_at, Some(at(7)));
    let log = store.delivery_log(&DeliveryFilter::default()).unwrap();
    let rows: Vec<_> = log.iter().map(|a| (a.attempt, a.outcome)).collect();
    assert_eq!(
        rows,
        [(2, AttemptOutcome::Failed), (1, AttemptOutcome::Retry)],
        "newest first"
    );

    assert_eq!(store.requeue_failed(Some("other"), at(8)).unwrap(), 0);
    assert_eq!(store.requeue_failed(Some("all"), at(8)).unwrap(), 1);
    let again = store.claim_due(at(8), 10, at(9)).unwrap();
    assert_eq!(
        (again.len(), again[0].attempts, again[0].requeued_at),
        (1, 2, 2),
        "attempt numbers go on; the budget starts again"
    );
    assert_eq!(again[0].enqueued_at, at(8));
}

#[test]
fn a_version_1_store_gains_the_outbox_and_keeps_its_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute("INSERT INTO alerts VALUES ('old', 'A', 0, 0, 1, '[]')", [])
            .unwrap();
    }
    let mut store = SqliteAlertStore::open(&path)
        .unwrap()
        .with_routes(Routes::new(vec![route("all")]));
    assert_eq!(count_rows(&store, "alerts"), 1);
    let version: i64 = store
        .conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    store.record(&[result("B", "y")], at(0)).unwrap();
    assert_eq!(store.pending_deliveries().unwrap(), 1);
}
