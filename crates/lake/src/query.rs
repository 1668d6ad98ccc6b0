//! Read-only SQL over the lake, with DataFusion.
//!
//! Owns the query session: every table registered under its database (`logs.aws_cloudtrail`,
//! `rule_matches.aws_s3serveraccess`, ...), the union views (`views.all_logs`,
//! `views.all_rule_matches`, `views.all_rule_errors`, `views.compliance_state`), the time-filter macros
//! (`p_occurs_since`, `p_occurs_between`, `p_occurs_after`, `p_occurs_before`), the read-only
//! guard, and errors that point at the SQL position. Must not write to the lake.
//!
//! Read-only is enforced twice: the statement must be a query (no DDL, DML, COPY, SET, ...),
//! and the session has no way to name a file: URL tables are off and no file-reading table
//! function is registered, so `SELECT * FROM '/etc/passwd'` finds no table.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use bucketwatch_core::Timestamp;
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::datafusion::common::DataFusionError;
use deltalake::datafusion::execution::context::{SQLOptions, SessionContext};
use deltalake::datafusion::execution::session_state::SessionStateBuilder;
use deltalake::datafusion::prelude::SessionConfig;
use deltalake::datafusion::sql::parser::{DFParserBuilder, Statement as DfStatement};
use deltalake::datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Spanned, Statement, Value,
    visit_expressions_mut,
};
use deltalake::datafusion::sql::sqlparser::dialect::{GenericDialect, dialect_from_str};
use deltalake::datafusion::sql::sqlparser::parser::Parser;
use deltalake::delta_datafusion::TableProviderBuilder;
use std::ops::ControlFlow;

use crate::columns::{NANOS_PER_DAY, PARTITION_COLUMN, RULE_COLUMNS, STANDARD_COLUMNS};
use crate::scan_predicate::DedupeScanPredicates;
use crate::table::{Database, TableId};
use crate::writer::Lake;

/// A failed query: what went wrong and, when known, where in the SQL.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("refused: {0}")]
    Refused(String),
    #[error("{message}")]
    Sql {
        message: String,
        /// 1-based line and column of the offending text.
        position: Option<(u64, u64)>,
    },
    #[error(transparent)]
    Lake(#[from] crate::LakeError),
}

impl QueryError {
    fn from_datafusion(e: DataFusionError) -> QueryError {
        let position = e
            .diagnostic()
            .and_then(|d| d.span)
            .filter(|s| s.start.line > 0)
            .map(|s| (s.start.line, s.start.column))
            .or_else(|| position_in_message(&e.to_string()));
        QueryError::Sql {
            message: e.strip_backtrace().to_string(),
            position,
        }
    }

    /// The error with the SQL line it points at and a caret under the column.
    pub fn render(&self, sql: &str) -> String {
        let QueryError::Sql {
            message,
            position: Some((line, column)),
        } = self
        else {
            return self.to_string();
        };
        let Some(text) = sql.lines().nth(line.saturating_sub(1) as usize) else {
            return message.clone();
        };
        let pad = " ".repeat(column.saturating_sub(1) as usize);
        format!("{message}\n  at line {line}, column {column}:\n    {text}\n    {pad}^")
    }
}

/// The parser reports positions as text (`... at Line: 1, Column: 15`).
fn position_in_message(message: &str) -> Option<(u64, u64)> {
    let at = message.rfind("Line: ")?;
    let rest = &message[at + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// A query's result.
#[derive(Debug)]
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

const VIEWS: &str = "views";
const TARGET_PARTITIONS_VARIABLE: &str = "DATAFUSION_EXECUTION_TARGET_PARTITIONS";
const INFORMATION_SCHEMA: &str = "information_schema";
const COMPLIANCE_STATE: &str = "compliance_state";

/// `views.compliance_state`: the latest result of each policy on each resource, the current
/// posture (`cloudsecurity.compliance` keeps every scan's).
const COMPLIANCE_STATE_VIEW: &str = "CREATE VIEW views.compliance_state AS \
    SELECT scan_id, scan_time, resource_id, resource_type, policy_id, severity, status, reason, \
    suppressed FROM (SELECT *, row_number() OVER (PARTITION BY resource_id, policy_id \
    ORDER BY scan_time DESC, scan_id DESC) AS latest FROM cloudsecurity.compliance) AS ranked \
    WHERE latest = 1";

/// A session over the lake. A table is read when a query of the session first names it (or
/// a view over it, or `information_schema`), at its latest version then, and keeps that
/// version for the session's life: a table no query names costs nothing, which matters on
/// S3, where reading a log is several requests.
pub struct QueryEngine {
    ctx: SessionContext,
    lake: Lake,
    tables: Vec<TableId>,
    /// What is registered so far; the lock also keeps two queries from reading a table twice.
    registered: tokio::sync::Mutex<Registered>,
}

#[derive(Default)]
struct Registered {
    /// Tables whose provider is registered, or that turned out not to exist.
    tables: HashSet<TableId>,
    views: HashSet<String>,
}

impl QueryEngine {
    pub async fn open(lake: &Lake) -> Result<QueryEngine, QueryError> {
        let mut config = SessionConfig::from_env()
            .map_err(QueryError::from_datafusion)?
            .with_information_schema(true);
        config.options_mut().sql_parser.collect_spans = true;
        // Scan partitions wait on reads too (local files on tokio's blocking pool, S3 on the
        // network): with twice as many as cores, the cores stay busy (5–20% faster on the lake
        // benchmark's queries, docs/BENCHMARKS.md).
        if std::env::var_os(TARGET_PARTITIONS_VARIABLE).is_none() {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            config = config.with_target_partitions(2 * cores);
        }
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(DedupeScanPredicates))
            .build();
        let ctx = SessionContext::new_with_state(state);
        for schema in Database::ALL.map(Database::name).into_iter().chain([VIEWS]) {
            ctx.sql(&format!("CREATE SCHEMA {schema}"))
                .await
                .map_err(QueryError::from_datafusion)?;
        }
        Ok(QueryEngine {
            ctx,
            lake: lake.clone(),
            tables: lake.tables().await?,
            registered: Default::default(),
        })
    }

    /// The lake's tables when the session opened, for `--help`-style listings and error hints.
    pub fn tables(&self) -> &[TableId] {
        &self.tables
    }

    /// Registers the tables and views `statement` names that are not registered yet.
    async fn register_named(&self, statement: &DfStatement) -> Result<(), QueryError> {
        let references = self
            .ctx
            .state()
            .resolve_table_references(statement)
            .map_err(QueryError::from_datafusion)?;
        let mut tables = BTreeSet::new();
        let mut views = BTreeSet::new();
        for reference in &references {
            match reference.schema() {
                Some(INFORMATION_SCHEMA) => {
                    tables.extend(self.tables.iter().cloned());
                    let unions = Database::DATA.map(|d| format!("all_{}", d.name()));
                    views.extend(unions.into_iter().chain([COMPLIANCE_STATE.to_string()]));
                }
                Some(VIEWS) => {
                    let view = reference.table();
                    tables.extend(self.view_members(view).cloned());
                    views.insert(view.to_string());
                }
                Some(schema) => tables.extend(
                    self.tables
                        .iter()
                        .find(|t| t.database.name() == schema && t.name == reference.table())
                        .cloned(),
                ),
                None => {}
            }
        }
        let mut registered = self.registered.lock().await;
        tables.retain(|t| !registered.tables.contains(t));
        views.retain(|v| !registered.views.contains(v));
        self.register_tables(tables, &mut registered).await?;
        for view in views {
            self.create_view(&view).await?;
            registered.views.insert(view);
        }
        Ok(())
    }

    /// Builds the tables' providers, all at once: each reads its table's protocol and schema
    /// from the log now, and replays the file actions when it scans, keeping only the files
    /// the query's filters allow.
    async fn register_tables(
        &self,
        tables: BTreeSet<TableId>,
        registered: &mut Registered,
    ) -> Result<(), QueryError> {
        let state = self.ctx.state();
        let providers = tables.iter().map(|id| async {
            let Some(table) = self.lake.table_handle(id).await? else {
                return Ok(None);
            };
            table
                .update_datafusion_session(&state)
                .map_err(|e| crate::LakeError::delta(id, "registering", e))?;
            TableProviderBuilder::default()
                .with_log_store(table.log_store())
                .await
                .map(Some)
                .map_err(|e| crate::LakeError::delta(id, "reading the log of", e.into()))
        });
        let providers: Vec<_> = futures::future::try_join_all(providers).await?;
        for (id, provider) in tables.into_iter().zip(providers) {
            if let Some(provider) = provider {
                self.ctx
                    .register_table(id.to_string().as_str(), provider)
                    .map_err(QueryError::from_datafusion)?;
            }
            registered.tables.insert(id);
        }
        Ok(())
    }

    /// The tables view `name` reads (none for a name that is not a view).
    fn view_members<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a TableId> + 'a {
        let database = Database::DATA
            .into_iter()
            .find(|d| name.strip_prefix("all_") == Some(d.name()));
        self.tables.iter().filter(move |t| {
            Some(t.database) == database
                || (name == COMPLIANCE_STATE && **t == TableId::compliance())
        })
    }

    /// Creates view `name` over those of its tables that were found (registered before);
    /// a view without any is left out, so a query of it says it does not exist.
    async fn create_view(&self, name: &str) -> Result<(), QueryError> {
        let members: Vec<&TableId> = self
            .view_members(name)
            .filter(|t| {
                self.ctx
                    .table_exist(t.to_string().as_str())
                    .unwrap_or(false)
            })
            .collect();
        if members.is_empty() {
            return Ok(());
        }
        let sql = if name == COMPLIANCE_STATE {
            COMPLIANCE_STATE_VIEW.to_string()
        } else {
            let database = members[0].database;
            let rule = if database == Database::Logs {
                &[][..]
            } else {
                RULE_COLUMNS
            };
            let mut columns: Vec<&str> = STANDARD_COLUMNS
                .iter()
                .chain(rule)
                .map(|(n, _)| *n)
                .chain([PARTITION_COLUMN])
                .collect();
            columns.sort_unstable();
            let selects: Vec<String> = members
                .iter()
                .map(|t| {
                    format!(
                        "SELECT '{}' AS p_db_name, '{}' AS p_table_name, {} FROM {t}",
                        database.name(),
                        t.name,
                        columns.join(", ")
                    )
                })
                .collect();
            format!(
                "CREATE VIEW {VIEWS}.{name} AS {}",
                selects.join(" UNION ALL ")
            )
        };
        self.ctx
            .sql(&sql)
            .await
            .map_err(QueryError::from_datafusion)?;
        Ok(())
    }

    /// Runs one read-only statement.
    pub async fn query(&self, sql: &str) -> Result<QueryResult, QueryError> {
        self.query_at(sql, Timestamp::now()).await
    }

    /// [`query`](Self::query) with `now` for the relative time macros.
    pub async fn query_at(&self, sql: &str, now: Timestamp) -> Result<QueryResult, QueryError> {
        let mut statements = self.parse(sql)?;
        if statements.len() > 1 {
            return Err(QueryError::Sql {
                message: format!(
                    "one statement expected, found {}: run them one at a time",
                    statements.len()
                ),
                position: None,
            });
        }
        self.run_at(statements.remove(0), now).await
    }

    /// Parses `sql`, one or more statements separated by `;`, and checks that every one is a
    /// query before any runs: a script is refused as a whole.
    pub fn parse(&self, sql: &str) -> Result<Vec<ParsedQuery>, QueryError> {
        let options = self.ctx.state().config().options().sql_parser.clone();
        let dialect =
            dialect_from_str(options.dialect).unwrap_or_else(|| Box::new(GenericDialect {}));
        let statements = DFParserBuilder::new(sql)
            .with_dialect(dialect.as_ref())
            .with_recursion_limit(options.recursion_limit.get())
            .build()
            .and_then(|mut parser| parser.parse_statements())
            .map_err(QueryError::from_datafusion)?;
        if statements.is_empty() {
            return Err(QueryError::Sql {
                message: "no statement: give a query such as SELECT count(*) FROM views.all_logs"
                    .into(),
                position: None,
            });
        }
        statements
            .into_iter()
            .map(|statement| {
                let query = match &statement {
                    // EXPLAIN [ANALYZE] of a query is read-only too, and how to see what a
                    // query reads.
                    DfStatement::Explain(explain) => explain.statement.as_ref(),
                    other => other,
                };
                match query {
                    DfStatement::Statement(s) if matches!(s.as_ref(), Statement::Query(_)) => {
                        Ok(ParsedQuery(statement))
                    }
                    DfStatement::CreateExternalTable(_) => Err(refused("CREATE EXTERNAL TABLE")),
                    DfStatement::CopyTo(_) => Err(refused("COPY")),
                    other => Err(refused(&first_words(&other.to_string()))),
                }
            })
            .collect()
    }

    /// Runs a statement from [`parse`](Self::parse), with `now` for the relative time macros.
    pub async fn run_at(
        &self,
        query: ParsedQuery,
        now: Timestamp,
    ) -> Result<QueryResult, QueryError> {
        let mut statement = query.0;
        let query = match &mut statement {
            DfStatement::Explain(explain) => explain.statement.as_mut(),
            other => other,
        };
        if let DfStatement::Statement(s) = query {
            expand_time_macros(s, now)?;
        }
        self.register_named(&statement).await?;
        let state = self.ctx.state();
        let plan = state
            .statement_to_plan(statement)
            .await
            .map_err(QueryError::from_datafusion)?;
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|e| QueryError::Refused(e.strip_backtrace().to_string()))?;
        let frame = self
            .ctx
            .execute_logical_plan(plan)
            .await
            .map_err(QueryError::from_datafusion)?;
        let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame.collect().await.map_err(QueryError::from_datafusion)?;
        Ok(QueryResult { schema, batches })
    }
}

/// One statement of a script, checked to be a query: what [`QueryEngine::run_at`] runs.
#[derive(Debug)]
pub struct ParsedQuery(DfStatement);

fn refused(what: &str) -> QueryError {
    QueryError::Refused(format!(
        "bucketwatch query is read-only: only queries (SELECT, WITH ... SELECT, and EXPLAIN of \
         them) are allowed, and this statement is {what}"
    ))
}

fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// Replaces each time macro by the filter it stands for, on both `p_event_time` and the
/// partition column, so the scan reads only the days in range.
fn expand_time_macros(statement: &mut Statement, now: Timestamp) -> Result<(), QueryError> {
    let flow = visit_expressions_mut(statement, |expr| {
        let Expr::Function(function) = expr else {
            return ControlFlow::Continue(());
        };
        let name = function.name.to_string().to_ascii_lowercase();
        if !name.starts_with("p_occurs_") {
            return ControlFlow::Continue(());
        }
        let args = match &function.args {
            FunctionArguments::List(list) => list
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e.clone()),
                    _ => Err(()),
                })
                .collect::<Result<Vec<Expr>, ()>>()
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        match time_filter(&name, &args, now) {
            Ok(text) => match Parser::new(&GenericDialect {})
                .try_with_sql(&text)
                .and_then(|mut p| p.parse_expr())
            {
                Ok(replacement) => {
                    *expr = Expr::Nested(Box::new(replacement));
                    ControlFlow::Continue(())
                }
                Err(e) => ControlFlow::Break(QueryError::Sql {
                    message: format!("{name}: {e}"),
                    position: None,
                }),
            },
            Err(message) => ControlFlow::Break(QueryError::Sql {
                message,
                position: Some((
                    function.name.0.first().map_or(0, |p| p.span().start.line),
                    function.name.0.first().map_or(0, |p| p.span().start.column),
                ))
                .filter(|(l, _)| *l > 0),
            }),
        }
    });
    match flow {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

const MACRO_USAGE: &str = "time filters: p_occurs_since('2 days'[, alias]), \
p_occurs_between('2026-03-01', '2026-03-02 12:00'[, alias]) (start included, end excluded), \
p_occurs_after('2026-03-01'[, alias]), p_occurs_before('2026-03-01'[, alias])";

fn time_filter(name: &str, args: &[Expr], now: Timestamp) -> Result<String, String> {
    let text = |i: usize| -> Result<String, String> {
        match args.get(i) {
            Some(Expr::Value(v)) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Ok(s.clone()),
                Value::Number(n, _) => Ok(n.clone()),
                _ => Err(format!(
                    "{name}: argument {} must be a string; {MACRO_USAGE}",
                    i + 1
                )),
            },
            _ => Err(format!(
                "{name}: argument {} must be a string; {MACRO_USAGE}",
                i + 1
            )),
        }
    };
    let alias = |i: usize| -> Result<String, String> {
        match args.get(i) {
            None => Ok(String::new()),
            Some(Expr::Identifier(id)) => Ok(format!("{}.", id.value)),
            Some(_) => Err(format!(
                "{name}: argument {} must be a table alias; {MACRO_USAGE}",
                i + 1
            )),
        }
    };
    let (start, end, prefix) = match name {
        "p_occurs_since" => {
            let span = parse_duration(&text(0)?).ok_or_else(|| {
                format!(
                    "{name}: cannot read {:?} as a duration like '2 days', '6 hours', '30 minutes'",
                    text(0).unwrap_or_default()
                )
            })?;
            (Some(Timestamp(now.0 - span)), None, alias(1)?)
        }
        "p_occurs_between" => (
            Some(parse_time(name, &text(0)?)?),
            Some(parse_time(name, &text(1)?)?),
            alias(2)?,
        ),
        "p_occurs_after" => (Some(parse_time(name, &text(0)?)?), None, alias(1)?),
        "p_occurs_before" => (None, Some(parse_time(name, &text(0)?)?), alias(1)?),
        _ => return Err(format!("unknown time filter {name}; {MACRO_USAGE}")),
    };
    // Every row's partition day is the UTC day of its p_event_time (the writer derives one from
    // the other), so a bound at midnight is exactly a bound on the partition column: the scan
    // then prunes whole files and evaluates nothing per row.
    let midnight = |t: Timestamp| t.0.rem_euclid(NANOS_PER_DAY) == 0;
    let mut terms = Vec::new();
    if let Some(start) = start {
        if !midnight(start) {
            terms.push(format!(
                "{prefix}p_event_time >= {}",
                timestamp_literal(start)
            ));
        }
        terms.push(format!(
            "{prefix}{PARTITION_COLUMN} >= {}",
            date_literal(start)
        ));
    }
    if let Some(end) = end {
        if midnight(end) {
            terms.push(format!(
                "{prefix}{PARTITION_COLUMN} < {}",
                date_literal(end)
            ));
        } else {
            terms.push(format!("{prefix}p_event_time < {}", timestamp_literal(end)));
            // The end day itself holds rows before `end`.
            terms.push(format!(
                "{prefix}{PARTITION_COLUMN} <= {}",
                date_literal(end)
            ));
        }
    }
    Ok(terms.join(" AND "))
}

fn timestamp_literal(t: Timestamp) -> String {
    let text = t.to_string();
    format!("CAST('{}T{}Z' AS TIMESTAMP)", &text[..10], &text[11..])
}

fn date_literal(t: Timestamp) -> String {
    format!("DATE '{}'", &t.to_string()[..10])
}

/// A time as the user wrote it: a date, or a date and time (RFC 3339 or with a space).
fn parse_time(name: &str, s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else if s.len() == 16 {
        format!("{s}:00")
    } else {
        s.to_string()
    };
    Timestamp::parse_iso8601(full.as_bytes()).ok_or_else(|| {
        format!("{name}: cannot read {s:?} as a time; write '2026-03-14' or '2026-03-14 10:30:00'")
    })
}

/// `2 days`, `1 hour`, `30 minutes`, `45s`, `1w`: nanoseconds.
fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim().to_ascii_lowercase();
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    let n: i64 = s[..digits].parse().ok()?;
    let unit = s[digits..].trim();
    let seconds = match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        _ => return None,
    };
    n.checked_mul(seconds)?.checked_mul(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(sql: &str) -> Result<String, QueryError> {
        let mut statement = Parser::parse_sql(&GenericDialect {}, sql)
            .unwrap()
            .remove(0);
        // 2026-03-14 12:00:00 UTC
        expand_time_macros(&mut statement, Timestamp(1_773_489_600_000_000_000))?;
        Ok(statement.to_string())
    }

    #[test]
    fn since_becomes_a_time_and_partition_filter() {
        let sql = expand("SELECT 1 FROM t WHERE p_occurs_since('2 days') AND x = 1").unwrap();
        assert!(
            sql.contains("p_event_time >= CAST('2026-03-12T12:00:00.000000000Z' AS TIMESTAMP)"),
            "{sql}"
        );
        assert!(sql.contains("p_event_date >= DATE '2026-03-12'"), "{sql}");
    }

    #[test]
    fn between_is_half_open_and_keeps_the_alias() {
        let sql = expand(
            "SELECT 1 FROM t AS l WHERE p_occurs_between('2026-03-01 06:00', '2026-03-02 18:00', l)",
        )
        .unwrap();
        assert!(
            sql.contains("l.p_event_time >= CAST('2026-03-01T06:00:00.000000000Z'"),
            "{sql}"
        );
        assert!(sql.contains("l.p_event_date >= DATE '2026-03-01'"), "{sql}");
        assert!(
            sql.contains("l.p_event_time < CAST('2026-03-02T18:00:00.000000000Z'"),
            "{sql}"
        );
        assert!(sql.contains("l.p_event_date <= DATE '2026-03-02'"), "{sql}");
    }

    #[test]
    fn whole_days_filter_on_the_partition_alone() {
        let sql =
            expand("SELECT 1 FROM t WHERE p_occurs_between('2026-03-01', '2026-03-03')").unwrap();
        assert!(!sql.contains("p_event_time"), "{sql}");
        assert!(sql.contains("p_event_date >= DATE '2026-03-01'"), "{sql}");
        assert!(sql.contains("p_event_date < DATE '2026-03-03'"), "{sql}");
    }

    #[test]
    fn bad_macro_arguments_say_how_to_write_them() {
        let err = expand("SELECT 1 FROM t WHERE p_occurs_since('soon')").unwrap_err();
        assert!(err.to_string().contains("'2 days'"), "{err}");
        let err = expand("SELECT 1 FROM t WHERE p_occurs_between('2026-03-01')").unwrap_err();
        assert!(err.to_string().contains("argument 2"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2 days"), Some(2 * 86_400 * 1_000_000_000));
        assert_eq!(parse_duration("90s"), Some(90 * 1_000_000_000));
        assert_eq!(parse_duration("1 fortnight"), None);
        assert_eq!(parse_duration("days"), None);
    }

    #[test]
    fn parser_positions_are_read_from_messages() {
        assert_eq!(
            position_in_message(
                "sql parser error: Expected: end of statement, found: FROMM at Line: 1, Column: 10"
            ),
            Some((1, 10))
        );
    }

    #[test]
    fn render_points_at_the_column() {
        let e = QueryError::Sql {
            message: "boom".into(),
            position: Some((2, 3)),
        };
        assert_eq!(
            e.render("SELECT\n  nope"),
            "boom\n  at line 2, column 3:\n      nope\n      ^"
        );
    }
}
