//! The test runner for native rules: evaluates each no-code rule's inline `Tests` and reports
//! every failure with its reason, for `bucketwatch test` to print.
//!
//! Owns: pass/fail judgement of native rule tests (PAT's criteria: the rule result must equal
//! `ExpectedResult`; native alert fields cannot raise, so there is nothing else to fail).
//! Must not touch: Python rules (counted as skipped here; their runner lives with the Python
//! runtime) or output formatting beyond `Display` of a failure.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::content::spec::{RuleTest, Severity};
use crate::content::{Content, Rule};

/// The result of running every native rule's tests in a content tree.
#[derive(Debug, Default)]
pub struct TestReport {
    pub rules: Vec<RuleTestResults>,
    /// Rules whose logic is Python, not run by this runner.
    pub skipped_python_rules: usize,
}

impl TestReport {
    pub fn passed(&self) -> usize {
        self.outcomes().filter(|(_, o)| o.passed()).count()
    }

    pub fn failed(&self) -> usize {
        self.outcomes().filter(|(_, o)| !o.passed()).count()
    }

    /// Every failed test with the rule it belongs to.
    pub fn failures(&self) -> impl Iterator<Item = (&RuleTestResults, &TestOutcome)> {
        self.outcomes().filter(|(_, o)| !o.passed())
    }

    fn outcomes(&self) -> impl Iterator<Item = (&RuleTestResults, &TestOutcome)> {
        self.rules
            .iter()
            .flat_map(|r| r.outcomes.iter().map(move |o| (r, o)))
    }
}

/// One rule's test outcomes, in the order its spec lists them.
#[derive(Debug)]
pub struct RuleTestResults {
    pub rule_id: String,
    pub path: PathBuf,
    pub outcomes: Vec<TestOutcome>,
}

/// One test's outcome.
#[derive(Debug)]
pub struct TestOutcome {
    pub name: String,
    pub expected: bool,
    /// `None` when the test passed.
    pub failure: Option<TestFailure>,
    /// The alert fields the rule would produce, when it matched.
    pub alert: Option<AlertPreview>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Why a test failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestFailure {
    #[error("Log is not a mapping")]
    LogNotAnObject,
    #[error("expected the rule to match; {0} did not")]
    DidNotMatch(String),
    #[error("expected the rule not to match, but it did")]
    Matched,
}

/// What a matching event would put in its alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertPreview {
    pub title: Option<String>,
    pub dedup: Option<String>,
    pub severity: Severity,
    pub context: Option<Map<String, Value>>,
}

/// Runs the tests of every no-code rule in `content`.
pub fn run_native_tests(content: &Content) -> TestReport {
    let mut report = TestReport::default();
    for rule in &content.rules {
        match run_rule_tests(rule) {
            Some(results) => report.rules.push(results),
            None => report.skipped_python_rules += 1,
        }
    }
    report
}

/// Runs one rule's tests; `None` when the rule's logic is Python.
pub fn run_rule_tests(rule: &Rule) -> Option<RuleTestResults> {
    if !rule.compiled.is_native() {
        return None;
    }
    Some(RuleTestResults {
        rule_id: rule.spec.rule_id.clone(),
        path: rule.path.clone(),
        outcomes: rule.spec.tests.iter().map(|t| run_test(rule, t)).collect(),
    })
}

fn run_test(rule: &Rule, test: &RuleTest) -> TestOutcome {
    let outcome = |failure, alert| TestOutcome {
        name: test.name.clone(),
        expected: test.expected_result,
        failure,
        alert,
    };
    let event = &test.log;
    if !event.is_object() {
        return outcome(Some(TestFailure::LogNotAnObject), None);
    }
    let compiled = &rule.compiled;
    let matched = compiled.matches(event) == Some(true);
    let alert = matched.then(|| AlertPreview {
        title: compiled.title(event),
        dedup: compiled.dedup(event),
        severity: compiled.severity(event),
        context: compiled.alert_context(event),
    });
    let failure = match (test.expected_result, matched) {
        (true, false) => Some(TestFailure::DidNotMatch(
            compiled
                .explain_miss(event)
                .unwrap_or_else(|| "the detection".into()),
        )),
        (false, true) => Some(TestFailure::Matched),
        _ => None,
    };
    outcome(failure, alert)
}
