//! Loader tests: a valid fixture tree of every analysis type, and one small temporary tree per
//! validation error.

use std::fs;
use std::path::{Path, PathBuf};

use bucketwatch_detect::content::spec::{AnalysisType, ReportId};
use bucketwatch_detect::{Content, LoadErrorKind, LoadOptions, Severity, load};
use serde_json::json;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/content")
}

#[test]
fn loads_every_analysis_type() {
    let content = load(&fixtures(), &LoadOptions::default());
    assert!(content.errors.is_empty(), "{:#?}", content.errors);

    let ids: Vec<_> = content
        .rules
        .iter()
        .map(|r| r.spec.rule_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "Fixture.S3.ObjectAccessDenied",
            "Fixture.S3.Python",
            "Fixture.Scheduled"
        ]
    );
    assert_eq!(content.correlation_rules.len(), 1);
    assert_eq!(content.policies.len(), 1);
    assert_eq!(content.data_models.len(), 1);
    assert_eq!(content.globals.len(), 1);
    assert_eq!(content.scheduled_queries.len(), 1);
    assert_eq!(content.saved_queries.len(), 1);
    assert_eq!(content.packs.len(), 1);
    assert_eq!(content.lookup_tables.len(), 2);
    assert!(content.lookup_tables[1].spec.is_query());

    let native = &content.rules[0];
    assert!(native.compiled.is_native());
    assert_eq!(native.spec.severity, Severity::Low);
    assert_eq!(
        native.spec.dedup_period_minutes(),
        60,
        "a stored 0 means the default"
    );
    assert_eq!(native.spec.threshold(), 3);
    assert_eq!(native.spec.tests.len(), 3);
    assert_eq!(
        native.spec.reports["CIS"],
        [ReportId("3.1".into())],
        "numeric report IDs are kept as text"
    );

    let python = &content.rules[1];
    assert!(!python.compiled.is_native());
    assert_eq!(python.spec.tests[0].mocks[0].return_value, json!(false));
    assert!(content.rules[2].spec.is_scheduled());
    assert_eq!(
        content.rules[2].spec.analysis_type,
        AnalysisType::ScheduledRule
    );

    let model = content.data_model_for("AWS.S3ServerAccess").unwrap();
    assert_eq!(model.spec.mappings[1].method.as_deref(), Some("get_actor"));
    assert!(content.data_model_for("AWS.CloudTrail").is_none());
}

#[test]
fn native_rule_fields_from_the_fixture() {
    let content = load(&fixtures(), &LoadOptions::default());
    let rule = &content.rules[0].compiled;
    let event = json!({
        "bucket": "b", "key": "k", "operation": "REST.PUT.OBJECT", "httpstatus": 405,
        "remoteip": "10.0.0.1", "requester": "arn:aws:iam::1:user/bob", "errorcode": "MethodNotAllowed",
    });
    assert_eq!(rule.matches(&event), Some(true));
    assert_eq!(
        rule.title(&event).unwrap(),
        "Denied REST.PUT.OBJECT on s3://b/k"
    );
    assert_eq!(rule.dedup(&event).unwrap(), "b:arn:aws:iam::1:user/bob");
    assert_eq!(rule.severity(&event), Severity::Low);
    let public = json!({"remoteip": "54.1.2.3"});
    assert_eq!(rule.severity(&public), Severity::High);
    let context = rule.alert_context(&event).unwrap();
    assert_eq!(context["ip"], json!("10.0.0.1"));
    assert_eq!(context["error"], json!("MethodNotAllowed"));

    let filtered =
        json!({"operation": "REST.GET.OBJECT", "httpstatus": 403, "useragent": "aws-internal/3"});
    assert!(!rule.passes_filters(&filtered));
    assert_eq!(rule.matches(&filtered), Some(false));
    assert_eq!(rule.explain_miss(&filtered).unwrap(), "InlineFilters[0]");
    assert_eq!(
        content.rules[1].compiled.matches(&event),
        None,
        "Python logic is not native"
    );
}

#[test]
fn ignore_files_skips_paths_under_the_root() {
    let options = LoadOptions {
        ignore_extra_keys: false,
        ignore_files: vec!["rules".into(), "packs/fixture_pack.yml".into()],
    };
    let content = load(&fixtures(), &options);
    assert!(content.errors.is_empty(), "{:#?}", content.errors);
    assert!(content.rules.is_empty());
    assert!(content.packs.is_empty());
    assert_eq!(content.policies.len(), 1);
}

/// Writes `files` (name, text) into a fresh directory and loads it.
fn load_files(files: &[(&str, &str)], options: &LoadOptions) -> (tempfile::TempDir, Content) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    let content = load(dir.path(), options);
    (dir, content)
}

const RULE: &str = "AnalysisType: rule
RuleID: Test.Rule
Enabled: true
LogTypes: [AWS.S3ServerAccess]
Severity: Info
Detection:
  - {KeyPath: operation, Condition: Exists}
";

/// Loads one YAML file (plus `rule.py`) and returns its single error message.
fn single_error(yaml: &str) -> String {
    let (_dir, content) = load_files(
        &[
            ("rule.yml", yaml),
            ("rule.py", "def rule(e):\n    return True\n"),
        ],
        &LoadOptions::default(),
    );
    match content.errors.as_slice() {
        [error] => {
            assert!(error.path.ends_with("rule.yml"), "{error}");
            error.kind.to_string()
        }
        other => panic!("expected one error for\n{yaml}\ngot {other:#?}"),
    }
}

fn assert_error(yaml: &str, expected: &str) {
    let error = single_error(yaml);
    assert!(error.contains(expected), "got: {error}\nwant: {expected}");
}

#[test]
fn validation_errors_name_the_key() {
    let cases: Vec<(String, &str)> = vec![
        (format!("{RULE}Sevrity: High\n"), "unknown key 'Sevrity'"),
        (
            RULE.replace("RuleID: Test.Rule\n", ""),
            "missing field `RuleID`",
        ),
        (
            RULE.replace("Severity: Info", "Severity: HIGH"),
            "Severity: unknown severity \"HIGH\"",
        ),
        (
            RULE.replace("Enabled: true", "Enabled: yes"),
            "Enabled: invalid type",
        ),
        (
            RULE.replace("AnalysisType: rule", "AnalysisType: rules"),
            "unknown AnalysisType \"rules\"",
        ),
        (
            format!("{RULE}Filename: rule.py\n"),
            "exactly one of 'Filename' and 'Detection'",
        ),
        (
            RULE.replace(
                "Detection:\n  - {KeyPath: operation, Condition: Exists}\n",
                "",
            ),
            "exactly one of 'Filename' and 'Detection'",
        ),
        (
            RULE.replace(
                "Detection:\n  - {KeyPath: operation, Condition: Exists}\n",
                "Filename: missing.py\n",
            ),
            "Filename: file 'missing.py' does not exist",
        ),
        (
            RULE.replace("LogTypes: [AWS.S3ServerAccess]\n", ""),
            "exactly one of 'LogTypes' and 'ScheduledQueries'",
        ),
        (
            format!("{RULE}Tests:\n  - {{Name: t, ExpectedResult: maybe, Log: {{}}}}\n"),
            "Tests[0].ExpectedResult: invalid type",
        ),
        (
            format!("{RULE}Tests:\n  - {{Name: t, Log: {{}}}}\n"),
            "Tests[0]: missing field `ExpectedResult`",
        ),
        (
            format!("{RULE}Tests:\n  - {{Name: t, ExpectedResult: true, Log: {{}}, Extra: 1}}\n"),
            "Tests[0].Extra: unknown field `Extra`",
        ),
        (
            format!("{RULE}Tags: [a, B, b]\n"),
            "Tags: 'b' is listed more than once",
        ),
        (
            format!("{RULE}DedupPeriodMinutes: -5\n"),
            "DedupPeriodMinutes: invalid value",
        ),
        (
            RULE.replace("Condition: Exists", "Condition: Equalz, Value: 1"),
            "Detection[0]: unknown Condition 'Equalz'",
        ),
        (
            RULE.replace("Condition: Exists", "Conditon: Exists"),
            "Detection[0].Conditon: unknown field `Conditon`",
        ),
        (
            format!("{RULE}InlineFilters:\n  - {{KeyPath: a, Condition: IsIn}}\n"),
            "InlineFilters[0]: Condition 'IsIn' needs Values",
        ),
        (
            format!("{RULE}AlertTitle: 'broken {{title'\n"),
            "AlertTitle: invalid template: unclosed '{'",
        ),
        (
            format!("{RULE}GroupBy:\n  - {{KeyPath: 'a[x]'}}\n"),
            "GroupBy[0]: invalid key specifier",
        ),
        (
            format!("{RULE}AlertContext:\n  - {{KeyName: k, KeyValue: {{}}}}\n"),
            "AlertContext[0].KeyValue: exactly one key specifier",
        ),
        (
            format!(
                "{RULE}DynamicSeverities:\n  - ChangeTo: High\n    Conditions: [{{KeyPath: a, Condition: Nope}}]\n"
            ),
            "DynamicSeverities[0].Conditions[0]: unknown Condition 'Nope'",
        ),
        (
            format!("{RULE}DynamicSeverities:\n  - {{ChangeTo: Urgent, Conditions: []}}\n"),
            "DynamicSeverities[0].ChangeTo: unknown severity \"Urgent\"",
        ),
        (
            "AnalysisType: rule\nRuleID: [unclosed\n".into(),
            "invalid YAML",
        ),
        (
            "AnalysisType: rule\nRuleID: a\nRuleID: b\n".into(),
            "duplicate mapping key",
        ),
    ];
    for (yaml, expected) in &cases {
        assert_error(yaml, expected);
    }
}

#[test]
fn validation_errors_for_other_types() {
    let cases = [
        (
            "AnalysisType: policy\nPolicyID: P\nEnabled: true\nSeverity: Low\nFilename: nope.py\n",
            "Filename: file 'nope.py' does not exist",
        ),
        (
            "AnalysisType: policy\nPolicyID: P\nEnabled: true\nSeverity: Low\n",
            "missing field `Filename`",
        ),
        (
            "AnalysisType: policy\nPolicyID: P\nEnabled: true\nSeverity: Low\nFilename: rule.py\nSuppressions: [a, a]\n",
            "Suppressions: 'a' is listed more than once",
        ),
        (
            "AnalysisType: datamodel\nDataModelID: D\nEnabled: true\nLogTypes: [X]\nMappings:\n  - {Name: a, Path: x, Method: y}\n",
            "Mappings[0]: exactly one of 'Path' and 'Method'",
        ),
        (
            "AnalysisType: datamodel\nDataModelID: D\nEnabled: true\nLogTypes: [X]\nMappings:\n  - {Name: a, Method: y}\n",
            "Mappings[0].Method: a Method needs the data model's Filename",
        ),
        (
            "AnalysisType: datamodel\nDataModelID: D\nEnabled: true\nLogTypes: [X]\nMappings:\n  - {Name: a, Path: x, Extra: 1}\n",
            "Mappings[0].Extra: unknown field `Extra`",
        ),
        (
            "AnalysisType: global\nGlobalID: g\nFilename: g.py\n",
            "file 'g.py' does not exist",
        ),
        (
            "AnalysisType: scheduled_query\nQueryName: q\nEnabled: true\nQuery: x\nSchedule: {RateMinutes: 1, TimeoutMinutes: 1}\n",
            "Schedule.RateMinutes: must be > 1",
        ),
        (
            "AnalysisType: scheduled_query\nQueryName: q\nEnabled: true\nQuery: x\nSchedule: {RateMinutes: 5, TimeoutMinutes: 10}\n",
            "must be >= Schedule.TimeoutMinutes",
        ),
        (
            "AnalysisType: scheduled_query\nQueryName: q\nEnabled: true\nQuery: x\nSchedule: {CronExpression: '0 * * * *', RateMinutes: 5, TimeoutMinutes: 1}\n",
            "exactly one of 'CronExpression' and 'RateMinutes'",
        ),
        (
            "AnalysisType: scheduled_query\nQueryName: q\nEnabled: true\nSchedule: {RateMinutes: 5, TimeoutMinutes: 1}\n",
            "one of 'Query', 'AthenaQuery'",
        ),
        (
            "AnalysisType: saved_query\nQueryName: q\nQuery: x\nEnabled: true\n",
            "unknown key 'Enabled'",
        ),
        (
            "AnalysisType: pack\nPackID: p\nPackDefinition: {}\n",
            "PackDefinition: missing field `IDs`",
        ),
        (
            "AnalysisType: lookup_table\nLookupName: l\nEnabled: true\nSchema: s\nLogTypeMap: {PrimaryKey: k}\n",
            "exactly one of 'Filename' and 'Refresh'",
        ),
        (
            "AnalysisType: lookup_table\nLookupName: l\nEnabled: true\nLogTypeMap: {PrimaryKey: k}\nRefresh: {PeriodMinutes: 60}\n",
            "missing field `Schema`",
        ),
        (
            "AnalysisType: lookup_table\nLookupName: l\nEnabled: true\nQuery: SELECT 1\nLogTypeMap: {PrimaryKey: k}\n",
            "Refresh: a query-backed lookup table needs a Refresh",
        ),
        (
            "AnalysisType: lookup_table\nLookupName: l\nEnabled: true\nQuery: SELECT 1\nSchema: s\nRefresh: {PeriodMinutes: 60}\nLogTypeMap: {PrimaryKey: k}\n",
            "Schema: not used by a query-backed lookup table",
        ),
        (
            "AnalysisType: correlation_rule\nRuleID: c\nEnabled: true\nSeverity: Low\n",
            "missing field `Detection`",
        ),
    ];
    for (yaml, expected) in cases {
        assert_error(yaml, expected);
    }
}

#[test]
fn ignore_extra_keys_drops_unknown_top_level_keys_only() {
    let options = LoadOptions {
        ignore_extra_keys: true,
        ignore_files: Vec::new(),
    };
    let lenient = format!("{RULE}Owner: security-team\n");
    let (_dir, content) = load_files(&[("rule.yml", &lenient)], &options);
    assert!(content.errors.is_empty(), "{:#?}", content.errors);
    assert_eq!(content.rules.len(), 1);

    let nested =
        format!("{RULE}Tests:\n  - {{Name: t, ExpectedResult: true, Log: {{}}, Extra: 1}}\n");
    let (_dir, content) = load_files(&[("rule.yml", &nested)], &options);
    assert_eq!(content.errors.len(), 1);
}

#[test]
fn bad_files_are_reported_and_skipped() {
    let other = RULE.replace("Test.Rule", "Test.Other");
    let (_dir, content) = load_files(
        &[
            ("a_bad.yml", "AnalysisType: rule\nRuleID: Bad\n"),
            ("b_good.yml", &other),
            ("c_not_a_spec.yaml", "just: data\n"),
            ("d_empty.yml", ""),
            ("e_list.yml", "- 1\n- 2\n"),
            ("notes.txt", "AnalysisType: rule\n"),
        ],
        &LoadOptions::default(),
    );
    assert_eq!(content.rules.len(), 1);
    assert_eq!(content.rules[0].spec.rule_id, "Test.Other");
    assert_eq!(content.errors.len(), 1);
    assert!(content.errors[0].path.ends_with("a_bad.yml"));
    let message = content.errors[0].to_string();
    assert!(message.contains("a_bad.yml: missing field"), "{message}");
}

#[test]
fn duplicate_ids_are_rejected_across_files_and_types() {
    let policy =
        "AnalysisType: policy\nPolicyID: Test.Rule\nEnabled: true\nSeverity: Low\nFilename: p.py\n";
    let (_dir, content) = load_files(
        &[
            ("a.yml", RULE),
            ("b.yml", RULE),
            ("c.yml", policy),
            ("p.py", ""),
        ],
        &LoadOptions::default(),
    );
    assert_eq!(content.rules.len(), 1);
    assert!(content.policies.is_empty());
    assert_eq!(content.errors.len(), 2);
    for error in &content.errors {
        match &error.kind {
            LoadErrorKind::DuplicateId { id, first } => {
                assert_eq!(id, "Test.Rule");
                assert!(first.ends_with("a.yml"));
            }
            other => panic!("unexpected {other}"),
        }
    }
}

#[test]
fn one_enabled_data_model_per_log_type() {
    let model = |id: &str, enabled: bool| {
        format!(
            "AnalysisType: datamodel\nDataModelID: {id}\nEnabled: {enabled}\nLogTypes: [AWS.S3ServerAccess, Custom.{id}]\nMappings:\n  - {{Name: ip, Path: remoteip}}\n"
        )
    };
    let (_dir, content) = load_files(
        &[
            ("a.yml", &model("A", true)),
            ("b.yml", &model("B", false)),
            ("c.yml", &model("C", true)),
        ],
        &LoadOptions::default(),
    );
    assert_eq!(
        content.data_models.len(),
        2,
        "a disabled model does not conflict"
    );
    assert_eq!(content.errors.len(), 1);
    assert!(content.errors[0].path.ends_with("c.yml"));
    assert_eq!(
        content.errors[0].kind.to_string(),
        "log type 'AWS.S3ServerAccess' already has enabled data model 'A'"
    );
    assert_eq!(
        content
            .data_model_for("AWS.S3ServerAccess")
            .unwrap()
            .spec
            .data_model_id,
        "A"
    );
}

#[test]
fn missing_root_is_an_error_not_a_panic() {
    let content = load(
        Path::new("/nonexistent/bucketwatch/content"),
        &LoadOptions::default(),
    );
    assert_eq!(content.errors.len(), 1);
    assert!(matches!(content.errors[0].kind, LoadErrorKind::Walk(_)));
}
