//! One record in, one JSON line out: classification, parsing and the standard fields.
//!
//! Nothing is dropped: a unit that no parser accepts (or that the forced log type rejects) is
//! written as a `Bucketwatch.ClassificationFailure` record with the reason, the line number and
//! the raw text (plus an exact base64 copy when the text is not UTF-8).

use base64::Engine;
use bucketwatch_core::json::{write_key, write_str, write_u64};
use bucketwatch_core::{
    Indicators, LogType, RowIdGenerator, SourceInfo, StandardFields, Timestamp,
};
use jiter::{Jiter, Peek};

use crate::cloudtrail::{JsonRecordError, JsonScanner};
use crate::framing::{Unit, UnitKind};
use crate::s3_access;

/// How often the parse time is re-read from the clock, in records.
const CLOCK_EVERY: u32 = 1024;

/// Counts of records written, by log type (failures included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    by_type: [u64; LogType::ALL.len()],
}

impl Counts {
    pub fn add(&mut self, t: LogType) {
        self.by_type[t as usize] += 1;
    }

    pub fn get(&self, t: LogType) -> u64 {
        self.by_type[t as usize]
    }

    pub fn total(&self) -> u64 {
        self.by_type.iter().sum()
    }

    pub fn failures(&self) -> u64 {
        self.get(LogType::ClassificationFailure)
    }

    /// The counts added since `earlier` was taken from the same counter.
    pub fn since(&self, earlier: &Counts) -> Counts {
        let mut by_type = self.by_type;
        for (a, b) in by_type.iter_mut().zip(earlier.by_type) {
            *a -= b;
        }
        Counts { by_type }
    }

    /// Adds every count of `other`.
    pub fn add_all(&mut self, other: &Counts) {
        for (a, b) in self.by_type.iter_mut().zip(other.by_type) {
            *a += b;
        }
    }

    /// Non-zero counts, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (LogType, u64)> + '_ {
        LogType::ALL
            .into_iter()
            .map(|t| (t, self.get(t)))
            .filter(|(_, n)| *n > 0)
    }
}

/// Turns framed units into normalized JSON lines. Reuses its buffers across records.
pub struct Normalizer {
    forced: Option<LogType>,
    row_ids: RowIdGenerator,
    indicators: Indicators,
    json: JsonScanner,
    scratch: Vec<u8>,
    parse_time: Timestamp,
    until_clock: u32,
    counts: Counts,
}

impl Normalizer {
    /// `forced` parses every record as that log type instead of classifying it.
    pub fn new(forced: Option<LogType>) -> Self {
        Normalizer {
            forced,
            row_ids: RowIdGenerator::new(),
            indicators: Indicators::new(),
            json: JsonScanner::new(),
            scratch: Vec::new(),
            parse_time: Timestamp::now(),
            until_clock: CLOCK_EVERY,
            counts: Counts::default(),
        }
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Appends the normalized JSON line (with its `\n`) for `unit` to `out` and returns its
    /// log type, `ClassificationFailure` when no parser accepted it.
    pub fn normalize(
        &mut self,
        unit: &Unit<'_>,
        source: &SourceInfo,
        out: &mut Vec<u8>,
    ) -> LogType {
        self.until_clock -= 1;
        if self.until_clock == 0 {
            self.parse_time = Timestamp::now();
            self.until_clock = CLOCK_EVERY;
        }
        self.indicators.clear();
        let start = out.len();
        let result = if unit.truncated {
            Err(format!(
                "record longer than the {} byte limit; only its start is kept",
                unit.bytes.len()
            ))
        } else {
            self.try_parse(unit, source, out)
        };
        let log_type = match result {
            Ok(t) => t,
            Err(reason) => {
                out.truncate(start);
                self.write_failure(unit, &reason, source, out);
                LogType::ClassificationFailure
            }
        };
        out.push(b'\n');
        self.counts.add(log_type);
        log_type
    }

    fn try_parse(
        &mut self,
        unit: &Unit<'_>,
        source: &SourceInfo,
        out: &mut Vec<u8>,
    ) -> Result<LogType, String> {
        let bytes = unit.bytes;
        let looks_json = matches!(unit.kind, UnitKind::Json | UnitKind::Element { .. });
        match self.forced {
            Some(LogType::S3ServerAccess) if !looks_json => self.access_log(bytes, source, out),
            Some(LogType::S3ServerAccess) => {
                Err("expected an AWS.S3ServerAccess line but found JSON".into())
            }
            _ if looks_json => self.json_record(bytes, unit.has_outer_whitespace, source, out),
            None => match self.access_log(bytes, source, out) {
                Ok(t) => Ok(t),
                Err(sal_reason) => match cloudwatch_export_json(bytes) {
                    Some(json) => self.json_record(json, true, source, out),
                    None => Err(sal_reason),
                },
            },
            Some(t) => match cloudwatch_export_json(bytes) {
                Some(json) => self.json_record(json, true, source, out),
                None => Err(format!(
                    "expected a {t} JSON record but found a line of text"
                )),
            },
        }
    }

    fn access_log(
        &mut self,
        line: &[u8],
        source: &SourceInfo,
        out: &mut Vec<u8>,
    ) -> Result<LogType, String> {
        let rec = s3_access::parse_line(line).map_err(|e| e.to_string())?;
        out.push(b'{');
        rec.write_json_fields(out);
        rec.collect_indicators(&mut self.indicators);
        self.standard_fields(LogType::S3ServerAccess, rec.time, source, out);
        Ok(LogType::S3ServerAccess)
    }

    /// `maybe_whitespace` is false when framing saw no whitespace outside strings, so the bytes
    /// can be copied as they are.
    fn json_record(
        &mut self,
        bytes: &[u8],
        maybe_whitespace: bool,
        source: &SourceInfo,
        out: &mut Vec<u8>,
    ) -> Result<LogType, String> {
        let rec = self
            .json
            .scan(bytes, self.forced, &mut self.indicators)
            .map_err(|e| match e {
                JsonRecordError::Syntax(s) => format!("invalid JSON: {s}"),
                e => e.to_string(),
            })?;
        let (Some(log_type), Some(event_time)) = (rec.log_type, rec.event_time) else {
            return Err("record was not classified".into());
        };
        let body = &bytes[rec.body.clone()];
        if rec.has_p_fields {
            without_p_fields(body, out).map_err(|e| format!("invalid JSON: {e}"))?;
        } else if maybe_whitespace {
            minify(body, &mut self.scratch);
            out.extend_from_slice(&self.scratch);
        } else {
            out.extend_from_slice(body);
        }
        // Reopen the object to append the standard fields.
        let close = out
            .iter()
            .rposition(|&b| b == b'}')
            .ok_or("record has no closing brace")?;
        out.truncate(close);
        let empty = out.last() == Some(&b'{');
        let mark = out.len();
        self.standard_fields(log_type, event_time, source, out);
        if empty {
            // `{` followed directly by the standard fields: drop their leading comma.
            out.remove(mark);
        }
        Ok(log_type)
    }

    fn standard_fields(
        &mut self,
        log_type: LogType,
        event_time: Timestamp,
        source: &SourceInfo,
        out: &mut Vec<u8>,
    ) {
        let fields = StandardFields {
            log_type,
            row_id: self.row_ids.next_id(),
            event_time,
            parse_time: self.parse_time,
            source,
        };
        fields.write_json(out, &mut self.indicators);
        out.push(b'}');
    }

    fn write_failure(
        &mut self,
        unit: &Unit<'_>,
        reason: &str,
        source: &SourceInfo,
        out: &mut Vec<u8>,
    ) {
        self.indicators.clear();
        out.push(b'{');
        write_key(out, "reason");
        write_str(out, reason.as_bytes());
        out.push(b',');
        write_key(out, "line");
        write_u64(out, unit.line);
        if let UnitKind::Element { index } = unit.kind {
            out.push(b',');
            write_key(out, "record_index");
            write_u64(out, index);
        }
        if let Some(t) = self.forced {
            out.push(b',');
            write_key(out, "expected_log_type");
            write_str(out, t.name().as_bytes());
        }
        if unit.truncated {
            out.extend_from_slice(b",\"truncated\":true");
        }
        out.push(b',');
        write_key(out, "raw");
        write_str(out, unit.bytes);
        if std::str::from_utf8(unit.bytes).is_err() {
            out.push(b',');
            write_key(out, "raw_base64");
            out.push(b'"');
            // Failures are rare: an allocation here costs nothing that matters.
            let encoded = base64::engine::general_purpose::STANDARD.encode(unit.bytes);
            out.extend_from_slice(encoded.as_bytes());
            out.push(b'"');
        }
        let fields = StandardFields {
            log_type: LogType::ClassificationFailure,
            row_id: self.row_ids.next_id(),
            event_time: self.parse_time,
            parse_time: self.parse_time,
            source,
        };
        fields.write_json(out, &mut self.indicators);
        out.push(b'}');
    }
}

/// A CloudWatch Logs export line: an ISO-8601 timestamp, a space, then the JSON event.
fn cloudwatch_export_json(line: &[u8]) -> Option<&[u8]> {
    let space = memchr::memchr(b' ', line)?;
    let (ts, rest) = (&line[..space], &line[space + 1..]);
    (rest.first() == Some(&b'{') && Timestamp::parse_iso8601(ts).is_some()).then_some(rest)
}

/// Copies JSON text without the whitespace outside strings, a run at a time.
pub fn minify(json: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(json.len());
    let mut i = 0;
    let mut run_start = 0;
    while i < json.len() {
        match json[i] {
            b'"' => {
                // Jump over the string: to its closing quote, stepping over escapes.
                i += 1;
                while let Some(k) = memchr::memchr2(b'"', b'\\', &json[i..]) {
                    i += k;
                    if json[i] == b'\\' {
                        i += 2;
                    } else {
                        break;
                    }
                }
                i += 1;
            }
            b' ' | b'\n' | b'\r' | b'\t' => {
                out.extend_from_slice(&json[run_start..i]);
                i += 1;
                run_start = i;
            }
            _ => i += 1,
        }
    }
    out.extend_from_slice(&json[run_start.min(json.len())..]);
}

/// Writes a JSON object without its top-level `p_` keys (a record that was normalized before),
/// so standard fields are never duplicated. Values are copied minified.
fn without_p_fields(json: &[u8], out: &mut Vec<u8>) -> Result<(), jiter::JiterError> {
    let mut j = Jiter::new(json);
    let mut value = Vec::new();
    out.push(b'{');
    let mut first = true;
    let mut key = j.next_object()?.map(str::to_owned);
    while let Some(k) = key {
        let peek: Peek = j.peek()?;
        let start = j.current_index();
        j.known_skip(peek)?;
        if !k.starts_with("p_") {
            if !first {
                out.push(b',');
            }
            first = false;
            write_str(out, k.as_bytes());
            out.push(b':');
            minify(&json[start..j.current_index()], &mut value);
            out.extend_from_slice(&value);
        }
        key = j.next_key()?.map(str::to_owned);
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests;
