//! [`DynamoAlertStore`]: alert state in one DynamoDB table, shared by every `bucketwatch run`
//! process on a queue.
//!
//! Owns the table's layout (crate::dynamodb::item), its creation, and writing what the
//! grouping functions decide with optimistic concurrency: windows are read with a version,
//! advanced in memory by `crate::grouping` exactly as [`SqliteAlertStore`](crate::SqliteAlertStore)
//! advances them, and written back in `TransactWriteItems` conditioned on that version, with
//! the alert, its header and samples, its deliveries and the applied-unit marker in the same
//! transaction. A cancelled transaction (another worker wrote first) is read again and redone.
//! Must not touch grouping rules, routing decisions or the clock. See
//! docs/adr/0007-dynamodb-alert-store.md.
//!
//! The store traits are synchronous: the store holds a Tokio runtime [`Handle`] and blocks on
//! it, so call [`AlertStore`] and [`AlertReader`] methods from outside that runtime's worker
//! threads (as the pipeline does: it owns the runtime and records from its own thread).
//! [`DeliveryQueue`](crate::DeliveryQueue), used by the async deliverer, does not block.

mod item;
mod queue;

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put,
    ScalarAttributeType, TableStatus, TransactWriteItem, Update,
};
use bucketwatch_core::Timestamp;
use tokio::runtime::Handle;

use crate::grouping::{self, Group, Header, Step, WindowState};
use crate::model::{Alert, AlertSummary, RuleResult};
use crate::outbox::{Delivery, DeliveryState, Routes, delivery_id};
use crate::store::{
    AlertFilter, AlertReader, AlertStore, RecordOutcome, StoreError, WindowOutcome,
};
use item::{Item, Reader, StoredWindow};

/// DynamoDB's limit on the items of one `TransactWriteItems`.
const MAX_TRANSACTION_ITEMS: usize = 100;

/// Below DynamoDB's 4 MB per transaction, leaving room for what [`item::item_size`] does not
/// count (expressions, request framing).
const MAX_TRANSACTION_BYTES: usize = 3_500_000;

/// Windows read ahead for one chunk: one `BatchGetItem` (100 keys at most).
const MAX_GROUPS_READ: usize = 99;

/// How many times in a row a chunk is tried when other workers keep winning the race.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// How long `ensure_table` waits for a new table to become active.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Alert grouping state, alerts, the delivery outbox and applied units in one DynamoDB table.
///
/// Each `bucketwatch run` process opens its own handle on the same table; their batches
/// interleave safely and produce what one process would (same alert ids, same counts, each
/// alert and each delivery created once). `record` queues each created alert's deliveries,
/// routed by [`Routes`] (none unless given with [`DynamoAlertStore::with_routes`]), in the
/// transaction that creates the alert.
pub struct DynamoAlertStore {
    client: Client,
    table: String,
    /// "DynamoDB table NAME", for errors that name the store.
    label: String,
    handle: Handle,
    routes: Routes,
    max_attempts: u32,
    conflicts: u64,
}

impl DynamoAlertStore {
    /// A store on `table` through `client`, blocking on `handle` for the synchronous traits.
    /// Nothing is requested yet: call [`ensure_table`](Self::ensure_table) on first run.
    pub fn new(client: Client, table: impl Into<String>, handle: Handle) -> Self {
        let table = table.into();
        DynamoAlertStore {
            client,
            label: format!("DynamoDB table {table}"),
            table,
            handle,
            routes: Routes::default(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            conflicts: 0,
        }
    }

    /// As [`new`](Self::new), with a client from the shared AWS configuration (the service's
    /// one for SQS and S3; tests point one at moto).
    pub fn from_config(
        aws: &aws_config::SdkConfig,
        table: impl Into<String>,
        handle: Handle,
    ) -> Self {
        Self::new(Client::new(aws), table, handle)
    }

    /// The store, queueing deliveries of the alerts it creates by `routes` from now on.
    pub fn with_routes(self, routes: Routes) -> Self {
        DynamoAlertStore { routes, ..self }
    }

    /// The store, giving up on a chunk with [`StoreError::Contention`] after `attempts`
    /// conflicting tries in a row (at least one).
    pub fn with_max_attempts(self, attempts: u32) -> Self {
        DynamoAlertStore {
            max_attempts: attempts.max(1),
            ..self
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Transactions this handle redid because another worker wrote the same items first: a
    /// measure of contention between workers.
    pub fn conflicts(&self) -> u64 {
        self.conflicts
    }

    /// Creates the table with its two indexes, on-demand (`PAY_PER_REQUEST`), and waits until
    /// it is active. Fails if it exists.
    pub fn create_table(&self) -> Result<(), StoreError> {
        self.handle.block_on(async {
            self.send_create_table(false).await?;
            self.wait_active().await
        })
    }

    /// Creates the table unless it exists (another worker may be creating it at the same
    /// moment), and waits until it is active: what a first run calls.
    pub fn ensure_table(&self) -> Result<(), StoreError> {
        self.handle.block_on(async {
            if self.describe_status().await?.is_none() {
                self.send_create_table(true).await?;
            }
            self.wait_active().await
        })
    }

    /// Sends `CreateTable`; with `exists_ok`, a table created meanwhile by another worker is
    /// not an error.
    async fn send_create_table(&self, exists_ok: bool) -> Result<(), StoreError> {
        let string_attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        let index = |name: &str, pk: &str, sk: &str, projection: ProjectionType| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(pk, KeyType::Hash)?)
                .key_schema(key(sk, KeyType::Range)?)
                .projection(Projection::builder().projection_type(projection).build())
                .build()
        };
        let request = (|| {
            Ok::<_, BuildError>(
                self.client
                    .create_table()
                    .table_name(&self.table)
                    .billing_mode(BillingMode::PayPerRequest)
                    .set_attribute_definitions(Some(
                        [
                            item::PK,
                            item::SK,
                            item::LIST_PK,
                            item::LIST_SK,
                            item::DUE_PK,
                            item::DUE_SK,
                        ]
                        .into_iter()
                        .map(string_attr)
                        .collect::<Result<_, _>>()?,
                    ))
                    .key_schema(key(item::PK, KeyType::Hash)?)
                    .key_schema(key(item::SK, KeyType::Range)?)
                    // Listings read whole summaries from the index; the claimer needs only keys.
                    .global_secondary_indexes(index(
                        item::LIST_INDEX,
                        item::LIST_PK,
                        item::LIST_SK,
                        ProjectionType::All,
                    )?)
                    .global_secondary_indexes(index(
                        item::DUE_INDEX,
                        item::DUE_PK,
                        item::DUE_SK,
                        ProjectionType::KeysOnly,
                    )?),
            )
        })()
        .map_err(|e| self.build_error(e))?;
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if exists_ok
                    && matches!(
                        e.as_service_error(),
                        Some(CreateTableError::ResourceInUseException(_))
                    ) =>
            {
                Ok(())
            }
            Err(e) => Err(self.error("creating the table", &e)),
        }
    }

    /// The table's status, `None` when it does not exist.
    async fn describe_status(&self) -> Result<Option<TableStatus>, StoreError> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(out) => Ok(out.table().and_then(|t| t.table_status()).cloned()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeTableError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.error("describing the table", &e)),
        }
    }

    async fn wait_active(&self) -> Result<(), StoreError> {
        let deadline = tokio::time::Instant::now() + TABLE_ACTIVE_TIMEOUT;
        loop {
            let status = self.describe_status().await?;
            if status == Some(TableStatus::Active) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Dynamo {
                    table: self.table.clone(),
                    operation: "waiting for the table to become active".into(),
                    reason: format!("still {status:?} after {}s", TABLE_ACTIVE_TIMEOUT.as_secs()),
                    advice: "check the table in the AWS console, then start again",
                });
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    fn error<E, R>(&self, operation: impl fmt::Display, err: &SdkError<E, R>) -> StoreError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
        R: fmt::Debug,
    {
        let advice = match err.code() {
            Some("ResourceNotFoundException") => {
                "create the table (DynamoAlertStore::ensure_table), or check its name and the region"
            }
            Some(
                "AccessDeniedException"
                | "UnrecognizedClientException"
                | "InvalidSignatureException",
            ) => "check the credentials and that their IAM policy allows this table",
            Some(
                "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded",
            ) => "the table is throttled: switch it to on-demand capacity or raise its capacity",
            Some("ValidationException") => {
                "DynamoDB refused the request; if an item is over 400 KB or a transaction over \
                 4 MB, shrink the rule's alert context, otherwise report this message"
            }
            Some(_) => "try again; if it persists, check the table in the AWS console",
            None => "check the endpoint (AWS_REGION, AWS_ENDPOINT_URL) and the network",
        };
        StoreError::Dynamo {
            table: self.table.clone(),
            operation: operation.to_string(),
            // The service's own words when it answered; the whole chain when it did not.
            reason: match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                _ => DisplayErrorContext(err).to_string(),
            },
            advice,
        }
    }

    fn build_error(&self, e: BuildError) -> StoreError {
        StoreError::Dynamo {
            table: self.table.clone(),
            operation: "building a request".into(),
            reason: e.to_string(),
            advice: "this is a bug in bucketwatch; report it with this message",
        }
    }

    fn reader<'a>(&'a self, item: &'a Item, what: &'a dyn Fn() -> String) -> Reader<'a> {
        Reader {
            item,
            store: &self.label,
            what,
        }
    }
}

impl AlertStore for DynamoAlertStore {
    fn record(
        &mut self,
        results: &[RuleResult],
        now: Timestamp,
    ) -> Result<RecordOutcome, StoreError> {
        let handle = self.handle.clone();
        handle.block_on(self.record_batch(None, results, now))
    }

    fn record_unit(
        &mut self,
        unit: &str,
        results: &[RuleResult],
        now: Timestamp,
    ) -> Result<RecordOutcome, StoreError> {
        let handle = self.handle.clone();
        handle.block_on(self.record_batch(Some(unit), results, now))
    }
}

/// What one group's changes are, ready to go into a transaction.
struct Planned {
    writes: Vec<TransactWriteItem>,
    bytes: usize,
    outcome: WindowOutcome,
    created: Option<Alert>,
}

/// How a chunk's transaction ended.
enum Chunk {
    /// These groups (index, outcome, created alert) are committed.
    Committed(Vec<(usize, WindowOutcome, Option<Alert>)>),
    /// Another worker changed something read; nothing was written.
    Conflict,
}

/// A condition on a transaction item.
enum Condition {
    /// The item must not exist: a new window, alert, delivery or unit marker.
    Absent,
    /// The window must still be at the version read.
    Version(u64),
}

impl DynamoAlertStore {
    /// Applies the batch in chunks of at most 100 items, each one transaction. With `unit`,
    /// each chunk also writes a marker naming its groups, so a redelivered unit (or a retry
    /// after a chunk failed) applies only the groups no marker covers.
    async fn record_batch(
        &mut self,
        unit: Option<&str>,
        results: &[RuleResult],
        now: Timestamp,
    ) -> Result<RecordOutcome, StoreError> {
        let grouped = grouping::group_batch(results)?;
        refuse_shared_state_keys(&grouped.groups)?;
        let groups = &grouped.groups;
        let mut windows: Vec<Option<WindowOutcome>> = vec![None; groups.len()];
        let mut created = Vec::new();
        // Windows read and not yet written by this call: still valid to condition on.
        let mut known: HashMap<usize, Option<StoredWindow>> = HashMap::new();
        let mut read_markers = true;
        let mut conflicts_in_a_row = 0;
        loop {
            if let (Some(unit), true) = (unit, read_markers) {
                self.read_applied(unit, &mut windows).await?;
                read_markers = false;
            }
            let pending: Vec<usize> = (0..groups.len())
                .filter(|&i| windows[i].is_none())
                .collect();
            if pending.is_empty() {
                break;
            }
            match self
                .commit_chunk(unit, groups, &pending, now, &mut known)
                .await?
            {
                Chunk::Committed(applied) => {
                    conflicts_in_a_row = 0;
                    for (i, outcome, alert) in applied {
                        known.remove(&i);
                        windows[i] = Some(outcome);
                        created.extend(alert);
                    }
                }
                Chunk::Conflict => {
                    self.conflicts += 1;
                    conflicts_in_a_row += 1;
                    if conflicts_in_a_row >= self.max_attempts {
                        return Err(StoreError::Contention {
                            table: self.table.clone(),
                            operation: format!("recording a batch of {} groups", groups.len()),
                            attempts: conflicts_in_a_row,
                        });
                    }
                    known.clear();
                    // A worker applying the same unit may have covered groups meanwhile.
                    read_markers = true;
                    tokio::time::sleep(backoff(conflicts_in_a_row)).await;
                }
            }
        }
        Ok(RecordOutcome {
            created,
            windows: windows.into_iter().flatten().collect(),
            result_windows: grouped.result_group,
        })
    }

    /// Plans the pending groups in order until the next would overflow the transaction, and
    /// commits them (and the unit's marker for them) in one `TransactWriteItems`.
    async fn commit_chunk(
        &self,
        unit: Option<&str>,
        groups: &[Group<'_>],
        pending: &[usize],
        now: Timestamp,
        known: &mut HashMap<usize, Option<StoredWindow>>,
    ) -> Result<Chunk, StoreError> {
        let candidates = &pending[..pending.len().min(MAX_GROUPS_READ)];
        let unread: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|i| !known.contains_key(i))
            .collect();
        self.read_windows(groups, &unread, known).await?;

        let item_budget = MAX_TRANSACTION_ITEMS - usize::from(unit.is_some());
        let mut writes = Vec::new();
        let mut bytes = 0;
        let mut applied = Vec::new();
        for &i in candidates {
            let stored = known.get(&i).and_then(Option::as_ref);
            let plan = self.plan_group(&groups[i], stored, now).await?;
            let fits = writes.len() + plan.writes.len() <= item_budget
                && bytes + plan.bytes <= MAX_TRANSACTION_BYTES;
            if !fits {
                if applied.is_empty() {
                    return Err(StoreError::Dynamo {
                        table: self.table.clone(),
                        operation: format!(
                            "writing the window of rule {:?} (dedup {:?})",
                            groups[i].first.rule_id, groups[i].first.dedup
                        ),
                        reason: format!(
                            "its {} items ({} bytes) exceed one transaction ({} items, {} bytes)",
                            plan.writes.len(),
                            plan.bytes,
                            item_budget,
                            MAX_TRANSACTION_BYTES
                        ),
                        advice: "route the rule's alerts to fewer destinations, or shrink its \
                                 alert context",
                    });
                }
                break;
            }
            writes.extend(plan.writes);
            bytes += plan.bytes;
            applied.push((i, plan.outcome, plan.created));
        }
        if let Some(unit) = unit {
            let outcomes: Vec<&WindowOutcome> = applied.iter().map(|(_, w, _)| w).collect();
            let mut marker = item::key(item::unit_pk(unit), &item::chunk_sk(applied[0].0));
            marker.insert(
                "groups".into(),
                AttributeValue::L(applied.iter().map(|(i, _, _)| item::n(*i)).collect()),
            );
            marker.insert(
                "windows".into(),
                item::encode(
                    &self.label,
                    || format!("the outcome of unit {unit}"),
                    &outcomes,
                )?,
            );
            writes.push(self.put(marker, Some(Condition::Absent))?);
        }
        let operation = format!("committing {} windows", applied.len());
        Ok(if self.transact(&operation, writes).await? {
            Chunk::Committed(applied)
        } else {
            Chunk::Conflict
        })
    }

    /// Advances one group's window in memory and lists the writes that persist it.
    async fn plan_group(
        &self,
        group: &Group<'_>,
        stored: Option<&StoredWindow>,
        now: Timestamp,
    ) -> Result<Planned, StoreError> {
        let prior = stored.map(|w| w.state.clone());
        // A window that closed below its threshold leaves a header and samples no alert will
        // ever read; they go in the transaction that replaces the window.
        let abandoned = prior
            .as_ref()
            .filter(|p| p.created_at.is_none())
            .map(|p| (p.alert_id.clone(), p.sample_count));
        let (state, advance) = grouping::advance(prior, group, now);
        let id = state.alert_id.clone();
        let mut items: Vec<(Item, Option<Condition>)> = Vec::new();
        let mut deletes = Vec::new();
        let mut updates = Vec::new();

        let (version, condition) = match stored {
            Some(w) => (w.version + 1, Condition::Version(w.version)),
            None => (1, Condition::Absent),
        };
        items.push((
            item::window_item(
                &group.state_key,
                &group.first.rule_id,
                &group.dedup_key,
                &state,
                version,
            ),
            Some(condition),
        ));
        let header = if advance.opened {
            if let Some((old, samples)) = abandoned {
                deletes.push(item::key(item::alert_pk(&old), "H"));
                deletes.extend(
                    (0..samples).map(|seq| item::key(item::alert_pk(&old), &item::sample_sk(seq))),
                );
            }
            let header = Header::from_result(group.first);
            items.push((item::header_item(&self.label, &id, &header)?, None));
            Some(header)
        } else {
            None
        };
        let taken = &group.samples[..advance.samples_taken];
        let first_seq = state.sample_count - taken.len() as u64;
        for (seq, event) in (first_seq..).zip(taken) {
            items.push((item::sample_item(&self.label, &id, seq, event)?, None));
        }

        let mut created = None;
        match advance.step {
            Step::Pending => {}
            Step::Created => {
                let header = match header {
                    Some(header) => header,
                    None => self.read_header(&id).await?,
                };
                let mut samples = self.read_samples(&id, first_seq).await?;
                samples.extend(taken.iter().map(|v| (*v).clone()));
                let alert = grouping::new_alert(group, &state, header, samples);
                items.push((
                    item::alert_item(&summary(&alert), &alert.log_types),
                    Some(Condition::Absent),
                ));
                for destination in self.routes.destinations_for(&alert) {
                    let delivery = Delivery {
                        delivery_id: delivery_id(&alert.alert_id, destination),
                        alert_id: alert.alert_id.clone(),
                        destination_id: destination.to_owned(),
                        state: DeliveryState::Pending,
                        enqueued_at: now,
                        next_attempt: now,
                        attempts: 0,
                        requeued_at: 0,
                        last_error: None,
                        finished_at: None,
                    };
                    items.push((item::delivery_item(&delivery), Some(Condition::Absent)));
                }
                created = Some(alert);
            }
            Step::Updated => updates.push(self.update_counts(&state)?),
        }

        let mut bytes = 0;
        let mut writes = Vec::with_capacity(items.len() + deletes.len() + updates.len());
        for (item, condition) in items {
            bytes += item::item_size(&item);
            writes.push(self.put(item, condition)?);
        }
        for key in deletes {
            bytes += item::item_size(&key);
            writes.push(self.delete(key)?);
        }
        for (update, size) in updates {
            bytes += size;
            writes.push(update);
        }
        Ok(Planned {
            writes,
            bytes,
            outcome: grouping::window_outcome(group, state, advance.step),
            created,
        })
    }

    /// Moves an existing alert's counters forward.
    fn update_counts(&self, state: &WindowState) -> Result<(TransactWriteItem, usize), StoreError> {
        let key = item::key(item::alert_pk(&state.alert_id), "A");
        let values = HashMap::from([
            (":u".to_owned(), item::n(state.update_time.0)),
            (":e".to_owned(), item::n(state.event_count)),
            (":l".to_owned(), item::strings(&state.log_types)),
        ]);
        let size = item::item_size(&key) + item::item_size(&values);
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET update_time = :u, event_count = :e, log_types = :l")
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| self.build_error(e))?;
        Ok((TransactWriteItem::builder().update(update).build(), size))
    }

    fn put(
        &self,
        item: Item,
        condition: Option<Condition>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        put = match condition {
            None => put,
            Some(Condition::Absent) => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", item::PK),
            Some(Condition::Version(version)) => put
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", item::VERSION)
                .expression_attribute_values(":v", item::n(version)),
        };
        let put = put.build().map_err(|e| self.build_error(e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete(&self, key: Item) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .build()
            .map_err(|e| self.build_error(e))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Sends one transaction: `Ok(false)` when DynamoDB cancelled it because a condition no
    /// longer held or another transaction held an item, which a re-read and retry resolves.
    async fn transact(
        &self,
        operation: &str,
        writes: Vec<TransactWriteItem>,
    ) -> Result<bool, StoreError> {
        let err = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => return Ok(true),
            Err(err) => err,
        };
        let retryable = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                let codes: Vec<&str> = cancelled
                    .cancellation_reasons()
                    .iter()
                    .filter_map(|r| r.code())
                    .filter(|code| *code != "None")
                    .collect();
                !codes.is_empty()
                    && codes.iter().all(|code| {
                        matches!(
                            *code,
                            "ConditionalCheckFailed"
                                | "TransactionConflict"
                                | "ThrottlingError"
                                | "ProvisionedThroughputExceeded"
                        )
                    })
            }
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
            _ => false,
        };
        if retryable {
            Ok(false)
        } else {
            Err(self.error(operation, &err))
        }
    }

    /// Reads the windows of `indices` (strongly consistent) into `known`, refusing a stored
    /// window of another rule or dedup key under the same state key.
    async fn read_windows(
        &self,
        groups: &[Group<'_>],
        indices: &[usize],
        known: &mut HashMap<usize, Option<StoredWindow>>,
    ) -> Result<(), StoreError> {
        if indices.is_empty() {
            return Ok(());
        }
        let keys = indices
            .iter()
            .map(|&i| item::key(item::window_pk(&groups[i].state_key), "W"))
            .collect();
        let mut by_pk: HashMap<String, Item> = HashMap::new();
        for found in self.batch_get("reading windows", keys).await? {
            if let Some(AttributeValue::S(pk)) = found.get(item::PK) {
                by_pk.insert(pk.clone(), found);
            }
        }
        for &i in indices {
            let group = &groups[i];
            let stored = match by_pk.get(&item::window_pk(&group.state_key)) {
                Some(found) => {
                    let what = || format!("window {}", group.state_key);
                    let stored = item::window_from_item(&self.reader(found, &what))?;
                    if stored.rule_id != group.first.rule_id || stored.dedup_key != group.dedup_key
                    {
                        return Err(StoreError::KeyCollision {
                            rule_id: group.first.rule_id.clone(),
                            dedup_key: group.dedup_key.clone(),
                            stored_rule_id: stored.rule_id,
                            stored_dedup_key: stored.dedup_key,
                        });
                    }
                    Some(stored)
                }
                None => None,
            };
            known.insert(i, stored);
        }
        Ok(())
    }

    /// Strongly consistent `BatchGetItem` of `keys` (any number), unprocessed keys retried.
    async fn batch_get(&self, operation: &str, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        const ROUNDS: u32 = 10;
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| self.build_error(e))?,
            );
            let mut round = 0;
            while let Some(keys) = request.take() {
                round += 1;
                if round > ROUNDS {
                    return Err(StoreError::Dynamo {
                        table: self.table.clone(),
                        operation: operation.to_owned(),
                        reason: format!("keys still unprocessed after {ROUNDS} rounds"),
                        advice: "the table is throttled: switch it to on-demand capacity or \
                                 raise its capacity",
                    });
                }
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys)
                    .send()
                    .await
                    .map_err(|e| self.error(operation, &e))?;
                if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                    found.extend(items.iter().cloned());
                }
                request = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
                if request.is_some() {
                    tokio::time::sleep(backoff(round)).await;
                }
            }
        }
        Ok(found)
    }

    async fn read_header(&self, alert_id: &str) -> Result<Header, StoreError> {
        let what = || format!("the header of alert {alert_id}");
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item::key(item::alert_pk(alert_id), "H")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error(what(), &e))?;
        match out.item() {
            Some(found) => item::header_from_item(&self.reader(found, &what)),
            None => Err(StoreError::Corrupt {
                path: self.label.clone(),
                what: what(),
                reason: "missing, though its window is stored".into(),
            }),
        }
    }

    /// The first `count` samples of an alert, in order.
    async fn read_samples(
        &self,
        alert_id: &str,
        count: u64,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let keys = (0..count)
            .map(|seq| item::key(item::alert_pk(alert_id), &item::sample_sk(seq)))
            .collect();
        let mut found = self.batch_get("reading samples", keys).await?;
        found.sort_by(|a, b| {
            a.get(item::SK)
                .and_then(|v| v.as_s().ok())
                .cmp(&b.get(item::SK).and_then(|v| v.as_s().ok()))
        });
        let what = || format!("a sample of alert {alert_id}");
        found
            .iter()
            .map(|sample| self.reader(sample, &what).json("event"))
            .collect()
    }

    /// Fills `windows` with the outcomes of the unit's committed chunks.
    async fn read_applied(
        &self,
        unit: &str,
        windows: &mut [Option<WindowOutcome>],
    ) -> Result<(), StoreError> {
        let markers = self
            .query_partition(
                &item::unit_pk(unit),
                &format!("reading applied unit {unit}"),
            )
            .await?;
        let what = || format!("applied unit {unit}");
        for marker in &markers {
            let r = self.reader(marker, &what);
            let outcomes: Vec<WindowOutcome> = r.json("windows")?;
            let groups = match marker.get("groups") {
                Some(AttributeValue::L(groups)) => groups,
                _ => &Vec::new(),
            };
            if groups.len() != outcomes.len() {
                return Err(StoreError::Corrupt {
                    path: self.label.clone(),
                    what: what(),
                    reason: "its group list and outcomes differ in length".into(),
                });
            }
            let count = windows.len();
            for (group, outcome) in groups.iter().zip(outcomes) {
                let slot = group
                    .as_n()
                    .ok()
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|i| windows.get_mut(i))
                    .ok_or_else(|| StoreError::Corrupt {
                        path: self.label.clone(),
                        what: what(),
                        reason: format!(
                            "it names group {group:?}, but this batch has {} groups: the unit \
                             was recorded with other results",
                            count
                        ),
                    })?;
                *slot = Some(outcome);
            }
        }
        Ok(())
    }

    /// Every item of a partition, in sort key order, strongly consistent.
    async fn query_partition(&self, pk: &str, operation: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", item::PK)
                .expression_attribute_values(":pk", item::s(pk))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.error(operation, &e))?;
            items.extend(out.items().iter().cloned());
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    async fn load_alert(&self, alert_id: &str) -> Result<Option<Alert>, StoreError> {
        let items = self
            .query_partition(
                &item::alert_pk(alert_id),
                &format!("reading alert {alert_id}"),
            )
            .await?;
        let sk = |i: &Item| {
            i.get(item::SK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let Some(counters) = items.iter().find(|i| sk(i) == "A") else {
            return Ok(None);
        };
        let what = || format!("alert {alert_id}");
        let counters = self.reader(counters, &what);
        let summary = item::summary_from_item(&counters)?;
        let header = match items.iter().find(|i| sk(i) == "H") {
            Some(h) => item::header_from_item(&self.reader(h, &what))?,
            None => {
                return Err(StoreError::Corrupt {
                    path: self.label.clone(),
                    what: what(),
                    reason: "its header is missing".into(),
                });
            }
        };
        let samples = items
            .iter()
            .filter(|i| sk(i).starts_with("S#"))
            .map(|i| self.reader(i, &what).json("event"))
            .collect::<Result<_, _>>()?;
        Ok(Some(Alert {
            alert_id: summary.alert_id,
            kind: header.kind,
            rule_id: summary.rule_id,
            dedup: header.dedup,
            title: header.title,
            severity: header.severity,
            context: header.context,
            details: header.details,
            log_types: counters.strings("log_types")?,
            creation_time: summary.creation_time,
            update_time: summary.update_time,
            event_count: summary.event_count,
            samples,
        }))
    }

    async fn query_alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertSummary>, StoreError> {
        if filter.limit == 0 {
            return Ok(Vec::new());
        }
        let mut names = HashMap::from([("#lpk".to_owned(), item::LIST_PK.to_owned())]);
        let mut values = HashMap::from([(":lpk".to_owned(), item::s(item::LIST_PARTITION))]);
        let since = filter.since.map(item::sort_time);
        let before = filter
            .before
            .as_ref()
            .map(|c| format!("{}#{}", item::sort_time(c.creation_time), c.alert_id));
        let range = match (&since, &before) {
            (None, None) => "",
            (Some(_), None) => " AND #lsk >= :since",
            (None, Some(_)) => " AND #lsk < :before",
            // BETWEEN includes the cursor itself, which is dropped below.
            (Some(_), Some(_)) => " AND #lsk BETWEEN :since AND :before",
        };
        if !range.is_empty() {
            names.insert("#lsk".into(), item::LIST_SK.into());
        }
        if let Some(since) = &since {
            values.insert(":since".into(), item::s(since.as_str()));
        }
        if let Some(before) = &before {
            values.insert(":before".into(), item::s(before.as_str()));
        }
        let mut filters = Vec::new();
        if let Some(rule_id) = &filter.rule_id {
            names.insert("#rule".into(), "rule_id".into());
            values.insert(":rule".into(), item::s(rule_id.as_str()));
            filters.push("#rule = :rule");
        }
        if let Some(severity) = filter.min_severity {
            names.insert("#sev".into(), "severity".into());
            values.insert(":sev".into(), item::n(severity.rank()));
            filters.push("#sev >= :sev");
        }
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let remaining = filter.limit - found.len();
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(item::LIST_INDEX)
                .key_condition_expression(format!("#lpk = :lpk{range}"))
                .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(false)
                // `Limit` counts items before the filter: with a filter, read whole pages.
                .set_limit(
                    filters
                        .is_empty()
                        .then(|| i32::try_from(remaining + 1).unwrap_or(i32::MAX)),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.error("listing alerts", &e))?;
            for found_item in out.items() {
                let what = || "a listed alert".to_owned();
                let summary = item::summary_from_item(&self.reader(found_item, &what))?;
                let is_cursor = filter.before.as_ref().is_some_and(|c| {
                    c.alert_id == summary.alert_id && c.creation_time == summary.creation_time
                });
                if !is_cursor && found.len() < filter.limit {
                    found.push(summary);
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() || found.len() >= filter.limit {
                return Ok(found);
            }
        }
    }
}

impl AlertReader for DynamoAlertStore {
    /// Reads the `alerts_newest` index, which DynamoDB updates shortly after each write: an
    /// alert created a moment ago may be missing from the first page.
    fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertSummary>, StoreError> {
        self.handle.block_on(self.query_alerts(filter))
    }

    fn get_alert(&self, alert_id: &str) -> Result<Option<Alert>, StoreError> {
        self.handle.block_on(self.load_alert(alert_id))
    }
}

fn summary(alert: &Alert) -> AlertSummary {
    AlertSummary {
        alert_id: alert.alert_id.clone(),
        kind: alert.kind,
        rule_id: alert.rule_id.clone(),
        dedup: alert.dedup.clone(),
        title: alert.title.clone(),
        severity: alert.severity,
        creation_time: alert.creation_time,
        update_time: alert.update_time,
        event_count: alert.event_count,
    }
}

/// Two groups of one batch under one state key (rule `a:b` with dedup `c`, rule `a` with
/// dedup `b:c`): refused as [`SqliteAlertStore`](crate::SqliteAlertStore) refuses them, and
/// before anything is written, since one transaction cannot write an item twice.
fn refuse_shared_state_keys(groups: &[Group<'_>]) -> Result<(), StoreError> {
    let mut seen: HashMap<&str, &Group<'_>> = HashMap::new();
    for group in groups {
        if let Some(first) = seen.insert(&group.state_key, group) {
            return Err(StoreError::KeyCollision {
                rule_id: group.first.rule_id.clone(),
                dedup_key: group.dedup_key.clone(),
                stored_rule_id: first.first.rule_id.clone(),
                stored_dedup_key: first.dedup_key.clone(),
            });
        }
    }
    Ok(())
}

/// Exponential backoff with full jitter, 10 ms doubling up to 1 s: workers that collided
/// spread out instead of colliding again.
fn backoff(attempt: u32) -> Duration {
    let cap_ms = 10u64.saturating_mul(1 << attempt.min(7)).min(1_000);
    let random = RandomState::new().hash_one(attempt);
    Duration::from_millis(random % (cap_ms + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        for attempt in 0..20 {
            assert!(backoff(attempt) <= Duration::from_millis(1_000));
        }
        let total: Duration = (0..200).map(|_| backoff(1)).sum();
        assert!(total <= Duration::from_millis(200 * 20), "{total:?}");
    }
}
