//! The content loader: walks a directory of panther-analysis YAML specs, validates each one as
//! `panther_analysis_tool` does, and keeps the valid ones as typed specs with their native parts
//! compiled.
//!
//! Owns: YAML parsing, per-type key validation, cross-file checks (duplicate IDs, one enabled
//! data model per log type), and the error list. A bad file is reported and skipped; the rest
//! of the tree still loads.
//! Must not touch: Python (`Filename` files are only checked to exist), rule evaluation.

pub mod spec;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use walkdir::WalkDir;

use crate::native::{CompileError, CompiledRule};
use spec::{
    AnalysisType, CorrelationRuleSpec, DataModelSpec, GlobalSpec, LookupTableSpec, PackSpec,
    PolicySpec, RuleSpec, SavedQuerySpec, ScheduledQuerySpec, field_names,
};

/// How strictly to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Drop unknown top-level keys instead of rejecting the file (PAT's
    /// `--ignore-extra-keys`). Nested mappings stay strict.
    pub ignore_extra_keys: bool,
    /// Files or directories to skip, relative to the content root (or absolute).
    pub ignore_files: Vec<PathBuf>,
}

/// A valid spec and the YAML file it came from.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub path: PathBuf,
    pub spec: T,
}

/// A rule or scheduled rule with its native parts compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    pub path: PathBuf,
    pub spec: RuleSpec,
    pub compiled: CompiledRule,
}

/// Everything loaded from a content tree, by type, in path order, and what failed.
#[derive(Debug, Default)]
pub struct Content {
    pub rules: Vec<Rule>,
    pub correlation_rules: Vec<Loaded<CorrelationRuleSpec>>,
    pub policies: Vec<Loaded<PolicySpec>>,
    pub data_models: Vec<Loaded<DataModelSpec>>,
    pub globals: Vec<Loaded<GlobalSpec>>,
    pub scheduled_queries: Vec<Loaded<ScheduledQuerySpec>>,
    pub saved_queries: Vec<Loaded<SavedQuerySpec>>,
    pub packs: Vec<Loaded<PackSpec>>,
    pub lookup_tables: Vec<Loaded<LookupTableSpec>>,
    pub errors: Vec<LoadError>,
}

impl Content {
    /// The enabled data model for a log type; the loader guarantees there is at most one.
    pub fn data_model_for(&self, log_type: &str) -> Option<&Loaded<DataModelSpec>> {
        self.data_models
            .iter()
            .find(|m| m.spec.enabled && m.spec.log_types.iter().any(|t| t == log_type))
    }
}

/// A file that could not be loaded, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct LoadError {
    pub path: PathBuf,
    pub kind: LoadErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadErrorKind {
    #[error("cannot read: {0}")]
    Io(#[source] std::io::Error),
    #[error("cannot walk the content tree: {0}")]
    Walk(#[source] walkdir::Error),
    #[error("invalid YAML: {0}")]
    Yaml(String),
    #[error("unknown AnalysisType {0}")]
    UnknownAnalysisType(String),
    #[error("unknown key {}", quote_list(.0))]
    UnknownKeys(Vec<String>),
    /// A key with a missing, mistyped or invalid value; `key` is a path such as
    /// `Tests[0].ExpectedResult`, empty for the top level.
    #[error("{}{message}", if key.is_empty() { String::new() } else { format!("{key}: ") })]
    Invalid { key: String, message: String },
    #[error("exactly one of '{0}' and '{1}' is required")]
    ExactlyOne(&'static str, &'static str),
    #[error("{key}: file '{file}' does not exist beside the YAML")]
    MissingFile { key: &'static str, file: String },
    #[error("{key}: '{value}' is listed more than once")]
    DuplicateValue { key: &'static str, value: String },
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error("duplicate ID '{id}', first defined in {}", first.display())]
    DuplicateId { id: String, first: PathBuf },
    #[error("log type '{log_type}' already has enabled data model '{other}'")]
    DataModelConflict { log_type: String, other: String },
}

fn quote_list(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> LoadErrorKind {
    LoadErrorKind::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// Loads every `.yml`/`.yaml` file under `root`, skipping hidden entries and `__pycache__`.
///
/// Files that are not analysis specs (no `AnalysisType`, empty, or not a mapping) are skipped
/// silently, as PAT does, so test-scenario and CI files may live in the same tree.
pub fn load(root: &Path, options: &LoadOptions) -> Content {
    load_all(&[root.to_path_buf()], options)
}

/// Loads several content trees as one: IDs must be unique across all of them.
pub fn load_all(roots: &[PathBuf], options: &LoadOptions) -> Content {
    let mut loader = Loader::default();
    for root in roots {
        load_tree(root, options, &mut loader);
    }
    loader.content
}

fn load_tree(root: &Path, options: &LoadOptions, loader: &mut Loader) {
    let ignored: Vec<PathBuf> = options.ignore_files.iter().map(|p| root.join(p)).collect();
    let walker = WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            let name = entry.file_name().to_string_lossy();
            let hidden = entry.depth() > 0 && (name.starts_with('.') || name == "__pycache__");
            !hidden && !ignored.iter().any(|i| entry.path().starts_with(i))
        });
    for entry in walker {
        match entry {
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                loader.fail(path, LoadErrorKind::Walk(e));
            }
            Ok(entry) if entry.file_type().is_file() && is_yaml(entry.path()) => {
                let path = entry.into_path();
                match load_file(&path, options) {
                    Ok(Some(spec)) => loader.add(path, spec),
                    Ok(None) => {}
                    Err(kind) => loader.fail(path, kind),
                }
            }
            Ok(_) => {}
        }
    }
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("yml") || ext.eq_ignore_ascii_case("yaml"))
}

/// One parsed spec, before the cross-file checks.
enum Spec {
    Rule(Box<RuleSpec>, CompiledRule),
    CorrelationRule(CorrelationRuleSpec),
    Policy(PolicySpec),
    DataModel(DataModelSpec),
    Global(GlobalSpec),
    ScheduledQuery(ScheduledQuerySpec),
    SavedQuery(SavedQuerySpec),
    Pack(PackSpec),
    LookupTable(LookupTableSpec),
}

impl Spec {
    /// The ID that must be unique across the whole tree.
    fn id(&self) -> &str {
        match self {
            Spec::Rule(s, _) => &s.rule_id,
            Spec::CorrelationRule(s) => &s.rule_id,
            Spec::Policy(s) => &s.policy_id,
            Spec::DataModel(s) => &s.data_model_id,
            Spec::Global(s) => &s.global_id,
            Spec::ScheduledQuery(s) => &s.query_name,
            Spec::SavedQuery(s) => &s.query_name,
            Spec::Pack(s) => &s.pack_id,
            Spec::LookupTable(s) => &s.lookup_name,
        }
    }
}

/// Accumulates specs and errors, applying the checks that need the whole tree.
#[derive(Default)]
struct Loader {
    content: Content,
    ids: HashMap<String, PathBuf>,
    /// Log type → the enabled data model that claimed it.
    data_model_log_types: HashMap<String, String>,
}

impl Loader {
    fn fail(&mut self, path: PathBuf, kind: LoadErrorKind) {
        self.content.errors.push(LoadError { path, kind });
    }

    fn add(&mut self, path: PathBuf, spec: Spec) {
        if let Some(first) = self.ids.get(spec.id()) {
            let kind = LoadErrorKind::DuplicateId {
                id: spec.id().to_owned(),
                first: first.clone(),
            };
            return self.fail(path, kind);
        }
        if let Spec::DataModel(model) = &spec
            && model.enabled
        {
            let taken = model
                .log_types
                .iter()
                .find_map(|t| self.data_model_log_types.get_key_value(t));
            if let Some((log_type, other)) = taken {
                let kind = LoadErrorKind::DataModelConflict {
                    log_type: log_type.clone(),
                    other: other.clone(),
                };
                return self.fail(path, kind);
            }
            for log_type in &model.log_types {
                self.data_model_log_types
                    .insert(log_type.clone(), model.data_model_id.clone());
            }
        }
        self.ids.insert(spec.id().to_owned(), path.clone());
        let c = &mut self.content;
        match spec {
            Spec::Rule(spec, compiled) => c.rules.push(Rule {
                path,
                spec: *spec,
                compiled,
            }),
            Spec::CorrelationRule(spec) => c.correlation_rules.push(Loaded { path, spec }),
            Spec::Policy(spec) => c.policies.push(Loaded { path, spec }),
            Spec::DataModel(spec) => c.data_models.push(Loaded { path, spec }),
            Spec::Global(spec) => c.globals.push(Loaded { path, spec }),
            Spec::ScheduledQuery(spec) => c.scheduled_queries.push(Loaded { path, spec }),
            Spec::SavedQuery(spec) => c.saved_queries.push(Loaded { path, spec }),
            Spec::Pack(spec) => c.packs.push(Loaded { path, spec }),
            Spec::LookupTable(spec) => c.lookup_tables.push(Loaded { path, spec }),
        }
    }
}

/// Parses and validates one file; `Ok(None)` when it is not an analysis spec.
fn load_file(path: &Path, options: &LoadOptions) -> Result<Option<Spec>, LoadErrorKind> {
    let text = fs::read_to_string(path).map_err(LoadErrorKind::Io)?;
    let mut yaml = serde_saphyr::Options::default();
    // YAML 1.2 booleans only, as PAT reads specs: `yes`/`no`/`on`/`off` stay strings.
    yaml.strict_booleans = true;
    yaml.with_snippet = false;
    let document: Option<Value> = serde_saphyr::from_str_with_options(&text, yaml)
        .map_err(|e| LoadErrorKind::Yaml(e.to_string()))?;
    let Some(Value::Object(mut map)) = document else {
        return Ok(None);
    };
    let Some(analysis_type) = map.get("AnalysisType") else {
        return Ok(None);
    };
    let analysis_type: AnalysisType = serde_json::from_value(analysis_type.clone())
        .map_err(|_| LoadErrorKind::UnknownAnalysisType(analysis_type.to_string()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    Ok(Some(match analysis_type {
        AnalysisType::Rule | AnalysisType::ScheduledRule => {
            let spec: RuleSpec = typed(&mut map, options)?;
            check_rule(&spec, dir)?;
            let compiled = CompiledRule::compile(&spec)?;
            Spec::Rule(Box::new(spec), compiled)
        }
        AnalysisType::CorrelationRule => {
            let spec: CorrelationRuleSpec = typed(&mut map, options)?;
            check_sets(&[("Tags", &spec.tags), ("OutputIds", &spec.output_ids)])?;
            Spec::CorrelationRule(spec)
        }
        AnalysisType::Policy => {
            let spec: PolicySpec = typed(&mut map, options)?;
            check_file_exists(dir, "Filename", &spec.filename)?;
            check_sets(&[
                ("Tags", &spec.tags),
                ("OutputIds", &spec.output_ids),
                ("Suppressions", &spec.suppressions),
            ])?;
            Spec::Policy(spec)
        }
        AnalysisType::DataModel => {
            let spec: DataModelSpec = typed(&mut map, options)?;
            check_data_model(&spec, dir)?;
            Spec::DataModel(spec)
        }
        AnalysisType::Global => {
            let spec: GlobalSpec = typed(&mut map, options)?;
            check_file_exists(dir, "Filename", &spec.filename)?;
            Spec::Global(spec)
        }
        AnalysisType::ScheduledQuery => {
            let spec: ScheduledQuerySpec = typed(&mut map, options)?;
            check_query_text([
                &spec.query,
                &spec.athena_query,
                &spec.snowflake_query,
                &spec.databricks_query,
            ])?;
            check_schedule(&spec.schedule)?;
            Spec::ScheduledQuery(spec)
        }
        AnalysisType::SavedQuery => {
            let spec: SavedQuerySpec = typed(&mut map, options)?;
            check_query_text([
                &spec.query,
                &spec.athena_query,
                &spec.snowflake_query,
                &spec.databricks_query,
            ])?;
            Spec::SavedQuery(spec)
        }
        AnalysisType::Pack => Spec::Pack(typed(&mut map, options)?),
        AnalysisType::LookupTable => {
            let spec: LookupTableSpec = typed(&mut map, options)?;
            check_lookup_table(&spec, dir)?;
            Spec::LookupTable(spec)
        }
    }))
}

/// Checks the top-level keys against the spec struct's fields, then deserializes it with
/// errors that name the offending key path.
fn typed<T: DeserializeOwned>(
    map: &mut Map<String, Value>,
    options: &LoadOptions,
) -> Result<T, LoadErrorKind> {
    let known = field_names::<T>();
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        if !options.ignore_extra_keys {
            return Err(LoadErrorKind::UnknownKeys(unknown));
        }
        map.retain(|k, _| known.contains(&k.as_str()));
    }
    serde_path_to_error::deserialize(Value::Object(std::mem::take(map))).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        invalid(key, e.into_inner().to_string())
    })
}

fn check_rule(spec: &RuleSpec, dir: &Path) -> Result<(), LoadErrorKind> {
    match (&spec.filename, &spec.detection) {
        (Some(file), None) => check_file_exists(dir, "Filename", file)?,
        (None, Some(_)) => {}
        _ => return Err(LoadErrorKind::ExactlyOne("Filename", "Detection")),
    }
    if spec.log_types.is_empty() == spec.scheduled_queries.is_empty() {
        return Err(LoadErrorKind::ExactlyOne("LogTypes", "ScheduledQueries"));
    }
    check_sets(&[
        ("LogTypes", &spec.log_types),
        ("Tags", &spec.tags),
        ("OutputIds", &spec.output_ids),
        ("SummaryAttributes", &spec.summary_attributes),
    ])
}

fn check_data_model(spec: &DataModelSpec, dir: &Path) -> Result<(), LoadErrorKind> {
    if let Some(file) = &spec.filename {
        check_file_exists(dir, "Filename", file)?;
    }
    for (i, mapping) in spec.mappings.iter().enumerate() {
        match (&mapping.path, &mapping.method) {
            (Some(_), None) => {}
            (None, Some(_)) if spec.filename.is_some() => {}
            (None, Some(_)) => {
                return Err(invalid(
                    format!("Mappings[{i}].Method"),
                    "a Method needs the data model's Filename",
                ));
            }
            _ => {
                return Err(invalid(
                    format!("Mappings[{i}]"),
                    "exactly one of 'Path' and 'Method' is required",
                ));
            }
        }
    }
    check_sets(&[("LogTypes", &spec.log_types)])
}

fn check_lookup_table(spec: &LookupTableSpec, dir: &Path) -> Result<(), LoadErrorKind> {
    if spec.is_query() {
        if spec.refresh.is_none() {
            return Err(invalid(
                "Refresh",
                "a query-backed lookup table needs a Refresh",
            ));
        }
        let unused = [
            ("Filename", spec.filename.is_some()),
            ("Schema", spec.schema.is_some()),
        ];
        if let Some((key, _)) = unused.iter().find(|(_, present)| *present) {
            return Err(invalid(*key, "not used by a query-backed lookup table"));
        }
        return Ok(());
    }
    if spec.schema.is_none() {
        return Err(invalid("", "missing field `Schema`"));
    }
    match (&spec.filename, &spec.refresh) {
        (Some(file), None) => check_file_exists(dir, "Filename", file),
        (None, Some(_)) => Ok(()),
        _ => Err(LoadErrorKind::ExactlyOne("Filename", "Refresh")),
    }
}

fn check_file_exists(dir: &Path, key: &'static str, file: &str) -> Result<(), LoadErrorKind> {
    if dir.join(file).is_file() {
        Ok(())
    } else {
        Err(LoadErrorKind::MissingFile {
            key,
            file: file.into(),
        })
    }
}

/// Fields Panther treats as sets must not repeat a value; tags also not ignoring case.
fn check_sets(fields: &[(&'static str, &[String])]) -> Result<(), LoadErrorKind> {
    for &(key, values) in fields {
        let case_insensitive = key == "Tags";
        for (i, value) in values.iter().enumerate() {
            let repeated = values[..i].iter().any(|earlier| {
                earlier == value
                    || (case_insensitive && earlier.to_lowercase() == value.to_lowercase())
            });
            if repeated {
                return Err(LoadErrorKind::DuplicateValue {
                    key,
                    value: value.clone(),
                });
            }
        }
    }
    Ok(())
}

fn check_query_text(texts: [&Option<String>; 4]) -> Result<(), LoadErrorKind> {
    if texts.iter().any(|t| t.is_some()) {
        Ok(())
    } else {
        Err(invalid(
            "",
            "one of 'Query', 'AthenaQuery', 'SnowflakeQuery', 'DatabricksQuery' is required",
        ))
    }
}

fn check_schedule(schedule: &spec::QuerySchedule) -> Result<(), LoadErrorKind> {
    match (&schedule.cron_expression, schedule.rate_minutes) {
        (Some(_), None) => Ok(()),
        (None, Some(rate)) if rate <= 1 => Err(invalid("Schedule.RateMinutes", "must be > 1")),
        (None, Some(rate)) if rate < schedule.timeout_minutes => Err(invalid(
            "Schedule.RateMinutes",
            "must be >= Schedule.TimeoutMinutes",
        )),
        (None, Some(_)) => Ok(()),
        _ => Err(invalid(
            "Schedule",
            "exactly one of 'CronExpression' and 'RateMinutes' is required",
        )),
    }
}
