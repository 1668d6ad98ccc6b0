//! `bucketwatch ingest`, `bucketwatch query` and `bucketwatch lake compact|expire`: arguments,
//! progress and output formatting. The work is done by `bucketwatch_pipeline` and
//! `bucketwatch_lake`.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use bucketwatch_alert::SqliteAlertStore;
use bucketwatch_core::{LogType, SourceInfo, Timestamp};
use bucketwatch_detect::{Engine, EngineOptions};
use bucketwatch_lake::arrow::record_batch::RecordBatch;
use bucketwatch_lake::{Lake, LakeWriter, QueryEngine, QueryError};
use bucketwatch_pipeline::{IngestJob, Progress, Source};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::runtime::Runtime;

/// Where lake tables and local state live.
#[derive(Args, Clone)]
pub struct DataDirArgs {
    /// The data directory: a local directory, or s3://bucket/prefix for a lake on S3 (then
    /// alert state stays in the default local directory). Default: $XDG_DATA_HOME/bucketwatch,
    /// else ~/.local/share/bucketwatch.
    #[arg(long, value_name = "DIR", env = "BUCKETWATCH_DATA_DIR")]
    pub data_dir: Option<String>,
}

impl DataDirArgs {
    fn local_default() -> anyhow::Result<PathBuf> {
        if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(xdg).join("bucketwatch"));
        }
        let home = std::env::var_os("HOME").context(
            "neither --data-dir, BUCKETWATCH_DATA_DIR nor HOME is set; name a data directory",
        )?;
        Ok(PathBuf::from(home).join(".local/share/bucketwatch"))
    }

    /// The lake's location: `<data dir>/lake`.
    pub fn lake_location(&self) -> anyhow::Result<String> {
        Ok(match &self.data_dir {
            Some(d) if d.contains("://") => format!("{}/lake", d.trim_end_matches('/')),
            Some(d) => PathBuf::from(d).join("lake").display().to_string(),
            None => Self::local_default()?.join("lake").display().to_string(),
        })
    }

    /// The local directory for state (the alert store), created when missing.
    pub fn state_dir(&self) -> anyhow::Result<PathBuf> {
        let dir = match &self.data_dir {
            Some(d) if !d.contains("://") => PathBuf::from(d),
            _ => Self::local_default()?,
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        Ok(dir)
    }
}

#[derive(Args)]
pub struct IngestArgs {
    #[command(flatten)]
    data: DataDirArgs,

    /// Parse every record as this log type instead of classifying each one.
    #[arg(long, value_name = "TYPE", value_parser = crate::parse_log_type)]
    log_type: Option<LogType>,

    /// Content directories with the rules to run; repeat for several.
    #[arg(long, value_name = "DIR", default_value = "content")]
    content: Vec<PathBuf>,

    /// Value of p_source_id on every event.
    #[arg(long, value_name = "ID")]
    source_id: Option<String>,

    /// Value of p_source_label on every event.
    #[arg(long, value_name = "LABEL")]
    source_label: Option<String>,

    /// Commit the lake whenever this many rows are buffered (and at the end).
    #[arg(long, value_name = "ROWS", default_value_t = bucketwatch_pipeline::ingest_job::DEFAULT_COMMIT_ROWS)]
    commit_rows: usize,

    /// Files, directories (every file below), s3://bucket/prefix (every object below) or - for
    /// stdin.
    #[arg(value_name = "PATH", required = true)]
    inputs: Vec<String>,
}

pub fn ingest(args: IngestArgs) -> anyhow::Result<u8> {
    for dir in &args.content {
        if !dir.is_dir() {
            bail!(
                "{}: not a directory; name content directories with --content",
                dir.display()
            );
        }
    }
    let runtime = crate::runtime::runtime()?;
    let mut sources = Vec::new();
    for input in &args.inputs {
        sources.extend(Source::expand(input, &runtime).map_err(anyhow::Error::msg)?);
    }
    let location = args.data.lake_location()?;
    let lake = Lake::open(&location)?;
    let mut writer = runtime
        .block_on(LakeWriter::open(lake))
        .with_context(|| format!("opening the lake at {location}"))?;
    let store_path = args.data.state_dir()?.join("alerts.db");
    let mut store = SqliteAlertStore::open(&store_path)
        .with_context(|| format!("opening the alert store {}", store_path.display()))?;
    let engine = Engine::load(&args.content, &EngineOptions::default());
    for problem in engine.problems() {
        eprintln!("bucketwatch ingest: warning: {problem}");
    }
    let info = SourceInfo::new(args.source_id, args.source_label, None);
    let mut job = IngestJob::new(sources, args.log_type, &info);
    job.commit_rows = args.commit_rows.max(1);

    let bar = if io::stderr().is_terminal() {
        let bar = ProgressBar::new(job.items.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} objects  {msg}  {elapsed}")
                .expect("a valid template"),
        );
        Some(bar)
    } else {
        None
    };
    let mut on_progress = |p: Progress| {
        if let Some(bar) = &bar {
            bar.set_position(p.objects_done);
            bar.set_message(format!("{} records", p.records));
        }
    };
    let report = job.run(&engine, &mut store, &mut writer, &runtime, &mut on_progress)?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let err = &mut io::stderr().lock();
    for e in &report.input_errors {
        let _ = writeln!(err, "bucketwatch ingest: error: {e}");
    }
    let rows: u64 = report.rows.values().sum();
    let rate = report.counts.total() as f64 / report.seconds.max(1e-9);
    let _ = writeln!(
        err,
        "bucketwatch ingest: {} object{} read, {} already ingested; {} records ({} failed to parse), \
         {} matches, {} rule errors, {} alerts created; {} rows committed in {:.2} s ({:.0} records/s)",
        report.objects,
        if report.objects == 1 { "" } else { "s" },
        report.skipped_objects,
        report.counts.total(),
        report.counts.failures(),
        report.matches,
        report.rule_errors,
        report.alerts_created,
        rows,
        report.seconds,
        rate,
    );
    for (table, n) in &report.rows {
        let _ = writeln!(err, "  {table}: {n} rows");
    }
    if report.replayed_rows > 0 {
        let _ = writeln!(
            err,
            "bucketwatch ingest: {} rows were committed by an earlier, interrupted run and not written again",
            report.replayed_rows
        );
    }
    let _ = writeln!(
        err,
        "bucketwatch ingest: lake at {location}; try: bucketwatch query \"SELECT p_log_type, count(*) FROM views.all_logs GROUP BY 1\""
    );
    Ok(report.exit_code() as u8)
}

#[derive(Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

#[derive(Args)]
pub struct QueryArgs {
    #[command(flatten)]
    data: DataDirArgs,

    /// How to print the result: an aligned table, JSON lines or CSV with a header.
    #[arg(long, value_enum, default_value = "table")]
    format: OutputFormat,

    /// One or more SELECT statements, separated by `;`. They run in order in one session:
    /// a table reads as it was when the first statement naming it ran, so the statements
    /// see the same data. Each result is printed as it completes, with its row count and
    /// time on stderr; the first error stops the script.
    #[arg(value_name = "SQL")]
    sql: String,
}

pub fn query(args: QueryArgs) -> anyhow::Result<u8> {
    let runtime = crate::runtime::runtime()?;
    let location = args.data.lake_location()?;
    let lake = Lake::open(&location)?;
    let out = &mut io::stdout().lock();
    let mut started = std::time::Instant::now();
    let outcome = runtime.block_on(async {
        let engine = QueryEngine::open(&lake).await?;
        for statement in engine.parse(&args.sql)? {
            let result = engine.run_at(statement, Timestamp::now()).await?;
            // The first statement's time includes opening the session.
            let seconds = started.elapsed().as_secs_f64();
            write_batches(args.format, &result.batches, out)
                .context("writing the result to stdout")?;
            // On stderr, so JSON and CSV output stay clean.
            eprintln!(
                "{} row{} in {:.3} s",
                result.rows(),
                if result.rows() == 1 { "" } else { "s" },
                seconds
            );
            started = std::time::Instant::now();
        }
        Ok::<_, anyhow::Error>(())
    });
    match outcome {
        Ok(()) => Ok(0),
        Err(e) => match e.downcast::<QueryError>() {
            Ok(e) => {
                eprintln!("bucketwatch query: error: {}", e.render(&args.sql));
                Ok(1)
            }
            Err(e) => Err(e),
        },
    }
}

fn write_batches(
    format: OutputFormat,
    batches: &[RecordBatch],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    use bucketwatch_lake::arrow::{csv, json, util::pretty};
    match format {
        OutputFormat::Table => writeln!(out, "{}", pretty::pretty_format_batches(batches)?)?,
        OutputFormat::Json => {
            let mut w = json::LineDelimitedWriter::new(out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        OutputFormat::Csv => {
            let mut w = csv::Writer::new(out);
            for b in batches {
                w.write(b)?;
            }
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum LakeCommand {
    /// Merge small files into large ones, one atomic commit per table.
    Compact {
        #[command(flatten)]
        data: DataDirArgs,
        /// Target size of merged files, in MiB.
        #[arg(long, value_name = "MIB", default_value_t = 128)]
        target_mib: u64,
    },
    /// Print the Athena DDL that registers every lake table in the Glue catalog.
    #[command(
        long_about = "Print the Athena DDL that registers every lake table in the Glue catalog.

Run the statements in Athena (or `aws athena start-query-execution`) once per table; Athena \
reads Delta tables natively, taking columns and partitions from the Delta log, so new columns \
appear without running the DDL again. Only a lake on S3 (--data-dir s3://bucket/prefix) can be \
read by Athena.

Example:
  bucketwatch lake athena-ddl --data-dir s3://security-lake/bucketwatch --database-prefix bw_"
    )]
    AthenaDdl {
        #[command(flatten)]
        data: DataDirArgs,
        /// Prefix for the Glue database names (logs, rule_matches, rule_errors).
        #[arg(long, value_name = "PREFIX", default_value = "")]
        database_prefix: String,
    },
    /// Run scheduled queries now and feed their rows to the scheduled rules subscribed to them.
    #[command(
        long_about = "Run scheduled queries now and feed their rows to the scheduled rules \
subscribed to them.

Every enabled scheduled_query spec in the content directories runs over the lake (or only \
--query NAME, enabled or not); each result row goes through the scheduled_rules whose \
ScheduledQueries name it, and their matches are grouped into alerts in <data dir>/alerts.db. \
A query run twice in the same schedule slot (RateMinutes, or an hour for cron schedules) \
counts once. The service runs them on their schedule.

Example:
  bucketwatch lake scheduled --content content --query 'S3 access denied burst'"
    )]
    Scheduled {
        #[command(flatten)]
        data: DataDirArgs,
        /// Content directories with the scheduled queries and rules.
        #[arg(long, value_name = "DIR", default_value = "content")]
        content: Vec<PathBuf>,
        /// Run only this query (its QueryName).
        #[arg(long, value_name = "NAME")]
        query: Option<String>,
    },
    /// Delete data older than the retention period and remove unreferenced files.
    Expire {
        #[command(flatten)]
        data: DataDirArgs,
        /// Keep this many days of data, today included.
        #[arg(long, value_name = "DAYS")]
        retention_days: u32,
        /// Remove files once no table version newer than this many hours references them, so
        /// readers on an older version finish first.
        #[arg(long, value_name = "HOURS", default_value_t = 24)]
        grace_hours: u64,
    },
}

pub fn lake(command: LakeCommand) -> anyhow::Result<u8> {
    let runtime = crate::runtime::runtime()?;
    match command {
        LakeCommand::Compact { data, target_mib } => {
            let location = data.lake_location()?;
            let lake = Lake::open(&location)?;
            let reports =
                runtime.block_on(bucketwatch_lake::compact(&lake, target_mib * 1024 * 1024))?;
            for r in &reports {
                println!(
                    "{}: {} files merged into {}",
                    r.table, r.files_removed, r.files_added
                );
            }
        }
        LakeCommand::AthenaDdl {
            data,
            database_prefix,
        } => {
            let location = data.lake_location()?;
            let lake = Lake::open(&location)?;
            if lake.location().is_local() {
                eprintln!(
                    "bucketwatch lake athena-ddl: warning: {location} is a local lake; Athena reads only lakes on S3"
                );
            }
            let tables: Vec<_> = runtime
                .block_on(lake.tables())?
                .into_iter()
                .filter(|t| t.database != bucketwatch_lake::Database::System)
                .collect();
            print!(
                "{}",
                bucketwatch_lake::athena_ddl(lake.location(), &tables, &database_prefix)
            );
        }
        LakeCommand::Scheduled {
            data,
            content,
            query,
        } => return scheduled(&runtime, &data, &content, query.as_deref()),
        LakeCommand::Expire {
            data,
            retention_days,
            grace_hours,
        } => {
            let location = data.lake_location()?;
            let lake = Lake::open(&location)?;
            let today = bucketwatch_lake::partition_day(Timestamp::now());
            let keep_from = today - retention_days.saturating_sub(1) as i32;
            let grace = Duration::from_secs(grace_hours * 3600);
            let reports = runtime.block_on(bucketwatch_lake::expire(&lake, keep_from, grace))?;
            for r in &reports {
                let rows = r.rows_deleted.map_or("some".to_string(), |n| n.to_string());
                println!(
                    "{}: {} files ({} rows) expired, {} files vacuumed",
                    r.table, r.files_removed, rows, r.files_vacuumed
                );
            }
        }
    }
    Ok(0)
}

fn scheduled(
    runtime: &Runtime,
    data: &DataDirArgs,
    content: &[PathBuf],
    only: Option<&str>,
) -> anyhow::Result<u8> {
    for dir in content {
        if !dir.is_dir() {
            bail!(
                "{}: not a directory; name content directories with --content",
                dir.display()
            );
        }
    }
    let options = EngineOptions::default();
    let loaded = bucketwatch_detect::load_all(content, &options.load);
    let queries: Vec<_> = loaded
        .scheduled_queries
        .iter()
        .map(|q| q.spec.clone())
        .collect();
    if let Some(name) = only
        && !queries.iter().any(|q| q.query_name == name)
    {
        bail!(
            "no scheduled_query named {name:?} in {}",
            content
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let engine = Engine::from_content(loaded, &options);
    for problem in engine.problems() {
        eprintln!("bucketwatch lake scheduled: warning: {problem}");
    }
    let location = data.lake_location()?;
    let lake = Lake::open(&location)?;
    let store_path = data.state_dir()?.join("alerts.db");
    let mut store = SqliteAlertStore::open(&store_path)
        .with_context(|| format!("opening the alert store {}", store_path.display()))?;
    let runs = bucketwatch_pipeline::scheduled_job::run_scheduled(
        runtime,
        &queries,
        only,
        &engine,
        &mut store,
        &lake,
        Timestamp::now(),
    )?;
    let mut failed = false;
    for run in &runs {
        match &run.error {
            Some(e) => {
                failed = true;
                println!("{}: failed: {e}", run.query);
            }
            None => println!(
                "{}: {} rows, {} matches, {} rule errors, {} alerts created",
                run.query, run.rows, run.matches, run.rule_errors, run.alerts_created
            ),
        }
    }
    if runs.is_empty() {
        println!("no enabled scheduled queries in the content directories");
    }
    Ok(u8::from(failed))
}
