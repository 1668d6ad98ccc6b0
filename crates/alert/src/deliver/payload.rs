//! The alert as destinations receive it: Panther's alert payload fields (`id` is the rule id,
//! `alertId`, `createdAt`, `severity`, `type`, `title`, `alertContext`, `description`,
//! `runbook`, `tags`, `version`, `link`) plus bucketwatch's (`deliveryId`, `dedup`,
//! `updatedAt`, `eventCount`, `logTypes`, `reference`, `reports`, `error`, `samples`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::model::{Alert, RuleErrorInfo};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlertPayload<'a> {
    /// The rule id, as Panther names it.
    pub id: &'a str,
    pub alert_id: &'a str,
    /// The idempotency key: the same for every attempt of this alert to this destination.
    pub delivery_id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub severity: &'static str,
    pub title: &'a str,
    pub dedup: &'a str,
    pub created_at: String,
    pub updated_at: String,
    pub event_count: u64,
    pub log_types: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_context: Option<&'a Value>,
    pub description: &'a str,
    pub runbook: &'a str,
    pub reference: &'a str,
    pub tags: &'a [String],
    pub reports: &'a BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a RuleErrorInfo>,
    pub samples: &'a [Value],
}

impl<'a> AlertPayload<'a> {
    pub fn new(alert: &'a Alert, delivery_id: &'a str, console_url: Option<&str>) -> Self {
        AlertPayload {
            id: &alert.rule_id,
            alert_id: &alert.alert_id,
            delivery_id,
            kind: alert.kind.as_str(),
            severity: alert.severity.as_str(),
            title: &alert.title,
            dedup: &alert.dedup,
            created_at: alert.creation_time.to_string(),
            updated_at: alert.update_time.to_string(),
            event_count: alert.event_count,
            log_types: &alert.log_types,
            alert_context: alert.context.as_ref(),
            description: &alert.details.description,
            runbook: &alert.details.runbook,
            reference: &alert.details.reference,
            tags: &alert.details.tags,
            reports: &alert.details.reports,
            version: alert.details.rule_version.as_deref(),
            link: console_url.map(|base| alert_link(base, &alert.alert_id)),
            error: alert.details.error.as_ref(),
            samples: &alert.samples,
        }
    }

    /// The JSON text, at most `limit` bytes when that can be had by leaving out the samples and
    /// then the context (SNS caps a message at 256 KiB; an alert may carry 200 KiB of context
    /// and ten events). What was left out is said in `omitted`.
    pub fn to_json_within(&self, limit: usize) -> Vec<u8> {
        let full = self.to_json();
        if full.len() <= limit {
            return full;
        }
        let no_samples = AlertPayload {
            samples: &[],
            ..self.shallow_copy()
        };
        let text = with_omitted(&no_samples, &["samples"]);
        if text.len() <= limit {
            return text;
        }
        let bare = AlertPayload {
            samples: &[],
            alert_context: None,
            ..self.shallow_copy()
        };
        with_omitted(&bare, &["samples", "alertContext"])
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serializing borrowed strings and JSON values into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn shallow_copy(&self) -> AlertPayload<'a> {
        AlertPayload {
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            link: self.link.clone(),
            ..*self
        }
    }
}

fn with_omitted(payload: &AlertPayload<'_>, omitted: &[&str]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Trimmed<'p, 'a> {
        #[serde(flatten)]
        payload: &'p AlertPayload<'a>,
        omitted: &'p [&'p str],
    }
    serde_json::to_vec(&Trimmed { payload, omitted }).unwrap_or_default()
}

pub(crate) fn alert_link(console_url: &str, alert_id: &str) -> String {
    format!("{}/alerts/{alert_id}", console_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use bucketwatch_core::Timestamp;
    use serde_json::{Value, json};

    use super::*;
    use crate::model::{AlertDetails, AlertKind, Severity};

    fn alert(context_bytes: usize, sample_bytes: usize) -> Alert {
        Alert {
            alert_id: "a1".into(),
            kind: AlertKind::Rule,
            rule_id: "R".into(),
            dedup: "d".into(),
            title: "t".into(),
            severity: Severity::Low,
            context: Some(json!({"big": "c".repeat(context_bytes)})),
            details: AlertDetails {
                rule_version: None,
                description: String::new(),
                runbook: String::new(),
                reference: String::new(),
                tags: Vec::new(),
                reports: BTreeMap::new(),
                destinations: None,
                error: None,
            },
            log_types: vec!["AWS.CloudTrail".into()],
            creation_time: Timestamp(0),
            update_time: Timestamp(0),
            event_count: 3,
            samples: vec![json!({"e": "s".repeat(sample_bytes)}); 2],
        }
    }

    fn within(alert: &Alert, limit: usize) -> Value {
        let text = AlertPayload::new(alert, "a1:x", None).to_json_within(limit);
        serde_json::from_slice(&text).unwrap()
    }

    #[test]
    fn an_oversized_payload_drops_samples_then_context() {
        let small = within(&alert(10, 10), 1000);
        assert_eq!(small["samples"].as_array().unwrap().len(), 2);
        assert!(small.get("omitted").is_none());

        let heavy_samples = within(&alert(10, 1000), 1000);
        assert_eq!(heavy_samples["samples"], json!([]));
        assert_eq!(heavy_samples["alertContext"]["big"], "c".repeat(10));
        assert_eq!(heavy_samples["omitted"], json!(["samples"]));

        let heavy_context = within(&alert(2000, 10), 1000);
        assert!(heavy_context.get("alertContext").is_none());
        assert_eq!(heavy_context["omitted"], json!(["samples", "alertContext"]));
        assert_eq!(heavy_context["alertId"], "a1");
        assert_eq!(heavy_context["deliveryId"], "a1:x");
    }
}
