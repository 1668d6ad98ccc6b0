//! bucketwatch's data lake: Delta Lake tables of Parquet files, on a local disk or S3.
//!
//! - [`columns`]: normalized events → typed Arrow columns, with additive schema evolution.
//! - [`table`]: databases, table names and where each table lives.
//! - [`writer`]: buffered, exactly-once commits (units in commit metadata, a ledger of objects).
//! - [`query`]: read-only SQL (DataFusion) with union views and time-filter macros.
//! - [`maintain`]: compaction and retention.
//!
//! Must not parse logs, run rules or keep alert state: it stores what it is given.

/// The Arrow version the lake's batches are built with, for callers that format results.
pub use deltalake::arrow;

mod cluster;
pub mod columns;
pub mod maintain;
pub mod query;
mod scan_predicate;
pub mod table;
pub mod writer;

pub use columns::{ColumnKind, PARTITION_COLUMN, RuleColumns, partition_day};
pub use maintain::{CompactReport, ExpireReport, compact, expire};
pub use query::{ParsedQuery, QueryEngine, QueryError, QueryResult};
pub use table::{Database, LakeLocation, TableId, athena_ddl};
pub use writer::{CommitReport, FinishedObject, Lake, LakeWriter};

/// A lake operation that failed, naming the table or location and the action.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("lake location {location:?}: {reason}")]
    Location { location: String, reason: String },
    #[error("{action} table {table}: {source}")]
    Delta {
        table: String,
        action: &'static str,
        // Boxed: DeltaTableError is large and this error travels through every lake call.
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },
    #[error("building rows for table {table}: {source}")]
    Arrow {
        table: String,
        #[source]
        source: deltalake::arrow::error::ArrowError,
    },
    #[error("the background lake commit stopped: {0}")]
    Background(String),
}

impl LakeError {
    pub(crate) fn delta(
        table: &TableId,
        action: &'static str,
        source: deltalake::DeltaTableError,
    ) -> LakeError {
        LakeError::Delta {
            table: table.to_string(),
            action,
            source: Box::new(source),
        }
    }
}
