//! Python content: rules, policies, data models and global helpers run by embedded CPython.
//!
//! Owns: the interpreter (one per process, entered with `Python::attach` by whichever thread runs
//! content), the event object rules see, data models, and calling content functions with
//! panther-analysis semantics — guarded, time-boxed, with their documented fallbacks.
//!
//! Must not touch: loading and validating YAML specs (the `content` module), native rules, or
//! what happens to matches (alert grouping is `bucketwatch-alert`).

pub mod datamodel;
pub mod event;
pub mod rule;
pub mod runtime;

#[cfg(test)]
mod tests;

pub use datamodel::{DataModel, JsonPath, UdmMapping};
pub use event::PyEvent;
pub use rule::{CallMode, PythonDetection, RuleFunctionsOutput};
pub use runtime::{PyCallError, PyLoadError, PythonRuntime};
