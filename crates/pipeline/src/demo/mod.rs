//! `bucketwatch demo`: a generated day of S3 logs with attacks, through the real pipeline.
//!
//! Owns: the demo directory (its layout, replacing an earlier demo, refusing any other
//! directory), writing the generated log objects and the demo's detection settings, running
//! the real ingest (parse, detect, alert store, lake) and alert delivery (to a JSON-lines file)
//! over them, and the facts of the summary: records, alerts by rule against the rules the
//! attacks are meant to raise, where the data lives, and SQL to try next.
//!
//! Must not touch: what the logs contain ([`generate`]), how any stage works (each runs
//! unchanged, as `bucketwatch ingest` runs it), or terminal output (the binary).
//!
//! Settings reach the rules through the `BUCKETWATCH_SETTINGS` environment variable, which the
//! embedded Python reads when it starts. Changing the environment is only sound while the
//! process has one thread, so the caller sets it (to [`DemoPaths::settings`]) after
//! [`DemoJob::prepare`] and before anything starts threads; [`DemoJob::run`] checks it.

pub mod generate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bucketwatch_alert::{
    AlertFilter, AlertKind, AlertReader, ConfigError, Deliverer, DeliveryConfig, DestinationConfig,
    DestinationKind, Severity, SqliteAlertStore, StoreError,
};
use bucketwatch_core::{SourceInfo, Timestamp};
use bucketwatch_detect::{Engine, EngineOptions};
use bucketwatch_lake::{Lake, LakeError, LakeWriter};
use tokio::runtime::Runtime;

use crate::ingest_job::{IngestError, IngestJob, IngestReport, Progress, Source};
use generate::{ATTACKS, Scenario};

/// The environment variable the `bucketwatch_settings` helper reads.
pub const SETTINGS_ENV: &str = "BUCKETWATCH_SETTINGS";
/// The seed of the demo's day: every run of the same day generates the same logs.
pub const SEED: u64 = 0x00b0_c4e7_3a7c_0001;
/// Marks a directory the demo created, the only kind it replaces.
const MARKER: &str = ".bucketwatch-demo";
const MARKER_TEXT: &str = "This directory was created by `bucketwatch demo`. Running the demo \
                           again with this directory replaces its demo data.\n";
/// The id of the file destination alerts are delivered to.
const DESTINATION: &str = "demo-file";
/// Delivery rounds before giving up on alerts still queued (a file destination needs one).
const DELIVERY_ROUNDS: usize = 3;

/// Where the demo keeps everything, under one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoPaths {
    pub dir: PathBuf,
    /// The generated log objects, laid out as in their log buckets.
    pub incoming: PathBuf,
    /// The lake: `--data-dir <dir>` finds it, as it finds `alerts.db`.
    pub lake: PathBuf,
    pub alerts_db: PathBuf,
    pub alerts_jsonl: PathBuf,
    pub settings: PathBuf,
}

impl DemoPaths {
    pub fn new(dir: &Path) -> DemoPaths {
        DemoPaths {
            dir: dir.to_path_buf(),
            incoming: dir.join("incoming"),
            lake: dir.join("lake"),
            alerts_db: dir.join("alerts.db"),
            alerts_jsonl: dir.join("alerts.jsonl"),
            settings: dir.join("bucketwatch_settings.toml"),
        }
    }

    /// Everything a demo run writes, which is what running it again removes.
    fn owned(&self) -> Vec<PathBuf> {
        let db = self.alerts_db.display().to_string();
        vec![
            self.incoming.clone(),
            self.lake.clone(),
            self.alerts_db.clone(),
            PathBuf::from(format!("{db}-wal")),
            PathBuf::from(format!("{db}-shm")),
            self.alerts_jsonl.clone(),
            self.settings.clone(),
        ]
    }
}

/// Why the demo could not run. Messages name the path or stage and what to do.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "{dir} is not empty and was not created by bucketwatch demo; name a new or empty \
         directory with --dir (the demo only replaces its own earlier runs)"
    )]
    NotADemoDirectory { dir: PathBuf },
    #[error("{path}: {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{SETTINGS_ENV} must name {expected} while the demo runs (found {found:?}); set it \
         after DemoJob::prepare and before the detection engine starts"
    )]
    SettingsNotInEffect { expected: PathBuf, found: String },
    #[error("reading the generated logs: {0}")]
    Input(String),
    #[error("opening the lake at {location}: {source}")]
    Lake {
        location: String,
        #[source]
        source: LakeError,
    },
    #[error("opening the alert store: {0}")]
    Store(#[from] StoreError),
    #[error("setting up alert delivery: {0}")]
    Delivery(#[from] ConfigError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> DemoError {
    let path = path.to_path_buf();
    move |source| DemoError::Io {
        path,
        action,
        source,
    }
}

/// The demo: one generated day, its directory and the content to run.
#[derive(Debug, Clone)]
pub struct DemoJob {
    pub paths: DemoPaths,
    pub content: Vec<PathBuf>,
    pub scenario: Scenario,
}

/// What [`DemoJob::prepare`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    pub objects: usize,
    /// An earlier demo in the directory was replaced.
    pub replaced: bool,
}

/// Alerts of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleAlerts {
    pub rule_id: String,
    pub count: usize,
    /// The highest severity among them.
    pub severity: Severity,
    /// The title of the first one.
    pub title: String,
    /// Matched events in its alerts.
    pub events: u64,
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// The generated day, `YYYY-MM-DD`.
    pub date: String,
    pub ingest: IngestReport,
    /// In the order of [`ATTACKS`], then any other rule by id.
    pub alerts: Vec<RuleAlerts>,
    pub delivered: usize,
    /// Deliveries still queued after the last round, or given up.
    pub undelivered: u64,
    /// Why deliveries failed, one line each.
    pub delivery_errors: Vec<String>,
    pub content_problems: Vec<String>,
    /// Rules an attack is meant to raise that raised no alert.
    pub missing_rules: Vec<String>,
    /// Rules that raised alerts no attack is meant to raise.
    pub unexpected_rules: Vec<String>,
}

impl DemoReport {
    /// True when exactly the expected rules alerted and every alert was delivered.
    pub fn as_expected(&self) -> bool {
        self.missing_rules.is_empty()
            && self.unexpected_rules.is_empty()
            && self.undelivered == 0
            && self.ingest.input_errors.is_empty()
            && self.ingest.counts.failures() == 0
            && self.ingest.rule_errors == 0
    }
}

/// A query to try on the demo's lake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestedQuery {
    pub about: &'static str,
    pub sql: String,
}

/// Every rule the attacks are meant to raise.
pub fn expected_rules() -> Vec<&'static str> {
    let mut rules: Vec<&str> = Vec::new();
    for rule in ATTACKS.iter().flat_map(|a| a.rules.iter().copied()) {
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }
    rules
}

/// Queries that show the attacks in the lake; each returns rows after a demo run.
pub fn suggested_queries() -> Vec<SuggestedQuery> {
    use generate::{APP_DATA, BACKUPS, RANSOMWARE_IP};
    vec![
        SuggestedQuery {
            about: "every rule match, alerting or not: a rule with a threshold alerts only once \
                    enough matches add up (the app servers' few denials and deletions do not)",
            sql: "SELECT p_rule_id, count(*) AS matches FROM views.all_rule_matches \
                  GROUP BY p_rule_id ORDER BY matches DESC"
                .into(),
        },
        SuggestedQuery {
            about: "who downloaded the most from the app bucket (the exfiltration)",
            sql: format!(
                "SELECT requester, remoteip, count(*) AS downloads, sum(bytessent) / 1048576 AS mib \
                 FROM logs.aws_s3serveraccess WHERE bucket = '{APP_DATA}' \
                 AND operation = 'REST.GET.OBJECT' AND p_occurs_since('2 days') \
                 GROUP BY 1, 2 ORDER BY mib DESC LIMIT 5"
            ),
        },
        SuggestedQuery {
            about: "denied requests by client (the enumeration)",
            sql:
                "SELECT requester, remoteip, count(*) AS denied, count(DISTINCT bucket) AS buckets \
                  FROM logs.aws_s3serveraccess WHERE httpstatus = 403 \
                  GROUP BY 1, 2 ORDER BY denied DESC"
                    .into(),
        },
        SuggestedQuery {
            about: "changes to the backup bucket in CloudTrail (logging off, SSE-C, deletions)",
            sql: format!(
                "SELECT eventname, count(*) AS calls, min(eventtime) AS first, max(eventtime) AS last \
                 FROM logs.aws_cloudtrail WHERE readonly = false \
                 AND requestparameters LIKE '%{BACKUPS}%' GROUP BY eventname ORDER BY first"
            ),
        },
        SuggestedQuery {
            about: "everything the compromised backup host did, across log types",
            sql: format!(
                "SELECT p_log_type, count(*) AS records, min(p_event_time) AS first, \
                 max(p_event_time) AS last FROM views.all_logs \
                 WHERE array_has(p_any_ip_addresses, '{RANSOMWARE_IP}') GROUP BY p_log_type"
            ),
        },
    ]
}

impl DemoJob {
    /// The demo of the day before `now`, in `dir`, with the detections of `content`.
    pub fn new(dir: &Path, content: Vec<PathBuf>, now: Timestamp) -> DemoJob {
        DemoJob {
            paths: DemoPaths::new(dir),
            content,
            scenario: Scenario::yesterday(now, SEED),
        }
    }

    /// Makes the directory ready: replaces an earlier demo (refusing any other non-empty
    /// directory), then writes the settings and the generated log objects under `incoming/`.
    pub fn prepare(&self) -> Result<Prepared, DemoError> {
        let dir = &self.paths.dir;
        let replaced = self.clear()?;
        std::fs::create_dir_all(dir).map_err(io_error(dir, "creating the directory"))?;
        let marker = dir.join(MARKER);
        std::fs::write(&marker, MARKER_TEXT).map_err(io_error(&marker, "writing"))?;
        let settings = &self.paths.settings;
        std::fs::write(settings, generate::SETTINGS_TOML).map_err(io_error(settings, "writing"))?;
        let objects = self.scenario.generate();
        for object in &objects {
            let path = self.paths.incoming.join(&object.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(io_error(parent, "creating the directory"))?;
            }
            std::fs::write(&path, &object.bytes).map_err(io_error(&path, "writing"))?;
        }
        Ok(Prepared {
            objects: objects.len(),
            replaced,
        })
    }

    /// Removes what an earlier demo wrote. Returns whether there was one.
    fn clear(&self) -> Result<bool, DemoError> {
        let dir = &self.paths.dir;
        let mut entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_error(dir, "reading the directory")(e)),
        };
        if !dir.join(MARKER).is_file() {
            if entries.next().is_some() {
                return Err(DemoError::NotADemoDirectory { dir: dir.clone() });
            }
            return Ok(false);
        }
        for path in self.paths.owned() {
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match removed {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path, "removing the earlier demo's data")(e)),
            }
        }
        Ok(true)
    }

    /// The settings file as the environment variable must name it.
    pub fn settings_env_value(&self) -> Result<PathBuf, DemoError> {
        std::path::absolute(&self.paths.settings)
            .map_err(io_error(&self.paths.settings, "resolving the path"))
    }

    /// Ingests the prepared objects (parse, detect, alert store, lake), delivers the alerts to
    /// `alerts.jsonl`, and compares the alerting rules with those the attacks are meant to raise.
    pub fn run(
        &self,
        runtime: &Runtime,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<DemoReport, DemoError> {
        let expected = self.settings_env_value()?;
        let found = std::env::var_os(SETTINGS_ENV).unwrap_or_default();
        if Path::new(&found) != expected {
            return Err(DemoError::SettingsNotInEffect {
                expected,
                found: found.to_string_lossy().into_owned(),
            });
        }

        let engine = Engine::load(&self.content, &EngineOptions::default());
        let content_problems = engine.problems().iter().map(|p| p.to_string()).collect();
        let location = self.paths.lake.display().to_string();
        let lake_error = |source| DemoError::Lake {
            location: location.clone(),
            source,
        };
        let lake = Lake::open(&location).map_err(lake_error)?;
        let mut writer = runtime
            .block_on(LakeWriter::open(lake))
            .map_err(lake_error)?;
        let delivery = DeliveryConfig {
            destinations: vec![file_destination(&self.paths.alerts_jsonl)],
            ..DeliveryConfig::default()
        };
        let mut store =
            SqliteAlertStore::open(&self.paths.alerts_db)?.with_routes(delivery.routes());

        let incoming = self.paths.incoming.display().to_string();
        let sources = Source::expand(&incoming, runtime).map_err(DemoError::Input)?;
        let info = SourceInfo::new(Some("demo".into()), Some("bucketwatch demo".into()), None);
        let ingest = IngestJob::new(sources, None, &info).run(
            &engine,
            &mut store,
            &mut writer,
            runtime,
            progress,
        )?;

        let mut deliverer = runtime.block_on(Deliverer::new(
            &delivery,
            SqliteAlertStore::open(&self.paths.alerts_db)?,
        ))?;
        let mut delivered = 0;
        let mut failed = 0;
        let mut delivery_errors = Vec::new();
        for _ in 0..DELIVERY_ROUNDS {
            let round = runtime.block_on(deliverer.deliver_due(Timestamp::now()))?;
            delivered += round.delivered;
            failed += round.failed as u64;
            delivery_errors.extend(
                round
                    .attempts
                    .iter()
                    .filter_map(|a| a.error.as_ref())
                    .map(|e| format!("{}: {e}", self.paths.alerts_jsonl.display())),
            );
            if deliverer.store().pending_deliveries()? == 0 {
                break;
            }
        }
        let undelivered = deliverer.store().pending_deliveries()? + failed;

        let alerts = alerts_by_rule(&store)?;
        let alerting: Vec<&str> = alerts.iter().map(|a| a.rule_id.as_str()).collect();
        let expected = expected_rules();
        Ok(DemoReport {
            date: self.scenario.date(),
            ingest,
            missing_rules: expected
                .iter()
                .filter(|r| !alerting.contains(r))
                .map(|r| r.to_string())
                .collect(),
            unexpected_rules: alerting
                .iter()
                .filter(|r| !expected.contains(r))
                .map(|r| r.to_string())
                .collect(),
            alerts,
            delivered,
            undelivered,
            delivery_errors,
            content_problems,
        })
    }
}

fn file_destination(path: &Path) -> DestinationConfig {
    DestinationConfig {
        id: DESTINATION.into(),
        kind: DestinationKind::File,
        url: None,
        url_env: None,
        secret_env: None,
        headers: BTreeMap::new(),
        topic_arn: None,
        path: Some(path.to_path_buf()),
        min_severity: None,
        log_types: Vec::new(),
        rule_ids: Vec::new(),
    }
}

/// The store's rule alerts (not rule errors, which the ingest report counts), grouped by rule:
/// the attacks' rules first, in attack order.
fn alerts_by_rule(store: &SqliteAlertStore) -> Result<Vec<RuleAlerts>, StoreError> {
    let mut all = store.list_alerts(&AlertFilter {
        limit: usize::MAX,
        ..AlertFilter::default()
    })?;
    // Oldest first, so "the first one" is the alert the rule raised first.
    all.reverse();
    let mut by_rule: BTreeMap<String, RuleAlerts> = BTreeMap::new();
    for alert in all.into_iter().filter(|a| a.kind == AlertKind::Rule) {
        let entry = by_rule
            .entry(alert.rule_id.clone())
            .or_insert_with(|| RuleAlerts {
                rule_id: alert.rule_id.clone(),
                count: 0,
                severity: alert.severity,
                title: alert.title.clone(),
                events: 0,
            });
        entry.count += 1;
        entry.severity = entry.severity.max(alert.severity);
        entry.events += alert.event_count;
    }
    let order = expected_rules();
    let mut alerts: Vec<RuleAlerts> = by_rule.into_values().collect();
    alerts.sort_by_key(|a| {
        let rank = order.iter().position(|r| *r == a.rule_id);
        (rank.unwrap_or(order.len()), a.rule_id.clone())
    });
    Ok(alerts)
}

#[cfg(test)]
mod tests;
