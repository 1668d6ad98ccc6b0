//! End-to-end tests of `bucketwatch detect`: parse output piped through the real engine.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

fn run(args: &[&str], stdin: &[u8]) -> (i32, Vec<Value>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bucketwatch"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let values = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code().unwrap(),
        values,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn parsed_events_raise_built_in_detections_and_rule_errors_are_reported() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sal = root.join("examples/s3-access.log");
    let parsed = Command::new(env!("CARGO_BIN_EXE_bucketwatch"))
        .args(["parse", "--log-type", "AWS.S3ServerAccess"])
        .arg(&sal)
        .output()
        .unwrap();
    let events: Vec<&[u8]> = parsed
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| {
            let needle = br#""p_log_type":"AWS.S3ServerAccess""#;
            l.windows(needle.len()).any(|w| w == needle)
        })
        .collect();
    let input = events.join(&b'\n');
    let content = root.join("content");
    let (code, detections, stderr) = run(
        &["detect", "--content", content.to_str().unwrap(), "-"],
        &input,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!("{} events", events.len())),
        "{stderr}"
    );
    let outside: Vec<&Value> = detections
        .iter()
        .filter(|d| d["rule_id"] == "BucketWatch.S3Access.OutsideApprovedNetworks")
        .collect();
    assert!(!outside.is_empty(), "{detections:#?}");
    assert!(
        outside
            .iter()
            .all(|d| d["kind"] == "match" && d["p_row_id"].is_string())
    );

    // A rule that raises yields a rule_error line; the other rules still run.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("boom.yml"),
        "AnalysisType: rule\nRuleID: T.Boom\nEnabled: true\nLogTypes: [AWS.S3ServerAccess]\nSeverity: Low\nFilename: boom.py\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("boom.py"),
        "def rule(event):\n    return event['no_such_field']\n",
    )
    .unwrap();
    let (code, detections, stderr) = run(
        &[
            "detect",
            "--content",
            content.to_str().unwrap(),
            "--content",
            dir.path().to_str().unwrap(),
        ],
        &input,
    );
    assert_eq!(code, 0, "{stderr}");
    let errors: Vec<&Value> = detections
        .iter()
        .filter(|d| d["rule_id"] == "T.Boom")
        .collect();
    assert_eq!(errors.len(), events.len());
    assert_eq!(errors[0]["kind"], "rule_error");
    assert_eq!(errors[0]["error_type"], "KeyError");
    assert!(
        stderr.contains(&format!("{} rule errors", events.len())),
        "{stderr}"
    );
}

#[test]
fn raw_log_lines_are_refused_with_a_hint() {
    let (code, detections, stderr) = run(&["detect", "--content", "/nonexistent-dir"], b"");
    assert_eq!(code, 2);
    assert!(stderr.contains("not a directory"), "{stderr}");
    assert!(detections.is_empty());
    let content = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content");
    let (code, _, stderr) = run(
        &["detect", "--content", content.to_str().unwrap()],
        b"not json at all\n",
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("bucketwatch parse"), "{stderr}");
}
