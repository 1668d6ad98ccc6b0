//! The runtime that wires bucketwatch's stages into jobs, so the flow of an event reads top to
//! bottom in one place.
//!
//! Owns: jobs (`parse`, `detect`, `ingest`, scheduled queries, recording posture scans, the
//! demo, the `run` service) — which sources feed which parsers and where the results go,
//! counting and reporting along the way.
//!
//! Must not touch: argument parsing and terminal formatting (the `bucketwatch` binary), or the
//! inner workings of any stage.

pub mod demo;
pub mod detect_job;
pub mod ingest_job;
pub mod parse_job;
pub mod scan_job;
pub mod scheduled_job;
pub mod service;

pub use bucketwatch_collect::Input;
pub use detect_job::{DetectJob, DetectReport};
pub use ingest_job::{
    IngestError, IngestItem, IngestJob, IngestReport, ItemError, Progress, Source,
};
pub use parse_job::{InputReport, ParseJob, ParseReport};
