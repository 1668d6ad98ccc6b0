//! The DynamoDB store against a real moto server: the SQLite store's behaviour for the same
//! input (same outcomes, alert ids and alerts), units applied exactly once across chunks, two
//! workers racing on the same keys, and the deliverer working the DynamoDB outbox.
//!
//! moto serves requests on threads, and its `TransactWriteItems` and conditional `UpdateItem`
//! check and write item by item without a lock (a failed transaction restores a copy of the
//! whole table), so two requests running at once inside moto can interleave in ways DynamoDB's
//! isolated transactions never do. Tests where workers race therefore reach moto through
//! [`Proxy`], which forwards one request at a time: the workers still interleave between
//! requests (read, then conditional write), which is the race the store must survive.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Barrier, Mutex};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::AttributeValue;
use bucketwatch_alert::{
    AlertFilter, AlertReader, AlertStore, AttemptOutcome, Deliverer, DeliveryConfig, DeliveryQueue,
    DeliveryState, DestinationConfig, DestinationKind, DynamoAlertStore, ResultKind, RuleResult,
    Severity, SqliteAlertStore, StoreError, WindowStatus, delivery_id,
};
use bucketwatch_core::Timestamp;
use bucketwatch_testkit::{ACCESS_KEY, Moto, REGION, SECRET_KEY};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;
use support::Listener;
use tokio::runtime::Runtime;

const T0: i64 = 1_795_000_000_000_000_000;
const MINUTE: i64 = 60_000_000_000;

fn at(minutes: i64) -> Timestamp {
    Timestamp(T0 + minutes * MINUTE)
}

/// A moto server, a runtime for the stores to block on, and an AWS configuration for moto.
struct Env {
    runtime: Runtime,
    moto: Moto,
    aws: SdkConfig,
}

impl Env {
    fn start() -> Env {
        let moto = Moto::start();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let aws = runtime.block_on(aws_for(&moto.endpoint()));
        Env { runtime, moto, aws }
    }

    /// A store handle on `table`, created if missing.
    fn store(&self, table: &str) -> DynamoAlertStore {
        let store = DynamoAlertStore::from_config(&self.aws, table, self.runtime.handle().clone());
        store.ensure_table().unwrap();
        store
    }

    /// A store handle on `table` whose requests go through `proxy`.
    fn store_via(&self, proxy: &Proxy, table: &str) -> DynamoAlertStore {
        let aws = self.runtime.block_on(aws_for(&proxy.endpoint()));
        let store = DynamoAlertStore::from_config(&aws, table, self.runtime.handle().clone());
        store.ensure_table().unwrap();
        store
    }

    fn client(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.aws)
    }

    /// Every item of the table, as (pk, sk).
    fn keys(&self, table: &str) -> Vec<(String, String)> {
        let out = self
            .runtime
            .block_on(self.client().scan().table_name(table).send())
            .unwrap();
        assert!(
            out.last_evaluated_key().is_none(),
            "tests keep tables small"
        );
        let text = |v: Option<&AttributeValue>| v.unwrap().as_s().unwrap().clone();
        let mut keys: Vec<_> = out
            .items()
            .iter()
            .map(|i| (text(i.get("pk")), text(i.get("sk"))))
            .collect();
        keys.sort();
        keys
    }
}

async fn aws_for(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "moto"))
        .load()
        .await
}

/// A match numbered `n`, so samples show their order.
fn numbered(rule: &str, dedup: &str, n: i64) -> RuleResult {
    RuleResult {
        event: Arc::new(json!({"rule": rule, "dedup": dedup, "n": n})),
        ..support::result(rule, dedup, Severity::Medium)
    }
}

fn thresholded(rule: &str, dedup: &str, threshold: u32) -> RuleResult {
    RuleResult {
        threshold,
        ..support::result(rule, dedup, Severity::Medium)
    }
}

fn error(rule: &str, error_type: &str) -> RuleResult {
    RuleResult {
        kind: ResultKind::Error {
            error_type: error_type.into(),
            message: "boom (rule.py, line 1, in rule)".into(),
        },
        title: format!("{error_type}('boom')"),
        ..support::result(rule, error_type, Severity::Medium)
    }
}

/// Twenty hours of batches: plain alerts, thresholds crossed across batches, distinct-value
/// thresholds, windows that close below their threshold, rule errors, and more events than an
/// alert keeps as samples.
fn scripted_batches() -> Vec<(Timestamp, Vec<RuleResult>)> {
    (0..40)
        .map(|step| {
            let mut batch = vec![numbered("A", &format!("d{}", step % 3), step)];
            batch.push(RuleResult {
                log_type: if step % 2 == 0 {
                    "AWS.S3ServerAccess"
                } else {
                    "AWS.CloudTrail"
                }
                .into(),
                ..thresholded("T", "x", 3)
            });
            batch.push(RuleResult {
                unique: Some(["p", "q", "r"][step as usize % 3].into()),
                ..thresholded("U", "b", 2)
            });
            if step % 4 == 0 {
                // Period 30, seen every two hours: windows close below the threshold of 2,
                // except when a batch holds two.
                let sparse = RuleResult {
                    dedup_period_minutes: 30,
                    ..thresholded("P", "y", 2)
                };
                let copies = if step % 8 == 0 { 2 } else { 1 };
                batch.extend(std::iter::repeat_n(sparse, copies));
            }
            if step % 5 == 0 {
                batch.push(error("A", "TypeError"));
            }
            if step % 7 == 0 {
                batch.extend((0..12).map(|i| numbered("A", "d0", 100 * step + i)));
            }
            (at(30 * step), batch)
        })
        .collect()
}

#[test]
fn the_same_batches_give_the_sqlite_stores_outcomes_and_alerts() {
    let env = Env::start();
    let mut dynamo = env.store("alerts");
    let mut sqlite = SqliteAlertStore::open_in_memory().unwrap();
    let mut ids = Vec::new();
    for (now, batch) in scripted_batches() {
        let expected = sqlite.record(&batch, now).unwrap();
        let got = dynamo.record(&batch, now).unwrap();
        assert_eq!(got, expected, "the batch at {now:?}");
        ids.extend(got.created.into_iter().map(|a| a.alert_id));
    }
    assert!(ids.len() > 30, "{}", ids.len());
    for id in &ids {
        assert_eq!(
            dynamo.get_alert(id).unwrap(),
            sqlite.get_alert(id).unwrap(),
            "{id}"
        );
    }
    let all = AlertFilter {
        limit: 1_000,
        ..AlertFilter::default()
    };
    assert_eq!(
        dynamo.list_alerts(&all).unwrap(),
        sqlite.list_alerts(&all).unwrap()
    );
    assert_eq!(dynamo.get_alert("no-such-alert").unwrap(), None);
    assert_eq!(dynamo.conflicts(), 0, "one worker never conflicts");
}

#[test]
fn thresholds_unique_values_periods_and_errors_follow_the_rules() {
    let env = Env::start();
    let mut store = env.store("alerts");

    let five = |n: usize| vec![thresholded("A", "x", 5); n];
    let out = store.record(&five(4), at(0)).unwrap();
    assert_eq!(out.windows[0].status, WindowStatus::Pending);
    assert_eq!(out.below_threshold(), 4);
    let out = store.record(&five(1), at(1)).unwrap();
    assert_eq!(out.windows[0].status, WindowStatus::Created);
    assert_eq!(
        out.created[0].creation_time,
        at(1),
        "created at the crossing"
    );
    assert_eq!(
        out.created[0].samples.len(),
        5,
        "samples held while pending"
    );

    let disabled = |control: &str| RuleResult {
        threshold: 2,
        dedup_period_minutes: 90,
        unique: Some(control.into()),
        ..support::result("U", "bucket-a", Severity::High)
    };
    let out = store.record(&vec![disabled("logging"); 10], at(0)).unwrap();
    assert_eq!(
        out.windows[0].status,
        WindowStatus::Pending,
        "repeats never count"
    );
    let out = store.record(&[disabled("versioning")], at(20)).unwrap();
    assert_eq!(out.windows[0].status, WindowStatus::Created);
    assert_eq!(out.created[0].event_count, 11);

    let long = RuleResult {
        dedup_period_minutes: 720,
        ..support::result("L", "x", Severity::Low)
    };
    store.record(std::slice::from_ref(&long), at(0)).unwrap();
    let out = store.record(std::slice::from_ref(&long), at(700)).unwrap();
    assert_eq!(out.windows[0].status, WindowStatus::Updated);
    let out = store.record(std::slice::from_ref(&long), at(721)).unwrap();
    assert_eq!(out.windows[0].status, WindowStatus::Created);

    let batch = vec![
        thresholded("E", "KeyError", 50),
        RuleResult {
            threshold: 50,
            ..error("E", "KeyError")
        },
    ];
    let out = store.record(&batch, at(0)).unwrap();
    let statuses: Vec<_> = out.windows.iter().map(|w| w.status).collect();
    assert_eq!(statuses, [WindowStatus::Pending, WindowStatus::Created]);
    assert_eq!(out.created[0].kind, bucketwatch_alert::AlertKind::RuleError);
    assert_ne!(out.windows[0].alert_id, out.windows[1].alert_id);
}

#[test]
fn a_window_that_closes_below_its_threshold_leaves_no_items() {
    let env = Env::start();
    let mut store = env.store("alerts");
    let first = store
        .record(&vec![thresholded("A", "x", 5); 3], at(0))
        .unwrap();
    let old = format!("A#{}", first.windows[0].alert_id);
    let old_items = |keys: Vec<(String, String)>| keys.iter().filter(|(pk, _)| *pk == old).count();
    assert_eq!(
        old_items(env.keys("alerts")),
        4,
        "a header and three samples"
    );
    let out = store.record(&[thresholded("A", "x", 5)], at(61)).unwrap();
    assert_ne!(out.windows[0].alert_id, first.windows[0].alert_id);
    assert_eq!(old_items(env.keys("alerts")), 0);
}

#[test]
fn an_ambiguous_state_key_is_refused() {
    let env = Env::start();
    let mut store = env.store("alerts");
    store
        .record(&[support::result("a:b", "c", Severity::Low)], at(0))
        .unwrap();
    let err = store
        .record(&[support::result("a", "b:c", Severity::Low)], at(1))
        .unwrap_err();
    assert!(matches!(err, StoreError::KeyCollision { .. }), "{err}");

    // Both in one batch: refused before anything is written.
    let before = env.keys("alerts");
    let both = [
        support::result("q:r", "s", Severity::Low),
        support::result("q", "r:s", Severity::Low),
    ];
    let err = store.record(&both, at(2)).unwrap_err();
    assert!(err.to_string().contains("rename the rule"), "{err}");
    assert_eq!(env.keys("alerts"), before);
}

#[test]
fn a_unit_recorded_twice_counts_once_and_keeps_its_alert_ids() {
    let env = Env::start();
    let mut store = env.store("alerts");
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
}

#[test]
fn a_unit_larger_than_a_transaction_is_applied_exactly_once_across_chunks() {
    let env = Env::start();
    let mut store = env.store("alerts").with_max_attempts(2);
    let batch: Vec<_> = (0..120)
        .map(|i| support::result("R", &format!("d{i:03}"), Severity::Low))
        .collect();
    let ids: Vec<String> = SqliteAlertStore::open_in_memory()
        .unwrap()
        .record(&batch, at(0))
        .unwrap()
        .created
        .into_iter()
        .map(|a| a.alert_id)
        .collect();

    // An alert item in the way of the last group: its chunk cannot commit, the ones before it
    // do.
    let blocker = aws_sdk_dynamodb::types::AttributeValue::S(format!("A#{}", ids[119]));
    let put = env
        .client()
        .put_item()
        .table_name("alerts")
        .item("pk", blocker.clone())
        .item("sk", AttributeValue::S("A".into()))
        .send();
    env.runtime.block_on(put).unwrap();
    let err = store.record_unit("s3://b/big", &batch, at(0)).unwrap_err();
    assert!(
        matches!(&err, StoreError::Contention { table, attempts: 2, .. } if table == "alerts"),
        "{err}"
    );
    let windows =
        |keys: Vec<(String, String)>| keys.iter().filter(|(pk, _)| pk.starts_with("W#")).count();
    let committed = windows(env.keys("alerts"));
    assert!(
        committed > 0 && committed < 120,
        "{committed} windows committed"
    );

    let delete = env
        .client()
        .delete_item()
        .table_name("alerts")
        .key("pk", blocker)
        .key("sk", AttributeValue::S("A".into()))
        .send();
    env.runtime.block_on(delete).unwrap();
    let out = store.record_unit("s3://b/big", &batch, at(1)).unwrap();
    assert_eq!(out.windows.len(), 120);
    assert!(
        out.windows.iter().all(|w| w.event_count == 1),
        "no group counted twice"
    );
    let created: Vec<_> = out.created.iter().map(|a| a.alert_id.clone()).collect();
    assert_eq!(
        created,
        ids[committed..],
        "only the groups not committed before"
    );
    assert_eq!(windows(env.keys("alerts")), 120);

    let replay = store.record_unit("s3://b/big", &batch, at(2)).unwrap();
    assert!(replay.created.is_empty());
    assert_eq!(replay.windows, out.windows);
}

#[test]
fn listing_is_newest_first_filtered_and_paged() {
    let env = Env::start();
    let mut store = env.store("alerts");
    let sev = |rule: &str, severity| support::result(rule, "x", severity);
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
    assert_eq!(list(recent.clone()), ["C@3", "C@2"]);

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

    let first = store.list_alerts(&recent).unwrap()[0].cursor();
    let since_and_before = AlertFilter {
        before: Some(first),
        ..recent
    };
    assert_eq!(list(since_and_before), ["C@2"]);
}

#[test]
fn alerts_at_the_same_time_page_without_gaps() {
    let env = Env::start();
    let mut store = env.store("alerts");
    let batch: Vec<_> = (0..5)
        .map(|i| support::result("A", &format!("d{i}"), Severity::Low))
        .collect();
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
fn create_table_refuses_an_existing_table_and_ensure_table_accepts_it() {
    let env = Env::start();
    let store = env.store("alerts");
    store.ensure_table().unwrap();
    let err = store.create_table().unwrap_err();
    assert!(
        matches!(&err, StoreError::Dynamo { table, operation, .. }
            if table == "alerts" && operation == "creating the table"),
        "{err}"
    );
    let mut missing =
        DynamoAlertStore::from_config(&env.aws, "absent", env.runtime.handle().clone());
    let err = missing
        .record(&[support::result("A", "x", Severity::Low)], at(0))
        .unwrap_err();
    assert!(err.to_string().contains("ensure_table"), "{err}");
}

/// A webhook destination named `soc`.
fn soc(url: &str) -> DeliveryConfig {
    DeliveryConfig {
        destinations: vec![DestinationConfig {
            id: "soc".into(),
            kind: DestinationKind::Webhook,
            url: Some(url.into()),
            url_env: None,
            secret_env: None,
            headers: Default::default(),
            topic_arn: None,
            path: None,
            min_severity: None,
            log_types: Vec::new(),
            rule_ids: Vec::new(),
        }],
        ..DeliveryConfig::default()
    }
}

/// Twenty keys crossing a threshold of 4, as units: worker one records units 0..10, worker
/// two units 5..15, the overlap being an SQS redelivery handled by both at once.
#[test]
fn two_workers_racing_on_the_same_keys_end_as_one_worker_would() {
    let env = Env::start();
    let proxy = Proxy::start(&env.runtime, env.moto.endpoint());
    let routes = soc("http://127.0.0.1:9/unused").routes();
    let unit = |u: usize| -> Vec<RuleResult> {
        let mut batch: Vec<_> = (0..20)
            .map(|k| RuleResult {
                event: Arc::new(json!({"key": k})),
                ..thresholded("T", &format!("d{k}"), 4)
            })
            .collect();
        if u.is_multiple_of(2) {
            batch.push(support::result("A", &format!("u{u}"), Severity::Low));
        }
        batch
    };
    let now = at(0);
    let mut one_worker = SqliteAlertStore::open_in_memory().unwrap();
    let mut expected_created = Vec::new();
    for u in 0..15 {
        let out = one_worker
            .record_unit(&format!("u{u}"), &unit(u), now)
            .unwrap();
        expected_created.extend(out.created.into_iter().map(|a| a.alert_id));
    }

    let start = Barrier::new(2);
    let (created, conflicts): (Vec<String>, u64) = std::thread::scope(|scope| {
        let workers: Vec<_> = [0..10, 5..15]
            .into_iter()
            .map(|units| {
                let mut store = env.store_via(&proxy, "alerts").with_routes(routes.clone());
                let (start, unit) = (&start, &unit);
                scope.spawn(move || {
                    start.wait();
                    let mut created = Vec::new();
                    for u in units {
                        let out = store.record_unit(&format!("u{u}"), &unit(u), now).unwrap();
                        created.extend(out.created.into_iter().map(|a| a.alert_id));
                    }
                    (created, store.conflicts())
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).fold(
            (Vec::new(), 0),
            |(mut all, total), (created, conflicts)| {
                all.extend(created);
                (all, total + conflicts)
            },
        )
    });
    assert!(
        conflicts > 0,
        "the workers never raced; the test proves nothing"
    );
    let mut created = created;
    created.sort();
    expected_created.sort();
    assert_eq!(
        created, expected_created,
        "each alert created once, by either worker"
    );

    let store = env.store("alerts");
    for id in &expected_created {
        let got = store.get_alert(id).unwrap().unwrap();
        let want = one_worker.get_alert(id).unwrap().unwrap();
        assert_eq!(
            (
                got.event_count,
                got.creation_time,
                got.update_time,
                &got.title
            ),
            (
                want.event_count,
                want.creation_time,
                want.update_time,
                &want.title
            ),
            "{id}"
        );
        let deliveries = store.deliveries(id).unwrap();
        assert_eq!(deliveries.len(), 1, "{id}: one delivery queued");
        assert_eq!(deliveries[0].delivery_id, delivery_id(id, "soc"));
    }
    assert_eq!(
        store.pending_deliveries().unwrap(),
        expected_created.len() as u64
    );
}

#[test]
fn a_conflicting_write_is_redone_and_retries_are_bounded() {
    let env = Env::start();
    let proxy = Proxy::start(&env.runtime, env.moto.endpoint());
    let other = Arc::new(Mutex::new(env.store("alerts")));
    let batch = [support::result("A", "x", Severity::Low)];
    // Before this store's first transaction, another worker records the same key.
    let interfere = || {
        let other = other.clone();
        proxy.before_next_transaction(move || {
            other
                .lock()
                .unwrap()
                .record(&[support::result("A", "x", Severity::Low)], at(0))
                .unwrap();
        });
    };

    let mut impatient = env.store_via(&proxy, "alerts").with_max_attempts(1);
    interfere();
    let err = impatient.record(&batch, at(1)).unwrap_err();
    assert!(
        matches!(err, StoreError::Contention { attempts: 1, .. }),
        "{err}"
    );
    assert_eq!(impatient.conflicts(), 1);

    let mut patient = env.store_via(&proxy, "alerts");
    interfere();
    let out = patient.record(&batch, at(2)).unwrap();
    assert_eq!(patient.conflicts(), 1);
    assert_eq!(out.windows[0].status, WindowStatus::Updated);
    assert_eq!(
        out.windows[0].event_count, 3,
        "the other worker's two and this one; nothing of the refused attempt"
    );
}

#[test]
fn the_deliverer_sends_from_the_dynamodb_outbox_once_and_retries() {
    let env = Env::start();
    let proxy = Proxy::start(&env.runtime, env.moto.endpoint());
    let listener = env.runtime.block_on(Listener::start());
    let config = soc(&listener.url());
    let mut recorder = env.store("alerts").with_routes(config.routes());
    let batch = [
        support::result("R", "alice", Severity::High),
        support::result("R", "bob", Severity::Low),
    ];
    let created = recorder.record(&batch, at(0)).unwrap().created;
    assert_eq!(created.len(), 2);

    // Two deliverers on the same outbox at once: each delivery is sent by one of them.
    let mut one = env
        .runtime
        .block_on(Deliverer::new(&config, env.store_via(&proxy, "alerts")))
        .unwrap();
    let mut two = env
        .runtime
        .block_on(Deliverer::new(&config, env.store_via(&proxy, "alerts")))
        .unwrap();
    listener.fail_next(1, 503, None, "down");
    let (a, b) = env
        .runtime
        .block_on(async { tokio::join!(one.deliver_due(at(1)), two.deliver_due(at(1))) });
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.attempts.len() + b.attempts.len(), 2, "{a:?} {b:?}");
    assert_eq!((a.delivered + b.delivered, a.retrying + b.retrying), (1, 1));
    assert_eq!(listener.received().len(), 2);

    let retried = [a.attempts, b.attempts]
        .concat()
        .into_iter()
        .find(|x| x.outcome == AttemptOutcome::Retry)
        .unwrap();
    let report = env.runtime.block_on(one.deliver_due(at(1))).unwrap();
    assert_eq!(report.attempts.len(), 0, "the retry is not due yet");
    let report = env.runtime.block_on(one.deliver_due(at(60))).unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(report.attempts[0].delivery_id, retried.delivery_id);
    assert_eq!(listener.received().len(), 3);

    for alert in &created {
        let deliveries = recorder.deliveries(&alert.alert_id).unwrap();
        assert_eq!(deliveries.len(), 1);
        assert_eq!(deliveries[0].state, DeliveryState::Delivered);
        let log = recorder.delivery_log(&alert.alert_id).unwrap();
        let expected_attempts = if deliveries[0].delivery_id == retried.delivery_id {
            2
        } else {
            1
        };
        assert_eq!(log.len(), expected_attempts, "{log:?}");
        assert_eq!(log.last().unwrap().outcome, AttemptOutcome::Delivered);
        let body = listener
            .received()
            .into_iter()
            .rev()
            .find(|r| r.header(bucketwatch_alert::DELIVERY_HEADER) == deliveries[0].delivery_id)
            .unwrap()
            .json();
        assert_eq!(body["alertId"], json!(alert.alert_id));
    }
    assert_eq!(recorder.pending_deliveries().unwrap(), 0);
    let report = env.runtime.block_on(two.deliver_due(at(3_600))).unwrap();
    assert!(report.attempts.is_empty(), "nothing is sent twice");
    assert_eq!(two.store().location(), "DynamoDB table alerts");
}

/// Forwards HTTP requests to moto one at a time (see the module comment), and can run a
/// hook just before forwarding the next `TransactWriteItems`.
struct Proxy {
    addr: SocketAddr,
    hook: Arc<Mutex<Option<Hook>>>,
    server: tokio::task::JoinHandle<()>,
}

type Hook = Box<dyn FnOnce() + Send>;

impl Proxy {
    fn start(runtime: &Runtime, upstream: String) -> Proxy {
        let socket = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let hook: Arc<Mutex<Option<Hook>>> = Arc::default();
        let turn = Arc::new(tokio::sync::Mutex::new(()));
        let client = reqwest::Client::new();
        let upstream: Arc<str> = upstream.into();
        let shared_hook = hook.clone();
        let server = runtime.spawn(async move {
            while let Ok((stream, _)) = socket.accept().await {
                let (hook, turn, client, upstream) = (
                    shared_hook.clone(),
                    turn.clone(),
                    client.clone(),
                    upstream.clone(),
                );
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        forward(
                            request,
                            upstream.clone(),
                            client.clone(),
                            turn.clone(),
                            hook.clone(),
                        )
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Proxy { addr, hook, server }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn before_next_transaction(&self, hook: impl FnOnce() + Send + 'static) {
        *self.hook.lock().unwrap() = Some(Box::new(hook));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(
    request: Request<Incoming>,
    upstream: Arc<str>,
    client: reqwest::Client,
    turn: Arc<tokio::sync::Mutex<()>>,
    hook: Arc<Mutex<Option<Hook>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let _turn = turn.lock().await;
    let is_transaction = parts
        .headers
        .get("x-amz-target")
        .is_some_and(|t| t.as_bytes().ends_with(b".TransactWriteItems"));
    let due = if is_transaction {
        hook.lock().unwrap().take()
    } else {
        None
    };
    if let Some(hook) = due {
        tokio::task::spawn_blocking(hook).await.unwrap();
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = client
        .request(parts.method, format!("{upstream}{path}"))
        .body(body);
    for (name, value) in &parts.headers {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "transfer-encoding"
        ) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !matches!(name.as_str(), "content-length" | "transfer-encoding") {
            response = response.header(name, value);
        }
    }
    let body = answer.bytes().await.unwrap();
    Ok(response.body(Full::new(body)).unwrap())
}
