//! `bucketwatch test`: runs the inline `Tests` of every rule and policy, native and Python, with
//! panther-analysis's pass criteria, and reports each failure with its reason.
//!
//! A rule test passes when the rule's verdict equals `ExpectedResult` and, for a match, none of
//! its optional functions raised or returned the wrong type. A policy test passes when
//! `policy(resource)` returns `ExpectedResult`, and, when it fails the resource, its optional
//! functions ran cleanly.
//!
//! Must not touch: output formatting beyond `Display` (the binary prints the report).

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use serde_json::{Map, Value};

use crate::content::spec::{Mock, RuleSpec, RuleTest, Severity};
use crate::engine::{Engine, EnginePolicy, EngineRule};
use crate::python::{PyCallError, PyEvent, RuleFunctionsOutput, rule::with_mocks};

/// Which detections to test: `KEY=V1,V2` keeps those whose field has one of the values
/// (case-insensitive), `KEY!=V1,V2` drops them; several filters must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub key: String,
    pub values: Vec<String>,
    pub negate: bool,
}

impl std::str::FromStr for Filter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, values, negate) = match s.split_once("!=") {
            Some((k, v)) => (k, v, true),
            None => match s.split_once('=') {
                Some((k, v)) => (k, v, false),
                None => return Err(format!("filter '{s}' must look like KEY=V1,V2 or KEY!=V")),
            },
        };
        let values: Vec<String> = values
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if key.trim().is_empty() || values.is_empty() {
            return Err(format!("filter '{s}' needs a key and at least one value"));
        }
        Ok(Filter {
            key: key.trim().to_string(),
            values,
            negate,
        })
    }
}

impl Filter {
    fn keeps(&self, fields: &dyn Fn(&str) -> Vec<String>) -> bool {
        let have = fields(&self.key.to_ascii_lowercase());
        let hit = have
            .iter()
            .any(|h| self.values.iter().any(|v| v.eq_ignore_ascii_case(h)));
        hit != self.negate
    }
}

#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    pub filters: Vec<Filter>,
    /// Detections with fewer tests fail; above 1, each needs a positive and a negative test.
    pub minimum_tests: usize,
}

/// The outcome of a test run.
#[derive(Debug, Default)]
pub struct TestReport {
    pub detections: Vec<DetectionTests>,
    /// Content that could not be loaded or imported: each counts as a failure.
    pub content_problems: Vec<String>,
}

impl TestReport {
    pub fn passed(&self) -> usize {
        self.outcomes().filter(|(_, o)| o.passed()).count()
    }

    pub fn failed(&self) -> usize {
        self.outcomes().filter(|(_, o)| !o.passed()).count()
            + self.content_problems.len()
            + self
                .detections
                .iter()
                .filter(|d| d.coverage_problem.is_some())
                .count()
    }

    /// Every failed test with the detection it belongs to.
    pub fn failures(&self) -> impl Iterator<Item = (&DetectionTests, &TestOutcome)> {
        self.outcomes().filter(|(_, o)| !o.passed())
    }

    pub fn outcomes(&self) -> impl Iterator<Item = (&DetectionTests, &TestOutcome)> {
        self.detections
            .iter()
            .flat_map(|d| d.outcomes.iter().map(move |o| (d, o)))
    }
}

/// One rule's or policy's test outcomes, in the order its spec lists them.
#[derive(Debug)]
pub struct DetectionTests {
    pub id: String,
    pub path: PathBuf,
    pub outcomes: Vec<TestOutcome>,
    /// Set when `--minimum-tests` is not met.
    pub coverage_problem: Option<String>,
}

#[derive(Debug)]
pub struct TestOutcome {
    pub name: String,
    pub expected: bool,
    /// `None` when the test passed.
    pub failure: Option<TestFailure>,
    /// The alert fields a match would produce.
    pub alert: Option<AlertPreview>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TestFailure {
    #[error("Log is not a mapping")]
    LogNotAnObject,
    #[error("expected the rule to match; {0} did not")]
    DidNotMatch(String),
    #[error("expected the rule not to match, but it did")]
    Matched,
    #[error("expected {expected}, got {got}")]
    Verdict { expected: bool, got: bool },
    #[error("{function}() raised {error}")]
    Raised {
        function: &'static str,
        error: PyCallError,
    },
    #[error("{}", .0.iter().map(|(f, e)| format!("{f}() failed: {e}")).collect::<Vec<_>>().join("; "))]
    Functions(Vec<(&'static str, PyCallError)>),
}

/// What a matching event would put in its alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertPreview {
    pub title: Option<String>,
    pub dedup: Option<String>,
    pub severity: Severity,
    pub context: Option<Map<String, Value>>,
}

/// Runs the tests of every rule and policy the filters keep.
pub fn run_tests(engine: &Engine, options: &TestOptions) -> TestReport {
    let mut report = TestReport {
        content_problems: engine.problems().iter().map(ToString::to_string).collect(),
        ..TestReport::default()
    };
    for rule in engine.rules() {
        let spec = &rule.rule.spec;
        if !options
            .filters
            .iter()
            .all(|f| f.keeps(&|k| rule_field(spec, k)))
        {
            continue;
        }
        let outcomes: Vec<TestOutcome> = spec
            .tests
            .iter()
            .map(|t| run_rule_test(engine, rule, t))
            .collect();
        let tests: Vec<bool> = spec.tests.iter().map(|t| t.expected_result).collect();
        report.detections.push(DetectionTests {
            id: spec.rule_id.clone(),
            path: rule.rule.path.clone(),
            outcomes,
            coverage_problem: coverage(&tests, options.minimum_tests),
        });
    }
    for policy in engine.policies() {
        let spec = &policy.policy.spec;
        let fields = |k: &str| -> Vec<String> {
            match k {
                "policyid" | "id" => vec![spec.policy_id.clone()],
                "analysistype" => vec!["policy".into()],
                "severity" => vec![spec.severity.to_string()],
                "enabled" => vec![spec.enabled.to_string()],
                "resourcetypes" => spec.resource_types.clone(),
                "tags" => spec.tags.clone(),
                _ => Vec::new(),
            }
        };
        if !options.filters.iter().all(|f| f.keeps(&fields)) {
            continue;
        }
        let outcomes = spec
            .tests
            .iter()
            .map(|t| run_policy_test(engine, policy, t))
            .collect();
        let tests: Vec<bool> = spec.tests.iter().map(|t| t.expected_result).collect();
        report.detections.push(DetectionTests {
            id: spec.policy_id.clone(),
            path: policy.policy.path.clone(),
            outcomes,
            coverage_problem: coverage(&tests, options.minimum_tests),
        });
    }
    report
}

fn rule_field(spec: &RuleSpec, key: &str) -> Vec<String> {
    match key {
        "ruleid" | "id" => vec![spec.rule_id.clone()],
        "analysistype" => vec![format!("{:?}", spec.analysis_type).to_ascii_lowercase()],
        "severity" => vec![spec.severity.to_string()],
        "enabled" => vec![spec.enabled.to_string()],
        "logtypes" => spec.log_types.clone(),
        "tags" => spec.tags.clone(),
        "createalert" => vec![spec.create_alert.to_string()],
        _ => Vec::new(),
    }
}

fn coverage(expected: &[bool], minimum: usize) -> Option<String> {
    if expected.len() < minimum {
        return Some(format!(
            "has {} tests; at least {minimum} are required",
            expected.len()
        ));
    }
    if minimum > 1 && !(expected.contains(&true) && expected.contains(&false)) {
        return Some("needs at least one positive and one negative test".into());
    }
    None
}

fn mocks(m: &[Mock]) -> Vec<(String, Value)> {
    m.iter()
        .map(|m| (m.object_name.clone(), m.return_value.clone()))
        .collect()
}

fn run_rule_test(engine: &Engine, rule: &EngineRule, test: &RuleTest) -> TestOutcome {
    let outcome = |failure, alert| TestOutcome {
        name: test.name.clone(),
        expected: test.expected_result,
        failure,
        alert,
    };
    let Some(log) = test.log.as_object() else {
        return outcome(Some(TestFailure::LogNotAnObject), None);
    };
    // The event's p_log_type chooses the data model; tests written without one get the
    // test's legacy LogType or the rule's first log type.
    let mut event = log.clone();
    if !event.contains_key("p_log_type")
        && let Some(t) = test
            .log_type
            .clone()
            .or_else(|| rule.rule.spec.log_types.first().cloned())
    {
        event.insert("p_log_type".into(), Value::String(t));
    }
    let event = Arc::new(Value::Object(event));
    let log_type = event["p_log_type"].as_str().unwrap_or_default().to_string();
    let compiled = &rule.rule.compiled;
    let passes_filters = compiled.passes_filters(&event);

    let Some(python) = rule.python() else {
        let matched = passes_filters && compiled.matches(&event) == Some(true);
        let failure = match (test.expected_result, matched) {
            (true, false) => Some(TestFailure::DidNotMatch(
                compiled
                    .explain_miss(&event)
                    .unwrap_or_else(|| "the detection".into()),
            )),
            (false, true) => Some(TestFailure::Matched),
            _ => None,
        };
        let alert = matched
            .then(|| preview(rule.preview(&event, &log_type, RuleFunctionsOutput::default())));
        return outcome(failure, alert);
    };
    if !passes_filters {
        let failure = test.expected_result.then(|| {
            TestFailure::DidNotMatch(
                compiled
                    .explain_miss(&event)
                    .unwrap_or_else(|| "InlineFilters".into()),
            )
        });
        return outcome(failure, None);
    }
    let Some(rt) = engine.runtime() else {
        return outcome(None, None);
    };
    Python::attach(|py| {
        let view = PyEvent::shared(Arc::clone(&event), engine.data_model(&log_type))
            .and_then(|e| Bound::new(py, e).ok())
            .map(Bound::into_any);
        let Some(view) = view else {
            return outcome(Some(TestFailure::LogNotAnObject), None);
        };
        let mocked = with_mocks(py, python.module(py), &mocks(&test.mocks), || {
            let verdict = python.run_main(rt, py, &view);
            let extras = matches!(verdict, Ok(true)).then(|| python.run_optional(rt, py, &view));
            (verdict, extras)
        });
        let (verdict, extras) = match mocked {
            Ok(v) => v,
            Err(e) => {
                let error = PyCallError::from_err(py, &e);
                return outcome(
                    Some(TestFailure::Raised {
                        function: "mock",
                        error,
                    }),
                    None,
                );
            }
        };
        match verdict {
            Err(error) => outcome(
                Some(TestFailure::Raised {
                    function: "rule",
                    error,
                }),
                None,
            ),
            Ok(matched) => {
                let extras = extras.unwrap_or_default();
                let errors = extras.errors.clone();
                let alert = matched.then(|| preview(rule.preview(&event, &log_type, extras)));
                let failure = if matched != test.expected_result {
                    Some(if matched {
                        TestFailure::Matched
                    } else {
                        TestFailure::DidNotMatch("rule()".into())
                    })
                } else if !errors.is_empty() {
                    Some(TestFailure::Functions(errors))
                } else {
                    None
                };
                outcome(failure, alert)
            }
        }
    })
}

fn run_policy_test(
    engine: &Engine,
    policy: &EnginePolicy,
    test: &crate::content::spec::PolicyTest,
) -> TestOutcome {
    let outcome = |failure| TestOutcome {
        name: test.name.clone(),
        expected: test.expected_result,
        failure,
        alert: None,
    };
    let Some(rt) = engine.runtime() else {
        return outcome(None);
    };
    let python = policy.python();
    Python::attach(|py| {
        // Policies receive the resource as a plain dict, as in panther-analysis.
        let resource = match crate::python::event::value_to_mutable(py, &test.resource) {
            Ok(r) => r,
            Err(e) => {
                let error = PyCallError::from_err(py, &e);
                return outcome(Some(TestFailure::Raised {
                    function: "policy",
                    error,
                }));
            }
        };
        let mocked = with_mocks(py, python.module(py), &mocks(&test.mocks), || {
            let verdict = python.run_main(rt, py, &resource);
            let extras =
                matches!(verdict, Ok(false)).then(|| python.run_optional(rt, py, &resource));
            (verdict, extras)
        });
        match mocked {
            Err(e) => outcome(Some(TestFailure::Raised {
                function: "mock",
                error: PyCallError::from_err(py, &e),
            })),
            Ok((Err(error), _)) => outcome(Some(TestFailure::Raised {
                function: "policy",
                error,
            })),
            Ok((Ok(compliant), extras)) => {
                let errors = extras.map(|e| e.errors).unwrap_or_default();
                outcome(if compliant != test.expected_result {
                    Some(TestFailure::Verdict {
                        expected: test.expected_result,
                        got: compliant,
                    })
                } else if !errors.is_empty() {
                    Some(TestFailure::Functions(errors))
                } else {
                    None
                })
            }
        }
    })
}

fn preview(result: bucketwatch_alert::RuleResult) -> AlertPreview {
    AlertPreview {
        title: Some(result.title),
        dedup: Some(result.dedup),
        severity: result.severity,
        context: result.alert_context.and_then(|c| match c {
            Value::Object(m) => Some(m),
            _ => None,
        }),
    }
}
