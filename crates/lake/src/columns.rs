//! Normalized events (JSON objects) → Arrow record batches with typed columns.
//!
//! Owns the column layout of every lake table: the declared columns of each log type, the
//! standard `p_` columns, the rule-output columns, how an unknown field becomes a new column
//! (additive evolution), and where a value that fits no column goes (`p_extra`, never dropped).
//! Must not touch storage: it builds batches; `writer` commits them.
//!
//! Column names are the event's keys lowercased, as Athena and Glue store them, so unquoted SQL
//! identifiers (which DataFusion, Trino and Athena fold to lower case) find them in any spelling.
//! Free-form objects and arrays become JSON text columns, as Athena's and Matano's CloudTrail
//! tables do.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bucketwatch_core::{LogType, Timestamp};
use deltalake::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, ListBuilder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use deltalake::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use deltalake::arrow::error::ArrowError;
use deltalake::arrow::record_batch::RecordBatch;
use jiter::{Jiter, JiterError, Peek};
use serde_json::{Map, Value};

/// The partition column: the UTC day of `p_event_time`.
pub const PARTITION_COLUMN: &str = "p_event_date";
/// Fields whose value did not fit their column's type, as a JSON object keyed by field name.
pub const EXTRA_COLUMN: &str = "p_extra";
/// The `p_extra` field holding an event text that could not be read as a JSON object.
pub const UNREADABLE_FIELD: &str = "p_unreadable_event";

pub(crate) const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// The partition value of a row whose event time is `t`: days since the epoch, UTC.
pub fn partition_day(t: Timestamp) -> i32 {
    t.0.div_euclid(NANOS_PER_DAY) as i32
}

/// How a column stores its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Int,
    Float,
    Bool,
    /// UTC, microseconds; from RFC 3339 or Panther's `YYYY-MM-DD HH:MM:SS.f` text.
    Time,
    /// A list of strings (the `p_any_*` indicators, rule tags).
    TextList,
    /// Any JSON value, stored as its compact text.
    Json,
}

/// A text list's item: named `element`, as Delta's schema and Parquet's LIST type name it, so
/// a batch's schema equals the one delta-rs reads back from the table.
fn list_item() -> FieldRef {
    Arc::new(Field::new("element", DataType::Utf8, true))
}

impl ColumnKind {
    pub fn data_type(self) -> DataType {
        match self {
            ColumnKind::Text | ColumnKind::Json => DataType::Utf8,
            ColumnKind::Int => DataType::Int64,
            ColumnKind::Float => DataType::Float64,
            ColumnKind::Bool => DataType::Boolean,
            ColumnKind::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnKind::TextList => DataType::List(list_item()),
        }
    }

    /// The kind of a column first seen with `value` (unknown fields).
    fn infer(value: &Value) -> Option<ColumnKind> {
        Some(match value {
            Value::Null => return None,
            Value::String(_) => ColumnKind::Text,
            Value::Bool(_) => ColumnKind::Bool,
            Value::Number(n) if n.is_i64() => ColumnKind::Int,
            Value::Number(_) => ColumnKind::Float,
            Value::Object(_) | Value::Array(_) => ColumnKind::Json,
        })
    }

    /// The kind an existing lake column of `data_type` has; `None` for types bucketwatch never
    /// writes (a table made by another tool), whose fields then go to `p_extra`.
    pub fn from_data_type(data_type: &DataType) -> Option<ColumnKind> {
        Some(match data_type {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnKind::Text,
            DataType::Int64 => ColumnKind::Int,
            DataType::Float64 => ColumnKind::Float,
            DataType::Boolean => ColumnKind::Bool,
            DataType::Timestamp(TimeUnit::Microsecond, _) => ColumnKind::Time,
            DataType::List(f) if f.data_type() == &DataType::Utf8 => ColumnKind::TextList,
            _ => return None,
        })
    }
}

/// The standard fields every log table has, in table order (after the event's own columns).
pub const STANDARD_COLUMNS: &[(&str, ColumnKind)] = &[
    ("p_log_type", ColumnKind::Text),
    ("p_row_id", ColumnKind::Text),
    ("p_event_time", ColumnKind::Time),
    ("p_parse_time", ColumnKind::Time),
    ("p_source_id", ColumnKind::Text),
    ("p_source_label", ColumnKind::Text),
    ("p_source_object", ColumnKind::Text),
    ("p_any_aws_account_ids", ColumnKind::TextList),
    ("p_any_aws_arns", ColumnKind::TextList),
    ("p_any_aws_instance_ids", ColumnKind::TextList),
    ("p_any_aws_tags", ColumnKind::TextList),
    ("p_any_domain_names", ColumnKind::TextList),
    ("p_any_ip_addresses", ColumnKind::TextList),
    ("p_any_sha256_hashes", ColumnKind::TextList),
    ("p_any_trace_ids", ColumnKind::TextList),
];

/// Columns `rule_matches` and `rule_errors` add to the log table's, as Panther names them.
pub const RULE_COLUMNS: &[(&str, ColumnKind)] = &[
    ("p_rule_id", ColumnKind::Text),
    ("p_rule_severity", ColumnKind::Text),
    ("p_rule_tags", ColumnKind::TextList),
    ("p_rule_reports", ColumnKind::Json),
    ("p_alert_id", ColumnKind::Text),
    ("p_alert_creation_time", ColumnKind::Time),
    ("p_alert_update_time", ColumnKind::Time),
    ("p_alert_severity", ColumnKind::Text),
    ("p_alert_context", ColumnKind::Json),
    ("p_dedup", ColumnKind::Text),
    ("p_rule_error", ColumnKind::Text),
];

/// The columns of a `cloudsecurity` table (posture scans), by table name.
pub fn cloudsecurity_columns(table: &str) -> &'static [(&'static str, ColumnKind)] {
    use ColumnKind::*;
    match table {
        "resources" => &[
            ("scan_id", Text),
            ("scan_time", Time),
            ("resource_id", Text),
            ("resource_type", Text),
            ("account_id", Text),
            ("region", Text),
            ("name", Text),
            ("resource", Json),
        ],
        "compliance" => &[
            ("scan_id", Text),
            ("scan_time", Time),
            ("resource_id", Text),
            ("resource_type", Text),
            ("policy_id", Text),
            ("severity", Text),
            ("status", Text),
            ("reason", Text),
            ("suppressed", Bool),
            ("previous_status", Text),
        ],
        _ => &[],
    }
}

/// The typed columns of a log type's own fields, in the order AWS documents them. Fields not
/// listed here still get columns (typed from their first value) when they appear.
pub fn declared_columns(log_type: LogType) -> &'static [(&'static str, ColumnKind)] {
    use ColumnKind::*;
    match log_type {
        LogType::S3ServerAccess => &[
            ("bucketowner", Text),
            ("bucket", Text),
            ("time", Time),
            ("remoteip", Text),
            ("requester", Text),
            ("requestid", Text),
            ("operation", Text),
            ("key", Text),
            ("requesturi", Text),
            ("httpstatus", Int),
            ("errorcode", Text),
            ("bytessent", Int),
            ("objectsize", Int),
            ("totaltime", Int),
            ("turnaroundtime", Int),
            ("referrer", Text),
            ("useragent", Text),
            ("versionid", Text),
            ("hostid", Text),
            ("signatureversion", Text),
            ("ciphersuite", Text),
            ("authenticationtype", Text),
            ("hostheader", Text),
            ("tlsversion", Text),
            ("accesspointarn", Text),
            ("aclrequired", Text),
            ("sourceregion", Text),
            ("additionalfields", Json),
        ],
        LogType::CloudTrail | LogType::CloudTrailInsight => &[
            ("eventversion", Text),
            ("useridentity", Json),
            ("eventtime", Time),
            ("eventsource", Text),
            ("eventname", Text),
            ("awsregion", Text),
            ("sourceipaddress", Text),
            ("useragent", Text),
            ("errorcode", Text),
            ("errormessage", Text),
            ("requestparameters", Json),
            ("responseelements", Json),
            ("additionaleventdata", Json),
            ("requestid", Text),
            ("eventid", Text),
            ("readonly", Bool),
            ("resources", Json),
            ("eventtype", Text),
            ("apiversion", Text),
            ("managementevent", Bool),
            ("recipientaccountid", Text),
            ("serviceeventdetails", Json),
            ("sharedeventid", Text),
            ("vpcendpointid", Text),
            ("vpcendpointaccountid", Text),
            ("eventcategory", Text),
            ("addendum", Json),
            ("sessioncredentialfromconsole", Text),
            ("edgedevicedetails", Json),
            ("tlsdetails", Json),
            ("insightdetails", Json),
        ],
        LogType::CloudTrailDigest => &[
            ("awsaccountid", Text),
            ("digeststarttime", Time),
            ("digestendtime", Time),
            ("digests3bucket", Text),
            ("digests3object", Text),
            ("digestpublickeyfingerprint", Text),
            ("digestsignaturealgorithm", Text),
            ("newesteventtime", Time),
            ("oldesteventtime", Time),
            ("previousdigests3bucket", Text),
            ("previousdigests3object", Text),
            ("previousdigesthashvalue", Text),
            ("previousdigesthashalgorithm", Text),
            ("previousdigestsignature", Text),
            ("logfiles", Json),
        ],
        LogType::ClassificationFailure => &[
            ("reason", Text),
            ("line", Int),
            ("record", Int),
            ("raw", Text),
            ("raw_base64", Text),
        ],
    }
}

/// The columns a log type's rows are sorted by within each day before they are written: the
/// fields investigations filter on most. Sorted, each Parquet page holds few of their values,
/// so a reader filtering on one (`bucket = '…'`) skips the other values' pages through the page
/// index, and runs compress better. This is Delta's clustering, done on every write.
pub fn clustering_columns(log_type: LogType) -> &'static [&'static str] {
    match log_type {
        LogType::S3ServerAccess => &["bucket", "operation"],
        LogType::CloudTrail => &["eventsource", "eventname"],
        LogType::CloudTrailInsight | LogType::CloudTrailDigest | LogType::ClassificationFailure => {
            &[]
        }
    }
}

/// One column being filled.
enum Builder {
    Text(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Time(TimestampMicrosecondBuilder),
    TextList(ListBuilder<StringBuilder>),
    Json(StringBuilder),
}

impl Builder {
    fn new(kind: ColumnKind) -> Builder {
        Builder::with_capacity(kind, Capacity::default())
    }

    /// A builder whose buffers already have room for `capacity`.
    fn with_capacity(kind: ColumnKind, capacity: Capacity) -> Builder {
        let Capacity { items, bytes } = capacity;
        match kind {
            ColumnKind::Text => Builder::Text(StringBuilder::with_capacity(items, bytes)),
            ColumnKind::Int => Builder::Int(Int64Builder::with_capacity(items)),
            ColumnKind::Float => Builder::Float(Float64Builder::with_capacity(items)),
            ColumnKind::Bool => Builder::Bool(BooleanBuilder::with_capacity(items)),
            ColumnKind::Time => Builder::Time(
                TimestampMicrosecondBuilder::with_capacity(items).with_timezone("UTC"),
            ),
            ColumnKind::TextList => Builder::TextList(
                ListBuilder::with_capacity(StringBuilder::with_capacity(items, bytes), items)
                    .with_field(list_item()),
            ),
            ColumnKind::Json => Builder::Json(StringBuilder::with_capacity(items, bytes)),
        }
    }

    /// What this builder holds now: rows, and bytes of string values where it has them.
    fn capacity(&self) -> Capacity {
        let bytes = match self {
            Builder::Text(b) | Builder::Json(b) => b.values_slice().len(),
            Builder::TextList(b) => b.values_ref().values_slice().len(),
            _ => 0,
        };
        Capacity {
            items: self.len(),
            bytes,
        }
    }

    fn len(&self) -> usize {
        use deltalake::arrow::array::ArrayBuilder;
        match self {
            Builder::Text(b) | Builder::Json(b) => b.len(),
            Builder::Int(b) => b.len(),
            Builder::Float(b) => b.len(),
            Builder::Bool(b) => b.len(),
            Builder::Time(b) => b.len(),
            Builder::TextList(b) => b.len(),
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::Text(b) | Builder::Json(b) => b.append_null(),
            Builder::Int(b) => b.append_null(),
            Builder::Float(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
            Builder::Time(b) => b.append_null(),
            Builder::TextList(b) => b.append_null(),
        }
    }

    /// Appends `value`; `false` (nothing appended) when it does not fit this column's type.
    fn append(&mut self, value: &Value, scratch: &mut Vec<u8>) -> bool {
        match (self, value) {
            (_, Value::Null) => return false,
            (Builder::Text(b), Value::String(s)) => b.append_value(s),
            (Builder::Int(b), Value::Number(n)) => match n.as_i64() {
                Some(v) => b.append_value(v),
                None => return false,
            },
            (Builder::Float(b), Value::Number(n)) => match n.as_f64() {
                Some(v) => b.append_value(v),
                None => return false,
            },
            (Builder::Bool(b), Value::Bool(v)) => b.append_value(*v),
            (Builder::Time(b), Value::String(s)) => match Timestamp::parse_iso8601(s.as_bytes()) {
                Some(t) => b.append_value(t.0.div_euclid(1000)),
                None => return false,
            },
            (Builder::TextList(b), Value::Array(items)) => {
                if !items.iter().all(Value::is_string) {
                    return false;
                }
                for item in items {
                    b.values().append_value(item.as_str().unwrap_or_default());
                }
                b.append(true);
            }
            (b @ Builder::Json(_), v) => return b.append_json(v, scratch),
            _ => return false,
        }
        true
    }

    /// Appends `value` as JSON text to a JSON column; `false` for any other column.
    fn append_json(&mut self, value: &impl serde::Serialize, scratch: &mut Vec<u8>) -> bool {
        let Builder::Json(b) = self else {
            return false;
        };
        scratch.clear();
        if serde_json::to_writer(&mut *scratch, value).is_err() {
            return false;
        }
        // serde_json writes UTF-8 only.
        b.append_value(std::str::from_utf8(scratch).unwrap_or_default());
        true
    }

    /// Appends a value read straight from JSON text; `false` when it does not fit.
    fn append_scalar(&mut self, value: &Scalar<'_>, scratch: &mut Vec<u8>) -> bool {
        match (self, value) {
            (b, Scalar::Value(v)) => return b.append(v, scratch),
            (Builder::TextList(b), Scalar::Array(text)) => return append_text_list(b, text),
            (b, Scalar::Array(text)) => {
                return serde_json::from_slice(text).is_ok_and(|v: Value| b.append(&v, scratch));
            }
            (_, Scalar::Null) => return false,
            (Builder::Text(b), Scalar::Str(s)) => b.append_value(s),
            (Builder::Time(b), Scalar::Str(s)) => match Timestamp::parse_iso8601(s.as_bytes()) {
                Some(t) => b.append_value(t.0.div_euclid(1000)),
                None => return false,
            },
            (Builder::Int(b), Scalar::Int(v)) => b.append_value(*v),
            (Builder::Float(b), Scalar::Int(v)) => b.append_value(*v as f64),
            (Builder::Bool(b), Scalar::Bool(v)) => b.append_value(*v),
            (b @ Builder::Json(_), scalar) => return b.append(&scalar.to_value(), scratch),
            _ => return false,
        }
        true
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) | Builder::Json(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::TextList(b) => Arc::new(b.finish()),
        }
    }
}

/// How large a table's batch was, column by column: a table's next batch is usually about the
/// size of its last, and a builder sized for it does not grow by doubling (growing a
/// 500,000-row column copied it about once over: a quarter of the writing thread's time).
#[derive(Debug, Clone, Default)]
pub struct BatchSizes {
    rows: usize,
    columns: HashMap<String, Capacity>,
}

/// Room to reserve in a column's builder.
#[derive(Debug, Clone, Copy, Default)]
struct Capacity {
    items: usize,
    bytes: usize,
}

/// One field's value as [`BatchBuilder::push_json`] reads it: the common scalar kinds and
/// arrays without building a `Value`, anything else (floats, numbers beyond i64, objects) as
/// one.
enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Str(&'a str),
    /// A JSON array's text: a text list column reads its strings straight from it (the
    /// `p_any_*` indicators of every row), other columns parse it.
    Array(&'a [u8]),
    Value(&'a Value),
}

/// Appends the JSON array `text` to a text list column when every item is a string; `false`
/// (nothing appended) otherwise. Checks the items first, so a mixed array appends nothing.
fn append_text_list(b: &mut ListBuilder<StringBuilder>, text: &[u8]) -> bool {
    /// Calls `each` on every item; `None` at an item that is not a string.
    fn strings(text: &[u8], mut each: impl FnMut(&str)) -> Option<()> {
        let mut j = Jiter::new(text);
        let mut next = j.known_array().ok()?;
        while let Some(peek) = next {
            if peek != Peek::String {
                return None;
            }
            each(j.known_str().ok()?);
            next = j.array_step().ok()?;
        }
        j.finish().ok()
    }
    if strings(text, |_| {}).is_none() {
        return false;
    }
    let appended = strings(text, |item| b.values().append_value(item));
    b.append(true);
    appended.is_some()
}

impl Scalar<'_> {
    fn to_value(&self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(v) => Value::Bool(*v),
            Scalar::Int(v) => Value::from(*v),
            Scalar::Str(s) => Value::String(s.to_string()),
            // An array serde_json refuses (a number beyond f64) is kept as its text.
            Scalar::Array(text) => serde_json::from_slice(text)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(text).into_owned())),
            Scalar::Value(v) => (*v).clone(),
        }
    }

    /// The kind of a column first seen with this value (unknown fields).
    fn infer(&self) -> Option<ColumnKind> {
        match self {
            Scalar::Null => None,
            Scalar::Bool(_) => Some(ColumnKind::Bool),
            Scalar::Int(_) => Some(ColumnKind::Int),
            Scalar::Str(_) => Some(ColumnKind::Text),
            Scalar::Array(_) => Some(ColumnKind::Json),
            Scalar::Value(v) => ColumnKind::infer(v),
        }
    }
}

/// A normalized line that is not one JSON object: the normalizer never writes one, so this is
/// a bug upstream, reported with where the text went wrong.
#[derive(Debug, thiserror::Error)]
#[error("a normalized event is not a JSON object ({0})")]
pub struct NotAnObject(String);

/// Values the rule tables add to a matched event's row, borrowed from the rule result: a
/// match costs its row, not copies of its rule's texts.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleColumns<'a> {
    pub rule_id: &'a str,
    pub rule_severity: &'a str,
    pub rule_tags: &'a [String],
    /// `{"framework": ["id", ...]}`.
    pub rule_reports: Option<&'a BTreeMap<String, Vec<String>>>,
    pub alert_id: Option<&'a str>,
    pub alert_creation_time: Option<Timestamp>,
    pub alert_update_time: Option<Timestamp>,
    pub alert_severity: Option<&'a str>,
    pub alert_context: Option<&'a Value>,
    pub dedup: &'a str,
    /// Set in `rule_errors` only: the error class and message.
    pub rule_error: Option<&'a str>,
}

/// Builds one table's batches from events, widening its schema as new fields appear.
pub struct BatchBuilder {
    names: Vec<String>,
    kinds: Vec<ColumnKind>,
    index: HashMap<String, usize, ahash::RandomState>,
    builders: Vec<Builder>,
    partition: Date32Builder,
    extra: StringBuilder,
    rows: usize,
    /// At `c + 1`, the column of the field that last followed a field of column `c`; at 0,
    /// that of a row's first field (`usize::MAX`: none yet). A log type's rows list their
    /// fields in one order, so checking the hint first spares lowercasing and hashing nearly
    /// every name. Keyed by the previous column rather than the field's position, an optional
    /// field present in one row and absent in the next misses once, not for every later field.
    hints: Vec<usize>,
    /// The column of the row's last field that had one (`usize::MAX` at the row's start).
    previous: usize,
    /// The field being filed, and its lowercased name.
    key: String,
    lower: String,
    scratch: Vec<u8>,
    extra_fields: Map<String, Value>,
}

impl BatchBuilder {
    /// A builder with the table's known columns: `declared` (the log type's fields, or the
    /// existing table's schema), the standard columns and, for rule tables, the rule columns.
    pub fn new(declared: &[(&str, ColumnKind)], with_rule_columns: bool) -> BatchBuilder {
        let mut b = BatchBuilder {
            names: Vec::new(),
            kinds: Vec::new(),
            index: HashMap::default(),
            builders: Vec::new(),
            partition: Date32Builder::new(),
            extra: StringBuilder::new(),
            rows: 0,
            hints: Vec::new(),
            previous: usize::MAX,
            key: String::new(),
            lower: String::new(),
            scratch: Vec::new(),
            extra_fields: Map::new(),
        };
        let rule = if with_rule_columns { RULE_COLUMNS } else { &[] };
        for (name, kind) in declared.iter().chain(STANDARD_COLUMNS).chain(rule) {
            b.add_column(name, *kind);
        }
        b
    }

    /// Adopts the columns of an existing table (types it already has win over declared ones,
    /// so a column keeps one type for its whole life).
    pub fn adopt_schema(&mut self, schema: &Schema) {
        for field in schema.fields() {
            let name = field.name();
            if name == PARTITION_COLUMN || name == EXTRA_COLUMN {
                continue;
            }
            let Some(kind) = ColumnKind::from_data_type(field.data_type()) else {
                continue;
            };
            match self.index.get(name.as_str()) {
                Some(&i) if self.kinds[i] != kind && self.rows == 0 => {
                    self.kinds[i] = kind;
                    self.builders[i] = Builder::new(kind);
                }
                Some(_) => {}
                None => self.add_column(name, kind),
            }
        }
    }

    fn add_column(&mut self, name: &str, kind: ColumnKind) {
        if self.index.contains_key(name) {
            return;
        }
        let mut builder = Builder::new(kind);
        for _ in 0..self.rows {
            builder.append_null();
        }
        self.index.insert(name.to_string(), self.names.len());
        self.names.push(name.to_string());
        self.kinds.push(kind);
        self.builders.push(builder);
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends one event. `event` must be a JSON object carrying `p_event_time`.
    pub fn push(&mut self, event: &Map<String, Value>, rule: Option<&RuleColumns>) {
        self.extra_fields.clear();
        for (key, value) in event {
            self.key.clear();
            self.key.push_str(key);
            self.put(&Scalar::Value(value));
        }
        let event_time = event
            .get("p_event_time")
            .and_then(Value::as_str)
            .and_then(|s| Timestamp::parse_iso8601(s.as_bytes()));
        self.end_row(event_time, rule);
    }

    /// Appends one event given as the JSON text of an object, as [`push`](Self::push) appends
    /// it parsed, but reading strings, integers and booleans straight into their columns:
    /// building a `Value` per event cost a third of ingest.
    ///
    /// Text that is not one JSON object (never written by the normalizer) is an error, and
    /// still ends the row, so the builder stays usable: the fields read before the fault are
    /// filed and the whole text is kept in `p_extra` under [`UNREADABLE_FIELD`].
    pub fn push_json(
        &mut self,
        event: &[u8],
        rule: Option<&RuleColumns>,
    ) -> Result<(), NotAnObject> {
        self.extra_fields.clear();
        let mut event_time = None;
        let read = self.fill_json(event, &mut event_time);
        if read.is_err() {
            let text = String::from_utf8_lossy(event).into_owned();
            self.extra_fields
                .insert(UNREADABLE_FIELD.to_string(), Value::String(text));
        }
        self.end_row(event_time, rule);
        read
    }

    /// Files the fields of the JSON object `event` into the current row.
    fn fill_json(
        &mut self,
        event: &[u8],
        event_time: &mut Option<Timestamp>,
    ) -> Result<(), NotAnObject> {
        let mut j = Jiter::new(event);
        let bad = |e: JiterError, j: &Jiter| NotAnObject(e.description(j));
        let mut more = match j.next_object() {
            Ok(key) => self.take_key(key),
            Err(e) => return Err(bad(e, &j)),
        };
        while more {
            let peek = j.peek().map_err(|e| bad(e, &j))?;
            let start = j.current_index();
            match peek {
                Peek::Null => {
                    j.known_null().map_err(|e| bad(e, &j))?;
                    self.put(&Scalar::Null);
                }
                Peek::True | Peek::False => {
                    let v = j.known_bool(peek).map_err(|e| bad(e, &j))?;
                    self.put(&Scalar::Bool(v));
                }
                Peek::String => {
                    let v = match j.known_str() {
                        Ok(v) => v,
                        Err(e) => return Err(bad(e, &j)),
                    };
                    if self.key == "p_event_time" {
                        *event_time = Timestamp::parse_iso8601(v.as_bytes());
                    }
                    self.put(&Scalar::Str(v));
                }
                Peek::Array => {
                    j.known_skip(peek).map_err(|e| bad(e, &j))?;
                    self.put(&Scalar::Array(&event[start..j.current_index()]));
                }
                _ => {
                    j.known_skip(peek).map_err(|e| bad(e, &j))?;
                    let text = &event[start..j.current_index()];
                    let int = peek
                        .is_num()
                        .then(|| std::str::from_utf8(text).ok()?.parse().ok());
                    match int.flatten() {
                        Some(v) => self.put(&Scalar::Int(v)),
                        // Floats, numbers beyond i64 and objects: as `push` files them.
                        None => {
                            let value: Value = serde_json::from_slice(text)
                                .map_err(|e| NotAnObject(e.to_string()))?;
                            self.put(&Scalar::Value(&value));
                        }
                    }
                }
            }
            more = match j.next_key() {
                Ok(key) => self.take_key(key),
                Err(e) => return Err(bad(e, &j)),
            };
        }
        j.finish().map_err(|e| bad(e, &j))
    }

    /// Makes `key` the field being filed; `false` at the end of the object.
    fn take_key(&mut self, key: Option<&str>) -> bool {
        self.key.clear();
        match key {
            Some(k) => {
                self.key.push_str(k);
                true
            }
            None => false,
        }
    }

    /// Files the field named `self.key` into its column, a new column, or `p_extra`.
    fn put(&mut self, value: &Scalar<'_>) {
        let slot = self.previous.wrapping_add(1);
        // A hinted column was found by its lowercased name, so a key equal to it ignoring
        // case is exactly the key the lookup below would find it by.
        let hinted = self.hints.get(slot).copied().filter(|&i| {
            self.names
                .get(i)
                .is_some_and(|n| n.eq_ignore_ascii_case(&self.key))
        });
        let column = match hinted {
            Some(i) => Some(i),
            None => match self.find_column(value) {
                Some(Some(i)) => {
                    if self.hints.len() <= slot {
                        self.hints.resize(slot + 1, usize::MAX);
                    }
                    self.hints[slot] = i;
                    Some(i)
                }
                Some(None) => None,
                // A null for a field without a column: nothing to keep.
                None => return,
            },
        };
        if let Some(i) = column {
            self.previous = i;
        }
        let fitted = match column {
            // A second key that differs only in letter case already filled this row.
            Some(i) if self.builders[i].len() > self.rows => false,
            Some(i) => {
                self.builders[i].append_scalar(value, &mut self.scratch)
                    || matches!(value, Scalar::Null)
                    || matches!(value, Scalar::Value(Value::Null))
            }
            None => false,
        };
        if !fitted {
            self.extra_fields.insert(self.key.clone(), value.to_value());
        }
    }

    /// The column named `self.key` ignoring case, or a new one when the value's type can
    /// start it; `Some(None)` when the field has no column (it goes to `p_extra`), `None` for
    /// a null that has no column to go to.
    fn find_column(&mut self, value: &Scalar<'_>) -> Option<Option<usize>> {
        self.lower.clear();
        self.lower.push_str(&self.key);
        self.lower.make_ascii_lowercase();
        if let Some(&i) = self.index.get(self.lower.as_str()) {
            return Some(Some(i));
        }
        match value.infer() {
            Some(kind) if is_column_name(&self.lower) => {
                let lower = std::mem::take(&mut self.lower);
                self.add_column(&lower, kind);
                self.lower = lower;
                Some(Some(self.names.len() - 1))
            }
            Some(_) => Some(None),
            None => None,
        }
    }

    /// Ends the row: rule columns, the day partition, `p_extra`, nulls for absent columns.
    fn end_row(&mut self, event_time: Option<Timestamp>, rule: Option<&RuleColumns>) {
        if let Some(rule) = rule {
            self.push_rule_columns(rule);
        }
        let event_time = event_time.unwrap_or_else(Timestamp::now);
        self.partition.append_value(partition_day(event_time));
        if self.extra_fields.is_empty() {
            self.extra.append_null();
        } else {
            let text = Value::Object(std::mem::take(&mut self.extra_fields)).to_string();
            self.extra.append_value(text);
        }
        self.rows += 1;
        self.previous = usize::MAX;
        for b in &mut self.builders {
            if b.len() < self.rows {
                b.append_null();
            }
        }
    }

    fn push_rule_columns(&mut self, rule: &RuleColumns<'_>) {
        // A column the event itself filled (a field named like a rule column) keeps its value.
        fn unfilled<'b>(b: &'b mut BatchBuilder, name: &str) -> Option<&'b mut Builder> {
            let &i = b.index.get(name)?;
            Some(&mut b.builders[i]).filter(|column| column.len() == b.rows)
        }
        let texts = [
            ("p_rule_id", Some(rule.rule_id)),
            ("p_rule_severity", Some(rule.rule_severity)),
            ("p_alert_id", rule.alert_id),
            ("p_alert_severity", rule.alert_severity),
            ("p_dedup", Some(rule.dedup)),
            ("p_rule_error", rule.rule_error),
        ];
        for (name, text) in texts {
            if let (Some(text), Some(Builder::Text(b))) = (text, unfilled(self, name)) {
                b.append_value(text);
            }
        }
        let times = [
            ("p_alert_creation_time", rule.alert_creation_time),
            ("p_alert_update_time", rule.alert_update_time),
        ];
        for (name, time) in times {
            if let (Some(t), Some(Builder::Time(b))) = (time, unfilled(self, name)) {
                b.append_value(t.0.div_euclid(1000));
            }
        }
        if let Some(Builder::TextList(b)) = unfilled(self, "p_rule_tags") {
            for tag in rule.rule_tags {
                b.values().append_value(tag);
            }
            b.append(true);
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        if let (Some(reports), Some(b)) = (rule.rule_reports, unfilled(self, "p_rule_reports")) {
            b.append_json(reports, &mut scratch);
        }
        if let (Some(context), Some(b)) = (rule.alert_context, unfilled(self, "p_alert_context")) {
            b.append_json(context, &mut scratch);
        }
        self.scratch = scratch;
    }

    /// The schema of the batch [`finish`](Self::finish) returns.
    pub fn schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .names
            .iter()
            .zip(&self.kinds)
            .map(|(n, k)| Field::new(n, k.data_type(), true))
            .collect();
        fields.push(Field::new(EXTRA_COLUMN, DataType::Utf8, true));
        fields.push(Field::new(PARTITION_COLUMN, DataType::Date32, true));
        Arc::new(Schema::new(fields))
    }

    /// What each column holds now, to size the table's next batch with [`with_sizes`].
    ///
    /// [`with_sizes`]: BatchBuilder::with_sizes
    pub fn sizes(&self) -> BatchSizes {
        BatchSizes {
            rows: self.rows,
            columns: self
                .names
                .iter()
                .zip(&self.builders)
                .map(|(name, builder)| (name.clone(), builder.capacity()))
                .collect(),
        }
    }

    /// Reserves room for a batch like the one `sizes` was taken from. Only an empty builder's
    /// columns are sized; columns that appear later start empty.
    pub fn with_sizes(mut self, sizes: &BatchSizes) -> BatchBuilder {
        if self.rows > 0 {
            return self;
        }
        for ((name, builder), &kind) in self.names.iter().zip(&mut self.builders).zip(&self.kinds) {
            if let Some(&capacity) = sizes.columns.get(name) {
                *builder = Builder::with_capacity(kind, capacity);
            }
        }
        self.partition = Date32Builder::with_capacity(sizes.rows);
        self
    }

    /// Rows the builder has room for before it grows.
    #[cfg(test)]
    pub(crate) fn reserved_rows(&self) -> usize {
        self.partition.capacity()
    }

    /// The rows so far as one batch; the builder is empty afterwards and keeps its columns.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let schema = self.schema();
        let mut columns: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        columns.push(Arc::new(self.extra.finish()));
        columns.push(Arc::new(self.partition.finish()));
        self.rows = 0;
        RecordBatch::try_new(schema, columns)
    }
}

/// Column names Parquet, Delta, Glue and Athena all accept without quoting rules of their own.
fn is_column_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltalake::arrow::array::{Array, AsArray};
    use deltalake::arrow::datatypes::{Int64Type, TimestampMicrosecondType};
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    /// Row `row`'s `p_extra`, parsed.
    fn extra_of(batch: &RecordBatch, row: usize) -> Value {
        let extra = batch
            .column_by_name(EXTRA_COLUMN)
            .unwrap()
            .as_string::<i32>();
        serde_json::from_str(extra.value(row)).unwrap()
    }

    /// `push_json` files every field exactly as `push` does with the parsed object.
    #[test]
    fn json_text_and_parsed_objects_make_the_same_rows() {
        let lines = [
            r#"{"bucket":"b\u00e9\"q","httpstatus":403,"bytessent":-12,"time":"2026-03-14T10:00:01Z","p_event_time":"2026-03-14 10:00:01.000000000","p_any_ip_addresses":["192.0.2.1","192.0.2.2"],"p_any_domain_names":["a\"b\u00e9",""],"additionalfields":{"z":1,"a":[true,null]}}"#,
            r#"{"bucket":null,"httpstatus":"not a number","objectsize":18446744073709551615,"totaltime":1.5,"p_any_aws_arns":["x",1],"newfield":2.25,"Bad Name":"v","p_event_time":"2026-03-15 00:00:00Z"}"#,
            r#"{"newfield":7,"otherfield":true,"nested":{"k":"v"},"listfield":[1,2],"p_any_aws_arns":[],"p_event_time":"garbage","requester":"  spaced  "}"#,
            r#"{}"#,
        ];
        let mut from_text = BatchBuilder::new(declared_columns(LogType::S3ServerAccess), false);
        let mut from_map = BatchBuilder::new(declared_columns(LogType::S3ServerAccess), false);
        let rule = RuleColumns {
            rule_id: "R",
            dedup: "d",
            ..RuleColumns::default()
        };
        let mut rules = BatchBuilder::new(declared_columns(LogType::S3ServerAccess), true);
        let mut rules_map = BatchBuilder::new(declared_columns(LogType::S3ServerAccess), true);
        for line in lines {
            from_text.push_json(line.as_bytes(), None).unwrap();
            rules.push_json(line.as_bytes(), Some(&rule)).unwrap();
            let parsed = object(serde_json::from_str(line).unwrap());
            from_map.push(&parsed, None);
            rules_map.push(&parsed, Some(&rule));
        }
        let (text, map) = (from_text.finish().unwrap(), from_map.finish().unwrap());
        // Same columns with the same values; new columns come in the order their fields are
        // met, which differs (text order against the map's sorted keys). The clock fills a
        // missing or unreadable event time, so only the first two rows' days compare.
        let same = |a: &RecordBatch, b: &RecordBatch| {
            assert_eq!(a.num_columns(), b.num_columns());
            for field in a.schema().fields() {
                let (x, y) = (
                    a.column_by_name(field.name()),
                    b.column_by_name(field.name()),
                );
                let (x, y) = (x.unwrap(), y.unwrap_or_else(|| panic!("{}", field.name())));
                if field.name() == PARTITION_COLUMN {
                    assert_eq!(&x.slice(0, 2), &y.slice(0, 2));
                } else {
                    assert_eq!(x, y, "{}", field.name());
                }
            }
        };
        same(&text, &map);
        same(&rules.finish().unwrap(), &rules_map.finish().unwrap());
        assert_eq!(
            extra_of(&text, 1),
            json!({"httpstatus": "not a number", "objectsize": 18446744073709551615u64, "totaltime": 1.5, "p_any_aws_arns": ["x", 1], "Bad Name": "v"})
        );
    }

    /// Fields are filed by name whatever their order or letter case, though the builder
    /// guesses each field's column from the rows before, and a batch after the first
    /// (built into pre-sized buffers) holds just its own rows.
    #[test]
    fn fields_find_their_columns_in_any_order_and_batches_stay_apart() {
        let mut b = BatchBuilder::new(declared_columns(LogType::S3ServerAccess), false);
        let lines = [
            r#"{"bucket":"b1","httpstatus":200,"p_event_time":"2026-03-14 10:00:00.000000000"}"#,
            r#"{"httpstatus":403,"bucket":"b2","p_event_time":"2026-03-14 10:00:01.000000000"}"#,
            r#"{"BUCKET":"b3","HttpStatus":404,"p_event_time":"2026-03-14 10:00:02.000000000"}"#,
            r#"{"p_event_time":"2026-03-14 10:00:03.000000000","bucket":"b4"}"#,
        ];
        let column = |batch: &RecordBatch, name: &str| -> Vec<Option<String>> {
            let array = batch.column_by_name(name).unwrap();
            (0..array.len())
                .map(|i| {
                    (!array.is_null(i)).then(|| match array.data_type() {
                        DataType::Int64 => array.as_primitive::<Int64Type>().value(i).to_string(),
                        _ => array.as_string::<i32>().value(i).to_string(),
                    })
                })
                .collect()
        };
        for line in lines {
            b.push_json(line.as_bytes(), None).unwrap();
        }
        let first = b.finish().unwrap();
        let some = |v: &[&str]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
        assert_eq!(column(&first, "bucket"), some(&["b1", "b2", "b3", "b4"]));
        let status = column(&first, "httpstatus");
        assert_eq!(status[..3], some(&["200", "403", "404"]));
        assert_eq!(status[3], None);
        assert!(first.column_by_name(EXTRA_COLUMN).unwrap().is_null(2));

        b.push_json(lines[1].as_bytes(), None).unwrap();
        let second = b.finish().unwrap();
        assert_eq!(second.num_rows(), 1);
        assert_eq!(column(&second, "bucket"), some(&["b2"]));
        assert_eq!(column(&second, "httpstatus"), some(&["403"]));
    }

    #[test]
    fn text_that_is_not_one_object_is_refused() {
        let mut b = BatchBuilder::new(declared_columns(LogType::S3ServerAccess), false);
        let bad = [&b"[1]"[..], b"{\"a\":", b"{\"bucket\":\"b\"} x", b""];
        for text in bad {
            assert!(
                b.push_json(text, None).is_err(),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        b.push_json(br#"{"bucket":"fine"}"#, None).unwrap();
        // Every push ended its row: the builder is still consistent, and no text was lost.
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), bad.len() + 1);
        for (row, text) in bad.iter().enumerate() {
            assert_eq!(
                extra_of(&batch, row)[UNREADABLE_FIELD],
                String::from_utf8_lossy(text).as_ref()
            );
        }
        let bucket = batch.column_by_name("bucket").unwrap().as_string::<i32>();
        assert_eq!(bucket.value(2), "b");
        assert_eq!(bucket.value(4), "fine");
    }

    #[test]
    fn typed_columns_standard_fields_and_partition() {
        let mut b = BatchBuilder::new(declared_columns(LogType::S3ServerAccess), false);
        b.push(
            &object(json!({
                "bucket": "b1", "httpstatus": 403, "time": "2026-03-14 10:00:01.000000000",
                "p_log_type": "AWS.S3ServerAccess", "p_event_time": "2026-03-14 10:00:01.000000000",
                "p_any_ip_addresses": ["192.0.2.1", "192.0.2.2"]
            })),
            None,
        );
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), 1);
        let status = batch.column_by_name("httpstatus").unwrap();
        assert_eq!(status.as_primitive::<Int64Type>().value(0), 403);
        let time = batch.column_by_name("time").unwrap();
        assert_eq!(
            time.as_primitive::<TimestampMicrosecondType>().value(0),
            1_773_482_401_000_000
        );
        let ips = batch
            .column_by_name("p_any_ip_addresses")
            .unwrap()
            .as_list::<i32>();
        assert_eq!(ips.value(0).len(), 2);
        let day = batch.column_by_name(PARTITION_COLUMN).unwrap();
        assert_eq!(
            day.as_primitive::<deltalake::arrow::datatypes::Date32Type>()
                .value(0),
            20526
        );
        assert!(batch.column_by_name("key").unwrap().is_null(0));
        assert!(batch.column_by_name(EXTRA_COLUMN).unwrap().is_null(0));
    }

    #[test]
    fn nested_objects_become_json_text_and_names_are_lowercased() {
        let mut b = BatchBuilder::new(declared_columns(LogType::CloudTrail), false);
        b.push(
            &object(json!({
                "eventName": "PutBucketPolicy",
                "requestParameters": {"bucketName": "b", "policy": {"Statement": []}},
                "p_event_time": "2026-03-14 10:00:01.000000000"
            })),
            None,
        );
        let batch = b.finish().unwrap();
        let params = batch
            .column_by_name("requestparameters")
            .unwrap()
            .as_string::<i32>();
        let parsed: Value = serde_json::from_str(params.value(0)).unwrap();
        assert_eq!(parsed["policy"]["Statement"], json!([]));
        let name = batch
            .column_by_name("eventname")
            .unwrap()
            .as_string::<i32>();
        assert_eq!(name.value(0), "PutBucketPolicy");
    }

    #[test]
    fn new_fields_add_columns_and_earlier_rows_read_null() {
        let mut b = BatchBuilder::new(declared_columns(LogType::CloudTrail), false);
        let t = "2026-03-14 10:00:01.000000000";
        b.push(&object(json!({"eventName": "A", "p_event_time": t})), None);
        b.push(
            &object(json!({"eventName": "B", "brandNewField": 7, "p_event_time": t})),
            None,
        );
        let batch = b.finish().unwrap();
        let col = batch.column_by_name("brandnewfield").unwrap();
        assert!(col.is_null(0));
        assert_eq!(col.as_primitive::<Int64Type>().value(1), 7);
    }

    #[test]
    fn values_that_fit_no_column_are_kept_in_p_extra() {
        let mut b = BatchBuilder::new(declared_columns(LogType::S3ServerAccess), false);
        b.push(
            &object(json!({
                "httpstatus": "not-a-number",
                "weird key!": 1,
                "p_event_time": "2026-03-14 10:00:01.000000000"
            })),
            None,
        );
        let batch = b.finish().unwrap();
        assert!(batch.column_by_name("httpstatus").unwrap().is_null(0));
        let extra = extra_of(&batch, 0);
        assert_eq!(
            extra,
            json!({"httpstatus": "not-a-number", "weird key!": 1})
        );
    }

    /// An array serde_json cannot hold (a number beyond f64) is valid JSON text: it is kept,
    /// as text, rather than dropped.
    #[test]
    fn arrays_no_column_can_hold_are_kept_as_text() {
        let mut b = BatchBuilder::new(declared_columns(LogType::S3ServerAccess), false);
        let line = br#"{"p_any_aws_arns":["a",1e400],"listfield":[1e400],"p_event_time":"2026-03-14 10:00:01Z"}"#;
        b.push_json(line, None).unwrap();
        let batch = b.finish().unwrap();
        assert!(batch.column_by_name("p_any_aws_arns").unwrap().is_null(0));
        let extra = extra_of(&batch, 0);
        assert_eq!(
            extra,
            json!({"p_any_aws_arns": "[\"a\",1e400]", "listfield": "[1e400]"})
        );
    }

    #[test]
    fn keys_differing_only_in_case_do_not_overwrite_each_other() {
        let mut b = BatchBuilder::new(&[], false);
        b.push(
            &object(json!({"Name": "a", "name": "b", "p_event_time": "2026-03-14 10:00:01Z"})),
            None,
        );
        let batch = b.finish().unwrap();
        let name = batch.column_by_name("name").unwrap().as_string::<i32>();
        let extra = extra_of(&batch, 0);
        // serde_json's map is sorted: "Name" fills the column, "name" is kept aside.
        assert_eq!(name.value(0), "a");
        assert_eq!(extra, json!({"name": "b"}));
    }

    #[test]
    fn a_builder_sized_like_the_last_batch_has_room_for_it() {
        let line = |i: usize| {
            format!(
                r#"{{"bucket":"bucket-{i}","httpstatus":200,"p_event_time":"2026-03-14 10:00:01Z"}}"#
            )
        };
        let declared = declared_columns(LogType::S3ServerAccess);
        let mut last = BatchBuilder::new(declared, false);
        for i in 0..5000 {
            last.push_json(line(i).as_bytes(), None).unwrap();
        }
        let sizes = last.sizes();
        let mut next = BatchBuilder::new(declared, false).with_sizes(&sizes);
        assert!(next.reserved_rows() >= 5000);
        let status = next.index["httpstatus"];
        assert!(matches!(&next.builders[status], Builder::Int(b) if b.capacity() >= 5000));
        let bucket = next.index["bucket"];
        let Builder::Text(b) = &next.builders[bucket] else {
            panic!("bucket is a text column");
        };
        assert!(b.values_slice().is_empty());
        assert!(BatchBuilder::new(declared, false).reserved_rows() < 5000);
        next.push_json(line(1).as_bytes(), None).unwrap();
        let batch = next.finish().unwrap();
        assert_eq!(batch.num_rows(), 1);
        let first = last.finish().unwrap();
        assert_eq!(first.num_rows(), 5000);
        assert_eq!(first.schema(), batch.schema());
    }

    #[test]
    fn rule_columns_fill_rule_tables() {
        let mut b = BatchBuilder::new(declared_columns(LogType::S3ServerAccess), true);
        let tags = ["t".to_string()];
        let reports = BTreeMap::from([("MITRE ATT&CK".to_string(), vec!["TA0007".to_string()])]);
        let context = json!({"k": 1});
        let created = Timestamp::parse_iso8601(b"2026-03-14T10:00:05Z").unwrap();
        let rule = RuleColumns {
            rule_id: "R1",
            rule_severity: "HIGH",
            rule_tags: &tags,
            rule_reports: Some(&reports),
            alert_id: Some("abc"),
            alert_creation_time: Some(created),
            alert_context: Some(&context),
            dedup: "d",
            ..RuleColumns::default()
        };
        b.push(
            &object(json!({"bucket": "b", "p_event_time": "2026-03-14 10:00:01Z"})),
            Some(&rule),
        );
        let batch = b.finish().unwrap();
        let id = batch
            .column_by_name("p_rule_id")
            .unwrap()
            .as_string::<i32>();
        assert_eq!(id.value(0), "R1");
        let ctx = batch
            .column_by_name("p_alert_context")
            .unwrap()
            .as_string::<i32>();
        assert_eq!(ctx.value(0), r#"{"k":1}"#);
        let text = |name: &str| {
            let column = batch.column_by_name(name).unwrap();
            deltalake::arrow::util::display::array_value_to_string(column, 0).unwrap()
        };
        assert_eq!(text("p_rule_tags"), "[t]");
        assert_eq!(text("p_rule_reports"), r#"{"MITRE ATT&CK":["TA0007"]}"#);
        assert_eq!(text("p_alert_creation_time"), "2026-03-14T10:00:05Z");
        assert_eq!(text("p_dedup"), "d");
        assert!(batch.column_by_name("p_alert_severity").unwrap().is_null(0));
        assert!(batch.column_by_name("p_rule_error").unwrap().is_null(0));
    }
}
