//! `bucketwatch ingest`, `query` and `lake` end to end: the real binary on generated logs, a
//! second independent engine (DuckDB with its delta extension) reading the same tables, and an
//! ingest killed with SIGKILL at random moments.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_bucketwatch");

fn content_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content")
}

fn bucketwatch(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("BUCKETWATCH_DATA_DIR", data)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("run bucketwatch")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A tiny deterministic generator (xorshift), so every run writes the same logs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `objects` access-log files of `lines` lines each over three days, each line with a unique
/// request id, plus one CloudTrail file and one unparseable line.
fn write_logs(dir: &Path, objects: usize, lines: usize) -> usize {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let requesters = [
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:sts::123456789012:assumed-role/app/i-0abc",
        "-",
    ];
    let mut total = 0;
    for o in 0..objects {
        let mut text = String::new();
        for l in 0..lines {
            let day = 14 + rng.below(3);
            let (h, m) = (rng.below(24), rng.below(60));
            let status = [200, 200, 200, 403, 404][rng.below(5) as usize];
            let requester = requesters[rng.below(3) as usize];
            let ip = format!("192.0.2.{}", rng.below(20));
            writeln!(
                text,
                "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be bucket-{b} \
                 [{day:02}/Mar/2026:{h:02}:{m:02}:00 +0000] {ip} {requester} REQ{o:04}X{l:05} \
                 REST.GET.OBJECT data/{l}.csv \"GET /bucket-{b}/data/{l}.csv HTTP/1.1\" {status} \
                 - 512 1024 10 9 \"-\" \"aws-cli/2.15\" - hostid SigV4 ECDHE-RSA-AES128-GCM-SHA256 \
                 AuthHeader bucket-{b}.s3.amazonaws.com TLSv1.2 - -",
                b = o % 3
            )
            .unwrap();
            total += 1;
        }
        std::fs::write(dir.join(format!("access-{o:03}.log")), text).unwrap();
    }
    let trail = serde_json::json!({"Records": [
        {"eventVersion": "1.09", "eventTime": "2026-03-15T10:00:00Z", "eventSource": "s3.amazonaws.com",
         "eventName": "PutBucketPolicy", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
         "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/mallory", "accountId": "123456789012"},
         "requestParameters": {"bucketName": "bucket-1", "bucketPolicy": {"Statement": [
             {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket-1/*"}]}},
         "responseElements": null, "eventID": "e1", "eventType": "AwsApiCall", "recipientAccountId": "123456789012"},
        {"eventVersion": "1.09", "eventTime": "2026-03-15T10:05:00Z", "eventSource": "s3.amazonaws.com",
         "eventName": "GetBucketAcl", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
         "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/mallory", "accountId": "123456789012"},
         "requestParameters": {"bucketName": "bucket-1"}, "eventID": "e2", "eventType": "AwsApiCall",
         "recipientAccountId": "123456789012", "brandNewTopLevelField": {"x": 1}}
    ]});
    std::fs::write(dir.join("trail.json"), trail.to_string()).unwrap();
    std::fs::write(dir.join("garbage.log"), "this is not a log line\n").unwrap();
    total + 3
}

fn query(data: &Path, format: &str, sql: &str) -> String {
    ok(bucketwatch(data, &["query", "--format", format, sql]))
}

fn scalar(data: &Path, sql: &str) -> i64 {
    let out = query(data, "csv", sql);
    out.lines()
        .nth(1)
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{sql}: {out}"))
}

const COUNT_ALL: &str = "SELECT (SELECT count(*) FROM logs.aws_s3serveraccess) \
    + (SELECT count(*) FROM logs.aws_cloudtrail) + (SELECT count(*) FROM logs.classification_failures)";

#[test]
fn ingest_then_query_and_ingesting_again_adds_nothing() {
    let logs = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let total = write_logs(logs.path(), 6, 40);
    let first = bucketwatch(
        data.path(),
        &[
            "ingest",
            "--content",
            content_dir().to_str().unwrap(),
            logs.path().to_str().unwrap(),
        ],
    );
    // One line is garbage: exit 1, and it is kept.
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("8 objects read"), "{stderr}");
    assert_eq!(scalar(data.path(), COUNT_ALL), total as i64);
    assert_eq!(
        scalar(
            data.path(),
            "SELECT count(*) FROM logs.classification_failures WHERE raw = 'this is not a log line'"
        ),
        1
    );
    // The public bucket policy is a built-in rule's match, with its alert id.
    assert!(
        scalar(
            data.path(),
            "SELECT count(*) FROM rule_matches.aws_cloudtrail WHERE eventname = 'PutBucketPolicy' AND p_alert_id IS NOT NULL"
        ) >= 1
    );
    alert_samples_are_matched_events(data.path());
    // Unknown fields become columns; nested objects are JSON text.
    let out = query(
        data.path(),
        "csv",
        "SELECT brandnewtoplevelfield, useridentity FROM logs.aws_cloudtrail WHERE eventid = 'e2'",
    );
    assert!(
        out.contains(r#"{""x"":1}"#) && out.contains("mallory"),
        "{out}"
    );

    let again = bucketwatch(
        data.path(),
        &[
            "ingest",
            "--content",
            content_dir().to_str().unwrap(),
            logs.path().to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("0 objects read, 8 already ingested"),
        "{stderr}"
    );
    assert_eq!(scalar(data.path(), COUNT_ALL), total as i64);
}

#[test]
fn refused_statements_and_sql_errors_are_explained() {
    let logs = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_logs(logs.path(), 1, 5);
    bucketwatch(
        data.path(),
        &[
            "ingest",
            "--content",
            content_dir().to_str().unwrap(),
            logs.path().to_str().unwrap(),
        ],
    );
    let out = bucketwatch(
        data.path(),
        &["query", "DROP TABLE logs.aws_s3serveraccess"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("read-only"), "{stderr}");
    // A script with a refused statement runs none of it.
    let out = bucketwatch(
        data.path(),
        &["query", "SELECT 1; DELETE FROM logs.aws_s3serveraccess"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("read-only") && stderr.contains("DELETE"),
        "{stderr}"
    );
    let out = bucketwatch(
        data.path(),
        &["query", "SELECT nosuchcolumn FROM logs.aws_s3serveraccess"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nosuchcolumn") && stderr.contains("column 8"),
        "{stderr}"
    );
    // In a script, results print as statements complete; the first error stops it and
    // points at its line.
    let out = bucketwatch(
        data.path(),
        &[
            "query",
            "--format",
            "csv",
            "SELECT count(*) > 0 AS some FROM logs.aws_s3serveraccess;\nSELECT 'two' AS second;\n  SELECT nosuchcolumn FROM logs.aws_s3serveraccess;\nSELECT 'four' AS fourth",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, "some\ntrue\nsecond\ntwo\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches(" row in ").count(), 2, "{stderr}");
    assert!(
        stderr.contains("nosuchcolumn") && stderr.contains("at line 3, column 10"),
        "{stderr}"
    );
}

#[test]
fn datafusion_settings_come_from_the_environment() {
    let data = tempfile::tempdir().unwrap();
    let sql = "SELECT value FROM information_schema.df_settings \
        WHERE name = 'datafusion.execution.target_partitions'";
    let run = |value: Option<&str>| {
        let mut command = Command::new(BIN);
        command
            .args(["query", "--format", "csv", sql])
            .env("BUCKETWATCH_DATA_DIR", data.path())
            .env_remove("DATAFUSION_EXECUTION_TARGET_PARTITIONS");
        if let Some(value) = value {
            command.env("DATAFUSION_EXECUTION_TARGET_PARTITIONS", value);
        }
        command.output().expect("run bucketwatch")
    };
    assert_eq!(ok(run(Some("3"))), "value\n3\n");
    // Without it, twice the cores: scans wait on reads too.
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(ok(run(None)), format!("value\n{}\n", 2 * cores));
    let out = run(Some("three"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("three"), "{stderr}");
}

/// The same rows through DuckDB's delta reader, with the time and list columns rendered the
/// same way by both engines.
fn duckdb(lake: &Path, sql: &str) -> String {
    let python = bucketwatch_testkit::venv_program("python");
    let script = bucketwatch_testkit::workspace_root().join("tests/peers/duckdb_query.py");
    let output = Command::new(python)
        .arg(script)
        .arg(lake)
        .arg(sql)
        .output()
        .unwrap();
    ok(output)
}

fn same_rows(data: &Path) {
    let ours = query(
        data,
        "csv",
        "SELECT p_row_id, bucket, httpstatus, requester, CAST(p_event_date AS VARCHAR) AS day, \
         CAST(date_part('epoch', p_event_time) AS BIGINT) AS t, array_to_string(p_any_ip_addresses, ';') AS ips \
         FROM logs.aws_s3serveraccess ORDER BY p_row_id",
    );
    let theirs = duckdb(
        &data.join("lake"),
        "SELECT p_row_id, bucket, httpstatus, requester, CAST(p_event_date AS VARCHAR) AS day, \
         CAST(epoch(p_event_time) AS BIGINT) AS t, array_to_string(p_any_ip_addresses, ';') AS ips \
         FROM {logs.aws_s3serveraccess} ORDER BY p_row_id",
    );
    assert!(ours.lines().count() > 100, "{ours}");
    assert_eq!(ours, theirs);
    let ours = query(
        data,
        "csv",
        "SELECT eventid, eventname, requestparameters FROM logs.aws_cloudtrail ORDER BY eventid",
    );
    let theirs = duckdb(
        &data.join("lake"),
        "SELECT eventid, eventname, requestparameters FROM {logs.aws_cloudtrail} ORDER BY eventid",
    );
    assert_eq!(ours, theirs);
}

#[test]
fn duckdb_reads_the_same_rows_before_and_after_compaction() {
    let logs = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_logs(logs.path(), 12, 20);
    // Small commits: many files per day for compaction to merge.
    bucketwatch(
        data.path(),
        &[
            "ingest",
            "--commit-rows",
            "30",
            "--content",
            content_dir().to_str().unwrap(),
            logs.path().to_str().unwrap(),
        ],
    );
    same_rows(data.path());
    let out = ok(bucketwatch(data.path(), &["lake", "compact"]));
    assert!(out.contains("logs.aws_s3serveraccess:"), "{out}");
    same_rows(data.path());
}

/// Every window keeps its first matched events as samples, up to the limit, and each sample is
/// one of the window's `rule_matches` rows (the ingest drops the events of other matches early).
fn alert_samples_are_matched_events(data: &Path) {
    let matched = query(
        data,
        "csv",
        "SELECT p_alert_id, p_row_id FROM rule_matches.aws_s3serveraccess WHERE p_alert_id IS NOT NULL \
         UNION ALL SELECT p_alert_id, p_row_id FROM rule_matches.aws_cloudtrail WHERE p_alert_id IS NOT NULL",
    );
    let matched: std::collections::BTreeSet<(String, String)> = matched
        .lines()
        .skip(1)
        .map(|l| {
            let (alert, row) = l.split_once(',').unwrap();
            (alert.to_string(), row.to_string())
        })
        .collect();
    let conn = rusqlite::Connection::open(data.join("alerts.db")).unwrap();
    let mut windows = conn
        .prepare("SELECT alert_id, event_count FROM windows")
        .unwrap();
    let windows: Vec<(String, i64)> = windows
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        windows
            .iter()
            .any(|(_, n)| *n > bucketwatch_alert::MAX_SAMPLE_EVENTS as i64),
        "no window with more matches than samples: {windows:?}"
    );
    let mut samples = conn
        .prepare("SELECT event FROM alert_samples WHERE alert_id = ?1 ORDER BY seq")
        .unwrap();
    for (alert_id, event_count) in &windows {
        let events: Vec<serde_json::Value> = samples
            .query_map([alert_id], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|e| serde_json::from_str(&e.unwrap()).unwrap())
            .collect();
        let kept = (*event_count).min(bucketwatch_alert::MAX_SAMPLE_EVENTS as i64);
        assert_eq!(events.len() as i64, kept, "{alert_id}");
        for event in events {
            let row_id = event["p_row_id"]
                .as_str()
                .unwrap_or_else(|| panic!("{event}"));
            assert!(
                matched.contains(&(alert_id.clone(), row_id.to_string())),
                "{alert_id}: sample {row_id} is not among its matches"
            );
        }
    }
}

/// Alerts per rule and dedup with their event counts, read from the store.
fn alert_counts(data: &Path) -> BTreeMap<(String, String), i64> {
    let conn = rusqlite::Connection::open(data.join("alerts.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT rule_id, dedup_key, event_count FROM windows")
        .unwrap();
    stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn an_ingest_killed_at_random_moments_ends_with_every_record_once() {
    let logs = tempfile::tempdir().unwrap();
    let total = write_logs(logs.path(), 50, 20);
    let args = |data: &Path| -> Command {
        let mut c = Command::new(BIN);
        c.args(["ingest", "--commit-rows", "60", "--content"])
            .arg(content_dir())
            .arg(logs.path())
            .env("BUCKETWATCH_DATA_DIR", data)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    // The undisturbed run is the reference for alert counts.
    let reference = tempfile::tempdir().unwrap();
    let status = args(reference.path()).status().unwrap();
    assert_eq!(status.code(), Some(1));
    let expected_alerts = alert_counts(reference.path());
    assert!(!expected_alerts.is_empty());

    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..10 {
        let data = tempfile::tempdir().unwrap();
        let mut kills = 0;
        loop {
            let mut child = args(data.path()).spawn().unwrap();
            let delay = Duration::from_millis(200 + rng.below(2500));
            std::thread::sleep(delay);
            match child.try_wait().unwrap() {
                // 1 when this run read the unparseable object, 0 when an earlier run did.
                Some(status) => {
                    assert!(
                        matches!(status.code(), Some(0 | 1)),
                        "round {round}: {status}"
                    );
                    break;
                }
                None if kills < 3 => {
                    child.kill().unwrap();
                    child.wait().unwrap();
                    kills += 1;
                }
                None => {
                    let status = child.wait().unwrap();
                    assert!(
                        matches!(status.code(), Some(0 | 1)),
                        "round {round}: {status}"
                    );
                    break;
                }
            }
        }
        assert_eq!(
            scalar(data.path(), COUNT_ALL),
            total as i64,
            "round {round} after {kills} kills"
        );
        assert_eq!(
            scalar(
                data.path(),
                "SELECT count(DISTINCT requestid) FROM logs.aws_s3serveraccess"
            ),
            scalar(data.path(), "SELECT count(*) FROM logs.aws_s3serveraccess"),
            "round {round}: a record was written twice"
        );
        assert_eq!(alert_counts(data.path()), expected_alerts, "round {round}");
    }
}

/// Runs a boto3 snippet against the moto server (boto3 comes with moto in the test venv).
fn boto3(moto: &bucketwatch_testkit::Moto, code: &str) {
    let python = bucketwatch_testkit::venv_program("python");
    let script = format!(
        "import boto3\ns3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', \
         aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}",
        moto.endpoint()
    );
    let out = Command::new(python).arg("-c").arg(script).output().unwrap();
    ok(out);
}

#[test]
fn an_s3_prefix_ingests_into_a_lake_on_s3() {
    let moto = bucketwatch_testkit::Moto::start();
    let logs = tempfile::tempdir().unwrap();
    let total = write_logs(logs.path(), 3, 10);
    let mut puts =
        String::from("s3.create_bucket(Bucket='logs')\ns3.create_bucket(Bucket='lake')\n");
    for entry in std::fs::read_dir(logs.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        writeln!(
            puts,
            "s3.upload_file('{}', 'logs', 'AWSLogs/in/{name}')",
            path.display()
        )
        .unwrap();
    }
    // A folder marker and an empty object: skipped, not failures.
    puts.push_str("s3.put_object(Bucket='logs', Key='AWSLogs/in/', Body=b'')\n");
    puts.push_str("s3.put_object(Bucket='logs', Key='AWSLogs/in/empty.log', Body=b'')\n");
    boto3(&moto, &puts);

    let run = |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("BUCKETWATCH_DATA_DIR", "s3://lake/security")
            .env("XDG_DATA_HOME", logs.path().join("state"))
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
        for (k, v) in moto.env() {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let out = run(&[
        "ingest",
        "--content",
        content_dir().to_str().unwrap(),
        "s3://logs/AWSLogs/in/",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("5 objects read"), "{stderr}");
    let out = ok(run(&["query", "--format", "csv", COUNT_ALL]));
    assert_eq!(
        out.lines().nth(1),
        Some(total.to_string().as_str()),
        "{out}"
    );
    let out = ok(run(&[
        "query",
        "--format",
        "csv",
        "SELECT DISTINCT p_source_object FROM logs.aws_cloudtrail",
    ]));
    assert!(out.contains("s3://logs/AWSLogs/in/trail.json"), "{out}");
    let again = run(&[
        "ingest",
        "--content",
        content_dir().to_str().unwrap(),
        "s3://logs/AWSLogs/in/",
    ]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("0 objects read, 5 already ingested"),
        "{stderr}"
    );
}
