//! A physical optimizer rule that drops repeated conjuncts from Parquet scans' predicates.
//!
//! Owns that rewrite only. Must not change what a scan returns: it removes a conjunct only
//! when an equal one stays.
//!
//! delta-rs gives its Parquet scan the query's filters when it plans the scan, and DataFusion's
//! filter pushdown then conjoins the same filters again, so `bucket = 'x'` reaches the row
//! filter as `bucket = 'x' AND bucket = 'x'` and every surviving row is compared twice (about a
//! tenth of a selective query's CPU, docs/BENCHMARKS.md).

use std::collections::HashSet;
use std::sync::Arc;

use deltalake::datafusion::common::Result;
use deltalake::datafusion::common::tree_node::{Transformed, TreeNode};
use deltalake::datafusion::config::ConfigOptions;
use deltalake::datafusion::datasource::physical_plan::{
    FileScanConfigBuilder, FileSource, ParquetSource,
};
use deltalake::datafusion::datasource::source::DataSourceExec;
use deltalake::datafusion::physical_expr::PhysicalExpr;
use deltalake::datafusion::physical_expr::utils::{conjunction, split_conjunction};
use deltalake::datafusion::physical_optimizer::PhysicalOptimizerRule;
use deltalake::datafusion::physical_plan::ExecutionPlan;

#[derive(Debug, Default)]
pub(crate) struct DedupeScanPredicates;

impl PhysicalOptimizerRule for DedupeScanPredicates {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(scan) = node.downcast_ref::<DataSourceExec>() else {
                return Ok(Transformed::no(node));
            };
            let Some((config, parquet)) = scan.downcast_to_file_source::<ParquetSource>() else {
                return Ok(Transformed::no(node));
            };
            let Some(predicate) = parquet.filter() else {
                return Ok(Transformed::no(node));
            };
            let Some(deduped) = without_repeats(&predicate) else {
                return Ok(Transformed::no(node));
            };
            let source: Arc<dyn FileSource> = Arc::new(parquet.with_predicate(deduped));
            let config = FileScanConfigBuilder::from(config.clone())
                .with_source(source)
                .build();
            Ok(Transformed::yes(DataSourceExec::from_data_source(config)))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "dedupe_scan_predicates"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `predicate` with each repeated conjunct kept once, in first-seen order; `None` when
/// nothing repeats.
fn without_repeats(predicate: &Arc<dyn PhysicalExpr>) -> Option<Arc<dyn PhysicalExpr>> {
    let conjuncts = split_conjunction(predicate);
    let mut seen = HashSet::with_capacity(conjuncts.len());
    let kept: Vec<Arc<dyn PhysicalExpr>> = conjuncts
        .iter()
        .filter(|c| seen.insert(Arc::clone(c)))
        .map(|c| Arc::clone(c))
        .collect();
    (kept.len() < conjuncts.len()).then(|| conjunction(kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltalake::arrow::datatypes::{DataType, Field, Schema};
    use deltalake::datafusion::logical_expr::Operator;
    use deltalake::datafusion::physical_expr::expressions::{binary, col, lit};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("bucket", DataType::Utf8, true),
            Field::new("httpstatus", DataType::Int64, true),
        ])
    }

    fn eq(column: &str, value: Arc<dyn PhysicalExpr>) -> Arc<dyn PhysicalExpr> {
        binary(
            col(column, &schema()).unwrap(),
            Operator::Eq,
            value,
            &schema(),
        )
        .unwrap()
    }

    fn and(a: Arc<dyn PhysicalExpr>, b: Arc<dyn PhysicalExpr>) -> Arc<dyn PhysicalExpr> {
        binary(a, Operator::And, b, &schema()).unwrap()
    }

    #[test]
    fn a_repeated_conjunct_is_kept_once_in_order() {
        let bucket = eq("bucket", lit("www.example.com"));
        let status = eq("httpstatus", lit(403i64));
        let repeated = and(
            and(Arc::clone(&bucket), Arc::clone(&status)),
            Arc::clone(&bucket),
        );
        let deduped = without_repeats(&repeated).unwrap();
        assert_eq!(deduped.to_string(), and(bucket, status).to_string());
    }

    #[test]
    fn distinct_conjuncts_are_left_alone() {
        let other_bucket = and(
            eq("bucket", lit("www.example.com")),
            eq("bucket", lit("acme-static")),
        );
        assert!(without_repeats(&other_bucket).is_none());
        assert!(without_repeats(&eq("httpstatus", lit(403i64))).is_none());
    }
}
