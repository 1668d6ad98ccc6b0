//! Buffered, exactly-once writes into the lake's Delta tables.
//!
//! Owns the commit protocol. Rows are buffered per table; a commit writes each table in one
//! Delta transaction whose commit metadata names the *units* (source objects, or chunks of
//! one) it contains, then records completely ingested objects in the ledger table
//! `bucketwatch.ingested_objects`. A restarted writer reads both back, so after a crash at
//! any point:
//! - an object in the ledger is skipped as a whole (ingesting it again adds nothing);
//! - an object processed again has its rows dropped from every table that already committed
//!   them, so each row lands exactly once, with no second database to keep in step.
//!
//! Delta has no multi-table transaction; this protocol needs none. Must not parse, detect or
//! decide what a unit is: callers name units.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use bucketwatch_core::{LogType, Timestamp};
use deltalake::arrow::array::{Array, AsArray};
use deltalake::arrow::array::{Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use deltalake::arrow::datatypes::Date32Type;
use deltalake::arrow::datatypes::{DataType, Field, Schema};
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::kernel::scalars::ScalarExt;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Version};
use deltalake::operations::write::SchemaMode;
use deltalake::parquet::basic::Compression;
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::protocol::DeltaOperation;
use deltalake::protocol::SaveMode;
use deltalake::writer::{DeltaWriter, RecordBatchWriter, WriteMode};
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use futures::TryStreamExt;
use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::LakeError;
use crate::cluster::cluster;
use crate::columns::{
    BatchBuilder, BatchSizes, ColumnKind, NotAnObject, PARTITION_COLUMN, RuleColumns,
    cloudsecurity_columns, declared_columns,
};
use crate::table::{Database, LakeLocation, TableId};

/// The commit-metadata key listing a commit's units.
pub const UNITS_KEY: &str = "bucketwatch.units";

/// Commits between Delta checkpoints, set on every table the writer creates. Every reader
/// (a query, Athena, DuckDB) replays the log since the last checkpoint, about 0.2 ms per
/// commit for `bucketwatch query`; delta-rs's default of 100 made a query of a freshly
/// ingested table spend more time in the log than in some one-day scans.
const CHECKPOINT_INTERVAL_KEY: &str = "delta.checkpointInterval";
const CHECKPOINT_INTERVAL: &str = "10";

/// A lake: its location and how to reach it.
#[derive(Debug, Clone)]
pub struct Lake {
    location: LakeLocation,
    storage_options: HashMap<String, String>,
}

impl Lake {
    /// Opens the lake at `location` (a directory, `file://` or `s3://bucket/prefix`). S3
    /// credentials, region and endpoint (`AWS_ENDPOINT_URL`) come from the environment.
    pub fn open(location: &str) -> Result<Lake, LakeError> {
        let location = LakeLocation::parse(location)?;
        let mut storage_options = HashMap::new();
        if !location.is_local() {
            storage_options.extend(bucketwatch_collect::s3::endpoint_options());
            // Conditional PUT (If-None-Match) keeps several writers from overwriting each
            // other's commits without an external lock table.
            storage_options.insert("AWS_CONDITIONAL_PUT".into(), "etag".into());
            storage_options.insert("AWS_S3_ALLOW_UNSAFE_RENAME".into(), "true".into());
        }
        Ok(Lake {
            location,
            storage_options,
        })
    }

    pub fn location(&self) -> &LakeLocation {
        &self.location
    }

    /// The table, loaded at its latest version; `None` when it has never been written.
    pub async fn table(&self, id: &TableId) -> Result<Option<DeltaTable>, LakeError> {
        let Some(mut table) = self.table_handle(id).await? else {
            return Ok(None);
        };
        match table.load().await {
            Ok(()) => Ok(Some(table)),
            Err(DeltaTableError::NotATable(_)) => Ok(None),
            Err(e) => Err(LakeError::delta(id, "loading", e)),
        }
    }

    /// The table without its log read: for readers that replay the log their own way (a
    /// query's scan lists only the files its filters keep). `None` when it has never been
    /// written.
    pub async fn table_handle(&self, id: &TableId) -> Result<Option<DeltaTable>, LakeError> {
        let url = self.location.table_url(id);
        let table = DeltaTableBuilder::from_url(url)
            .map_err(|e| LakeError::delta(id, "opening", e))?
            .with_storage_options(self.storage_options.clone())
            .build()
            .map_err(|e| LakeError::delta(id, "opening", e))?;
        let exists = table
            .verify_deltatable_existence()
            .await
            .map_err(|e| LakeError::delta(id, "looking for", e))?;
        Ok(exists.then_some(table))
    }

    /// Every table that exists, data tables first. On S3, where listing prefixes is not
    /// assumed, the names bucketwatch writes are probed, all at once; no log is read.
    pub async fn tables(&self) -> Result<Vec<TableId>, LakeError> {
        if self.location.is_local() {
            return Ok(self.location.local_tables());
        }
        let names = Database::DATA
            .into_iter()
            .flat_map(|database| {
                LogType::ALL
                    .into_iter()
                    .map(move |log_type| TableId::for_log_type(database, log_type))
            })
            .chain([
                TableId::ledger(),
                TableId::resources(),
                TableId::compliance(),
            ]);
        let probes = names.map(|id| async move {
            let exists = self.table_handle(&id).await?.is_some();
            Ok::<_, LakeError>(exists.then_some(id))
        });
        let found = futures::future::try_join_all(probes).await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// The units named in the commit metadata of every commit of `table` still in its log.
    pub async fn committed_units(&self, table: &DeltaTable) -> Result<HashSet<String>, LakeError> {
        self.units_of(table, None).await
    }

    /// The units of the latest `commits` commits of `table` (all still in its log if `None`).
    async fn units_of(
        &self,
        table: &DeltaTable,
        commits: Option<usize>,
    ) -> Result<HashSet<String>, LakeError> {
        let mut units = HashSet::new();
        let infos: Vec<_> =
            table
                .history(commits)
                .try_collect()
                .await
                .map_err(|e| LakeError::Delta {
                    table: table.table_url().to_string(),
                    action: "reading the commit history",
                    source: Box::new(e),
                })?;
        for info in infos {
            if let Some(Value::Array(list)) = info.info.get(UNITS_KEY) {
                units.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
        Ok(units)
    }

    /// Source objects recorded as completely ingested.
    pub async fn ingested_objects(&self) -> Result<HashSet<String>, LakeError> {
        match self.table(&TableId::ledger()).await? {
            Some(table) => self.committed_units(&table).await,
            None => Ok(HashSet::new()),
        }
    }

    pub(crate) fn storage_options(&self) -> &HashMap<String, String> {
        &self.storage_options
    }
}

/// A completely processed source object, for the ledger.
#[derive(Debug, Clone)]
pub struct FinishedObject {
    /// The object's identity: a URL plus whatever makes its content unique (ETag, size, mtime).
    pub object_id: String,
    /// Records read from it, failures included.
    pub records: u64,
}

/// Rows buffered for one table.
struct Pending {
    builder: BatchBuilder,
    units: BTreeSet<String>,
}

/// What one commit did.
#[derive(Debug, Clone, Default)]
pub struct CommitReport {
    /// Rows written, per table.
    pub rows: BTreeMap<TableId, u64>,
    /// Rows not written because their table had committed their unit before (a replay).
    pub skipped_rows: u64,
    /// Objects added to the ledger.
    pub finished_objects: u64,
    /// How long each commit that wrote something took.
    pub seconds: Vec<f64>,
}

impl CommitReport {
    fn add(&mut self, other: CommitReport) {
        for (table, rows) in other.rows {
            *self.rows.entry(table).or_default() += rows;
        }
        self.skipped_rows += other.skipped_rows;
        self.finished_objects += other.finished_objects;
        self.seconds.extend(other.seconds);
    }
}

/// Buffers rows per table and commits them with their units. One writer per process; several
/// processes may write the same lake (each commit is an optimistic Delta transaction).
pub struct LakeWriter {
    lake: Lake,
    pending: BTreeMap<TableId, Pending>,
    /// Units each table has committed, from its history and this writer's commits.
    committed: HashMap<TableId, HashSet<String>>,
    /// The version of each table whose commits `committed` has read, for [`catch_up`].
    ///
    /// [`catch_up`]: LakeWriter::catch_up
    read_to: HashMap<TableId, Version>,
    finished: Vec<FinishedObject>,
    ingested: HashSet<String>,
    skipped_rows: u64,
    /// The commit running in the background, if any.
    in_flight: Option<tokio::task::JoinHandle<Result<CommitDone, LakeError>>>,
    /// Each table's last batch, to size its next one.
    sizes: HashMap<TableId, BatchSizes>,
}

impl LakeWriter {
    /// Opens a writer, reading back what every existing table has committed.
    pub async fn open(lake: Lake) -> Result<LakeWriter, LakeError> {
        let mut writer = LakeWriter {
            lake,
            pending: BTreeMap::new(),
            committed: HashMap::new(),
            read_to: HashMap::new(),
            finished: Vec::new(),
            ingested: HashSet::new(),
            skipped_rows: 0,
            in_flight: None,
            sizes: HashMap::new(),
        };
        writer.catch_up().await?;
        Ok(writer)
    }

    /// Reads the units of commits made since this writer last looked, by other processes
    /// writing the same lake: an object another worker committed is then skipped here (a
    /// redelivered message adds nothing). Call before each batch when workers share the lake.
    pub async fn catch_up(&mut self) -> Result<(), LakeError> {
        for id in self.lake.tables().await? {
            let Some(table) = self.lake.table(&id).await? else {
                continue;
            };
            let Some(latest) = table.version() else {
                continue;
            };
            let new_commits = match self.read_to.get(&id) {
                Some(&read) if read >= latest => continue,
                Some(&read) => Some((latest - read) as usize),
                None => None,
            };
            let units = self.lake.units_of(&table, new_commits).await?;
            if id == TableId::ledger() {
                self.ingested.extend(units);
            } else {
                self.committed.entry(id.clone()).or_default().extend(units);
            }
            self.read_to.insert(id, latest);
        }
        Ok(())
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// Whether `object_id` is in the ledger: ingesting it again would add nothing.
    pub fn is_ingested(&self, object_id: &str) -> bool {
        self.ingested.contains(object_id)
    }

    /// Buffers a parsed event of `log_type` for `unit`.
    pub fn push_event(&mut self, log_type: LogType, event: &Map<String, Value>, unit: &str) {
        let id = TableId::for_log_type(Database::Logs, log_type);
        if let Some(rows) = self.rows_of(id, declared_columns(log_type), unit) {
            rows.push(event, None);
        }
    }

    /// Buffers the events of one unit, each of its log type and given as the JSON text of an
    /// object (a normalized line), without parsing it into a `Value` first; stops at the first
    /// that is not one object (see [`BatchBuilder::push_json`]: the error names the fault, and
    /// the row keeps the text). The table and the unit are looked up once per run of events of
    /// one log type: per event, those lookups (hashing and comparing the unit's long name)
    /// took about a tenth of the writing thread's time.
    pub fn push_events_json<'a>(
        &mut self,
        unit: &str,
        events: impl IntoIterator<Item = (LogType, &'a [u8])>,
    ) -> Result<(), NotAnObject> {
        let mut events = events.into_iter().peekable();
        while let Some((log_type, first)) = events.next() {
            let mut run = std::iter::once(first).chain(std::iter::from_fn(|| {
                events
                    .next_if(|(t, _)| *t == log_type)
                    .map(|(_, line)| line)
            }));
            let id = TableId::for_log_type(Database::Logs, log_type);
            match self.rows_of(id, declared_columns(log_type), unit) {
                Some(rows) => run.try_for_each(|line| rows.push_json(line, None))?,
                // `rows_of` counted the first.
                None => self.skipped_rows += run.skip(1).count() as u64,
            }
        }
        Ok(())
    }

    /// Buffers a row of a `cloudsecurity` table (a posture scan's resource or policy result)
    /// for `unit`. The row carries `p_event_time`, the scan's time, which partitions it.
    pub fn push_scan_row(&mut self, id: TableId, row: &Map<String, Value>, unit: &str) {
        debug_assert_eq!(id.database, Database::CloudSecurity);
        let declared = cloudsecurity_columns(&id.name);
        if let Some(rows) = self.rows_of(id, declared, unit) {
            rows.push(row, None);
        }
    }

    /// Buffers a rule match (`rule.rule_error` unset) or rule error of `event`, the JSON text of
    /// an object (a normalized line), for `unit`; as [`push_events_json`](Self::push_events_json)
    /// reads it.
    pub fn push_rule_row(
        &mut self,
        log_type: LogType,
        event: &[u8],
        rule: &RuleColumns,
        unit: &str,
    ) -> Result<(), NotAnObject> {
        let database = if rule.rule_error.is_some() {
            Database::RuleErrors
        } else {
            Database::RuleMatches
        };
        let id = TableId::for_log_type(database, log_type);
        match self.rows_of(id, declared_columns(log_type), unit) {
            Some(rows) => rows.push_json(event, Some(rule)),
            None => Ok(()),
        }
    }

    /// The rows buffered for table `id`, to take one more row of `unit`; `None` (and the row
    /// counted as skipped) when the table committed `unit` before.
    fn rows_of(
        &mut self,
        id: TableId,
        declared: &'static [(&'static str, ColumnKind)],
        unit: &str,
    ) -> Option<&mut BatchBuilder> {
        if self.committed.get(&id).is_some_and(|u| u.contains(unit)) {
            self.skipped_rows += 1;
            return None;
        }
        let sizes = &self.sizes;
        let pending = self.pending.entry(id).or_insert_with_key(|id| {
            let builder = BatchBuilder::new(
                declared,
                matches!(id.database, Database::RuleMatches | Database::RuleErrors),
            );
            Pending {
                builder: match sizes.get(id) {
                    Some(last) => builder.with_sizes(last),
                    None => builder,
                },
                units: BTreeSet::new(),
            }
        });
        if !pending.units.contains(unit) {
            pending.units.insert(unit.to_string());
        }
        Some(&mut pending.builder)
    }

    /// Marks an object finished: the next commit adds it to the ledger after its rows.
    pub fn finish_object(&mut self, object: FinishedObject) {
        self.finished.push(object);
    }

    /// Rows buffered and not yet committed.
    pub fn buffered_rows(&self) -> usize {
        self.pending.values().map(|p| p.builder.rows()).sum()
    }

    /// Commits every buffered table, then the ledger, after any commit still running in the
    /// background. On error nothing is lost that was not committed before: the caller processes
    /// the same units again and committed tables skip them.
    pub async fn commit(&mut self) -> Result<CommitReport, LakeError> {
        let mut report = self.finish_background().await?;
        let done = self.take_commit().run().await?;
        report.add(self.apply(done));
        Ok(report)
    }

    /// Starts committing what is buffered on `runtime` and returns at once, so the caller can
    /// go on parsing while Parquet is encoded. Commits stay in order: this first waits for the
    /// previous background commit and returns its report. [`commit`](Self::commit) waits for
    /// the last one.
    ///
    /// Until a background commit ends, its units are not yet known as committed: pushing a
    /// unit again in that time (the same object twice in one run) would write it twice, so
    /// callers must not.
    pub fn commit_in_background(
        &mut self,
        runtime: &tokio::runtime::Handle,
    ) -> Result<CommitReport, LakeError> {
        let report = runtime.block_on(self.finish_background())?;
        let commit = self.take_commit();
        self.in_flight = Some(runtime.spawn(commit.run()));
        Ok(report)
    }

    /// Waits for the background commit, if any, and records what it committed. A caller that
    /// gives up on its buffered rows after an error must still wait: a writer opened afterwards
    /// would otherwise not see that commit's units.
    pub async fn finish_background(&mut self) -> Result<CommitReport, LakeError> {
        let Some(handle) = self.in_flight.take() else {
            return Ok(CommitReport::default());
        };
        let done = handle
            .await
            .map_err(|e| LakeError::Background(e.to_string()))??;
        Ok(self.apply(done))
    }

    fn take_commit(&mut self) -> PendingCommit {
        for (id, p) in &self.pending {
            self.sizes.insert(id.clone(), p.builder.sizes());
        }
        PendingCommit {
            lake: self.lake.clone(),
            pending: std::mem::take(&mut self.pending),
            finished: std::mem::take(&mut self.finished),
            skipped_rows: std::mem::take(&mut self.skipped_rows),
        }
    }

    /// Makes a finished commit's units and objects known to this writer.
    fn apply(&mut self, done: CommitDone) -> CommitReport {
        for (id, units) in done.units {
            self.committed.entry(id).or_default().extend(units);
        }
        self.ingested.extend(done.objects);
        done.report
    }
}

/// What one commit takes from the writer: it runs without the writer, so it can run in the
/// background while the writer buffers the next rows.
struct PendingCommit {
    lake: Lake,
    pending: BTreeMap<TableId, Pending>,
    finished: Vec<FinishedObject>,
    skipped_rows: u64,
}

/// A commit that succeeded: its report, and the units and objects the writer must now know.
struct CommitDone {
    report: CommitReport,
    units: Vec<(TableId, Vec<String>)>,
    objects: Vec<String>,
}

impl PendingCommit {
    async fn run(self) -> Result<CommitDone, LakeError> {
        let started = std::time::Instant::now();
        let mut done = CommitDone {
            report: CommitReport {
                skipped_rows: self.skipped_rows,
                ..CommitReport::default()
            },
            units: Vec::new(),
            objects: Vec::new(),
        };
        // Logs first, then rule tables: a reader never sees a match whose event is missing.
        for (id, mut p) in self.pending {
            if p.builder.rows() == 0 {
                continue;
            }
            let table = self.lake.table(&id).await?;
            let batch = commit_batch(&id, &mut p.builder, table.as_ref())?;
            let rows = batch.num_rows() as u64;
            let units: Vec<String> = p.units.into_iter().collect();
            write(&self.lake, &id, table, batch, &units).await?;
            done.report.rows.insert(id.clone(), rows);
            done.units.push((id, units));
        }
        if !self.finished.is_empty() {
            let batch = ledger_batch(&self.finished)?;
            let objects: Vec<String> = self.finished.into_iter().map(|f| f.object_id).collect();
            let id = TableId::ledger();
            let table = self.lake.table(&id).await?;
            write(&self.lake, &id, table, batch, &objects).await?;
            done.report.finished_objects = objects.len() as u64;
            done.objects = objects;
        }
        if !done.report.rows.is_empty() || done.report.finished_objects > 0 {
            done.report.seconds.push(started.elapsed().as_secs_f64());
        }
        Ok(done)
    }
}

/// The rows buffered in `builder` for table `id`, as a commit writes them: in the table's
/// schema when it exists (its columns' order and types), clustered.
fn commit_batch(
    id: &TableId,
    builder: &mut BatchBuilder,
    table: Option<&DeltaTable>,
) -> Result<RecordBatch, LakeError> {
    if let Some(table) = table {
        let schema = table
            .snapshot()
            .map_err(|e| LakeError::delta(id, "reading the schema", e))?
            .snapshot()
            .arrow_schema();
        builder.adopt_schema(&schema);
    }
    let arrow = |source| LakeError::Arrow {
        table: id.to_string(),
        source,
    };
    cluster(id, builder.finish().map_err(arrow)?).map_err(arrow)
}

/// Rows per Parquet row group at most. DataFusion splits a scan by row group, so a day's file
/// of several groups is read on every core; with Parquet's default (about a million rows) each
/// file was one group and a one-day query ran on one core. DuckDB writes 122,880.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// How every data file of the lake is written (ingest and compaction alike): delta-rs's
/// defaults (Snappy), with smaller row groups.
pub(crate) fn parquet_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build()
}

async fn write(
    lake: &Lake,
    id: &TableId,
    table: Option<DeltaTable>,
    batch: RecordBatch,
    units: &[String],
) -> Result<(), LakeError> {
    let metadata = [(UNITS_KEY.to_string(), Value::from(units.to_vec()))];
    let table = match table {
        Some(t) => match append_runs(id, &t, &batch, &metadata).await? {
            Appended::Done => return Ok(()),
            Appended::NotHere => t,
        },
        None => DeltaTableBuilder::from_url(lake.location.table_url(id))
            .map_err(|e| LakeError::delta(id, "creating", e))?
            .with_storage_options(lake.storage_options().clone())
            .build()
            .map_err(|e| LakeError::delta(id, "creating", e))?,
    };
    let partitions = if id.database == Database::System {
        Vec::new()
    } else {
        vec![PARTITION_COLUMN.to_string()]
    };
    table
        .write(vec![batch])
        .with_save_mode(SaveMode::Append)
        .with_schema_mode(SchemaMode::Merge)
        .with_partition_columns(partitions)
        .with_writer_properties(parquet_properties())
        .with_configuration([(CHECKPOINT_INTERVAL_KEY, Some(CHECKPOINT_INTERVAL))])
        .with_commit_properties(CommitProperties::default().with_metadata(metadata))
        .await
        .map_err(|e| LakeError::delta(id, "committing rows to", e))?;
    Ok(())
}

/// Whether [`append_runs`] wrote the batch.
enum Appended {
    Done,
    /// The batch needs delta-rs's write operation: its schema differs from the table's (the
    /// commit merges schemas), or a partition's rows are not one run.
    NotHere,
}

/// Appends `batch` to an existing table in one commit, each partition's rows a zero-copy
/// slice. delta-rs's write operation would copy every column to split the batch by partition
/// (a `take` per partition): after [`cluster`]'s sort, a second copy of the commit's rows, and
/// a quarter of ingest's page faults. [`cluster`] leaves each day one run, so slices suffice.
async fn append_runs(
    id: &TableId,
    table: &DeltaTable,
    batch: &RecordBatch,
    metadata: &[(String, Value)],
) -> Result<Appended, LakeError> {
    let delta = |action, e| LakeError::delta(id, action, e);
    let snapshot = table
        .snapshot()
        .map_err(|e| delta("reading the schema", e))?;
    let partition_columns = snapshot.metadata().partition_columns().to_vec();
    let mut writer = RecordBatchWriter::for_table(table)
        .map_err(|e| delta("writing", e))?
        .with_writer_properties(parquet_properties());
    if batch.schema() != writer.arrow_schema() {
        return Ok(Appended::NotHere);
    }
    let Some(runs) = partition_runs(batch, &partition_columns) else {
        return Ok(Appended::NotHere);
    };
    for (start, len) in runs {
        let slice = batch.slice(start, len);
        let values = partition_columns
            .iter()
            .map(|name| {
                let column = slice
                    .column_by_name(name)
                    .expect("checked by partition_runs");
                let value = ScalarExt::from_array(column.as_ref(), 0)
                    .expect("partition_runs found a Date32 value here");
                (name.clone(), value)
            })
            .collect::<IndexMap<_, _>>();
        writer
            .write_partition(slice, &values, WriteMode::Default)
            .await
            .map_err(|e| delta("writing", e))?;
    }
    let adds = writer.flush().await.map_err(|e| delta("writing", e))?;
    let operation = DeltaOperation::Write {
        mode: SaveMode::Append,
        partition_by: (!partition_columns.is_empty()).then_some(partition_columns),
        predicate: None,
    };
    CommitBuilder::from(CommitProperties::default().with_metadata(metadata.iter().cloned()))
        .with_actions(adds.into_iter().map(Action::Add).collect())
        .build(Some(snapshot), table.log_store(), operation)
        .await
        .map_err(|e| delta("committing rows to", e))?;
    Ok(Appended::Done)
}

/// Each partition's rows as `(offset, length)`, when every partition is one run of rows with
/// no null value; the whole batch when the table is not partitioned.
fn partition_runs(
    batch: &RecordBatch,
    partition_columns: &[String],
) -> Option<Vec<(usize, usize)>> {
    let rows = batch.num_rows();
    let [name] = partition_columns else {
        return partition_columns.is_empty().then(|| vec![(0, rows)]);
    };
    let days = batch
        .column_by_name(name)?
        .as_primitive_opt::<Date32Type>()?;
    if days.null_count() > 0 {
        return None;
    }
    let values = days.values();
    let mut runs = Vec::new();
    let mut seen = HashSet::new();
    let mut start = 0;
    for i in 1..=rows {
        if i == rows || values[i] != values[start] {
            if !seen.insert(values[start]) {
                return None;
            }
            runs.push((start, i - start));
            start = i;
        }
    }
    Some(runs)
}

fn ledger_batch(finished: &[FinishedObject]) -> Result<RecordBatch, LakeError> {
    let mut object = StringBuilder::new();
    let mut records = Int64Builder::new();
    let mut time = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let now = Timestamp::now().0 / 1000;
    for f in finished {
        object.append_value(&f.object_id);
        records.append_value(f.records as i64);
        time.append_value(now);
    }
    let schema = Schema::new(vec![
        Field::new("object_id", DataType::Utf8, false),
        Field::new("records", DataType::Int64, false),
        Field::new(
            "committed_at",
            crate::columns::ColumnKind::Time.data_type(),
            false,
        ),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(object.finish()),
            Arc::new(records.finish()),
            Arc::new(time.finish()),
        ],
    )
    .map_err(|e| LakeError::Arrow {
        table: TableId::ledger().to_string(),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_tables_next_batch_is_sized_like_its_last() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let mut writer = LakeWriter::open(lake).await.unwrap();
        let line = |i: usize| {
            format!(r#"{{"bucket":"b","key":"k{i}","p_event_time":"2026-03-14 10:00:01Z"}}"#)
        };
        // More rows than an unsized builder starts with (1,024).
        for i in 0..3000 {
            writer
                .push_events_json("u1", [(LogType::S3ServerAccess, line(i).as_bytes())])
                .unwrap();
        }
        writer.commit().await.unwrap();
        writer
            .push_events_json("u2", [(LogType::S3ServerAccess, line(0).as_bytes())])
            .unwrap();
        let id = TableId::for_log_type(Database::Logs, LogType::S3ServerAccess);
        assert!(writer.pending[&id].builder.reserved_rows() >= 3000);
        assert_eq!(writer.buffered_rows(), 1);
    }

    #[tokio::test]
    async fn a_units_events_go_to_their_log_types_tables_once() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let s3 = r#"{"bucket":"b","p_event_time":"2026-03-14 10:00:01Z"}"#.as_bytes();
        let trail = r#"{"eventName":"PutObject","p_event_time":"2026-03-14 10:00:02Z"}"#.as_bytes();
        let events = [
            (LogType::S3ServerAccess, s3),
            (LogType::S3ServerAccess, s3),
            (LogType::CloudTrail, trail),
            (LogType::S3ServerAccess, s3),
        ];
        let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
        writer.push_events_json("u1", events).unwrap();
        let s3_table = TableId::for_log_type(Database::Logs, LogType::S3ServerAccess);
        let trail_table = TableId::for_log_type(Database::Logs, LogType::CloudTrail);
        assert_eq!(writer.pending[&s3_table].builder.rows(), 3);
        assert_eq!(writer.pending[&trail_table].builder.rows(), 1);
        let report = writer.commit().await.unwrap();
        assert_eq!(report.rows[&s3_table], 3);
        assert_eq!(report.rows[&trail_table], 1);

        // A replay of the unit, by a new writer: every event skipped, and counted.
        let mut writer = LakeWriter::open(lake).await.unwrap();
        writer.push_events_json("u1", events).unwrap();
        assert_eq!(writer.buffered_rows(), 0);
        assert_eq!(writer.commit().await.unwrap().skipped_rows, 4);

        let not_an_object = [(LogType::S3ServerAccess, "[1]".as_bytes())];
        assert!(writer.push_events_json("u2", not_an_object).is_err());
    }

    /// A table checkpoints every tenth commit, and the checkpoint loses neither files nor the
    /// units each commit recorded.
    #[tokio::test]
    async fn tables_checkpoint_every_ten_commits() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
        let line = r#"{"bucket":"b","p_event_time":"2026-03-14 10:00:01Z"}"#.as_bytes();
        for i in 0..12 {
            let unit = format!("u{i}");
            writer
                .push_events_json(&unit, [(LogType::S3ServerAccess, line)])
                .unwrap();
            writer.commit().await.unwrap();
        }
        let id = TableId::for_log_type(Database::Logs, LogType::S3ServerAccess);
        let table_dir = lake.location().table_url(&id).to_file_path().unwrap();
        let log = table_dir.join("_delta_log");
        let checkpoints: Vec<String> = std::fs::read_dir(&log)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains(".checkpoint."))
            .collect();
        // The tenth commit is version 9.
        assert_eq!(checkpoints, ["00000000000000000009.checkpoint.parquet"]);
        let table = lake.table(&id).await.unwrap().unwrap();
        assert_eq!(table.version(), Some(11));
        assert_eq!(table.get_file_uris().unwrap().count(), 12);
        let units = lake.committed_units(&table).await.unwrap();
        assert_eq!(units, (0..12).map(|i| format!("u{i}")).collect());
    }

    fn days(values: &[Option<i32>]) -> RecordBatch {
        let field = Field::new(PARTITION_COLUMN, DataType::Date32, true);
        let column = deltalake::arrow::array::Date32Array::from(values.to_vec());
        RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![Arc::new(column)]).unwrap()
    }

    #[test]
    fn partitions_are_runs_only_when_each_day_is_contiguous() {
        let partitioned = [PARTITION_COLUMN.to_string()];
        let runs = |v: &[Option<i32>]| partition_runs(&days(v), &partitioned);
        assert_eq!(
            runs(&[Some(1), Some(1), Some(2), Some(3), Some(3), Some(3)]),
            Some(vec![(0, 2), (2, 1), (3, 3)])
        );
        assert_eq!(runs(&[Some(1), Some(2), Some(1)]), None);
        assert_eq!(runs(&[Some(1), None]), None);
        assert_eq!(
            partition_runs(&days(&[Some(1), Some(2), Some(1)]), &[]),
            Some(vec![(0, 3)])
        );
    }

    /// The rows `writer` buffers for `id`, as a commit would write them.
    fn pending_batch(writer: &mut LakeWriter, id: &TableId, table: &DeltaTable) -> RecordBatch {
        let mut pending = writer.pending.remove(id).unwrap();
        commit_batch(id, &mut pending.builder, Some(table)).unwrap()
    }

    #[tokio::test]
    async fn a_commit_to_an_existing_table_writes_each_day_as_a_slice() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
        let line = |day: usize, i: usize| {
            format!(r#"{{"bucket":"b","key":"k{i}","p_event_time":"2026-03-{day} 10:00:01Z"}}"#)
        };
        writer
            .push_events_json("u1", [(LogType::S3ServerAccess, line(14, 0).as_bytes())])
            .unwrap();
        writer.commit().await.unwrap();
        // Three days, interleaved as they arrive: the clustering sort makes each one run.
        for i in 0..30 {
            writer
                .push_events_json(
                    "u2",
                    [(LogType::S3ServerAccess, line(14 + i % 3, i).as_bytes())],
                )
                .unwrap();
        }
        let id = TableId::for_log_type(Database::Logs, LogType::S3ServerAccess);
        let table = lake.table(&id).await.unwrap().unwrap();
        let batch = pending_batch(&mut writer, &id, &table);
        let metadata = [(UNITS_KEY.to_string(), json!(["u2"]))];
        let appended = append_runs(&id, &table, &batch, &metadata).await.unwrap();
        assert!(matches!(appended, Appended::Done));

        let table = lake.table(&id).await.unwrap().unwrap();
        assert_eq!(table.version(), Some(1));
        let units = lake.committed_units(&table).await.unwrap();
        assert_eq!(units, HashSet::from(["u1".to_string(), "u2".to_string()]));
        let files: Vec<String> = table.get_file_uris().unwrap().collect();
        assert_eq!(files.len(), 4, "one file per day and commit: {files:?}");
        let engine = crate::QueryEngine::open(&lake).await.unwrap();
        let result = engine
            .query("SELECT CAST(p_event_date AS VARCHAR), count(*) FROM logs.aws_s3serveraccess GROUP BY 1 ORDER BY 1")
            .await
            .unwrap();
        let batch = &result.batches[0];
        let day = deltalake::arrow::compute::cast(batch.column(0), &DataType::Utf8).unwrap();
        let rows: Vec<(String, i64)> = (0..batch.num_rows())
            .map(|i| {
                (
                    day.as_string::<i32>().value(i).to_string(),
                    batch
                        .column(1)
                        .as_primitive::<deltalake::arrow::datatypes::Int64Type>()
                        .value(i),
                )
            })
            .collect();
        let expected = [("2026-03-14", 11), ("2026-03-15", 10), ("2026-03-16", 10)];
        let expected: Vec<(String, i64)> = expected.map(|(d, n)| (d.to_string(), n)).into();
        assert_eq!(rows, expected);
    }

    #[tokio::test]
    async fn a_batch_with_a_new_column_is_left_to_the_write_operation() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
        let event = r#"{"bucket":"b","p_event_time":"2026-03-14 10:00:01Z"}"#;
        writer
            .push_events_json("u1", [(LogType::S3ServerAccess, event.as_bytes())])
            .unwrap();
        writer.commit().await.unwrap();
        let event = r#"{"bucket":"b","newAwsField":"v","p_event_time":"2026-03-14 10:00:02Z"}"#;
        writer
            .push_events_json("u2", [(LogType::S3ServerAccess, event.as_bytes())])
            .unwrap();
        let id = TableId::for_log_type(Database::Logs, LogType::S3ServerAccess);
        let table = lake.table(&id).await.unwrap().unwrap();
        let batch = pending_batch(&mut writer, &id, &table);
        let appended = append_runs(&id, &table, &batch, &[]).await.unwrap();
        assert!(matches!(appended, Appended::NotHere));
        let table = lake.table(&id).await.unwrap().unwrap();
        assert_eq!(table.version(), Some(0), "nothing was committed");
    }
}
