//! Native (no-code) rules: the panther-analysis `Detection:` match-expression grammar compiled
//! once into a Rust matcher over `serde_json::Value` events, plus the YAML alert fields that
//! replace Python's `title`, `dedup`, `severity` and `alert_context`.
//!
//! Owns: key specifiers and their case-insensitive lookup, condition semantics, `InlineFilters`,
//! `AlertTitle`, `AlertContext`, `GroupBy` and `DynamicSeverities`.
//! Must not touch: Python, alert grouping state or delivery. Evaluation allocates nothing on the
//! common path (ASCII strings); all parsing (paths, numbers, CIDRs) happens at compile time.

mod alert;
mod expr;
mod ip;
mod path;
#[cfg(test)]
mod tests;
mod value;

use serde_json::{Map, Value};

use crate::content::spec::{MatchExpression, RuleSpec, Severity};
use expr::{Node, Root};
use path::KeyPath;
pub use path::Lookups;

/// Why a match expression or alert field did not compile; `path` locates it in the spec,
/// e.g. `Detection[2].Any[0]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {kind}")]
pub struct CompileError {
    pub path: String,
    pub kind: CompileErrorKind,
}

impl CompileError {
    fn new(path: &str, kind: CompileErrorKind) -> Self {
        Self {
            path: path.into(),
            kind,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileErrorKind {
    #[error("unknown Condition '{0}'")]
    UnknownCondition(String),
    #[error("missing Condition (or a group: All, Any, OnlyOne, None)")]
    MissingCondition,
    #[error("group '{0}' cannot be combined with other keys")]
    MixedGroup(&'static str),
    #[error("exactly one key specifier is needed: KeyPath, Key or DeepKey")]
    KeySpecifierCount,
    #[error("invalid key specifier: {0}")]
    BadKey(String),
    #[error("Condition '{0}' needs a key (KeyPath, Key or DeepKey)")]
    MissingKey(String),
    #[error("Condition '{0}' takes no key")]
    UnexpectedKey(String),
    #[error("Condition '{condition}' needs {operand}")]
    MissingOperand {
        condition: String,
        operand: &'static str,
    },
    #[error("Condition '{condition}' does not use {operand}")]
    UnexpectedOperand {
        condition: String,
        operand: &'static str,
    },
    #[error("Condition '{condition}': {reason}")]
    BadOperand { condition: String, reason: String },
    #[error("invalid template: {0}")]
    BadTemplate(String),
    #[error("{0} is not supported")]
    Unsupported(&'static str),
}

/// A compiled list of match expressions, true when all of them hold (the implicit `All`).
#[derive(Debug, Clone)]
pub struct Matcher {
    nodes: Box<[Node]>,
}

impl Matcher {
    /// Compiles `exprs`; `path` names the list in errors (`Detection`, `InlineFilters`, …).
    pub fn compile(exprs: &[MatchExpression], path: &str) -> Result<Self, CompileError> {
        expr::compile_list(exprs, path).map(|nodes| Self { nodes })
    }

    pub fn matches(&self, event: &Value) -> bool {
        self.matches_in(&Lookups::new(event))
    }

    /// [`matches`](Self::matches), sharing the event's key lookups with other matchers.
    pub fn matches_in(&self, lookups: &Lookups<'_>) -> bool {
        self.nodes.iter().all(|n| n.eval(Root::Event(lookups)))
    }

    /// The index of the first top-level expression that is false, for explaining a miss.
    pub fn first_failing(&self, event: &Value) -> Option<usize> {
        let lookups = Lookups::new(event);
        self.nodes
            .iter()
            .position(|n| !n.eval(Root::Event(&lookups)))
    }
}

/// The parts of a rule spec that run natively: its inline filters, its no-code detection when
/// it has one, and the YAML alert fields. A Python rule compiles to one of these too (without a
/// detection), so its filters and alert fields run in Rust around the Python call.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    severity: Severity,
    inline_filters: Option<Matcher>,
    detection: Option<Matcher>,
    title: Option<alert::Template>,
    context: Box<[(String, KeyPath)]>,
    group_by: Box<[KeyPath]>,
    dynamic_severities: Box<[(Severity, Matcher)]>,
}

impl CompiledRule {
    pub fn compile(spec: &RuleSpec) -> Result<Self, CompileError> {
        let optional = |exprs: &Option<Vec<MatchExpression>>, path: &str| {
            exprs
                .as_deref()
                .map(|e| Matcher::compile(e, path))
                .transpose()
        };
        let title = spec
            .alert_title
            .as_deref()
            .map(|t| {
                alert::Template::parse(t).map_err(|reason| {
                    CompileError::new("AlertTitle", CompileErrorKind::BadTemplate(reason))
                })
            })
            .transpose()?;
        let context = spec
            .alert_context
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let key = expr::compile_key(&c.key_value, &format!("AlertContext[{i}].KeyValue"))?;
                Ok((c.key_name.clone(), key))
            })
            .collect::<Result<_, CompileError>>()?;
        let group_by = spec
            .group_by
            .iter()
            .enumerate()
            .map(|(i, k)| expr::compile_key(k, &format!("GroupBy[{i}]")))
            .collect::<Result<_, _>>()?;
        let dynamic_severities = spec
            .dynamic_severities
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let conditions =
                    Matcher::compile(&d.conditions, &format!("DynamicSeverities[{i}].Conditions"))?;
                Ok((d.change_to, conditions))
            })
            .collect::<Result<_, CompileError>>()?;
        Ok(Self {
            severity: spec.severity,
            inline_filters: optional(&spec.inline_filters, "InlineFilters")?,
            detection: optional(&spec.detection, "Detection")?,
            title,
            context,
            group_by,
            dynamic_severities,
        })
    }

    /// True when the rule's logic is a no-code `Detection`.
    pub fn is_native(&self) -> bool {
        self.detection.is_some()
    }

    /// True when the event passes `InlineFilters` (or there are none).
    pub fn passes_filters(&self, event: &Value) -> bool {
        self.passes_filters_in(&Lookups::new(event))
    }

    /// [`passes_filters`](Self::passes_filters) with lookups shared by the rules of one event.
    pub fn passes_filters_in(&self, lookups: &Lookups<'_>) -> bool {
        self.inline_filters
            .as_ref()
            .is_none_or(|f| f.matches_in(lookups))
    }

    /// Whether a no-code rule matches: inline filters, then the detection. `None` for a Python
    /// rule, whose logic is not here.
    pub fn matches(&self, event: &Value) -> Option<bool> {
        self.matches_in(&Lookups::new(event))
    }

    /// [`matches`](Self::matches) with lookups shared by the rules of one event.
    pub fn matches_in(&self, lookups: &Lookups<'_>) -> Option<bool> {
        let detection = self.detection.as_ref()?;
        Some(self.passes_filters_in(lookups) && detection.matches_in(lookups))
    }

    /// Names the first top-level expression that rejected the event, e.g. `Detection[1]`.
    pub fn explain_miss(&self, event: &Value) -> Option<String> {
        if let Some(i) = self
            .inline_filters
            .as_ref()
            .and_then(|f| f.first_failing(event))
        {
            return Some(format!("InlineFilters[{i}]"));
        }
        self.detection
            .as_ref()
            .and_then(|d| d.first_failing(event))
            .map(|i| format!("Detection[{i}]"))
    }

    /// The `AlertTitle` rendered for the event, when the spec has one.
    pub fn title(&self, event: &Value) -> Option<String> {
        self.title.as_ref().map(|t| t.render(event))
    }

    /// The `GroupBy` values joined by `:`, when the spec has `GroupBy`. Missing keys render
    /// empty; the caller applies Panther's fallbacks (title, then `defaultDedupString:<RuleID>`)
    /// when this is `None` or empty, as it does for Python rules.
    pub fn dedup(&self, event: &Value) -> Option<String> {
        if self.group_by.is_empty() {
            return None;
        }
        let mut out = String::new();
        for (i, key) in self.group_by.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            alert::render_key(key, event, &mut out);
        }
        Some(out)
    }

    /// The first `DynamicSeverities` entry whose conditions hold, else the spec's `Severity`.
    pub fn severity(&self, event: &Value) -> Severity {
        self.dynamic_severities
            .iter()
            .find(|(_, conditions)| conditions.matches(event))
            .map_or(self.severity, |(severity, _)| *severity)
    }

    /// The `AlertContext` mapping for the event, when the spec has one.
    pub fn alert_context(&self, event: &Value) -> Option<Map<String, Value>> {
        if self.context.is_empty() {
            return None;
        }
        Some(
            self.context
                .iter()
                .map(|(name, key)| (name.clone(), alert::context_value(key, event)))
                .collect(),
        )
    }
}
