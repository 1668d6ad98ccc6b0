//! The order a commit writes a log or rule table's rows in: by day, rule, the log type's
//! clustering columns and event time, so each Parquet page covers a narrow range of what
//! queries filter on (Delta's clustering, done on every write).
//!
//! Owns that order and how it is computed. Must not touch storage or the column layout
//! (`columns` says which columns cluster a log type).
//!
//! Sorting is a tenth of ingest's CPU when each comparison walks the key columns through
//! Arrow's dynamic comparators (a `memcmp` per string key). The keys here are few-valued
//! (days, buckets, operations, rule ids) and one time, so each row's keys usually pack into one
//! `u128` of order-preserving ordinals, and one integer sort orders the batch. Keys that do not
//! pack (many distinct strings, wide ranges, other types) take Arrow's `lexsort_to_indices`,
//! which gives the same order.

use std::collections::HashMap;

use deltalake::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use deltalake::arrow::compute::{SortColumn, lexsort_to_indices, take};
use deltalake::arrow::datatypes::{
    DataType, Date32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use deltalake::arrow::error::ArrowError;

use crate::columns::{PARTITION_COLUMN, clustering_columns};
use crate::table::{Database, TableId};

/// `batch`'s rows in clustering order; tables without a log type keep arrival order. The
/// day goes first so each partition's rows are one contiguous run.
pub(crate) fn cluster(id: &TableId, batch: RecordBatch) -> Result<RecordBatch, ArrowError> {
    let Some(log_type) = id.log_type() else {
        return Ok(batch);
    };
    let rule =
        matches!(id.database, Database::RuleMatches | Database::RuleErrors).then_some("p_rule_id");
    let keys: Vec<ArrayRef> = std::iter::once(PARTITION_COLUMN)
        .chain(rule)
        .chain(clustering_columns(log_type).iter().copied())
        .chain(["p_event_time"])
        .filter_map(|name| batch.column_by_name(name).cloned())
        .collect();
    let order = sort_indices(&keys)?;
    drop(keys);
    // Column by column, each unsorted column freed once its sorted copy exists: the commit
    // holds one batch and a column, not two batches (it runs while the next batch fills).
    let (schema, columns, _) = batch.into_parts();
    let sorted = columns
        .into_iter()
        .map(|column| take(&column, &order, None))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema, sorted)
}

/// The row order that sorts `keys` lexicographically, each ascending with nulls first, as
/// `lexsort_to_indices` with default options sorts them (rows with equal keys may come in
/// another order).
pub(crate) fn sort_indices(keys: &[ArrayRef]) -> Result<UInt32Array, ArrowError> {
    if let Some(mut packed) = packed_keys(keys) {
        packed.sort_unstable();
        let index_mask = (1u128 << index_bits(packed.len())) - 1;
        return Ok(UInt32Array::from_iter_values(
            packed.iter().map(|k| (k & index_mask) as u32),
        ));
    }
    lexsorted(keys)
}

/// Arrow's order for `keys`, each ascending with nulls first.
fn lexsorted(keys: &[ArrayRef]) -> Result<UInt32Array, ArrowError> {
    let columns: Vec<SortColumn> = keys
        .iter()
        .map(|values| SortColumn {
            values: values.clone(),
            options: None,
        })
        .collect();
    lexsort_to_indices(&columns, None)
}

/// Each row's keys as one integer, most significant key first, with the row's index in the
/// lowest bits: sorting the integers sorts the rows. `None` when they do not fit in 128 bits
/// or a key's type has no ordinal here.
fn packed_keys(keys: &[ArrayRef]) -> Option<Vec<u128>> {
    let rows = keys.first().map_or(0, |k| k.len());
    if rows > u32::MAX as usize {
        return None;
    }
    let ordinals = keys
        .iter()
        .map(|k| Ordinals::of(k.as_ref()))
        .collect::<Option<Vec<_>>>()?;
    let key_bits: u32 = ordinals.iter().map(|o| o.bits).sum();
    let index_bits = index_bits(rows);
    if key_bits + index_bits > 128 {
        return None;
    }
    let mut packed: Vec<u128> = (0..rows as u128).collect();
    let mut shift = index_bits + key_bits;
    for ordinal in &ordinals {
        shift -= ordinal.bits;
        for (row, key) in packed.iter_mut().enumerate() {
            *key |= u128::from(ordinal.values[row]) << shift;
        }
    }
    Some(packed)
}

/// Bits that hold every row index of a batch of `rows`.
fn index_bits(rows: usize) -> u32 {
    usize::BITS - rows.saturating_sub(1).leading_zeros()
}

/// A key column as order-preserving unsigned integers: 0 for null, then 1, 2, ... in the
/// column's order; `bits` holds the largest.
struct Ordinals {
    values: Vec<u64>,
    bits: u32,
}

impl Ordinals {
    fn of(column: &dyn Array) -> Option<Ordinals> {
        match column.data_type() {
            DataType::Date32 => Self::of_integers(
                column
                    .as_primitive::<Date32Type>()
                    .iter()
                    .map(|v| v.map(i64::from)),
            ),
            DataType::Int64 => Self::of_integers(column.as_primitive::<Int64Type>().iter()),
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                Self::of_integers(column.as_primitive::<TimestampMicrosecondType>().iter())
            }
            DataType::Utf8 => Self::of_strings(column.as_string::<i32>().iter()),
            _ => None,
        }
    }

    /// Integers as their offset from the smallest, plus one.
    fn of_integers(values: impl Iterator<Item = Option<i64>> + Clone) -> Option<Ordinals> {
        let Some((min, max)) = values.clone().flatten().fold(None, |range, v| match range {
            None => Some((v, v)),
            Some((lo, hi)) => Some((v.min(lo), v.max(hi))),
        }) else {
            return Some(Ordinals::nulls(values.count()));
        };
        // Offsets run to `max - min + 1`, which must not wrap to the null ordinal.
        let top = max.abs_diff(min).checked_add(1)?;
        Some(Ordinals {
            values: values
                .map(|v| v.map_or(0, |v| v.abs_diff(min) + 1))
                .collect(),
            bits: u64::BITS - top.leading_zeros(),
        })
    }

    /// Strings as their rank among the column's distinct values, plus one.
    fn of_strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Option<Ordinals> {
        // Beyond this many distinct values a column is not a clustering key worth packing.
        const MAX_DISTINCT: usize = 1 << 16;
        let mut ids: HashMap<&str, u64, ahash::RandomState> = HashMap::default();
        // In order of first appearance; a row holds its value's position here plus one.
        let mut distinct: Vec<&str> = Vec::new();
        let mut rows: Vec<u64> = Vec::with_capacity(values.size_hint().0);
        for value in values {
            let Some(value) = value else {
                rows.push(0);
                continue;
            };
            let id = *ids.entry(value).or_insert_with(|| {
                distinct.push(value);
                distinct.len() as u64
            });
            if distinct.len() > MAX_DISTINCT {
                return None;
            }
            rows.push(id);
        }
        let mut by_value: Vec<usize> = (0..distinct.len()).collect();
        by_value.sort_unstable_by_key(|&i| distinct[i]);
        // `rank[id]`: the ordinal of the value first seen as `id` (0 stays null).
        let mut rank = vec![0u64; distinct.len() + 1];
        for (position, &i) in by_value.iter().enumerate() {
            rank[i + 1] = position as u64 + 1;
        }
        for row in &mut rows {
            *row = rank[*row as usize];
        }
        Some(Ordinals {
            values: rows,
            bits: u64::BITS - (distinct.len() as u64).leading_zeros(),
        })
    }

    fn nulls(rows: usize) -> Ordinals {
        Ordinals {
            values: vec![0; rows],
            bits: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use deltalake::arrow::array::{
        Date32Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use proptest::prelude::*;

    use super::*;

    /// The keys of each row, in the order `indices` gives, as comparable text.
    fn rows_in_order(keys: &[ArrayRef], indices: &UInt32Array) -> Vec<String> {
        let sorted: Vec<ArrayRef> = keys
            .iter()
            .map(|k| take(k, indices, None).unwrap())
            .collect();
        let formatters: Vec<_> = sorted
            .iter()
            .map(|c| {
                deltalake::arrow::util::display::ArrayFormatter::try_new(
                    c.as_ref(),
                    &Default::default(),
                )
                .unwrap()
            })
            .collect();
        (0..indices.len())
            .map(|row| {
                formatters
                    .iter()
                    .zip(&sorted)
                    .map(|(f, c)| {
                        if c.is_null(row) {
                            "<null>".to_string()
                        } else {
                            f.value(row).to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }

    fn keys_strategy() -> impl Strategy<Value = Vec<ArrayRef>> {
        (0usize..200).prop_flat_map(|rows| {
            (
                prop::collection::vec(prop::option::weighted(0.9, -3i32..3), rows),
                prop::collection::vec(prop::option::weighted(0.9, "[ab]{0,2}"), rows),
                prop::collection::vec(prop::option::weighted(0.9, any::<i64>()), rows),
                prop::collection::vec(prop::option::weighted(0.9, -5i64..5), rows),
            )
                .prop_map(|(days, texts, times, small)| {
                    vec![
                        Arc::new(Date32Array::from(days)) as ArrayRef,
                        Arc::new(StringArray::from(texts)) as ArrayRef,
                        Arc::new(Int64Array::from(small)) as ArrayRef,
                        Arc::new(TimestampMicrosecondArray::from(times).with_timezone("UTC"))
                            as ArrayRef,
                    ]
                })
        })
    }

    proptest! {
        #[test]
        fn sorts_keys_as_arrow_lexsort_does(keys in keys_strategy()) {
            let ours = sort_indices(&keys).unwrap();
            prop_assert_eq!(rows_in_order(&keys, &ours), rows_in_order(&keys, &lexsorted(&keys).unwrap()));
        }
    }

    #[test]
    fn few_valued_keys_pack_and_wide_ones_do_not() {
        let day = Arc::new(Date32Array::from(vec![Some(20_000), None, Some(19_999)])) as ArrayRef;
        let bucket = Arc::new(StringArray::from(vec![Some("b"), Some("a"), None])) as ArrayRef;
        let time = Arc::new(Int64Array::from(vec![Some(5), Some(-7), None])) as ArrayRef;
        let packed = packed_keys(&[day.clone(), bucket.clone(), time.clone()]).unwrap();
        assert_eq!(packed.len(), 3);
        assert_eq!(
            sort_indices(&[day.clone(), bucket, time])
                .unwrap()
                .values()
                .to_vec(),
            vec![1, 2, 0]
        );
        let extremes = Arc::new(Int64Array::from(vec![i64::MIN, i64::MAX])) as ArrayRef;
        assert!(packed_keys(std::slice::from_ref(&extremes)).is_none());
        assert_eq!(
            sort_indices(&[extremes]).unwrap().values().to_vec(),
            vec![0, 1]
        );
        // Three keys of 63 bits each.
        let wide = Arc::new(Int64Array::from(vec![0, 1 << 62, 7])) as ArrayRef;
        let three = [wide.clone(), wide.clone(), wide];
        assert!(packed_keys(&three).is_none());
        assert_eq!(
            sort_indices(&three).unwrap().values().to_vec(),
            vec![0, 2, 1]
        );
    }
}
