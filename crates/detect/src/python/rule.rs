//! Calling a content file's functions with panther-analysis semantics.
//!
//! `rule(event)` / `policy(resource)` must return exactly `True` or `False`; anything else, an
//! exception or a time-out is an error. The optional functions (`title`, `description`,
//! `reference`, `severity`, `runbook`, `destinations`, `dedup`, `alert_context`, `unique`) run in
//! that order after a match; a wrong type or an exception leaves that output unset (the caller
//! falls back to the spec's values) and is recorded, so tests can report it.

use std::path::Path;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule, PyString};
use serde_json::Value;

use super::runtime::{PyCallError, PyLoadError, PythonRuntime, helper_function};

/// Longest title, description, reference, runbook and dedup string kept.
pub const MAX_TEXT_CHARS: usize = 1000;
/// Largest serialized alert context kept.
pub const MAX_CONTEXT_CHARS: usize = 204_800;
/// Most destinations a rule may name.
pub const MAX_DESTINATIONS: usize = 10;

const OPTIONAL: [&str; 9] = [
    "title",
    "description",
    "reference",
    "severity",
    "runbook",
    "destinations",
    "dedup",
    "alert_context",
    "unique",
];

/// Whether a file is a rule (`rule(event)`) or a policy (`policy(resource)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallMode {
    Rule,
    Policy,
}

impl CallMode {
    fn main_function(self) -> &'static str {
        match self {
            CallMode::Rule => "rule",
            CallMode::Policy => "policy",
        }
    }
}

/// The loaded module of one rule or policy, with the functions it defines.
pub struct PythonDetection {
    module: Py<PyModule>,
    main: Py<PyAny>,
    mode: CallMode,
    optional: [Option<Py<PyAny>>; OPTIONAL.len()],
}

/// What the optional functions returned, validated; `None` where a function is missing,
/// raised, or returned the wrong type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleFunctionsOutput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub reference: Option<String>,
    /// Upper-cased; `DEFAULT` is returned as `None`.
    pub severity: Option<String>,
    pub runbook: Option<String>,
    pub destinations: Option<Vec<String>>,
    pub dedup: Option<String>,
    pub alert_context: Option<Value>,
    pub unique: Option<String>,
    /// Function name and what went wrong, in call order.
    pub errors: Vec<(&'static str, PyCallError)>,
}

impl PythonDetection {
    /// Loads `path` as module `module_name`; it must define `rule` or `policy` per `mode`.
    pub fn load(
        runtime: &PythonRuntime,
        py: Python<'_>,
        module_name: &str,
        path: &Path,
        mode: CallMode,
    ) -> Result<PythonDetection, PyLoadError> {
        let module = runtime.load_module(py, module_name, path)?;
        let callable = |name: &str| -> Option<Py<PyAny>> {
            module
                .getattr(name)
                .ok()
                .filter(|f| f.is_callable())
                .map(Bound::unbind)
        };
        let Some(main) = callable(mode.main_function()) else {
            return Err(PyLoadError {
                path: path.display().to_string(),
                error: PyCallError {
                    type_name: "AttributeError".into(),
                    message: format!("the file defines no {}() function", mode.main_function()),
                    location: None,
                },
            });
        };
        Ok(PythonDetection {
            optional: OPTIONAL.map(callable),
            module: module.unbind(),
            main,
            mode,
        })
    }

    pub fn module<'py>(&self, py: Python<'py>) -> &Bound<'py, PyModule> {
        self.module.bind(py)
    }

    pub fn defines(&self, function: &str) -> bool {
        OPTIONAL
            .iter()
            .position(|f| *f == function)
            .is_some_and(|i| self.optional[i].is_some())
    }

    /// Runs `rule(arg)` or `policy(arg)`: `Ok(bool)` only for a real bool.
    pub fn run_main(
        &self,
        runtime: &PythonRuntime,
        py: Python<'_>,
        arg: &Bound<'_, PyAny>,
    ) -> Result<bool, PyCallError> {
        let out = runtime.call(py, self.main.bind(py), (arg,))?;
        if out.is_instance_of::<pyo3::types::PyBool>() {
            Ok(out.is_truthy().unwrap_or(false))
        } else {
            Err(PyCallError {
                type_name: "TypeError".into(),
                message: format!(
                    "{}() returned {}, expected bool",
                    self.mode.main_function(),
                    out.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ),
                location: None,
            })
        }
    }

    /// Runs the optional functions the file defines, in panther-analysis order.
    pub fn run_optional(
        &self,
        runtime: &PythonRuntime,
        py: Python<'_>,
        arg: &Bound<'_, PyAny>,
    ) -> RuleFunctionsOutput {
        let mut out = RuleFunctionsOutput::default();
        for (name, func) in OPTIONAL.iter().zip(&self.optional) {
            let Some(func) = func else { continue };
            let result = runtime.call(py, func.bind(py), (arg,));
            let value = match result {
                Ok(v) => v,
                Err(e) => {
                    if *name == "alert_context" {
                        out.alert_context = Some(serde_json::json!({ "_error": e.repr() }));
                    }
                    out.errors.push((name, e));
                    continue;
                }
            };
            if let Err(problem) = store(&mut out, name, &value) {
                out.errors.push((
                    name,
                    PyCallError {
                        type_name: "TypeError".into(),
                        message: format!("{name}() {problem}"),
                        location: None,
                    },
                ));
            }
        }
        out
    }
}

/// Validates one function's result into `out`; `Err` says what was wrong with it.
fn store(
    out: &mut RuleFunctionsOutput,
    name: &str,
    value: &Bound<'_, PyAny>,
) -> Result<(), String> {
    let text = || -> Result<String, String> {
        let s = value
            .cast::<PyString>()
            .map_err(|_| format!("returned {}, expected str", type_name(value)))?;
        Ok(truncate(s.to_string()))
    };
    match name {
        "title" => out.title = Some(text()?),
        "description" => out.description = Some(text()?),
        "reference" => out.reference = Some(text()?),
        "runbook" => out.runbook = Some(text()?),
        "dedup" => out.dedup = Some(text()?).filter(|d| !d.is_empty()),
        "unique" => out.unique = Some(text()?),
        "severity" => {
            let s = text()?.to_uppercase();
            match s.as_str() {
                "DEFAULT" => {}
                "INFO" | "LOW" | "MEDIUM" | "HIGH" | "CRITICAL" => out.severity = Some(s),
                _ => return Err(format!("returned '{s}', not a severity")),
            }
        }
        "destinations" => {
            let items: Vec<String> = value
                .extract()
                .map_err(|_| format!("returned {}, expected a list of str", type_name(value)))?;
            let mut unique = Vec::new();
            for d in items {
                if !unique.contains(&d) && unique.len() < MAX_DESTINATIONS {
                    unique.push(d);
                }
            }
            out.destinations = Some(unique);
        }
        "alert_context" => {
            if !value.is_instance_of::<PyDict>()
                && !value.is_instance_of::<super::event::PyEvent>()
                && value.cast::<pyo3::types::PyMapping>().is_err()
            {
                out.alert_context = Some(serde_json::json!({
                    "_error": format!("alert_context() returned {}, expected a mapping", type_name(value))
                }));
                return Err(format!("returned {}, expected a mapping", type_name(value)));
            }
            let context = py_to_json(value, 0);
            let size = json_chars(&context);
            out.alert_context = Some(if size > MAX_CONTEXT_CHARS {
                serde_json::json!({ "_error": format!(
                    "alert_context size is {size} characters, bigger than maximum of {MAX_CONTEXT_CHARS} characters"
                ) })
            } else {
                context
            });
        }
        _ => {}
    }
    Ok(())
}

/// How many characters `value` has as JSON text, counted as it is written (no string built:
/// this runs for every match).
fn json_chars(value: &Value) -> usize {
    struct Chars(usize);
    impl std::io::Write for Chars {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            // Every byte but UTF-8 continuation bytes starts a character.
            self.0 += buf.iter().filter(|&&b| b & 0xC0 != 0x80).count();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut chars = Chars(0);
    serde_json::to_writer(&mut chars, value).map_or(0, |()| chars.0)
}

/// Converts a Python value to JSON as `json.dumps(value, default=str)` would: mappings (event
/// views included) become objects with string keys, sequences arrays, anything else its `str()`.
/// Deeper than 64 levels, values are cut to their `str()` as well.
fn py_to_json(value: &Bound<'_, PyAny>, depth: u32) -> Value {
    use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyMapping, PyTuple};
    if value.is_none() {
        return Value::Null;
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Value::Bool(b.is_true());
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Value::from(i);
        }
        if let Ok(u) = value.extract::<u64>() {
            return Value::from(u);
        }
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value()).map_or(Value::Null, Value::Number);
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Value::String(s.to_string());
    }
    if depth < 64 {
        if let Ok(ev) = value.cast::<super::event::PyEvent>() {
            return ev.get().to_value();
        }
        if let Ok(d) = value.cast::<PyDict>() {
            let map = d
                .iter()
                .map(|(k, v)| (key_text(&k), py_to_json(&v, depth + 1)))
                .collect();
            return Value::Object(map);
        }
        if (value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>())
            && let Ok(items) = value.try_iter()
        {
            return Value::Array(items.flatten().map(|v| py_to_json(&v, depth + 1)).collect());
        }
        if let Ok(m) = value.cast::<PyMapping>()
            && let Ok(items) = m.items()
        {
            let map = items
                .iter()
                .filter_map(|pair| pair.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>().ok())
                .map(|(k, v)| (key_text(&k), py_to_json(&v, depth + 1)))
                .collect();
            return Value::Object(map);
        }
    }
    Value::String(value.str().map(|s| s.to_string()).unwrap_or_default())
}

/// JSON object keys are strings: `json.dumps` writes `None`, bools and numbers as their JSON text.
fn key_text(key: &Bound<'_, PyAny>) -> String {
    match py_to_json(key, 64) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

fn truncate(s: String) -> String {
    const SUFFIX: &str = "... (truncated)";
    if s.chars().count() <= MAX_TEXT_CHARS {
        return s;
    }
    let keep: String = s.chars().take(MAX_TEXT_CHARS - SUFFIX.len()).collect();
    keep + SUFFIX
}

/// Replaces module attributes with mocks for the duration of `f` (test `Mocks`).
pub fn with_mocks<'py, T>(
    py: Python<'py>,
    module: &Bound<'py, PyModule>,
    mocks: &[(String, Value)],
    f: impl FnOnce() -> T,
) -> PyResult<T> {
    if mocks.is_empty() {
        return Ok(f());
    }
    let dict = PyDict::new(py);
    for (name, value) in mocks {
        dict.set_item(name, super::event::value_to_mutable(py, value)?)?;
    }
    let state = helper_function(py, "apply_mocks")?.call1((module, dict))?;
    let result = f();
    helper_function(py, "restore_mocks")?.call1((module, state))?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn json_chars_counts_characters_not_bytes() {
        let values = [
            json!({"é": "naïve ✓ 𝄞", "n": [1, null, "\"\\\u{7}"], "t": true}),
            json!("x".repeat(70_000)),
            json!(null),
        ];
        for value in values {
            let text = serde_json::to_string(&value).unwrap();
            assert_eq!(super::json_chars(&value), text.chars().count(), "{value}");
        }
        assert_ne!(super::json_chars(&json!("é")), "\"é\"".len());
    }
}
