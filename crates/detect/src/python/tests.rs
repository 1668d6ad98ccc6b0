//! The Python runtime against real content files and a real interpreter.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::json;

use super::*;

/// The shared runtime. Call it before `Python::attach`: initializing it while holding the
/// interpreter could deadlock with another test thread waiting for the same `OnceLock`.
fn runtime() -> &'static PythonRuntime {
    static RT: OnceLock<PythonRuntime> = OnceLock::new();
    RT.get_or_init(|| PythonRuntime::new(Duration::from_millis(300)).expect("interpreter starts"))
}

/// Writes `source` to a fresh file and returns its path (the directory lives for the test run).
fn file(name: &str, source: &str) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    path
}

/// Evaluates a Python expression with `event` bound to a view of `value`.
fn eval_on(value: serde_json::Value, dm: Option<Arc<DataModel>>, expr: &str) -> String {
    runtime();
    Python::attach(|py| {
        let event = Bound::new(py, PyEvent::new(value, dm).unwrap()).unwrap();
        let locals = PyDict::new(py);
        locals.set_item("event", event).unwrap();
        let code = std::ffi::CString::new(format!("__import__('builtins').repr({expr})")).unwrap();
        match py.eval(&code, None, Some(&locals)) {
            Ok(v) => v.extract::<String>().unwrap(),
            Err(e) => format!("raised {}", PyCallError::from_err(py, &e).type_name),
        }
    })
}

fn sample() -> serde_json::Value {
    json!({
        "eventName": "GetObject",
        "tlsVersion": "TLSv1.3",
        "count": 3,
        "ratio": 0.5,
        "flag": true,
        "nothing": null,
        "userIdentity": {"type": "AssumedRole", "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::1:role/r"}}},
        "resources": [{"ARN": "a"}, {"ARN": "b"}, {"ARN": "a"}],
        "tags": ["x", "y"]
    })
}

#[test]
fn event_reads_like_an_immutable_mapping() {
    let e = |expr: &str| eval_on(sample(), None, expr);
    assert_eq!(e("event['eventName']"), "'GetObject'");
    assert_eq!(e("event['tlsversion']"), "'TLSv1.3'");
    assert_eq!(e("event['EVENTNAME']"), "'GetObject'");
    assert_eq!(e("event['missing']"), "raised KeyError");
    assert_eq!(e("event.get('missing', 7)"), "7");
    assert_eq!(e("event.get('nothing')"), "None");
    assert_eq!(
        e("(event['count'], event['ratio'], event['flag'])"),
        "(3, 0.5, True)"
    );
    assert_eq!(e("'TLSVERSION' in event"), "True");
    assert_eq!(e("len(event)"), "9");
    assert_eq!(e("list(event)[:2]"), "['count', 'eventName']");
    assert_eq!(e("event['userIdentity']['type']"), "'AssumedRole'");
    assert_eq!(e("event['tags']"), "('x', 'y')");
    assert_eq!(e("event['tags'] == ['x', 'y']"), "True");
    assert_eq!(e("event['tags'].copy() + ['z']"), "['x', 'y', 'z']");
    assert_eq!(e("event['resources'].copy()[0]"), "{'ARN': 'a'}");
    assert_eq!(
        e("isinstance(event, __import__('collections.abc').abc.Mapping)"),
        "True"
    );
    assert_eq!(e("event.__setitem__('a', 1)"), "raised AttributeError");
    assert_eq!(e("type(event.to_dict()).__name__"), "'dict'");
    assert_eq!(e("event.to_dict()['resources'][0]"), "{'ARN': 'a'}");
    assert_eq!(
        e(
            "event['userIdentity'] == {'type': 'AssumedRole', 'sessionContext': {'sessionIssuer': {'arn': 'arn:aws:iam::1:role/r'}}}"
        ),
        "True"
    );
}

#[test]
fn repeated_reads_give_the_same_value_in_every_case() {
    let lower = || json!({"bucket": "b", "errorcode": null, "tags": ["x"], "owner": {"id": "o"}});
    let e = |expr: &str| eval_on(lower(), None, expr);
    // A value read twice is converted once; lists and nested views stay immutable.
    assert_eq!(e("event.get('tags') is event['tags']"), "True");
    assert_eq!(e("event['owner'] is event.get('owner')"), "True");
    assert_eq!(
        e("(event.get('tags'), event.get('tags'))"),
        "(('x',), ('x',))"
    );
    assert_eq!(e("event['owner'].get('ID')"), "'o'");
    assert_eq!(
        e("(event.get('errorcode', 1), event.get('errorcode', 2))"),
        "(None, None)"
    );
    // Any spelling of a key reads the same value, before and after another spelling was read.
    assert_eq!(
        e("(event['bucket'], event['BUCKET'], event['Bucket'])"),
        "('b', 'b', 'b')"
    );
    assert_eq!(
        e("(event.get('BUCKET'), event.get('bucket'))"),
        "('b', 'b')"
    );
    // A key missing from an object of lowercase keys: the default, in every spelling.
    assert_eq!(
        e("(event.get('missing'), event.get('MISSING', 3))"),
        "(None, 3)"
    );
    assert_eq!(
        e("('missing' in event, 'Bucket' in event)"),
        "(False, True)"
    );
    // An object with capitals in its keys: lowercase reads still find them.
    let mixed = |expr: &str| eval_on(sample(), None, expr);
    assert_eq!(mixed("event.get('eventname')"), "'GetObject'");
    assert_eq!(
        mixed("(event.get('missing'), event['tlsversion'])"),
        "(None, 'TLSv1.3')"
    );
    // Several spellings of one key: the first in key order ("KEY" < "Key"), whatever is asked.
    let twins = |expr: &str| eval_on(json!({"Key": 1, "KEY": 2, "key2": 3}), None, expr);
    assert_eq!(
        twins("(event['key'], event['kEY'], event['Key'])"),
        "(2, 2, 1)"
    );
    // Keys that are not exactly str: found by text (a str subclass) or never (other types).
    assert_eq!(e("event.get(type('K', (str,), {})('bucket'))"), "'b'");
    assert_eq!(e("(event.get(1), event.get(None, 5))"), "(None, 5)");
    assert_eq!(e("event.get(['unhashable'])"), "None");
}

#[test]
fn deep_get_and_deep_walk() {
    let e = |expr: &str| eval_on(sample(), None, expr);
    assert_eq!(
        e("event.deep_get('userIdentity', 'sessionContext', 'sessionIssuer', 'arn')"),
        "'arn:aws:iam::1:role/r'"
    );
    assert_eq!(
        e("event.deep_get('userIdentity', 'nope', default='d')"),
        "'d'"
    );
    assert_eq!(e("event.deep_get('eventName', 'deeper')"), "None");
    assert_eq!(e("event.deep_get('nothing', default=0)"), "0");
    assert_eq!(e("event.deep_walk('resources', 'ARN')"), "['a', 'b']");
    assert_eq!(
        e("event.deep_walk('resources', 'ARN', return_val='last')"),
        "'b'"
    );
    assert_eq!(
        e("event.deep_walk('resources', 'missing', default='none')"),
        "'none'"
    );
    assert_eq!(
        e("event.deep_walk('userIdentity', 'type')"),
        "'AssumedRole'"
    );
}

#[test]
fn udm_through_paths_methods_and_fallbacks() {
    runtime();
    Python::attach(|py| {
        let module = file(
            "dm.py",
            "def actor(event):\n    return event.deep_get('userIdentity', 'type')\n",
        );
        let m = runtime()
            .load_module(py, "bw_test_datamodel", &module)
            .unwrap();
        let mut dm = DataModel::new();
        dm.insert(
            "arn",
            UdmMapping::Path(
                JsonPath::parse("$.userIdentity.sessionContext.sessionIssuer.arn").unwrap(),
            ),
        );
        dm.insert(
            "actor",
            UdmMapping::Method(m.getattr("actor").unwrap().unbind()),
        );
        dm.insert(
            "first_resource",
            UdmMapping::Path(JsonPath::parse("$.resources[*].ARN").unwrap()),
        );
        let dm = Some(Arc::new(dm));
        let mut with_udm = sample();
        with_udm["p_udm"] = json!({"source_ip": "10.0.0.1"});
        let e = |expr: &str| eval_on(with_udm.clone(), dm.clone(), expr);
        assert_eq!(e("event.udm('arn')"), "'arn:aws:iam::1:role/r'");
        assert_eq!(e("event.udm('actor')"), "'AssumedRole'");
        assert_eq!(e("event.udm('source_ip')"), "'10.0.0.1'");
        assert_eq!(e("event.udm('eventName')"), "'GetObject'");
        assert_eq!(e("event.udm('unmapped', default='d')"), "'d'");
        assert_eq!(e("event.udm('userIdentity', 'type')"), "'AssumedRole'");
        assert_eq!(e("event.udm('first_resource')"), "raised ValueError");
    });
}

const RULE: &str = r#"
from bw_test_helpers import is_read

def rule(event):
    return is_read(event.get("eventName", ""))

def title(event):
    return f"{event['eventName']} by {event.deep_get('userIdentity', 'type')}"

def dedup(event):
    return ""

def severity(event):
    return "high"

def destinations(event):
    return ["slack", "slack", "pager"]

def alert_context(event):
    return {"name": event["eventName"], "identity": event["userIdentity"]}

def runbook(event):
    return 42
"#;

#[test]
fn rule_functions_with_globals_and_fallbacks() {
    let rt = runtime();
    Python::attach(|py| {
        let helper = file(
            "helpers_file.py",
            "def is_read(name):\n    return name.startswith('Get')\n",
        );
        rt.register_global(py, "bw_test_helpers", &helper).unwrap();
        let path = file("rule.py", RULE);
        let rule = PythonDetection::load(rt, py, "bw_test_rule", &path, CallMode::Rule).unwrap();
        assert!(rule.defines("title") && !rule.defines("unique"));
        let event = Bound::new(py, PyEvent::new(sample(), None).unwrap())
            .unwrap()
            .into_any();
        assert_eq!(rule.run_main(rt, py, &event), Ok(true));
        let out = rule.run_optional(rt, py, &event);
        assert_eq!(out.title.as_deref(), Some("GetObject by AssumedRole"));
        assert_eq!(out.dedup, None, "empty dedup falls back");
        assert_eq!(out.severity.as_deref(), Some("HIGH"));
        assert_eq!(
            out.destinations,
            Some(vec!["slack".to_string(), "pager".to_string()])
        );
        assert_eq!(
            out.alert_context.as_ref().unwrap()["identity"]["type"],
            "AssumedRole"
        );
        assert_eq!(out.runbook, None);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].0, "runbook");
        assert!(
            out.errors[0].1.message.contains("expected str"),
            "{}",
            out.errors[0].1
        );
    });
}

#[test]
fn errors_name_the_exception_and_line_and_the_budget_stops_loops() {
    let rt = runtime();
    Python::attach(|py| {
        let path = file(
            "bad_rule.py",
            "def rule(event):\n    if event.get('mode') == 'loop':\n        while True:\n            pass\n    if event.get('mode') == 'str':\n        return 'yes'\n    return event['missing']\n",
        );
        let rule =
            PythonDetection::load(rt, py, "bw_test_bad_rule", &path, CallMode::Rule).unwrap();
        let ev = |v: serde_json::Value| {
            Bound::new(py, PyEvent::new(v, None).unwrap())
                .unwrap()
                .into_any()
        };
        let err = rule.run_main(rt, py, &ev(json!({}))).unwrap_err();
        assert_eq!(err.type_name, "KeyError");
        assert_eq!(
            err.location.as_deref(),
            Some("bad_rule.py, line 7, in rule")
        );
        let err = rule
            .run_main(rt, py, &ev(json!({"mode": "str"})))
            .unwrap_err();
        assert_eq!(err.type_name, "TypeError");
        assert!(err.message.contains("returned str, expected bool"));
        let err = rule
            .run_main(rt, py, &ev(json!({"mode": "loop"})))
            .unwrap_err();
        assert_eq!(err.type_name, "TimeoutError");
        assert!(err.message.contains("300 ms"), "{err}");
        // The interpreter is healthy afterwards: no stray interrupt strikes the next call.
        assert!(
            rule.run_main(rt, py, &ev(json!({"missing": false})))
                .is_ok()
        );
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            rule.run_main(rt, py, &ev(json!({"missing": true}))),
            Ok(true)
        );
    });
}

#[test]
fn panther_core_type_hint_imports_resolve_to_bucketwatch_classes() {
    let rt = runtime();
    Python::attach(|py| {
        let path = file(
            "hints.py",
            "from panther_core import PantherEvent\nfrom panther_core.immutable import ImmutableList\n\ndef rule(event: PantherEvent):\n    return isinstance(event, PantherEvent) and isinstance(event['l'], ImmutableList)\n",
        );
        let rule = PythonDetection::load(rt, py, "bw_test_hints", &path, CallMode::Rule).unwrap();
        let event = Bound::new(py, PyEvent::new(json!({"l": [1]}), None).unwrap())
            .unwrap()
            .into_any();
        assert_eq!(rule.run_main(rt, py, &event), Ok(true));
    });
}

#[test]
fn import_failures_and_missing_functions_name_the_file() {
    let rt = runtime();
    Python::attach(|py| {
        let path = file("broken.py", "import not_a_module_anywhere\n");
        let err = PythonDetection::load(rt, py, "bw_test_broken", &path, CallMode::Rule)
            .err()
            .unwrap();
        assert!(err.path.ends_with("broken.py"));
        assert_eq!(err.error.type_name, "ModuleNotFoundError");
        let path = file("empty.py", "X = 1\n");
        let err = PythonDetection::load(rt, py, "bw_test_empty", &path, CallMode::Policy)
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("defines no policy() function"),
            "{err}"
        );
    });
}

#[test]
fn oversized_context_and_mocks() {
    let rt = runtime();
    Python::attach(|py| {
        let path = file(
            "ctx.py",
            "def lookup():\n    return 'real'\n\ndef rule(event):\n    return lookup() == 'mocked'\n\ndef alert_context(event):\n    return {'big': 'x' * 300000}\n",
        );
        let rule = PythonDetection::load(rt, py, "bw_test_ctx", &path, CallMode::Rule).unwrap();
        let event = Bound::new(py, PyEvent::new(json!({}), None).unwrap())
            .unwrap()
            .into_any();
        assert_eq!(rule.run_main(rt, py, &event), Ok(false));
        let mocks = vec![("lookup".to_string(), json!("mocked"))];
        let matched = rule::with_mocks(py, rule.module(py), &mocks, || {
            rule.run_main(rt, py, &event)
        })
        .unwrap();
        assert_eq!(matched, Ok(true));
        assert_eq!(
            rule.run_main(rt, py, &event),
            Ok(false),
            "mocks are restored"
        );
        let out = rule.run_optional(rt, py, &event);
        let ctx = out.alert_context.unwrap();
        assert!(
            ctx["_error"]
                .as_str()
                .unwrap()
                .contains("bigger than maximum of 204800")
        );
    });
}

#[test]
fn alert_context_converts_like_json_dumps_with_default_str() {
    let rt = runtime();
    Python::attach(|py| {
        let path = file(
            "ctx_types.py",
            "def rule(event):\n    return True\n\ndef alert_context(event):\n    return {'n': 1, 'big': 2**70, 'f': 1.5, 2: 'int key', None: 'none key', 'view': event['userIdentity'], 'tags': event['tags'], 'set': {1}, 'none': None, 'ok': True}\n",
        );
        let rule =
            PythonDetection::load(rt, py, "bw_test_ctx_types", &path, CallMode::Rule).unwrap();
        let event = Bound::new(py, PyEvent::new(sample(), None).unwrap())
            .unwrap()
            .into_any();
        let ctx = rule.run_optional(rt, py, &event).alert_context.unwrap();
        assert_eq!(ctx["n"], 1);
        assert_eq!(ctx["big"], "1180591620717411303424");
        assert_eq!(ctx["f"], 1.5);
        assert_eq!(ctx["2"], "int key");
        assert_eq!(ctx["null"], "none key");
        assert_eq!(ctx["view"]["type"], "AssumedRole");
        assert_eq!(ctx["tags"], json!(["x", "y"]));
        assert_eq!(ctx["set"], "{1}");
        assert_eq!(ctx["none"], json!(null));
        assert_eq!(ctx["ok"], true);
    });
}
