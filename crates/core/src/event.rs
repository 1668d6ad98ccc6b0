//! The standard fields every normalized event carries, and where an event came from.

use crate::indicators::Indicators;
use crate::json;
use crate::log_type::LogType;
use crate::row_id::ROW_ID_LEN;
use crate::time::Timestamp;

/// Where records came from: `p_source_id`, `p_source_label`, `p_source_object`.
/// Each is omitted from events when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceInfo {
    id: Option<String>,
    label: Option<String>,
    object: Option<String>,
    /// The three fields pre-rendered as JSON, written as is into every event.
    json: Vec<u8>,
}

impl SourceInfo {
    pub fn new(id: Option<String>, label: Option<String>, object: Option<String>) -> Self {
        let mut json = Vec::new();
        for (key, value) in [
            ("p_source_id", &id),
            ("p_source_label", &label),
            ("p_source_object", &object),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                json.push(b',');
                json::write_key(&mut json, key);
                json::write_str(&mut json, v.as_bytes());
            }
        }
        SourceInfo {
            id,
            label,
            object,
            json,
        }
    }

    /// The same source with another object (file name or S3 key).
    pub fn with_object(&self, object: Option<String>) -> Self {
        SourceInfo::new(self.id.clone(), self.label.clone(), object)
    }

    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    pub fn object(&self) -> Option<&str> {
        self.object.as_deref()
    }
}

/// The `p_` fields of one event, apart from its indicators.
#[derive(Debug, Clone, Copy)]
pub struct StandardFields<'a> {
    pub log_type: LogType,
    pub row_id: [u8; ROW_ID_LEN],
    /// The log's own event time; the parse time when the record has none.
    pub event_time: Timestamp,
    pub parse_time: Timestamp,
    pub source: &'a SourceInfo,
}

impl StandardFields<'_> {
    /// Appends `,"p_log_type":…` through the indicator lists. The caller has written the
    /// record's own fields and closes the object afterwards.
    pub fn write_json(&self, out: &mut Vec<u8>, indicators: &mut Indicators) {
        out.push(b',');
        json::write_key(out, "p_log_type");
        out.push(b'"');
        out.extend_from_slice(self.log_type.name().as_bytes());
        out.extend_from_slice(b"\",");
        json::write_key(out, "p_row_id");
        out.push(b'"');
        out.extend_from_slice(&self.row_id);
        out.extend_from_slice(b"\",");
        json::write_key(out, "p_event_time");
        out.push(b'"');
        out.extend_from_slice(&self.event_time.panther_bytes());
        out.extend_from_slice(b"\",");
        json::write_key(out, "p_parse_time");
        out.push(b'"');
        out.extend_from_slice(&self.parse_time.panther_bytes());
        out.push(b'"');
        out.extend_from_slice(&self.source.json);
        indicators.write_json_fields(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RowIdGenerator;

    #[test]
    fn writes_fields_in_panther_order_and_omits_unknown_sources() {
        let source = SourceInfo::new(None, Some("prod \"logs\"".into()), Some("a/b.log".into()));
        let fields = StandardFields {
            log_type: LogType::S3ServerAccess,
            row_id: RowIdGenerator::new().next_id(),
            event_time: Timestamp::parse_iso8601(b"2019-02-06T00:00:38Z").unwrap(),
            parse_time: Timestamp(0),
            source: &source,
        };
        let mut ind = Indicators::new();
        ind.add_ip(b"192.0.2.3");
        let mut out = b"{\"a\":1".to_vec();
        fields.write_json(&mut out, &mut ind);
        out.push(b'}');
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["p_log_type"], "AWS.S3ServerAccess");
        assert_eq!(v["p_event_time"], "2019-02-06 00:00:38.000000000");
        assert_eq!(v["p_parse_time"], "1970-01-01 00:00:00.000000000");
        assert_eq!(v["p_source_label"], "prod \"logs\"");
        assert_eq!(v["p_source_object"], "a/b.log");
        assert!(v.get("p_source_id").is_none());
        assert_eq!(v["p_any_ip_addresses"][0], "192.0.2.3");
        assert!(out.starts_with(br#"{"a":1,"p_log_type":"AWS.S3ServerAccess","p_row_id":""#));
    }
}
