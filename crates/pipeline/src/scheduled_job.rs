//! Scheduled queries: SQL over the lake whose result rows go through the scheduled rules
//! subscribed to them (`ScheduledQueries` in a `scheduled_rule` spec), with the usual grouping
//! and alerts, as in the seed tutorial's "search feeds detection".
//!
//! One run of a query is one unit for the alert store, named by the query and the start of its
//! schedule slot (`RateMinutes`; an hour for cron schedules), so a run repeated within the same
//! slot (a restarted service, a manual run) adds no counts twice. Matches of scheduled rules are
//! alerts only: they have no log table to sit beside in `rule_matches`.

use std::sync::Arc;

use bucketwatch_alert::{AlertStore, ResultKind, RuleResult};
use bucketwatch_core::Timestamp;
use bucketwatch_detect::Engine;
use bucketwatch_detect::content::spec::ScheduledQuerySpec;
use bucketwatch_lake::arrow::json::writer::{JsonArray, WriterBuilder};
use bucketwatch_lake::{Lake, QueryEngine, QueryError};
use serde_json::Value;
use tokio::runtime::Runtime;

/// What one scheduled query's run did.
#[derive(Debug, Clone, Default)]
pub struct ScheduledRun {
    pub query: String,
    pub rows: u64,
    pub matches: u64,
    pub rule_errors: u64,
    pub alerts_created: u64,
    /// Why the query could not run; the other queries still run.
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduledError {
    #[error("alert store: {0}")]
    Store(#[from] bucketwatch_alert::StoreError),
    #[error(transparent)]
    Lake(#[from] bucketwatch_lake::LakeError),
}

/// The slot a run at `now` belongs to: the start of the rate interval (an hour for cron).
pub fn slot_start(spec: &ScheduledQuerySpec, now: Timestamp) -> Timestamp {
    let minutes = i64::from(spec.schedule.rate_minutes.unwrap_or(60).max(1));
    let width = minutes * 60 * 1_000_000_000;
    Timestamp(now.0.div_euclid(width) * width)
}

/// Runs the enabled scheduled queries (only `only` when given) over the lake at `now`.
///
/// Synchronous, with `runtime` for the queries only: rules and the alert store run outside
/// it, as a store may block on the runtime itself (DynamoDB).
pub fn run_scheduled(
    runtime: &Runtime,
    queries: &[ScheduledQuerySpec],
    only: Option<&str>,
    engine: &Engine,
    store: &mut dyn AlertStore,
    lake: &Lake,
    now: Timestamp,
) -> Result<Vec<ScheduledRun>, ScheduledError> {
    let session = runtime
        .block_on(QueryEngine::open(lake))
        .map_err(|e| match e {
            QueryError::Lake(e) => ScheduledError::Lake(e),
            other => ScheduledError::Lake(bucketwatch_lake::LakeError::Location {
                location: lake.location().root().to_string(),
                reason: other.to_string(),
            }),
        })?;
    let mut runs = Vec::new();
    for spec in queries {
        if only.is_some_and(|name| name != spec.query_name) || (only.is_none() && !spec.enabled) {
            continue;
        }
        let mut run = ScheduledRun {
            query: spec.query_name.clone(),
            ..ScheduledRun::default()
        };
        let Some(sql) = spec.query.as_deref().or(spec.athena_query.as_deref()) else {
            run.error = Some("the spec has no Query".into());
            runs.push(run);
            continue;
        };
        let rows = match runtime.block_on(session.query_at(sql, now)) {
            Ok(result) => rows_as_json(&result.batches),
            Err(e) => Err(e.render(sql)),
        };
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                run.error = Some(e);
                runs.push(run);
                continue;
            }
        };
        run.rows = rows.len() as u64;
        let mut detections = Vec::new();
        for row in &rows {
            engine.evaluate_scheduled(&spec.query_name, row, &mut detections);
        }
        let results: Vec<RuleResult> = detections
            .iter()
            .filter(|d| d.create_alert)
            .map(|d| d.result.clone())
            .collect();
        for d in &detections {
            match d.result.kind {
                ResultKind::Match => run.matches += 1,
                ResultKind::Error { .. } => run.rule_errors += 1,
            }
        }
        let unit = format!("scheduled:{}@{}", spec.query_name, slot_start(spec, now));
        let outcome = store.record_unit(&unit, &results, now)?;
        run.alerts_created = outcome.created.len() as u64;
        runs.push(run);
    }
    Ok(runs)
}

/// Result rows as JSON objects, the shape rules read.
fn rows_as_json(
    batches: &[bucketwatch_lake::arrow::record_batch::RecordBatch],
) -> Result<Vec<Arc<Value>>, String> {
    let mut buf = Vec::new();
    let mut writer = WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, JsonArray>(&mut buf);
    for b in batches {
        writer.write(b).map_err(|e| e.to_string())?;
    }
    writer.finish().map_err(|e| e.to_string())?;
    drop(writer);
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Value> = serde_json::from_slice(&buf).map_err(|e| e.to_string())?;
    Ok(rows.into_iter().map(Arc::new).collect())
}
