//! Running policies over resources: one [`PolicyResult`] per resource and applicable policy,
//! with a status, the reason, and whether a suppression covers it.
//!
//! Owns: the `[scan]` settings (disabled policies, suppressions), mapping a policy's outcome to
//! pass / fail / unknown / error, and the serializable [`ScanReport`] the CLI prints and the lake
//! will store. Must not touch: AWS calls, policy loading (the detect crate).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bucketwatch_detect::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::iam::glob;

/// The Python exception class a policy raises when an input it needs is unknown (an API call
/// failed); it turns into status `unknown`, never `fail`.
pub const UNKNOWN_INPUT: &str = "UnknownInput";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Unknown,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
            Status::Error => "error",
        }
    }
}

/// One policy's verdict on one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyResult {
    pub resource_id: String,
    pub resource_type: String,
    pub policy_id: String,
    pub severity: String,
    pub status: Status,
    /// Why: the policy's title() on a failure, the unknown input, or the error.
    pub reason: String,
    /// A failure matched by a suppression pattern: recorded, not counted as a failure.
    pub suppressed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub resources: usize,
    pub pass: usize,
    pub fail: usize,
    pub unknown: usize,
    pub error: usize,
    pub suppressed: usize,
    pub api_calls: u64,
    pub api_calls_per_bucket: f64,
    pub seconds: f64,
}

/// The outcome of a scan: what was read, and every verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    pub account_id: Option<String>,
    pub resources: Vec<Value>,
    pub results: Vec<PolicyResult>,
    pub summary: Summary,
    /// Content that could not be loaded, and buckets deleted during the scan.
    pub problems: Vec<String>,
}

/// The `[scan]` table of the settings file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSettings {
    #[serde(default)]
    pub disabled_policies: Vec<String>,
    /// Policy id (or `*`) → glob patterns on bucket name or resource ARN.
    #[serde(default)]
    pub suppressions: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read the settings file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the settings file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Deserialize)]
struct SettingsFile {
    #[serde(default)]
    scan: ScanSettings,
}

impl ScanSettings {
    /// Reads `[scan]` from a settings file (the content's `bucketwatch_settings.toml`); a missing
    /// file means no settings.
    pub fn load(path: &Path) -> Result<ScanSettings, SettingsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(SettingsError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        toml::from_str::<SettingsFile>(&text)
            .map(|f| f.scan)
            .map_err(|e| SettingsError::Invalid {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
    }

    /// The settings the rules see: `$BUCKETWATCH_SETTINGS`, else `bucketwatch_settings.toml` in
    /// the first content directory (none: no settings).
    pub fn for_content(content: &[PathBuf]) -> Result<ScanSettings, SettingsError> {
        let path = std::env::var_os("BUCKETWATCH_SETTINGS")
            .map(PathBuf::from)
            .or_else(|| content.first().map(|c| c.join("bucketwatch_settings.toml")));
        match path {
            Some(path) => Self::load(&path),
            None => Ok(Self::default()),
        }
    }

    fn suppressed(&self, policy_id: &str, resource: &Value) -> bool {
        let name = resource.get("Name").and_then(Value::as_str).unwrap_or("");
        let id = resource
            .get("ResourceId")
            .and_then(Value::as_str)
            .unwrap_or("");
        self.suppressions
            .iter()
            .filter(|(p, _)| *p == "*" || *p == policy_id)
            .flat_map(|(_, patterns)| patterns)
            .any(|pat| glob(pat, name, false) || glob(pat, id, false))
    }
}

/// What to leave out of an evaluation.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    pub settings: ScanSettings,
    /// Policy ids disabled on the command line, on top of the settings' list.
    pub disabled: Vec<String>,
    pub account_id: Option<String>,
    pub api_calls: u64,
    pub seconds: f64,
    pub problems: Vec<String>,
}

/// Runs every enabled policy that applies to each resource's `ResourceType`.
pub fn evaluate(
    engine: &Engine,
    resources: Vec<Value>,
    options: ReportOptions,
    on_resource: &dyn Fn(),
) -> ScanReport {
    let mut problems: Vec<String> = engine.problems().iter().map(|p| p.to_string()).collect();
    problems.extend(options.problems);
    let disabled = |id: &str| {
        options.disabled.iter().any(|d| d == id)
            || options.settings.disabled_policies.iter().any(|d| d == id)
    };
    let mut results = Vec::new();
    let mut summary = Summary {
        resources: resources.len(),
        api_calls: options.api_calls,
        seconds: options.seconds,
        ..Summary::default()
    };
    for resource in &resources {
        let rtype = resource
            .get("ResourceType")
            .and_then(Value::as_str)
            .unwrap_or("");
        let rid = resource
            .get("ResourceId")
            .and_then(Value::as_str)
            .unwrap_or("");
        for policy in engine.policies() {
            let spec = &policy.policy.spec;
            if !spec.enabled
                || disabled(&spec.policy_id)
                || !(spec.resource_types.is_empty()
                    || spec.resource_types.iter().any(|t| t == rtype))
            {
                continue;
            }
            let (status, reason) = match engine.run_policy(policy, resource) {
                Ok(o) if o.compliant => (Status::Pass, String::new()),
                Ok(o) => (
                    Status::Fail,
                    o.outputs
                        .title
                        .or_else(|| spec.display_name.clone())
                        .unwrap_or_else(|| spec.policy_id.clone()),
                ),
                Err(e) if e.type_name == UNKNOWN_INPUT => (Status::Unknown, e.message),
                Err(e) => (Status::Error, format!("{}: {}", e.type_name, e.message)),
            };
            let suppressed = status == Status::Fail
                && (options.settings.suppressed(&spec.policy_id, resource)
                    || spec.suppressions.iter().any(|p| glob(p, rid, false)));
            match (status, suppressed) {
                (_, true) => summary.suppressed += 1,
                (Status::Pass, _) => summary.pass += 1,
                (Status::Fail, _) => summary.fail += 1,
                (Status::Unknown, _) => summary.unknown += 1,
                (Status::Error, _) => summary.error += 1,
            }
            results.push(PolicyResult {
                resource_id: rid.to_string(),
                resource_type: rtype.to_string(),
                policy_id: spec.policy_id.clone(),
                severity: format!("{:?}", spec.severity),
                status,
                reason,
                suppressed,
            });
        }
        on_resource();
    }
    let buckets = resources
        .iter()
        .filter(|r| r.get("ResourceType").and_then(Value::as_str) == Some("AWS.S3.Bucket"))
        .count();
    if buckets > 0 {
        summary.api_calls_per_bucket = options.api_calls as f64 / buckets as f64;
    }
    ScanReport {
        account_id: options.account_id,
        resources,
        results,
        summary,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn settings_read_scan_table_and_match_suppressions_by_name_or_arn() {
        let path =
            std::env::temp_dir().join(format!("bw-scan-settings-{}.toml", std::process::id()));
        std::fs::write(
            &path,
            "approved_cidrs = []\n[scan]\ndisabled_policies = [\"A\"]\n[scan.suppressions]\n\"P\" = [\"logs-*\"]\n\"*\" = [\"arn:aws:s3:::sandbox-?\"]\n",
        )
        .unwrap();
        let s = ScanSettings::load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(s.disabled_policies, vec!["A"]);
        let bucket =
            |name: &str| json!({"Name": name, "ResourceId": format!("arn:aws:s3:::{name}")});
        assert!(s.suppressed("P", &bucket("logs-prod")));
        assert!(!s.suppressed("Q", &bucket("logs-prod")));
        assert!(s.suppressed("Q", &bucket("sandbox-1")));
        assert!(!s.suppressed("Q", &bucket("sandbox-12")));
    }

    #[test]
    fn settings_errors_name_the_file() {
        assert_eq!(
            ScanSettings::load(Path::new("/nonexistent/bucketwatch_settings.toml")).unwrap(),
            ScanSettings::default()
        );
        let path = std::env::temp_dir().join(format!("bw-scan-bad-{}.toml", std::process::id()));
        std::fs::write(&path, "[scan]\ndisabled = 1\n").unwrap();
        let err = ScanSettings::load(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(
            err.contains("bw-scan-bad") && err.contains("disabled"),
            "{err}"
        );
    }
}
