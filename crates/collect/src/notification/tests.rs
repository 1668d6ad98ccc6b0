use proptest::prelude::*;
use serde_json::json;

use super::*;

fn s3_event(name: &str, key: &str, size: u64) -> serde_json::Value {
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-03-14T10:00:00.000Z", "eventName": name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.9"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "logs",
               "bucket": {"name": "access-logs", "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                          "arn": "arn:aws:s3:::access-logs"},
               "object": {"key": key, "size": size, "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                          "sequencer": "0055AED6DCD90281E5"}}
    }]})
}

fn sns(message: &str, kind: &str) -> String {
    json!({
        "Type": kind, "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:s3-logs",
        "Subject": "Amazon S3 Notification", "Message": message,
        "Timestamp": "2026-03-14T10:00:01.000Z", "SignatureVersion": "1",
        "Signature": "EXAMPLE", "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        "Token": "2336412f37fb687f5d51e6e2425c464de"
    })
    .to_string()
}

fn one(bucket: &str, key: &str, size: Option<u64>) -> Notice {
    Notice::Objects {
        objects: vec![ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
            size,
            alternate_key: None,
        }],
        skipped: 0,
    }
}

#[test]
fn s3_event_record_with_a_form_encoded_key() {
    let body = s3_event(
        "ObjectCreated:Put",
        "logs/2026-03-14+10%3A00%3A00%2B0000.log",
        812,
    )
    .to_string();
    assert_eq!(
        classify(&body).unwrap(),
        one(
            "access-logs",
            "logs/2026-03-14 10:00:00+0000.log",
            Some(812)
        )
    );
}

#[test]
fn moto_encodes_slashes_and_both_spellings_decode_alike() {
    let aws = s3_event("ObjectCreated:Put", "in/a+b%2Bc.txt", 5).to_string();
    let moto = s3_event("ObjectCreated:Put", "in%2Fa+b%2Bc.txt", 5).to_string();
    assert_eq!(
        classify(&aws).unwrap(),
        one("access-logs", "in/a b+c.txt", Some(5))
    );
    assert_eq!(classify(&aws).unwrap(), classify(&moto).unwrap());
}

#[test]
fn sns_envelope_is_unwrapped_and_raw_delivery_is_the_inner_message() {
    let inner = s3_event(
        "ObjectCreated:CompleteMultipartUpload",
        "AWSLogs/x.json.gz",
        4096,
    )
    .to_string();
    let expected = one("access-logs", "AWSLogs/x.json.gz", Some(4096));
    assert_eq!(classify(&sns(&inner, "Notification")).unwrap(), expected);
    assert_eq!(classify(&inner).unwrap(), expected);
}

#[test]
fn only_object_creations_of_non_empty_objects_are_read() {
    let mut body = s3_event("ObjectCreated:Put", "keep.log", 10);
    let records = body["Records"].as_array_mut().unwrap();
    for (name, key, size) in [
        ("ObjectRemoved:Delete", "gone.log", 10),
        ("ObjectCreated:Put", "folder/", 0),
        ("ObjectCreated:Put", "empty.log", 0),
        ("ObjectCreated:Copy", "copied.log", 3),
    ] {
        records.push(s3_event(name, key, size)["Records"][0].clone());
    }
    let Notice::Objects { objects, skipped } = classify(&body.to_string()).unwrap() else {
        panic!("objects expected");
    };
    let keys: Vec<_> = objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["keep.log", "copied.log"]);
    assert_eq!(skipped, 3);
}

#[test]
fn test_events_and_validation_messages_are_acknowledged() {
    let test_event = json!({"Service": "Amazon S3", "Event": "s3:TestEvent",
        "Time": "2026-03-14T10:00:00.000Z", "Bucket": "access-logs",
        "RequestId": "5582815E1AEA5ADF", "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"})
    .to_string();
    assert!(matches!(classify(&test_event), Ok(Notice::Ignore(_))));
    assert!(matches!(
        classify(&sns(&test_event, "Notification")),
        Ok(Notice::Ignore(_))
    ));
    assert!(matches!(
        classify("CloudTrail validation message."),
        Ok(Notice::Ignore(_))
    ));
    assert!(matches!(
        classify(&sns("CloudTrail validation message.", "Notification")),
        Ok(Notice::Ignore(_))
    ));
}

#[test]
fn cloudtrail_notification_keys_are_used_as_given() {
    let body = json!({"s3Bucket": "trail-bucket", "s3ObjectKey": [
        "AWSLogs/123456789012/CloudTrail/us-east-1/2026/03/14/a+b.json.gz",
        "AWSLogs/123456789012/CloudTrail/us-east-1/2026/03/14/c.json.gz"]})
    .to_string();
    let Notice::Objects { objects, skipped } = classify(&sns(&body, "Notification")).unwrap()
    else {
        panic!("objects expected");
    };
    assert_eq!(skipped, 0);
    assert_eq!(objects.len(), 2);
    assert!(objects[0].key.ends_with("/a+b.json.gz"));
    assert_eq!(objects[0].size, None);
}

#[test]
fn eventbridge_object_created_keeps_the_decoded_key_as_an_alternate() {
    let body = json!({"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created", "source": "aws.s3", "account": "123456789012",
        "time": "2026-03-14T10:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:s3:::access-logs"],
        "detail": {"version": "0", "bucket": {"name": "access-logs"},
            "object": {"key": "a+b.log", "size": 99, "etag": "b1946ac92492d2347c6235b4d2611184",
                       "sequencer": "00617F08299329D189"},
            "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
            "source-ip-address": "1.2.3.4", "reason": "PutObject"}})
    .to_string();
    let Notice::Objects { objects, .. } = classify(&body).unwrap() else {
        panic!("objects expected");
    };
    assert_eq!(objects[0].key, "a+b.log");
    assert_eq!(objects[0].alternate_key.as_deref(), Some("a b.log"));
    assert_eq!(objects[0].size, Some(99));

    let tags = body.replace("Object Created", "Object Tags Added");
    assert!(matches!(classify(&tags), Ok(Notice::Ignore(_))));
}

#[test]
fn subscription_confirmation_carries_topic_and_token() {
    let body = sns("You have chosen to subscribe", "SubscriptionConfirmation");
    assert_eq!(
        classify(&body).unwrap(),
        Notice::ConfirmSubscription {
            topic_arn: "arn:aws:sns:us-east-1:123456789012:s3-logs".into(),
            token: "2336412f37fb687f5d51e6e2425c464de".into(),
        }
    );
}

#[test]
fn unknown_shapes_are_errors_that_show_the_body() {
    let err = classify("hello").unwrap_err();
    assert!(err.to_string().contains("\"hello\""), "{err}");
    assert!(matches!(
        classify(r#"{"foo": 1}"#),
        Err(NotificationError::Unrecognized { .. })
    ));
    assert!(matches!(
        classify(r#"{"Records": [{"eventSource": "aws:dynamodb"}]}"#),
        Err(NotificationError::Unrecognized { .. })
    ));
    assert!(matches!(
        classify(&sns("{}", "Bogus")),
        Err(NotificationError::SnsType { .. })
    ));
    let long = format!("{{\"x\": \"{}\"}}", "y".repeat(10_000));
    assert!(classify(&long).unwrap_err().to_string().len() < 400);
}

#[test]
fn malformed_escapes_fail_the_message() {
    for key in ["bad%2", "bad%zz.log", "bad%ff.log"] {
        let body = s3_event("ObjectCreated:Put", key, 1).to_string();
        let err = classify(&body).unwrap_err();
        assert!(matches!(err, NotificationError::Key { .. }), "{key}: {err}");
    }
}

fn form_encode(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b' ' => out.push('+'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

proptest! {
    #[test]
    fn form_decoding_inverts_form_encoding(key in "\\PC{0,40}") {
        prop_assert_eq!(form_decode(&form_encode(&key)).unwrap(), key);
    }

    #[test]
    fn classify_never_panics(body in "\\PC{0,200}") {
        let _ = classify(&body);
    }
}
