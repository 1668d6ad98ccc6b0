//! `bucketwatch scan`: arguments, progress bars and printing of a posture scan. Collecting,
//! analysing and evaluating are `bucketwatch-scan`'s; this file only wires them to the terminal.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use bucketwatch_alert::SqliteAlertStore;
use bucketwatch_core::Timestamp;
use bucketwatch_detect::{Engine, EngineOptions};
use bucketwatch_lake::{Lake, LakeWriter};
use bucketwatch_pipeline::scan_job;
use bucketwatch_scan::{CollectOptions, ReportOptions, ScanReport, ScanSettings, Status};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::lake::DataDirArgs;

#[derive(Args)]
#[command(
    about = "Scan S3 bucket and account configuration and evaluate posture policies.",
    long_about = "Scan S3 bucket and account configuration and evaluate posture policies.

Lists the buckets of the account the standard AWS credential chain names (AWS_PROFILE, \
AWS_ACCESS_KEY_ID, AWS_REGION; AWS_ENDPOINT_URL for an emulator such as moto), reads every \
configuration API per bucket in the bucket's own Region (ACL, policy, Block Public Access, \
encryption, logging, versioning, lifecycle, Object Lock, ownership, replication, notifications, \
tags, website, CORS), the account's Block Public Access and the CloudTrail trails, and builds \
AWS.S3.Bucket and AWS.S3.Account resources. Bucket policies are analysed with IAM semantics \
(explicit Deny, conditions that restrict a wildcard principal, IfExists, NotPrincipal). Then the \
built-in and custom policies (panther-analysis format, `AnalysisType: policy`) run on each \
resource.

Each resource and policy gets a status with its reason: pass, fail, unknown (an API call the \
policy needs failed: AccessDenied, throttling, wrong Region; never counted as a failure) or \
error (the policy raised). Policies are disabled with --disable or with disabled_policies in \
the [scan] table of bucketwatch_settings.toml; failures of resources matching a glob in \
[scan.suppressions] (bucket name or ARN, per policy id or \"*\") are reported as suppressed. \
A summary with the API calls made goes to stderr.

With --record the scan is also stored in the lake of --data-dir: every resource in \
cloudsecurity.resources and every result in cloudsecurity.compliance, one row per scan, so the \
history stays queryable; views.compliance_state holds the latest result of each policy on each \
resource. A failure that is new since the last recorded scan (a policy a resource passed, or a \
new resource failing) becomes an alert in the data directory's alert store, grouped by resource \
and policy. The first recorded scan is the baseline and raises none. To have such alerts \
delivered, let `bucketwatch run` scan: [scan] in its configuration scans on a schedule and \
when CloudTrail shows a bucket's configuration changing.

Exit status: 0 when no policy failed or errored, 1 when some did (unknown results alone do not \
change it), 2 when the scan could not run (credentials, listing buckets, content, settings, \
the --resources file).

Examples:
  bucketwatch scan
  AWS_PROFILE=audit bucketwatch scan --buckets 'prod-*' --format json --output scan.json
  bucketwatch scan --resources scan.json --disable AWS.S3.Bucket.Lifecycle,AWS.S3.Bucket.ObjectLock
  bucketwatch scan --record --data-dir /var/lib/bucketwatch
  bucketwatch query \"SELECT resource_id, policy_id, reason FROM views.compliance_state WHERE status = 'fail'\"
  AWS_ENDPOINT_URL=http://127.0.0.1:5000 bucketwatch scan --content content --content my-policies"
)]
pub struct ScanArgs {
    /// Output format: an aligned table, or the whole report (resources and results) as JSON.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Write the output to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Only scan buckets whose name matches one of these globs (comma-separated; * and ?).
    #[arg(long, value_name = "PATTERN", value_delimiter = ',')]
    buckets: Vec<String>,

    /// Evaluate resources from FILE (a JSON array, `scan --format json` output, or JSON lines)
    /// instead of calling AWS.
    #[arg(long, value_name = "FILE")]
    resources: Option<PathBuf>,

    /// Policy ids not to run (comma-separated), on top of [scan] disabled_policies.
    #[arg(long, value_name = "POLICY_ID,...", value_delimiter = ',')]
    disable: Vec<String>,

    /// Content directories with the policies and global helpers; repeat for several.
    #[arg(long, value_name = "DIR", default_value = "content")]
    content: Vec<PathBuf>,

    /// Buckets read at the same time.
    #[arg(long, value_name = "N", default_value_t = 16)]
    concurrency: usize,

    /// Store the scan in the lake (cloudsecurity.resources, cloudsecurity.compliance: one row
    /// per scan, the history) and record an alert for each failure that is new since the last
    /// recorded scan. The first recorded scan is the baseline and alerts nothing.
    #[arg(long)]
    record: bool,

    #[command(flatten)]
    data: DataDirArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

pub fn run(args: ScanArgs) -> anyhow::Result<u8> {
    for dir in &args.content {
        if !dir.is_dir() {
            bail!(
                "{}: not a directory; name content directories with --content",
                dir.display()
            );
        }
    }
    let settings = ScanSettings::for_content(&args.content)?;
    let started = Instant::now();
    let terminal = io::stderr().is_terminal();

    let (resources, account_id, api_calls, mut problems) = match &args.resources {
        Some(path) => (read_resources(path, &args.buckets)?, None, 0, Vec::new()),
        None => {
            let bar = terminal.then(|| bar("reading buckets"));
            let progress_bar = bar.clone();
            let options = CollectOptions {
                concurrency: args.concurrency,
                bucket_patterns: args.buckets.clone(),
                progress: progress_bar.map(|b| {
                    Arc::new(move |done: usize, total: usize| {
                        b.set_length(total as u64);
                        b.set_position(done as u64);
                    }) as Arc<dyn Fn(usize, usize) + Send + Sync>
                }),
            };
            let runtime = crate::runtime::runtime()?;
            let collected = runtime
                .block_on(bucketwatch_scan::collect(&options))
                .context("the scan could not start")?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            let problems = collected.problems();
            (
                bucketwatch_scan::resources(&collected),
                Some(collected.account.account_id.clone()),
                collected.api_calls,
                problems,
            )
        }
    };

    let engine = Engine::load(&args.content, &EngineOptions::default());
    if engine.policies().is_empty() {
        problems.push(format!(
            "no policies found under {}",
            args.content
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let bar = terminal.then(|| bar("evaluating policies"));
    if let Some(b) = &bar {
        b.set_length(resources.len() as u64);
    }
    let report = bucketwatch_scan::evaluate(
        &engine,
        resources,
        ReportOptions {
            settings,
            disabled: args.disable.clone(),
            account_id,
            api_calls,
            seconds: 0.0,
            problems,
        },
        &|| {
            if let Some(b) = &bar {
                b.inc(1);
            }
        },
    );
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut report = report;
    report.summary.seconds = started.elapsed().as_secs_f64();

    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create the output file {}", path.display()))?,
        )),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report).context("writing the report")?;
            writeln!(out).context("writing the report")?;
        }
        Format::Table => write_table(&mut out, &report).context("writing the report")?,
    }
    out.flush().context("writing the report")?;
    print_summary(&report);
    if args.record {
        record(&args.data, &engine, &report)?;
    }
    let s = &report.summary;
    Ok(u8::from(s.fail > 0 || s.error > 0))
}

/// Stores the scan in the lake and its new failures in the alert store of the data directory.
fn record(data: &DataDirArgs, engine: &Engine, report: &ScanReport) -> anyhow::Result<()> {
    let runtime = crate::runtime::runtime()?;
    let location = data.lake_location()?;
    let lake = Lake::open(&location)?;
    let mut writer = runtime
        .block_on(LakeWriter::open(lake))
        .with_context(|| format!("opening the lake {location}"))?;
    let store_path = data.state_dir()?.join("alerts.db");
    let mut store = SqliteAlertStore::open(&store_path)
        .with_context(|| format!("opening the alert store {}", store_path.display()))?;
    let now = Timestamp::now();
    let recorded = scan_job::record_scan(
        &runtime,
        report,
        engine,
        &scan_job::scan_id(now),
        now,
        &mut writer,
        &mut store,
    )
    .with_context(|| format!("recording the scan in {location}"))?;
    eprintln!(
        "bucketwatch scan: recorded as scan {} in {location}: {} resources, {} results; {}",
        recorded.scan_id,
        recorded.resources,
        recorded.results,
        if recorded.baseline {
            "the first recorded scan, kept as the baseline (no alerts)".to_string()
        } else {
            format!(
                "{} new failure{}, {} alert{} created",
                recorded.new_failures.len(),
                if recorded.new_failures.len() == 1 {
                    ""
                } else {
                    "s"
                },
                recorded.alerts_created,
                if recorded.alerts_created == 1 {
                    ""
                } else {
                    "s"
                }
            )
        }
    );
    for (resource, policy) in &recorded.new_failures {
        eprintln!("bucketwatch scan: new failure: {policy} on {resource}");
    }
    Ok(())
}

fn bar(message: &'static str) -> ProgressBar {
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
            .expect("progress template is valid")
            .progress_chars("=> "),
    );
    b.set_message(message);
    b
}

/// Resources from a file: a JSON array, a `scan --format json` report, or one resource per line.
/// Their `bucketwatch` verdicts are computed again, so hand-written or exported resources work.
fn read_resources(path: &Path, patterns: &[String]) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the resources file {}", path.display()))?;
    let parsed: Vec<Value> = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => items,
        Ok(Value::Object(mut report)) if report.contains_key("resources") => {
            match report.remove("resources") {
                Some(Value::Array(items)) => items,
                _ => bail!("{}: \"resources\" is not a list", path.display()),
            }
        }
        Ok(v @ Value::Object(_)) => vec![v],
        _ => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).with_context(|| {
                    format!(
                        "{} line {}: not a JSON resource (expected a JSON array, a scan report or JSON lines)",
                        path.display(),
                        i + 1
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let mut out = Vec::with_capacity(parsed.len());
    for mut r in parsed {
        match r.get("ResourceType").and_then(Value::as_str) {
            Some("AWS.S3.Bucket") => {
                let name = r.get("Name").and_then(Value::as_str).unwrap_or("");
                if !patterns.is_empty()
                    && !patterns
                        .iter()
                        .any(|p| bucketwatch_scan::iam::glob(p, name, false))
                {
                    continue;
                }
                bucketwatch_scan::resource::annotate_bucket(&mut r);
            }
            Some("AWS.S3.Account") => bucketwatch_scan::resource::annotate_account(&mut r),
            _ => {}
        }
        out.push(r);
    }
    Ok(out)
}

fn display_resource(id: &str) -> &str {
    id.strip_prefix("arn:aws:s3:::")
        .or_else(|| id.rsplit_once(":s3:::").map(|(_, n)| n))
        .unwrap_or(id)
}

fn write_table(out: &mut dyn Write, report: &ScanReport) -> io::Result<()> {
    let mut rows: Vec<&bucketwatch_scan::PolicyResult> = report.results.iter().collect();
    rows.sort_by(|a, b| {
        (a.resource_type.as_str(), &a.resource_id, &a.policy_id).cmp(&(
            b.resource_type.as_str(),
            &b.resource_id,
            &b.policy_id,
        ))
    });
    let res_w = rows
        .iter()
        .map(|r| display_resource(&r.resource_id).len())
        .max()
        .unwrap_or(8)
        .max(8);
    let pol_w = rows
        .iter()
        .map(|r| r.policy_id.len())
        .max()
        .unwrap_or(6)
        .max(6);
    writeln!(
        out,
        "{:<10} {:<8} {:<res_w$} {:<pol_w$} REASON",
        "STATUS", "SEVERITY", "RESOURCE", "POLICY"
    )?;
    for r in rows {
        let status = if r.suppressed {
            "suppressed"
        } else {
            r.status.as_str()
        };
        writeln!(
            out,
            "{:<10} {:<8} {:<res_w$} {:<pol_w$} {}",
            status,
            r.severity,
            display_resource(&r.resource_id),
            r.policy_id,
            if r.status == Status::Pass {
                ""
            } else {
                r.reason.as_str()
            }
        )?;
    }
    Ok(())
}

fn print_summary(report: &ScanReport) {
    for p in &report.problems {
        eprintln!("bucketwatch scan: warning: {p}");
    }
    let s = &report.summary;
    let buckets = report
        .resources
        .iter()
        .filter(|r| r.get("ResourceType").and_then(Value::as_str) == Some("AWS.S3.Bucket"))
        .count();
    eprintln!(
        "bucketwatch scan: {} bucket{}{}, {} results: {} pass, {} fail, {} unknown, {} error, {} suppressed; {} API calls ({:.1} per bucket) in {:.2} s",
        buckets,
        if buckets == 1 { "" } else { "s" },
        report
            .account_id
            .as_deref()
            .map(|a| format!(" in account {a}"))
            .unwrap_or_default(),
        report.results.len(),
        s.pass,
        s.fail,
        s.unknown,
        s.error,
        s.suppressed,
        s.api_calls,
        s.api_calls_per_bucket,
        s.seconds
    );
}
