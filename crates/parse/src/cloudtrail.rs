//! `AWS.CloudTrail`, `AWS.CloudTrailDigest` and `AWS.CloudTrailInsight`: JSON records.
//!
//! Records are kept whole — every field, known or not, reaches the output as it was written —
//! so nothing a rule may read is dropped by a schema. One pass over each record with an
//! iterating JSON parser (jiter) finds what the normalizer needs: the event time, the fields that
//! tell the log type, and the indicators, walked through every nested object
//! (`requestParameters`, `responseElements`, `resources`, ...).
//!
//! EventBridge deliveries of CloudTrail events (`detail-type` "... via CloudTrail") are unwrapped
//! to the CloudTrail record in `detail`.

use std::ops::Range;

use bucketwatch_core::indicators::{IndicatorKind, Indicators};
use bucketwatch_core::{LogType, Timestamp};
use jiter::{Jiter, JiterError, Peek};

/// Nested objects deeper than this are skipped for indicators (still kept in the output).
const MAX_WALK_DEPTH: u32 = 48;

/// Why a JSON record is not one of the CloudTrail types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonRecordError {
    #[error("invalid JSON: {0}")]
    Syntax(String),
    #[error("a JSON record must be an object")]
    NotAnObject,
    #[error("{0}")]
    NotRecognized(String),
    #[error("{field}: {problem}")]
    Field {
        field: &'static str,
        problem: &'static str,
    },
}

impl From<JiterError> for JsonRecordError {
    fn from(e: JiterError) -> Self {
        JsonRecordError::Syntax(e.to_string())
    }
}

/// What one pass over a JSON record found.
#[derive(Debug, Clone, Default)]
pub struct JsonRecord {
    /// The log type, once classified.
    pub log_type: Option<LogType>,
    /// The record's event time (`eventTime`, or `digestEndTime` for digests).
    pub event_time: Option<Timestamp>,
    /// The byte range of the record to output, within the input (the EventBridge `detail`, or
    /// the whole input).
    pub body: Range<usize>,
    /// Whether the record has top-level `p_` keys of its own, which must not be duplicated.
    pub has_p_fields: bool,
}

#[derive(Debug, Default)]
struct TopLevel {
    event_version: bool,
    event_source: bool,
    event_name: bool,
    event_time: Option<Result<Timestamp, ()>>,
    insight_type: bool,
    insight_details: bool,
    digest_start: bool,
    digest_end: Option<Result<Timestamp, ()>>,
    aws_account_id: bool,
    via_cloudtrail: bool,
    detail: Option<Range<usize>>,
    has_p_fields: bool,
}

/// Reusable state for scanning JSON records (jiter's string tape).
#[derive(Debug, Default)]
pub struct JsonScanner {
    tape: Vec<u8>,
}

impl JsonScanner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Scans `bytes` (one JSON value), collecting its indicators into `ind`, and classifies it.
    /// `expected` restricts the accepted log type. On error `ind` may hold partial values.
    pub fn scan(
        &mut self,
        bytes: &[u8],
        expected: Option<LogType>,
        ind: &mut Indicators,
    ) -> Result<JsonRecord, JsonRecordError> {
        let mut top = self.walk(bytes, ind)?;
        if top.via_cloudtrail
            && let Some(detail) = top.detail.clone()
        {
            ind.clear();
            let inner = &bytes[detail.clone()];
            top = self.walk(inner, ind)?;
            let mut rec = classify(&top, expected)?;
            rec.body = detail;
            return Ok(rec);
        }
        let mut rec = classify(&top, expected)?;
        rec.body = 0..bytes.len();
        Ok(rec)
    }

    fn walk(&mut self, bytes: &[u8], ind: &mut Indicators) -> Result<TopLevel, JsonRecordError> {
        let mut j = Jiter::with_tape(bytes, std::mem::take(&mut self.tape));
        let result = walk_top(&mut j, ind);
        let result = result.and_then(|top| {
            j.finish()?;
            Ok(top)
        });
        self.tape = j.into_tape();
        result
    }
}

fn classify(top: &TopLevel, expected: Option<LogType>) -> Result<JsonRecord, JsonRecordError> {
    let is_digest = top.digest_start && top.digest_end.is_some();
    let is_event = top.event_version && top.event_source && top.event_name;
    let is_insight = top.insight_type || (top.event_version && top.insight_details);
    let found = if is_digest {
        Some(LogType::CloudTrailDigest)
    } else if is_insight {
        Some(LogType::CloudTrailInsight)
    } else if is_event {
        Some(LogType::CloudTrail)
    } else {
        None
    };
    let log_type = match (found, expected) {
        (Some(f), Some(e)) if f != e => {
            return Err(JsonRecordError::NotRecognized(format!(
                "expected {e} but the record is {f}"
            )));
        }
        (Some(f), _) => f,
        (None, Some(e)) => {
            return Err(JsonRecordError::NotRecognized(format!(
                "not a {e} record: {}",
                missing_for(e, top)
            )));
        }
        (None, None) => {
            return Err(JsonRecordError::NotRecognized(
                "JSON object is not a CloudTrail record, digest or insight \
                 (no eventVersion/eventSource/eventName, digestStartTime/digestEndTime)"
                    .into(),
            ));
        }
    };
    let time = match log_type {
        LogType::CloudTrailDigest => (top.digest_end, "digestEndTime"),
        _ => (top.event_time, "eventTime"),
    };
    let event_time = match time {
        (Some(Ok(t)), _) => t,
        (Some(Err(())), field) => {
            return Err(JsonRecordError::Field {
                field,
                problem: "not an ISO-8601 time",
            });
        }
        (None, field) => {
            return Err(JsonRecordError::Field {
                field,
                problem: "missing",
            });
        }
    };
    if log_type == LogType::CloudTrailDigest && !top.aws_account_id {
        return Err(JsonRecordError::Field {
            field: "awsAccountId",
            problem: "missing",
        });
    }
    Ok(JsonRecord {
        log_type: Some(log_type),
        event_time: Some(event_time),
        body: 0..0,
        has_p_fields: top.has_p_fields,
    })
}

fn missing_for(log_type: LogType, top: &TopLevel) -> String {
    let wanted: &[(&str, bool)] = match log_type {
        LogType::CloudTrailDigest => &[
            ("digestStartTime", top.digest_start),
            ("digestEndTime", top.digest_end.is_some()),
        ],
        LogType::CloudTrailInsight => &[("eventType AwsCloudTrailInsight", top.insight_type)],
        _ => &[
            ("eventVersion", top.event_version),
            ("eventSource", top.event_source),
            ("eventName", top.event_name),
        ],
    };
    let missing: Vec<&str> = wanted.iter().filter(|w| !w.1).map(|w| w.0).collect();
    format!("missing {}", missing.join(", "))
}

fn parse_time(s: &str) -> Result<Timestamp, ()> {
    Timestamp::parse_iso8601(s.as_bytes()).ok_or(())
}

/// Roles of top-level keys that classification reads.
#[derive(Clone, Copy)]
enum TopKey {
    EventVersion,
    EventSource,
    EventName,
    EventTime,
    EventType,
    InsightDetails,
    DigestStart,
    DigestEnd,
    AwsAccountId,
    DetailType,
    Detail,
    Other,
}

fn top_key(key: &str) -> TopKey {
    match key {
        "eventVersion" => TopKey::EventVersion,
        "eventSource" => TopKey::EventSource,
        "eventName" => TopKey::EventName,
        "eventTime" => TopKey::EventTime,
        "eventType" => TopKey::EventType,
        "insightDetails" => TopKey::InsightDetails,
        "digestStartTime" => TopKey::DigestStart,
        "digestEndTime" => TopKey::DigestEnd,
        "awsAccountId" => TopKey::AwsAccountId,
        "detail-type" => TopKey::DetailType,
        "detail" => TopKey::Detail,
        _ => TopKey::Other,
    }
}

fn walk_top(j: &mut Jiter<'_>, ind: &mut Indicators) -> Result<TopLevel, JsonRecordError> {
    let mut top = TopLevel::default();
    if j.peek()? != Peek::Object {
        return Err(JsonRecordError::NotAnObject);
    }
    let mut key = j
        .known_object()?
        .map(|k| (top_key(k), key_kind(k), k.starts_with("p_")));
    while let Some((role, kind, is_p)) = key {
        top.has_p_fields |= is_p;
        let peek = j.peek()?;
        match role {
            TopKey::EventVersion => top.event_version = true,
            TopKey::EventSource => top.event_source = true,
            TopKey::EventName => top.event_name = true,
            TopKey::InsightDetails => top.insight_details = true,
            TopKey::DigestStart => top.digest_start = true,
            TopKey::AwsAccountId => top.aws_account_id = true,
            _ => {}
        }
        match (role, peek) {
            (TopKey::EventTime, Peek::String) => top.event_time = Some(parse_time(j.known_str()?)),
            (TopKey::DigestEnd, Peek::String) => top.digest_end = Some(parse_time(j.known_str()?)),
            (TopKey::EventTime | TopKey::DigestEnd, _) => {
                let bad = Some(Err(()));
                if matches!(role, TopKey::EventTime) {
                    top.event_time = bad;
                } else {
                    top.digest_end = bad;
                }
                j.known_skip(peek)?;
            }
            (TopKey::EventType, Peek::String) => {
                top.insight_type = j.known_str()? == "AwsCloudTrailInsight";
            }
            (TopKey::DetailType, Peek::String) => {
                top.via_cloudtrail = j.known_str()?.ends_with("via CloudTrail");
            }
            (TopKey::Detail, Peek::Object) => {
                let start = j.current_index();
                j.known_skip(peek)?;
                top.detail = Some(start..j.current_index());
            }
            (TopKey::AwsAccountId, Peek::String) => {
                let v = j.known_str()?;
                ind.add_account_id(v.as_bytes());
            }
            _ => walk_value(j, peek, kind, ind, 1)?,
        }
        key = j
            .next_key()?
            .map(|k| (top_key(k), key_kind(k), k.starts_with("p_")));
    }
    Ok(top)
}

/// What a string under a given key may be, for indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    IpOrDomain,
    Ip,
    Account,
    Instance,
    Domain,
    Sha256,
    Trace,
    Other,
}

fn key_kind(key: &str) -> KeyKind {
    match key {
        "sourceIPAddress" | "sourceIpAddress" => KeyKind::IpOrDomain,
        "publicIp" | "publicIpAddress" | "privateIpAddress" | "privateIp" | "ipAddressV4"
        | "ipv6Address" | "ipv6Addresses" | "ipAddress" | "clientIp" => KeyKind::Ip,
        "accountId" | "account" | "recipientAccountId" | "awsAccountId" => KeyKind::Account,
        "instanceId" | "instance-id" => KeyKind::Instance,
        "publicDnsName" | "privateDnsName" | "domain" => KeyKind::Domain,
        "hashValue" | "previousDigestHashValue" => KeyKind::Sha256,
        "sharedEventID" | "sharedEventId" => KeyKind::Trace,
        k if k.ends_with("AccountId") => KeyKind::Account,
        k if k.ends_with("InstanceId") => KeyKind::Instance,
        _ => KeyKind::Other,
    }
}

fn add_string(kind: KeyKind, v: &str, ind: &mut Indicators) {
    let b = v.as_bytes();
    match kind {
        KeyKind::IpOrDomain => {
            if !ind.add_ip(b) {
                ind.add_domain(b);
            }
        }
        KeyKind::Ip => {
            ind.add_ip(b);
        }
        KeyKind::Account => {
            ind.add_account_id(b);
        }
        KeyKind::Instance if b.starts_with(b"i-") => ind.add(IndicatorKind::AwsInstanceIds, b),
        KeyKind::Domain => {
            ind.add_domain(b);
        }
        KeyKind::Sha256 => {
            ind.add_sha256(b);
        }
        KeyKind::Trace => ind.add(IndicatorKind::TraceIds, b),
        KeyKind::Instance | KeyKind::Other => {}
    }
    if b.starts_with(b"arn:")
        && ind.add_arn(b)
        && let Some(i) = memchr::memmem::find(b, b":instance/i-")
    {
        ind.add(IndicatorKind::AwsInstanceIds, &b[i + 10..]);
    }
}

fn walk_value(
    j: &mut Jiter<'_>,
    peek: Peek,
    kind: KeyKind,
    ind: &mut Indicators,
    depth: u32,
) -> Result<(), JsonRecordError> {
    match peek {
        Peek::String => {
            let v = j.known_str()?;
            add_string(kind, v, ind);
        }
        Peek::Object if depth < MAX_WALK_DEPTH => {
            let mut key = j.known_object()?.map(key_kind);
            while let Some(k) = key {
                let p = j.peek()?;
                walk_value(j, p, k, ind, depth + 1)?;
                key = j.next_key()?.map(key_kind);
            }
        }
        Peek::Array if depth < MAX_WALK_DEPTH => {
            let mut next = j.known_array()?;
            while let Some(p) = next {
                walk_value(j, p, kind, ind, depth + 1)?;
                next = j.array_step()?;
            }
        }
        _ => j.known_skip(peek)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests;
