//! Lake maintenance: compaction and retention.
//!
//! Owns `compact` (merge small files, one atomic Delta commit per table: a reader sees either
//! the old files or the new ones, never both or neither) and `expire` (drop whole days older
//! than the retention period, then vacuum files no version within the grace period still
//! references). Must not change rows: compaction rewrites files, not data.

use std::num::NonZeroU64;

use deltalake::datafusion::prelude::{col, lit};
use deltalake::datafusion::scalar::ScalarValue;

use crate::LakeError;
use crate::columns::PARTITION_COLUMN;
use crate::table::{Database, TableId};
use crate::writer::Lake;

/// Files are merged up to about this size: large enough for scans to be cheap, small enough
/// that one day of a quiet table is still one file.
pub const DEFAULT_TARGET_FILE_BYTES: u64 = 128 * 1024 * 1024;

/// What compaction did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactReport {
    pub table: TableId,
    pub files_removed: u64,
    pub files_added: u64,
}

/// Merges each table's small files, per partition.
pub async fn compact(lake: &Lake, target_bytes: u64) -> Result<Vec<CompactReport>, LakeError> {
    let target = NonZeroU64::new(target_bytes).unwrap_or(NonZeroU64::MIN);
    let mut reports = Vec::new();
    for id in lake.tables().await? {
        let Some(table) = lake.table(&id).await? else {
            continue;
        };
        let (_, metrics) = table
            .optimize()
            .with_target_size(target)
            .with_writer_properties(crate::writer::parquet_properties())
            .await
            .map_err(|e| LakeError::delta(&id, "compacting", e))?;
        reports.push(CompactReport {
            table: id,
            files_removed: metrics.num_files_removed,
            files_added: metrics.num_files_added,
        });
    }
    Ok(reports)
}

/// What retention did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpireReport {
    pub table: TableId,
    /// Files removed from the table's current version.
    pub files_removed: u64,
    /// Rows deleted, when the file statistics tell (always, for files bucketwatch wrote).
    pub rows_deleted: Option<u64>,
    pub files_vacuumed: u64,
}

/// Deletes every row whose event day is before `keep_from_day` (days since the epoch, the
/// partition value), then deletes data files unreferenced for longer than `grace`: readers
/// still on an older version keep working for that long.
pub async fn expire(
    lake: &Lake,
    keep_from_day: i32,
    grace: std::time::Duration,
) -> Result<Vec<ExpireReport>, LakeError> {
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let mut reports = Vec::new();
    for id in lake.tables().await? {
        if id.database == Database::System {
            continue;
        }
        let Some(table) = lake.table(&id).await? else {
            continue;
        };
        // A predicate on the partition column alone removes whole files without reading them.
        let predicate = col(PARTITION_COLUMN).lt(lit(ScalarValue::Date32(Some(keep_from_day))));
        let (table, deleted) = table
            .delete()
            .with_predicate(predicate)
            .await
            .map_err(|e| LakeError::delta(&id, "deleting expired rows from", e))?;
        let (_, vacuumed) = table
            .vacuum()
            .with_retention_period(grace)
            .with_enforce_retention_duration(false)
            .await
            .map_err(|e| LakeError::delta(&id, "vacuuming", e))?;
        reports.push(ExpireReport {
            table: id,
            files_removed: deleted.num_removed_files as u64,
            rows_deleted: deleted.num_deleted_rows.map(|n| n as u64),
            files_vacuumed: vacuumed.files_deleted.len() as u64,
        });
    }
    Ok(reports)
}
