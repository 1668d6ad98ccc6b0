//! Condition, group and compile-error tests for the match-expression grammar, written as the
//! YAML a rule author would write.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{CompileErrorKind, Matcher};
use crate::content::spec::MatchExpression;

fn exprs(yaml: &str) -> Vec<MatchExpression> {
    serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("bad test YAML {yaml:?}: {e}"))
}

fn matcher(yaml: &str) -> Matcher {
    Matcher::compile(&exprs(yaml), "Detection").unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

/// Asserts, for each (event, expected) pair, that the detection gives `expected`.
fn check(yaml: &str, cases: &[(Value, bool)]) {
    let m = matcher(yaml);
    for (event, expected) in cases {
        assert_eq!(m.matches(event), *expected, "{yaml}\nevent: {event}");
    }
}

fn compile_error(yaml: &str) -> String {
    match Matcher::compile(&exprs(yaml), "Detection") {
        Ok(_) => panic!("{yaml} compiled"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn equality() {
    let yaml = "- {KeyPath: op, Condition: Equals, Value: REST.GET.OBJECT}";
    check(
        yaml,
        &[
            (json!({"op": "REST.GET.OBJECT"}), true),
            (json!({"op": "rest.get.object"}), false),
            (json!({"OP": "REST.GET.OBJECT"}), true),
            (json!({}), false),
        ],
    );
    check(
        "- {KeyPath: op, Condition: DoesNotEqual, Value: x}",
        &[
            (json!({"op": "x"}), false),
            (json!({"op": "y"}), true),
            (json!({}), true),
        ],
    );
    check(
        "- {KeyPath: status, Condition: Equals, Value: 403}",
        &[
            (json!({"status": 403}), true),
            (json!({"status": 403.0}), true),
            (json!({"status": "403"}), false),
        ],
    );
    check(
        "- {KeyPath: flag, Condition: Equals, Value: false}",
        &[
            (json!({"flag": false}), true),
            (json!({"flag": "false"}), false),
        ],
    );
    check(
        "- {KeyPath: op, Condition: IEquals, Value: Rest.Get.Object}",
        &[
            (json!({"op": "REST.GET.OBJECT"}), true),
            (json!({"op": "REST.PUT"}), false),
        ],
    );
    check(
        "- {KeyPath: op, Condition: IDoesNotEqual, Value: abc}",
        &[
            (json!({"op": "ABC"}), false),
            (json!({"op": "abd"}), true),
            (json!({}), true),
        ],
    );
}

#[test]
fn prefixes_and_suffixes() {
    let event = json!({"op": "REST.GET.OBJECT", "n": 5});
    let cases = [
        ("StartsWith", "REST.", true),
        ("StartsWith", "rest.", false),
        ("DoesNotStartWith", "REST.", false),
        ("DoesNotStartWith", "WEBSITE.", true),
        ("IStartsWith", "rest.", true),
        ("IDoesNotStartWith", "rest.", false),
        ("EndsWith", ".OBJECT", true),
        ("EndsWith", ".object", false),
        ("DoesNotEndWith", ".BUCKET", true),
        ("IEndsWith", ".object", true),
        ("IDoesNotEndWith", ".object", false),
    ];
    for (condition, value, expected) in cases {
        let yaml = format!("- {{KeyPath: op, Condition: {condition}, Value: '{value}'}}");
        check(&yaml, &[(event.clone(), expected)]);
    }
    // String conditions never match non-strings; their negations then hold.
    check(
        "- {KeyPath: n, Condition: StartsWith, Value: '5'}",
        &[(event.clone(), false)],
    );
    check(
        "- {KeyPath: n, Condition: DoesNotStartWith, Value: '5'}",
        &[(event, true)],
    );
}

#[test]
fn contains() {
    let event =
        json!({"ua": "aws-cli/2.1 Python", "ips": ["1.2.3.4", "5.6.7.8"], "ports": [22, 443]});
    check(
        "- {KeyPath: ua, Condition: Contains, Value: cli/}",
        &[(event.clone(), true)],
    );
    check(
        "- {KeyPath: ua, Condition: Contains, Value: CLI/}",
        &[(event.clone(), false)],
    );
    check(
        "- {KeyPath: ua, Condition: IContains, Value: CLI/}",
        &[(event.clone(), true)],
    );
    check(
        "- {KeyPath: ua, Condition: DoesNotContain, Value: boto}",
        &[(event.clone(), true)],
    );
    check(
        "- {KeyPath: ua, Condition: IDoesNotContain, Value: PYTHON}",
        &[(event.clone(), false)],
    );
    check(
        "- {KeyPath: ips, Condition: Contains, Value: 5.6.7.8}",
        &[(event.clone(), true)],
    );
    check(
        "- {KeyPath: ips, Condition: Contains, Value: 5.6.7}",
        &[(event.clone(), false)],
    );
    check(
        "- {KeyPath: ports, Condition: Contains, Value: 443}",
        &[(event.clone(), true)],
    );
    check(
        "- {KeyPath: ips, Condition: IContains, Value: '1.2.3.4'}",
        &[(event.clone(), true)],
    );
    check(
        "- {KeyPath: missing, Condition: DoesNotContain, Value: x}",
        &[(event, true)],
    );
}

#[test]
fn ordering() {
    let event = json!({"bytes": 1024, "size": "2048", "f": 1.5, "ip": "10.0.0.1"});
    let cases = [
        ("bytes", "IsGreaterThan", "1000", true),
        ("bytes", "IsGreaterThan", "1024", false),
        ("bytes", "IsGreaterThanOrEqual", "1024", true),
        ("bytes", "IsGreaterThanOrEquals", "1024", true),
        ("bytes", "IsLessThan", "1024", false),
        ("bytes", "IsLessThanOrEqual", "1024", true),
        ("bytes", "IsLessThanOrEquals", "1023", false),
        ("size", "IsGreaterThan", "2047.5", true),
        ("f", "IsLessThan", "2", true),
        ("ip", "IsGreaterThan", "0", false),
        ("missing", "IsLessThan", "0", false),
    ];
    for (key, condition, value, expected) in cases {
        let yaml = format!("- {{KeyPath: {key}, Condition: {condition}, Value: {value}}}");
        check(&yaml, &[(event.clone(), expected)]);
    }
}

#[test]
fn membership() {
    let yaml = "- {KeyPath: status, Condition: IsIn, Values: [400, 403, 405]}";
    check(
        yaml,
        &[
            (json!({"status": 403}), true),
            (json!({"status": 404}), false),
            (json!({"status": "403"}), false),
            (json!({}), false),
        ],
    );
    check(
        "- {KeyPath: requester, Condition: IsNotIn, Values: [alice, bob]}",
        &[
            (json!({"requester": "alice"}), false),
            (json!({"requester": "mallory"}), true),
            (json!({}), true),
        ],
    );
    check(
        "- {KeyPath: v, Condition: IsIn, Values: [true, x]}",
        &[
            (json!({"v": true}), true),
            (json!({"v": false}), false),
            (json!({"v": "x"}), true),
        ],
    );
}

#[test]
fn existence_and_nullness() {
    let event = json!({"null": null, "empty": "", "list": [], "map": {}, "zero": 0, "s": "x"});
    let cases = [
        ("Exists", "null", true),
        ("Exists", "missing", false),
        ("DoesNotExist", "missing", true),
        ("DoesNotExist", "null", false),
        ("IsNull", "null", true),
        ("IsNull", "missing", true),
        ("IsNull", "empty", false),
        ("IsNotNull", "null", false),
        ("IsNotNull", "zero", true),
        ("IsNullOrEmpty", "empty", true),
        ("IsNullOrEmpty", "list", true),
        ("IsNullOrEmpty", "map", true),
        ("IsNullOrEmpty", "missing", true),
        ("IsNullOrEmpty", "zero", false),
        ("IsNotNullOrEmpty", "s", true),
        ("IsNotNullOrEmpty", "empty", false),
        ("IsNotNullOrEmpty", "missing", false),
    ];
    for (condition, key, expected) in cases {
        let yaml = format!("- {{KeyPath: '{key}', Condition: {condition}}}");
        check(&yaml, &[(event.clone(), expected)]);
    }
}

#[test]
fn ip_addresses() {
    let event = json!({
        "public4": "54.159.198.108",
        "private4": "10.106.38.245",
        "public6": "2600:1f18::1",
        "private6": "fd00::1",
        "host": "s3.amazonaws.com",
        "num": 1,
    });
    let cases = [
        ("IsIPAddress", "public4", true),
        ("IsIPAddress", "public6", true),
        ("IsIPAddress", "host", false),
        ("IsIPAddress", "num", false),
        ("IsIPAddress", "missing", false),
        ("IsIPv4Address", "public4", true),
        ("IsIPv4Address", "public6", false),
        ("IsIPv6Address", "public6", true),
        ("IsIPv6Address", "private4", false),
        ("IsIPAddressPublic", "public4", true),
        ("IsIPAddressPublic", "private4", false),
        ("IsIPAddressPublic", "public6", true),
        ("IsIPAddressPublic", "host", false),
        ("IsIPAddressPrivate", "private4", true),
        ("IsIPAddressPrivate", "private6", true),
        ("IsIPAddressPrivate", "public4", false),
    ];
    for (condition, key, expected) in cases {
        let yaml = format!("- {{KeyPath: {key}, Condition: {condition}}}");
        check(&yaml, &[(event.clone(), expected)]);
    }
    check(
        "- {KeyPath: ip, Condition: IsIPAddressInCIDR, Value: 10.0.0.0/8}",
        &[
            (json!({"ip": "10.1.2.3"}), true),
            (json!({"ip": "11.1.2.3"}), false),
            (json!({"ip": "::ffff:10.1.2.3"}), false),
            (json!({"ip": "nope"}), false),
        ],
    );
    check(
        "- {KeyPath: ip, Condition: IsIPAddressInCIDR, Values: [192.168.0.0/16, '2600:1f18::/32', 8.8.8.8]}",
        &[
            (json!({"ip": "192.168.4.4"}), true),
            (json!({"ip": "2600:1f18::5"}), true),
            (json!({"ip": "8.8.8.8"}), true),
            (json!({"ip": "8.8.4.4"}), false),
        ],
    );
    check(
        "- {KeyPath: ip, Condition: IsIPAddressNotInCIDR, Value: 10.0.0.1/8}",
        &[
            (json!({"ip": "10.200.0.1"}), false),
            (json!({"ip": "54.1.1.1"}), true),
        ],
    );
}

#[test]
fn constants() {
    check("- Condition: AlwaysTrue", &[(json!({}), true)]);
    check("- Condition: AlwaysFalse", &[(json!({}), false)]);
    check("[]", &[(json!({}), true)]);
}

#[test]
fn groups() {
    let t = "{Condition: AlwaysTrue}";
    let f = "{Condition: AlwaysFalse}";
    let cases = [
        ("All", vec![t, t], true),
        ("All", vec![t, f], false),
        ("All", vec![], true),
        ("Any", vec![f, t], true),
        ("Any", vec![f, f], false),
        ("Any", vec![], false),
        ("OnlyOne", vec![f, t, f], true),
        ("OnlyOne", vec![t, t], false),
        ("OnlyOne", vec![f], false),
        ("None", vec![f, f], true),
        ("None", vec![f, t], false),
        ("None", vec![], true),
    ];
    for (group, members, expected) in cases {
        let yaml = format!("- {group}: [{}]", members.join(", "));
        check(&yaml, &[(json!({}), expected)]);
    }
    // The top-level list is an implicit All, and groups nest.
    let nested = "
- KeyPath: eventSource
  Condition: Equals
  Value: s3.amazonaws.com
- Any:
    - {KeyPath: eventName, Condition: StartsWith, Value: Delete}
    - All:
        - {KeyPath: eventName, Condition: Equals, Value: PutBucketVersioning}
        - None:
            - {KeyPath: requestParameters.VersioningConfiguration.Status, Condition: Equals, Value: Enabled}
";
    check(
        nested,
        &[
            (
                json!({"eventSource": "s3.amazonaws.com", "eventName": "DeleteBucket"}),
                true,
            ),
            (
                json!({"eventSource": "iam.amazonaws.com", "eventName": "DeleteBucket"}),
                false,
            ),
            (
                json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketVersioning",
                       "requestParameters": {"VersioningConfiguration": {"Status": "Suspended"}}}),
                true,
            ),
            (
                json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketVersioning",
                       "requestParameters": {"VersioningConfiguration": {"Status": "Enabled"}}}),
                false,
            ),
        ],
    );
}

#[test]
fn list_comprehension() {
    let event = json!({
        "moons": [
            {"name": "Death Star", "year": 1977},
            {"name": "Io", "year": 1610},
        ],
        "empty": [],
        "scalar": 5,
    });
    let body = "Expressions: [{KeyPath: year, Condition: IsGreaterThan, Value: 1900}]";
    let cases = [
        ("moons", "AnyElement", true),
        ("moons", "AllElements", false),
        ("moons", "OnlyOneElement", true),
        ("moons", "NoElement", false),
        ("empty", "AnyElement", false),
        ("empty", "AllElements", true),
        ("empty", "NoElement", true),
        ("missing", "AllElements", false),
        ("missing", "NoElement", true),
        ("scalar", "AnyElement", false),
        ("scalar", "AllElements", false),
    ];
    for (key, condition, expected) in cases {
        let yaml = format!("- {{KeyPath: {key}, Condition: {condition}, {body}}}");
        check(&yaml, &[(event.clone(), expected)]);
    }
    // Several nested expressions must all hold for the same element.
    check(
        "- KeyPath: moons
  Condition: AnyElement
  Expressions:
    - {KeyPath: name, Condition: Equals, Value: Io}
    - {KeyPath: year, Condition: IsGreaterThan, Value: 1900}",
        &[(event.clone(), false)],
    );
    check(
        "- {KeyPath: moons, Condition: AllElements, Expressions: [{KeyPath: year, Condition: IsGreaterThan, Value: 1000}]}",
        &[(event.clone(), true)],
    );
    check(
        "- {KeyPath: moons, Condition: OnlyOneElement, Expressions: [{KeyPath: year, Condition: IsGreaterThan, Value: 1000}]}",
        &[(event, false)],
    );
}

#[test]
fn comparing_two_keys() {
    let event = json!({
        "a": 5, "b": 7, "c": 5.0, "s": "Bucket", "t": "bucket",
        "moons": [{"d": 3}, {"d": 9}],
    });
    let cases = [
        ("Equals", "a", "c", true),
        ("Equals", "a", "b", false),
        ("DoesNotEqual", "a", "b", true),
        ("IEquals", "s", "t", true),
        ("Equals", "s", "t", false),
        ("IDoesNotEqual", "s", "t", false),
        ("IsGreaterThan", "b", "a", true),
        ("IsGreaterThan", "a", "b", false),
        ("IsLessThanOrEqual", "a", "c", true),
        ("IsGreaterThan", "b", "moons[0].d", true),
        ("IsGreaterThan", "b", "moons[1].d", false),
        ("IsGreaterThan", "b", "missing", false),
    ];
    for (condition, left, right, expected) in cases {
        let yaml = format!(
            "- {{Condition: {condition}, Values: [{{KeyPath: '{left}'}}, {{KeyPath: '{right}'}}]}}"
        );
        check(&yaml, &[(event.clone(), expected)]);
    }
    check(
        "- {Condition: Equals, Values: [{Key: a}, {DeepKey: [moons, 0, d]}]}",
        &[(json!({"a": 3, "moons": [{"d": 3}]}), true)],
    );
}

#[test]
fn key_forms_in_conditions() {
    let event = json!({
        "a.b": "dotted",
        "a": {"b": {"c": "nested"}, "l": [{"x": 1}, {"x": 2}], "arr": [10, 20, 30]},
    });
    check(
        "- {Key: a.b, Condition: Equals, Value: dotted}",
        &[(event.clone(), true)],
    );
    check(
        "- {KeyPath: a.b.c, Condition: Equals, Value: nested}",
        &[(event.clone(), true)],
    );
    check(
        "- {KeyPath: 'a.l[*].x', Condition: Equals, Value: 2}",
        &[(event.clone(), true)],
    );
    check(
        "- {KeyPath: 'a.l[*].x', Condition: DoesNotEqual, Value: 2}",
        &[(event.clone(), false)],
    );
    check(
        "- {KeyPath: 'a.arr[2]', Condition: Equals, Value: 30}",
        &[(event.clone(), true)],
    );
    check(
        "- {DeepKey: [a, b, c], Condition: Equals, Value: nested}",
        &[(event.clone(), true)],
    );
    check(
        "- {DeepKey: [a, arr, 0], Condition: Equals, Value: 10}",
        &[(event, true)],
    );
}

#[test]
fn compile_errors_name_the_path() {
    let cases = [
        (
            "- Condition: AlwaysTrue\n- Condition: AlwaysTrue\n- Any: [{Condition: AlwaysTrue}, {KeyPath: a, Condition: Equalz, Value: 1}]",
            "Detection[2].Any[1]: unknown Condition 'Equalz'",
        ),
        ("- {KeyPath: a}", "Detection[0]: missing Condition"),
        (
            "- {KeyPath: a, Condition: Equals}",
            "Detection[0]: Condition 'Equals' needs Value",
        ),
        (
            "- {Condition: Equals, Value: 1}",
            "Detection[0]: Condition 'Equals' needs a key",
        ),
        (
            "- {Condition: StartsWith, Value: a}",
            "Detection[0]: Condition 'StartsWith' needs a key",
        ),
        (
            "- {KeyPath: a, Condition: Exists, Value: 1}",
            "Detection[0]: Condition 'Exists' does not use Value",
        ),
        (
            "- {KeyPath: a, Condition: IsIn, Value: 1}",
            "Detection[0]: Condition 'IsIn' does not use Value",
        ),
        (
            "- {KeyPath: a, Condition: IsIn, Values: []}",
            "Values is empty",
        ),
        (
            "- {KeyPath: a, Condition: IsIn, Values: [[1]]}",
            "Values must be strings",
        ),
        (
            "- {KeyPath: a, Condition: IsGreaterThan, Value: big}",
            "Value must be a number",
        ),
        (
            "- {KeyPath: a, Condition: StartsWith, Value: 1.5}",
            "Value must be a string",
        ),
        (
            "- {KeyPath: a, Condition: Equals, Value: [1]}",
            "Value must be a string, a number or a boolean",
        ),
        (
            "- {KeyPath: a, Condition: IsIPAddressInCIDR, Value: 10.0.0.0/33}",
            "'10.0.0.0/33' is not a CIDR",
        ),
        (
            "- {KeyPath: 'a..b', Condition: Exists}",
            "Detection[0]: invalid key specifier",
        ),
        (
            "- {KeyPath: a, Key: a, Condition: Exists}",
            "exactly one key specifier",
        ),
        ("- {Condition: AlwaysTrue, KeyPath: a}", "takes no key"),
        (
            "- {All: [], Condition: AlwaysTrue}",
            "group 'All' cannot be combined",
        ),
        ("- {All: [], Any: []}", "group 'All' cannot be combined"),
        (
            "- {KeyPath: l, Condition: AnyElement}",
            "Condition 'AnyElement' needs Expressions",
        ),
        (
            "- {KeyPath: l, Condition: AnyElement, Expressions: [{KeyPath: x, Condition: Nope}]}",
            "Detection[0].Expressions[0]: unknown Condition 'Nope'",
        ),
        (
            "- {KeyPath: a, Condition: Equals, Value: 1, Expressions: []}",
            "does not use Expressions",
        ),
        (
            "- {Condition: Equals, Values: [{KeyPath: a}]}",
            "exactly two key specifiers",
        ),
        (
            "- {Condition: Equals, Values: [{KeyPath: a}, {Bogus: b}]}",
            "Values[1] is not a key specifier",
        ),
        (
            "- {Enrichment: {Table: t, Selector: s, FieldPath: f}, Condition: Equals, Value: 1}",
            "Enrichment",
        ),
    ];
    for (yaml, expected) in cases {
        let error = compile_error(yaml);
        assert!(
            error.contains(expected),
            "{yaml}\n got: {error}\nwant: {expected}"
        );
    }
}

#[test]
fn compile_error_kind_is_typed() {
    let err = Matcher::compile(
        &exprs("- {KeyPath: a, Condition: Equalz, Value: 1}"),
        "InlineFilters",
    )
    .unwrap_err();
    assert_eq!(err.path, "InlineFilters[0]");
    assert_eq!(
        err.kind,
        CompileErrorKind::UnknownCondition("Equalz".into())
    );
}

#[test]
fn first_failing_names_the_expression() {
    let m = matcher("- {Condition: AlwaysTrue}\n- {KeyPath: a, Condition: Exists}");
    assert_eq!(m.first_failing(&json!({})), Some(1));
    assert_eq!(m.first_failing(&json!({"a": 1})), None);
}

/// Every condition, over arbitrary JSON: evaluation must never panic.
const EVERY_CONDITION: &str = "
- Any:
  - {KeyPath: a, Condition: Equals, Value: x}
  - {KeyPath: a, Condition: IEquals, Value: X}
  - {KeyPath: a, Condition: StartsWith, Value: x}
  - {KeyPath: a, Condition: IStartsWith, Value: É}
  - {KeyPath: a, Condition: IEndsWith, Value: ß}
  - {KeyPath: a, Condition: EndsWith, Value: x}
  - {KeyPath: a, Condition: Contains, Value: x}
  - {KeyPath: a, Condition: IContains, Value: İ}
  - {KeyPath: 'a[*]', Condition: IsGreaterThan, Value: 1}
  - {KeyPath: 'a.b[0]', Condition: IsLessThanOrEqual, Value: -1.5}
  - {KeyPath: a, Condition: IsIn, Values: [1, x, true]}
  - {KeyPath: a, Condition: IsNullOrEmpty}
  - {KeyPath: a, Condition: IsIPAddressPublic}
  - {KeyPath: a, Condition: IsIPAddressPrivate}
  - {KeyPath: a, Condition: IsIPv6Address}
  - {KeyPath: a, Condition: IsIPAddressInCIDR, Value: 10.0.0.0/8}
  - {Condition: IsGreaterThan, Values: [{KeyPath: a}, {KeyPath: 'b[*]'}]}
  - {Condition: IEquals, Values: [{KeyPath: a}, {KeyPath: b}]}
  - {KeyPath: a, Condition: AnyElement, Expressions: [{KeyPath: b, Condition: Exists}]}
  - {KeyPath: a, Condition: AllElements, Expressions: [{KeyPath: '[0]', Condition: IsNull}]}
  - {KeyPath: b, Condition: OnlyOneElement, Expressions: [{KeyPath: a, Condition: DoesNotContain, Value: 1}]}
  - OnlyOne: [{KeyPath: a, Condition: Exists}, {KeyPath: b, Condition: Exists}]
  - None: [{KeyPath: a, Condition: Exists}]
";

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-zA-ZÉéßİ0-9.:/ ]{0,12}".prop_map(Value::String),
        prop_oneof![Just("10.1.2.3"), Just("::1"), Just("2600::1"), Just("x")]
            .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[abAB]{1,2}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn evaluation_never_panics(event in arbitrary_json()) {
        let m = matcher(EVERY_CONDITION);
        let _ = m.matches(&event);
        let _ = m.first_failing(&event);
    }
}

/// Matchers sharing one event's lookups (as the engine runs a rule set) give each matcher's own
/// verdict: a key found or missed for one is the same for the next, through the
/// case-insensitive fallback, nested paths and list elements.
#[test]
fn shared_lookups_give_the_same_verdicts() {
    let matchers = [
        matcher("- {KeyPath: operation, Condition: StartsWith, Value: REST.}"),
        matcher("- {KeyPath: Operation, Condition: EndsWith, Value: .OBJECT}"),
        matcher("- {KeyPath: errorcode, Condition: IsNullOrEmpty}"),
        matcher("- {KeyPath: errorCode, Condition: Equals, Value: AccessDenied}"),
        matcher("- {KeyPath: identity.arn, Condition: Contains, Value: role}"),
        matcher(
            "- {KeyPath: grants, Condition: AnyElement, \
               Expressions: [{KeyPath: operation, Condition: Equals, Value: Read}]}",
        ),
        matcher("- {KeyPath: \"grants[0].operation\", Condition: Equals, Value: Write}"),
    ];
    let events = [
        json!({"operation": "REST.GET.OBJECT", "ErrorCode": "AccessDenied",
               "identity": {"arn": "arn:aws:iam::1:role/x"},
               "grants": [{"operation": "Write"}, {"operation": "Read"}]}),
        json!({"OPERATION": "REST.PUT.OBJECT", "identity": {"arn": "user"}, "grants": []}),
        json!({"operation": "BATCH.DELETE.OBJECT", "errorcode": "", "grants": "none"}),
        json!({}),
    ];
    for event in &events {
        let shared = super::Lookups::new(event);
        let verdicts: Vec<bool> = matchers.iter().map(|m| m.matches_in(&shared)).collect();
        let alone: Vec<bool> = matchers.iter().map(|m| m.matches(event)).collect();
        assert_eq!(verdicts, alone, "{event}");
        // Evaluating again reads the lookups made the first time.
        let again: Vec<bool> = matchers.iter().map(|m| m.matches_in(&shared)).collect();
        assert_eq!(again, alone, "{event}");
    }
    let first: Vec<bool> = matchers.iter().map(|m| m.matches(&events[0])).collect();
    assert_eq!(first, [true, true, false, true, true, true, true]);
}
