//! `bucketwatch run`: the long-running service, as a visible topology.
//!
//! ```text
//! sources (tokio tasks: SQS, S3 polling, folder, stdin) ──batches──▶ worker thread ──▶ lake
//!        ▲  acknowledge after the commit ◀──────outcomes────────────┘   │ (parse, detect,
//!        │                                                              ▼  alert store)
//! upkeep ticker (scheduled queries, scans, compaction, expiry) ──▶ worker  deliverer ──▶ destinations
//! ```
//!
//! Posture scans run on the worker too (scheduled, and for buckets whose configuration an
//! ingested CloudTrail event changed, after that batch is acknowledged), so their results and
//! alerts go through the same lake writer and alert store.
//!
//! One worker thread owns the detection engine, the alert store and the lake writer, so their
//! effects happen in one order ([`IngestJob`]'s: alerts recorded per unit, then rows
//! committed); sources wait for their batch's outcome before acknowledging anything. The
//! channel to the worker holds one batch, so a burst waits in the queue, not in memory.
//!
//! Owns the wiring, the shutdown order and the upkeep schedule. Must not touch what a stage
//! does inside: notifications are classified by `bucketwatch_collect::notification`, records
//! parsed by the ingest job, alerts sent by the [`Deliverer`].

pub mod config;
pub mod metrics;
mod sources;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bucketwatch_alert::{AlertStore, Deliverer, DeliveryQueue, DynamoAlertStore, SqliteAlertStore};
use bucketwatch_core::Timestamp;
use bucketwatch_detect::content::spec::ScheduledQuerySpec;
use bucketwatch_detect::{Engine, EngineOptions};
use bucketwatch_lake::{Lake, LakeWriter};
use bucketwatch_scan::{CollectOptions, ReportOptions, ScanSettings};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

pub use config::{ConfigError, ServiceConfig, SourceConfig, SourceKind};
pub use metrics::Metrics;

use crate::ingest_job::{IngestItem, IngestJob, IngestReport};
use crate::scan_job::{record_scan, scan_id};
use crate::scheduled_job::{run_scheduled, slot_start};

/// What the service needs besides its configuration: where things live, resolved by the
/// caller (the command line may override the file).
#[derive(Debug, Clone)]
pub struct Service {
    pub config: ServiceConfig,
    pub lake_location: String,
    pub alerts: AlertState,
}

/// Where alert grouping state, alerts and the delivery outbox live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertState {
    /// A SQLite file: one `run` process.
    Sqlite(PathBuf),
    /// A DynamoDB table shared by every `run` process on the same queue; created on first
    /// start when missing.
    DynamoDb { table: String },
}

impl std::fmt::Display for AlertState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AlertState::Sqlite(path) => write!(f, "{}", path.display()),
            AlertState::DynamoDb { table } => write!(f, "DynamoDB table {table}"),
        }
    }
}

/// A failure that stops the service at start. Once running, failures are logged and retried:
/// a batch that fails is not acknowledged and comes back.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("content: {0}")]
    Content(String),
    #[error(transparent)]
    Lake(#[from] bucketwatch_lake::LakeError),
    #[error("alert store {path}: {source}")]
    Store {
        path: String,
        #[source]
        source: Box<bucketwatch_alert::StoreError>,
    },
    #[error("delivery: {0}")]
    Delivery(#[from] bucketwatch_alert::ConfigError),
    #[error(transparent)]
    Source(#[from] Box<sources::SourceError>),
    #[error("{0}")]
    Metrics(std::io::Error),
    #[error("the worker thread stopped: {0}")]
    Worker(String),
}

/// Work for the worker thread.
enum Work {
    Batch(Batch),
    Upkeep(Upkeep),
}

/// Objects to ingest in one commit, and where to send the outcome.
struct Batch {
    items: Vec<IngestItem>,
    done: oneshot::Sender<BatchOutcome>,
}

/// Per item: `None` when its records are committed (or were already), else why not.
struct BatchOutcome {
    failures: Vec<Option<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upkeep {
    ScheduledQueries,
    Compact,
    Expire,
    /// A full posture scan, once per `[scan] interval_minutes` slot.
    Scan,
}

/// How the run ended.
#[derive(Debug, Clone, Default)]
pub struct ServiceReport {
    pub batches: u64,
    pub objects: u64,
    pub records: u64,
    pub alerts_created: u64,
}

impl Service {
    /// Runs until `shutdown` turns true (SIGTERM/SIGINT in the binary) or every source has
    /// ended (stdin at its end), then drains: the batch in progress is committed and
    /// acknowledged, due alerts get one more delivery round, and the function returns.
    pub fn run(
        &self,
        runtime: &Arc<Runtime>,
        shutdown: watch::Receiver<bool>,
        metrics: Arc<Metrics>,
    ) -> Result<ServiceReport, ServiceError> {
        let config = &self.config;
        let options = EngineOptions::default();
        let loaded = bucketwatch_detect::load_all(&config.content, &options.load);
        let queries: Vec<ScheduledQuerySpec> = loaded
            .scheduled_queries
            .iter()
            .map(|q| q.spec.clone())
            .filter(|q| q.enabled)
            .collect();
        let scan_settings = match &config.scan {
            Some(_) => ScanSettings::for_content(&config.content)
                .map_err(|e| ServiceError::Content(e.to_string()))?,
            None => ScanSettings::default(),
        };
        let lake = Lake::open(&self.lake_location)?;
        let writer = runtime.block_on(LakeWriter::open(lake.clone()))?;
        let needs_aws = config.sources.iter().any(|s| s.kind == SourceKind::Sqs)
            || matches!(self.alerts, AlertState::DynamoDb { .. })
            || config
                .delivery
                .destinations
                .iter()
                .any(|d| d.kind == bucketwatch_alert::DestinationKind::Sns);
        let aws = needs_aws.then(|| {
            runtime.block_on(aws_config::load_defaults(
                aws_config::BehaviorVersion::latest(),
            ))
        });
        let store_error = |source| ServiceError::Store {
            path: self.alerts.to_string(),
            source: Box::new(source),
        };
        let routes = config.delivery.routes();
        // The worker's store and the deliverer's are two handles on the same state.
        let (store, delivery): (Box<dyn AlertStore + Send>, DeliveryStart) = match &self.alerts {
            AlertState::Sqlite(path) => {
                let open = || SqliteAlertStore::open(path).map_err(store_error);
                let store = open()?.with_routes(routes);
                let deliverer = match &aws {
                    Some(aws) => Deliverer::with_aws_config(&config.delivery, open()?, aws)?,
                    None => runtime.block_on(Deliverer::new(&config.delivery, open()?))?,
                };
                (Box::new(store), DeliveryStart::Sqlite(deliverer))
            }
            AlertState::DynamoDb { table } => {
                let aws = aws.as_ref().expect("AWS configuration loaded for DynamoDB");
                let open = || DynamoAlertStore::from_config(aws, table, runtime.handle().clone());
                let store = open().with_routes(routes);
                store.ensure_table().map_err(store_error)?;
                let deliverer = Deliverer::with_aws_config(&config.delivery, open(), aws)?;
                (Box::new(store), DeliveryStart::DynamoDb(deliverer))
            }
        };
        let metrics_listener = if config.metrics.enabled {
            Some(
                runtime
                    .block_on(metrics::bind(config.metrics.listen))
                    .map_err(ServiceError::Metrics)?,
            )
        } else {
            None
        };
        let built = sources::build(config, aws.as_ref()).map_err(Box::new)?;

        // The engine loads Python: build it on the thread that uses it, and report its
        // problems before the sources start.
        let (work_tx, work_rx) = mpsc::channel::<Work>(1);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let worker = {
            let runtime = Arc::clone(runtime);
            let metrics = Arc::clone(&metrics);
            let maintenance = config.maintenance;
            let commit_rows = config.batch.commit_rows;
            let shared_lake = matches!(self.alerts, AlertState::DynamoDb { .. });
            let scan = config.scan.clone();
            std::thread::Builder::new()
                .name("bucketwatch-worker".into())
                .spawn(move || {
                    let engine = Engine::from_content(loaded, &options);
                    let problems: Vec<String> =
                        engine.problems().iter().map(|p| p.to_string()).collect();
                    let _ = ready_tx.send(problems);
                    let mut worker = Worker {
                        engine,
                        store,
                        writer,
                        lake,
                        runtime,
                        metrics,
                        queries,
                        last_slots: HashMap::new(),
                        maintenance,
                        commit_rows,
                        shared_lake,
                        scan,
                        scan_settings,
                        last_scan_slot: None,
                        rescans: BTreeSet::new(),
                        report: ServiceReport::default(),
                    };
                    worker.run(work_rx);
                    worker.report
                })
                .map_err(|e| ServiceError::Worker(e.to_string()))?
        };
        let problems = ready_rx
            .recv()
            .map_err(|_| ServiceError::Worker("it ended while loading content".into()))?;
        for problem in problems {
            tracing::warn!("content: {problem}");
        }

        // The deliverer stops after the worker, when the last batch's alerts are in the outbox,
        // and gives them one more round.
        let (delivery_stop, delivery_stop_rx) = watch::channel(false);
        let delivery = delivery.start(runtime, delivery_stop_rx)?;
        let server = runtime.block_on(async {
            let mut tasks = JoinSet::new();
            for source in built {
                tasks.spawn(source.run(
                    work_tx.clone(),
                    shutdown.clone(),
                    Arc::clone(&metrics),
                    config.batch.max_objects,
                ));
            }
            let upkeep = tokio::spawn(upkeep_ticker(
                work_tx.clone(),
                shutdown.clone(),
                config.maintenance,
                config.scan.as_ref().is_some_and(|s| s.interval_minutes > 0),
            ));
            drop(work_tx);
            let server = metrics_listener.map(|listener| {
                tokio::spawn(metrics::serve(
                    listener,
                    Arc::clone(&metrics),
                    shutdown.clone(),
                ))
            });
            tracing::info!(
                "bucketwatch run: {} source(s) started; lake at {}",
                tasks.len(),
                self.lake_location
            );
            while let Some(done) = tasks.join_next().await {
                if let Err(e) = done {
                    tracing::error!("a source task failed: {e}");
                }
            }
            // Every source has ended: stop the ticker so the worker sees the channel close.
            upkeep.abort();
            let _ = upkeep.await;
            server
        });
        let report = worker
            .join()
            .map_err(|_| ServiceError::Worker("it panicked".into()))?;
        // Alerts of the last batch get one delivery round before exit; the rest stay in the
        // outbox for the next start.
        let _ = delivery_stop.send(true);
        delivery.join(runtime);
        if let Some(server) = server {
            server.abort();
        }
        Ok(report)
    }
}

/// The deliverer, by the store it works.
enum DeliveryStart {
    Sqlite(Deliverer<SqliteAlertStore>),
    DynamoDb(Deliverer<DynamoAlertStore>),
}

/// The running deliverer.
enum DeliveryRunning {
    Thread(std::thread::JoinHandle<()>),
    Task(tokio::task::JoinHandle<()>),
}

impl DeliveryStart {
    fn start(
        self,
        runtime: &Runtime,
        stop: watch::Receiver<bool>,
    ) -> Result<DeliveryRunning, ServiceError> {
        match self {
            // A SQLite handle is not Sync: a thread of its own with a single-threaded runtime.
            DeliveryStart::Sqlite(deliverer) => std::thread::Builder::new()
                .name("bucketwatch-delivery".into())
                .spawn(move || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => runtime.block_on(deliver_until(deliverer, stop)),
                        Err(e) => tracing::error!("alert delivery cannot start: {e}"),
                    }
                })
                .map(DeliveryRunning::Thread)
                .map_err(|e| ServiceError::Worker(e.to_string())),
            DeliveryStart::DynamoDb(deliverer) => Ok(DeliveryRunning::Task(
                runtime.spawn(deliver_until(deliverer, stop)),
            )),
        }
    }
}

impl DeliveryRunning {
    fn join(self, runtime: &Runtime) {
        match self {
            DeliveryRunning::Thread(thread) => {
                let _ = thread.join();
            }
            DeliveryRunning::Task(task) => {
                let _ = runtime.block_on(task);
            }
        }
    }
}

/// Delivers until `stop` turns true, then gives due alerts one last round.
async fn deliver_until<Q: DeliveryQueue>(
    mut deliverer: Deliverer<Q>,
    mut stop: watch::Receiver<bool>,
) {
    let stopped = async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    if let Err(e) = deliverer.run(stopped).await {
        tracing::error!("alert delivery stopped: {e}");
    }
    if let Err(e) = deliverer.deliver_due(Timestamp::now()).await {
        tracing::error!("alert delivery at shutdown: {e}");
    }
}

/// Sends upkeep work on its schedule until shutdown.
async fn upkeep_ticker(
    work: mpsc::Sender<Work>,
    mut shutdown: watch::Receiver<bool>,
    maintenance: config::MaintenanceConfig,
    scheduled_scans: bool,
) {
    let mut minute = tokio::time::interval(Duration::from_secs(60));
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = minute.tick() => {}
            _ = shutdown.wait_for(|stopped| *stopped) => return,
        }
        let due = upkeep_due(ticks, &maintenance, scheduled_scans);
        ticks += 1;
        for upkeep in due {
            if work.send(Work::Upkeep(upkeep)).await.is_err() {
                return;
            }
        }
    }
}

/// What is due at minute `tick` of the run (0 at start): scheduled queries and scans every
/// minute (each keeps its own slot, so most ticks do nothing), compaction every
/// `compact_interval_minutes` after the first, expiry at start and then daily.
fn upkeep_due(
    tick: u64,
    maintenance: &config::MaintenanceConfig,
    scheduled_scans: bool,
) -> Vec<Upkeep> {
    let mut due = Vec::new();
    if maintenance.scheduled_queries {
        due.push(Upkeep::ScheduledQueries);
    }
    if scheduled_scans {
        due.push(Upkeep::Scan);
    }
    let every = maintenance.compact_interval_minutes;
    if every > 0 && tick > 0 && tick.is_multiple_of(every) {
        due.push(Upkeep::Compact);
    }
    if maintenance.retention_days.is_some() && tick.is_multiple_of(24 * 60) {
        due.push(Upkeep::Expire);
    }
    due
}

/// The worker thread's state: the only owner of the engine, the store and the writer.
struct Worker {
    engine: Engine,
    store: Box<dyn AlertStore + Send>,
    writer: LakeWriter,
    lake: Lake,
    runtime: Arc<Runtime>,
    metrics: Arc<Metrics>,
    queries: Vec<ScheduledQuerySpec>,
    /// The schedule slot each scheduled query last ran in.
    last_slots: HashMap<String, Timestamp>,
    maintenance: config::MaintenanceConfig,
    commit_rows: usize,
    /// Other `run` processes write the same lake (alert state in DynamoDB): read their
    /// commits before each batch.
    shared_lake: bool,
    scan: Option<config::ScanConfig>,
    scan_settings: ScanSettings,
    /// The start of the scan slot the last full scan ran in.
    last_scan_slot: Option<Timestamp>,
    /// Buckets CloudTrail showed changing in the last batch, rescanned after it.
    rescans: BTreeSet<String>,
    report: ServiceReport,
}

impl Worker {
    fn run(&mut self, mut work: mpsc::Receiver<Work>) {
        while let Some(next) = work.blocking_recv() {
            match next {
                Work::Batch(batch) => {
                    let outcome = self.ingest(batch.items);
                    let _ = batch.done.send(outcome);
                    // After the acknowledgement: a rescan must not hold up the queue.
                    if !self.rescans.is_empty() {
                        let buckets = std::mem::take(&mut self.rescans);
                        self.scan(buckets.into_iter().collect(), "rescan", None);
                    }
                }
                Work::Upkeep(upkeep) => self.upkeep(upkeep),
            }
        }
    }

    fn ingest(&mut self, items: Vec<IngestItem>) -> BatchOutcome {
        let count = items.len();
        if self.shared_lake
            && let Err(e) = self.runtime.block_on(self.writer.catch_up())
        {
            tracing::error!(
                "a batch of {count} objects waits: reading other workers' commits failed: {e}"
            );
            std::thread::sleep(Duration::from_secs(1));
            return BatchOutcome {
                failures: vec![Some(format!("reading other workers' commits failed: {e}")); count],
            };
        }
        let mut job = IngestJob::from_items(items);
        job.commit_rows = self.commit_rows;
        let result = job.run(
            &self.engine,
            self.store.as_mut(),
            &mut self.writer,
            &self.runtime,
            &mut |_| {},
        );
        match result {
            Ok(report) => {
                self.account(&report);
                if self.scan.as_ref().is_some_and(|s| s.rescan_on_change) {
                    self.rescans.extend(report.changed_buckets.iter().cloned());
                }
                let mut failures = vec![None; count];
                for e in report.input_errors {
                    failures[e.item] = Some(e.message);
                }
                BatchOutcome { failures }
            }
            Err(e) => {
                tracing::error!(
                    "a batch of {count} objects failed and will be retried from the queue: {e}"
                );
                // Rows buffered for the failed commit must not ride along with the next batch:
                // start from what the lake has.
                match self.runtime.block_on(LakeWriter::open(self.lake.clone())) {
                    Ok(writer) => self.writer = writer,
                    Err(e) => tracing::error!("reopening the lake failed: {e}"),
                }
                std::thread::sleep(Duration::from_secs(1));
                BatchOutcome {
                    failures: vec![Some(format!("the batch failed: {e}")); count],
                }
            }
        }
    }

    fn account(&mut self, report: &IngestReport) {
        self.metrics.record_batch(report);
        self.report.batches += 1;
        self.report.objects += report.objects;
        self.report.records += report.counts.total();
        self.report.alerts_created += report.alerts_created;
        if report.counts.total() > 0 || !report.input_errors.is_empty() {
            tracing::info!(
                "batch: {} objects ({} already ingested, {} failed), {} records, {} matches, {} rule errors, {} alerts created",
                report.objects,
                report.skipped_objects,
                report.input_errors.len(),
                report.counts.total(),
                report.matches,
                report.rule_errors,
                report.alerts_created
            );
        }
    }

    /// Scans the buckets matching `patterns` (all when empty), records the scan in the lake
    /// and alerts new failures. Failures are logged: the next slot or change tries again.
    /// `id` names a scheduled scan by its slot, so workers sharing the lake record it once.
    fn scan(&mut self, patterns: Vec<String>, why: &str, id: Option<String>) {
        let Some(config) = &self.scan else { return };
        if self.shared_lake
            && let Err(e) = self.runtime.block_on(self.writer.catch_up())
        {
            tracing::error!("{why} scan skipped: reading other workers' commits failed: {e}");
            return;
        }
        let started = std::time::Instant::now();
        let scan_time = Timestamp::now();
        let options = CollectOptions {
            concurrency: config.concurrency,
            bucket_patterns: patterns.clone(),
            progress: None,
        };
        let collected = match self.runtime.block_on(bucketwatch_scan::collect(&options)) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("{why} scan failed: {e}");
                return;
            }
        };
        let problems = collected.problems();
        let report = bucketwatch_scan::evaluate(
            &self.engine,
            bucketwatch_scan::resources(&collected),
            ReportOptions {
                settings: self.scan_settings.clone(),
                disabled: Vec::new(),
                account_id: Some(collected.account.account_id.clone()),
                api_calls: collected.api_calls,
                seconds: started.elapsed().as_secs_f64(),
                problems,
            },
            &|| {},
        );
        for problem in &report.problems {
            tracing::warn!("{why} scan: {problem}");
        }
        let id = id.unwrap_or_else(|| scan_id(scan_time));
        match record_scan(
            &self.runtime,
            &report,
            &self.engine,
            &id,
            scan_time,
            &mut self.writer,
            self.store.as_mut(),
        ) {
            Ok(recorded) => {
                self.metrics.record_alerts(recorded.alerts_created);
                let s = &report.summary;
                tracing::info!(
                    "{why} scan {id}{}: {} resources, {} pass, {} fail, {} unknown, {} error; {} new failures, {} alerts created{}",
                    if patterns.is_empty() {
                        String::new()
                    } else {
                        format!(" of {}", patterns.join(", "))
                    },
                    recorded.resources,
                    s.pass,
                    s.fail,
                    s.unknown,
                    s.error,
                    recorded.new_failures.len(),
                    recorded.alerts_created,
                    if recorded.baseline {
                        " (the baseline)"
                    } else {
                        ""
                    }
                );
            }
            Err(e) => tracing::error!("recording the {why} scan {id} failed: {e}"),
        }
    }

    fn upkeep(&mut self, upkeep: Upkeep) {
        let runtime = Arc::clone(&self.runtime);
        match upkeep {
            Upkeep::Scan => {
                let Some(minutes) = self.scan.as_ref().map(|s| s.interval_minutes.max(1)) else {
                    return;
                };
                let width = minutes as i64 * 60 * 1_000_000_000;
                let now = Timestamp::now();
                let slot = Timestamp(now.0.div_euclid(width) * width);
                if self.last_scan_slot == Some(slot) {
                    return;
                }
                self.last_scan_slot = Some(slot);
                let patterns = self
                    .scan
                    .as_ref()
                    .map(|s| s.buckets.clone())
                    .unwrap_or_default();
                self.scan(patterns, "scheduled", Some(scan_id(slot)));
            }
            Upkeep::ScheduledQueries => {
                let now = Timestamp::now();
                let due: Vec<String> = self
                    .queries
                    .iter()
                    .filter(|q| self.last_slots.get(&q.query_name) != Some(&slot_start(q, now)))
                    .map(|q| q.query_name.clone())
                    .collect();
                for name in due {
                    let result = run_scheduled(
                        &runtime,
                        &self.queries,
                        Some(&name),
                        &self.engine,
                        self.store.as_mut(),
                        &self.lake,
                        now,
                    );
                    match result {
                        Ok(runs) => {
                            for run in runs {
                                match &run.error {
                                    Some(e) => tracing::warn!("scheduled query {}: {e}", run.query),
                                    None => {
                                        self.metrics.record_alerts(run.alerts_created);
                                        tracing::info!(
                                            "scheduled query {}: {} rows, {} matches, {} alerts created",
                                            run.query,
                                            run.rows,
                                            run.matches,
                                            run.alerts_created
                                        );
                                    }
                                }
                            }
                            if let Some(q) = self.queries.iter().find(|q| q.query_name == name) {
                                self.last_slots.insert(name, slot_start(q, now));
                            }
                        }
                        Err(e) => tracing::error!("scheduled query {name}: {e}"),
                    }
                }
            }
            Upkeep::Compact => {
                let target = self.maintenance.compact_target_mib * 1024 * 1024;
                match runtime.block_on(bucketwatch_lake::compact(&self.lake, target)) {
                    Ok(reports) => {
                        for r in reports.iter().filter(|r| r.files_removed > 0) {
                            tracing::info!(
                                "compaction: {}: {} files merged into {}",
                                r.table,
                                r.files_removed,
                                r.files_added
                            );
                        }
                    }
                    Err(e) => tracing::error!("compaction failed: {e}"),
                }
            }
            Upkeep::Expire => {
                let Some(days) = self.maintenance.retention_days else {
                    return;
                };
                let today = bucketwatch_lake::partition_day(Timestamp::now());
                let keep_from = today - days.saturating_sub(1) as i32;
                let grace = Duration::from_secs(24 * 3600);
                match runtime.block_on(bucketwatch_lake::expire(&self.lake, keep_from, grace)) {
                    Ok(reports) => {
                        for r in reports.iter().filter(|r| r.files_removed > 0) {
                            tracing::info!(
                                "expiry: {}: {} files expired, {} vacuumed",
                                r.table,
                                r.files_removed,
                                r.files_vacuumed
                            );
                        }
                    }
                    Err(e) => tracing::error!("expiry failed: {e}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Over two days of minute ticks: how often each upkeep is due.
    fn counts(maintenance: &config::MaintenanceConfig, scans: bool) -> [usize; 4] {
        let mut n = [0; 4];
        for tick in 0..2 * 24 * 60 {
            for upkeep in upkeep_due(tick, maintenance, scans) {
                n[match upkeep {
                    Upkeep::ScheduledQueries => 0,
                    Upkeep::Scan => 1,
                    Upkeep::Compact => 2,
                    Upkeep::Expire => 3,
                }] += 1;
            }
        }
        n
    }

    #[test]
    fn upkeep_runs_on_its_schedule() {
        let defaults = config::MaintenanceConfig::default();
        // Compaction hourly (not at start), no expiry without retention.
        assert_eq!(counts(&defaults, false), [2880, 0, 47, 0]);
        let keep = config::MaintenanceConfig {
            retention_days: Some(30),
            compact_interval_minutes: 15,
            scheduled_queries: false,
            ..defaults
        };
        // Expiry at start and a day later; compaction every 15 minutes; scans every minute.
        assert_eq!(counts(&keep, true), [0, 2880, 191, 2]);
        assert_eq!(
            upkeep_due(0, &keep, true),
            [Upkeep::Scan, Upkeep::Expire],
            "at start: a scan and expiry, no compaction yet"
        );
        let off = config::MaintenanceConfig {
            compact_interval_minutes: 0,
            ..defaults
        };
        assert_eq!(counts(&off, false)[2], 0, "0 turns compaction off");
    }
}
