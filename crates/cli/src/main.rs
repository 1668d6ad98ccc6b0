//! The `bucketwatch` binary: argument parsing and output formatting only; the work is done by
//! `bucketwatch-pipeline`.

mod allocator;
mod demo;
mod lake;
mod run;
mod runtime;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use bucketwatch_core::{LogType, SourceInfo};
use bucketwatch_detect::{Engine, EngineOptions, Filter, LoadOptions, TestOptions, run_tests};
use bucketwatch_pipeline::{DetectJob, Input, ParseJob, ParseReport};
use clap::{Args, Parser, Subcommand};

mod scan;

#[derive(Parser)]
#[command(
    name = "bucketwatch",
    version,
    about = "Security monitoring for Amazon S3: collect, normalize, detect, alert, search, harden",
    long_about = "bucketwatch watches S3 buckets end to end. It reads S3 server access logs and \
CloudTrail, normalizes each record into JSON with Panther-style standard fields (p_log_type, \
p_row_id, p_event_time, p_any_ip_addresses, ...), and never drops a record it cannot parse: \
those are kept as classification failures with their raw text."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// See bucketwatch work in one command: a generated day of S3 logs with attacks in it.
    #[command(
        long_about = "See bucketwatch work in one command: a generated day of S3 logs with \
attacks in it, through the real pipeline. No AWS account and no configuration needed.

The demo writes a day (yesterday, UTC) of S3 server access logs and CloudTrail for a made-up \
account with four buckets: a public website, application data that only two roles may touch, \
nightly backups and the CloudTrail log bucket. Ordinary traffic fills the day; woven into it are \
eight attacks: enumeration, exfiltration by a role not approved for the bucket, plain-HTTP \
access, access from outside the approved network, a bucket made public, access logging disabled, \
an SSE-C rewrite and a mass deletion of backups.

The log objects are written under DIR/incoming the way AWS delivers them (CloudTrail gzipped), \
then ingested as `bucketwatch ingest` does it: parsed, run through the detections of --content \
with the demo's own settings (DIR/bucketwatch_settings.toml: approved network, public buckets, \
approved roles), stored in the lake (DIR/lake) with alerts in DIR/alerts.db, and every alert is \
delivered as a JSON line to DIR/alerts.jsonl. The summary lists the alerts by rule, where the \
data lives and queries to try with `bucketwatch query --data-dir DIR`.

Running the demo again replaces the earlier demo in DIR (only what the demo wrote; other files \
stay). A DIR that is not empty and was not made by the demo is refused, so a mistyped --dir \
cannot delete anything.

Run it from the root of the repository, where ./content holds the built-in detections, or name \
them with --content.

Exit status: 0 when exactly the rules the attacks are meant to raise raised alerts and all were \
delivered, 1 otherwise (the reasons go to stderr), 2 when the demo could not run.

Examples:
  bucketwatch demo
  bucketwatch demo --dir /tmp/bw-demo --content ~/src/bucketwatch/content
  bucketwatch query --data-dir bucketwatch-demo \"SELECT count(*) FROM views.all_logs\""
    )]
    Demo(demo::DemoArgs),

    /// Normalize log files into JSON lines on stdout.
    #[command(long_about = "Normalize log files into JSON lines on stdout.

Each input is a file path or - for stdin (the default when none is given). Compression is \
detected from the bytes: gzip (also multi-member), zstd or plain text. Without --log-type every \
record is classified on its own, so one file may mix S3 server access log lines and CloudTrail \
JSON (a {\"Records\":[...]} file, one event per line, or EventBridge envelopes).

Every record in gives one line out: a record that no parser accepts is printed as a \
Bucketwatch.ClassificationFailure event with the reason, its line number and its raw text. A \
summary goes to stderr.

Exit status: 0 when every record parsed, 1 when some records failed to parse, 2 when an input \
could not be used (missing file, unsupported compression, unreadable data).

Examples:
  bucketwatch parse access-2026-03-14.log
  bucketwatch parse --log-type AWS.CloudTrail 111122223333_CloudTrail_*.json.gz
  aws s3 cp s3://logs/key - | bucketwatch parse - | jq 'select(.httpstatus == 403)'")]
    Parse(ParseArgs),

    /// Run the inline tests of rules and policies (panther-analysis format).
    #[command(
        long_about = "Run the inline tests of rules and policies (panther-analysis format).

Loads every YAML spec under the given directories (default: ./content), with their Python files, \
global helpers and data models, and runs each rule's and policy's Tests: a rule test passes when \
the verdict equals ExpectedResult and, on a match, title(), dedup(), alert_context() and the other \
functions ran cleanly. Native (Detection:) rules run in Rust, Python rules in the embedded \
interpreter. Each failure is printed with its reason; the last line is `N passed, N failed`.

Exit status: 0 when every test passed and all content loaded, 1 otherwise, 2 when a directory
does not exist.

Examples:
  bucketwatch test content
  bucketwatch test ../panther-analysis/rules/aws_s3_rules ../panther-analysis/global_helpers \\
      ../panther-analysis/data_models --filter LogTypes=AWS.S3ServerAccess
  bucketwatch test content --filter Severity=High,Critical --minimum-tests 2"
    )]
    Test(TestArgs),

    /// Run detections over normalized events and print each rule match or rule error.
    #[command(
        long_about = "Run detections over normalized events and print each rule match or rule error.

Reads JSON lines as `bucketwatch parse` writes them (files, - for stdin, gzip/zstd detected), runs \
every enabled rule of each event's p_log_type from the content directories (default: ./content) — \
native rules in Rust, Python rules in the embedded interpreter — and writes one JSON line per match \
or rule error. Nothing is grouped into alerts or stored: this is for trying content on recorded \
events. A summary with the event rate goes to stderr.

Exit status: 0 when every line was an event, 1 when some lines were not, 2 when an input could \
not be read.

Example:
  bucketwatch parse access.log | bucketwatch detect --content content -"
    )]
    Detect(DetectArgs),

    /// Parse, detect and store logs in the lake; alerts go to the alert store.
    #[command(
        long_about = "Parse, detect and store logs in the lake; alerts go to the alert store.

Each file (every file below a directory; - for stdin) is decompressed (gzip, zstd), parsed and \
normalized as `bucketwatch parse` does, run through the rules of the content directories, and \
written to the lake: logs.<log type> for events, logs.classification_failures for records no \
parser accepted, rule_matches.<log type> and rule_errors.<log type> for detections. Alerts are \
grouped and stored in <data dir>/alerts.db.

Exactly once: a file already ingested (same path, size and modification time) is skipped, and a \
run that was killed can simply be started again: what it committed is not written twice and its \
alerts are not counted twice.

Exit status: 0 when every record parsed, 1 when some records failed to parse (they are kept in \
logs.classification_failures), 2 when an input or the lake could not be used.

Examples:
  bucketwatch ingest ./access-logs/
  bucketwatch ingest --data-dir /var/lib/bucketwatch --log-type AWS.CloudTrail trail/*.json.gz
  aws s3 cp s3://logs/key - | bucketwatch ingest -"
    )]
    Ingest(lake::IngestArgs),

    /// Run the always-on service: watch queues, buckets and folders; detect; alert.
    #[command(
        long_about = "Run the always-on service: watch queues, buckets and folders; detect; alert.

Reads the configuration file (default ./bucketwatch.toml) and runs its sources until SIGTERM or \
Ctrl-C. Each source's objects are parsed, run through the rules, written to the lake and their \
alerts persisted and delivered to the configured destinations, exactly as `bucketwatch ingest` \
does, with the same exactly-once guarantee.

Sources ([[sources]], each with an id, an optional label and optional prefixes):
  kind = \"sqs\"        queue_url: S3 notifications in any shape (S3 events, SNS envelopes raw or
                       not, EventBridge Object Created, CloudTrail's notification). A message is
                       deleted only after its objects are committed; visibility is extended while
                       they are read; a message that keeps failing is left for the queue's
                       dead-letter queue (set a redrive policy).
  kind = \"s3\"         url = \"s3://bucket/prefix\", listed every poll_interval_secs.
  kind = \"directory\"  path: a folder; new files are read once they stop changing.
  kind = \"stdin\"      standard input, read to its end.
prefixes = { \"bucket/prefix\" = \"AWS.CloudTrail\", ... } picks the log type by location (the longest \
prefix wins; \"auto\" classifies each record); with prefixes, objects matching none are skipped.

Destinations: [[delivery.destinations]] with kind webhook, slack, sns, file or stdout (see \
docs/configuration.md). Metrics: Prometheus text at http://127.0.0.1:9109/metrics ([metrics] \
listen). Upkeep: scheduled queries every minute, compaction hourly, expiry daily when \
[maintenance] retention_days is set. Logs go to stderr; RUST_LOG=debug shows more.

Example bucketwatch.toml:
  [[sources]]
  id = \"prod\"
  kind = \"sqs\"
  queue_url = \"https://sqs.us-east-1.amazonaws.com/111122223333/bucketwatch\"
  prefixes = { \"prod-logs/\" = \"AWS.S3ServerAccess\", \"prod-trail/AWSLogs/\" = \"AWS.CloudTrail\" }

  [[delivery.destinations]]
  id = \"soc\"
  kind = \"webhook\"
  url = \"https://hooks.example.com/bucketwatch\"
  secret_env = \"BUCKETWATCH_WEBHOOK_SECRET\"

Exit status: 0 after a clean stop, 2 when the configuration, the content, the lake or the alert \
store cannot be used."
    )]
    Run(run::RunArgs),

    /// Run a read-only SQL query over the lake.
    #[command(long_about = "Run a read-only SQL query over the lake.

Tables: logs.aws_s3serveraccess, logs.aws_cloudtrail, logs.aws_cloudtraildigest, \
logs.aws_cloudtrailinsight, logs.classification_failures, rule_matches.<table>, \
rule_errors.<table>, and the union views views.all_logs, views.all_rule_matches and \
views.all_rule_errors (standard p_ columns of every table, with p_db_name and p_table_name); \
posture scans recorded by `scan --record` or the service in cloudsecurity.resources and \
cloudsecurity.compliance, with the latest result per resource and policy in \
views.compliance_state. \
Column names are lower case; nested CloudTrail objects (useridentity, requestparameters, ...) \
are JSON text. information_schema.columns lists every column.

Time filters read only the days they need: p_occurs_since('2 days'), \
p_occurs_between('2026-03-01', '2026-03-02') (end excluded), p_occurs_after(t), \
p_occurs_before(t); each takes a table alias as a last argument in joins.

Only queries run: DDL, DML, COPY, SET and anything reading files outside the lake are refused. \
A query reads only the tables it names (a view reads its tables). DataFusion settings come from \
DATAFUSION_* variables (DATAFUSION_EXECUTION_TARGET_PARTITIONS=8 sets \
datafusion.execution.target_partitions, by default twice the cores); \
information_schema.df_settings lists them all.

Several statements separated by `;` run in one session, in order: they see the same data, \
and each result is printed as it completes. A statement that is not a query refuses the whole \
script before anything runs.

Exit status: 0 on success, 1 when a statement failed (the error points at the SQL position).

Examples:
  bucketwatch query \"SELECT requester, httpstatus, errorcode, count(*) AS n
      FROM logs.aws_s3serveraccess
      WHERE httpstatus IN (400, 403, 405) AND p_occurs_since('1 day')
      GROUP BY 1, 2, 3 ORDER BY n DESC\"
  bucketwatch query --format json \"SELECT * FROM views.all_logs
      WHERE array_has(p_any_ip_addresses, '192.0.2.3')\"
  bucketwatch query \"SELECT count(*) FROM logs.aws_cloudtrail;
      SELECT eventname, count(*) FROM logs.aws_cloudtrail GROUP BY 1\"")]
    Query(lake::QueryArgs),

    /// Maintain the lake: compact small files, expire old data.
    #[command(subcommand)]
    Lake(lake::LakeCommand),

    /// Show how bucketwatch is set up on this machine (embedded Python, paths).
    Doctor,

    Scan(scan::ScanArgs),
}

#[derive(Args)]
struct DetectArgs {
    /// Content directories to load together; repeat for several.
    #[arg(long, value_name = "DIR", default_value = "content")]
    content: Vec<std::path::PathBuf>,

    /// Files of normalized events (JSON lines); - is stdin. Reads stdin when none is given.
    #[arg(value_name = "FILE")]
    inputs: Vec<String>,
}

#[derive(Args)]
struct TestArgs {
    /// Content directories to load together (rules, policies, helpers, data models).
    #[arg(value_name = "DIR", default_value = "content")]
    dirs: Vec<std::path::PathBuf>,

    /// Keep only detections whose KEY has one of the values (KEY=V1,V2), or drop them
    /// (KEY!=V1,V2). Keys: RuleID, PolicyID, LogTypes, ResourceTypes, Severity, Enabled, Tags,
    /// AnalysisType. Repeat to combine (all must hold).
    #[arg(long, value_name = "KEY=V1,V2", value_parser = parse_filter)]
    filter: Vec<Filter>,

    /// Fail detections with fewer tests; above 1, each also needs a positive and a negative test.
    #[arg(long, value_name = "N", default_value_t = 0)]
    minimum_tests: usize,

    /// Accept unknown top-level keys in specs instead of rejecting them.
    #[arg(long)]
    ignore_extra_keys: bool,

    /// Print passing tests too.
    #[arg(long, short)]
    verbose: bool,
}

fn parse_filter(s: &str) -> Result<Filter, String> {
    s.parse()
}

#[derive(Args)]
struct ParseArgs {
    /// Parse every record as this log type instead of classifying each one:
    /// AWS.S3ServerAccess, AWS.CloudTrail, AWS.CloudTrailDigest or AWS.CloudTrailInsight.
    #[arg(long, value_name = "TYPE", value_parser = parse_log_type)]
    log_type: Option<LogType>,

    /// Value of p_source_id on every event (for example the integration's id).
    #[arg(long, value_name = "ID")]
    source_id: Option<String>,

    /// Value of p_source_label on every event (for example "prod access logs").
    #[arg(long, value_name = "LABEL")]
    source_label: Option<String>,

    /// Files to read; - is stdin. Reads stdin when none is given.
    #[arg(value_name = "FILE")]
    inputs: Vec<String>,
}

fn parse_log_type(s: &str) -> Result<LogType, String> {
    s.parse::<LogType>().map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    allocator::configure(match cli.command {
        Command::Run(_) => allocator::Workload::Service,
        Command::Ingest(_) => allocator::Workload::Ingest,
        _ => allocator::Workload::Batch,
    });
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Parse(args) => parse(args),
        Command::Test(args) => Ok(test(args)),
        Command::Detect(args) => detect(args),
        Command::Ingest(args) => lake::ingest(args),
        Command::Query(args) => lake::query(args),
        Command::Lake(command) => lake::lake(command),
        Command::Doctor => Ok(doctor()),
        Command::Scan(args) => scan::run(args),
        Command::Run(args) => run::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("bucketwatch: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn parse(args: ParseArgs) -> anyhow::Result<u8> {
    let inputs: Vec<String> = if args.inputs.is_empty() {
        if io::stdin().is_terminal() {
            eprintln!(
                "bucketwatch parse: reading from stdin (name files to read them; see --help)"
            );
        }
        vec!["-".into()]
    } else {
        args.inputs
    };
    let job = ParseJob {
        log_type: args.log_type,
        inputs: inputs.iter().map(|a| Input::from_arg(a)).collect(),
        source: SourceInfo::new(args.source_id, args.source_label, None),
    };
    // The job hands over output in large batches already: no second buffer.
    let report = job
        .run(&mut io::stdout().lock())
        .context("writing to stdout failed")?;
    print_summary(&report, &mut io::stderr().lock());
    Ok(report.exit_code() as u8)
}

fn print_summary(report: &ParseReport, err: &mut dyn Write) {
    for input in &report.inputs {
        if let Some(e) = &input.error {
            let _ = writeln!(err, "bucketwatch parse: error: {e}");
        }
    }
    let by_type: Vec<String> = report
        .totals
        .iter()
        .map(|(t, n)| match t {
            LogType::ClassificationFailure => format!("{n} failed to parse"),
            t => format!("{n} {t}"),
        })
        .collect();
    let _ = writeln!(
        err,
        "bucketwatch parse: {} input{}, {} record{}{}{}",
        report.inputs.len(),
        if report.inputs.len() == 1 { "" } else { "s" },
        report.totals.total(),
        if report.totals.total() == 1 { "" } else { "s" },
        if by_type.is_empty() {
            String::new()
        } else {
            format!(": {}", by_type.join(", "))
        },
        if report.output_closed {
            " (stopped: output closed)"
        } else {
            ""
        },
    );
    if report.totals.failures() > 0 {
        let _ = writeln!(
            err,
            "bucketwatch parse: records that failed are printed as p_log_type \
             Bucketwatch.ClassificationFailure with their reason and raw text"
        );
    }
}

fn test(args: TestArgs) -> u8 {
    for dir in &args.dirs {
        if !dir.is_dir() {
            eprintln!(
                "bucketwatch test: error: {}: not a directory; name the content directories to test",
                dir.display()
            );
            return 2;
        }
    }
    let options = EngineOptions {
        load: LoadOptions {
            ignore_extra_keys: args.ignore_extra_keys,
            ..LoadOptions::default()
        },
        ..EngineOptions::default()
    };
    let engine = Engine::load(&args.dirs, &options);
    let report = run_tests(
        &engine,
        &TestOptions {
            filters: args.filter,
            minimum_tests: args.minimum_tests,
        },
    );
    let mut out = io::stdout().lock();
    for problem in &report.content_problems {
        let _ = writeln!(out, "ERROR {problem}");
    }
    for detection in &report.detections {
        if let Some(problem) = &detection.coverage_problem {
            let _ = writeln!(
                out,
                "FAIL  {} ({}): {problem}",
                detection.id,
                detection.path.display()
            );
        }
        for outcome in &detection.outcomes {
            match &outcome.failure {
                Some(failure) => {
                    let _ = writeln!(
                        out,
                        "FAIL  {} ({}): {:?}: {failure}",
                        detection.id,
                        detection.path.display(),
                        outcome.name
                    );
                }
                None if args.verbose => {
                    let alert = outcome
                        .alert
                        .as_ref()
                        .map(|a| {
                            format!(
                                " -> {} alert {:?}, dedup {:?}",
                                a.severity,
                                a.title.as_deref().unwrap_or_default(),
                                a.dedup.as_deref().unwrap_or_default()
                            )
                        })
                        .unwrap_or_default();
                    let _ = writeln!(out, "PASS  {}: {:?}{alert}", detection.id, outcome.name);
                }
                None => {}
            }
        }
    }
    let _ = writeln!(
        out,
        "{} passed, {} failed",
        report.passed(),
        report.failed()
    );
    u8::from(report.failed() > 0)
}

fn detect(args: DetectArgs) -> anyhow::Result<u8> {
    for dir in &args.content {
        if !dir.is_dir() {
            anyhow::bail!(
                "{}: not a directory; name content directories with --content",
                dir.display()
            );
        }
    }
    let engine = Engine::load(&args.content, &EngineOptions::default());
    for problem in engine.problems() {
        eprintln!("bucketwatch detect: warning: {problem}");
    }
    let inputs = if args.inputs.is_empty() {
        vec!["-".to_string()]
    } else {
        args.inputs
    };
    let job = DetectJob {
        inputs: inputs.iter().map(|a| Input::from_arg(a)).collect(),
    };
    let report = job
        .run(&engine, &mut io::stdout().lock())
        .context("writing to stdout failed")?;
    for e in &report.input_errors {
        eprintln!("bucketwatch detect: error: {e}");
    }
    for e in &report.invalid_examples {
        eprintln!("bucketwatch detect: not an event: {e}");
    }
    let rate = if report.seconds > 0.0 {
        report.events as f64 / report.seconds
    } else {
        0.0
    };
    eprintln!(
        "bucketwatch detect: {} events, {} matches, {} rule errors in {:.3} s ({:.0} events/s){}",
        report.events,
        report.matches,
        report.rule_errors,
        report.seconds,
        rate,
        if report.invalid_lines > 0 {
            format!("; {} lines were not events", report.invalid_lines)
        } else {
            String::new()
        }
    );
    Ok(report.exit_code() as u8)
}

fn doctor() -> u8 {
    println!("bucketwatch {}", env!("CARGO_PKG_VERSION"));
    println!(
        "embedded {}",
        bucketwatch_detect::python::PythonRuntime::describe()
    );
    0
}
