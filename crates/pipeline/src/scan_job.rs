//! Posture scan results into the lake and the alert path.
//!
//! A scan's resources and policy results become rows of `cloudsecurity.resources` and
//! `cloudsecurity.compliance` (one row per scan: the history), and each failure that is new
//! becomes an alert through the same store and deliveries as rule alerts. "New" is measured
//! against the current posture, `views.compliance_state`: the latest result of that policy on
//! that resource. The first scan a lake sees is the baseline and alerts nothing (it would
//! otherwise turn every standing misconfiguration into an alert at once); after it, a resource
//! that fails a policy it did not fail before raises one, a new bucket included.
//!
//! One scan is one unit for the lake and the alert store, named by its scan id, so a scan
//! recorded twice (a retried batch, a second worker on the same schedule slot) adds nothing.
//!
//! Owns: the row layout of a scan and what counts as a new failure. Must not touch: AWS calls
//! and policy evaluation (`bucketwatch-scan`), delivery (the deliverer).

use std::collections::HashMap;
use std::sync::Arc;

use bucketwatch_alert::{AlertStore, ResultKind, RuleResult, Severity};
use bucketwatch_core::Timestamp;
use bucketwatch_detect::Engine;
use bucketwatch_lake::arrow::array::{Array, AsArray};
use bucketwatch_lake::arrow::compute::cast;
use bucketwatch_lake::arrow::datatypes::DataType;
use bucketwatch_lake::{Lake, LakeError, LakeWriter, QueryEngine, TableId};
use bucketwatch_scan::{PolicyResult, ScanReport, Status};
use serde_json::{Map, Value, json};
use tokio::runtime::Runtime;

/// What recording one scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanRecord {
    pub scan_id: String,
    pub resources: u64,
    pub results: u64,
    /// No earlier results were in the lake: this scan is the baseline and alerts nothing.
    pub baseline: bool,
    /// (resource id, policy id) of each failure that is new since the last scan.
    pub new_failures: Vec<(String, String)>,
    pub alerts_created: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanRecordError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("reading the current posture (views.compliance_state): {0}")]
    State(String),
    #[error("alert store: {0}")]
    Store(#[from] bucketwatch_alert::StoreError),
}

/// A scan id for a scan made at `time`: sortable, and the same for every worker that records
/// a scan of the same scheduled slot.
pub fn scan_id(time: Timestamp) -> String {
    time.to_string()
}

/// Records `report`, a scan made at `scan_time`, as scan `scan_id`: rows in the lake
/// (committed before returning) and alerts for new failures in `store`.
pub fn record_scan(
    runtime: &Runtime,
    report: &ScanReport,
    engine: &Engine,
    scan_id: &str,
    scan_time: Timestamp,
    writer: &mut LakeWriter,
    store: &mut dyn AlertStore,
) -> Result<ScanRecord, ScanRecordError> {
    let previous = runtime.block_on(current_posture(writer.lake()))?;
    let baseline = previous.is_none();
    let previous = previous.unwrap_or_default();
    let time = scan_time.to_string();
    let unit = format!("scan:{scan_id}");
    let mut record = ScanRecord {
        scan_id: scan_id.to_string(),
        baseline,
        ..ScanRecord::default()
    };

    let resources: HashMap<&str, &Value> = report
        .resources
        .iter()
        .filter_map(|r| Some((r.get("ResourceId")?.as_str()?, r)))
        .collect();
    for resource in &report.resources {
        let row = resource_row(resource, report.account_id.as_deref(), scan_id, &time);
        writer.push_scan_row(TableId::resources(), &row, &unit);
        record.resources += 1;
    }

    let mut alerts = Vec::new();
    for result in &report.results {
        let key = (result.resource_id.clone(), result.policy_id.clone());
        let before = previous.get(&key).map(String::as_str);
        let row = compliance_row(result, before, scan_id, &time);
        writer.push_scan_row(TableId::compliance(), &row, &unit);
        record.results += 1;
        let newly_failing = result.status == Status::Fail
            && !result.suppressed
            && before != Some(Status::Fail.as_str());
        if newly_failing && !baseline {
            let resource = resources.get(result.resource_id.as_str()).copied();
            alerts.push(failure_alert(engine, result, resource, scan_time));
            record.new_failures.push(key);
        }
    }

    // Alerts first, then rows, as ingest does: a crash in between leaves the scan to be
    // recorded again, and the store has applied its unit already.
    let outcome = store.record_unit(&unit, &alerts, scan_time)?;
    record.alerts_created = outcome.created.len() as u64;
    runtime.block_on(writer.commit())?;
    Ok(record)
}

/// The latest status of each (resource id, policy id); `None` when no scan was recorded yet.
async fn current_posture(
    lake: &Lake,
) -> Result<Option<HashMap<(String, String), String>>, ScanRecordError> {
    if lake.table_handle(&TableId::compliance()).await?.is_none() {
        return Ok(None);
    }
    let engine = QueryEngine::open(lake)
        .await
        .map_err(|e| ScanRecordError::State(e.to_string()))?;
    let result = engine
        .query("SELECT resource_id, policy_id, status FROM views.compliance_state")
        .await
        .map_err(|e| ScanRecordError::State(e.to_string()))?;
    let mut posture = HashMap::new();
    for batch in &result.batches {
        let column = |i: usize| {
            cast(batch.column(i), &DataType::Utf8)
                .map_err(|e| ScanRecordError::State(e.to_string()))
        };
        let (resource, policy, status) = (column(0)?, column(1)?, column(2)?);
        let (resource, policy, status) = (
            resource.as_string::<i32>(),
            policy.as_string::<i32>(),
            status.as_string::<i32>(),
        );
        for row in 0..batch.num_rows() {
            if resource.is_null(row) || policy.is_null(row) || status.is_null(row) {
                continue;
            }
            posture.insert(
                (
                    resource.value(row).to_string(),
                    policy.value(row).to_string(),
                ),
                status.value(row).to_string(),
            );
        }
    }
    Ok(Some(posture))
}

fn resource_row(
    resource: &Value,
    account: Option<&str>,
    scan_id: &str,
    time: &str,
) -> Map<String, Value> {
    let field = |name: &str| resource.get(name).cloned().unwrap_or(Value::Null);
    let account = resource
        .get("AccountId")
        .cloned()
        .or_else(|| account.map(Value::from))
        .unwrap_or(Value::Null);
    object(json!({
        "scan_id": scan_id,
        "scan_time": time,
        "resource_id": field("ResourceId"),
        "resource_type": field("ResourceType"),
        "account_id": account,
        "region": field("Region"),
        "name": field("Name"),
        "resource": resource.to_string(),
        "p_event_time": time,
    }))
}

fn compliance_row(
    result: &PolicyResult,
    before: Option<&str>,
    scan_id: &str,
    time: &str,
) -> Map<String, Value> {
    object(json!({
        "scan_id": scan_id,
        "scan_time": time,
        "resource_id": result.resource_id,
        "resource_type": result.resource_type,
        "policy_id": result.policy_id,
        "severity": result.severity,
        "status": result.status.as_str(),
        "reason": result.reason,
        "suppressed": result.suppressed,
        "previous_status": before,
        "p_event_time": time,
    }))
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("built from an object literal"),
    }
}

/// The alert of a new failure: the policy's spec (severity, runbook, reports) with the
/// resource as its event. Grouped per resource and policy, as Panther groups policy alerts.
fn failure_alert(
    engine: &Engine,
    result: &PolicyResult,
    resource: Option<&Value>,
    scan_time: Timestamp,
) -> RuleResult {
    let spec = engine
        .policies()
        .iter()
        .map(|p| &p.policy.spec)
        .find(|s| s.policy_id == result.policy_id);
    let text = |f: fn(&bucketwatch_detect::content::spec::PolicySpec) -> &Option<String>| {
        spec.and_then(|s| f(s).clone()).unwrap_or_default()
    };
    let mut tags: Vec<String> = spec.map(|s| s.tags.clone()).unwrap_or_default();
    tags.sort();
    let reports = spec
        .map(|s| {
            s.reports
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().map(|id| id.0.clone()).collect()))
                .collect()
        })
        .unwrap_or_default();
    RuleResult {
        rule_id: result.policy_id.clone(),
        rule_version: None,
        log_type: result.resource_type.clone(),
        dedup: result.resource_id.clone(),
        unique: None,
        title: result.reason.clone(),
        severity: spec.map_or(Severity::Medium, |s| s.severity),
        dedup_period_minutes: 0,
        threshold: 1,
        alert_context: Some(json!({
            "resourceId": result.resource_id,
            "resourceType": result.resource_type,
            "policyId": result.policy_id,
            "reason": result.reason,
            "region": resource.and_then(|r| r.get("Region")).cloned().unwrap_or(Value::Null),
        })),
        description: text(|s| &s.description).into(),
        runbook: text(|s| &s.runbook).into(),
        reference: text(|s| &s.reference).into(),
        tags: tags.into(),
        reports: Arc::new(reports),
        destinations: None,
        kind: ResultKind::Match,
        event: Arc::new(resource.cloned().unwrap_or(Value::Null)),
        event_time: scan_time,
    }
}
