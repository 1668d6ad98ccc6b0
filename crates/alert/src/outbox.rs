//! The delivery outbox: which destinations an alert goes to ([`Routes`]), the durable queue of
//! (alert, destination) deliveries written in the same transaction as the alert, and the
//! delivery log of every attempt.
//!
//! Owns the `deliveries` and `delivery_attempts` tables, the [`DeliveryQueue`] interface the
//! deliverer works any store's outbox through, and the routing decision. Must not
//! touch the network or the clock: sending is `crate::deliver`'s job, and every function takes
//! `now` from its caller. See docs/adr/0006-alert-delivery-outbox.md.

use std::collections::HashSet;
use std::fmt;

use bucketwatch_core::Timestamp;
use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::model::{Alert, Severity};
use crate::sqlite::{SqliteAlertStore, count, sql_error};
use crate::store::{AlertReader, StoreError};

/// Tables added by schema version 2; also run on a version 1 file to upgrade it.
pub(crate) const OUTBOX_SCHEMA: &str = "
CREATE TABLE deliveries (
    delivery_id  TEXT PRIMARY KEY NOT NULL,  -- '<alert_id>:<destination_id>', sent to receivers
    alert_id     TEXT NOT NULL,
    destination  TEXT NOT NULL,
    state        TEXT NOT NULL,              -- pending, delivered, failed
    enqueued_at  INTEGER NOT NULL,           -- ns since the epoch, like every time column
    next_attempt INTEGER NOT NULL,           -- when pending: due at; also a claim's lease end
    attempts     INTEGER NOT NULL,           -- ever made; numbers the log rows
    requeued_at  INTEGER NOT NULL DEFAULT 0, -- attempts made before the last requeue
    last_error   TEXT,
    finished_at  INTEGER                     -- when delivered or failed
);
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE state = 'pending';
CREATE INDEX deliveries_alert ON deliveries (alert_id);
CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL,
    attempt     INTEGER NOT NULL,            -- 1 for the first
    at          INTEGER NOT NULL,
    alert_id    TEXT NOT NULL,
    destination TEXT NOT NULL,
    outcome     TEXT NOT NULL,               -- delivered, retry, failed
    http_status INTEGER,
    error       TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
CREATE INDEX delivery_attempts_newest ON delivery_attempts (at DESC);
";

/// Where one configured destination takes alerts from when the rule did not choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination_id: String,
    /// Only alerts of this severity and above; `None` takes every severity.
    pub min_severity: Option<Severity>,
    /// Only alerts with one of these log types; empty takes every log type.
    pub log_types: Vec<String>,
    /// Only alerts of these rules; empty takes every rule.
    pub rule_ids: Vec<String>,
}

impl Route {
    fn takes(&self, alert: &Alert) -> bool {
        self.min_severity.is_none_or(|min| alert.severity >= min)
            && (self.log_types.is_empty()
                || alert.log_types.iter().any(|t| self.log_types.contains(t)))
            && (self.rule_ids.is_empty() || self.rule_ids.contains(&alert.rule_id))
    }
}

/// The routing table a store enqueues deliveries by, fixed when the store is opened
/// ([`SqliteAlertStore::with_routes`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    routes: Vec<Route>,
}

impl Routes {
    pub fn new(routes: Vec<Route>) -> Routes {
        Routes { routes }
    }

    /// The destination ids `alert` is delivered to, each once, in a stable order.
    ///
    /// Panther's semantics for the rule's `destinations()` (panther-compat.md §4): an empty list
    /// sends nowhere; a list naming only configured destinations goes to exactly those,
    /// whatever their filters; a list naming any unknown destination is ignored, as is no list
    /// at all, and the configured destinations whose filters take the alert receive it.
    pub fn destinations_for<'a>(&'a self, alert: &'a Alert) -> Vec<&'a str> {
        if let Some(chosen) = &alert.details.destinations {
            let known = |id: &String| self.routes.iter().any(|r| &r.destination_id == id);
            if chosen.iter().all(known) {
                let mut seen = HashSet::new();
                return chosen
                    .iter()
                    .map(String::as_str)
                    .filter(|id| seen.insert(*id))
                    .collect();
            }
        }
        self.routes
            .iter()
            .filter(|r| r.takes(alert))
            .map(|r| r.destination_id.as_str())
            .collect()
    }
}

/// The idempotency key of a delivery: stable across retries and restarts, so a receiver can
/// drop a redelivery (an attempt that reached it but whose success was never recorded).
pub fn delivery_id(alert_id: &str, destination_id: &str) -> String {
    format!("{alert_id}:{destination_id}")
}

/// Queues `alert` for its destinations inside the transaction that creates it.
pub(crate) fn enqueue(
    tx: &Transaction<'_>,
    path: &str,
    routes: &Routes,
    alert: &Alert,
    now: Timestamp,
) -> Result<(), StoreError> {
    let destinations = routes.destinations_for(alert);
    if destinations.is_empty() {
        return Ok(());
    }
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO deliveries (delivery_id, alert_id, destination, state, enqueued_at,
                 next_attempt, attempts)
             VALUES (?1, ?2, ?3, 'pending', ?4, ?4, 0)",
        )
        .map_err(sql_error(path, "preparing the delivery insert"))?;
    for destination in destinations {
        let id = delivery_id(&alert.alert_id, destination);
        stmt.execute(params![id, alert.alert_id, destination, now.0])
            .map_err(sql_error(path, format_args!("queueing delivery {id}")))?;
    }
    Ok(())
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not delivered yet: due at `next_attempt`.
    Pending,
    Delivered,
    /// Given up: a permanent refusal, or the attempt or age limit. Kept for listing and
    /// [`SqliteAlertStore::requeue_failed`].
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One (alert, destination) pair of the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub delivery_id: String,
    pub alert_id: String,
    pub destination_id: String,
    pub state: DeliveryState,
    #[serde(with = "crate::model::timestamp_text")]
    pub enqueued_at: Timestamp,
    /// For a pending delivery, when it is due next.
    #[serde(with = "crate::model::timestamp_text")]
    pub next_attempt: Timestamp,
    /// Attempts ever made.
    pub attempts: u32,
    /// Attempts made before the last [`SqliteAlertStore::requeue_failed`]: the attempt limit
    /// and the backoff count from here.
    #[serde(default)]
    pub requeued_at: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::store::optional_timestamp_text"
    )]
    pub finished_at: Option<Timestamp>,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    Delivered,
    /// Failed for now; another attempt is scheduled.
    Retry,
    /// Failed for good; the delivery is now [`DeliveryState::Failed`].
    Failed,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::Retry => "retry",
            AttemptOutcome::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<AttemptOutcome> {
        [
            AttemptOutcome::Delivered,
            AttemptOutcome::Retry,
            AttemptOutcome::Failed,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// One row of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub delivery_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    #[serde(with = "crate::model::timestamp_text")]
    pub at: Timestamp,
    pub alert_id: String,
    pub destination_id: String,
    pub outcome: AttemptOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Which deliveries [`SqliteAlertStore::list_deliveries`] and attempts
/// [`SqliteAlertStore::delivery_log`] return. Empty fields do not filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub state: Option<DeliveryState>,
    pub destination_id: Option<String>,
    pub alert_id: Option<String>,
    pub limit: usize,
}

impl Default for DeliveryFilter {
    fn default() -> Self {
        DeliveryFilter {
            state: None,
            destination_id: None,
            alert_id: None,
            limit: 100,
        }
    }
}

/// What the deliverer decided for one claimed delivery after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub attempt: DeliveryAttempt,
    /// For [`AttemptOutcome::Retry`]: when to try again.
    pub next_attempt: Option<Timestamp>,
}

/// The outbox as the [`Deliverer`](crate::Deliverer) works it, whichever store keeps it
/// ([`SqliteAlertStore`], [`DynamoAlertStore`](crate::DynamoAlertStore)).
///
/// Async because the deliverer runs on the runtime: a store must not block it on network
/// requests. SQLite's calls are local and short, and answer at once.
pub trait DeliveryQueue {
    /// The store, for messages: its file, or its table.
    fn location(&self) -> String;

    /// Takes up to `limit` pending deliveries due at `now`, oldest due first, and pushes their
    /// due time to `lease_until`: a deliverer that dies mid-send leaves them to be retried then,
    /// and no other deliverer on the same store takes them meanwhile.
    fn claim_due(
        &mut self,
        now: Timestamp,
        limit: usize,
        lease_until: Timestamp,
    ) -> impl Future<Output = Result<Vec<Delivery>, StoreError>> + Send;

    /// Records attempts and their consequences, and moves `deferred` deliveries (delivery id,
    /// new due time; not attempted) to their new due time.
    fn settle(
        &mut self,
        settled: &[Settled],
        deferred: &[(String, Timestamp)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The alert a delivery sends.
    fn alert(
        &self,
        alert_id: &str,
    ) -> impl Future<Output = Result<Option<Alert>, StoreError>> + Send;
}

impl DeliveryQueue for SqliteAlertStore {
    fn location(&self) -> String {
        self.path.clone()
    }

    fn claim_due(
        &mut self,
        now: Timestamp,
        limit: usize,
        lease_until: Timestamp,
    ) -> impl Future<Output = Result<Vec<Delivery>, StoreError>> + Send {
        std::future::ready(SqliteAlertStore::claim_due(self, now, limit, lease_until))
    }

    fn settle(
        &mut self,
        settled: &[Settled],
        deferred: &[(String, Timestamp)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(SqliteAlertStore::settle(self, settled, deferred))
    }

    fn alert(
        &self,
        alert_id: &str,
    ) -> impl Future<Output = Result<Option<Alert>, StoreError>> + Send {
        std::future::ready(self.get_alert(alert_id))
    }
}

const DELIVERY_COLUMNS: &str = "delivery_id, alert_id, destination, state, enqueued_at,
    next_attempt, attempts, requeued_at, last_error, finished_at";

type DeliveryRow = (
    (String, String, String, String, i64, i64, i64, i64),
    (Option<String>, Option<i64>),
);

fn read_delivery(row: &rusqlite::Row<'_>) -> rusqlite::Result<DeliveryRow> {
    Ok((
        (
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
            row.get(7)?,
        ),
        (row.get(8)?, row.get(9)?),
    ))
}

fn delivery_from_row(path: &str, row: DeliveryRow) -> Result<Delivery, StoreError> {
    let (delivery_id, alert_id, destination_id, state, enqueued, next, attempts, requeued_at) =
        row.0;
    let (error, finished) = row.1;
    let state = DeliveryState::parse(&state).ok_or_else(|| StoreError::Corrupt {
        path: path.to_owned(),
        what: format!("the state of delivery {delivery_id}"),
        reason: format!("unknown state {state:?}"),
    })?;
    Ok(Delivery {
        delivery_id,
        alert_id,
        destination_id,
        state,
        enqueued_at: Timestamp(enqueued),
        next_attempt: Timestamp(next),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        requeued_at: u32::try_from(requeued_at).unwrap_or(u32::MAX),
        last_error: error,
        finished_at: finished.map(Timestamp),
    })
}

/// Appends the filter's clauses; only those in use, so the planner sees plain comparisons.
fn filter_sql(
    filter: &DeliveryFilter,
    state_column: Option<&str>,
) -> (String, Vec<rusqlite::types::Value>) {
    let mut sql = String::from(" WHERE 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let (Some(state), Some(column)) = (filter.state, state_column) {
        args.push(state.as_str().to_owned().into());
        sql.push_str(&format!(" AND {column} = ?{}", args.len()));
    }
    if let Some(destination) = &filter.destination_id {
        args.push(destination.clone().into());
        sql.push_str(&format!(" AND destination = ?{}", args.len()));
    }
    if let Some(alert_id) = &filter.alert_id {
        args.push(alert_id.clone().into());
        sql.push_str(&format!(" AND alert_id = ?{}", args.len()));
    }
    (sql, args)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl SqliteAlertStore {
    /// Deliveries, oldest first (by enqueue time, then id).
    pub fn list_deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        let (clauses, mut args) = filter_sql(filter, Some("state"));
        args.push(limit(filter.limit).into());
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries{clauses}
             ORDER BY enqueued_at, delivery_id LIMIT ?{}",
            args.len()
        );
        let rows = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| {
                stmt.query_map(rusqlite::params_from_iter(args), read_delivery)?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(sql_error(&self.path, "listing deliveries"))?;
        rows.into_iter()
            .map(|row| delivery_from_row(&self.path, row))
            .collect()
    }

    /// The delivery log: attempts, newest first. `filter.state` does not apply to attempts.
    pub fn delivery_log(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let (clauses, mut args) = filter_sql(filter, None);
        args.push(limit(filter.limit).into());
        let sql = format!(
            "SELECT delivery_id, attempt, at, alert_id, destination, outcome, http_status, error
             FROM delivery_attempts{clauses}
             ORDER BY at DESC, delivery_id, attempt DESC LIMIT ?{}",
            args.len()
        );
        let rows = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| {
                stmt.query_map(rusqlite::params_from_iter(args), |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, String>(5)?,
                        row.get::<_, Option<i64>>(6)?,
                        row.get::<_, Option<String>>(7)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(sql_error(&self.path, "reading the delivery log"))?;
        rows.into_iter()
            .map(
                |(delivery_id, attempt, at, alert_id, destination, outcome, status, error)| {
                    let outcome =
                        AttemptOutcome::parse(&outcome).ok_or_else(|| StoreError::Corrupt {
                            path: self.path.clone(),
                            what: format!("attempt {attempt} of delivery {delivery_id}"),
                            reason: format!("unknown outcome {outcome:?}"),
                        })?;
                    Ok(DeliveryAttempt {
                        attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                        at: Timestamp(at),
                        outcome,
                        http_status: status.and_then(|s| u16::try_from(s).ok()),
                        delivery_id,
                        alert_id,
                        destination_id: destination,
                        error,
                    })
                },
            )
            .collect()
    }

    /// How many deliveries are pending: what a health check or a metric reads.
    pub fn pending_deliveries(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM deliveries WHERE state = 'pending'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .map(count)
            .map_err(sql_error(&self.path, "counting pending deliveries"))
    }

    /// Makes failed deliveries pending again, due at `now`, with a fresh attempt budget and age:
    /// the operator's way back after fixing a destination. Returns how many were requeued.
    pub fn requeue_failed(
        &mut self,
        destination_id: Option<&str>,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let (sql, args): (&str, Vec<rusqlite::types::Value>) = match destination_id {
            Some(id) => (
                "UPDATE deliveries SET state = 'pending', next_attempt = ?1, requeued_at = attempts,
                     enqueued_at = ?1, finished_at = NULL
                 WHERE state = 'failed' AND destination = ?2",
                vec![now.0.into(), id.to_owned().into()],
            ),
            None => (
                "UPDATE deliveries SET state = 'pending', next_attempt = ?1, requeued_at = attempts,
                     enqueued_at = ?1, finished_at = NULL
                 WHERE state = 'failed'",
                vec![now.0.into()],
            ),
        };
        self.conn
            .execute(sql, rusqlite::params_from_iter(args))
            .map_err(sql_error(&self.path, "requeueing failed deliveries"))
    }

    /// Takes up to `limit` pending deliveries due at `now`, oldest due first, and pushes their
    /// due time to `lease_until`: a deliverer that dies mid-send leaves them to be retried
    /// then, and a second deliverer on the same file does not take them meanwhile.
    pub(crate) fn claim_due(
        &mut self,
        now: Timestamp,
        limit_to: usize,
        lease_until: Timestamp,
    ) -> Result<Vec<Delivery>, StoreError> {
        let path = self.path.as_str();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_error(path, "starting to claim due deliveries"))?;
        let rows = tx
            .prepare_cached(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries
                 WHERE state = 'pending' AND next_attempt <= ?1
                 ORDER BY next_attempt, delivery_id LIMIT ?2"
            ))
            .and_then(|mut stmt| {
                stmt.query_map(params![now.0, limit(limit_to)], read_delivery)?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(sql_error(path, "reading due deliveries"))?;
        let claimed = rows
            .into_iter()
            .map(|row| delivery_from_row(path, row))
            .collect::<Result<Vec<_>, _>>()?;
        {
            let mut stmt = tx
                .prepare_cached("UPDATE deliveries SET next_attempt = ?2 WHERE delivery_id = ?1")
                .map_err(sql_error(path, "preparing the claim"))?;
            for delivery in &claimed {
                stmt.execute(params![delivery.delivery_id, lease_until.0])
                    .map_err(sql_error(
                        path,
                        format_args!("claiming delivery {}", delivery.delivery_id),
                    ))?;
            }
        }
        tx.commit()
            .map_err(sql_error(path, "committing the claim"))?;
        Ok(claimed)
    }

    /// Records attempts and their consequences, and moves `deferred` deliveries (not
    /// attempted) to their new due time, all in one transaction.
    pub(crate) fn settle(
        &mut self,
        settled: &[Settled],
        deferred: &[(String, Timestamp)],
    ) -> Result<(), StoreError> {
        let path = self.path.as_str();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_error(path, "starting to record delivery attempts"))?;
        for s in settled {
            settle_one(&tx, path, s)?;
        }
        for (id, due) in deferred {
            tx.prepare_cached("UPDATE deliveries SET next_attempt = ?2 WHERE delivery_id = ?1")
                .and_then(|mut stmt| stmt.execute(params![id, due.0]))
                .map_err(sql_error(path, format_args!("deferring delivery {id}")))?;
        }
        tx.commit()
            .map_err(sql_error(path, "committing delivery attempts"))
    }
}

fn settle_one(tx: &Connection, path: &str, s: &Settled) -> Result<(), StoreError> {
    let a = &s.attempt;
    let id = a.delivery_id.as_str();
    tx.prepare_cached(
        "INSERT INTO delivery_attempts (delivery_id, attempt, at, alert_id, destination, outcome,
             http_status, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            id,
            a.attempt,
            a.at.0,
            a.alert_id,
            a.destination_id,
            a.outcome.as_str(),
            a.http_status,
            a.error,
        ])
    })
    .map_err(sql_error(
        path,
        format_args!("logging attempt {} of delivery {id}", a.attempt),
    ))?;
    let (state, next, finished) = match a.outcome {
        AttemptOutcome::Delivered => ("delivered", a.at, Some(a.at.0)),
        AttemptOutcome::Failed => ("failed", a.at, Some(a.at.0)),
        AttemptOutcome::Retry => ("pending", s.next_attempt.unwrap_or(a.at), None),
    };
    tx.prepare_cached(
        "UPDATE deliveries SET state = ?2, next_attempt = ?3, attempts = ?4, last_error = ?5,
             finished_at = ?6
         WHERE delivery_id = ?1",
    )
    .and_then(|mut stmt| stmt.execute(params![id, state, next.0, a.attempt, a.error, finished]))
    .map(drop)
    .map_err(sql_error(path, format_args!("updating delivery {id}")))
}
