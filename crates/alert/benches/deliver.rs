//! Delivery figures for docs/BENCHMARKS.md (run by bench/run-deliver.sh):
//! - the cost the outbox adds to `record`: the same batches recorded into a file store (WAL,
//!   `synchronous = FULL`) with no destination and with three, each alert new;
//! - deliveries per second from a file store to a webhook on 127.0.0.1 that answers 200 at once,
//!   through `deliver_due`, at the default and a higher concurrency.
//!
//! Prints Markdown table rows on stdout. Knobs: DELIVER_ALERTS (default 5000), DELIVER_RUNS
//! (timed runs per case, best kept; default 3).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use bucketwatch_alert::{
    AlertStore, Deliverer, DeliveryConfig, DestinationConfig, DestinationKind, Severity,
    SqliteAlertStore,
};
use bucketwatch_core::Timestamp;

const BATCH: usize = 100;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn destination(id: &str, url: &str) -> DestinationConfig {
    DestinationConfig {
        id: id.into(),
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
    }
}

fn config(ids: &[&str], url: &str, concurrency: usize) -> DeliveryConfig {
    DeliveryConfig {
        destinations: ids.iter().map(|id| destination(id, url)).collect(),
        concurrency,
        ..DeliveryConfig::default()
    }
}

/// Records `alerts` new alerts in batches of [`BATCH`]; returns the seconds taken.
fn record_all(store: &mut SqliteAlertStore, alerts: usize, now: Timestamp) -> f64 {
    let batches: Vec<Vec<_>> = (0..alerts / BATCH)
        .map(|b| {
            (0..BATCH)
                .map(|i| {
                    support::result(
                        "AWS.S3.BucketDeleted",
                        &format!("arn:aws:iam::123456789012:user/u{}", b * BATCH + i),
                        Severity::High,
                    )
                })
                .collect()
        })
        .collect();
    let start = Instant::now();
    for batch in &batches {
        let out = store.record(batch, now).expect("record");
        assert_eq!(out.created.len(), BATCH);
    }
    start.elapsed().as_secs_f64()
}

fn main() {
    let alerts = env_usize("DELIVER_ALERTS", 5000).max(BATCH) / BATCH * BATCH;
    let runs = env_usize("DELIVER_RUNS", 3).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let now = Timestamp(1_795_000_000_000_000_000);
    let url = "http://127.0.0.1:9/unused";

    for (label, ids) in [
        ("record, no destination", &[][..]),
        ("record, 3 destinations", &["a", "b", "c"][..]),
    ] {
        let best = (0..runs)
            .map(|_| {
                let dir = tempfile::tempdir().expect("temp dir");
                let routes = config(ids, url, 16).routes();
                let mut store = SqliteAlertStore::open(dir.path().join("alerts.db"))
                    .expect("open")
                    .with_routes(routes);
                record_all(&mut store, alerts, now)
            })
            .fold(f64::INFINITY, f64::min);
        println!(
            "| {label} | {alerts} alerts in batches of {BATCH} | {:.1} µs/alert | {:.0} alerts/s |",
            best * 1e6 / alerts as f64,
            alerts as f64 / best
        );
    }

    for concurrency in [16, 64] {
        let best = (0..runs)
            .map(|_| {
                runtime.block_on(async {
                    let listener = support::Listener::start().await;
                    let config = config(&["hook"], &listener.url(), concurrency);
                    let dir = tempfile::tempdir().expect("temp dir");
                    let path = dir.path().join("alerts.db");
                    let mut recorder = SqliteAlertStore::open(&path)
                        .expect("open")
                        .with_routes(config.routes());
                    record_all(&mut recorder, alerts, now);
                    let store = SqliteAlertStore::open(&path).expect("open");
                    let mut deliverer = Deliverer::new(&config, store).await.expect("deliverer");
                    let start = Instant::now();
                    let report = deliverer.deliver_due(now).await.expect("deliver");
                    let secs = start.elapsed().as_secs_f64();
                    assert_eq!(report.delivered, alerts);
                    assert_eq!(listener.received().len(), alerts);
                    secs
                })
            })
            .fold(f64::INFINITY, f64::min);
        println!(
            "| webhook on 127.0.0.1, concurrency {concurrency} | {alerts} deliveries | {:.0} µs/delivery | {:.0} deliveries/s |",
            best * 1e6 / alerts as f64,
            alerts as f64 / best
        );
    }
}
