use super::*;
use bucketwatch_core::IndicatorKind::*;

const GET_OBJECT: &str = r#"{"eventVersion":"1.10","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID:alice","arn":"arn:aws:sts::111122223333:assumed-role/reader/alice","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEID","arn":"arn:aws:iam::111122223333:role/reader","accountId":"111122223333","userName":"reader"},"attributes":{"creationDate":"2026-03-14T08:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-03-14T09:15:02Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.45","userAgent":"[aws-cli/2.17.60]","requestParameters":{"bucketName":"photos-prod","Host":"photos-prod.s3.eu-west-1.amazonaws.com","key":"albums/a.jpg"},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredOut":524288,"x-amz-id-2":"abc="},"requestID":"7K2M9XQ4T1B6N8C3","eventID":"5f1c2a9e-8b7d-4e6f-a5c4-1d2e3f4a5b6c","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::photos-prod/albums/a.jpg"},{"accountId":"444455556666","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::photos-prod"}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","eventCategory":"Data","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"photos-prod.s3.eu-west-1.amazonaws.com"},"futureField":{"nested":[1,2]}}"#;

fn scan(
    json: &str,
    expected: Option<LogType>,
) -> (Result<JsonRecord, JsonRecordError>, Indicators) {
    let mut ind = Indicators::new();
    let r = JsonScanner::new().scan(json.as_bytes(), expected, &mut ind);
    (r, ind)
}

#[test]
fn s3_data_event_with_indicators() {
    let (r, mut ind) = scan(GET_OBJECT, None);
    let r = r.unwrap();
    assert_eq!(r.log_type, Some(LogType::CloudTrail));
    assert_eq!(
        r.event_time.unwrap().to_string(),
        "2026-03-14 09:15:02.000000000"
    );
    assert_eq!(r.body, 0..GET_OBJECT.len());
    assert!(!r.has_p_fields);
    assert_eq!(ind.values(IpAddresses), vec!["203.0.113.45"]);
    assert_eq!(
        ind.values(AwsAccountIds),
        vec!["111122223333", "444455556666"]
    );
    assert_eq!(
        ind.values(AwsArns),
        vec![
            "arn:aws:iam::111122223333:role/reader",
            "arn:aws:s3:::photos-prod",
            "arn:aws:s3:::photos-prod/albums/a.jpg",
            "arn:aws:sts::111122223333:assumed-role/reader/alice",
        ]
    );
}

#[test]
fn service_caller_is_a_domain_and_instance_arns_give_instance_ids() {
    let json = r#"{"eventVersion":"1.08","eventTime":"2026-03-14T09:15:02Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","sourceIPAddress":"cloudtrail.amazonaws.com","userIdentity":{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"},"requestParameters":{"x":{"arn":"arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc123"}, "ipv6Addresses":["2001:db8::5"]}}"#;
    let (r, mut ind) = scan(json, None);
    assert_eq!(r.unwrap().log_type, Some(LogType::CloudTrail));
    assert_eq!(ind.values(DomainNames), vec!["cloudtrail.amazonaws.com"]);
    assert_eq!(ind.values(AwsInstanceIds), vec!["i-0abc123"]);
    assert_eq!(ind.values(IpAddresses), vec!["2001:db8::5"]);
}

#[test]
fn digest_and_insight() {
    let digest = r#"{"awsAccountId":"111122223333","digestStartTime":"2026-03-14T08:00:00Z","digestEndTime":"2026-03-14T09:00:00Z","digestS3Bucket":"trail","digestS3Object":"k","digestPublicKeyFingerprint":"f","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":null,"oldestEventTime":null,"previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":[{"s3Bucket":"trail","s3Object":"o","hashValue":"9BF39F4B7B45A6F4C2EE3B9EA2BB0D3C8A0A5B3A7A2A1F1E0D9C8B7A6F5E4D3C","hashAlgorithm":"SHA-256"}]}"#;
    let (r, mut ind) = scan(digest, None);
    let r = r.unwrap();
    assert_eq!(r.log_type, Some(LogType::CloudTrailDigest));
    assert_eq!(
        r.event_time.unwrap().to_string(),
        "2026-03-14 09:00:00.000000000"
    );
    assert_eq!(ind.values(AwsAccountIds), vec!["111122223333"]);
    assert_eq!(
        ind.values(Sha256Hashes),
        vec!["9bf39f4b7b45a6f4c2ee3b9ea2bb0d3c8a0a5b3a7a2a1f1e0d9c8b7a6f5e4d3c"]
    );

    let insight = r#"{"eventVersion":"1.08","eventTime":"2026-03-14T09:15:00Z","awsRegion":"us-east-1","eventID":"e","eventType":"AwsCloudTrailInsight","recipientAccountId":"111122223333","sharedEventID":"12345678-aaaa-bbbb-cccc-1234567890ab","insightDetails":{"state":"Start","eventSource":"s3.amazonaws.com","eventName":"PutObject","insightType":"ApiCallRateInsight"},"eventCategory":"Insight"}"#;
    let (r, mut ind) = scan(insight, None);
    assert_eq!(r.unwrap().log_type, Some(LogType::CloudTrailInsight));
    assert_eq!(
        ind.values(TraceIds),
        vec!["12345678-aaaa-bbbb-cccc-1234567890ab"]
    );
}

#[test]
fn eventbridge_envelope_is_unwrapped() {
    let json = format!(
        r#"{{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","account":"111122223333","time":"2026-03-14T09:15:03Z","region":"eu-west-1","resources":[],"detail":{GET_OBJECT}}}"#
    );
    let (r, _) = scan(&json, Some(LogType::CloudTrail));
    let r = r.unwrap();
    assert_eq!(r.log_type, Some(LogType::CloudTrail));
    assert_eq!(&json[r.body.clone()], GET_OBJECT);
}

#[test]
fn forced_types_and_unrecognized_objects_explain_themselves() {
    let (r, _) = scan(GET_OBJECT, Some(LogType::CloudTrailDigest));
    assert!(
        r.unwrap_err()
            .to_string()
            .contains("expected AWS.CloudTrailDigest but the record is AWS.CloudTrail")
    );
    let (r, _) = scan(r#"{"hello":"world"}"#, None);
    assert!(matches!(r, Err(JsonRecordError::NotRecognized(_))));
    let (r, _) = scan(
        r#"{"eventVersion":"1","eventSource":"s","eventName":"n"}"#,
        Some(LogType::CloudTrail),
    );
    assert_eq!(r.unwrap_err().to_string(), "eventTime: missing");
    let (r, _) = scan(
        r#"{"eventVersion":"1","eventSource":"s","eventName":"n","eventTime":"yesterday"}"#,
        None,
    );
    assert_eq!(
        r.unwrap_err().to_string(),
        "eventTime: not an ISO-8601 time"
    );
    let (r, _) = scan(r#"{"eventVersion":"1","#, None);
    assert!(matches!(r, Err(JsonRecordError::Syntax(_))));
    let (r, _) = scan("[1,2]", None);
    assert_eq!(r.unwrap_err(), JsonRecordError::NotAnObject);
    let (r, _) = scan(r#"{"a":1} trailing"#, None);
    assert!(matches!(r, Err(JsonRecordError::Syntax(_))));
}

#[test]
fn own_p_fields_are_noticed() {
    let json = GET_OBJECT.replacen('{', r#"{"p_row_id":"old","#, 1);
    let (r, _) = scan(&json, None);
    assert!(r.unwrap().has_p_fields);
}

#[test]
fn public_samples_classify_when_present() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples");
    let Ok(text) = std::fs::read_to_string(dir.join("cloudtrail_digest_awsdocs_example.json"))
    else {
        return;
    };
    let (r, _) = scan(&text, None);
    assert_eq!(r.unwrap().log_type, Some(LogType::CloudTrailDigest));
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let mut ind = Indicators::new();
        let _ = JsonScanner::new().scan(&bytes, None, &mut ind);
    }

    #[test]
    fn deep_nesting_never_overflows(depth in 1usize..3000) {
        let json = format!(r#"{{"eventVersion":"1","eventSource":"s","eventName":"n","eventTime":"2026-01-01T00:00:00Z","x":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
        let mut ind = Indicators::new();
        let _ = JsonScanner::new().scan(json.as_bytes(), None, &mut ind);
    }
}
