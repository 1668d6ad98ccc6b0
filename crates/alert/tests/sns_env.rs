//! `Deliverer::new` finds SNS through the standard AWS environment (`AWS_ENDPOINT_URL`, keys,
//! Region), as the service does. Its own test binary with a single test: it sets the process
//! environment, which no other test may read concurrently.

mod support;

use bucketwatch_alert::{
    AlertStore, Deliverer, DeliveryConfig, DestinationConfig, DestinationKind, Severity,
    SqliteAlertStore,
};
use bucketwatch_core::Timestamp;
use bucketwatch_testkit::Moto;

#[test]
fn sns_destination_uses_the_standard_aws_environment() {
    let moto = Moto::start();
    for (name, value) in moto.env() {
        // SAFETY: the only test of this binary, and no thread of it reads the environment yet.
        unsafe { std::env::set_var(name, value) };
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let topic_arn = aws_sdk_sns::Client::new(&aws)
            .create_topic()
            .name("env-alerts")
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let config = DeliveryConfig {
            destinations: vec![DestinationConfig {
                id: "sns".into(),
                kind: DestinationKind::Sns,
                url: None,
                url_env: None,
                secret_env: None,
                headers: Default::default(),
                topic_arn: Some(topic_arn),
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
        store
            .record(&[support::result("R", "alice", Severity::Low)], now)
            .unwrap();
        let mut deliverer = Deliverer::new(&config, store).await.unwrap();
        let report = deliverer.deliver_due(now).await.unwrap();
        assert_eq!(report.delivered, 1, "{:?}", report.attempts);
    });
}
