//! The event model every bucketwatch stage shares.
//!
//! Owns: the log-type registry ([`LogType`]), the Panther-compatible standard fields
//! (`p_log_type`, `p_row_id`, `p_event_time`, `p_parse_time`, `p_source_*`, `p_any_*`), row-id
//! generation, UTC timestamps in Panther's text form, indicator collection and the JSON string
//! writer that turns untrusted bytes into valid JSON.
//!
//! Must not touch: I/O, decompression, or any knowledge of how a particular log format is laid
//! out — those belong to `bucketwatch-collect` and `bucketwatch-parse`.

pub mod event;
pub mod indicators;
pub mod json;
pub mod log_type;
pub mod row_id;
pub mod time;

pub use event::{SourceInfo, StandardFields};
pub use indicators::{IndicatorKind, Indicators};
pub use log_type::LogType;
pub use row_id::RowIdGenerator;
pub use time::Timestamp;
