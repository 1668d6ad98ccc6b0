//! The stdout destination writes to the process's real standard output, which the test harness
//! does not capture; so the test runs itself as a child process and reads the child's output.

mod support;

use std::process::Command;

use bucketwatch_alert::{
    AlertStore, Deliverer, DeliveryConfig, DestinationConfig, DestinationKind, Severity,
    SqliteAlertStore, delivery_id,
};
use bucketwatch_core::Timestamp;

const CHILD: &str = "BUCKETWATCH_STDOUT_TEST_CHILD";

#[test]
fn stdout_destination_writes_one_json_line_per_delivery() {
    if std::env::var_os(CHILD).is_some() {
        deliver_to_stdout();
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "stdout_destination_writes_one_json_line_per_delivery",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    // The harness prints "test NAME ... " before the first line without a newline.
    let alerts: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|line| line.find("{\"id\"").map(|at| &line[at..]))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(alerts.len(), 2, "{stdout}");
    let ids: Vec<_> = alerts
        .iter()
        .map(|a| a["deliveryId"].as_str().unwrap())
        .collect();
    for alert in &alerts {
        let expected = delivery_id(alert["alertId"].as_str().unwrap(), "console");
        assert!(ids.contains(&expected.as_str()));
    }
}

fn deliver_to_stdout() {
    let config = DeliveryConfig {
        destinations: vec![DestinationConfig {
            id: "console".into(),
            kind: DestinationKind::Stdout,
            url: None,
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
    };
    let mut store = SqliteAlertStore::open_in_memory()
        .unwrap()
        .with_routes(config.routes());
    let now = Timestamp(1_795_000_000_000_000_000);
    let batch = [
        support::result("R", "alice", Severity::Low),
        support::result("R", "bob", Severity::Low),
    ];
    store.record(&batch, now).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(async {
        let mut deliverer = Deliverer::new(&config, store).await.unwrap();
        deliverer.deliver_due(now).await.unwrap()
    });
    assert_eq!(report.delivered, 2);
}
