//! [`SqliteAlertStore`]: the default store, one SQLite file shared by every process on a host.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use bucketwatch_core::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::grouping::{self, Group, Header, Step, WindowState};
use crate::model::{Alert, AlertKind, AlertSummary, RuleResult, Severity};
use crate::outbox::{self, OUTBOX_SCHEMA, Routes};
use crate::store::{
    AlertFilter, AlertReader, AlertStore, RecordOutcome, StoreError, WindowOutcome,
};

/// Written to the file's header (`PRAGMA application_id`, "bwal") so another program's SQLite
/// file is refused rather than written into.
const APPLICATION_ID: i32 = 0x6277_616c;

/// Bumped whenever the tables change; `open` upgrades older versions it knows and refuses
/// newer ones. Version 2 added the delivery outbox ([`crate::outbox::OUTBOX_SCHEMA`]) and
/// `applied_units` ([`APPLIED_UNITS_SCHEMA`]).
const SCHEMA_VERSION: i64 = 2;

/// How long a writer waits for another process's transaction before failing. Batches commit in
/// milliseconds, so hitting this means a stuck process, not contention.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

// Rows that change with every batch (`windows`, `alerts`) are kept small, and what is large
// (context up to 200 KiB, sample events) is written once into `alert_headers` and
// `alert_samples`: SQLite rewrites a whole row, overflow pages included, on every update.
// Headers and samples are keyed by the window's alert id, fixed when the window opens, so what
// a pending window collects needs no moving when its alert is created.
const SCHEMA: &str = "
CREATE TABLE windows (
    state_key     TEXT PRIMARY KEY NOT NULL,
    rule_id       TEXT NOT NULL,
    dedup_key     TEXT NOT NULL,
    alert_count   INTEGER NOT NULL,
    alert_id      TEXT NOT NULL,
    window_start  INTEGER NOT NULL,  -- ns since the epoch, like every time column
    update_time   INTEGER NOT NULL,
    event_count   INTEGER NOT NULL,
    plain_count   INTEGER NOT NULL,
    unique_values TEXT NOT NULL,     -- JSON array, fewer than the threshold
    log_types     TEXT NOT NULL,     -- JSON array
    sample_count  INTEGER NOT NULL,
    created_at    INTEGER            -- NULL while below the threshold
);
CREATE TABLE alert_headers (         -- the first result of the window that owns alert_id
    alert_id TEXT PRIMARY KEY NOT NULL,
    kind     TEXT NOT NULL,
    dedup    TEXT NOT NULL,
    title    TEXT NOT NULL,
    severity INTEGER NOT NULL,       -- 0 Info .. 4 Critical
    context  TEXT,                   -- JSON
    details  TEXT NOT NULL           -- JSON AlertDetails
);
CREATE TABLE alert_samples (
    alert_id TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    event    TEXT NOT NULL,          -- JSON
    PRIMARY KEY (alert_id, seq)
);
CREATE TABLE alerts (                -- windows that reached their threshold
    alert_id      TEXT PRIMARY KEY NOT NULL,
    rule_id       TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    update_time   INTEGER NOT NULL,
    event_count   INTEGER NOT NULL,
    log_types     TEXT NOT NULL      -- JSON array
);
CREATE INDEX alerts_newest ON alerts (creation_time DESC, alert_id DESC);
CREATE INDEX alerts_rule_newest ON alerts (rule_id, creation_time DESC, alert_id DESC);
";

/// Input units already recorded (`record_unit`): a redelivered unit adds nothing.
const APPLIED_UNITS_SCHEMA: &str = "
CREATE TABLE applied_units (
    unit    TEXT PRIMARY KEY NOT NULL,
    outcome TEXT NOT NULL            -- JSON RecordOutcome, created alerts left out
);
";

/// Alert grouping state and alerts in one SQLite file.
///
/// WAL mode lets readers (the console, `bucketwatch alerts`) run beside a writer; several
/// processes may open the same file, their batches serialized by SQLite's write lock.
///
/// `record` also queues each created alert's deliveries, routed by [`Routes`] (none unless
/// given with [`SqliteAlertStore::with_routes`]), in the batch's transaction.
pub struct SqliteAlertStore {
    pub(crate) conn: Connection,
    /// For error messages.
    pub(crate) path: String,
    routes: Routes,
}

impl SqliteAlertStore {
    /// Opens or creates the store at `path`. The parent directory must exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let label = path.as_ref().display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: label.clone(),
            source,
        })?;
        Self::init(conn, label, true)
    }

    /// A store that lives as long as the value: for one-shot runs (a demo, a backfill whose
    /// alerts are only printed) and tests.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let label = ":memory:".to_owned();
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: label.clone(),
            source,
        })?;
        Self::init(conn, label, false)
    }

    fn init(mut conn: Connection, path: String, file: bool) -> Result<Self, StoreError> {
        let fail = |action: &'static str| sql_error(&path, action);
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(fail("setting the busy timeout"))?;
        if file {
            conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
                row.get::<_, String>(0)
            })
            .map_err(fail("switching to WAL mode"))?;
        }
        // Callers acknowledge their input once `record` returns, so a commit must survive a
        // power loss, not only a crash: fsync at every commit.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(fail("setting synchronous = FULL"))?;

        // Checked and created under the write lock, so two processes opening a new file at once
        // do not both create the tables.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail("locking the file to check its schema"))?;
        let app_id: i32 = tx
            .pragma_query_value(None, "application_id", |row| row.get(0))
            .map_err(fail("reading the application id"))?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(fail("reading the schema version"))?;
        match (app_id, version) {
            (0, 0) => {
                tx.execute_batch(SCHEMA)
                    .map_err(fail("creating the schema"))?;
                tx.execute_batch(OUTBOX_SCHEMA)
                    .map_err(fail("creating the delivery outbox"))?;
                tx.execute_batch(APPLIED_UNITS_SCHEMA)
                    .map_err(fail("creating the applied units table"))?;
                tx.pragma_update(None, "application_id", APPLICATION_ID)
                    .map_err(fail("writing the application id"))?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                    .map_err(fail("writing the schema version"))?;
            }
            (APPLICATION_ID, SCHEMA_VERSION) => {}
            (APPLICATION_ID, 1) => {
                tx.execute_batch(OUTBOX_SCHEMA)
                    .map_err(fail("adding the delivery outbox to a version 1 store"))?;
                tx.execute_batch(APPLIED_UNITS_SCHEMA)
                    .map_err(fail("adding applied units to a version 1 store"))?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                    .map_err(fail("writing the schema version"))?;
            }
            (APPLICATION_ID, found) => {
                return Err(StoreError::SchemaVersion {
                    path,
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
            (found, _) => return Err(StoreError::NotAnAlertStore { path, found }),
        }
        tx.commit().map_err(fail("committing the schema"))?;
        Ok(SqliteAlertStore {
            conn,
            path,
            routes: Routes::default(),
        })
    }

    /// The store, queueing deliveries of the alerts it creates by `routes` from now on.
    pub fn with_routes(self, routes: Routes) -> Self {
        SqliteAlertStore { routes, ..self }
    }

    /// The file this store was opened on (`:memory:` for an in-memory store).
    pub fn path(&self) -> &str {
        &self.path
    }

    fn sql_error<'a>(
        &'a self,
        action: impl fmt::Display + 'a,
    ) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
        sql_error(&self.path, action)
    }
}

/// Wraps a SQLite error with the store's path and what was being done; the message is only
/// formatted when there is an error, as these wrap every statement of the hot path.
pub(crate) fn sql_error<'a>(
    path: &'a str,
    action: impl fmt::Display + 'a,
) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
    move |source| StoreError::Sqlite {
        path: path.to_owned(),
        action: action.to_string(),
        source,
    }
}

impl AlertStore for SqliteAlertStore {
    fn record(
        &mut self,
        results: &[RuleResult],
        now: Timestamp,
    ) -> Result<RecordOutcome, StoreError> {
        self.record_batch(None, results, now)
    }

    fn record_unit(
        &mut self,
        unit: &str,
        results: &[RuleResult],
        now: Timestamp,
    ) -> Result<RecordOutcome, StoreError> {
        self.record_batch(Some(unit), results, now)
    }
}

impl SqliteAlertStore {
    fn record_batch(
        &mut self,
        unit: Option<&str>,
        results: &[RuleResult],
        now: Timestamp,
    ) -> Result<RecordOutcome, StoreError> {
        let grouped = grouping::group_batch(results)?;
        let path = self.path.as_str();
        // IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
        // writes fails at once with SQLITE_BUSY if another process committed in between.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_error(path, "starting the batch transaction"))?;
        if let Some(unit) = unit {
            let applied: Option<String> = tx
                .query_row(
                    "SELECT outcome FROM applied_units WHERE unit = ?1",
                    [unit],
                    |row| row.get(0),
                )
                .optional()
                .map_err(sql_error(path, "looking up an applied unit"))?;
            if let Some(text) = applied {
                return decode(path, format!("applied unit {unit}"), &text);
            }
        }
        let mut outcome = RecordOutcome {
            result_windows: grouped.result_group,
            ..RecordOutcome::default()
        };
        for group in &grouped.groups {
            let (window, created) = apply_group(&tx, path, group, now)?;
            outcome.windows.push(window);
            if let Some(alert) = created {
                outbox::enqueue(&tx, path, &self.routes, &alert, now)?;
                outcome.created.push(alert);
            }
        }
        if let Some(unit) = unit {
            // Created alerts are not stored again: a replay must not announce them twice.
            let replay = RecordOutcome {
                created: Vec::new(),
                ..outcome.clone()
            };
            tx.execute(
                "INSERT INTO applied_units (unit, outcome) VALUES (?1, ?2)",
                params![unit, encode(path, "an applied unit's outcome", &replay)?],
            )
            .map_err(sql_error(path, "recording an applied unit"))?;
        }
        // Dropping `tx` on any error above rolls the whole batch back.
        tx.commit()
            .map_err(sql_error(path, "committing the batch"))?;
        Ok(outcome)
    }
}

/// Advances one group's window and writes the consequences; returns its outcome and the alert
/// it created, if any.
fn apply_group(
    tx: &Transaction<'_>,
    path: &str,
    group: &Group<'_>,
    now: Timestamp,
) -> Result<(WindowOutcome, Option<Alert>), StoreError> {
    let prior = load_window(tx, path, group)?;
    // A window that closed below its threshold leaves a header and samples no alert will
    // ever read.
    let abandoned = prior
        .as_ref()
        .filter(|p| p.created_at.is_none())
        .map(|p| p.alert_id.clone());
    let (state, advance) = grouping::advance(prior, group, now);
    let id = state.alert_id.as_str();

    let header = if advance.opened {
        if let Some(old) = abandoned {
            delete_window_rows(tx, path, &old)?;
        }
        let header = Header::from_result(group.first);
        insert_header(tx, path, id, &header)?;
        Some(header)
    } else {
        None
    };
    let taken = &group.samples[..advance.samples_taken];
    let first_seq = state.sample_count - taken.len() as u64;
    insert_samples(tx, path, id, first_seq, taken)?;

    let mut created = None;
    match advance.step {
        Step::Pending => {}
        Step::Created => {
            let header = match header {
                Some(header) => header,
                None => load_header(tx, path, id)?,
            };
            let samples = if first_seq == 0 {
                taken.iter().map(|v| (*v).clone()).collect()
            } else {
                load_samples(tx, path, id)?
            };
            let alert = grouping::new_alert(group, &state, header, samples);
            write_alert_counts(tx, path, &state, &alert.rule_id, Some(alert.creation_time))?;
            created = Some(alert);
        }
        Step::Updated => write_alert_counts(tx, path, &state, &group.first.rule_id, None)?,
    }
    save_window(tx, path, group, &state)?;

    let window = grouping::window_outcome(group, state, advance.step);
    Ok((window, created))
}

fn load_window(
    tx: &Transaction<'_>,
    path: &str,
    group: &Group<'_>,
) -> Result<Option<WindowState>, StoreError> {
    let key = group.state_key.as_str();
    let row = tx
        .prepare_cached(
            "SELECT rule_id, dedup_key, alert_count, alert_id, window_start, update_time,
                    event_count, plain_count, unique_values, log_types, sample_count, created_at
             FROM windows WHERE state_key = ?1",
        )
        .and_then(|mut stmt| {
            stmt.query_row([key], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    (
                        row.get::<_, i64>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, i64>(4)?,
                        row.get::<_, i64>(5)?,
                        row.get::<_, i64>(6)?,
                        row.get::<_, i64>(7)?,
                    ),
                    row.get::<_, String>(8)?,
                    row.get::<_, String>(9)?,
                    row.get::<_, i64>(10)?,
                    row.get::<_, Option<i64>>(11)?,
                ))
            })
            .optional()
        })
        .map_err(sql_error(path, format_args!("reading window {key}")))?;
    let Some((rule_id, dedup_key, scalars, uniques, log_types, sample_count, created_at)) = row
    else {
        return Ok(None);
    };
    if rule_id != group.first.rule_id || dedup_key != group.dedup_key {
        return Err(StoreError::KeyCollision {
            rule_id: group.first.rule_id.clone(),
            dedup_key: group.dedup_key.clone(),
            stored_rule_id: rule_id,
            stored_dedup_key: dedup_key,
        });
    }
    let (alert_count, alert_id, window_start, update_time, event_count, plain_count) = scalars;
    Ok(Some(WindowState {
        alert_count: count(alert_count),
        alert_id,
        window_start: Timestamp(window_start),
        update_time: Timestamp(update_time),
        event_count: count(event_count),
        plain_count: count(plain_count),
        unique_values: decode(
            path,
            format_args!("unique_values of window {key}"),
            &uniques,
        )?,
        log_types: decode(path, format_args!("log_types of window {key}"), &log_types)?,
        sample_count: count(sample_count),
        created_at: created_at.map(Timestamp),
    }))
}

fn save_window(
    tx: &Transaction<'_>,
    path: &str,
    group: &Group<'_>,
    state: &WindowState,
) -> Result<(), StoreError> {
    let key = group.state_key.as_str();
    let uniques = encode(
        path,
        format_args!("unique_values of window {key}"),
        &state.unique_values,
    )?;
    let log_types = encode(
        path,
        format_args!("log_types of window {key}"),
        &state.log_types,
    )?;
    let (alert_count, event_count) = (sql_int(state.alert_count), sql_int(state.event_count));
    let (plain_count, sample_count) = (sql_int(state.plain_count), sql_int(state.sample_count));
    let (start, updated, created) = (
        state.window_start.0,
        state.update_time.0,
        state.created_at.map(|t| t.0),
    );
    // One upsert: rule_id and dedup_key are written when the window is first stored and never
    // change after.
    let written = tx
        .prepare_cached(
            "INSERT INTO windows (state_key, alert_count, alert_id, window_start, update_time,
                 event_count, plain_count, unique_values, log_types, sample_count, created_at,
                 rule_id, dedup_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT (state_key) DO UPDATE SET alert_count = ?2, alert_id = ?3,
                 window_start = ?4, update_time = ?5, event_count = ?6, plain_count = ?7,
                 unique_values = ?8, log_types = ?9, sample_count = ?10, created_at = ?11",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                key,
                alert_count,
                state.alert_id,
                start,
                updated,
                event_count,
                plain_count,
                uniques,
                log_types,
                sample_count,
                created,
                group.first.rule_id,
                group.dedup_key,
            ])
        });
    written.map(drop).map_err(sql_error(
        path,
        format_args!("writing window {key} (rule {:?})", group.first.rule_id),
    ))
}

fn delete_window_rows(tx: &Transaction<'_>, path: &str, alert_id: &str) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM alert_headers WHERE alert_id = ?1",
        "DELETE FROM alert_samples WHERE alert_id = ?1",
    ] {
        tx.prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute([alert_id]))
            .map_err(sql_error(
                path,
                format_args!("dropping the expired pending window {alert_id}"),
            ))?;
    }
    Ok(())
}

fn insert_header(
    tx: &Transaction<'_>,
    path: &str,
    alert_id: &str,
    header: &Header,
) -> Result<(), StoreError> {
    let context = header
        .context
        .as_ref()
        .map(|c| encode(path, format_args!("the context of alert {alert_id}"), c))
        .transpose()?;
    let details = encode(
        path,
        format_args!("the details of alert {alert_id}"),
        &header.details,
    )?;
    tx.prepare_cached(
        "INSERT INTO alert_headers (alert_id, kind, dedup, title, severity, context, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            alert_id,
            header.kind.as_str(),
            header.dedup,
            header.title,
            header.severity.rank(),
            context,
            details,
        ])
    })
    .map(drop)
    .map_err(sql_error(
        path,
        format_args!("writing the header of alert {alert_id}"),
    ))
}

fn load_header(tx: &Connection, path: &str, alert_id: &str) -> Result<Header, StoreError> {
    let (kind, dedup, title, severity, context, details) = tx
        .prepare_cached(
            "SELECT kind, dedup, title, severity, context, details
             FROM alert_headers WHERE alert_id = ?1",
        )
        .and_then(|mut stmt| {
            stmt.query_row([alert_id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, String>(5)?,
                ))
            })
        })
        .map_err(sql_error(
            path,
            format_args!("reading the header of alert {alert_id}"),
        ))?;
    Ok(Header {
        kind: parse_kind(path, alert_id, &kind)?,
        dedup,
        title,
        severity: parse_severity(path, alert_id, severity)?,
        context: context
            .map(|c| decode(path, format_args!("the context of alert {alert_id}"), &c))
            .transpose()?,
        details: decode(
            path,
            format_args!("the details of alert {alert_id}"),
            &details,
        )?,
    })
}

fn insert_samples(
    tx: &Transaction<'_>,
    path: &str,
    alert_id: &str,
    first_seq: u64,
    events: &[&Value],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut stmt = tx
        .prepare_cached("INSERT INTO alert_samples (alert_id, seq, event) VALUES (?1, ?2, ?3)")
        .map_err(sql_error(path, "preparing the sample insert"))?;
    for (seq, event) in (first_seq..).zip(events) {
        stmt.execute(params![alert_id, sql_int(seq), event.to_string()])
            .map_err(sql_error(
                path,
                format_args!("writing sample {seq} of alert {alert_id}"),
            ))?;
    }
    Ok(())
}

fn load_samples(conn: &Connection, path: &str, alert_id: &str) -> Result<Vec<Value>, StoreError> {
    let texts = conn
        .prepare_cached("SELECT event FROM alert_samples WHERE alert_id = ?1 ORDER BY seq")
        .and_then(|mut stmt| {
            stmt.query_map([alert_id], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(sql_error(
            path,
            format_args!("reading the samples of alert {alert_id}"),
        ))?;
    texts
        .iter()
        .map(|text| decode(path, format_args!("a sample of alert {alert_id}"), text))
        .collect()
}

/// Writes the counters of the window's alert: inserts the row for an alert created at
/// `new_alert_at`, otherwise moves the existing row's counts forward.
fn write_alert_counts(
    tx: &Transaction<'_>,
    path: &str,
    state: &WindowState,
    rule_id: &str,
    new_alert_at: Option<Timestamp>,
) -> Result<(), StoreError> {
    let id = state.alert_id.as_str();
    let log_types = encode(
        path,
        format_args!("the log types of alert {id}"),
        &state.log_types,
    )?;
    let (update_time, event_count) = (state.update_time.0, sql_int(state.event_count));
    let (written, action) = match new_alert_at {
        Some(created) => (
            tx.prepare_cached(
                "INSERT INTO alerts (alert_id, rule_id, creation_time, update_time, event_count,
                     log_types)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    id,
                    rule_id,
                    created.0,
                    update_time,
                    event_count,
                    log_types
                ])
            }),
            "inserting",
        ),
        None => (
            tx.prepare_cached(
                "UPDATE alerts SET update_time = ?2, event_count = ?3, log_types = ?4
                 WHERE alert_id = ?1",
            )
            .and_then(|mut stmt| stmt.execute(params![id, update_time, event_count, log_types])),
            "updating",
        ),
    };
    written.map(drop).map_err(sql_error(
        path,
        format_args!("{action} alert {id} (rule {rule_id:?})"),
    ))
}

fn parse_kind(path: &str, alert_id: &str, kind: &str) -> Result<AlertKind, StoreError> {
    AlertKind::parse(kind).ok_or_else(|| StoreError::Corrupt {
        path: path.to_owned(),
        what: format!("the kind of alert {alert_id}"),
        reason: format!("unknown kind {kind:?}"),
    })
}

fn parse_severity(path: &str, alert_id: &str, rank: i64) -> Result<Severity, StoreError> {
    Severity::from_rank(rank).ok_or_else(|| StoreError::Corrupt {
        path: path.to_owned(),
        what: format!("the severity of alert {alert_id}"),
        reason: format!("unknown rank {rank}"),
    })
}

const SUMMARY_SQL: &str = "SELECT a.alert_id, h.kind, a.rule_id, h.dedup, h.title, h.severity,
        a.creation_time, a.update_time, a.event_count
    FROM alerts a JOIN alert_headers h ON h.alert_id = a.alert_id";

/// The summary columns of a row, as read; checked by [`summary_from_row`].
type SummaryRow = (String, String, String, String, String, i64, i64, i64, i64);

fn read_summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<SummaryRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
    ))
}

fn summary_from_row(path: &str, row: SummaryRow) -> Result<AlertSummary, StoreError> {
    let (alert_id, kind, rule_id, dedup, title, severity, created, updated, events) = row;
    Ok(AlertSummary {
        kind: parse_kind(path, &alert_id, &kind)?,
        severity: parse_severity(path, &alert_id, severity)?,
        alert_id,
        rule_id,
        dedup,
        title,
        creation_time: Timestamp(created),
        update_time: Timestamp(updated),
        event_count: count(events),
    })
}

impl AlertReader for SqliteAlertStore {
    fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertSummary>, StoreError> {
        // Only the clauses in use go into the SQL, so the planner can pick the rule index;
        // `?N IS NULL OR …` forms would hide it.
        let mut sql = format!("{SUMMARY_SQL} WHERE 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, value: rusqlite::types::Value| {
            args.push(value);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(rule_id) = &filter.rule_id {
            arg(&mut sql, " AND a.rule_id = ?", rule_id.clone().into());
        }
        if let Some(severity) = filter.min_severity {
            arg(&mut sql, " AND h.severity >= ?", severity.rank().into());
        }
        if let Some(since) = filter.since {
            arg(&mut sql, " AND a.creation_time >= ?", since.0.into());
        }
        if let Some(cursor) = &filter.before {
            arg(
                &mut sql,
                " AND (a.creation_time < ?",
                cursor.creation_time.0.into(),
            );
            arg(
                &mut sql,
                " OR (a.creation_time = ?",
                cursor.creation_time.0.into(),
            );
            arg(
                &mut sql,
                " AND a.alert_id < ?))",
                cursor.alert_id.clone().into(),
            );
        }
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        arg(
            &mut sql,
            " ORDER BY a.creation_time DESC, a.alert_id DESC LIMIT ?",
            limit.into(),
        );
        let rows = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| {
                stmt.query_map(rusqlite::params_from_iter(args), read_summary)?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(self.sql_error("listing alerts"))?;
        rows.into_iter()
            .map(|row| summary_from_row(&self.path, row))
            .collect()
    }

    fn get_alert(&self, alert_id: &str) -> Result<Option<Alert>, StoreError> {
        let path = self.path.as_str();
        let row = self
            .conn
            .prepare_cached(
                "SELECT rule_id, creation_time, update_time, event_count, log_types
                 FROM alerts WHERE alert_id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([alert_id], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, i64>(3)?,
                        row.get::<_, String>(4)?,
                    ))
                })
                .optional()
            })
            .map_err(self.sql_error(format_args!("reading alert {alert_id}")))?;
        let Some((rule_id, created, updated, events, log_types)) = row else {
            return Ok(None);
        };
        let header = load_header(&self.conn, path, alert_id)?;
        Ok(Some(Alert {
            alert_id: alert_id.to_owned(),
            kind: header.kind,
            rule_id,
            dedup: header.dedup,
            title: header.title,
            severity: header.severity,
            context: header.context,
            details: header.details,
            log_types: decode(
                path,
                format_args!("the log types of alert {alert_id}"),
                &log_types,
            )?,
            creation_time: Timestamp(created),
            update_time: Timestamp(updated),
            event_count: count(events),
            samples: load_samples(&self.conn, path, alert_id)?,
        }))
    }
}

fn encode<T: Serialize + ?Sized>(
    path: &str,
    what: impl fmt::Display,
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode {
        path: path.to_owned(),
        what: what.to_string(),
        source,
    })
}

fn decode<T: DeserializeOwned>(
    path: &str,
    what: impl fmt::Display,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        path: path.to_owned(),
        what: what.to_string(),
        reason: e.to_string(),
    })
}

/// Counts are u64 in Rust and i64 in SQLite; neither side can reach 2^63 in practice.
fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests;
