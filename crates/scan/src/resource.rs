//! Resource JSON: what the collectors fetched (`BucketRaw`, `AccountRaw`) turned into
//! `AWS.S3.Bucket` and `AWS.S3.Account` resources with the posture reference's field names, and
//! the `bucketwatch` sub-object of verdicts that policies read.
//!
//! Owns: the field layout, the "not configured" versus "unknown" bookkeeping (`bucketwatch.Unknown`
//! names each field whose API failed, with the error), the public-exposure and CloudTrail
//! coverage verdicts. Must not touch: AWS calls (`collect`), policy evaluation (the detect crate).
//!
//! The raw types are serializable so recorded API responses can be fed to the same code in tests
//! (moto drops MFADelete and lacks GetBucketPolicyStatus).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::iam::Policy;

/// The outcome of one configuration API call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fetched {
    /// The configuration, in the API's shape (SDK field names).
    Present(Value),
    /// The API said "not configured" (a known error code or an empty body).
    Absent,
    /// The call failed: access denied, throttled, wrong Region, network. Never a failure verdict.
    Unknown(ApiFailure),
}

/// Why a configuration is unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiFailure {
    pub api: String,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed: {}", self.api, self.code)?;
        if !self.message.is_empty() {
            write!(f, " ({})", self.message)?;
        }
        Ok(())
    }
}

impl Fetched {
    fn value(&self) -> Value {
        match self {
            Fetched::Present(v) => v.clone(),
            _ => Value::Null,
        }
    }

    fn get(&self, key: &str) -> Value {
        match self {
            Fetched::Present(v) => v.get(key).cloned().unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }
}

/// Every configuration API's answer for one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketRaw {
    pub name: String,
    /// RFC 3339, from ListBuckets.
    pub creation_date: Option<String>,
    pub region: String,
    pub acl: Fetched,
    pub policy: Fetched,
    pub policy_status: Fetched,
    pub public_access_block: Fetched,
    pub encryption: Fetched,
    pub logging: Fetched,
    pub versioning: Fetched,
    pub lifecycle: Fetched,
    pub object_lock: Fetched,
    pub ownership_controls: Fetched,
    pub replication: Fetched,
    pub notifications: Fetched,
    pub tagging: Fetched,
    pub website: Fetched,
    pub cors: Fetched,
    /// The bucket's access points (ListAccessPoints of its Region, GetAccessPoint each):
    /// `Name`, `NetworkOrigin`, `PublicAccessBlockConfiguration`.
    #[serde(default = "no_access_points")]
    pub access_points: Fetched,
}

fn no_access_points() -> Fetched {
    Fetched::Present(Value::Array(Vec::new()))
}

/// The account-level answers: its public access block and its CloudTrail trails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRaw {
    /// The custom endpoint scanned (an emulator such as moto), `None` for AWS itself.
    #[serde(default)]
    pub endpoint: Option<String>,
    pub account_id: String,
    pub partition: String,
    pub region: String,
    pub public_access_block: Fetched,
    /// Each trail as DescribeTrails gives it, plus `IsLogging` (GetTrailStatus) and the
    /// `EventSelectors` / `AdvancedEventSelectors` of GetEventSelectors.
    pub trails: Fetched,
}

/// Builds the `AWS.S3.Bucket` resource and its verdicts.
pub fn bucket_resource(raw: &BucketRaw, account: &AccountRaw) -> Value {
    let arn = format!("arn:{}:s3:::{}", account.partition, raw.name);
    let mut unknown = Map::new();
    let mut note = |field: &str, f: &Fetched| {
        if let Fetched::Unknown(e) = f {
            unknown.insert(field.into(), Value::String(e.to_string()));
        }
    };
    note("Owner", &raw.acl);
    note("Grants", &raw.acl);
    note("Policy", &raw.policy);
    note("PolicyStatus", &raw.policy_status);
    note("PublicAccessBlockConfiguration", &raw.public_access_block);
    note(
        "AccountPublicAccessBlockConfiguration",
        &account.public_access_block,
    );
    note("EncryptionRules", &raw.encryption);
    note("LoggingPolicy", &raw.logging);
    note("Versioning", &raw.versioning);
    note("MFADelete", &raw.versioning);
    note("LifecycleRules", &raw.lifecycle);
    note("ObjectLockConfiguration", &raw.object_lock);
    note("OwnershipControls", &raw.ownership_controls);
    note("ReplicationConfiguration", &raw.replication);
    note("NotificationConfiguration", &raw.notifications);
    note("Tags", &raw.tagging);
    note("WebsiteConfiguration", &raw.website);
    note("CorsRules", &raw.cors);
    note("AccessPoints", &raw.access_points);
    let tags = match &raw.tagging {
        Fetched::Present(v) => {
            let map: Map<String, Value> = v
                .get("TagSet")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    Some((t.get("Key")?.as_str()?.to_string(), t.get("Value")?.clone()))
                })
                .collect();
            Value::Object(map)
        }
        _ => Value::Null,
    };
    let ownership = match &raw.ownership_controls {
        Fetched::Present(v) => v
            .pointer("/Rules/0/ObjectOwnership")
            .cloned()
            .unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let mut resource = json!({
        "ResourceType": "AWS.S3.Bucket",
        "ResourceId": arn,
        "Arn": arn,
        "Name": raw.name,
        "Region": raw.region,
        "AccountId": account.account_id,
        "TimeCreated": raw.creation_date,
        "Tags": tags,
        "Owner": raw.acl.get("Owner"),
        "Grants": raw.acl.get("Grants"),
        "ObjectLockConfiguration": raw.object_lock.value(),
        "PublicAccessBlockConfiguration": raw.public_access_block.value(),
        "AccountPublicAccessBlockConfiguration": account.public_access_block.value(),
        "LoggingPolicy": raw.logging.value(),
        "Versioning": raw.versioning.get("Status"),
        "MFADelete": raw.versioning.get("MFADelete"),
        "LifecycleRules": raw.lifecycle.get("Rules"),
        "EncryptionRules": raw.encryption.get("Rules"),
        "Policy": raw.policy.value(),
        "PolicyStatus": raw.policy_status.value(),
        "ObjectOwnership": ownership,
        "ReplicationConfiguration": raw.replication.value(),
        "NotificationConfiguration": raw.notifications.value(),
        "WebsiteConfiguration": raw.website.value(),
        "CorsRules": raw.cors.get("CORSRules"),
        "AccessPoints": raw.access_points.value(),
        "bucketwatch": {"Unknown": unknown, "Endpoint": account.endpoint},
    });
    annotate_bucket(&mut resource);
    resource
}

/// Builds the `AWS.S3.Account` resource: account BPA and CloudTrail S3 data-event coverage.
pub fn account_resource(raw: &AccountRaw) -> Value {
    let mut unknown = Map::new();
    for (field, f) in [
        ("PublicAccessBlockConfiguration", &raw.public_access_block),
        ("Trails", &raw.trails),
    ] {
        if let Fetched::Unknown(e) = f {
            unknown.insert(field.into(), Value::String(e.to_string()));
        }
    }
    let mut resource = json!({
        "ResourceType": "AWS.S3.Account",
        "ResourceId": format!("arn:{}:s3::{}:account", raw.partition, raw.account_id),
        "AccountId": raw.account_id,
        "Region": raw.region,
        "PublicAccessBlockConfiguration": raw.public_access_block.value(),
        "Trails": match &raw.trails { Fetched::Present(v) => v.clone(), Fetched::Absent => json!([]), _ => Value::Null },
        "bucketwatch": {"Unknown": unknown},
    });
    annotate_account(&mut resource);
    resource
}

fn flag(v: &Value, name: &str) -> bool {
    v.get(name).and_then(Value::as_bool).unwrap_or(false)
}

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// Computes the `bucketwatch` verdicts from the resource's own fields, so resources from a file
/// (`scan --resources`) get the same verdicts as scanned ones. Existing verdicts are replaced;
/// `bucketwatch.Unknown` is kept.
pub fn annotate_bucket(resource: &mut Value) {
    let unknown: Map<String, Value> = resource
        .pointer("/bucketwatch/Unknown")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let is_unknown = |f: &str| unknown.contains_key(f);
    let arn = resource
        .get("Arn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let account = resource
        .get("AccountId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut out = Map::new();

    // Policy verdicts.
    let mut policy_read = Some(false);
    let mut policy_write = Some(false);
    let mut policy_reasons = Vec::new();
    match resource.get("Policy") {
        _ if is_unknown("Policy") => {
            policy_read = None;
            policy_write = None;
            policy_reasons.push(format!(
                "the policy is unknown: {}",
                unknown["Policy"].as_str().unwrap_or("")
            ));
            for k in [
                "SecureTransportEnforced",
                "CrossAccountActions",
                "MinimumTlsVersion",
            ] {
                out.insert(k.into(), Value::Null);
            }
        }
        Some(Value::String(text)) => match Policy::parse(text) {
            Ok(p) => {
                let r = p.public_access(&arn, false);
                let w = p.public_access(&arn, true);
                policy_read = Some(r.holds);
                policy_write = Some(w.holds);
                policy_reasons.extend(r.reasons.iter().map(|s| format!("read: {s}")));
                policy_reasons.extend(w.reasons.iter().map(|s| format!("write: {s}")));
                let st = p.secure_transport(&arn);
                out.insert("SecureTransportEnforced".into(), json!(st.holds));
                out.insert("SecureTransportReasons".into(), json!(st.reasons));
                out.insert("MinimumTlsVersion".into(), json!(p.minimum_tls()));
                out.insert(
                    "CrossAccountActions".into(),
                    json!(p.cross_account_actions(&arn, &account)),
                );
                out.insert(
                    "MalformedPrincipals".into(),
                    json!(p.malformed_principals()),
                );
            }
            Err(e) => {
                // An unreadable policy cannot be judged either way.
                policy_read = None;
                policy_write = None;
                policy_reasons.push(format!("the policy cannot be analysed: {e}"));
                out.insert("PolicyParseError".into(), json!(e.to_string()));
                for k in [
                    "SecureTransportEnforced",
                    "CrossAccountActions",
                    "MinimumTlsVersion",
                ] {
                    out.insert(k.into(), Value::Null);
                }
            }
        },
        _ => {
            policy_reasons.push("the bucket has no policy".into());
            out.insert("SecureTransportEnforced".into(), json!(false));
            out.insert(
                "SecureTransportReasons".into(),
                json!(["the bucket has no policy, so nothing denies plain HTTP"]),
            );
            out.insert("MinimumTlsVersion".into(), Value::Null);
            out.insert("CrossAccountActions".into(), json!({}));
        }
    }
    out.insert("PolicyPublicRead".into(), json!(policy_read));
    out.insert("PolicyPublicWrite".into(), json!(policy_write));
    out.insert(
        "PolicyPublic".into(),
        match (policy_read, policy_write) {
            (Some(true), _) | (_, Some(true)) => json!(true),
            (Some(false), Some(false)) => json!(false),
            _ => Value::Null,
        },
    );
    // AWS's own verdict (GetBucketPolicyStatus, Zelkova) is authoritative: a disagreement is
    // recorded, and AWS's answer replaces ours. An emulator's answer is not AWS's (moto calls any
    // statement with a Condition non-public and ignores Deny), so there ours stands.
    let endpoint = resource
        .pointer("/bucketwatch/Endpoint")
        .cloned()
        .unwrap_or(Value::Null);
    if let (Some(aws), Some(ours)) = (
        resource
            .pointer("/PolicyStatus/IsPublic")
            .and_then(Value::as_bool),
        out.get("PolicyPublic").and_then(Value::as_bool),
    ) && aws != ours
    {
        out.insert("PolicyStatusDisagreement".into(), json!(true));
        if endpoint.is_null() {
            policy_reasons.push(format!(
                "GetBucketPolicyStatus says IsPublic={aws}, bucketwatch's analysis {ours}: AWS's verdict wins"
            ));
            out.insert("PolicyPublic".into(), json!(aws));
        } else {
            policy_reasons.push(format!(
                "the endpoint's GetBucketPolicyStatus says IsPublic={aws}, bucketwatch's analysis \
                 {ours}: an emulator's verdict is not AWS's, bucketwatch's stands"
            ));
        }
    }
    out.insert("Endpoint".into(), endpoint);
    out.insert("PolicyPublicReasons".into(), json!(policy_reasons));

    // ACL verdicts.
    let (mut acl_read, mut acl_write, mut acl_reasons) = (false, false, Vec::new());
    if let Some(grants) = resource.get("Grants").and_then(Value::as_array) {
        for g in grants {
            let uri = g
                .pointer("/Grantee/URI")
                .and_then(Value::as_str)
                .unwrap_or("");
            if uri != ALL_USERS && uri != AUTHENTICATED_USERS {
                continue;
            }
            let perm = g.get("Permission").and_then(Value::as_str).unwrap_or("");
            let who = if uri == ALL_USERS {
                "AllUsers"
            } else {
                "AuthenticatedUsers"
            };
            if matches!(perm, "READ" | "READ_ACP" | "FULL_CONTROL") {
                acl_read = true;
            }
            if matches!(perm, "WRITE" | "WRITE_ACP" | "FULL_CONTROL") {
                acl_write = true;
            }
            acl_reasons.push(format!("the ACL grants {perm} to {who}"));
        }
    }
    let acl_known = !is_unknown("Grants");
    out.insert(
        "AclPublicRead".into(),
        if acl_known {
            json!(acl_read)
        } else {
            Value::Null
        },
    );
    out.insert(
        "AclPublicWrite".into(),
        if acl_known {
            json!(acl_write)
        } else {
            Value::Null
        },
    );
    out.insert("AclPublicReasons".into(), json!(acl_reasons));

    // Effective exposure: the ACL counts unless IgnorePublicAcls (bucket or account) or
    // BucketOwnerEnforced; the policy counts unless RestrictPublicBuckets (bucket or account).
    // BlockPublicAcls / BlockPublicPolicy only reject future PUTs and change nothing here.
    let bucket_bpa = resource
        .get("PublicAccessBlockConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    let account_bpa = resource
        .get("AccountPublicAccessBlockConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    let bpa_known = !is_unknown("PublicAccessBlockConfiguration")
        && !is_unknown("AccountPublicAccessBlockConfiguration");
    let level = |name: &str| -> Option<&'static str> {
        if flag(&bucket_bpa, name) {
            Some("bucket")
        } else if flag(&account_bpa, name) {
            Some("account")
        } else {
            None
        }
    };
    let enforced =
        resource.get("ObjectOwnership").and_then(Value::as_str) == Some("BucketOwnerEnforced");
    for (write, name) in [(false, "PublicRead"), (true, "PublicWrite")] {
        let mut reasons = Vec::new();
        let acl_open = if write { acl_write } else { acl_read };
        let acl_exposed = if !acl_known {
            reasons.push(format!(
                "the ACL is unknown: {}",
                unknown["Grants"].as_str().unwrap_or("")
            ));
            None
        } else if !acl_open {
            Some(false)
        } else if enforced {
            reasons.push("a public ACL is ignored: object ownership is BucketOwnerEnforced".into());
            Some(false)
        } else if let Some(at) = level("IgnorePublicAcls") {
            reasons.push(format!(
                "a public ACL is ignored: IgnorePublicAcls is set on the {at}"
            ));
            Some(false)
        } else if !bpa_known {
            reasons.push("the ACL is public and the public access block is unknown".into());
            None
        } else {
            reasons.extend(acl_reasons.iter().cloned());
            Some(true)
        };
        let policy_open = if write { policy_write } else { policy_read };
        let policy_exposed = match policy_open {
            None => {
                reasons.push("the policy's exposure is unknown".into());
                None
            }
            Some(false) => Some(false),
            Some(true) => {
                let prefix = if write { "write: " } else { "read: " };
                if let Some(at) = level("RestrictPublicBuckets") {
                    reasons.push(format!(
                        "a public policy is neutralized: RestrictPublicBuckets is set on the {at}"
                    ));
                    Some(false)
                } else if !bpa_known {
                    reasons
                        .push("the policy is public and the public access block is unknown".into());
                    None
                } else {
                    reasons.extend(
                        policy_reasons
                            .iter()
                            .filter_map(|r| r.strip_prefix(prefix))
                            .map(|r| format!("the policy: {r}")),
                    );
                    Some(true)
                }
            }
        };
        let verdict = match (acl_exposed, policy_exposed) {
            (Some(true), _) | (_, Some(true)) => json!(true),
            (Some(false), Some(false)) => json!(false),
            _ => Value::Null,
        };
        if verdict == json!(false) && reasons.is_empty() {
            reasons.push("neither the ACL nor the policy grants it to everyone".into());
        }
        out.insert(name.into(), verdict);
        out.insert(format!("{name}Reasons"), json!(reasons));
    }
    out.insert("Unknown".into(), Value::Object(unknown));
    // Cross-bucket facts (`LoggingTarget`, `ReplicationDestinations`) are filled by the scanner
    // once every bucket is known; keep them if they are already there.
    if let Some(Value::Object(old)) = resource.get("bucketwatch") {
        for k in ["LoggingTarget", "ReplicationDestinations"] {
            if let Some(v) = old.get(k) {
                out.insert(k.into(), v.clone());
            }
        }
    }
    resource["bucketwatch"] = Value::Object(out);
}

/// Coverage of S3 data events by one trail, per direction: `full`, `partial` or `none`.
pub fn trail_coverage(trail: &Value) -> (&'static str, &'static str) {
    let mut write = "none";
    let mut read = "none";
    let raise = |slot: &mut &'static str, level: &'static str| {
        if level == "full" || (*slot == "none" && level == "partial") {
            *slot = level;
        }
    };
    for sel in trail
        .get("EventSelectors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let rw = sel
            .get("ReadWriteType")
            .and_then(Value::as_str)
            .unwrap_or("All");
        for dr in sel
            .get("DataResources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if dr.get("Type").and_then(Value::as_str) != Some("AWS::S3::Object") {
                continue;
            }
            let values: Vec<&str> = dr
                .get("Values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let all = values.iter().any(|v| {
                let parts: Vec<&str> = v.split(':').collect();
                parts.len() >= 3
                    && parts[0] == "arn"
                    && parts[2] == "s3"
                    && parts[3..].iter().all(|p| p.is_empty())
            });
            let level = if all {
                "full"
            } else if values.is_empty() {
                continue;
            } else {
                "partial"
            };
            if rw == "All" || rw == "WriteOnly" {
                raise(&mut write, level);
            }
            if rw == "All" || rw == "ReadOnly" {
                raise(&mut read, level);
            }
        }
    }
    for sel in trail
        .get("AdvancedEventSelectors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut category = false;
        let mut object = false;
        let mut narrowed = false;
        let mut read_only: Option<bool> = None;
        for f in sel
            .get("FieldSelectors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = f.get("Field").and_then(Value::as_str).unwrap_or("");
            let equals: Vec<&str> = f
                .get("Equals")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let only_equals = [
                "StartsWith",
                "NotStartsWith",
                "EndsWith",
                "NotEndsWith",
                "NotEquals",
            ]
            .iter()
            .all(|op| {
                f.get(*op)
                    .and_then(Value::as_array)
                    .is_none_or(|a| a.is_empty())
            });
            match field {
                "eventCategory" => category = only_equals && equals == ["Data"],
                "resources.type" => object = only_equals && equals == ["AWS::S3::Object"],
                "readOnly" if only_equals && equals.len() == 1 => {
                    read_only = Some(equals[0].eq_ignore_ascii_case("true"))
                }
                "readOnly" => narrowed = true,
                _ => narrowed = true,
            }
        }
        if !(category && object) {
            continue;
        }
        let level = if narrowed { "partial" } else { "full" };
        if read_only != Some(true) {
            raise(&mut write, level);
        }
        if read_only != Some(false) {
            raise(&mut read, level);
        }
    }
    (write, read)
}

/// Account verdicts: all four BPA flags, and per direction whether a multi-Region, logging trail
/// covers all S3 object events (Security Hub S3.22 / S3.23).
pub fn annotate_account(resource: &mut Value) {
    let unknown = resource
        .pointer("/bucketwatch/Unknown")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = Map::new();
    let bpa = resource
        .get("PublicAccessBlockConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    let names = [
        "BlockPublicAcls",
        "IgnorePublicAcls",
        "BlockPublicPolicy",
        "RestrictPublicBuckets",
    ];
    let off: Vec<&str> = names.iter().copied().filter(|n| !flag(&bpa, n)).collect();
    out.insert(
        "PublicAccessBlockComplete".into(),
        if unknown.contains_key("PublicAccessBlockConfiguration") {
            Value::Null
        } else {
            json!(off.is_empty())
        },
    );
    out.insert("PublicAccessBlockMissing".into(), json!(off));
    let mut coverage = BTreeMap::new();
    for direction in ["Write", "Read"] {
        let mut reasons = Vec::new();
        let mut covered = false;
        let mut failed = false;
        for t in resource
            .get("Trails")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = t.get("Name").and_then(Value::as_str).unwrap_or("?");
            let (w, r) = trail_coverage(t);
            let level = if direction == "Write" { w } else { r };
            if t.get("Errors")
                .and_then(Value::as_array)
                .is_some_and(|e| !e.is_empty())
            {
                failed = true;
                reasons.push(format!("trail {name} could not be read: {}", t["Errors"]));
                continue;
            }
            let multi = flag(t, "IsMultiRegionTrail");
            let logging = flag(t, "IsLogging");
            if level == "full" && multi && logging {
                covered = true;
                reasons.push(format!(
                    "trail {name} logs all S3 {} data events in every Region",
                    direction.to_lowercase()
                ));
            } else {
                let mut why = vec![format!("{level} coverage")];
                if !multi {
                    why.push("single-Region".into());
                }
                if !logging {
                    why.push("not logging".into());
                }
                reasons.push(format!("trail {name}: {}", why.join(", ")));
            }
        }
        if reasons.is_empty() {
            reasons.push("no CloudTrail trail exists".into());
        }
        let verdict = if covered {
            json!(true)
        } else if unknown.contains_key("Trails") || failed {
            Value::Null
        } else {
            json!(false)
        };
        coverage.insert(direction, (verdict, reasons));
    }
    for (direction, (verdict, reasons)) in coverage {
        out.insert(format!("S3{direction}DataEventsLogged"), verdict);
        out.insert(format!("S3{direction}DataEventsReasons"), json!(reasons));
    }
    out.insert("Unknown".into(), Value::Object(unknown));
    resource["bucketwatch"] = Value::Object(out);
}

/// Cross-bucket facts, once every bucket of the scan is built: where each logging target and
/// replication destination is, and whether the logging target is itself public. `resolve` gives
/// the Region of a bucket outside the inventory (HeadBucket), or `None`.
pub fn link_buckets(resources: &mut [Value], resolve: &dyn Fn(&str) -> Option<String>) {
    let by_name: BTreeMap<String, (String, Value)> = resources
        .iter()
        .filter_map(|r| {
            Some((
                r.get("Name")?.as_str()?.to_string(),
                (
                    r.get("Region")?.as_str()?.to_string(),
                    r.pointer("/bucketwatch/PublicRead")
                        .cloned()
                        .unwrap_or(Value::Null),
                ),
            ))
        })
        .collect();
    for r in resources.iter_mut() {
        if let Some(target) = r
            .pointer("/LoggingPolicy/TargetBucket")
            .and_then(Value::as_str)
        {
            let target = target.to_string();
            let info = match by_name.get(&target) {
                Some((region, public)) => {
                    json!({"Bucket": target, "InInventory": true, "Region": region, "PublicRead": public})
                }
                None => {
                    json!({"Bucket": target, "InInventory": false, "Region": resolve(&target), "PublicRead": null})
                }
            };
            r["bucketwatch"]["LoggingTarget"] = info;
        }
        let dests: Vec<Value> = r
            .pointer("/ReplicationConfiguration/Rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|rule| rule.get("Status").and_then(Value::as_str) == Some("Enabled"))
            .filter_map(|rule| {
                let arn = rule.pointer("/Destination/Bucket")?.as_str()?;
                let name = arn.rsplit(':').next().unwrap_or(arn).to_string();
                let region = match by_name.get(&name) {
                    Some((region, _)) => Some(region.clone()),
                    None => resolve(&name),
                };
                Some(json!({
                    "Bucket": name,
                    "Region": region,
                    "Account": rule.pointer("/Destination/Account"),
                }))
            })
            .collect();
        if r.get("ReplicationConfiguration")
            .is_some_and(|v| !v.is_null())
        {
            r["bucketwatch"]["ReplicationDestinations"] = json!(dests);
        }
    }
}

#[cfg(test)]
mod tests;
