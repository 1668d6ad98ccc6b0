//! `bucketwatch demo`: arguments, progress and the summary. The demo itself (generated logs,
//! the real ingest and delivery) is `bucketwatch_pipeline::demo`.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bucketwatch_core::Timestamp;
use bucketwatch_pipeline::Progress;
use bucketwatch_pipeline::demo::generate::{ACCOUNT, ATTACKS};
use bucketwatch_pipeline::demo::{DemoJob, DemoReport, SETTINGS_ENV, suggested_queries};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Args)]
pub struct DemoArgs {
    /// Where the demo keeps its logs, lake and alerts. Running the demo again replaces an
    /// earlier demo there; any other non-empty directory is refused.
    #[arg(long, value_name = "DIR", default_value = "bucketwatch-demo")]
    dir: PathBuf,

    /// Content directories with the rules to run; repeat for several.
    #[arg(long, value_name = "DIR", default_value = "content")]
    content: Vec<PathBuf>,
}

pub fn run(args: DemoArgs) -> anyhow::Result<u8> {
    for dir in &args.content {
        if !dir.is_dir() {
            bail!(
                "{}: no such content directory; run the demo from the root of the bucketwatch \
                 repository, or name the built-in detections with --content <repository>/content",
                dir.display()
            );
        }
    }
    let job = DemoJob::new(&args.dir, args.content, Timestamp::now());
    let terminal = io::stderr().is_terminal();
    if terminal {
        eprintln!(
            "bucketwatch demo: writing a day of logs to {}",
            job.paths.incoming.display()
        );
    }
    let prepared = job.prepare()?;
    let settings = job.settings_env_value()?;
    // SAFETY: the process has a single thread here (no runtime, engine or progress bar has
    // started one yet), so nothing can read the environment while it changes. The embedded
    // Python copies the environment when the engine starts it, below.
    unsafe { std::env::set_var(SETTINGS_ENV, &settings) };

    let runtime = crate::runtime::runtime()?;
    let bar = terminal.then(|| {
        let bar = ProgressBar::new(prepared.objects as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} log objects  {msg}  {elapsed}")
                .expect("a valid template"),
        );
        bar
    });
    let mut on_progress = |p: Progress| {
        if let Some(bar) = &bar {
            bar.set_position(p.objects_done);
            bar.set_message(format!("{} records", p.records));
        }
    };
    let report = job.run(&runtime, &mut on_progress)?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }

    let program = std::env::args().next().unwrap_or_default();
    let out = &mut io::stdout().lock();
    summary(&job, &report, prepared.objects, &program, out).context("writing to stdout")?;
    let err = &mut io::stderr().lock();
    Ok(u8::from(!problems(&report, err)))
}

/// Reports what did not go as the demo intends; true when nothing.
fn problems(report: &DemoReport, err: &mut dyn Write) -> bool {
    for p in &report.content_problems {
        let _ = writeln!(err, "bucketwatch demo: warning: {p}");
    }
    for e in &report.ingest.input_errors {
        let _ = writeln!(err, "bucketwatch demo: error: {e}");
    }
    for e in &report.delivery_errors {
        let _ = writeln!(err, "bucketwatch demo: delivery failed: {e}");
    }
    if !report.missing_rules.is_empty() {
        let _ = writeln!(
            err,
            "bucketwatch demo: these rules should have raised alerts and did not: {}; check the \
             warnings above and that --content names bucketwatch's built-in content",
            report.missing_rules.join(", ")
        );
    }
    if !report.unexpected_rules.is_empty() {
        let _ = writeln!(
            err,
            "bucketwatch demo: these rules raised alerts no attack of the demo is meant to \
             raise: {}",
            report.unexpected_rules.join(", ")
        );
    }
    if report.ingest.counts.failures() > 0 || report.ingest.rule_errors > 0 {
        let _ = writeln!(
            err,
            "bucketwatch demo: {} records failed to parse and {} rule errors occurred; see \
             logs.classification_failures and views.all_rule_errors",
            report.ingest.counts.failures(),
            report.ingest.rule_errors
        );
    }
    if report.undelivered > 0 {
        let _ = writeln!(
            err,
            "bucketwatch demo: {} alerts were not delivered",
            report.undelivered
        );
    }
    report.as_expected()
}

fn summary(
    job: &DemoJob,
    report: &DemoReport,
    objects: usize,
    program: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    let paths = &job.paths;
    let ingest = &report.ingest;
    writeln!(
        out,
        "bucketwatch demo: a day ({}) of S3 activity in the made-up AWS account {ACCOUNT}, with {} \
         attacks woven in, through the real pipeline.",
        report.date,
        ATTACKS.len()
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Ingested {} records from {objects} log objects in {:.1} s ({} failed to parse):",
        ingest.counts.total(),
        ingest.seconds,
        ingest.counts.failures()
    )?;
    for (log_type, n) in ingest.counts.iter() {
        writeln!(out, "  {:<34} {n:>6}", log_type.to_string())?;
    }
    writeln!(out)?;
    writeln!(out, "What happened that day:")?;
    for attack in ATTACKS {
        writeln!(out, "  {}", attack.story)?;
    }
    writeln!(out)?;
    let alerts: usize = report.alerts.iter().map(|a| a.count).sum();
    writeln!(
        out,
        "Alerts by rule: {alerts} alerts from {} rules, {} delivered to {}:",
        report.alerts.len(),
        report.delivered,
        paths.alerts_jsonl.display()
    )?;
    for a in &report.alerts {
        writeln!(
            out,
            "  {:<8} {:>2} alert{} {:>4} events  {}",
            a.severity.as_str(),
            a.count,
            if a.count == 1 { " " } else { "s" },
            a.events,
            a.rule_id
        )?;
        writeln!(out, "{:<34}{}", "", a.title)?;
    }
    writeln!(out)?;
    writeln!(out, "Where the data lives:")?;
    for (what, path) in [
        ("logs as delivered", &paths.incoming),
        ("lake (Delta tables)", &paths.lake),
        ("alert store (SQLite)", &paths.alerts_db),
        ("delivered alerts", &paths.alerts_jsonl),
        ("detection settings", &paths.settings),
    ] {
        writeln!(out, "  {what:<22} {}", path.display())?;
    }
    writeln!(out)?;
    writeln!(out, "SQL to try next:")?;
    let dir = shell_word(&paths.dir);
    for q in suggested_queries() {
        writeln!(out, "  # {}", q.about)?;
        writeln!(out, "  bucketwatch query --data-dir {dir} \"{}\"", q.sql)?;
    }
    if program.contains('/') {
        writeln!(
            out,
            "  # not on your PATH? {program} is the binary that ran this demo"
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Running `bucketwatch demo` again replaces this demo; `bucketwatch demo --help` says more."
    )
}

/// `path` as one word for a POSIX shell.
fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./-+:@%".contains(&b));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
