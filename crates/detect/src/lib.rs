//! bucketwatch's detection engine.
//!
//! Owns: loading and validating panther-analysis content ([`content`]), native no-code rules
//! compiled from the `Detection:` grammar and the YAML alert fields ([`native`]), Python rules,
//! policies and data models run by embedded CPython ([`python`]), and the test runner
//! ([`testing`]). Alert grouping is `bucketwatch-alert`; the lake is another crate.
//!
//! Must not touch: I/O beyond reading the content tree, parsing of logs (events arrive as
//! `serde_json::Value` objects), or alert delivery.

pub mod content;
pub mod engine;
pub mod native;
pub mod python;
pub mod testing;

pub use content::spec::Severity;
pub use content::{Content, LoadError, LoadErrorKind, LoadOptions, Rule, load, load_all};
pub use engine::{ContentProblem, Detection, Engine, EngineOptions, EnginePolicy, PolicyOutcome};
pub use native::{CompileError, CompiledRule, Lookups, Matcher};
pub use python::{PyCallError, RuleFunctionsOutput};
pub use testing::{Filter, TestOptions, TestReport, run_tests};
