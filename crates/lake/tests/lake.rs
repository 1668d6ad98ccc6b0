//! The lake end to end on a local directory: commits with units, replays, schema evolution,
//! read-only SQL with views and time filters, compaction and retention.

use bucketwatch_core::{LogType, Timestamp};
use bucketwatch_lake::arrow::array::{Array, AsArray};
use bucketwatch_lake::arrow::array::{ArrayRef, StringArray};
use bucketwatch_lake::arrow::compute::cast;
use bucketwatch_lake::arrow::datatypes::{DataType, Int64Type};
use bucketwatch_lake::writer::FinishedObject;
use bucketwatch_lake::{
    Lake, LakeWriter, QueryEngine, QueryError, QueryResult, RuleColumns, TableId,
};
use serde_json::{Map, Value, json};

fn event(bucket: &str, status: i64, time: &str, row: u64) -> Map<String, Value> {
    match json!({
        "bucket": bucket,
        "httpstatus": status,
        "requester": "arn:aws:iam::123456789012:user/alice",
        "remoteip": "192.0.2.3",
        "operation": "REST.GET.OBJECT",
        "p_log_type": "AWS.S3ServerAccess",
        "p_row_id": format!("row{row}"),
        "p_event_time": time,
        "p_parse_time": "2026-03-20 00:00:00.000000000",
        "p_any_ip_addresses": ["192.0.2.3"],
    }) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// A text column as plain UTF-8 (DataFusion hands strings out as views).
fn text(column: &ArrayRef) -> StringArray {
    cast(column, &DataType::Utf8)
        .unwrap()
        .as_string::<i32>()
        .clone()
}

async fn count(engine: &QueryEngine, sql: &str) -> i64 {
    let result = engine
        .query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    scalar(&result)
}

/// The first column of the first row of a count.
fn scalar(result: &QueryResult) -> i64 {
    result.batches[0]
        .column(0)
        .as_primitive::<Int64Type>()
        .value(0)
}

#[tokio::test]
async fn rows_commit_once_and_a_replayed_unit_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
    for i in 0..3 {
        writer.push_event(
            LogType::S3ServerAccess,
            &event("b1", 200, "2026-03-14 10:00:00.000000000", i),
            "obj1#0",
        );
    }
    writer.finish_object(FinishedObject {
        object_id: "obj1".into(),
        records: 3,
    });
    let report = writer.commit().await.unwrap();
    assert_eq!(report.finished_objects, 1);

    // A new process: the ledger and the table's commit metadata are read back.
    let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
    assert!(writer.is_ingested("obj1"));
    assert!(!writer.is_ingested("obj2"));
    writer.push_event(
        LogType::S3ServerAccess,
        &event("b1", 200, "2026-03-14 10:00:00.000000000", 9),
        "obj1#0",
    );
    writer.push_event(
        LogType::S3ServerAccess,
        &event("b2", 403, "2026-03-14 11:00:00.000000000", 10),
        "obj2#0",
    );
    let report = writer.commit().await.unwrap();
    assert_eq!(report.skipped_rows, 1);

    let engine = QueryEngine::open(&lake).await.unwrap();
    assert_eq!(
        count(&engine, "SELECT count(*) FROM logs.aws_s3serveraccess").await,
        4
    );
    assert_eq!(
        count(
            &engine,
            "SELECT count(*) FROM views.all_logs WHERE p_table_name = 'aws_s3serveraccess'"
        )
        .await,
        4
    );
    assert_eq!(
        count(&engine, "SELECT count(*) FROM logs.aws_s3serveraccess WHERE array_has(p_any_ip_addresses, '192.0.2.3') AND httpstatus = 403").await,
        1
    );
}

#[tokio::test]
async fn a_new_field_adds_a_column_and_old_rows_read_null() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
    writer.push_event(
        LogType::S3ServerAccess,
        &event("b1", 200, "2026-03-14 10:00:00Z", 1),
        "u1",
    );
    writer.commit().await.unwrap();
    let mut later = event("b1", 200, "2026-03-14 10:00:00Z", 2);
    later.insert("newAwsField".into(), json!("v"));
    writer.push_event(LogType::S3ServerAccess, &later, "u2");
    writer.commit().await.unwrap();

    let engine = QueryEngine::open(&lake).await.unwrap();
    let result = engine
        .query("SELECT p_row_id, newawsfield FROM logs.aws_s3serveraccess ORDER BY p_row_id")
        .await
        .unwrap();
    let batch = &result.batches[0];
    let values = text(batch.column(1));
    assert!(values.is_null(0));
    assert_eq!(values.value(1), "v");
}

#[tokio::test]
async fn rule_rows_land_in_rule_tables_with_their_alert_columns() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
    let e = event("b1", 403, "2026-03-14 10:00:00Z", 1);
    let context = json!({"bucket": "b1"});
    let matched = RuleColumns {
        rule_id: "AWS.S3.Denied",
        rule_severity: "MEDIUM",
        alert_id: Some("a1"),
        alert_context: Some(&context),
        dedup: "b1",
        ..RuleColumns::default()
    };
    let failed = RuleColumns {
        rule_id: "AWS.S3.Broken",
        rule_error: Some("KeyError: 'x'"),
        ..RuleColumns::default()
    };
    let line = serde_json::to_vec(&e).unwrap();
    for columns in [&matched, &failed] {
        writer
            .push_rule_row(LogType::S3ServerAccess, &line, columns, "u1")
            .unwrap();
    }
    writer.commit().await.unwrap();

    let engine = QueryEngine::open(&lake).await.unwrap();
    let result = engine
        .query("SELECT p_alert_id, p_alert_context FROM rule_matches.aws_s3serveraccess WHERE p_rule_id = 'AWS.S3.Denied'")
        .await
        .unwrap();
    assert_eq!(text(result.batches[0].column(0)).value(0), "a1");
    assert_eq!(
        count(
            &engine,
            "SELECT count(*) FROM views.all_rule_errors WHERE p_rule_error LIKE 'KeyError%'"
        )
        .await,
        1
    );
}

/// Every Parquet file of a table, with its page index.
fn parquet_files(table: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![table.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                files.push(path);
            }
        }
    }
    files
}

#[tokio::test]
async fn rows_are_clustered_by_bucket_so_pages_of_other_buckets_can_be_skipped() {
    clustered_days(false).await;
}

/// The same through the append path: a commit to a table that exists writes each day's run of
/// the sorted rows itself, not through delta-rs's write operation.
#[tokio::test]
async fn rows_appended_to_a_table_are_clustered_the_same() {
    clustered_days(true).await;
}

/// Writes two days of interleaved rows in one commit (after a commit of an earlier day when
/// `table_exists`) and checks their files: sorted by bucket, operation and time, one file per
/// day, in row groups, with page statistics that exclude other buckets.
async fn clustered_days(table_exists: bool) {
    use deltalake::parquet::arrow::arrow_reader::{
        ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    };
    use deltalake::parquet::file::metadata::PageIndexPolicy;
    use deltalake::parquet::file::page_index::column_index::ColumnIndexMetaData;

    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
    if table_exists {
        let earlier = event("b0", 200, "2026-03-13 10:00:00.000000000", 0);
        writer.push_event(LogType::S3ServerAccess, &earlier, "earlier#0");
        writer.commit().await.unwrap();
    }
    // Arrival order interleaves buckets, days and operations, as a busy log object does.
    let buckets = ["b0", "b1", "b2", "b3"];
    // Two days of 150,000 rows: more than one row group each.
    let rows = 300_000u64;
    for i in 0..rows {
        let day = 14 + i / 7 % 2;
        let second = (rows - i) % 60;
        let mut e = event(
            buckets[(i % 4) as usize],
            200,
            &format!("2026-03-{day} 10:{:02}:{second:02}.000000000", i % 60),
            i,
        );
        e.insert(
            "operation".into(),
            json!(["REST.GET.OBJECT", "REST.PUT.OBJECT"][(i / 4 % 2) as usize]),
        );
        writer.push_event(LogType::S3ServerAccess, &e, "obj#0");
    }
    writer.commit().await.unwrap();

    let files: Vec<_> = parquet_files(&dir.path().join("logs/aws_s3serveraccess"))
        .into_iter()
        .filter(|f| !f.to_string_lossy().contains("p_event_date=2026-03-13"))
        .collect();
    assert_eq!(files.len(), 2, "one file per day: {files:?}");
    for file in &files {
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(
            std::fs::File::open(file).unwrap(),
            options,
        )
        .unwrap();
        let metadata = builder.metadata().clone();
        let groups: Vec<i64> = metadata.row_groups().iter().map(|g| g.num_rows()).collect();
        assert!(
            groups.len() == 2 && groups[0] == 131_072,
            "{file:?}: rows per row group {groups:?}"
        );
        let mut previous: Option<(String, String, i64)> = None;
        for batch in builder.build().unwrap() {
            let batch = batch.unwrap();
            let bucket = text(batch.column_by_name("bucket").unwrap());
            let operation = text(batch.column_by_name("operation").unwrap());
            let time = batch.column_by_name("p_event_time").unwrap();
            let time = cast(time, &DataType::Int64).unwrap();
            let time = time.as_primitive::<Int64Type>();
            for row in 0..batch.num_rows() {
                let key = (
                    bucket.value(row).to_string(),
                    operation.value(row).to_string(),
                    time.value(row),
                );
                if let Some(previous) = &previous {
                    assert!(previous <= &key, "{file:?}: {previous:?} before {key:?}");
                }
                previous = Some(key);
            }
        }
        // The bucket column's page statistics: a filter on one bucket matches a quarter of
        // the pages, not all of them.
        let schema = metadata.file_metadata().schema_descr();
        let column = (0..schema.num_columns())
            .find(|&c| schema.column(c).name() == "bucket")
            .unwrap();
        let index = metadata.column_index().expect("a page index is written");
        let mut pages = 0;
        let mut may_hold_b2 = 0;
        for row_group in index {
            let ColumnIndexMetaData::BYTE_ARRAY(pages_of) = &row_group[column] else {
                panic!("bucket is a byte array column");
            };
            for (min, max) in pages_of.min_values_iter().zip(pages_of.max_values_iter()) {
                pages += 1;
                let (min, max) = (min.unwrap(), max.unwrap());
                if min <= b"b2".as_slice() && b"b2".as_slice() <= max {
                    may_hold_b2 += 1;
                }
            }
        }
        assert!(pages >= 3, "{file:?}: {pages} pages");
        assert!(
            may_hold_b2 * 2 <= pages,
            "{file:?}: {may_hold_b2} of {pages} pages may hold b2"
        );
    }

    let engine = QueryEngine::open(&lake).await.unwrap();
    assert_eq!(
        count(&engine, "SELECT count(*) FROM logs.aws_s3serveraccess WHERE bucket = 'b2' AND operation = 'REST.PUT.OBJECT'").await,
        37_500
    );
}

async fn lake_with_days(days: u32) -> (tempfile::TempDir, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
    for day in 1..=days {
        for hour in [1, 13] {
            let time = format!("2026-03-{day:02} {hour:02}:00:00.000000000");
            writer.push_event(
                LogType::S3ServerAccess,
                &event("b", 200, &time, u64::from(day * 100 + hour)),
                &format!("d{day}h{hour}"),
            );
            // One commit per event: many small files, as a busy ingest leaves them.
            writer.commit().await.unwrap();
        }
    }
    (dir, lake)
}

#[tokio::test]
async fn a_one_day_query_reads_only_that_days_files() {
    let (_dir, lake) = lake_with_days(5).await;
    let engine = QueryEngine::open(&lake).await.unwrap();
    let plan = engine
        .query(
            // Grouped, so that the files are scanned, not answered from their statistics.
            "EXPLAIN ANALYZE SELECT requester, count(*) FROM logs.aws_s3serveraccess \
             WHERE p_occurs_between('2026-03-03', '2026-03-04') GROUP BY 1",
        )
        .await
        .unwrap();
    let explained = plan_text(&plan);
    let days: std::collections::BTreeSet<&str> = explained
        .match_indices("p_event_date=")
        .map(|(at, _)| &explained[at + 13..at + 23])
        .collect();
    assert_eq!(days, ["2026-03-03"].into(), "{explained}");
}

/// An EXPLAIN's plans as one text.
fn plan_text(explain: &QueryResult) -> String {
    explain
        .batches
        .iter()
        .flat_map(|b| {
            let plans = text(b.column(1));
            (0..plans.len())
                .map(|i| plans.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn a_scan_evaluates_each_filter_once_and_keeps_every_match() {
    let (_dir, lake) = lake_with_days(2).await;
    let engine = QueryEngine::open(&lake).await.unwrap();
    let filter = "WHERE bucket = 'b' AND httpstatus = 200";
    let plan = engine
        .query(&format!(
            "EXPLAIN SELECT requester, count(*) FROM logs.aws_s3serveraccess {filter} GROUP BY 1"
        ))
        .await
        .unwrap();
    let explained = plan_text(&plan);
    let predicate = explained
        .split("predicate=")
        .nth(1)
        .and_then(|p| p.split(", pruning_predicate").next())
        .unwrap_or_else(|| panic!("no scan predicate in {explained}"));
    assert_eq!(predicate.matches("bucket@").count(), 1, "{predicate}");
    assert_eq!(predicate.matches("httpstatus@").count(), 1, "{predicate}");
    let sql = format!("SELECT count(*) FROM logs.aws_s3serveraccess {filter}");
    assert_eq!(count(&engine, &sql).await, 4);
}

/// Commits one more access-log row to a lake from `lake_with_days`, as a later ingest would.
async fn commit_a_later_event(lake: &Lake) {
    let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
    writer.push_event(
        LogType::S3ServerAccess,
        &event("b", 200, "2026-03-01 05:00:00.000000000", 7_777),
        "later",
    );
    writer.commit().await.unwrap();
}

#[tokio::test]
async fn a_session_reads_a_table_as_it_was_when_a_query_first_named_it() {
    let (_dir, lake) = lake_with_days(2).await;
    let engine = QueryEngine::open(&lake).await.unwrap();
    let all = "SELECT count(*) FROM logs.aws_s3serveraccess";
    assert_eq!(count(&engine, all).await, 4);
    commit_a_later_event(&lake).await;
    assert_eq!(count(&engine, all).await, 4);
    let view = "SELECT count(*) FROM views.all_logs";
    assert_eq!(count(&engine, view).await, 4);
    let reopened = QueryEngine::open(&lake).await.unwrap();
    assert_eq!(count(&reopened, view).await, 5);
    assert_eq!(count(&reopened, all).await, 5);
}

#[tokio::test]
async fn a_script_runs_its_statements_in_one_session_and_is_refused_as_a_whole() {
    let (_dir, lake) = lake_with_days(2).await;
    let engine = QueryEngine::open(&lake).await.unwrap();
    let script = "SELECT count(*) FROM logs.aws_s3serveraccess;\n\
        SELECT count(*) FROM logs.aws_s3serveraccess WHERE bucket = 'b'";
    let mut statements = engine.parse(script).unwrap().into_iter();
    let first = engine
        .run_at(statements.next().unwrap(), Timestamp::now())
        .await
        .unwrap();
    commit_a_later_event(&lake).await;
    let second = engine
        .run_at(statements.next().unwrap(), Timestamp::now())
        .await
        .unwrap();
    assert!(statements.next().is_none());
    // The second statement reads the table as the first did, without the later commit.
    assert_eq!(scalar(&first), 4);
    assert_eq!(scalar(&second), 4);

    for script in [
        "SELECT 1; DROP TABLE logs.aws_s3serveraccess",
        "EXPLAIN SELECT 1; COPY logs.aws_s3serveraccess TO '/tmp/out.parquet'",
    ] {
        match engine.parse(script) {
            Err(QueryError::Refused(msg)) => assert!(msg.contains("read-only"), "{script}: {msg}"),
            other => panic!("{script}: expected a refusal, got {other:?}"),
        }
    }
    let err = engine.parse(" ; ").unwrap_err();
    assert!(err.to_string().contains("no statement"), "{err}");
    let err = engine.query("SELECT 1; SELECT 2").await.unwrap_err();
    assert!(
        err.to_string().contains("one statement expected, found 2"),
        "{err}"
    );
}

#[tokio::test]
async fn a_query_reads_only_the_tables_it_names() {
    let (dir, lake) = lake_with_days(1).await;
    let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
    writer.push_event(
        LogType::CloudTrail,
        &event("b", 200, "2026-03-01 05:00:00.000000000", 1),
        "trail",
    );
    writer.commit().await.unwrap();
    let broken = dir.path().join("logs/aws_cloudtrail/_delta_log");
    for commit in std::fs::read_dir(&broken).unwrap() {
        std::fs::write(commit.unwrap().path(), "not a Delta log").unwrap();
    }
    let engine = QueryEngine::open(&lake).await.unwrap();
    let access_logs = "SELECT count(*) FROM logs.aws_s3serveraccess";
    assert_eq!(count(&engine, access_logs).await, 2);
    for sql in [
        "SELECT count(*) FROM logs.aws_cloudtrail",
        "SELECT count(*) FROM views.all_logs",
    ] {
        let err = engine.query(sql).await.unwrap_err().to_string();
        assert!(err.contains("logs.aws_cloudtrail"), "{sql}: {err}");
    }
}

#[tokio::test]
async fn time_filters_select_the_right_rows() {
    let (_dir, lake) = lake_with_days(5).await;
    // On both bounds of the whole-day filter below: the start is in, the end is out.
    let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
    for (i, time) in [
        "2026-03-02 00:00:00.000000000",
        "2026-03-04 00:00:00.000000000",
    ]
    .iter()
    .enumerate()
    {
        writer.push_event(
            LogType::S3ServerAccess,
            &event("b", 200, time, 9_000 + i as u64),
            &format!("midnight{i}"),
        );
    }
    writer.commit().await.unwrap();
    let engine = QueryEngine::open(&lake).await.unwrap();
    let between = "SELECT count(*) FROM logs.aws_s3serveraccess WHERE p_occurs_between('2026-03-02', '2026-03-04')";
    assert_eq!(count(&engine, between).await, 5);
    let before_day =
        "SELECT count(*) FROM logs.aws_s3serveraccess WHERE p_occurs_before('2026-03-02')";
    assert_eq!(count(&engine, before_day).await, 2);
    let half_day = "SELECT count(*) FROM logs.aws_s3serveraccess AS l WHERE p_occurs_between('2026-03-02 12:00', '2026-03-03', l)";
    assert_eq!(count(&engine, half_day).await, 1);
    let now = Timestamp::parse_iso8601(b"2026-03-05T12:00:00Z").unwrap();
    let since = engine
        .query_at(
            "SELECT count(*) FROM views.all_logs WHERE p_occurs_since('1 day')",
            now,
        )
        .await
        .unwrap();
    // 03-04 13:00, 03-05 01:00 and 03-05 13:00 (rows after `now` are not excluded).
    assert_eq!(
        since.batches[0]
            .column(0)
            .as_primitive::<Int64Type>()
            .value(0),
        3
    );
    let before =
        "SELECT count(*) FROM logs.aws_s3serveraccess WHERE p_occurs_before('2026-03-01 13:00')";
    assert_eq!(count(&engine, before).await, 1);
}

#[tokio::test]
async fn compaction_keeps_every_row_and_expiry_drops_old_days() {
    let (_dir, lake) = lake_with_days(4).await;
    let all = "SELECT count(*), count(DISTINCT p_row_id) FROM logs.aws_s3serveraccess";
    let reports = bucketwatch_lake::compact(&lake, 64 * 1024 * 1024)
        .await
        .unwrap();
    let logs = reports
        .iter()
        .find(|r| {
            r.table
                == TableId::for_log_type(bucketwatch_lake::Database::Logs, LogType::S3ServerAccess)
        })
        .unwrap();
    assert_eq!(
        (logs.files_removed, logs.files_added),
        (8, 4),
        "two files per day become one"
    );
    let engine = QueryEngine::open(&lake).await.unwrap();
    let result = engine.query(all).await.unwrap();
    assert_eq!(
        result.batches[0]
            .column(0)
            .as_primitive::<Int64Type>()
            .value(0),
        8
    );
    assert_eq!(
        result.batches[0]
            .column(1)
            .as_primitive::<Int64Type>()
            .value(0),
        8
    );

    // Keep 2026-03-03 onwards.
    let keep_from =
        (Timestamp::parse_iso8601(b"2026-03-03T00:00:00Z").unwrap().0 / 86_400_000_000_000) as i32;
    let reports = bucketwatch_lake::expire(&lake, keep_from, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert!(
        reports
            .iter()
            .any(|r| r.files_removed == 2 && r.files_vacuumed > 0),
        "{reports:?}"
    );
    let engine = QueryEngine::open(&lake).await.unwrap();
    assert_eq!(
        count(&engine, "SELECT count(*) FROM logs.aws_s3serveraccess").await,
        4
    );
    assert_eq!(
        count(
            &engine,
            "SELECT count(*) FROM logs.aws_s3serveraccess WHERE p_event_date < DATE '2026-03-03'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn only_queries_run() {
    let (_dir, lake) = lake_with_days(1).await;
    let engine = QueryEngine::open(&lake).await.unwrap();
    for sql in [
        "CREATE TABLE x AS SELECT 1",
        "DROP TABLE logs.aws_s3serveraccess",
        "INSERT INTO logs.aws_s3serveraccess SELECT * FROM logs.aws_s3serveraccess",
        "DELETE FROM logs.aws_s3serveraccess",
        "COPY logs.aws_s3serveraccess TO '/tmp/out.parquet'",
        "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'",
        "SET datafusion.execution.batch_size = 1",
        "CREATE VIEW v AS SELECT 1",
    ] {
        match engine.query(sql).await {
            Err(QueryError::Refused(msg)) => assert!(
                msg.contains("read-only") || msg.contains("not supported"),
                "{sql}: {msg}"
            ),
            other => panic!("{sql}: expected a refusal, got {other:?}"),
        }
    }
    let err = engine
        .query("SELECT * FROM '/etc/passwd'")
        .await
        .unwrap_err();
    assert!(matches!(err, QueryError::Sql { .. }), "{err:?}");
    assert_eq!(
        count(
            &engine,
            "WITH t AS (SELECT * FROM logs.aws_s3serveraccess) SELECT count(*) FROM t"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn errors_point_at_the_sql() {
    let (_dir, lake) = lake_with_days(1).await;
    let engine = QueryEngine::open(&lake).await.unwrap();
    let sql = "SELECT bucket,\n       no_such_column\nFROM logs.aws_s3serveraccess";
    let err = engine.query(sql).await.unwrap_err();
    let rendered = err.render(sql);
    assert!(rendered.contains("no_such_column"), "{rendered}");
    assert!(rendered.contains("line 2"), "{rendered}");
    let err = engine.query("SELEC 1").await.unwrap_err().render("SELEC 1");
    assert!(err.contains("line 1"), "{err}");
}

fn compliance_row(
    scan: &str,
    time: &str,
    resource: &str,
    policy: &str,
    status: &str,
) -> Map<String, Value> {
    match json!({
        "scan_id": scan,
        "scan_time": time,
        "resource_id": resource,
        "resource_type": "AWS.S3.Bucket",
        "policy_id": policy,
        "severity": "High",
        "status": status,
        "reason": if status == "fail" { "it fails" } else { "" },
        "suppressed": false,
        "p_event_time": time,
    }) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn scan_results_keep_history_and_the_state_view_shows_the_latest() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let mut writer = LakeWriter::open(lake.clone()).await.unwrap();
    let scans = [
        (
            "s1",
            "2026-03-14T10:00:00Z",
            [("arn:aws:s3:::a", "pass"), ("arn:aws:s3:::b", "fail")],
        ),
        (
            "s2",
            "2026-03-15T10:00:00Z",
            [("arn:aws:s3:::a", "fail"), ("arn:aws:s3:::b", "fail")],
        ),
    ];
    for (scan, time, results) in scans {
        for (resource, status) in results {
            let row = compliance_row(scan, time, resource, "P.Versioning", status);
            writer.push_scan_row(TableId::compliance(), &row, &format!("scan:{scan}"));
        }
        writer.commit().await.unwrap();
    }
    // A replayed scan unit adds nothing.
    writer.push_scan_row(
        TableId::compliance(),
        &compliance_row(
            "s2",
            "2026-03-15T10:00:00Z",
            "arn:aws:s3:::a",
            "P.Versioning",
            "fail",
        ),
        "scan:s2",
    );
    writer.commit().await.unwrap();

    let engine = QueryEngine::open(&lake).await.unwrap();
    assert_eq!(
        count(&engine, "SELECT count(*) FROM cloudsecurity.compliance").await,
        4
    );
    assert_eq!(
        count(
            &engine,
            "SELECT count(DISTINCT p_event_date) FROM cloudsecurity.compliance"
        )
        .await,
        2
    );
    let state = engine
        .query(
            "SELECT resource_id, status, scan_id FROM views.compliance_state ORDER BY resource_id",
        )
        .await
        .unwrap();
    let batch = &state.batches[0];
    let column = |i: usize| -> Vec<String> {
        let c = text(batch.column(i));
        (0..c.len()).map(|r| c.value(r).to_string()).collect()
    };
    assert_eq!(column(0), ["arn:aws:s3:::a", "arn:aws:s3:::b"]);
    assert_eq!(column(1), ["fail", "fail"]);
    assert_eq!(column(2), ["s2", "s2"]);
    assert!(
        engine
            .tables()
            .iter()
            .any(|t| t.to_string() == "cloudsecurity.compliance")
    );
}
