//! The SNS destination against a real moto server: publish to a topic with an SQS
//! subscription, then read what the queue received.

mod support;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sns::config::Credentials;
use bucketwatch_alert::{
    AlertStore, Deliverer, DeliveryConfig, DestinationConfig, DestinationKind, Severity,
    SqliteAlertStore, delivery_id,
};
use bucketwatch_core::Timestamp;
use bucketwatch_testkit::{ACCESS_KEY, Moto, REGION, SECRET_KEY};
use serde_json::Value;
use support::result;

#[tokio::test]
async fn sns_publishes_the_alert_with_a_short_subject_and_attributes() {
    let moto = Moto::start();
    let aws = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "moto"))
        .load()
        .await;
    let sns = aws_sdk_sns::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let topic_arn = sns
        .create_topic()
        .name("bucketwatch-alerts")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name("alert-inbox")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .unwrap();

    let config = DeliveryConfig {
        destinations: vec![DestinationConfig {
            id: "sns".into(),
            kind: DestinationKind::Sns,
            url: None,
            url_env: None,
            secret_env: None,
            headers: Default::default(),
            topic_arn: Some(topic_arn.clone()),
            path: None,
            min_severity: None,
            log_types: Vec::new(),
            rule_ids: Vec::new(),
        }],
        ..DeliveryConfig::default()
    };
    let mut recorder = SqliteAlertStore::open_in_memory()
        .unwrap()
        .with_routes(config.routes());
    let mut hostile = result("AWS.S3.BucketDeleted", "alice", Severity::High);
    hostile.title = format!("Bucket deleted\nby {}", "é".repeat(200));
    let now = Timestamp(1_795_000_000_000_000_000);
    let alert = recorder.record(&[hostile], now).unwrap().created.remove(0);
    // The recorder is an in-memory store, so the deliverer reads that same handle.
    let mut deliverer = Deliverer::with_aws_config(&config, recorder, &aws).unwrap();
    let report = deliverer.deliver_due(now).await.unwrap();
    assert_eq!(report.delivered, 1, "{:?}", report.attempts);

    let messages = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(messages.len(), 1);
    let envelope: Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(envelope["TopicArn"], topic_arn.as_str());
    let subject = envelope["Subject"].as_str().unwrap();
    assert!(
        subject.starts_with("[HIGH] Bucket deleted by éé"),
        "{subject}"
    );
    assert!(subject.chars().count() < 100, "{subject}");
    let id = delivery_id(&alert.alert_id, "sns");
    assert_eq!(
        envelope["MessageAttributes"]["bucketwatch.delivery_id"]["Value"],
        id.as_str()
    );
    assert_eq!(
        envelope["MessageAttributes"]["bucketwatch.severity"]["Value"],
        "HIGH"
    );
    let body: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(body["alertId"], alert.alert_id.as_str());
    assert_eq!(body["deliveryId"], id.as_str());
    assert_eq!(body["id"], "AWS.S3.BucketDeleted");
    assert_eq!(body["samples"][0]["eventName"], "DeleteBucket");
}

#[tokio::test]
async fn a_missing_topic_is_a_permanent_failure_with_the_reason() {
    let moto = Moto::start();
    let aws = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "moto"))
        .load()
        .await;
    let config = DeliveryConfig {
        destinations: vec![DestinationConfig {
            id: "sns".into(),
            kind: DestinationKind::Sns,
            url: None,
            url_env: None,
            secret_env: None,
            headers: Default::default(),
            topic_arn: Some("arn:aws:sns:us-east-1:123456789012:nowhere".into()),
            path: None,
            min_severity: None,
            log_types: Vec::new(),
            rule_ids: Vec::new(),
        }],
        ..DeliveryConfig::default()
    };
    let mut recorder = SqliteAlertStore::open_in_memory()
        .unwrap()
        .with_routes(config.routes());
    let now = Timestamp(1_795_000_000_000_000_000);
    recorder
        .record(&[result("R", "alice", Severity::Low)], now)
        .unwrap();
    let mut deliverer = Deliverer::with_aws_config(&config, recorder, &aws).unwrap();
    let report = deliverer.deliver_due(now).await.unwrap();
    assert_eq!(report.failed, 1, "{:?}", report.attempts);
    let error = report.attempts[0].error.as_deref().unwrap();
    assert!(error.starts_with("SNS Publish: "), "{error}");
    assert!(error.contains("NotFound"), "{error}");
}
