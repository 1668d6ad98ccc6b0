//! The detection engine: loaded content ready to evaluate events and resources.
//!
//! Native and Python rules sit side by side: each event is dispatched to the enabled rules of its
//! `p_log_type`, `InlineFilters` run first, then the rule's logic; a match is completed with the
//! alert fields (the Python functions, the YAML alert fields, or the spec's values, in that
//! order of preference) and returned as a [`RuleResult`] for alert grouping. An exception in
//! `rule()` is a rule error result; the pipeline goes on.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bucketwatch_alert::{ResultKind, RuleResult, Severity as AlertSeverity};
use bucketwatch_core::Timestamp;
use pyo3::prelude::*;
use serde_json::Value;

use crate::content::spec::{PolicySpec, Severity};
use crate::content::{Content, LoadError, LoadOptions, Loaded, Rule, load_all};
use crate::native::Lookups;
use crate::python::{
    CallMode, DataModel, JsonPath, PyCallError, PyEvent, PyLoadError, PythonDetection,
    PythonRuntime, RuleFunctionsOutput, UdmMapping,
};

/// How the engine loads and runs content.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub load: LoadOptions,
    /// Time budget of one call into Python content.
    pub python_budget: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            load: LoadOptions::default(),
            python_budget: Duration::from_secs(1),
        }
    }
}

/// A problem with the content that disables part of it; reported, never fatal.
#[derive(Debug, thiserror::Error)]
pub enum ContentProblem {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("{id} is disabled: {error}")]
    Import { id: String, error: PyLoadError },
    #[error("{path}: data model {id}: {message}")]
    DataModel {
        id: String,
        path: PathBuf,
        message: String,
    },
    #[error("Python content cannot run: {0}")]
    Interpreter(PyCallError),
}

/// A rule ready to run: its spec, compiled native parts and, for Python rules, its module.
pub struct EngineRule {
    pub rule: Rule,
    python: Option<PythonDetection>,
    texts: RuleTexts,
}

/// The spec's alert texts, made once and shared by every result of the rule.
struct RuleTexts {
    description: Arc<str>,
    runbook: Arc<str>,
    reference: Arc<str>,
    /// Sorted, as alerts list them.
    tags: Arc<[String]>,
    reports: Arc<BTreeMap<String, Vec<String>>>,
}

impl RuleTexts {
    fn of(rule: &Rule) -> RuleTexts {
        let spec = &rule.spec;
        let text = |t: &Option<String>| Arc::from(t.as_deref().unwrap_or_default());
        let reports = spec
            .reports
            .iter()
            .map(|(k, v)| (k.clone(), sorted(v.iter().map(|id| id.0.clone()).collect())))
            .collect();
        RuleTexts {
            description: text(&spec.description),
            runbook: text(&spec.runbook),
            reference: text(&spec.reference),
            tags: sorted(spec.tags.clone()).into(),
            reports: Arc::new(reports),
        }
    }
}

/// A policy ready to run.
pub struct EnginePolicy {
    pub policy: Loaded<PolicySpec>,
    python: PythonDetection,
}

/// One rule's verdict on one event.
#[derive(Debug, Clone)]
pub struct Detection {
    pub result: RuleResult,
    /// `false` for signals (`CreateAlert: false`): recorded as matches, never alerted on.
    pub create_alert: bool,
}

pub struct Engine {
    rules: Vec<EngineRule>,
    /// `p_log_type` → indexes of the enabled rules for it.
    dispatch: HashMap<String, Vec<usize>>,
    policies: Vec<EnginePolicy>,
    data_models: HashMap<String, Arc<DataModel>>,
    runtime: Option<PythonRuntime>,
    problems: Vec<ContentProblem>,
}

impl Engine {
    /// Loads every content tree under `roots`. Invalid files and Python files that fail to import
    /// are reported in [`Engine::problems`] and left out; the rest is ready to run.
    pub fn load(roots: &[PathBuf], options: &EngineOptions) -> Engine {
        let content = load_all(roots, &options.load);
        Engine::from_content(content, options)
    }

    pub fn from_content(content: Content, options: &EngineOptions) -> Engine {
        let Content {
            rules,
            policies,
            data_models,
            globals,
            errors,
            ..
        } = content;
        let mut problems: Vec<ContentProblem> =
            errors.into_iter().map(ContentProblem::from).collect();
        let needs_python = rules.iter().any(|r| !r.compiled.is_native())
            || !policies.is_empty()
            || data_models.iter().any(|d| d.spec.filename.is_some());
        let runtime = if needs_python {
            match PythonRuntime::new(options.python_budget) {
                Ok(rt) => Some(rt),
                Err(e) => {
                    problems.push(ContentProblem::Interpreter(e));
                    None
                }
            }
        } else {
            None
        };
        // Loading native rules needs no interpreter, but registering them shares the Python
        // path's code; starting CPython is cheap next to loading content.
        Python::initialize();
        let mut engine = Engine {
            rules: Vec::new(),
            dispatch: HashMap::new(),
            policies: Vec::new(),
            data_models: HashMap::new(),
            runtime,
            problems,
        };
        Python::attach(|py| {
            if let Some(rt) = &engine.runtime {
                for g in &globals {
                    let path = beside(&g.path, &g.spec.filename);
                    if let Err(error) = rt.register_global(py, &g.spec.global_id, &path) {
                        engine.problems.push(ContentProblem::Import {
                            id: g.spec.global_id.clone(),
                            error,
                        });
                    }
                }
            }
            for dm in data_models.iter().filter(|d| d.spec.enabled) {
                engine.add_data_model(py, dm);
            }
            for rule in rules {
                engine.add_rule(py, rule);
            }
            for policy in policies {
                engine.add_policy(py, policy);
            }
        });
        engine
    }

    fn add_data_model(&mut self, py: Python<'_>, dm: &Loaded<crate::content::spec::DataModelSpec>) {
        let spec = &dm.spec;
        let fail = |message: String| ContentProblem::DataModel {
            id: spec.data_model_id.clone(),
            path: dm.path.clone(),
            message,
        };
        let module = match (&spec.filename, &self.runtime) {
            (Some(file), Some(rt)) => {
                let name = module_name("datamodel", &spec.data_model_id);
                match rt.load_module(py, &name, &beside(&dm.path, file)) {
                    Ok(m) => Some(m),
                    Err(error) => {
                        self.problems.push(ContentProblem::Import {
                            id: spec.data_model_id.clone(),
                            error,
                        });
                        return;
                    }
                }
            }
            _ => None,
        };
        let mut model = DataModel::new();
        for m in &spec.mappings {
            let mapping = match (&m.path, &m.method, &module) {
                (Some(path), _, _) => match JsonPath::parse(path) {
                    Ok(p) => UdmMapping::Path(p),
                    Err(e) => {
                        self.problems.push(fail(format!("mapping {}: {e}", m.name)));
                        continue;
                    }
                },
                (None, Some(method), Some(module)) => match module.getattr(method.as_str()) {
                    Ok(f) => UdmMapping::Method(f.unbind()),
                    Err(_) => {
                        self.problems.push(fail(format!(
                            "mapping {}: method {method} is not defined in {}",
                            m.name,
                            spec.filename.as_deref().unwrap_or("its file")
                        )));
                        continue;
                    }
                },
                _ => {
                    self.problems.push(fail(format!(
                        "mapping {} has a Method but the data model has no Filename",
                        m.name
                    )));
                    continue;
                }
            };
            model.insert(m.name.clone(), mapping);
        }
        let model = Arc::new(model);
        for log_type in &spec.log_types {
            self.data_models
                .insert(log_type.clone(), Arc::clone(&model));
        }
    }

    fn add_rule(&mut self, py: Python<'_>, rule: Rule) {
        let python = match (&rule.spec.filename, &self.runtime) {
            (Some(file), Some(rt)) => {
                let name = module_name("rule", &rule.spec.rule_id);
                match PythonDetection::load(
                    rt,
                    py,
                    &name,
                    &beside(&rule.path, file),
                    CallMode::Rule,
                ) {
                    Ok(d) => Some(d),
                    Err(error) => {
                        self.problems.push(ContentProblem::Import {
                            id: rule.spec.rule_id.clone(),
                            error,
                        });
                        return;
                    }
                }
            }
            // No interpreter: the problem is already reported once.
            (Some(_), None) => return,
            (None, _) => None,
        };
        let index = self.rules.len();
        if rule.spec.enabled {
            let scheduled = rule.spec.scheduled_queries.iter().map(|q| scheduled_key(q));
            for key in rule.spec.log_types.iter().cloned().chain(scheduled) {
                self.dispatch.entry(key).or_default().push(index);
            }
        }
        let texts = RuleTexts::of(&rule);
        self.rules.push(EngineRule {
            rule,
            python,
            texts,
        });
    }

    fn add_policy(&mut self, py: Python<'_>, policy: Loaded<PolicySpec>) {
        let Some(rt) = &self.runtime else { return };
        let name = module_name("policy", &policy.spec.policy_id);
        match PythonDetection::load(
            rt,
            py,
            &name,
            &beside(&policy.path, &policy.spec.filename),
            CallMode::Policy,
        ) {
            Ok(python) => self.policies.push(EnginePolicy { policy, python }),
            Err(error) => self.problems.push(ContentProblem::Import {
                id: policy.spec.policy_id.clone(),
                error,
            }),
        }
    }

    pub fn problems(&self) -> &[ContentProblem] {
        &self.problems
    }

    pub fn rules(&self) -> &[EngineRule] {
        &self.rules
    }

    pub fn policies(&self) -> &[EnginePolicy] {
        &self.policies
    }

    pub(crate) fn runtime(&self) -> Option<&PythonRuntime> {
        self.runtime.as_ref()
    }

    pub(crate) fn data_model(&self, log_type: &str) -> Option<Arc<DataModel>> {
        self.data_models.get(log_type).cloned()
    }

    /// Runs `f`, which evaluates rules on this thread, with the thread's Python state kept from
    /// one event to the next. On a thread Python did not start, each event otherwise creates a
    /// thread state and destroys it after, mapping and unmapping a 16 KiB frame stack: the
    /// unmaps' TLB shootdowns interrupt every core, and took a sixth of a rule-heavy ingest.
    /// Between rule calls the thread does not hold the GIL.
    pub fn keeping_python_thread_state<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        if self.runtime.is_none() {
            return f();
        }
        Python::attach(|py| py.detach(f))
    }

    /// Whether some enabled rule runs on events of `log_type` (a `p_log_type` name): callers
    /// skip building events nothing will read.
    pub fn watches(&self, log_type: &str) -> bool {
        self.dispatch.contains_key(log_type)
    }

    /// Runs every enabled rule for the event's `p_log_type`, appending their verdicts to `out`.
    /// The event is shared with Python rules, never copied for them.
    pub fn evaluate(&self, event: &Arc<Value>, out: &mut Vec<Detection>) {
        let Some(log_type) = event.get("p_log_type").and_then(Value::as_str) else {
            return;
        };
        self.evaluate_for(log_type, log_type, event, out);
    }

    /// Runs the enabled scheduled rules subscribed to `query` (their `ScheduledQueries`) on one
    /// result row of it, as [`evaluate`](Self::evaluate) runs rules on an event. The results
    /// carry the query name as their log type.
    pub fn evaluate_scheduled(&self, query: &str, row: &Arc<Value>, out: &mut Vec<Detection>) {
        self.evaluate_for(&scheduled_key(query), query, row, out);
    }

    /// The names of the scheduled queries some enabled scheduled rule subscribes to.
    pub fn subscribed_queries(&self) -> impl Iterator<Item = &str> {
        self.dispatch
            .keys()
            .filter_map(|k| k.strip_prefix(SCHEDULED_PREFIX))
    }

    fn evaluate_for(
        &self,
        key: &str,
        log_type: &str,
        event: &Arc<Value>,
        out: &mut Vec<Detection>,
    ) {
        let Some(indexes) = self.dispatch.get(key) else {
            return;
        };
        // The event's top-level lookups, shared by every rule's filters and conditions.
        let lookups = Lookups::new(event);
        let candidates = indexes
            .iter()
            .map(|&i| &self.rules[i])
            .filter(|r| r.rule.compiled.passes_filters_in(&lookups));
        let (Some(rt), true) = (&self.runtime, self.python_rules_for(indexes)) else {
            out.extend(candidates.filter_map(|r| r.native_verdict(event, &lookups, log_type)));
            return;
        };
        // One interpreter entry per event, shared by its Python rules, which see one event view.
        Python::attach(|py| {
            let mut view: Option<Option<Bound<'_, PyAny>>> = None;
            for rule in candidates {
                let detection = match &rule.python {
                    None => rule.native_verdict(event, &lookups, log_type),
                    Some(python) => {
                        let view = view.get_or_insert_with(|| {
                            PyEvent::shared(Arc::clone(event), self.data_model(log_type))
                                .and_then(|e| Bound::new(py, e).ok())
                                .map(Bound::into_any)
                        });
                        let Some(view) = view.as_ref() else { continue };
                        rule.python_verdict(rt, py, python, view, event, log_type)
                    }
                };
                out.extend(detection);
            }
        });
    }

    fn python_rules_for(&self, indexes: &[usize]) -> bool {
        indexes.iter().any(|&i| self.rules[i].python.is_some())
    }
}

/// Dispatch keys of scheduled rules; no log type starts with it.
const SCHEDULED_PREFIX: &str = "scheduled-query:";

fn scheduled_key(query: &str) -> String {
    format!("{SCHEDULED_PREFIX}{query}")
}

impl EngineRule {
    fn native_verdict(
        &self,
        event: &Arc<Value>,
        lookups: &Lookups<'_>,
        log_type: &str,
    ) -> Option<Detection> {
        let compiled = &self.rule.compiled;
        if compiled.matches_in(lookups) != Some(true) {
            return None;
        }
        let outputs = RuleFunctionsOutput::default();
        Some(self.detection(event, log_type, outputs, ResultKind::Match))
    }

    fn python_verdict(
        &self,
        rt: &PythonRuntime,
        py: Python<'_>,
        python: &PythonDetection,
        view: &Bound<'_, PyAny>,
        event: &Arc<Value>,
        log_type: &str,
    ) -> Option<Detection> {
        match python.run_main(rt, py, view) {
            Ok(false) => None,
            Ok(true) => {
                let outputs = python.run_optional(rt, py, view);
                Some(self.detection(event, log_type, outputs, ResultKind::Match))
            }
            Err(error) => Some(self.error_detection(event, log_type, error)),
        }
    }

    /// A match completed with its alert fields, falling back as panther-analysis does.
    fn detection(
        &self,
        event: &Arc<Value>,
        log_type: &str,
        out: RuleFunctionsOutput,
        kind: ResultKind,
    ) -> Detection {
        let spec = &self.rule.spec;
        let compiled = &self.rule.compiled;
        let texts = &self.texts;
        let title = out
            .title
            .clone()
            .or_else(|| compiled.title(event))
            .or_else(|| spec.display_name.clone())
            .unwrap_or_else(|| spec.rule_id.clone());
        let dedup = out
            .dedup
            .clone()
            .or_else(|| compiled.dedup(event))
            .or_else(|| out.title.clone())
            .unwrap_or_else(|| format!("defaultDedupString:{}", spec.rule_id));
        let severity = out
            .severity
            .as_deref()
            .and_then(|s| s.parse::<AlertSeverity>().ok())
            .unwrap_or_else(|| alert_severity(compiled.severity(event)));
        let alert_context = out
            .alert_context
            .or_else(|| compiled.alert_context(event).map(Value::Object));
        Detection {
            result: RuleResult {
                rule_id: spec.rule_id.clone(),
                rule_version: None,
                log_type: log_type.to_string(),
                dedup,
                unique: out.unique,
                title,
                severity,
                dedup_period_minutes: spec.dedup_period_minutes(),
                threshold: spec.threshold(),
                alert_context,
                description: out
                    .description
                    .map_or_else(|| Arc::clone(&texts.description), Arc::from),
                runbook: out
                    .runbook
                    .map_or_else(|| Arc::clone(&texts.runbook), Arc::from),
                reference: out
                    .reference
                    .map_or_else(|| Arc::clone(&texts.reference), Arc::from),
                tags: Arc::clone(&texts.tags),
                reports: Arc::clone(&texts.reports),
                destinations: out.destinations,
                kind,
                event: Arc::clone(event),
                event_time: event_time(event),
            },
            create_alert: spec.create_alert,
        }
    }

    /// `rule()` raised: dedup is the exception class, the title its repr.
    fn error_detection(&self, event: &Arc<Value>, log_type: &str, error: PyCallError) -> Detection {
        let mut d = self.detection(
            event,
            log_type,
            RuleFunctionsOutput::default(),
            ResultKind::Match,
        );
        d.result.dedup = error.type_name.clone();
        d.result.title = error.repr();
        d.result.unique = None;
        d.result.alert_context = None;
        d.result.kind = ResultKind::Error {
            error_type: error.type_name.clone(),
            message: match &error.location {
                Some(l) => format!("{}: {}: {l}", error.type_name, error.message),
                None => format!("{}: {}", error.type_name, error.message),
            },
        };
        d.create_alert = true;
        d
    }

    pub(crate) fn python(&self) -> Option<&PythonDetection> {
        self.python.as_ref()
    }

    /// The result a match with these function outputs produces (for test previews).
    pub(crate) fn preview(
        &self,
        event: &Arc<Value>,
        log_type: &str,
        out: RuleFunctionsOutput,
    ) -> RuleResult {
        self.detection(event, log_type, out, ResultKind::Match)
            .result
    }
}

/// A policy's verdict on one resource: compliant or not, with the optional functions' outputs
/// (`title`, `description`, ...) when it is not.
#[derive(Debug, Clone)]
pub struct PolicyOutcome {
    pub compliant: bool,
    pub outputs: RuleFunctionsOutput,
}

impl Engine {
    /// Runs `policy(resource)` on a plain-dict copy of the resource, as panther-analysis does;
    /// on a failure the optional functions run too. An exception or a non-bool result is `Err`.
    pub fn run_policy(
        &self,
        policy: &EnginePolicy,
        resource: &Value,
    ) -> Result<PolicyOutcome, PyCallError> {
        let Some(rt) = &self.runtime else {
            return Err(PyCallError {
                type_name: "RuntimeError".into(),
                message: "no Python interpreter: see the content problems".into(),
                location: None,
            });
        };
        Python::attach(|py| {
            let arg = crate::python::event::value_to_mutable(py, resource)
                .map_err(|e| PyCallError::from_err(py, &e))?;
            let compliant = policy.python.run_main(rt, py, &arg)?;
            let outputs = if compliant {
                RuleFunctionsOutput::default()
            } else {
                policy.python.run_optional(rt, py, &arg)
            };
            Ok(PolicyOutcome { compliant, outputs })
        })
    }
}

impl EnginePolicy {
    pub(crate) fn python(&self) -> &PythonDetection {
        &self.python
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn event_time(event: &Value) -> Timestamp {
    event
        .get("p_event_time")
        .and_then(Value::as_str)
        .and_then(|s| Timestamp::parse_iso8601(s.as_bytes()))
        .unwrap_or_else(Timestamp::now)
}

pub(crate) fn alert_severity(s: Severity) -> AlertSeverity {
    match s {
        Severity::Info => AlertSeverity::Info,
        Severity::Low => AlertSeverity::Low,
        Severity::Medium => AlertSeverity::Medium,
        Severity::High => AlertSeverity::High,
        Severity::Critical => AlertSeverity::Critical,
    }
}

/// The file a spec names, beside the spec.
fn beside(spec_path: &Path, file: &str) -> PathBuf {
    spec_path.parent().unwrap_or(Path::new(".")).join(file)
}

/// A Python module name for content `id`, unique per kind: ids may hold dots and dashes.
fn module_name(kind: &str, id: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("bucketwatch_{kind}_{safe}")
}
