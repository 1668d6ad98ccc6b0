//! The built-in detections in content/ pass their own tests through the real binary.

use std::path::Path;
use std::process::Command;

#[test]
fn built_in_content_passes_its_tests() {
    let content = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content");
    let out = Command::new(env!("CARGO_BIN_EXE_bucketwatch"))
        .args(["test", "--minimum-tests", "3"])
        .arg(&content)
        .output()
        .expect("bucketwatch runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed"), "{stdout}");
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 50, "{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}

#[test]
fn failing_content_exits_1_and_names_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.yml"),
        "AnalysisType: rule\nRuleID: T.Fail\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nFilename: r.py\nTests:\n  - Name: expects a match\n    ExpectedResult: true\n    Log: {eventName: GetObject}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("r.py"),
        "def rule(event):\n    return event['missing'] == 1\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bucketwatch"))
        .arg("test")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  T.Fail"), "{stdout}");
    assert!(stdout.contains("rule() raised KeyError"), "{stdout}");
    assert!(stdout.contains("r.py, line 2, in rule"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("0 passed, 1 failed"),
        "{stdout}"
    );
}
