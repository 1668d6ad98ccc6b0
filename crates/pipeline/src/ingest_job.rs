//! `bucketwatch ingest`: source objects → parse → detect → alert store → lake, exactly once.
//!
//! The order of effects is what makes a crash at any moment harmless:
//! 1. parse and detect one chunk of an object (a unit, named `<object id>#<chunk>`);
//! 2. record the chunk's rule results in the alert store, at most once per unit
//!    ([`AlertStore::record_unit`]), which also gives the rule-match rows their alert ids;
//! 3. buffer the chunk's rows; commit the lake when enough rows are buffered, and finished
//!    objects into the ledger after their rows.
//!
//! Run again after a crash, an object in the ledger is skipped; any other object is processed
//! again, its recorded units add no alert counts, and tables that committed a unit skip its
//! rows. Chunks are cut at fixed record counts, so a unit always holds the same records.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::{Instant, UNIX_EPOCH};

use bucketwatch_alert::{AlertStore, ResultKind, RuleResult, SampleSieve, StoreError};
use bucketwatch_collect::{Input, S3Object, S3Prefix, decoded_reader};
use bucketwatch_core::{LogType, SourceInfo, Timestamp};
use bucketwatch_detect::{Detection, Engine};
use bucketwatch_lake::writer::FinishedObject;
use bucketwatch_lake::{CommitReport, LakeError, LakeWriter, RuleColumns, TableId};
use bucketwatch_parse::{Counts, Framer, Normalizer};
use serde_json::Value;
use tokio::runtime::Runtime;

/// Records per unit. A chunk's events and rule results are held until the chunk is whole, so
/// this bounds what an object holds in memory ahead of the lake's buffers.
pub const DEFAULT_CHUNK_RECORDS: u64 = 10_000;
/// Buffered rows that trigger a lake commit.
pub const DEFAULT_COMMIT_ROWS: usize = 500_000;

/// One thing to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local file; its identity is its absolute path, size and modification time.
    File(PathBuf),
    /// An S3 object; its identity is its URL and ETag.
    S3(S3Object),
    /// Standard input: never the same object twice, so never skipped.
    Stdin,
}

impl Source {
    /// Expands a command-line argument: `-`, a file, a directory (every file below it, in
    /// name order; hidden files skipped) or `s3://bucket/prefix` (every object under it).
    pub fn expand(arg: &str, runtime: &Runtime) -> Result<Vec<Source>, String> {
        if arg == "-" {
            return Ok(vec![Source::Stdin]);
        }
        if arg.starts_with("s3://") {
            let prefix = S3Prefix::parse(arg).map_err(|e| e.to_string())?;
            let objects = runtime.block_on(prefix.list()).map_err(|e| e.to_string())?;
            return Ok(objects.into_iter().map(Source::S3).collect());
        }
        let path = Path::new(arg);
        if !path.exists() {
            return Err(format!("{arg}: no such file or directory; check the path"));
        }
        if path.is_file() {
            return Ok(vec![Source::File(path.to_path_buf())]);
        }
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
            let entry = entry.map_err(|e| format!("{arg}: {e}"))?;
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if entry.file_type().is_file() && !hidden {
                files.push(Source::File(entry.into_path()));
            }
        }
        Ok(files)
    }

    fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::S3(o) => o.url(),
            Source::Stdin => "<stdin>".to_string(),
        }
    }

    /// `p_source_object`: the path or URL; unknown for stdin.
    fn source_object(&self) -> Option<String> {
        match self {
            Source::Stdin => None,
            other => Some(other.name()),
        }
    }

    fn open(&self, runtime: &Runtime) -> Result<Box<dyn Read + Send>, String> {
        match self {
            Source::File(p) => Input::File(p.clone()).open().map_err(|e| e.to_string()),
            Source::Stdin => Input::Stdin.open().map_err(|e| e.to_string()),
            Source::S3(o) => o.open(runtime.handle()).map_err(|e| e.to_string()),
        }
    }

    /// The object's identity in the ledger and in unit names.
    fn object_id(&self) -> Result<String, String> {
        match self {
            Source::Stdin => Ok(format!("stdin:{}", Timestamp::now().0)),
            Source::S3(o) => Ok(format!(
                "{}?etag={}&size={}",
                o.url(),
                o.etag.as_deref().unwrap_or_default().trim_matches('"'),
                o.size
            )),
            Source::File(p) => {
                let absolute = p
                    .canonicalize()
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                let meta = absolute
                    .metadata()
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                Ok(format!(
                    "file://{}?size={}&mtime={mtime}",
                    absolute.display(),
                    meta.len()
                ))
            }
        }
    }
}

/// One object to ingest and where its records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestItem {
    pub source: Source,
    /// Parse every record as this log type; `None` classifies each record.
    pub log_type: Option<LogType>,
    /// `p_source_id` and `p_source_label`; `p_source_object` is set per object.
    pub info: SourceInfo,
}

/// What to ingest and how.
#[derive(Debug, Clone)]
pub struct IngestJob {
    pub items: Vec<IngestItem>,
    pub chunk_records: u64,
    pub commit_rows: usize,
}

/// Progress for a bar: called after every chunk and commit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub objects_done: u64,
    pub objects_total: u64,
    pub records: u64,
}

/// Counts of one run.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    pub objects: u64,
    /// Objects the ledger already had: nothing read, nothing added.
    pub skipped_objects: u64,
    pub counts: Counts,
    pub matches: u64,
    pub rule_errors: u64,
    pub alerts_created: u64,
    pub rows: BTreeMap<TableId, u64>,
    /// Rows of units a table had committed before (a run after a crash).
    pub replayed_rows: u64,
    /// Items that could not be read; every other item is in the lake.
    pub input_errors: Vec<ItemError>,
    /// How long each lake commit took.
    pub commit_seconds: Vec<f64>,
    /// Buckets whose configuration CloudTrail showed changing (for rescans).
    pub changed_buckets: BTreeSet<String>,
    pub seconds: f64,
}

/// An item that could not be read (missing, unreadable, undecodable): the run went on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// Its index in [`IngestJob::items`].
    pub item: usize,
    pub message: String,
}

impl std::fmt::Display for ItemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl IngestReport {
    /// 2 when an input was unusable, 1 when some records failed to parse, else 0.
    pub fn exit_code(&self) -> i32 {
        if !self.input_errors.is_empty() {
            2
        } else if self.counts.failures() > 0 {
            1
        } else {
            0
        }
    }
}

/// A failure that stops the run: the lake or the alert store is unusable. Everything
/// committed before stays; running again picks up where this stopped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("alert store: {0}")]
    Store(#[from] StoreError),
}

/// One chunk of an object, parsed and evaluated, on its way from the reading thread to the
/// writing thread. Only whole chunks travel: a chunk cut short by a read error never reaches
/// the lake, so its unit is never committed with part of its records.
struct Chunk {
    unit: String,
    /// The records' normalized JSON lines, one after another.
    lines: Vec<u8>,
    /// One per record, in order: its log type and where its line ends in `lines`.
    records: Vec<(LogType, usize)>,
    /// Rule results with the index of their record. Only results that may become alert samples
    /// keep their event (see [`SampleSieve`]); rule rows are read from the records' lines.
    detections: Vec<(usize, Detection)>,
}

impl Chunk {
    /// A chunk sized like the last full one (see [`ChunkSize`]).
    fn new(unit: String, size: ChunkSize) -> Chunk {
        Chunk {
            unit,
            lines: Vec::with_capacity(size.line_bytes + size.line_bytes / 8),
            records: Vec::with_capacity(size.records),
            detections: Vec::new(),
        }
    }

    /// Record `index`'s log type and normalized line.
    fn record(&self, index: usize) -> (LogType, &[u8]) {
        let (log_type, end) = self.records[index];
        let start = index.checked_sub(1).map_or(0, |i| self.records[i].1);
        (log_type, &self.lines[start..end])
    }

    /// Each record's log type and normalized line.
    fn records(&self) -> impl Iterator<Item = (LogType, &[u8])> {
        (0..self.records.len()).map(|i| self.record(i))
    }
}

/// The size of the last full chunk, across objects: a new chunk gets its room (lines an eighth
/// longer), so that filling one does not copy its lines over and over as they grow, nor double
/// a buffer sized exactly like the last one for a few longer lines at its end.
#[derive(Debug, Default, Clone, Copy)]
struct ChunkSize {
    line_bytes: usize,
    records: usize,
}

/// What the reading thread tells the writing thread, in order.
enum Step {
    Chunk(Chunk),
    /// Every chunk of the object was sent: it can go to the ledger.
    ObjectDone {
        object_id: String,
        records: u64,
    },
    /// The object was not (completely) read; its whole chunks were sent and stay valid.
    ObjectFailed(ItemError),
    /// The item's identity could not be established (a missing file): nothing was read.
    Unidentified(ItemError),
    /// The ledger had the object, or it came earlier in this job.
    Skipped,
}

/// What the reading thread counted.
#[derive(Default)]
struct ReadTotals {
    counts: Counts,
    changed_buckets: BTreeSet<String>,
}

impl IngestJob {
    /// Every source with the same log type and source fields, as `bucketwatch ingest` does.
    pub fn new(sources: Vec<Source>, log_type: Option<LogType>, info: &SourceInfo) -> IngestJob {
        IngestJob::from_items(
            sources
                .into_iter()
                .map(|source| IngestItem {
                    source,
                    log_type,
                    info: info.clone(),
                })
                .collect(),
        )
    }

    /// Items routed one by one, as the service's sources do.
    pub fn from_items(items: Vec<IngestItem>) -> IngestJob {
        IngestJob {
            items,
            chunk_records: DEFAULT_CHUNK_RECORDS,
            commit_rows: DEFAULT_COMMIT_ROWS,
        }
    }

    /// Runs the job on two threads: this one records alerts and writes the lake (the store
    /// and the writer never leave it); a scoped reading thread reads, parses and evaluates the
    /// rules, a few chunks ahead. Lake commits run in the background between chunks.
    pub fn run(
        &self,
        engine: &Engine,
        store: &mut dyn AlertStore,
        writer: &mut LakeWriter,
        runtime: &Runtime,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<IngestReport, IngestError> {
        let started = Instant::now();
        let mut report = IngestReport::default();
        let ids = self.object_ids(writer);
        let mut state = Progress {
            objects_total: self.items.len() as u64,
            ..Progress::default()
        };
        let (outcome, totals) = std::thread::scope(|scope| {
            // Two chunks queued plus one being read bound what the reader holds ahead.
            let (send, receive) = std::sync::mpsc::sync_channel(2);
            let reader = scope.spawn(|| {
                engine.keeping_python_thread_state(|| self.read_all(&ids, engine, runtime, send))
            });
            let outcome = (|| {
                for step in receive {
                    match step {
                        Step::Chunk(chunk) => {
                            state.records += chunk.records.len() as u64;
                            writer
                                .push_events_json(&chunk.unit, chunk.records())
                                .expect("the normalizer writes one JSON object per record");
                            close_chunk(chunk, store, writer, &mut report)?;
                            if writer.buffered_rows() >= self.commit_rows {
                                let committed = writer.commit_in_background(runtime.handle())?;
                                add_commit(&mut report, committed);
                            }
                            continue;
                        }
                        Step::ObjectDone { object_id, records } => {
                            report.objects += 1;
                            writer.finish_object(FinishedObject { object_id, records });
                        }
                        Step::ObjectFailed(error) => {
                            report.objects += 1;
                            report.input_errors.push(error);
                        }
                        Step::Unidentified(error) => report.input_errors.push(error),
                        Step::Skipped => report.skipped_objects += 1,
                    }
                    state.objects_done += 1;
                    progress(state);
                }
                let committed = runtime.block_on(writer.commit())?;
                add_commit(&mut report, committed);
                Ok::<(), IngestError>(())
            })();
            // A failure above dropped the receiver, which stops the reader at its next chunk.
            let totals = reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (outcome, totals)
        });
        if let Err(e) = outcome {
            // The caller may reopen the lake and retry: a commit still running must have ended
            // (or failed) first, so the reopened writer sees its units. Its own error adds
            // nothing to `e`.
            let _ = runtime.block_on(writer.finish_background());
            return Err(e);
        }
        report.counts = totals.counts;
        report.changed_buckets = totals.changed_buckets;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Each item's identity, or `None` when it is to be skipped: in the ledger already, or the
    /// same object as an earlier item (a background commit has not yet made it known).
    fn object_ids(&self, writer: &LakeWriter) -> Vec<Result<Option<String>, String>> {
        let mut seen = BTreeSet::new();
        self.items
            .iter()
            .map(|item| {
                let id = item.source.object_id()?;
                let new = !writer.is_ingested(&id) && seen.insert(id.clone());
                Ok(new.then_some(id))
            })
            .collect()
    }

    /// The reading thread: every item in order, as steps for the writing thread. Stops early
    /// when the writing thread has stopped listening.
    fn read_all(
        &self,
        ids: &[Result<Option<String>, String>],
        engine: &Engine,
        runtime: &Runtime,
        send: SyncSender<Step>,
    ) -> ReadTotals {
        let mut totals = ReadTotals::default();
        // One normalizer per forced log type: each keeps its own buffers and counts.
        let mut normalizers: Vec<(Option<LogType>, Normalizer)> = Vec::new();
        let mut chunk_size = ChunkSize::default();
        for (index, (item, id)) in self.items.iter().zip(ids).enumerate() {
            let step = match id {
                Err(message) => Step::Unidentified(ItemError {
                    item: index,
                    message: message.clone(),
                }),
                Ok(None) => Step::Skipped,
                Ok(Some(object_id)) => {
                    let at = match normalizers.iter().position(|(t, _)| *t == item.log_type) {
                        Some(at) => at,
                        None => {
                            normalizers.push((item.log_type, Normalizer::new(item.log_type)));
                            normalizers.len() - 1
                        }
                    };
                    let normalizer = &mut normalizers[at].1;
                    let before = normalizer.counts().clone();
                    let read = self.read_object(
                        item,
                        object_id,
                        engine,
                        runtime,
                        normalizer,
                        &mut chunk_size,
                        &mut totals.changed_buckets,
                        &send,
                    );
                    let records = normalizer.counts().since(&before).total();
                    match read {
                        Ok(()) => Step::ObjectDone {
                            object_id: object_id.clone(),
                            records,
                        },
                        Err(Failure::Input(message)) => Step::ObjectFailed(ItemError {
                            item: index,
                            message,
                        }),
                        Err(Failure::Stopped) => break,
                    }
                }
            };
            if send.send(step).is_err() {
                break;
            }
        }
        for (_, normalizer) in &normalizers {
            totals.counts.add_all(normalizer.counts());
        }
        totals
    }

    /// Reads, parses and evaluates one object, sending each whole chunk.
    #[allow(clippy::too_many_arguments)]
    fn read_object(
        &self,
        item: &IngestItem,
        object_id: &str,
        engine: &Engine,
        runtime: &Runtime,
        normalizer: &mut Normalizer,
        chunk_size: &mut ChunkSize,
        changed_buckets: &mut BTreeSet<String>,
        send: &SyncSender<Step>,
    ) -> Result<(), Failure> {
        let source = &item.source;
        let name = source.name();
        let reader = source.open(runtime).map_err(Failure::Input)?;
        let (_, reader) =
            decoded_reader(reader).map_err(|e| Failure::Input(format!("{name}: {e}")))?;
        let info = item.info.with_object(source.source_object());
        let mut framer = Framer::new(reader);
        let mut detections = Vec::new();
        // Most matched events are no alert's sample: their `Value`s (four times the size of
        // their lines) are dropped here rather than held until the chunk is written.
        let mut samples = SampleSieve::default();
        let no_event = Arc::new(Value::Null);
        let new_chunk =
            |index: u64, size: ChunkSize| Chunk::new(format!("{object_id}#{index}"), size);
        let mut chunk_index = 0u64;
        let mut chunk = new_chunk(chunk_index, *chunk_size);
        loop {
            let unit = framer.next_unit().map_err(|e| {
                Failure::Input(format!(
                    "{name}: reading failed after {} records: {e}",
                    chunk_index * self.chunk_records + chunk.records.len() as u64
                ))
            })?;
            let Some(unit) = unit else { break };
            let start = chunk.lines.len();
            let log_type = normalizer.normalize(&unit, &info, &mut chunk.lines);
            chunk.records.push((log_type, chunk.lines.len()));
            // The lake reads the line itself; a `Value` is built only for what needs one.
            let rules =
                log_type != LogType::ClassificationFailure && engine.watches(log_type.name());
            if rules || log_type == LogType::CloudTrail {
                let event: Value = serde_json::from_slice(&chunk.lines[start..])
                    .expect("the normalizer writes one JSON object per record");
                if log_type == LogType::CloudTrail
                    && let Value::Object(fields) = &event
                    && let Some(bucket) = bucketwatch_scan::changed_bucket(fields)
                    && !changed_buckets.contains(bucket)
                {
                    changed_buckets.insert(bucket.to_string());
                }
                if rules {
                    detections.clear();
                    engine.evaluate(&Arc::new(event), &mut detections);
                    let record = chunk.records.len() - 1;
                    for mut detection in detections.drain(..) {
                        if !(detection.create_alert && samples.keeps(&detection.result)) {
                            detection.result.event = Arc::clone(&no_event);
                        }
                        chunk.detections.push((record, detection));
                    }
                }
            }
            if chunk.records.len() as u64 == self.chunk_records {
                chunk_index += 1;
                *chunk_size = ChunkSize {
                    line_bytes: chunk.lines.len(),
                    records: chunk.records.len(),
                };
                let next = new_chunk(chunk_index, *chunk_size);
                let full = std::mem::replace(&mut chunk, next);
                samples.clear();
                send.send(Step::Chunk(full)).map_err(|_| Failure::Stopped)?;
            }
        }
        if !chunk.records.is_empty() {
            send.send(Step::Chunk(chunk))
                .map_err(|_| Failure::Stopped)?;
        }
        Ok(())
    }
}

enum Failure {
    /// This object cannot be read; the run goes on with the next one.
    Input(String),
    /// The writing thread stopped (a fatal error): nothing more to do.
    Stopped,
}

/// Records the chunk's alertable results once, then buffers its rule rows with their alert ids.
fn close_chunk(
    mut chunk: Chunk,
    store: &mut dyn AlertStore,
    writer: &mut LakeWriter,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    // Moved, not cloned, into the store's batch: a copy of every alertable result was a tenth
    // of a rules-on ingest's heap at its peak (heaptrack).
    let (mut alertable, mut signals) = (Vec::new(), Vec::new());
    let mut results: Vec<RuleResult> = Vec::new();
    for (record, detection) in std::mem::take(&mut chunk.detections) {
        if detection.create_alert {
            alertable.push(record);
            results.push(detection.result);
        } else {
            signals.push((record, detection.result));
        }
    }
    let outcome = store.record_unit(&chunk.unit, &results, Timestamp::now())?;
    report.alerts_created += outcome.created.len() as u64;
    let windows = (0..results.len()).map(|k| outcome.window_of(k));
    let alerted = alertable.iter().zip(&results).zip(windows);
    let signaled = signals.iter().map(|(record, r)| ((record, r), None));
    for ((record, r), window) in alerted.chain(signaled) {
        let rule_error = match &r.kind {
            ResultKind::Match => {
                report.matches += 1;
                None
            }
            ResultKind::Error {
                error_type,
                message,
            } => {
                report.rule_errors += 1;
                Some(format!("{error_type}: {message}"))
            }
        };
        let columns = RuleColumns {
            rule_id: &r.rule_id,
            rule_severity: r.severity.as_str(),
            rule_tags: &r.tags,
            rule_reports: (!r.reports.is_empty()).then_some(&*r.reports),
            alert_id: window.map(|w| w.alert_id.as_str()),
            alert_creation_time: window.and_then(|w| w.creation_time),
            alert_update_time: window.map(|w| w.update_time),
            alert_severity: window.map(|_| r.severity.as_str()),
            alert_context: r.alert_context.as_ref(),
            dedup: &r.dedup,
            rule_error: rule_error.as_deref(),
        };
        let (log_type, line) = chunk.record(*record);
        writer
            .push_rule_row(log_type, line, &columns, &chunk.unit)
            .expect("the normalizer writes one JSON object per record");
    }
    Ok(())
}

fn add_commit(report: &mut IngestReport, committed: CommitReport) {
    report.commit_seconds.extend(committed.seconds);
    for (table, rows) in committed.rows {
        *report.rows.entry(table).or_default() += rows;
    }
    report.replayed_rows += committed.skipped_rows;
}
