//! Collectors: list the buckets and call every configuration API per bucket, in the bucket's own
//! Region, a bounded number of buckets at a time; then the account's public access block
//! (s3control) and CloudTrail trails with their event selectors.
//!
//! Owns: AWS clients (standard credential chain, `AWS_ENDPOINT_URL` for moto), turning SDK
//! outputs into API-shaped JSON (`Fetched::Present`), telling "not configured" from "unknown",
//! and counting API calls. Must not touch: verdicts (`resource`, `iam`) or output formatting.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::iam::glob;
use crate::resource::{AccountRaw, ApiFailure, BucketRaw, Fetched};

/// A failure that stops the scan: without an identity or a bucket list there is nothing to scan.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(
        "cannot tell which AWS account is scanned (sts:GetCallerIdentity): {0}. Check the \
         credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...) and AWS_REGION"
    )]
    Identity(String),
    #[error("cannot list the buckets (s3:ListAllMyBuckets): {0}")]
    ListBuckets(String),
}

/// What to scan and how hard.
#[derive(Clone)]
pub struct CollectOptions {
    /// Buckets fetched at the same time (each bucket's calls also run together).
    pub concurrency: usize,
    /// Glob patterns on bucket names; empty scans every bucket.
    pub bucket_patterns: Vec<String>,
    /// Called after each bucket with (done, total).
    pub progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync>>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            concurrency: 16,
            bucket_patterns: Vec::new(),
            progress: None,
        }
    }
}

/// Everything the collectors fetched.
#[derive(Debug, Clone)]
pub struct Collected {
    pub account: AccountRaw,
    pub buckets: Vec<BucketRaw>,
    /// Regions of buckets outside the inventory (logging targets, replication destinations),
    /// `None` where HeadBucket could not tell.
    pub outside_regions: BTreeMap<String, Option<String>>,
    /// Buckets listed but deleted before their configuration was read.
    pub vanished: Vec<String>,
    pub api_calls: u64,
}

struct Clients {
    config: SdkConfig,
    s3: Mutex<HashMap<String, aws_sdk_s3::Client>>,
    calls: AtomicU64,
}

impl Clients {
    fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let mut map = self.s3.lock().expect("client cache lock");
        map.entry(region.to_string())
            .or_insert_with(|| {
                // Custom endpoints (moto, MinIO) cannot route virtual-hosted bucket names.
                let conf = aws_sdk_s3::config::Builder::from(&self.config)
                    .region(Region::new(region.to_string()))
                    .force_path_style(self.config.endpoint_url().is_some())
                    .build();
                aws_sdk_s3::Client::from_conf(conf)
            })
            .clone()
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

/// s3control prefixes the host with the account id (`<id>.s3-control...`); against a custom
/// endpoint that host does not resolve, so the endpoint is used as it is.
#[derive(Debug)]
struct FixedEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
            aws_sdk_s3control::config::endpoint::Endpoint::builder()
                .url(self.0.clone())
                .build(),
        ))
    }
}

/// "Not configured" per the posture reference §5: `NoSuch*` (except `NoSuchBucket`) or a code
/// containing `NotFound`. Everything else is unknown.
fn classify<E, R>(api: &str, err: SdkError<E, R>) -> Fetched
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().unwrap_or_default().to_string();
    if (code.starts_with("NoSuch") && code != "NoSuchBucket") || code.contains("NotFound") {
        return Fetched::Absent;
    }
    Fetched::Unknown(ApiFailure {
        api: api.into(),
        code: if code.is_empty() {
            "RequestFailed".into()
        } else {
            code
        },
        message: concise(&err),
    })
}

/// The error's own message, or its chain of causes without the raw response dump, cut short.
fn concise<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let Some(m) = err.message() {
        return m.to_string();
    }
    let mut parts = vec![err.to_string()];
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    let mut text = parts.join(": ");
    if text.len() > 300 {
        let cut = (0..=300)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// The body of a 200 answer the SDK refused to parse. Emulators wrap some answers in another
/// root element than AWS (moto: `<GetBucketVersioningResponse>` for `<VersioningConfiguration>`).
fn refused_body<E>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<String> {
    let SdkError::ServiceError(e) = err else {
        return None;
    };
    let raw = e.raw();
    if raw.status().as_u16() != 200 {
        return None;
    }
    let text = String::from_utf8_lossy(raw.body().bytes()?).to_string();
    let body = match text.trim().split_once("?>") {
        Some((decl, rest)) if decl.starts_with("<?xml") => rest.trim().to_string(),
        _ => text.trim().to_string(),
    };
    Some(body)
}

/// Whether a refused body is one empty element: the empty answer by which GetBucketVersioning,
/// GetBucketLogging and GetBucketNotificationConfiguration say "not configured".
fn empty_body<E>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> bool {
    refused_body(err)
        .is_some_and(|b| b.starts_with('<') && b.ends_with("/>") && b.matches('<').count() == 1)
}

/// The text of the first `<tag>` element of a small XML answer.
fn xml_text<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let len = body[start..].find(&format!("</{tag}>"))?;
    Some(&body[start..start + len])
}

/// GetBucketVersioning read from a body under another root element (the fields are the same).
fn versioning_from_body<E>(
    err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Option<Fetched> {
    let body = refused_body(err)?;
    let status = xml_text(&body, "Status");
    let mfa = xml_text(&body, "MfaDelete");
    (status.is_some() || mfa.is_some())
        .then(|| Fetched::Present(json!({"Status": status, "MFADelete": mfa})))
}

fn time(t: Option<&DateTime>) -> Value {
    t.and_then(|t| t.fmt(Format::DateTime).ok())
        .map(Value::String)
        .unwrap_or(Value::Null)
}

/// Collects the account and its buckets.
pub async fn collect(options: &CollectOptions) -> Result<Collected, ScanError> {
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let home = config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let clients = Arc::new(Clients {
        s3: Mutex::new(HashMap::new()),
        calls: AtomicU64::new(0),
        config,
    });

    clients.count();
    let identity = aws_sdk_sts::Client::new(&clients.config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| ScanError::Identity(DisplayErrorContext(&e).to_string()))?;
    let account_id = identity.account().unwrap_or_default().to_string();
    let partition = identity
        .arn()
        .and_then(|a| a.split(':').nth(1))
        .unwrap_or("aws")
        .to_string();

    let listed = list_buckets(&clients, &home, &options.bucket_patterns).await?;
    let total = listed.len();
    let account = account_raw(&clients, &account_id, &partition, &home).await;

    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (name, created, region)) in listed.into_iter().enumerate() {
        let clients = Arc::clone(&clients);
        let limit = Arc::clone(&limit);
        let done = Arc::clone(&done);
        let progress = options.progress.clone();
        let home = home.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore open");
            let raw = bucket_raw(&clients, name, created, region, &home).await;
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(p) = progress {
                p(n as usize, total);
            }
            (index, raw)
        });
    }
    let mut buckets = Vec::with_capacity(total);
    while let Some(joined) = tasks.join_next().await {
        let (index, raw) = joined.expect("bucket task panicked");
        buckets.push((index, raw));
    }
    buckets.sort_by_key(|(i, _)| *i);
    let (mut buckets, vanished): (Vec<BucketRaw>, Vec<BucketRaw>) = buckets
        .into_iter()
        .map(|(_, b)| b)
        .partition(|b| !deleted(b));

    let regions: std::collections::BTreeSet<String> =
        buckets.iter().map(|b| b.region.clone()).collect();
    let mut points = BTreeMap::new();
    for region in regions {
        points.insert(
            region.clone(),
            access_points(&clients, &account_id, &region).await,
        );
    }
    for b in &mut buckets {
        b.access_points = match points.get(&b.region) {
            Some(Ok(by_bucket)) => Fetched::Present(Value::Array(
                by_bucket.get(&b.name).cloned().unwrap_or_default(),
            )),
            Some(Err(failure)) => failure.clone(),
            None => Fetched::Present(Value::Array(Vec::new())),
        };
    }

    let known: std::collections::BTreeSet<&str> = buckets.iter().map(|b| b.name.as_str()).collect();
    let mut outside = BTreeMap::new();
    for b in &buckets {
        let mut wanted: Vec<String> = Vec::new();
        if let Fetched::Present(l) = &b.logging
            && let Some(t) = l.get("TargetBucket").and_then(Value::as_str)
        {
            wanted.push(t.to_string());
        }
        if let Fetched::Present(r) = &b.replication {
            for rule in r
                .get("Rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(arn) = rule.pointer("/Destination/Bucket").and_then(Value::as_str) {
                    wanted.push(arn.rsplit(':').next().unwrap_or(arn).to_string());
                }
            }
        }
        for name in wanted {
            if !known.contains(name.as_str()) && !outside.contains_key(&name) {
                let region = head_region(&clients, &home, &name).await;
                outside.insert(name, region);
            }
        }
    }

    Ok(Collected {
        account,
        buckets,
        outside_regions: outside,
        vanished: vanished.into_iter().map(|b| b.name).collect(),
        api_calls: clients.calls.load(Ordering::Relaxed),
    })
}

impl Collected {
    /// What a report should mention: buckets deleted while the scan read them.
    pub fn problems(&self) -> Vec<String> {
        self.vanished
            .iter()
            .map(|b| format!("bucket {b} was deleted during the scan and is left out"))
            .collect()
    }
}

fn deleted(b: &BucketRaw) -> bool {
    matches!(&b.acl, Fetched::Unknown(e) if e.code == "NoSuchBucket")
}

/// The Region a bucket lives in, from HeadBucket's `x-amz-bucket-region` (sent even on 403).
async fn head_region(clients: &Clients, home: &str, name: &str) -> Option<String> {
    clients.count();
    match clients.s3(home).head_bucket().bucket(name).send().await {
        Ok(o) => o.bucket_region().map(str::to_string),
        Err(e) => e
            .raw_response()
            .and_then(|r| r.headers().get("x-amz-bucket-region"))
            .map(str::to_string),
    }
}

async fn list_buckets(
    clients: &Clients,
    home: &str,
    patterns: &[String],
) -> Result<Vec<(String, Option<String>, Option<String>)>, ScanError> {
    let s3 = clients.s3(home);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        clients.count();
        let page = s3
            .list_buckets()
            .set_continuation_token(token.clone())
            .send()
            .await
            .map_err(|e| ScanError::ListBuckets(DisplayErrorContext(&e).to_string()))?;
        for b in page.buckets() {
            let Some(name) = b.name() else { continue };
            if !patterns.is_empty() && !patterns.iter().any(|p| glob(p, name, false)) {
                continue;
            }
            let created = time(b.creation_date()).as_str().map(str::to_string);
            out.push((
                name.to_string(),
                created,
                b.bucket_region().map(str::to_string),
            ));
        }
        token = page.continuation_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// `GetBucketLocation`'s constraint as a Region: null is us-east-1, legacy `EU` is eu-west-1.
pub fn location_region(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".into(),
        Some("EU") => "eu-west-1".into(),
        Some(r) => r.into(),
    }
}

async fn bucket_raw(
    clients: &Clients,
    name: String,
    creation_date: Option<String>,
    listed_region: Option<String>,
    home: &str,
) -> BucketRaw {
    let region = match listed_region {
        Some(r) => Ok(r),
        None => {
            clients.count();
            match clients
                .s3(home)
                .get_bucket_location()
                .bucket(&name)
                .send()
                .await
            {
                Ok(o) => Ok(location_region(o.location_constraint().map(|c| c.as_str()))),
                Err(e) => match head_region(clients, home, &name).await {
                    Some(r) => Ok(r),
                    None => Err(classify("GetBucketLocation", e)),
                },
            }
        }
    };
    let region = match region {
        Ok(r) => r,
        Err(failure) => {
            // Without its Region no call can reach the bucket: every field is unknown.
            return BucketRaw {
                name,
                creation_date,
                region: home.to_string(),
                acl: failure.clone(),
                policy: failure.clone(),
                policy_status: failure.clone(),
                public_access_block: failure.clone(),
                encryption: failure.clone(),
                logging: failure.clone(),
                versioning: failure.clone(),
                lifecycle: failure.clone(),
                object_lock: failure.clone(),
                ownership_controls: failure.clone(),
                replication: failure.clone(),
                notifications: failure.clone(),
                tagging: failure.clone(),
                website: failure.clone(),
                cors: failure.clone(),
                access_points: failure,
            };
        }
    };
    let c = clients.s3(&region);
    let n = name.as_str();
    for _ in 0..15 {
        clients.count();
    }
    let (acl, policy, policy_status, pab, encryption, logging, versioning, lifecycle) = tokio::join!(
        async {
            match c.get_bucket_acl().bucket(n).send().await {
                Ok(o) => Fetched::Present(json!({
                    "Owner": o.owner().map(|w| json!({"DisplayName": w.display_name(), "ID": w.id()})),
                    "Grants": o.grants().iter().map(|g| json!({
                        "Grantee": g.grantee().map(grantee),
                        "Permission": g.permission().map(|p| p.as_str()),
                    })).collect::<Vec<_>>(),
                })),
                Err(e) => classify("GetBucketAcl", e),
            }
        },
        async {
            match c.get_bucket_policy().bucket(n).send().await {
                Ok(o) => match o.policy() {
                    Some(p) => Fetched::Present(Value::String(p.to_string())),
                    None => Fetched::Absent,
                },
                Err(e) => classify("GetBucketPolicy", e),
            }
        },
        async {
            match c.get_bucket_policy_status().bucket(n).send().await {
                // moto answers with an empty PolicyStatus: no verdict is not a verdict.
                Ok(o) => match o.policy_status().and_then(|s| s.is_public()) {
                    Some(p) => Fetched::Present(json!({"IsPublic": p})),
                    None => Fetched::Absent,
                },
                Err(e) => classify("GetBucketPolicyStatus", e),
            }
        },
        async {
            match c.get_public_access_block().bucket(n).send().await {
                Ok(o) => match o.public_access_block_configuration() {
                    Some(p) => Fetched::Present(json!({
                        "BlockPublicAcls": p.block_public_acls(),
                        "IgnorePublicAcls": p.ignore_public_acls(),
                        "BlockPublicPolicy": p.block_public_policy(),
                        "RestrictPublicBuckets": p.restrict_public_buckets(),
                    })),
                    None => Fetched::Absent,
                },
                Err(e) => classify("GetPublicAccessBlock", e),
            }
        },
        async {
            match c.get_bucket_encryption().bucket(n).send().await {
                Ok(o) => match o.server_side_encryption_configuration() {
                    Some(conf) => {
                        Fetched::Present(json!({"Rules": conf.rules().iter().map(|r| json!({
                        "ApplyServerSideEncryptionByDefault": r.apply_server_side_encryption_by_default().map(|d| json!({
                            "SSEAlgorithm": d.sse_algorithm().as_str(),
                            "KMSMasterKeyID": d.kms_master_key_id(),
                        })),
                        "BucketKeyEnabled": r.bucket_key_enabled(),
                        "BlockedEncryptionTypes": r.blocked_encryption_types().map(|b| json!({
                            "EncryptionType": b.encryption_type().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                        })),
                    })).collect::<Vec<_>>()}))
                    }
                    None => Fetched::Absent,
                },
                Err(e) => classify("GetBucketEncryption", e),
            }
        },
        async {
            match c.get_bucket_logging().bucket(n).send().await {
                Ok(o) => match o.logging_enabled() {
                    Some(l) => Fetched::Present(json!({
                        "TargetBucket": l.target_bucket(),
                        "TargetPrefix": l.target_prefix(),
                        "TargetGrants": l.target_grants().iter().map(|g| json!({
                            "Grantee": g.grantee().map(grantee),
                            "Permission": g.permission().map(|p| p.as_str()),
                        })).collect::<Vec<_>>(),
                    })),
                    None => Fetched::Absent,
                },
                Err(e) if empty_body(&e) => Fetched::Absent,
                Err(e) => classify("GetBucketLogging", e),
            }
        },
        async {
            match c.get_bucket_versioning().bucket(n).send().await {
                Ok(o) if o.status().is_none() && o.mfa_delete().is_none() => Fetched::Absent,
                Ok(o) => Fetched::Present(json!({
                    "Status": o.status().map(|s| s.as_str()),
                    "MFADelete": o.mfa_delete().map(|s| s.as_str()),
                })),
                Err(e) if empty_body(&e) => Fetched::Absent,
                Err(e) => {
                    versioning_from_body(&e).unwrap_or_else(|| classify("GetBucketVersioning", e))
                }
            }
        },
        async {
            match c
                .get_bucket_lifecycle_configuration()
                .bucket(n)
                .send()
                .await
            {
                Ok(o) => Fetched::Present(
                    json!({"Rules": o.rules().iter().map(lifecycle_rule).collect::<Vec<_>>()}),
                ),
                Err(e) => classify("GetBucketLifecycleConfiguration", e),
            }
        },
    );
    let (object_lock, ownership, replication, notifications, tagging, website, cors) = tokio::join!(
        async {
            match c.get_object_lock_configuration().bucket(n).send().await {
                Ok(o) => match o.object_lock_configuration() {
                    Some(l) => Fetched::Present(json!({
                        "ObjectLockEnabled": l.object_lock_enabled().map(|s| s.as_str()),
                        "Rule": l.rule().map(|r| json!({"DefaultRetention": r.default_retention().map(|d| json!({
                            "Mode": d.mode().map(|m| m.as_str()),
                            "Days": d.days(),
                            "Years": d.years(),
                        }))})),
                    })),
                    None => Fetched::Absent,
                },
                Err(e) => classify("GetObjectLockConfiguration", e),
            }
        },
        async {
            match c.get_bucket_ownership_controls().bucket(n).send().await {
                Ok(o) => match o.ownership_controls() {
                    Some(oc) => Fetched::Present(json!({"Rules": oc.rules().iter().map(|r| json!({
                        "ObjectOwnership": r.object_ownership().as_str(),
                    })).collect::<Vec<_>>()})),
                    None => Fetched::Absent,
                },
                Err(e) => classify("GetBucketOwnershipControls", e),
            }
        },
        async {
            match c.get_bucket_replication().bucket(n).send().await {
                Ok(o) => match o.replication_configuration() {
                    Some(r) => Fetched::Present(json!({
                        "Role": r.role(),
                        "Rules": r.rules().iter().map(|rule| json!({
                            "ID": rule.id(),
                            "Priority": rule.priority(),
                            "Status": rule.status().as_str(),
                            "Destination": rule.destination().map(|d| json!({
                                "Bucket": d.bucket(),
                                "Account": d.account(),
                                "StorageClass": d.storage_class().map(|s| s.as_str()),
                            })),
                        })).collect::<Vec<_>>(),
                    })),
                    None => Fetched::Absent,
                },
                Err(e) => classify("GetBucketReplication", e),
            }
        },
        async {
            match c
                .get_bucket_notification_configuration()
                .bucket(n)
                .send()
                .await
            {
                Ok(o) => {
                    let topics: Vec<Value> = o
                        .topic_configurations()
                        .iter()
                        .map(|t| {
                            json!({
                                "Id": t.id(), "TopicArn": t.topic_arn(),
                                "Events": t.events().iter().map(|e| e.as_str()).collect::<Vec<_>>(),
                            })
                        })
                        .collect();
                    let queues: Vec<Value> = o
                        .queue_configurations()
                        .iter()
                        .map(|q| {
                            json!({
                                "Id": q.id(), "QueueArn": q.queue_arn(),
                                "Events": q.events().iter().map(|e| e.as_str()).collect::<Vec<_>>(),
                            })
                        })
                        .collect();
                    let lambdas: Vec<Value> = o
                        .lambda_function_configurations()
                        .iter()
                        .map(|l| {
                            json!({
                                "Id": l.id(), "LambdaFunctionArn": l.lambda_function_arn(),
                                "Events": l.events().iter().map(|e| e.as_str()).collect::<Vec<_>>(),
                            })
                        })
                        .collect();
                    let eventbridge = o.event_bridge_configuration().is_some();
                    if topics.is_empty() && queues.is_empty() && lambdas.is_empty() && !eventbridge
                    {
                        Fetched::Absent
                    } else {
                        Fetched::Present(json!({
                            "TopicConfigurations": topics,
                            "QueueConfigurations": queues,
                            "LambdaFunctionConfigurations": lambdas,
                            "EventBridgeConfiguration": if eventbridge { json!({}) } else { Value::Null },
                        }))
                    }
                }
                Err(e) if empty_body(&e) => Fetched::Absent,
                Err(e) => classify("GetBucketNotificationConfiguration", e),
            }
        },
        async {
            match c.get_bucket_tagging().bucket(n).send().await {
                Ok(o) => Fetched::Present(json!({"TagSet": o.tag_set().iter().map(|t| json!({
                    "Key": t.key(), "Value": t.value(),
                })).collect::<Vec<_>>()})),
                Err(e) => classify("GetBucketTagging", e),
            }
        },
        async {
            match c.get_bucket_website().bucket(n).send().await {
                Ok(o) => Fetched::Present(json!({
                    "IndexDocument": o.index_document().map(|d| json!({"Suffix": d.suffix()})),
                    "ErrorDocument": o.error_document().map(|d| json!({"Key": d.key()})),
                    "RedirectAllRequestsTo": o.redirect_all_requests_to().map(|r| json!({
                        "HostName": r.host_name(), "Protocol": r.protocol().map(|p| p.as_str()),
                    })),
                    "RoutingRulesCount": o.routing_rules().len(),
                })),
                Err(e) => classify("GetBucketWebsite", e),
            }
        },
        async {
            match c.get_bucket_cors().bucket(n).send().await {
                Ok(o) => {
                    Fetched::Present(json!({"CORSRules": o.cors_rules().iter().map(|r| json!({
                    "ID": r.id(),
                    "AllowedOrigins": r.allowed_origins(),
                    "AllowedMethods": r.allowed_methods(),
                    "AllowedHeaders": r.allowed_headers(),
                    "ExposeHeaders": r.expose_headers(),
                    "MaxAgeSeconds": r.max_age_seconds(),
                })).collect::<Vec<_>>()}))
                }
                Err(e) => classify("GetBucketCors", e),
            }
        },
    );
    BucketRaw {
        name,
        creation_date,
        region,
        acl,
        policy,
        policy_status,
        public_access_block: pab,
        encryption,
        logging,
        versioning,
        lifecycle,
        object_lock,
        ownership_controls: ownership,
        replication,
        notifications,
        tagging,
        website,
        cors,
        // Filled in per Region by `access_points` once every bucket is read.
        access_points: Fetched::Present(Value::Array(Vec::new())),
    }
}

fn grantee(g: &aws_sdk_s3::types::Grantee) -> Value {
    json!({
        "DisplayName": g.display_name(),
        "EmailAddress": g.email_address(),
        "ID": g.id(),
        "Type": g.r#type().as_str(),
        "URI": g.uri(),
    })
}

fn lifecycle_rule(r: &aws_sdk_s3::types::LifecycleRule) -> Value {
    // Deprecated in the API in favour of Filter, but rules written before it still carry it.
    #[allow(deprecated)]
    let prefix = r.prefix();
    json!({
        "ID": r.id(),
        "Status": r.status().as_str(),
        "Prefix": prefix,
        "Filter": r.filter().map(|f| json!({
            "Prefix": f.prefix(),
            "Tag": f.tag().map(|t| json!({"Key": t.key(), "Value": t.value()})),
            "ObjectSizeGreaterThan": f.object_size_greater_than(),
            "ObjectSizeLessThan": f.object_size_less_than(),
            "And": f.and().map(|a| json!({
                "Prefix": a.prefix(),
                "Tags": a.tags().iter().map(|t| json!({"Key": t.key(), "Value": t.value()})).collect::<Vec<_>>(),
            })),
        })),
        "Expiration": r.expiration().map(|e| json!({
            "Days": e.days(), "Date": time(e.date()),
            "ExpiredObjectDeleteMarker": e.expired_object_delete_marker(),
        })),
        "Transitions": r.transitions().iter().map(|t| json!({
            "Days": t.days(), "Date": time(t.date()),
            "StorageClass": t.storage_class().map(|s| s.as_str()),
        })).collect::<Vec<_>>(),
        "NoncurrentVersionExpiration": r.noncurrent_version_expiration().map(|e| json!({
            "NoncurrentDays": e.noncurrent_days(), "NewerNoncurrentVersions": e.newer_noncurrent_versions(),
        })),
        "NoncurrentVersionTransitions": r.noncurrent_version_transitions().iter().map(|t| json!({
            "NoncurrentDays": t.noncurrent_days(), "StorageClass": t.storage_class().map(|s| s.as_str()),
        })).collect::<Vec<_>>(),
        "AbortIncompleteMultipartUpload": r.abort_incomplete_multipart_upload().map(|a| json!({
            "DaysAfterInitiation": a.days_after_initiation(),
        })),
    })
}

/// The s3control client: against a custom endpoint (moto) the account-prefixed host does not
/// resolve, so the endpoint is used as it is.
fn control_client(clients: &Clients, region: &str) -> aws_sdk_s3control::Client {
    let mut control = aws_sdk_s3control::config::Builder::from(&clients.config)
        .region(Region::new(region.to_string()));
    if let Some(url) = clients.config.endpoint_url() {
        control = control.endpoint_resolver(FixedEndpoint(url.to_string()));
    }
    aws_sdk_s3control::Client::from_conf(control.build())
}

/// The access points of `region`, by bucket, each with its Block Public Access settings
/// (which ListAccessPoints does not return: one GetAccessPoint each). One call per page and
/// per access point, not per bucket.
async fn access_points(
    clients: &Clients,
    account_id: &str,
    region: &str,
) -> Result<HashMap<String, Vec<Value>>, Fetched> {
    let control = control_client(clients, region);
    let mut by_bucket: HashMap<String, Vec<Value>> = HashMap::new();
    let mut token: Option<String> = None;
    loop {
        clients.count();
        let (points, next) = match control
            .list_access_points()
            .account_id(account_id)
            .set_next_token(token.clone())
            .send()
            .await
        {
            Ok(page) => (
                page.access_point_list()
                    .iter()
                    .map(|p| ListedPoint {
                        name: p.name().to_string(),
                        bucket: p.bucket().to_string(),
                        network_origin: p.network_origin().as_str().to_string(),
                    })
                    .collect(),
                page.next_token().map(str::to_string),
            ),
            Err(e) => match refused_body(&e) {
                Some(body) if body.contains("<AccessPointList") => listed_from_body(&body),
                _ => return Err(classify("s3control ListAccessPoints", e)),
            },
        };
        for point in points {
            clients.count();
            let block = match control
                .get_access_point()
                .account_id(account_id)
                .name(&point.name)
                .send()
                .await
            {
                Ok(o) => match o.public_access_block_configuration() {
                    Some(p) => json!({
                        "BlockPublicAcls": p.block_public_acls(),
                        "IgnorePublicAcls": p.ignore_public_acls(),
                        "BlockPublicPolicy": p.block_public_policy(),
                        "RestrictPublicBuckets": p.restrict_public_buckets(),
                    }),
                    None => Value::Null,
                },
                Err(e) => match refused_body(&e) {
                    Some(body) if body.contains("<Name>") => block_from_body(&body),
                    _ => return Err(classify("s3control GetAccessPoint", e)),
                },
            };
            by_bucket.entry(point.bucket).or_default().push(json!({
                "Name": point.name,
                "NetworkOrigin": point.network_origin,
                "PublicAccessBlockConfiguration": block,
            }));
        }
        token = next;
        if token.is_none() {
            return Ok(by_bucket);
        }
    }
}

/// One entry of ListAccessPoints.
struct ListedPoint {
    name: String,
    bucket: String,
    network_origin: String,
}

/// ListAccessPoints read from a body under another root element (moto answers
/// `<ListAccessPointsResponse>` where AWS and the SDK have `<ListAccessPointsResult>`).
fn listed_from_body(body: &str) -> (Vec<ListedPoint>, Option<String>) {
    let points = body
        .split("<AccessPoint>")
        .skip(1)
        .filter_map(|block| {
            let block = block.split("</AccessPoint>").next()?;
            Some(ListedPoint {
                name: xml_text(block, "Name")?.to_string(),
                bucket: xml_text(block, "Bucket")?.to_string(),
                network_origin: xml_text(block, "NetworkOrigin")
                    .unwrap_or("Internet")
                    .to_string(),
            })
        })
        .collect();
    (points, xml_text(body, "NextToken").map(str::to_string))
}

/// GetAccessPoint's Block Public Access read from a differently rooted body (moto).
fn block_from_body(body: &str) -> Value {
    let Some(start) = body.find("<PublicAccessBlockConfiguration>") else {
        return Value::Null;
    };
    let block = &body[start..];
    let flag = |tag: &str| xml_text(block, tag).map(|v| v.eq_ignore_ascii_case("true"));
    json!({
        "BlockPublicAcls": flag("BlockPublicAcls"),
        "IgnorePublicAcls": flag("IgnorePublicAcls"),
        "BlockPublicPolicy": flag("BlockPublicPolicy"),
        "RestrictPublicBuckets": flag("RestrictPublicBuckets"),
    })
}

async fn account_raw(
    clients: &Clients,
    account_id: &str,
    partition: &str,
    home: &str,
) -> AccountRaw {
    let control = control_client(clients, home);
    clients.count();
    let public_access_block = match control
        .get_public_access_block()
        .account_id(account_id)
        .send()
        .await
    {
        Ok(o) => match o.public_access_block_configuration() {
            Some(p) => Fetched::Present(json!({
                "BlockPublicAcls": p.block_public_acls(),
                "IgnorePublicAcls": p.ignore_public_acls(),
                "BlockPublicPolicy": p.block_public_policy(),
                "RestrictPublicBuckets": p.restrict_public_buckets(),
            })),
            None => Fetched::Absent,
        },
        Err(e) => classify("s3control GetPublicAccessBlock", e),
    };
    AccountRaw {
        endpoint: clients.config.endpoint_url().map(str::to_string),
        account_id: account_id.to_string(),
        partition: partition.to_string(),
        region: home.to_string(),
        public_access_block,
        trails: trails(clients, home).await,
    }
}

/// Every trail with its logging status and event selectors, read in its home Region.
async fn trails(clients: &Clients, home: &str) -> Fetched {
    let client_for = |region: &str| {
        aws_sdk_cloudtrail::Client::from_conf(
            aws_sdk_cloudtrail::config::Builder::from(&clients.config)
                .region(Region::new(region.to_string()))
                .build(),
        )
    };
    clients.count();
    let described = match client_for(home)
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) => return classify("cloudtrail DescribeTrails", e),
    };
    let mut out = Vec::new();
    for t in described.trail_list() {
        let Some(arn) = t.trail_arn() else { continue };
        let region = t.home_region().unwrap_or(home);
        let ct = client_for(region);
        let mut errors = Vec::new();
        clients.count();
        let logging = match ct.get_trail_status().name(arn).send().await {
            Ok(s) => s.is_logging(),
            Err(e) => {
                errors.push(failure_text(classify("cloudtrail GetTrailStatus", e)));
                None
            }
        };
        clients.count();
        let (selectors, advanced) = match ct.get_event_selectors().trail_name(arn).send().await {
            Ok(s) => (
                s.event_selectors()
                    .iter()
                    .map(|e| {
                        json!({
                            "ReadWriteType": e.read_write_type().map(|r| r.as_str()),
                            "IncludeManagementEvents": e.include_management_events(),
                            "DataResources": e.data_resources().iter().map(|d| json!({
                                "Type": d.r#type(), "Values": d.values(),
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect::<Vec<_>>(),
                s.advanced_event_selectors()
                    .iter()
                    .map(|a| {
                        json!({
                            "Name": a.name(),
                            "FieldSelectors": a.field_selectors().iter().map(|f| json!({
                                "Field": f.field(),
                                "Equals": f.equals(),
                                "StartsWith": f.starts_with(),
                                "EndsWith": f.ends_with(),
                                "NotEquals": f.not_equals(),
                                "NotStartsWith": f.not_starts_with(),
                                "NotEndsWith": f.not_ends_with(),
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect::<Vec<_>>(),
            ),
            Err(e) => {
                errors.push(failure_text(classify("cloudtrail GetEventSelectors", e)));
                (Vec::new(), Vec::new())
            }
        };
        out.push(json!({
            "Name": t.name(),
            "TrailARN": arn,
            "HomeRegion": t.home_region(),
            "IsMultiRegionTrail": t.is_multi_region_trail(),
            "IsOrganizationTrail": t.is_organization_trail(),
            "S3BucketName": t.s3_bucket_name(),
            "IsLogging": logging,
            "EventSelectors": selectors,
            "AdvancedEventSelectors": advanced,
            "Errors": errors,
        }));
    }
    // A multi-Region trail is listed once per Region with shadow trails; keep one copy.
    out.sort_by(|a, b| a["TrailARN"].as_str().cmp(&b["TrailARN"].as_str()));
    out.dedup_by(|a, b| a["TrailARN"] == b["TrailARN"]);
    Fetched::Present(Value::Array(out))
}

fn failure_text(f: Fetched) -> String {
    match f {
        Fetched::Unknown(e) => e.to_string(),
        _ => "not found".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_constraints_map_to_regions() {
        assert_eq!(location_region(None), "us-east-1");
        assert_eq!(location_region(Some("")), "us-east-1");
        assert_eq!(location_region(Some("EU")), "eu-west-1");
        assert_eq!(location_region(Some("ap-south-1")), "ap-south-1");
    }

    #[test]
    fn xml_text_reads_the_first_element() {
        let body = r#"<GetBucketVersioningResponse xmlns="x"><Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></GetBucketVersioningResponse>"#;
        assert_eq!(xml_text(body, "Status"), Some("Enabled"));
        assert_eq!(xml_text(body, "MfaDelete"), Some("Disabled"));
        assert_eq!(xml_text(body, "Other"), None);
    }
}
