//! `bucketwatch demo` end to end: the real binary in a temporary directory, its alert store and
//! delivered alerts read back independently, its suggested queries run as a user would paste
//! them, and a second run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bucketwatch");

/// One rule per attack of the demo (two for the exfiltration, which is both a principal the
/// bucket does not know and a download volume), and nothing else.
const EXPECTED: &[&str] = &[
    "BucketWatch.S3Access.AccessDeniedEnumeration",
    "BucketWatch.S3Access.UnknownRequester",
    "BucketWatch.S3Access.LargeDownloadVolume",
    "BucketWatch.S3Access.InsecureTransport",
    "BucketWatch.S3Access.OutsideApprovedNetworks",
    "BucketWatch.CloudTrail.S3.BucketMadePublic",
    "BucketWatch.CloudTrail.S3.LoggingDisabled",
    "BucketWatch.CloudTrail.S3.SseCRewrite",
    "BucketWatch.CloudTrail.S3.MassObjectDeletion",
];

fn content_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content")
}

/// Runs `bucketwatch demo` in `cwd`, with the caller's settings variable out of the way.
fn demo(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("demo")
        .args(args)
        .current_dir(cwd)
        .env_remove("BUCKETWATCH_SETTINGS")
        .output()
        .expect("run bucketwatch")
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Rule id -> alert ids, from the alert store.
fn stored_alerts(db: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn
        .prepare("SELECT a.rule_id, a.alert_id FROM alerts a JOIN alert_headers h USING (alert_id) WHERE h.kind = 'RULE'")
        .unwrap();
    let rows = statement
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .unwrap();
    let mut alerts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        let (rule, alert) = row.unwrap();
        alerts.entry(rule).or_default().insert(alert);
    }
    alerts
}

/// Rule id -> alert ids, from the delivered JSON lines.
fn delivered_alerts(jsonl: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(jsonl).unwrap();
    let mut alerts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines() {
        let alert: Value = serde_json::from_str(line).unwrap();
        let fresh = alerts
            .entry(alert["id"].as_str().unwrap().to_string())
            .or_default()
            .insert(alert["alertId"].as_str().unwrap().to_string());
        assert!(fresh, "delivered twice: {line}");
    }
    alerts
}

/// The `bucketwatch query ...` lines of the summary.
fn suggested_commands(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("bucketwatch query "))
        .map(String::from)
        .collect()
}

/// Runs a command line as a shell would, with this build's binary as `bucketwatch`.
fn shell(cwd: &Path, line: &str) -> Output {
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(cwd)
        .env("PATH", path)
        .env_remove("BUCKETWATCH_DATA_DIR")
        .output()
        .expect("run sh")
}

#[test]
fn demo_raises_exactly_the_attack_alerts_delivers_them_and_its_queries_return_rows() {
    let cwd = tempfile::tempdir().unwrap();
    let content = content_dir();
    let content = content.to_str().unwrap();
    let first = demo(cwd.path(), &["--content", content]);
    assert!(first.status.success(), "{}", describe(&first));
    let stdout = String::from_utf8(first.stdout.clone()).unwrap();

    // The default directory, in the working directory.
    let dir = cwd.path().join("bucketwatch-demo");
    let expected: BTreeSet<String> = EXPECTED.iter().map(|r| r.to_string()).collect();
    let stored = stored_alerts(&dir.join("alerts.db"));
    assert_eq!(
        stored.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "{}",
        describe(&first)
    );
    // Every alert was delivered, once, and nothing else was.
    assert_eq!(delivered_alerts(&dir.join("alerts.jsonl")), stored);

    // The summary names every rule and where the data lives.
    for rule in EXPECTED {
        assert!(stdout.contains(rule), "{rule} missing from:\n{stdout}");
    }
    for file in ["alerts.db", "alerts.jsonl", "lake", "incoming"] {
        assert!(
            stdout.contains(&format!("bucketwatch-demo/{file}")),
            "{stdout}"
        );
    }

    // Each suggested query, pasted into a shell, returns rows.
    let commands = suggested_commands(&stdout);
    assert!(commands.len() >= 3, "{stdout}");
    for command in &commands {
        let output = shell(cwd.path(), command);
        assert!(output.status.success(), "{command}\n{}", describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let rows: u64 = stderr
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no row count from {command}: {stderr}"));
        assert!(rows > 0, "{command} returned no rows");
    }

    // Running again replaces the earlier demo: the same alerts once, not twice; a file of the
    // user's in the directory stays.
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    let second = demo(cwd.path(), &["--content", content]);
    assert!(second.status.success(), "{}", describe(&second));
    let again = stored_alerts(&dir.join("alerts.db"));
    assert_eq!(
        again.keys().collect::<Vec<_>>(),
        stored.keys().collect::<Vec<_>>()
    );
    let count = |alerts: &BTreeMap<String, BTreeSet<String>>| -> usize {
        alerts.values().map(BTreeSet::len).sum()
    };
    assert_eq!(count(&again), count(&stored));
    assert_eq!(delivered_alerts(&dir.join("alerts.jsonl")), again);
    assert!(dir.join("notes.txt").is_file());
}

#[test]
fn demo_refuses_a_directory_it_did_not_make() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = cwd.path().join("important");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("data.txt"), "keep me\n").unwrap();
    let content = content_dir();
    let output = demo(
        cwd.path(),
        &["--dir", "important", "--content", content.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not created by bucketwatch demo"),
        "{stderr}"
    );
    assert!(stderr.contains("--dir"), "{stderr}");
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1);
}

#[test]
fn demo_outside_the_repository_says_how_to_find_the_content() {
    let cwd = tempfile::tempdir().unwrap();
    let output = demo(cwd.path(), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("content: no such content directory"),
        "{stderr}"
    );
    assert!(stderr.contains("--content"), "{stderr}");
    assert!(!cwd.path().join("bucketwatch-demo").exists());
}
