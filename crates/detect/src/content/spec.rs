//! Typed analysis specs, one struct per `AnalysisType`, with panther-analysis key names.
//!
//! Nested structs reject unknown keys outright; top-level keys are checked by the loader so
//! that `ignore_extra_keys` can relax them. Semantic checks that serde cannot express (exactly
//! one of `Filename`/`Detection`, files that must exist, duplicates) live in the loader.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `AnalysisType` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisType {
    Rule,
    ScheduledRule,
    CorrelationRule,
    Policy,
    #[serde(rename = "datamodel")]
    DataModel,
    Global,
    ScheduledQuery,
    SavedQuery,
    Pack,
    LookupTable,
}

impl AnalysisType {
    /// The name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisType::Rule => "rule",
            AnalysisType::ScheduledRule => "scheduled_rule",
            AnalysisType::CorrelationRule => "correlation_rule",
            AnalysisType::Policy => "policy",
            AnalysisType::DataModel => "datamodel",
            AnalysisType::Global => "global",
            AnalysisType::ScheduledQuery => "scheduled_query",
            AnalysisType::SavedQuery => "saved_query",
            AnalysisType::Pack => "pack",
            AnalysisType::LookupTable => "lookup_table",
        }
    }
}

impl fmt::Display for AnalysisType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severities are the alert crate's: one type from spec to delivered alert.
pub use bucketwatch_alert::Severity;

/// Specs spell severities exactly as PAT's schema does (`Info` … `Critical`), so content that
/// passes here also passes there; `severity()` results are parsed case-insensitively elsewhere.
fn yaml_severity<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Severity, D::Error> {
    let text = String::deserialize(deserializer)?;
    match text.as_str() {
        "Info" => Ok(Severity::Info),
        "Low" => Ok(Severity::Low),
        "Medium" => Ok(Severity::Medium),
        "High" => Ok(Severity::High),
        "Critical" => Ok(Severity::Critical),
        _ => Err(de::Error::custom(format!(
            "unknown severity {text:?}; expected one of Info, Low, Medium, High, Critical"
        ))),
    }
}

/// Default dedup window when `DedupPeriodMinutes` is absent or 0.
pub const DEFAULT_DEDUP_PERIOD_MINUTES: u32 = 60;
/// Default alert threshold when `Threshold` is absent or 0.
pub const DEFAULT_THRESHOLD: u32 = 1;

/// `AnalysisType: rule` or `scheduled_rule`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleSpec {
    pub analysis_type: AnalysisType,
    pub enabled: bool,
    #[serde(rename = "RuleID")]
    pub rule_id: String,
    #[serde(deserialize_with = "yaml_severity")]
    pub severity: Severity,
    /// The Python file beside the YAML; exactly one of this and `detection`.
    pub filename: Option<String>,
    /// A no-code detection; exactly one of this and `filename`.
    pub detection: Option<Vec<MatchExpression>>,
    #[serde(default)]
    pub log_types: Vec<String>,
    /// For scheduled rules, instead of `log_types`.
    #[serde(default)]
    pub scheduled_queries: Vec<String>,
    /// As stored; see [`RuleSpec::dedup_period_minutes`].
    #[serde(rename = "DedupPeriodMinutes")]
    pub dedup_period_minutes_raw: Option<u32>,
    /// As stored; see [`RuleSpec::threshold`].
    #[serde(rename = "Threshold")]
    pub threshold_raw: Option<u32>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub reports: Reports,
    #[serde(default)]
    pub summary_attributes: Vec<String>,
    #[serde(default)]
    pub output_ids: Vec<String>,
    /// Filters evaluated before the rule logic (Python or no-code).
    pub inline_filters: Option<Vec<MatchExpression>>,
    #[serde(default)]
    pub dynamic_severities: Vec<DynamicSeveritySpec>,
    pub alert_title: Option<String>,
    #[serde(default)]
    pub alert_context: Vec<AlertContextSpec>,
    #[serde(default)]
    pub group_by: Vec<KeySpecifier>,
    /// `false` marks a signal: matches are recorded but never alert.
    #[serde(default = "default_true")]
    pub create_alert: bool,
    /// `experimental` or `deprecated`.
    pub status: Option<String>,
    pub only_use_base_risk_score: Option<bool>,
    pub created_by: Option<String>,
    pub base_version: Option<i64>,
    #[serde(default)]
    pub tests: Vec<RuleTest>,
}

impl RuleSpec {
    /// The dedup window in minutes; a stored 0 means the default, as in Panther.
    pub fn dedup_period_minutes(&self) -> u32 {
        non_zero_or(self.dedup_period_minutes_raw, DEFAULT_DEDUP_PERIOD_MINUTES)
    }

    /// Matches needed before an alert is sent; a stored 0 means the default, as in Panther.
    pub fn threshold(&self) -> u32 {
        non_zero_or(self.threshold_raw, DEFAULT_THRESHOLD)
    }

    /// True for `AnalysisType: scheduled_rule`.
    pub fn is_scheduled(&self) -> bool {
        self.analysis_type == AnalysisType::ScheduledRule
    }
}

fn non_zero_or(value: Option<u32>, default: u32) -> u32 {
    value.filter(|&v| v != 0).unwrap_or(default)
}

fn default_true() -> bool {
    true
}

/// `Reports`: framework name → IDs (e.g. `MITRE ATT&CK` → `TA0007:T1619`).
pub type Reports = BTreeMap<String, Vec<ReportId>>;

/// One report ID; YAML may spell it as a number (e.g. a CIS control `1.2`), kept as text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ReportId(pub String);

impl<'de> Deserialize<'de> for ReportId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(ReportId(s)),
            Value::Number(n) => Ok(ReportId(n.to_string())),
            other => Err(de::Error::invalid_type(
                de::Unexpected::Other(&other.to_string()),
                &"a string or a number",
            )),
        }
    }
}

/// One match expression of `Detection`, `InlineFilters`, `Expressions` or a dynamic severity's
/// `Conditions`. Which keys may combine is checked when it is compiled (see `native`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MatchExpression {
    pub key_path: Option<String>,
    pub key: Option<String>,
    pub deep_key: Option<Vec<Value>>,
    pub condition: Option<String>,
    pub value: Option<Value>,
    pub values: Option<Vec<Value>>,
    pub expressions: Option<Vec<MatchExpression>>,
    pub all: Option<Vec<MatchExpression>>,
    pub any: Option<Vec<MatchExpression>>,
    pub only_one: Option<Vec<MatchExpression>>,
    pub none: Option<Vec<MatchExpression>>,
    /// Lookup-table enrichment; recognised so that it can be refused with a clear message.
    pub enrichment: Option<Value>,
}

/// A key specifier on its own: in `GroupBy`, `AlertContext` and multi-key `Values`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct KeySpecifier {
    pub key_path: Option<String>,
    pub key: Option<String>,
    pub deep_key: Option<Vec<Value>>,
}

/// One `DynamicSeverities` entry: the first whose conditions hold sets the severity.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DynamicSeveritySpec {
    #[serde(deserialize_with = "yaml_severity")]
    pub change_to: Severity,
    pub conditions: Vec<MatchExpression>,
}

/// One `AlertContext` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AlertContextSpec {
    pub key_name: String,
    pub key_value: KeySpecifier,
}

/// A rule unit test.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RuleTest {
    pub name: String,
    pub expected_result: bool,
    /// The event; a mapping for every real test.
    pub log: Value,
    #[serde(default)]
    pub mocks: Vec<Mock>,
    /// Legacy; the event's `p_log_type` is what counts.
    pub log_type: Option<String>,
}

/// A policy unit test.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PolicyTest {
    pub name: String,
    pub expected_result: bool,
    pub resource: Value,
    #[serde(default)]
    pub mocks: Vec<Mock>,
    /// Legacy and unused.
    pub resource_type: Option<String>,
}

/// Replaces module attribute `object_name` with a mock returning `return_value` in a test.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mock {
    #[serde(rename = "objectName")]
    pub object_name: String,
    #[serde(rename = "returnValue")]
    pub return_value: Value,
}

/// `AnalysisType: policy`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicySpec {
    pub analysis_type: AnalysisType,
    pub enabled: bool,
    pub filename: String,
    #[serde(rename = "PolicyID")]
    pub policy_id: String,
    #[serde(deserialize_with = "yaml_severity")]
    pub severity: Severity,
    /// Resource types the policy applies to; empty means all.
    #[serde(default)]
    pub resource_types: Vec<String>,
    /// Globs over resource IDs whose failures are recorded but do not alert.
    #[serde(default)]
    pub suppressions: Vec<String>,
    #[serde(rename = "AutoRemediationID")]
    pub auto_remediation_id: Option<String>,
    pub auto_remediation_parameters: Option<Value>,
    pub action_delay_seconds: Option<u64>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub reports: Reports,
    #[serde(default)]
    pub output_ids: Vec<String>,
    pub status: Option<String>,
    pub only_use_base_risk_score: Option<bool>,
    pub created_by: Option<String>,
    pub base_version: Option<i64>,
    #[serde(default)]
    pub tests: Vec<PolicyTest>,
}

/// `AnalysisType: datamodel`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataModelSpec {
    pub analysis_type: AnalysisType,
    #[serde(rename = "DataModelID")]
    pub data_model_id: String,
    pub enabled: bool,
    pub log_types: Vec<String>,
    pub mappings: Vec<DataModelMapping>,
    pub display_name: Option<String>,
    /// Python file holding the `Method` functions.
    pub filename: Option<String>,
    pub base_version: Option<i64>,
}

/// One data-model mapping: a unified name resolved by a path or a Python method.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DataModelMapping {
    pub name: String,
    /// A JSONPath (`$.a.b`) or a plain key path.
    pub path: Option<String>,
    /// A function in the data model's `Filename`.
    pub method: Option<String>,
}

/// `AnalysisType: global`: a Python helper importable by its `GlobalID`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalSpec {
    pub analysis_type: AnalysisType,
    #[serde(rename = "GlobalID")]
    pub global_id: String,
    pub filename: String,
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub base_version: Option<i64>,
}

/// `AnalysisType: pack`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PackSpec {
    pub analysis_type: AnalysisType,
    #[serde(rename = "PackID")]
    pub pack_id: String,
    pub pack_definition: PackDefinition,
    pub description: Option<String>,
    pub display_name: Option<String>,
}

/// The IDs a pack groups.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackDefinition {
    #[serde(rename = "IDs")]
    pub ids: Vec<String>,
}

/// `AnalysisType: correlation_rule`. Its `Detection` (sequences, groups, match criteria) is kept
/// as data for the correlation engine; it is not a match-expression list.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CorrelationRuleSpec {
    pub analysis_type: AnalysisType,
    #[serde(rename = "RuleID")]
    pub rule_id: String,
    pub enabled: bool,
    #[serde(deserialize_with = "yaml_severity")]
    pub severity: Severity,
    pub detection: Value,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub reports: Reports,
    #[serde(default)]
    pub summary_attributes: Vec<String>,
    #[serde(default)]
    pub output_ids: Vec<String>,
    #[serde(default = "default_true")]
    pub create_alert: bool,
    pub status: Option<String>,
    pub only_use_base_risk_score: Option<bool>,
    pub created_by: Option<String>,
    pub base_version: Option<i64>,
    #[serde(default)]
    pub tests: Vec<CorrelationTest>,
}

/// A correlation-rule test: which signals matched, and whether the rule should fire.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CorrelationTest {
    pub name: String,
    pub expected_result: bool,
    pub rule_outputs: Vec<CorrelationRuleOutput>,
}

/// One signal's matches in a correlation-rule test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelationRuleOutput {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Matches")]
    pub matches: Option<Value>,
}

/// `AnalysisType: scheduled_query`: SQL run on a schedule, feeding scheduled rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduledQuerySpec {
    pub analysis_type: AnalysisType,
    pub query_name: String,
    pub enabled: bool,
    pub schedule: QuerySchedule,
    /// At least one of `query` and the engine-specific variants is present.
    pub query: Option<String>,
    pub athena_query: Option<String>,
    pub snowflake_query: Option<String>,
    pub databricks_query: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub lookback: Option<bool>,
    pub lookback_window_seconds: Option<u64>,
    pub email_config: Option<EmailConfig>,
    pub base_version: Option<i64>,
}

/// `AnalysisType: saved_query`: SQL kept for investigations.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SavedQuerySpec {
    pub analysis_type: AnalysisType,
    pub query_name: String,
    /// At least one of `query` and the engine-specific variants is present.
    pub query: Option<String>,
    pub athena_query: Option<String>,
    pub snowflake_query: Option<String>,
    pub databricks_query: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub lookback: Option<bool>,
    pub lookback_window_seconds: Option<u64>,
    pub base_version: Option<i64>,
}

/// When a scheduled query runs: exactly one of a cron expression or a rate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct QuerySchedule {
    pub cron_expression: Option<String>,
    pub rate_minutes: Option<u32>,
    pub timeout_minutes: u32,
}

/// Email delivery of a scheduled query's results.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EmailConfig {
    pub recipients: Vec<String>,
    pub send_empty: Option<bool>,
    pub prefer_attachment: Option<bool>,
}

/// `AnalysisType: lookup_table`, in one of two forms: data from a file or storage object
/// (`Schema` with `Filename` or `Refresh`), or the result of a query refreshed on a schedule
/// (a query key with `Refresh`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupTableSpec {
    pub analysis_type: AnalysisType,
    pub lookup_name: String,
    pub enabled: bool,
    /// A local data file beside the YAML.
    pub filename: Option<String>,
    /// Where and how often the table is refreshed.
    pub refresh: Option<Value>,
    /// The log schema of the rows; required unless the table comes from a query.
    pub schema: Option<String>,
    pub query: Option<String>,
    pub athena_query: Option<String>,
    pub snowflake_query: Option<String>,
    pub databricks_query: Option<String>,
    pub log_type_map: LogTypeMap,
    #[serde(default)]
    pub indicators: Vec<LookupIndicators>,
    #[serde(default)]
    pub validations: Vec<LookupValidations>,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub base_version: Option<i64>,
}

impl LookupTableSpec {
    /// True for the query-backed form.
    pub fn is_query(&self) -> bool {
        self.query.is_some()
            || self.athena_query.is_some()
            || self.snowflake_query.is_some()
            || self.databricks_query.is_some()
    }
}

/// Indicator kinds extracted from a column of a query-backed lookup table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LookupIndicators {
    pub field: String,
    pub indicators: Vec<String>,
}

/// Validations applied to a column of a query-backed lookup table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LookupValidations {
    pub field: String,
    pub validations: Vec<String>,
}

/// How a lookup table joins to log types.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LogTypeMap {
    pub primary_key: String,
    #[serde(default)]
    pub associated_log_types: Vec<AssociatedLogType>,
}

/// A log type joined to a lookup table and the event fields that select rows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AssociatedLogType {
    pub log_type: String,
    #[serde(default)]
    pub selectors: Vec<String>,
}

/// The top-level field names serde expects for a spec struct, read from its derived
/// `Deserialize` impl so that the loader's unknown-key check cannot drift from the structs.
pub(crate) fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    // The probe always fails once it has seen the field list; the error carries nothing.
    let _ = T::deserialize(FieldProbe(&mut names));
    names
}

struct FieldProbe<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct ProbeDone;

impl fmt::Display for ProbeDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field probe")
    }
}

impl std::error::Error for ProbeDone {}

impl de::Error for ProbeDone {
    fn custom<M: fmt::Display>(_: M) -> Self {
        ProbeDone
    }
}

impl<'de> Deserializer<'de> for FieldProbe<'_> {
    type Error = ProbeDone;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, ProbeDone> {
        *self.0 = fields;
        Err(ProbeDone)
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, ProbeDone> {
        Err(ProbeDone)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_from_serde() {
        let names = field_names::<RuleSpec>();
        for key in [
            "AnalysisType",
            "RuleID",
            "DedupPeriodMinutes",
            "Threshold",
            "Tests",
        ] {
            assert!(names.contains(&key), "{key} missing from {names:?}");
        }
        assert!(field_names::<PolicySpec>().contains(&"PolicyID"));
        assert!(field_names::<DataModelSpec>().contains(&"DataModelID"));
    }

    #[test]
    fn zero_dedup_and_threshold_mean_default() {
        let yaml = serde_json::json!({
            "AnalysisType": "rule", "Enabled": true, "RuleID": "R", "Severity": "Low",
            "Filename": "r.py", "LogTypes": ["AWS.S3ServerAccess"],
            "DedupPeriodMinutes": 0, "Threshold": 0,
        });
        let spec: RuleSpec = serde_json::from_value(yaml).unwrap();
        assert_eq!(spec.dedup_period_minutes(), 60);
        assert_eq!(spec.threshold(), 1);
        assert!(spec.create_alert);
    }
}
