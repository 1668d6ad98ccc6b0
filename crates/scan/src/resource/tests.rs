//! Resource building from recorded API responses (fixtures under `tests/fixtures`), for the
//! paths moto cannot produce, and the verdicts of the posture reference's BPA, ACL and
//! CloudTrail fixtures (§8 rows in the test names).

use serde_json::json;

use super::*;

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn account() -> AccountRaw {
    AccountRaw {
        endpoint: None,
        account_id: "123456789012".into(),
        partition: "aws".into(),
        region: "us-east-1".into(),
        public_access_block: Fetched::Absent,
        trails: Fetched::Present(json!([])),
    }
}

#[test]
fn recorded_aws_bucket_keeps_mfa_delete_policy_status_and_field_names() {
    let raw: BucketRaw = fixture("bucket-recorded-aws.json");
    let r = bucket_resource(&raw, &account());
    assert_eq!(r["ResourceId"], "arn:aws:s3:::prod-ledger");
    assert_eq!(r["Region"], "eu-west-1");
    assert_eq!(r["Versioning"], "Enabled");
    assert_eq!(r["MFADelete"], "Enabled");
    assert_eq!(r["PolicyStatus"]["IsPublic"], false);
    assert_eq!(r["Tags"], json!({"team": "finance"}));
    assert_eq!(r["ObjectOwnership"], "BucketOwnerEnforced");
    assert_eq!(
        r["EncryptionRules"][1]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "aws:kms"
    );
    assert_eq!(r["LifecycleRules"], Value::Null);
    assert_eq!(r["bucketwatch"]["SecureTransportEnforced"], true);
    assert_eq!(r["bucketwatch"]["PublicRead"], false);
    assert_eq!(r["bucketwatch"]["Unknown"], json!({}));
}

#[test]
fn fixtures_20_21_failed_calls_are_unknown_not_absent() {
    let raw: BucketRaw = fixture("bucket-access-denied.json");
    let r = bucket_resource(&raw, &account());
    let unknown = r["bucketwatch"]["Unknown"].as_object().unwrap();
    assert_eq!(
        unknown["Versioning"],
        "GetBucketVersioning failed: AccessDenied (Access Denied)"
    );
    assert!(unknown.contains_key("PublicAccessBlockConfiguration"));
    assert!(unknown["Tags"].as_str().unwrap().contains("SlowDown"));
    assert_eq!(r["Versioning"], Value::Null);
    // Public ACL, but the policy and the BPA are unknown: exposure is public through the ACL
    // only if no BPA neutralizes it, which cannot be told.
    assert_eq!(r["bucketwatch"]["AclPublicRead"], true);
    assert_eq!(r["bucketwatch"]["PublicRead"], Value::Null);
    assert_eq!(r["bucketwatch"]["PolicyPublic"], Value::Null);
    assert_eq!(r["bucketwatch"]["SecureTransportEnforced"], Value::Null);
}

fn exposure(
    grants: Value,
    policy: Option<&str>,
    bucket_bpa: Value,
    account_bpa: Value,
    ownership: Value,
) -> Value {
    let mut r = json!({
        "ResourceType": "AWS.S3.Bucket", "Arn": "arn:aws:s3:::b", "Name": "b", "AccountId": "123456789012",
        "Grants": grants, "Policy": policy, "PublicAccessBlockConfiguration": bucket_bpa,
        "AccountPublicAccessBlockConfiguration": account_bpa, "ObjectOwnership": ownership,
        "bucketwatch": {"Unknown": {}},
    });
    annotate_bucket(&mut r);
    r["bucketwatch"].clone()
}

fn public_read_acl() -> Value {
    json!([{"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"}])
}

const PUBLIC_POLICY: &str = r#"{"Statement":[{"Sid":"Pub","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}"#;

#[test]
fn fixture_11_block_public_acls_alone_does_not_hide_a_public_acl() {
    let v = exposure(
        public_read_acl(),
        None,
        json!({"BlockPublicAcls": true}),
        Value::Null,
        Value::Null,
    );
    assert_eq!(v["PublicRead"], true);
    assert_eq!(v["PublicWrite"], false);
}

#[test]
fn fixture_12_block_public_policy_alone_does_not_hide_a_public_policy() {
    let v = exposure(
        json!([]),
        Some(PUBLIC_POLICY),
        json!({"BlockPublicPolicy": true}),
        Value::Null,
        Value::Null,
    );
    assert_eq!(v["PublicRead"], true);
    assert_eq!(v["PublicWrite"], true);
    assert!(
        v["PublicReadReasons"][0]
            .as_str()
            .unwrap()
            .contains("statement \"Pub\""),
        "{v}"
    );
}

#[test]
fn fixtures_13_14_ignore_public_acls_at_either_level_neutralizes_the_acl() {
    let v = exposure(
        public_read_acl(),
        None,
        json!({"IgnorePublicAcls": true}),
        json!({"RestrictPublicBuckets": true}),
        Value::Null,
    );
    assert_eq!(v["PublicRead"], false);
    let v = exposure(
        public_read_acl(),
        None,
        json!({"IgnorePublicAcls": true}),
        Value::Null,
        Value::Null,
    );
    assert_eq!(v["PublicRead"], false);
    assert!(
        v["PublicReadReasons"][0]
            .as_str()
            .unwrap()
            .contains("IgnorePublicAcls is set on the bucket")
    );
    let v = exposure(
        public_read_acl(),
        None,
        Value::Null,
        json!({"IgnorePublicAcls": true}),
        Value::Null,
    );
    assert_eq!(v["PublicRead"], false);
}

#[test]
fn restrict_public_buckets_on_the_account_neutralizes_a_public_policy() {
    let v = exposure(
        json!([]),
        Some(PUBLIC_POLICY),
        Value::Null,
        json!({"RestrictPublicBuckets": true}),
        Value::Null,
    );
    assert_eq!(v["PublicRead"], false);
    assert_eq!(v["PolicyPublic"], true, "the policy itself stays public");
}

#[test]
fn bucket_owner_enforced_disables_acls() {
    let v = exposure(
        public_read_acl(),
        None,
        Value::Null,
        Value::Null,
        json!("BucketOwnerEnforced"),
    );
    assert_eq!(v["PublicRead"], false);
    assert_eq!(v["AclPublicRead"], true);
}

#[test]
fn aws_policy_status_wins_over_the_analysis_but_an_emulators_does_not() {
    let mut raw: BucketRaw = fixture("bucket-recorded-aws.json");
    raw.policy_status = Fetched::Present(json!({"IsPublic": true}));
    let r = bucket_resource(&raw, &account());
    assert_eq!(r["bucketwatch"]["PolicyPublic"], true);
    assert_eq!(r["bucketwatch"]["PolicyStatusDisagreement"], true);
    let mut emulated = account();
    emulated.endpoint = Some("http://127.0.0.1:5000".into());
    let r = bucket_resource(&raw, &emulated);
    assert_eq!(r["bucketwatch"]["PolicyPublic"], false);
    assert!(
        r["bucketwatch"]["PolicyPublicReasons"]
            .to_string()
            .contains("bucketwatch's stands")
    );
}

#[test]
fn unparseable_policy_is_unknown_with_the_parse_error() {
    let v = exposure(
        json!([]),
        Some("{not json"),
        Value::Null,
        Value::Null,
        Value::Null,
    );
    assert_eq!(v["PolicyPublic"], Value::Null);
    assert_eq!(v["PublicRead"], Value::Null);
    assert!(
        v["PolicyParseError"]
            .as_str()
            .unwrap()
            .starts_with("the policy is not JSON")
    );
}

#[test]
fn fixtures_15_22_24_25_account_bpa_and_trail_coverage() {
    let raw: AccountRaw = fixture("account-trails.json");
    let r = account_resource(&raw);
    let b = &r["bucketwatch"];
    assert_eq!(b["PublicAccessBlockComplete"], false);
    assert_eq!(
        b["PublicAccessBlockMissing"],
        json!(["BlockPublicAcls", "BlockPublicPolicy"])
    );
    // Advanced selector readOnly=false: writes only (row 22); the classic full selector sits
    // on a single-Region trail and does not count (row 24).
    assert_eq!(b["S3WriteDataEventsLogged"], true);
    assert_eq!(b["S3ReadDataEventsLogged"], false);
    assert!(
        b["S3ReadDataEventsReasons"]
            .to_string()
            .contains("trail regional: full coverage, single-Region")
    );
}

#[test]
fn trail_coverage_table_of_the_reference() {
    let classic = |rw: &str, v: &str| {
        json!({"EventSelectors": [{"ReadWriteType": rw,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": [v]}]}]})
    };
    assert_eq!(
        trail_coverage(&classic("All", "arn:aws:s3")),
        ("full", "full")
    );
    assert_eq!(
        trail_coverage(&classic("All", "arn:aws:s3:::")),
        ("full", "full")
    );
    assert_eq!(
        trail_coverage(&classic("WriteOnly", "arn:aws:s3")),
        ("full", "none")
    );
    assert_eq!(
        trail_coverage(&classic("All", "arn:aws:s3:::logs-bucket/")),
        ("partial", "partial")
    );
    let adv = |extra: Value| {
        let mut f = vec![
            json!({"Field": "eventCategory", "Equals": ["Data"]}),
            json!({"Field": "resources.type", "Equals": ["AWS::S3::Object"]}),
        ];
        if !extra.is_null() {
            f.push(extra);
        }
        json!({"AdvancedEventSelectors": [{"FieldSelectors": f}]})
    };
    assert_eq!(trail_coverage(&adv(Value::Null)), ("full", "full"));
    assert_eq!(
        trail_coverage(&adv(json!({"Field": "readOnly", "Equals": ["false"]}))),
        ("full", "none")
    );
    // Row 23: a resources.ARN prefix narrows coverage to part of the account.
    assert_eq!(
        trail_coverage(&adv(
            json!({"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::one/"]})
        )),
        ("partial", "partial")
    );
    assert_eq!(trail_coverage(&json!({})), ("none", "none"));
}

#[test]
fn linking_finds_log_targets_and_replication_regions() {
    let target =
        json!({"Name": "logs", "Region": "us-east-1", "bucketwatch": {"PublicRead": true}});
    let source = json!({"Name": "src", "Region": "us-east-1",
        "LoggingPolicy": {"TargetBucket": "logs"},
        "ReplicationConfiguration": {"Rules": [{"Status": "Enabled", "Destination": {"Bucket": "arn:aws:s3:::far-away"}}]},
        "bucketwatch": {}});
    let mut all = vec![target, source];
    link_buckets(&mut all, &|name| {
        (name == "far-away").then(|| "ap-southeast-2".to_string())
    });
    assert_eq!(all[1]["bucketwatch"]["LoggingTarget"]["PublicRead"], true);
    assert_eq!(
        all[1]["bucketwatch"]["ReplicationDestinations"][0]["Region"],
        "ap-southeast-2"
    );
}
