//! Delivery end to end: alerts recorded in a real SQLite store, sent by the deliverer to a real
//! HTTP listener on 127.0.0.1 or a file. Time is driven through `deliver_due(now)`; no test
//! waits for a backoff to pass.

mod support;

use std::time::Duration;

use bucketwatch_alert::{
    AlertStore, AttemptOutcome, ConfigError, Deliverer, DeliveryConfig, DeliveryFilter,
    DeliveryState, DestinationConfig, DestinationKind, RetryPolicy, Severity, SqliteAlertStore,
    delivery_id,
};
use bucketwatch_core::Timestamp;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use support::{Listener, result};

const T0: Timestamp = Timestamp(1_795_000_000_000_000_000);
const SECOND: i64 = 1_000_000_000;

fn at(secs: i64) -> Timestamp {
    Timestamp(T0.0 + secs * SECOND)
}

fn destination(id: &str, kind: DestinationKind) -> DestinationConfig {
    DestinationConfig {
        id: id.into(),
        kind,
        url: None,
        url_env: None,
        secret_env: None,
        headers: Default::default(),
        topic_arn: None,
        path: None,
        min_severity: None,
        log_types: Vec::new(),
        rule_ids: Vec::new(),
    }
}

fn webhook(id: &str, url: &str) -> DestinationConfig {
    DestinationConfig {
        url: Some(url.into()),
        ..destination(id, DestinationKind::Webhook)
    }
}

fn config(destinations: Vec<DestinationConfig>) -> DeliveryConfig {
    DeliveryConfig {
        destinations,
        ..DeliveryConfig::default()
    }
}

/// A store file with routes from `config`, and a deliverer on its own handle to that file.
struct Setup {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    recorder: SqliteAlertStore,
    deliverer: Deliverer,
}

async fn setup(config: &DeliveryConfig) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.db");
    let recorder = SqliteAlertStore::open(&path)
        .unwrap()
        .with_routes(config.routes());
    let deliverer = Deliverer::new(config, SqliteAlertStore::open(&path).unwrap())
        .await
        .unwrap();
    Setup {
        _dir: dir,
        path,
        recorder,
        deliverer,
    }
}

fn deliveries(store: &SqliteAlertStore, state: DeliveryState) -> usize {
    let filter = DeliveryFilter {
        state: Some(state),
        ..DeliveryFilter::default()
    };
    store.list_deliveries(&filter).unwrap().len()
}

#[tokio::test]
async fn webhook_gets_a_signed_panther_shaped_alert_with_custom_headers() {
    let listener = Listener::start().await;
    // An environment variable cargo sets for every test process: a secret the test can read
    // back without changing the environment.
    let secret = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let mut hook = webhook("soc", &listener.url());
    hook.secret_env = Some("CARGO_MANIFEST_DIR".into());
    hook.headers.insert("X-Team".into(), "security".into());
    let mut config = config(vec![hook]);
    config.console_url = Some("https://console.example/".into());
    let mut s = setup(&config).await;
    let created = s
        .recorder
        .record(
            &[result("AWS.S3.BucketDeleted", "alice", Severity::High)],
            at(0),
        )
        .unwrap()
        .created;
    let alert = &created[0];

    let report = s.deliverer.deliver_due(at(1)).await.unwrap();
    assert_eq!(
        (report.delivered, report.retrying, report.failed),
        (1, 0, 0)
    );

    let got = listener.received();
    assert_eq!(got.len(), 1);
    let request = &got[0];
    let id = delivery_id(&alert.alert_id, "soc");
    assert_eq!(request.header("x-bucketwatch-delivery"), id);
    assert_eq!(request.header("x-team"), "security");
    assert_eq!(request.header("content-type"), "application/json");
    let timestamp = request.header("x-bucketwatch-timestamp");
    assert_eq!(timestamp, at(1).unix_seconds().to_string());
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&request.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(request.header("x-bucketwatch-signature"), expected);

    let body = request.json();
    assert_eq!(body["id"], "AWS.S3.BucketDeleted");
    assert_eq!(body["alertId"], alert.alert_id.as_str());
    assert_eq!(body["deliveryId"], id.as_str());
    assert_eq!(body["type"], "RULE");
    assert_eq!(body["severity"], "HIGH");
    assert_eq!(body["title"], "AWS.S3.BucketDeleted by alice");
    assert_eq!(body["dedup"], "alice");
    assert_eq!(body["createdAt"], "2026-11-18 11:06:40.000000000");
    assert_eq!(body["eventCount"], 1);
    assert_eq!(body["alertContext"]["bucket"], "prod-data");
    assert_eq!(body["samples"][0]["eventName"], "DeleteBucket");
    assert_eq!(body["runbook"], "Check who did it.");
    assert_eq!(body["reference"], "https://docs.example.com/rules");
    assert_eq!(body["description"], "Someone deleted a bucket.");
    assert_eq!(
        body["link"],
        format!("https://console.example/alerts/{}", alert.alert_id)
    );

    let log = s
        .deliverer
        .store()
        .delivery_log(&DeliveryFilter::default())
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (
            log[0].outcome,
            log[0].http_status,
            log[0].attempt,
            log[0].at
        ),
        (AttemptOutcome::Delivered, Some(200), 1, at(1))
    );
    assert_eq!(deliveries(s.deliverer.store(), DeliveryState::Delivered), 1);
    let again = s.deliverer.deliver_due(at(100)).await.unwrap();
    assert!(
        again.attempts.is_empty(),
        "a delivered alert is not sent again"
    );
}

#[tokio::test]
async fn failures_are_retried_with_exponential_backoff_until_delivered_once() {
    let listener = Listener::start().await;
    listener.fail_next(3, 500, None, "upstream down");
    let mut config = config(vec![webhook("soc", &listener.url())]);
    config.retry = RetryPolicy {
        base_delay_secs: 10,
        max_delay_secs: 25,
        ..RetryPolicy::default()
    };
    let mut s = setup(&config).await;
    s.recorder
        .record(&[result("R", "alice", Severity::Low)], at(0))
        .unwrap();
    let store = |s: &Setup| {
        s.deliverer
            .store()
            .list_deliveries(&DeliveryFilter::default())
            .unwrap()[0]
            .clone()
    };

    let mut now = at(0);
    let mut waits = Vec::new();
    for attempt in 1..=3u32 {
        let report = s.deliverer.deliver_due(now).await.unwrap();
        assert_eq!(report.retrying, 1, "attempt {attempt}");
        let pending = store(&s);
        assert_eq!(
            (pending.state, pending.attempts),
            (DeliveryState::Pending, attempt)
        );
        assert_eq!(
            pending.last_error.as_deref(),
            Some("HTTP 500: upstream down")
        );
        let wait = Duration::from_nanos((pending.next_attempt.0 - now.0) as u64);
        assert_eq!(wait, config.retry.backoff(&pending.delivery_id, attempt));
        waits.push(wait);
        let early = Timestamp(pending.next_attempt.0 - 1);
        let report = s.deliverer.deliver_due(early).await.unwrap();
        assert!(
            report.attempts.is_empty(),
            "not due before its backoff ends"
        );
        now = pending.next_attempt;
    }
    // Full delays 10, 20, then 25 (the cap); jitter keeps each in [half, full).
    for (wait, full) in waits.iter().zip([10.0, 20.0, 25.0]) {
        let secs = wait.as_secs_f64();
        assert!(secs >= full / 2.0 && secs < full, "{secs} for {full}");
    }
    let report = s.deliverer.deliver_due(now).await.unwrap();
    assert_eq!(report.delivered, 1);

    let got = listener.received();
    let statuses: Vec<_> = got.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 500, 500, 200]);
    let ids: std::collections::HashSet<_> = got
        .iter()
        .map(|r| r.header("x-bucketwatch-delivery").to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "every attempt carries the same delivery id");
    let log = s
        .deliverer
        .store()
        .delivery_log(&DeliveryFilter::default())
        .unwrap();
    let attempts: Vec<_> = log
        .iter()
        .rev()
        .map(|a| (a.attempt, a.outcome, a.http_status))
        .collect();
    assert_eq!(
        attempts,
        [
            (1, AttemptOutcome::Retry, Some(500)),
            (2, AttemptOutcome::Retry, Some(500)),
            (3, AttemptOutcome::Retry, Some(500)),
            (4, AttemptOutcome::Delivered, Some(200)),
        ]
    );
}

#[tokio::test]
async fn retry_after_lengthens_the_wait_and_is_capped() {
    let listener = Listener::start().await;
    listener.fail_next(1, 429, Some(120), "slow down");
    listener.fail_next(1, 503, Some(999_999), "maintenance");
    let mut s = setup(&config(vec![webhook("soc", &listener.url())])).await;
    s.recorder
        .record(&[result("R", "alice", Severity::Low)], at(0))
        .unwrap();
    let next = |s: &Setup| {
        s.deliverer
            .store()
            .list_deliveries(&DeliveryFilter::default())
            .unwrap()[0]
            .next_attempt
    };

    s.deliverer.deliver_due(at(0)).await.unwrap();
    assert_eq!(next(&s), at(120), "Retry-After: 120 beats the 10 s backoff");
    s.deliverer.deliver_due(at(120)).await.unwrap();
    assert_eq!(
        next(&s),
        at(120 + 3600),
        "a huge Retry-After is capped at an hour"
    );
    let report = s.deliverer.deliver_due(at(120 + 3600)).await.unwrap();
    assert_eq!(report.delivered, 1);
}

#[tokio::test]
async fn a_permanent_refusal_fails_at_once_is_kept_and_can_be_requeued() {
    let listener = Listener::start().await;
    listener.fail_next(1, 404, None, "no such hook");
    let mut s = setup(&config(vec![webhook("soc", &listener.url())])).await;
    s.recorder
        .record(&[result("R", "alice", Severity::Low)], at(0))
        .unwrap();

    let report = s.deliverer.deliver_due(at(0)).await.unwrap();
    assert_eq!(report.failed, 1);
    let failed = &s
        .deliverer
        .store()
        .list_deliveries(&DeliveryFilter::default())
        .unwrap()[0];
    assert_eq!(failed.state, DeliveryState::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("HTTP 404: no such hook"));
    assert!(
        s.deliverer
            .deliver_due(at(3600))
            .await
            .unwrap()
            .attempts
            .is_empty()
    );

    assert_eq!(
        s.deliverer
            .store_mut()
            .requeue_failed(None, at(4000))
            .unwrap(),
        1
    );
    let report = s.deliverer.deliver_due(at(4000)).await.unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(listener.received().len(), 2);
    let log = s
        .deliverer
        .store()
        .delivery_log(&DeliveryFilter::default())
        .unwrap();
    let rows: Vec<_> = log
        .iter()
        .map(|a| (a.attempt, a.outcome, a.http_status))
        .collect();
    assert_eq!(
        rows,
        [
            (2, AttemptOutcome::Delivered, Some(200)),
            (1, AttemptOutcome::Failed, Some(404))
        ]
    );
}

#[tokio::test]
async fn a_down_destination_keeps_alerts_pending_then_delivers_each_once() {
    let port = bucketwatch_testkit::free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut s = setup(&config(vec![webhook("soc", &url)])).await;
    let batch: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|d| result("R", d, Severity::Medium))
        .collect();
    s.recorder.record(&batch, at(0)).unwrap();

    let mut now = at(0);
    for _ in 0..5 {
        let report = s.deliverer.deliver_due(now).await.unwrap();
        assert_eq!(report.retrying, 3);
        assert!(
            report.attempts.iter().all(|a| a
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with("cannot connect"))),
            "{:?}",
            report.attempts
        );
        assert!(
            report
                .attempts
                .iter()
                .all(|a| !a.error.as_deref().unwrap().contains(&url)),
            "errors do not repeat the URL"
        );
        now = Timestamp(now.0 + 3600 * SECOND);
    }
    assert_eq!(s.deliverer.store().pending_deliveries().unwrap(), 3);

    let listener = Listener::start_on(port).await;
    let report = s.deliverer.deliver_due(now).await.unwrap();
    assert_eq!(report.delivered, 3);
    assert!(
        s.deliverer
            .deliver_due(at(100_000))
            .await
            .unwrap()
            .attempts
            .is_empty()
    );
    let mut ids: Vec<_> = listener
        .received()
        .iter()
        .map(|r| r.header("x-bucketwatch-delivery").to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each alert delivered exactly once");
    assert_eq!(listener.received().len(), 3);
}

#[tokio::test]
async fn a_down_destination_costs_one_attempt_per_call_and_does_not_hold_up_others() {
    let listener = Listener::start().await;
    let port = bucketwatch_testkit::free_port();
    let mut config = config(vec![
        webhook("down", &format!("http://127.0.0.1:{port}/")),
        webhook("up", &listener.url()),
    ]);
    config.concurrency = 1;
    config.batch_size = 2;
    let mut s = setup(&config).await;
    let batch: Vec<_> = (0..4)
        .map(|i| result("R", &format!("user{i}"), Severity::Low))
        .collect();
    s.recorder.record(&batch, at(0)).unwrap();

    let report = s.deliverer.deliver_due(at(0)).await.unwrap();
    assert_eq!(
        (report.retrying, report.deferred, report.delivered),
        (1, 3, 4),
        "one attempt to the down destination; its other three wait for that retry"
    );
    let filter = DeliveryFilter {
        destination_id: Some("down".into()),
        ..DeliveryFilter::default()
    };
    let down = s.deliverer.store().list_deliveries(&filter).unwrap();
    let retry_at = down.iter().find(|d| d.attempts == 1).unwrap().next_attempt;
    assert!(retry_at > at(0));
    assert!(
        down.iter()
            .all(|d| d.state == DeliveryState::Pending && d.next_attempt == retry_at)
    );
    assert_eq!(
        down.iter().map(|d| d.attempts).sum::<u32>(),
        1,
        "deferred deliveries were not attempted"
    );
    assert_eq!(s.deliverer.store().delivery_log(&filter).unwrap().len(), 1);

    let _recovered = Listener::start_on(port).await;
    let report = s.deliverer.deliver_due(retry_at).await.unwrap();
    assert_eq!((report.delivered, report.deferred), (4, 0));
}

#[tokio::test]
async fn attempt_and_age_limits_fail_a_delivery_but_keep_it() {
    let port = bucketwatch_testkit::free_port();
    let mut config = config(vec![webhook("soc", &format!("http://127.0.0.1:{port}/"))]);
    config.retry.max_attempts = 2;
    let mut s = setup(&config).await;
    s.recorder
        .record(&[result("R", "alice", Severity::Low)], at(0))
        .unwrap();
    s.deliverer.deliver_due(at(0)).await.unwrap();
    let report = s.deliverer.deliver_due(at(60)).await.unwrap();
    assert_eq!(report.failed, 1);
    let error = report.attempts[0].error.clone().unwrap();
    assert!(
        error.starts_with("gave up after 2 attempts over 60s: cannot connect"),
        "{error}"
    );
    assert_eq!(deliveries(s.deliverer.store(), DeliveryState::Failed), 1);

    config.retry = RetryPolicy {
        max_age_secs: 600,
        ..RetryPolicy::default()
    };
    let mut s = setup(&config).await;
    s.recorder
        .record(&[result("R", "bob", Severity::Low)], at(0))
        .unwrap();
    assert_eq!(s.deliverer.deliver_due(at(0)).await.unwrap().retrying, 1);
    assert_eq!(s.deliverer.deliver_due(at(600)).await.unwrap().failed, 1);
}

#[tokio::test]
async fn pending_deliveries_survive_a_restart() {
    let listener = Listener::start().await;
    let config = config(vec![webhook("soc", &listener.url())]);
    let s = setup(&config).await;
    let mut recorder = s.recorder;
    recorder
        .record(&[result("R", "alice", Severity::Low)], at(0))
        .unwrap();
    // The process dies before any delivery: drop every handle.
    drop(recorder);
    drop(s.deliverer);

    let store = SqliteAlertStore::open(&s.path).unwrap();
    let mut deliverer = Deliverer::new(&config, store).await.unwrap();
    let report = deliverer.deliver_due(at(5)).await.unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(listener.received().len(), 1);
}

#[tokio::test]
async fn a_send_whose_outcome_was_never_recorded_is_resent_with_the_same_id() {
    let listener = Listener::start().await;
    listener.set_delay(Duration::from_secs(30));
    let mut s = setup(&config(vec![webhook("soc", &listener.url())])).await;
    s.recorder
        .record(&[result("R", "alice", Severity::Low)], at(0))
        .unwrap();
    // The process "dies" once the request has reached the receiver: the round is dropped
    // before its outcome is recorded.
    let arrived = async {
        while listener.received().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        _ = s.deliverer.deliver_due(at(0)) => panic!("the receiver answers only after 30 s"),
        () = arrived => {}
    }
    listener.set_delay(Duration::ZERO);
    let pending = &s
        .deliverer
        .store()
        .list_deliveries(&DeliveryFilter::default())
        .unwrap()[0];
    assert_eq!(
        (pending.state, pending.attempts),
        (DeliveryState::Pending, 0)
    );
    let lease_end = pending.next_attempt;
    assert!(
        lease_end > at(60),
        "claimed for the request timeout and a margin"
    );
    let early = s
        .deliverer
        .deliver_due(Timestamp(lease_end.0 - 1))
        .await
        .unwrap();
    assert!(
        early.attempts.is_empty(),
        "not sent again while the claim holds"
    );

    let report = s.deliverer.deliver_due(lease_end).await.unwrap();
    assert_eq!(report.delivered, 1);
    let ids: Vec<_> = listener
        .received()
        .iter()
        .map(|r| r.header("x-bucketwatch-delivery").to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "at least once: the receiver saw it twice");
    assert_eq!(ids[0], ids[1], "with one delivery id to drop the repeat by");
}

#[tokio::test]
async fn sends_in_flight_are_bounded_by_concurrency() {
    let listener = Listener::start().await;
    listener.set_delay(Duration::from_millis(50));
    let mut config = config(vec![webhook("soc", &listener.url())]);
    config.concurrency = 2;
    let mut s = setup(&config).await;
    let batch: Vec<_> = (0..6)
        .map(|i| result("R", &format!("user{i}"), Severity::Low))
        .collect();
    s.recorder.record(&batch, at(0)).unwrap();
    let report = s.deliverer.deliver_due(at(0)).await.unwrap();
    assert_eq!(report.delivered, 6);
    assert_eq!(listener.max_in_flight(), 2);
}

#[tokio::test]
async fn slack_gets_a_readable_message_with_log_text_escaped() {
    let listener = Listener::start().await;
    let mut slack = destination("chat", DestinationKind::Slack);
    slack.url = Some(listener.url());
    let mut config = config(vec![slack]);
    config.console_url = Some("https://console.example".into());
    let mut s = setup(&config).await;
    let mut hostile = result("AWS.S3.BucketDeleted", "x", Severity::Critical);
    hostile.title = format!(
        "<!channel> deleted by Tom & Jerry <script>alert(1)</script>{}",
        "z".repeat(500)
    );
    hostile.alert_context =
        Some(serde_json::json!({"requester": "<@U123> & <https://evil.example|click>"}));
    let alert = s
        .recorder
        .record(&[hostile], at(0))
        .unwrap()
        .created
        .remove(0);
    assert_eq!(s.deliverer.deliver_due(at(0)).await.unwrap().delivered, 1);

    let text = listener.received()[0].json()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let (body, link) = text.rsplit_once('\n').unwrap();
    assert_eq!(
        link,
        format!(
            "<https://console.example/alerts/{}|View alert in bucketwatch>",
            alert.alert_id
        )
    );
    assert!(!body.contains('<') && !body.contains('>'), "{body}");
    assert!(body.starts_with(
        "*[CRITICAL] &lt;!channel&gt; deleted by Tom &amp; Jerry &lt;script&gt;alert(1)&lt;/script&gt;zzz"
    ));
    assert!(body.contains("zzz…*"), "the title is cut: {body}");
    assert!(body.contains("Rule: `AWS.S3.BucketDeleted`"));
    assert!(body.contains("Events: 1"));
    assert!(body.contains("• requester: &lt;@U123&gt; &amp; &lt;https://evil.example|click&gt;"));
    assert!(body.contains("Runbook: Check who did it."));
}

#[tokio::test]
async fn file_destination_appends_one_json_line_per_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.jsonl");
    let mut file = destination("archive", DestinationKind::File);
    file.path = Some(out.clone());
    let mut s = setup(&config(vec![file])).await;
    let batch: Vec<_> = (0..5)
        .map(|i| result("R", &format!("user{i}"), Severity::Low))
        .collect();
    let created = s.recorder.record(&batch, at(0)).unwrap().created;
    assert_eq!(s.deliverer.deliver_due(at(0)).await.unwrap().delivered, 5);

    let text = std::fs::read_to_string(&out).unwrap();
    let mut ids: Vec<String> = text
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["deliveryId"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    let mut expected: Vec<_> = created
        .iter()
        .map(|a| delivery_id(&a.alert_id, "archive"))
        .collect();
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn an_unwritable_file_keeps_the_delivery_pending() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = destination("archive", DestinationKind::File);
    file.path = Some(dir.path().join("missing-dir/alerts.jsonl"));
    let mut s = setup(&config(vec![file])).await;
    s.recorder
        .record(&[result("R", "alice", Severity::Low)], at(0))
        .unwrap();
    let report = s.deliverer.deliver_due(at(0)).await.unwrap();
    assert_eq!(report.retrying, 1);
    assert!(
        report.attempts[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with("opening ")
    );
    std::fs::create_dir(dir.path().join("missing-dir")).unwrap();
    let next = s
        .deliverer
        .store()
        .list_deliveries(&DeliveryFilter::default())
        .unwrap()[0]
        .next_attempt;
    assert_eq!(s.deliverer.deliver_due(next).await.unwrap().delivered, 1);
}

#[tokio::test]
async fn run_delivers_until_shutdown() {
    let listener = Listener::start().await;
    let mut config = config(vec![webhook("soc", &listener.url())]);
    config.poll_interval_ms = 20;
    let mut s = setup(&config).await;
    s.recorder
        .record(&[result("R", "alice", Severity::Low)], Timestamp::now())
        .unwrap();
    let shutdown = async {
        while listener.received().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), s.deliverer.run(shutdown))
        .await
        .expect("delivered within 20 s")
        .unwrap();
    assert_eq!(deliveries(s.deliverer.store(), DeliveryState::Delivered), 1);
}

#[tokio::test]
async fn configuration_reads_from_toml_and_is_checked() {
    let text = r#"
        console_url = "https://console.example"
        concurrency = 4

        [retry]
        base_delay_secs = 5
        max_attempts = 10

        [[destinations]]
        id = "soc-webhook"
        kind = "webhook"
        url = "https://hooks.example.com/bucketwatch"
        secret_env = "BUCKETWATCH_WEBHOOK_SECRET"
        headers = { "X-Team" = "security" }
        min_severity = "high"

        [[destinations]]
        id = "slack"
        kind = "slack"
        url_env = "BUCKETWATCH_SLACK_URL"
        log_types = ["AWS.CloudTrail"]

        [[destinations]]
        id = "sns"
        kind = "sns"
        topic_arn = "arn:aws:sns:us-east-1:123456789012:alerts"
        rule_ids = ["AWS.S3.BucketDeleted"]

        [[destinations]]
        id = "archive"
        kind = "file"
        path = "/var/lib/bucketwatch/alerts.jsonl"
    "#;
    let parsed: DeliveryConfig = toml::from_str(text).unwrap();
    parsed.validate().unwrap();
    assert_eq!(parsed.destinations.len(), 4);
    assert_eq!(parsed.destinations[0].min_severity, Some(Severity::High));
    assert_eq!(parsed.retry.base_delay_secs, 5);
    assert_eq!(
        parsed.retry.max_delay_secs,
        RetryPolicy::default().max_delay_secs
    );
    assert_eq!(parsed.batch_size, DeliveryConfig::default().batch_size);

    let typo = toml::from_str::<DeliveryConfig>(
        "[[destinations]]\nid = \"a\"\nkind = \"webhook\"\nurll = \"x\"\n",
    )
    .unwrap_err();
    assert!(typo.to_string().contains("urll"), "{typo}");

    let check = |d: DestinationConfig| config_error(config_with(d));
    assert_eq!(
        check(destination("a", DestinationKind::Sns)),
        "destination \"a\" (sns) needs `topic_arn`"
    );
    let mut stray = webhook("a", "http://127.0.0.1/");
    stray.topic_arn = Some("arn".into());
    assert_eq!(
        check(stray),
        "destination \"a\" (webhook) does not use `topic_arn`; remove it or change `kind`"
    );
    assert!(check(webhook("a b", "http://127.0.0.1/")).contains("is not usable"));
    let twice = config(vec![webhook("a", "http://x/"), webhook("a", "http://y/")]);
    assert!(config_error(twice).contains("configured twice"));
}

fn config_with(d: DestinationConfig) -> DeliveryConfig {
    config(vec![d])
}

fn config_error(config: DeliveryConfig) -> String {
    config.validate().unwrap_err().to_string()
}

#[tokio::test]
async fn secrets_and_urls_stay_out_of_errors() {
    let mut hook = webhook("soc", "http://127.0.0.1:1/");
    hook.secret_env = Some("BUCKETWATCH_TEST_SECRET_THAT_IS_NOT_SET".into());
    let store = SqliteAlertStore::open_in_memory().unwrap();
    let err = Deliverer::new(&config(vec![hook]), store)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ConfigError::MissingEnv { .. }));
    assert_eq!(
        err.to_string(),
        "destination \"soc\": environment variable BUCKETWATCH_TEST_SECRET_THAT_IS_NOT_SET \
         (the signing secret) is not set or not UTF-8; set it in the service's environment"
    );

    let hook = webhook("soc", "ftp://user:hunter2@example.com/");
    let store = SqliteAlertStore::open_in_memory().unwrap();
    let err = Deliverer::new(&config(vec![hook]), store)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
    assert!(err.contains("not a valid http(s) URL"), "{err}");
}
