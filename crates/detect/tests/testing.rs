//! Test-runner tests: passing fixture tests, and failures reported with their reasons.

use std::fs;
use std::path::Path;

use bucketwatch_detect::testing::TestFailure;
use bucketwatch_detect::{Engine, EngineOptions, Severity, TestOptions, run_tests};
use serde_json::json;

#[test]
fn fixture_tests_pass_native_and_python() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/content");
    let engine = Engine::load(&[root], &EngineOptions::default());
    let report = run_tests(&engine, &TestOptions::default());
    let failures: Vec<String> = report
        .failures()
        .map(|(d, o)| format!("{} {}: {:?}", d.id, o.name, o.failure))
        .chain(report.content_problems.iter().cloned())
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(report.passed() >= 5, "{}", report.passed());

    let results = report
        .detections
        .iter()
        .find(|d| d.id == "Fixture.S3.ObjectAccessDenied")
        .unwrap();
    let alert = results.outcomes[0].alert.as_ref().unwrap();
    assert_eq!(
        alert.title.as_deref(),
        Some("Denied REST.GET.OBJECT on s3://fixture-bucket/secret.txt")
    );
    assert_eq!(
        alert.dedup.as_deref(),
        Some("fixture-bucket:arn:aws:iam::123456789012:user/alice")
    );
    assert_eq!(
        alert.severity,
        Severity::High,
        "public remote IP raises the severity"
    );
    assert_eq!(
        alert.context.as_ref().unwrap()["error"],
        json!("AccessDenied")
    );
    assert!(results.outcomes[1].alert.is_none());
}

#[test]
fn failures_carry_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "AnalysisType: rule
RuleID: Test.Failing
Enabled: true
LogTypes: [AWS.S3ServerAccess]
Severity: Medium
InlineFilters:
  - {KeyPath: bucket, Condition: IsNotIn, Values: [ignored-bucket]}
Detection:
  - {KeyPath: operation, Condition: StartsWith, Value: REST.}
  - {KeyPath: httpstatus, Condition: IsIn, Values: [403]}
Tests:
  - Name: passes
    ExpectedResult: true
    Log: {operation: REST.GET.OBJECT, httpstatus: 403}
  - Name: wrong status
    ExpectedResult: true
    Log: {operation: REST.GET.OBJECT, httpstatus: 200}
  - Name: filtered bucket
    ExpectedResult: true
    Log: {operation: REST.GET.OBJECT, httpstatus: 403, bucket: ignored-bucket}
  - Name: unexpected match
    ExpectedResult: false
    Log: {operation: REST.PUT.OBJECT, httpstatus: 403}
  - Name: not a mapping
    ExpectedResult: false
    Log: [1, 2]
";
    fs::write(dir.path().join("failing.yml"), rule).unwrap();
    let engine = Engine::load(&[dir.path().to_path_buf()], &EngineOptions::default());
    assert!(engine.problems().is_empty(), "{:#?}", engine.problems());
    let report = run_tests(&engine, &TestOptions::default());
    let results = &report.detections[0];
    let failures: Vec<_> = results
        .outcomes
        .iter()
        .map(|o| (o.name.as_str(), o.failure.clone()))
        .collect();
    assert_eq!(
        failures,
        [
            ("passes", None),
            (
                "wrong status",
                Some(TestFailure::DidNotMatch("Detection[1]".into()))
            ),
            (
                "filtered bucket",
                Some(TestFailure::DidNotMatch("InlineFilters[0]".into()))
            ),
            ("unexpected match", Some(TestFailure::Matched)),
            ("not a mapping", Some(TestFailure::LogNotAnObject)),
        ]
    );
    assert_eq!(
        results.outcomes[1].failure.as_ref().unwrap().to_string(),
        "expected the rule to match; Detection[1] did not"
    );

    assert_eq!((report.passed(), report.failed()), (1, 4));
    let failed: Vec<_> = report
        .failures()
        .map(|(rule, o)| (rule.id.as_str(), o.name.as_str()))
        .collect();
    assert_eq!(failed[0], ("Test.Failing", "wrong status"));
}
