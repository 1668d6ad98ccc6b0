//! The store interface callers program against, whichever backend keeps the state.

use bucketwatch_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::{Alert, AlertKind, AlertSummary, Severity};

/// Applies batches of rule results to the persisted dedup windows.
///
/// # Contract
/// - `record` groups `results` per (rule id, dedup, is_error) and applies every group at `now`
///   (processing time; never read from a clock inside, so callers and tests own time).
/// - All or nothing: when it returns `Err`, none of the batch's effects are visible; when it
///   returns `Ok`, all of them are durable. Callers acknowledge their input (delete the SQS
///   message) only after `Ok`.
/// - Alert ids depend only on the stored state and the batch, so several workers sharing one
///   store agree on them.
/// - Times in alerts and outcomes are `now` truncated to the microsecond, the precision
///   Panther's alert times carry.
/// - Every alert in [`RecordOutcome::created`] has its deliveries queued in the same
///   transaction, routed by the store's routing table ([`Routes`](crate::Routes)): an alert that is
///   persisted is an alert that will be delivered, even if the process dies right after `Ok`.
///   Callers never deliver from `created` themselves; the deliverer reads the queue.
///
/// # The DynamoDB implementation
/// The grouping rules are pure functions over one record per state key, so
/// [`DynamoAlertStore`](crate::DynamoAlertStore) reuses them and replaces only persistence,
/// with optimistic concurrency on conditional writes:
/// - read the batch's window items (`BatchGetItem`, strongly consistent), each with a `version`;
/// - advance them in memory exactly as [`SqliteAlertStore`](crate::SqliteAlertStore) does;
/// - write window, header, sample, alert and delivery items with `TransactWriteItems`, each
///   window put conditioned on `version = :read_version` (`attribute_not_exists` for a new key)
///   and each alert and delivery put on `attribute_not_exists`;
/// - on `TransactionCanceledException` (another worker wrote first), re-read and redo, a
///   bounded number of times ([`StoreError::Contention`] after that).
///
/// This is Panther's conditional update (open a window when the item is absent or
/// `alertCreationTime < now − period`) generalized to thresholds and unique-value sets; ids stay
/// deterministic because the alert count is part of the conditioned item. A transaction holds at
/// most 100 items, so a batch with more changes commits in chunks: all-or-nothing per chunk, not
/// per batch. `record_unit` writes a marker naming each chunk's groups in that chunk's
/// transaction, so a unit retried after a partial failure applies only the rest, exactly once;
/// a plain `record` retried after a partial failure counts its committed chunks again. That is
/// the one guarantee weaker than SQLite's single transaction (docs/adr/0007).
pub trait AlertStore {
    fn record(
        &mut self,
        results: &[crate::RuleResult],
        now: Timestamp,
    ) -> Result<RecordOutcome, StoreError>;

    /// [`record`](Self::record) at most once per `unit` (a source object or a chunk of one):
    /// when `unit` was recorded before, nothing changes and the first outcome is returned with
    /// `created` empty (those alerts exist already). This is what makes a redelivered or
    /// re-ingested input add no counts and no alerts while still giving its rule-match rows
    /// their alert ids.
    fn record_unit(
        &mut self,
        unit: &str,
        results: &[crate::RuleResult],
        now: Timestamp,
    ) -> Result<RecordOutcome, StoreError>;
}

/// Reads the alerts a store has created: the web console's and `bucketwatch alerts`' view.
pub trait AlertReader {
    /// Newest first (by creation time, then alert id), filtered by `filter`.
    fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertSummary>, StoreError>;

    fn get_alert(&self, alert_id: &str) -> Result<Option<Alert>, StoreError>;
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordOutcome {
    /// Alerts whose threshold this batch reached; their deliveries are already queued.
    pub created: Vec<Alert>,
    /// One entry per (rule id, dedup, is_error) group of the batch, in order of its first
    /// result.
    pub windows: Vec<WindowOutcome>,
    /// For each input result, the index of its window in `windows`: how the rule_matches and
    /// rule_errors rows get their `p_alert_id` and alert times.
    pub result_windows: Vec<usize>,
}

impl RecordOutcome {
    /// Alerts that existed before this batch and grew with it.
    pub fn updated(&self) -> impl Iterator<Item = &WindowOutcome> {
        self.windows
            .iter()
            .filter(|w| w.status == WindowStatus::Updated)
    }

    /// How many results landed in windows that are still below their threshold.
    pub fn below_threshold(&self) -> u64 {
        self.windows
            .iter()
            .filter(|w| w.status == WindowStatus::Pending)
            .map(|w| w.new_events)
            .sum()
    }

    /// The window the `index`-th input result went into.
    pub fn window_of(&self, index: usize) -> Option<&WindowOutcome> {
        self.result_windows
            .get(index)
            .and_then(|&w| self.windows.get(w))
    }
}

/// Where a group's window stands after the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowStatus {
    /// Below its threshold: no alert yet.
    Pending,
    /// The threshold was reached by this batch; the alert is in [`RecordOutcome::created`].
    Created,
    /// The alert already existed; its counts and update time changed.
    Updated,
}

/// One group's window after a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowOutcome {
    /// The window's alert id; assigned when the window opens, so pending windows have one too.
    pub alert_id: String,
    pub kind: AlertKind,
    pub rule_id: String,
    pub dedup: String,
    pub status: WindowStatus,
    #[serde(with = "crate::model::timestamp_text")]
    pub window_start: Timestamp,
    /// When the alert was created; `None` while the window is pending.
    #[serde(default, with = "optional_timestamp_text")]
    pub creation_time: Option<Timestamp>,
    #[serde(with = "crate::model::timestamp_text")]
    pub update_time: Timestamp,
    /// Results in the window so far, this batch included.
    pub event_count: u64,
    /// Results this batch added.
    pub new_events: u64,
}

pub(crate) mod optional_timestamp_text {
    use bucketwatch_core::Timestamp;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Text(#[serde(with = "crate::model::timestamp_text")] Timestamp);

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        t.map(Text).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        Ok(Option::<Text>::deserialize(d)?.map(|t| t.0))
    }
}

/// Which alerts [`AlertReader::list_alerts`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertFilter {
    pub rule_id: Option<String>,
    /// This severity and above.
    pub min_severity: Option<Severity>,
    /// Created at or after this time.
    pub since: Option<Timestamp>,
    /// Strictly older than this position: pass the previous page's last
    /// [`AlertSummary::cursor`] to page on.
    pub before: Option<AlertCursor>,
    pub limit: usize,
}

impl Default for AlertFilter {
    fn default() -> Self {
        AlertFilter {
            rule_id: None,
            min_severity: None,
            since: None,
            before: None,
            limit: 100,
        }
    }
}

/// A position in the newest-first order of alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertCursor {
    pub creation_time: Timestamp,
    pub alert_id: String,
}

impl AlertSummary {
    pub fn cursor(&self) -> AlertCursor {
        AlertCursor {
            creation_time: self.creation_time,
            alert_id: self.alert_id.clone(),
        }
    }
}

/// Why a store operation failed. Every message names the store (its file, or its DynamoDB
/// table) and what was being done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("alert store {path}: cannot open: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "alert store {path}: not a bucketwatch alert store (SQLite application_id {found:#x}); \
         choose another file"
    )]
    NotAnAlertStore { path: String, found: i32 },
    #[error(
        "alert store {path}: schema version {found}, but this build reads version {supported}; \
         use a matching bucketwatch or another file"
    )]
    SchemaVersion {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error("alert store {path}: {action}: {source}")]
    Sqlite {
        path: String,
        action: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("alert store {path}: {what} is unreadable: {reason}")]
    Corrupt {
        path: String,
        what: String,
        reason: String,
    },
    #[error("alert store {path}: cannot encode {what}: {source}")]
    Encode {
        path: String,
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// Panther's key `md5("<RuleID>:<dedup>")` cannot tell rule `a:b` with dedup `c` from rule
    /// `a` with dedup `b:c`; the store keeps both parts and refuses to merge their windows.
    #[error(
        "rule {rule_id:?} with dedup key {dedup_key:?} has the state key of the stored rule \
         {stored_rule_id:?} with dedup key {stored_dedup_key:?} (':' inside a rule id makes \
         the key ambiguous); rename the rule"
    )]
    KeyCollision {
        rule_id: String,
        dedup_key: String,
        stored_rule_id: String,
        stored_dedup_key: String,
    },
    #[error("result {index} of the batch: {reason}; nothing was recorded")]
    InvalidResult { index: usize, reason: &'static str },
    /// A DynamoDB request failed ([`DynamoAlertStore`](crate::DynamoAlertStore)).
    #[error("alert table {table}: {operation}: {reason}; {advice}")]
    Dynamo {
        table: String,
        operation: String,
        /// The SDK's error with its service context.
        reason: String,
        /// What an operator can do about it.
        advice: &'static str,
    },
    /// Other workers changed the same items between this store's reads and its conditional
    /// writes every time it tried.
    #[error(
        "alert table {table}: {operation}: other workers changed the same items {attempts} \
         times in a row; leave the input unacknowledged and record it again (record_unit \
         skips the parts already committed)"
    )]
    Contention {
        table: String,
        operation: String,
        attempts: u32,
    },
}
