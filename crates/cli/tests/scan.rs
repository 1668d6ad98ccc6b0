//! End to end: a real moto server, about twenty buckets configured through the AWS SDK, the real
//! `bucketwatch scan` binary with the moto environment, and the exact status of every bucket
//! under every bucket policy, plus the account resource, `--disable`, suppressions from the
//! settings file, and offline `--resources` evaluation of the JSON the scan wrote.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use aws_sdk_s3::types::{
    BucketCannedAcl, BucketLocationConstraint, BucketVersioningStatus, CorsConfiguration, CorsRule,
    CreateBucketConfiguration, DefaultRetention, Event, ExpirationStatus, IndexDocument,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NotificationConfiguration,
    ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule,
    ObjectOwnership, OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration,
    QueueConfiguration, ReplicationConfiguration, ReplicationRule, ReplicationRuleFilter,
    ReplicationRuleStatus, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
    WebsiteConfiguration,
};
use bucketwatch_testkit::{ACCOUNT_ID, Moto, REGION, workspace_root};
use serde_json::Value;

/// Bucket policies in column order of the expected table below.
const POLICIES: &[&str] = &[
    "AWS.S3.Bucket.PublicRead",
    "AWS.S3.Bucket.PublicWrite",
    "AWS.S3.Bucket.PublicReadWriteACL",
    "AWS.S3.Bucket.SecureAccess",
    "AWS.S3.Bucket.CrossAccountAdminActions",
    "AWS.S3.Bucket.PublicAccessBlock",
    "AWS.S3.Bucket.ACLsDisabled",
    "AWS.S3.Bucket.Encryption",
    "AWS.S3.Bucket.KMSEncryption",
    "AWS.S3.Bucket.KMSCustomerManagedKey",
    "AWS.S3.Bucket.SSECBlocked",
    "AWS.S3.Bucket.Logging",
    "AWS.S3.Bucket.LoggingTargetSafe",
    "AWS.S3.Bucket.Versioning",
    "AWS.S3.Bucket.MFADelete",
    "AWS.S3.Bucket.VersionedLifecycle",
    "AWS.S3.Bucket.Lifecycle",
    "AWS.S3.Bucket.ObjectLock",
    "AWS.S3.Bucket.CrossRegionReplication",
    "AWS.S3.Bucket.EventNotifications",
    "AWS.S3.Bucket.PublicWebsite",
    "AWS.S3.Bucket.CORSWildcardWrite",
];

/// Per bucket, one letter per policy above: p pass, f fail, u unknown, e error.
/// Buckets without encryption fail Encryption (moto returns no default rule, unlike AWS).
const EXPECTED: &[(&str, &str)] = &[
    //                              R W A S X B L E K C C L T V M V L O R N W C
    (
        "bw-acl-ignored",
        "p p p f p f f f f p f f p f f p f f f f p p",
    ),
    (
        "bw-acl-public-read",
        "f p f f p f f f f p f f p f f p f f f f p p",
    ),
    ("bw-aes", "p p p f p f p p f p f f p f f p f f f f p p"),
    ("bw-bpa-full", "p p p f p p p f f p f f p f f p f f f f p p"),
    ("bw-cors", "p p p f p f p f f p f f p f f p f f f f p f"),
    (
        "bw-cross-account",
        "p p p f f f p f f p f f p f f p f f f f p p",
    ),
    (
        "bw-deny-http",
        "p p p p p f p f f p f f p f f p f f f f p p",
    ),
    (
        "bw-deny-http-bucket-only",
        "p p p f p f p f f p f f p f f p f f f f p p",
    ),
    (
        "bw-deny-http-get-only",
        "p p p f p f p f f p f f p f f p f f f f p p",
    ),
    (
        "bw-deny-non-org",
        "p p p f p f p f f p f f p f f p f f f f p p",
    ),
    ("bw-kms", "p p p f p f p p p p f f p f f p f f f f p p"),
    (
        "bw-kms-aws-managed",
        "p p p f p f p p p f f f p f f p f f f f p p",
    ),
    ("bw-logged", "p p p f p f p f f p f p p f f p f f f f p p"),
    ("bw-logs", "p p p f p f f f f p f f p f f p f f f f p p"),
    ("bw-notify", "p p p f p f p f f p f f p f f p f f f p p p"),
    (
        "bw-object-lock",
        "p p p f p f p f f p f f p p f f f p f f p p",
    ),
    (
        "bw-ownership-enforced",
        "p p p f p f p f f p f f p f f p f f f f p p",
    ),
    ("bw-plain", "p p p f p f p f f p f f p f f p f f f f p p"),
    (
        "bw-public-policy",
        "f p p f p f p f f p f f p f f p f f f f p p",
    ),
    (
        "bw-replica-west",
        "p p p f p f p f f p f f p p f f f f f f p p",
    ),
    (
        "bw-replicated",
        "p p p f p f p f f p f f p p f f f f p f p p",
    ),
    (
        "bw-source-ip",
        "p p p f p f p f f p f f p f f p f f f f p p",
    ),
    (
        "bw-trail-logs",
        "p p p f p f p f f p f f p f f p f f f f p p",
    ),
    (
        "bw-versioned-lifecycle",
        "p p p f p f p f f p f f p p p p p f f f p p",
    ),
    ("bw-website", "f p p f p f p f f p f f p f f p f f f f f p"),
];

fn s3(moto: &Moto, region: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(region.to_string()))
        .endpoint_url(moto.endpoint())
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

fn policy(bucket: &str, statements: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.replace("BUCKET", bucket)
    )
}

const DENY_HTTP: &str = r#"{"Sid":"DenyHttp","Effect":"Deny","Principal":"*","Action":"s3:*",
  "Resource":["arn:aws:s3:::BUCKET","arn:aws:s3:::BUCKET/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#;

async fn seed(moto: &Moto) {
    let c = s3(moto, REGION);
    let plain = [
        "bw-plain",
        "bw-public-policy",
        "bw-source-ip",
        "bw-deny-http",
        "bw-deny-http-get-only",
        "bw-deny-http-bucket-only",
        "bw-deny-non-org",
        "bw-acl-public-read",
        "bw-acl-ignored",
        "bw-bpa-full",
        "bw-kms",
        "bw-kms-aws-managed",
        "bw-aes",
        "bw-logs",
        "bw-logged",
        "bw-versioned-lifecycle",
        "bw-replicated",
        "bw-notify",
        "bw-website",
        "bw-cors",
        "bw-ownership-enforced",
        "bw-cross-account",
        "bw-trail-logs",
    ];
    for b in plain {
        c.create_bucket().bucket(b).send().await.unwrap();
    }
    c.create_bucket()
        .bucket("bw-object-lock")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    s3(moto, "us-west-2")
        .create_bucket()
        .bucket("bw-replica-west")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::UsWest2)
                .build(),
        )
        .send()
        .await
        .unwrap();

    let put_policy = |b: &'static str, statements: &'static str| {
        let c = c.clone();
        async move {
            c.put_bucket_policy()
                .bucket(b)
                .policy(policy(b, statements))
                .send()
                .await
                .unwrap();
        }
    };
    put_policy("bw-public-policy", r#"{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BUCKET/*"}"#).await;
    put_policy("bw-source-ip", r#"{"Sid":"Office","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BUCKET/*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}"#).await;
    put_policy("bw-deny-http", DENY_HTTP).await;
    put_policy("bw-deny-http-get-only", r#"{"Effect":"Deny","Principal":"*","Action":"s3:Get*","Resource":["arn:aws:s3:::BUCKET","arn:aws:s3:::BUCKET/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#).await;
    put_policy("bw-deny-http-bucket-only", r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::BUCKET","Condition":{"Bool":{"aws:SecureTransport":false}}}"#).await;
    put_policy("bw-deny-non-org", r#"{"Sid":"Pub","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BUCKET/*"},
        {"Sid":"OrgOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::BUCKET/*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-abc123"}}}"#).await;
    put_policy("bw-website", r#"{"Sid":"Site","Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::BUCKET/*"}"#).await;
    put_policy("bw-cross-account", r#"{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"s3:Put*","Resource":["arn:aws:s3:::BUCKET","arn:aws:s3:::BUCKET/*"]}"#).await;

    c.put_bucket_acl()
        .bucket("bw-acl-public-read")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    c.put_bucket_acl()
        .bucket("bw-acl-ignored")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let bpa = |i: bool, all: bool| {
        PublicAccessBlockConfiguration::builder()
            .block_public_acls(all)
            .ignore_public_acls(i)
            .block_public_policy(all)
            .restrict_public_buckets(all)
            .build()
    };
    c.put_public_access_block()
        .bucket("bw-acl-ignored")
        .public_access_block_configuration(bpa(true, false))
        .send()
        .await
        .unwrap();
    c.put_public_access_block()
        .bucket("bw-bpa-full")
        .public_access_block_configuration(bpa(true, true))
        .send()
        .await
        .unwrap();

    let sse = |alg: ServerSideEncryption, key: Option<&str>| {
        ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(alg)
                            .set_kms_master_key_id(key.map(str::to_string))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build()
            .unwrap()
    };
    c.put_bucket_encryption()
        .bucket("bw-kms")
        .server_side_encryption_configuration(sse(
            ServerSideEncryption::AwsKms,
            Some("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ))
        .send()
        .await
        .unwrap();
    c.put_bucket_encryption()
        .bucket("bw-kms-aws-managed")
        .server_side_encryption_configuration(sse(ServerSideEncryption::AwsKms, None))
        .send()
        .await
        .unwrap();
    c.put_bucket_encryption()
        .bucket("bw-aes")
        .server_side_encryption_configuration(sse(ServerSideEncryption::Aes256, None))
        .send()
        .await
        .unwrap();

    c.put_bucket_acl()
        .bucket("bw-logs")
        .acl(BucketCannedAcl::from("log-delivery-write"))
        .send()
        .await
        .unwrap();
    c.put_bucket_logging()
        .bucket("bw-logged")
        .bucket_logging_status(
            aws_sdk_s3::types::BucketLoggingStatus::builder()
                .logging_enabled(
                    aws_sdk_s3::types::LoggingEnabled::builder()
                        .target_bucket("bw-logs")
                        .target_prefix("bw-logged/")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();

    let enable_versioning = |b: &'static str, client: aws_sdk_s3::Client| async move {
        client
            .put_bucket_versioning()
            .bucket(b)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    };
    enable_versioning("bw-versioned-lifecycle", c.clone()).await;
    enable_versioning("bw-replicated", c.clone()).await;
    enable_versioning("bw-replica-west", s3(moto, "us-west-2")).await;
    c.put_bucket_lifecycle_configuration()
        .bucket("bw-versioned-lifecycle")
        .lifecycle_configuration(
            aws_sdk_s3::types::BucketLifecycleConfiguration::builder()
                .rules(
                    LifecycleRule::builder()
                        .id("expire-old")
                        .status(ExpirationStatus::Enabled)
                        .filter(LifecycleRuleFilter::builder().prefix("").build())
                        .expiration(LifecycleExpiration::builder().days(365).build())
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    c.put_object_lock_configuration()
        .bucket("bw-object-lock")
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(
                            DefaultRetention::builder()
                                .mode(ObjectLockRetentionMode::Governance)
                                .days(30)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.put_bucket_replication()
        .bucket("bw-replicated")
        .replication_configuration(
            ReplicationConfiguration::builder()
                .role("arn:aws:iam::123456789012:role/replication")
                .rules(
                    ReplicationRule::builder()
                        .id("to-west")
                        .priority(1)
                        .status(ReplicationRuleStatus::Enabled)
                        .filter(ReplicationRuleFilter::builder().prefix("").build())
                        .destination(
                            aws_sdk_s3::types::Destination::builder()
                                .bucket("arn:aws:s3:::bw-replica-west")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    c.put_bucket_notification_configuration()
        .bucket("bw-notify")
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn("arn:aws:sqs:us-east-1:123456789012:bw-events")
                        .events(Event::from("s3:ObjectCreated:*"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.put_bucket_website()
        .bucket("bw-website")
        .website_configuration(
            WebsiteConfiguration::builder()
                .index_document(
                    IndexDocument::builder()
                        .suffix("index.html")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.put_bucket_cors()
        .bucket("bw-cors")
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(
                    CorsRule::builder()
                        .allowed_origins("*")
                        .allowed_methods("GET")
                        .allowed_methods("PUT")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    c.put_bucket_ownership_controls()
        .bucket("bw-ownership-enforced")
        .ownership_controls(
            OwnershipControls::builder()
                .rules(
                    OwnershipControlsRule::builder()
                        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    seed_account(moto).await;
}

/// Account BPA with only the two Block flags (S3.1 fails; they do not hide existing grants), and
/// a multi-Region trail whose advanced selector logs S3 writes only (S3.22 passes, S3.23 fails).
/// An s3control client on moto: the account-prefixed host does not resolve on loopback, so
/// the endpoint is fixed.
fn control(moto: &Moto) -> aws_sdk_s3control::Client {
    #[derive(Debug)]
    struct Fixed(String);
    impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for Fixed {
        fn resolve_endpoint<'a>(
            &'a self,
            _: &'a aws_sdk_s3control::config::endpoint::Params,
        ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
            aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
                aws_sdk_s3control::config::endpoint::Endpoint::builder()
                    .url(self.0.clone())
                    .build(),
            ))
        }
    }
    let creds = aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test");
    aws_sdk_s3control::Client::from_conf(
        aws_sdk_s3control::config::Builder::new()
            .behavior_version(aws_sdk_s3control::config::BehaviorVersion::latest())
            .region(aws_sdk_s3control::config::Region::new(REGION))
            .credentials_provider(creds)
            .endpoint_resolver(Fixed(moto.endpoint()))
            .build(),
    )
}

async fn seed_account(moto: &Moto) {
    let creds = aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test");
    let control = control(moto);
    control
        .put_public_access_block()
        .account_id(ACCOUNT_ID)
        .public_access_block_configuration(
            aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(false)
                .restrict_public_buckets(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let trail = aws_sdk_cloudtrail::Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::new()
            .behavior_version(aws_sdk_cloudtrail::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudtrail::config::Region::new(REGION))
            .credentials_provider(creds)
            .endpoint_url(moto.endpoint())
            .build(),
    );
    trail
        .create_trail()
        .name("org-trail")
        .s3_bucket_name("bw-trail-logs")
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap();
    trail
        .start_logging()
        .name("org-trail")
        .send()
        .await
        .unwrap();
    let field = |f: &str, v: &str| {
        aws_sdk_cloudtrail::types::AdvancedFieldSelector::builder()
            .field(f)
            .equals(v)
            .build()
            .unwrap()
    };
    trail
        .put_event_selectors()
        .trail_name("org-trail")
        .advanced_event_selectors(
            aws_sdk_cloudtrail::types::AdvancedEventSelector::builder()
                .name("s3-writes")
                .field_selectors(field("eventCategory", "Data"))
                .field_selectors(field("resources.type", "AWS::S3::Object"))
                .field_selectors(field("readOnly", "false"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

fn scan(moto: &Moto, extra: &[&str], settings: Option<&PathBuf>) -> (i32, Value, String) {
    let content = workspace_root().join("content");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bucketwatch"));
    cmd.args(["scan", "--format", "json", "--content"])
        .arg(&content)
        .args(extra);
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    cmd.env_remove("AWS_PROFILE");
    match settings {
        Some(p) => cmd.env("BUCKETWATCH_SETTINGS", p),
        None => cmd.env_remove("BUCKETWATCH_SETTINGS"),
    };
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("scan output is not JSON ({e}); stderr:\n{stderr}"));
    (out.status.code().unwrap(), report, stderr)
}

fn statuses(report: &Value) -> BTreeMap<(String, String), String> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let id = r["resource_id"].as_str().unwrap();
            let name = id.strip_prefix("arn:aws:s3:::").unwrap_or(id).to_string();
            let status = if r["suppressed"] == true {
                "s".to_string()
            } else {
                r["status"].as_str().unwrap()[..1].to_string()
            };
            ((name, r["policy_id"].as_str().unwrap().to_string()), status)
        })
        .collect()
}

#[test]
fn scan_of_moto_buckets_gives_the_expected_findings() {
    let moto = Moto::start();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(seed(&moto));

    let (code, report, stderr) = scan(&moto, &[], None);
    assert_eq!(code, 1, "failures exist, so exit 1; stderr:\n{stderr}");
    assert!(
        stderr.contains("API calls ("),
        "summary names the API calls: {stderr}"
    );
    let got = statuses(&report);

    let mut mismatches = Vec::new();
    for (bucket, row) in EXPECTED {
        let letters: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(letters.len(), POLICIES.len(), "row of {bucket}");
        for (policy, want) in POLICIES.iter().zip(letters) {
            let have = got
                .get(&(bucket.to_string(), policy.to_string()))
                .map(String::as_str)
                .unwrap_or("missing");
            if have != want {
                let reason = report["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| {
                        r["resource_id"] == format!("arn:aws:s3:::{bucket}")
                            && r["policy_id"] == *policy
                    })
                    .map(|r| r["reason"].to_string())
                    .unwrap_or_default();
                mismatches.push(format!(
                    "{bucket} {policy}: want {want}, got {have} {reason}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    let buckets: Vec<&str> = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ResourceType"] == "AWS.S3.Bucket")
        .map(|r| r["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        buckets.len(),
        EXPECTED.len(),
        "every seeded bucket is scanned: {buckets:?}"
    );

    // The account resource: BPA incomplete, write data events covered, read not.
    let account = ACCOUNT_ID.to_string();
    let account_id = format!("arn:aws:s3::{account}:account");
    for (policy, want) in [
        ("AWS.S3.Account.PublicAccessBlock", "f"),
        ("AWS.S3.Account.CloudTrailWriteDataEvents", "p"),
        ("AWS.S3.Account.CloudTrailReadDataEvents", "f"),
    ] {
        assert_eq!(
            got.get(&(account_id.clone(), policy.to_string()))
                .map(String::as_str),
            Some(want),
            "{policy}"
        );
    }

    // Reasons say why: the public policy names its statement, the replica's Region is resolved.
    let resource = |name: &str| {
        report["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["Name"] == name)
            .unwrap()
            .clone()
    };
    let public = resource("bw-public-policy");
    assert!(
        public["bucketwatch"]["PublicReadReasons"][0]
            .as_str()
            .unwrap()
            .contains("statement \"PublicRead\" allows anyone s3:GetObject")
    );
    assert_eq!(
        resource("bw-replicated")["bucketwatch"]["ReplicationDestinations"][0]["Region"],
        "us-west-2"
    );
    assert_eq!(resource("bw-replica-west")["Region"], "us-west-2");
    assert_eq!(
        resource("bw-source-ip")["bucketwatch"]["PolicyPublic"],
        false
    );

    // --disable and [scan] settings: a disabled policy has no results, a suppressed failure is
    // reported as suppressed.
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("settings.toml");
    std::fs::write(&settings, "[scan]\ndisabled_policies = [\"AWS.S3.Bucket.Lifecycle\"]\n[scan.suppressions]\n\"AWS.S3.Bucket.PublicRead\" = [\"bw-website\"]\n").unwrap();
    let (_, filtered, _) = scan(
        &moto,
        &[
            "--disable",
            "AWS.S3.Bucket.ObjectLock",
            "--buckets",
            "bw-web*,bw-plain",
        ],
        Some(&settings),
    );
    let got = statuses(&filtered);
    assert!(
        !got.keys()
            .any(|(_, p)| p == "AWS.S3.Bucket.ObjectLock" || p == "AWS.S3.Bucket.Lifecycle")
    );
    assert_eq!(
        got[&(
            "bw-website".to_string(),
            "AWS.S3.Bucket.PublicRead".to_string()
        )],
        "s"
    );
    let names: Vec<&str> = filtered["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["Name"].as_str())
        .collect();
    assert_eq!(names, vec!["bw-plain", "bw-website"]);

    // Offline: the scan's own JSON evaluated again gives the same results.
    let saved = dir.path().join("scan.json");
    std::fs::write(&saved, serde_json::to_vec(&report).unwrap()).unwrap();
    let (_, offline, _) = scan(&moto, &["--resources", saved.to_str().unwrap()], None);
    assert_eq!(statuses(&offline), statuses(&report));
}

/// `scan --record`: each scan lands in the lake with its history, the first is the baseline,
/// and a later scan alerts exactly the failures that are new (a policy a bucket passed before,
/// a new bucket), not the standing ones.
#[test]
fn recorded_scans_keep_history_and_alert_only_new_failures() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = s3(&moto, REGION);
    let versioning = |bucket: &'static str, status: BucketVersioningStatus| {
        let client = client.clone();
        async move {
            client
                .put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(VersioningConfiguration::builder().status(status).build())
                .send()
                .await
                .unwrap();
        }
    };
    runtime.block_on(async {
        for bucket in ["rec-a", "rec-b"] {
            client.create_bucket().bucket(bucket).send().await.unwrap();
        }
        versioning("rec-a", BucketVersioningStatus::Enabled).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let record = |extra: &[&str]| -> String {
        let mut args = vec!["--record", "--buckets", "rec-*", "--data-dir"];
        args.push(data.to_str().unwrap());
        args.extend_from_slice(extra);
        let (code, _, stderr) = scan(&moto, &args, None);
        assert!(code <= 1, "scan could not run:\n{stderr}");
        stderr
    };
    let first = record(&[]);
    assert!(
        first.contains("kept as the baseline (no alerts)"),
        "{first}"
    );

    // rec-a stops versioning; rec-c is new and fails as rec-b always did.
    runtime.block_on(async {
        versioning("rec-a", BucketVersioningStatus::Suspended).await;
        client.create_bucket().bucket("rec-c").send().await.unwrap();
    });
    let second = record(&[]);
    let new_failures: Vec<&str> = second
        .lines()
        .filter_map(|l| l.strip_prefix("bucketwatch scan: new failure: "))
        .collect();
    assert!(
        new_failures.contains(&"AWS.S3.Bucket.Versioning on arn:aws:s3:::rec-a"),
        "{second}"
    );
    assert!(
        new_failures.contains(&"AWS.S3.Bucket.Versioning on arn:aws:s3:::rec-c"),
        "{second}"
    );
    assert!(
        !new_failures.iter().any(|f| f.ends_with("rec-b")),
        "rec-b's failures are not new:\n{second}"
    );
    let third = record(&[]);
    assert!(
        third.contains("0 new failures, 0 alerts created"),
        "{third}"
    );

    let store = rusqlite::Connection::open(data.join("alerts.db")).unwrap();
    let alerted: Vec<(String, String)> = store
        .prepare("SELECT a.rule_id, h.dedup FROM alerts a JOIN alert_headers h USING (alert_id) ORDER BY 1, 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(alerted.len(), new_failures.len(), "{alerted:?}");
    assert!(alerted.contains(&(
        "AWS.S3.Bucket.Versioning".to_string(),
        "arn:aws:s3:::rec-a".to_string()
    )));

    let query = |sql: &str| -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_bucketwatch"))
            .args(["query", "--format", "csv", "--data-dir"])
            .arg(&data)
            .arg(sql)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        query("SELECT count(DISTINCT scan_id) AS scans FROM cloudsecurity.compliance"),
        "scans\n3\n"
    );
    assert_eq!(
        query(
            "SELECT status, previous_status FROM cloudsecurity.compliance \
             WHERE resource_id = 'arn:aws:s3:::rec-a' AND policy_id = 'AWS.S3.Bucket.Versioning' \
             ORDER BY scan_time"
        ),
        "status,previous_status\npass,\nfail,pass\nfail,fail\n"
    );
    assert_eq!(
        query(
            "SELECT resource_id FROM views.compliance_state \
             WHERE policy_id = 'AWS.S3.Bucket.Versioning' AND status = 'fail' ORDER BY 1"
        ),
        "resource_id\narn:aws:s3:::rec-a\narn:aws:s3:::rec-b\narn:aws:s3:::rec-c\n"
    );
    assert_eq!(
        query("SELECT count(*) AS n FROM cloudsecurity.resources WHERE name = 'rec-c'"),
        "n\n2\n"
    );
}

/// S3.19: an access point created with a Block Public Access flag off fails its bucket, naming
/// the access point; a bucket whose access points block everything, or that has none, passes.
#[test]
fn access_points_without_full_block_public_access_fail_s3_19() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = s3(&moto, REGION);
        for bucket in ["ap-open", "ap-closed", "ap-none"] {
            client.create_bucket().bucket(bucket).send().await.unwrap();
        }
        let control = control(&moto);
        let block = |all: bool| {
            aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(all)
                .restrict_public_buckets(all)
                .build()
        };
        for (name, bucket, all) in [
            ("partner", "ap-open", false),
            ("app", "ap-open", true),
            ("app2", "ap-closed", true),
        ] {
            let created = control
                .create_access_point()
                .account_id(ACCOUNT_ID)
                .name(name)
                .bucket(bucket)
                .public_access_block_configuration(block(all))
                .send()
                .await;
            // moto answers under <CreateAccessPointResponse>, a root the SDK refuses; the
            // access point exists all the same (200).
            if let Err(e) = created {
                assert_eq!(
                    e.raw_response().map(|r| r.status().as_u16()),
                    Some(200),
                    "{e:?}"
                );
            }
        }
    });
    let (_, report, stderr) = scan(&moto, &["--buckets", "ap-*"], None);
    let result = |bucket: &str| {
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["resource_id"] == format!("arn:aws:s3:::{bucket}")
                    && r["policy_id"] == "AWS.S3.Bucket.AccessPointPublicAccessBlock"
            })
            .unwrap_or_else(|| panic!("no S3.19 result for {bucket}; stderr:\n{stderr}"))
            .clone()
    };
    let open = result("ap-open");
    assert_eq!(open["status"], "fail", "{open}");
    let reason = open["reason"].as_str().unwrap();
    assert!(
        reason.contains("partner: BlockPublicPolicy, RestrictPublicBuckets off")
            && !reason.contains("app:"),
        "{reason}"
    );
    assert_eq!(result("ap-closed")["status"], "pass");
    assert_eq!(result("ap-none")["status"], "pass");
    let points = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Name"] == "ap-closed")
        .unwrap()["AccessPoints"]
        .clone();
    assert_eq!(points[0]["Name"], "app2", "{points}");
    assert_eq!(
        points[0]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"],
        true
    );
}
