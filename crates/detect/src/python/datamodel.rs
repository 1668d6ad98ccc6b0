//! Data models: `event.udm("name")` mapped per log type to a JSON path or a Python method.

use std::collections::HashMap;

use pyo3::prelude::*;
use serde_json::{Map, Value};

use super::event::lookup;

/// Where a unified field comes from.
pub enum UdmMapping {
    Path(JsonPath),
    /// A function of the data model's module, called with the event.
    Method(Py<PyAny>),
}

/// The mappings of one data model.
#[derive(Default)]
pub struct DataModel {
    mappings: HashMap<String, UdmMapping>,
}

impl DataModel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: impl Into<String>, mapping: UdmMapping) {
        self.mappings.insert(name.into(), mapping);
    }

    pub fn mapping(&self, name: &str) -> Option<&UdmMapping> {
        self.mappings.get(name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
    Wildcard,
}

/// The JSONPath subset data models use: `$.a.b`, `a.b`, `$.a[0].b`, `$.a[*].b`, `$['a-b']`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    segments: Vec<Segment>,
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let bad = |why: &str| Err(format!("JSON path '{text}': {why}"));
        let mut rest = text.trim();
        rest = rest.strip_prefix('$').unwrap_or(rest);
        let mut segments = Vec::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                rest = r;
                continue;
            }
            if let Some(r) = rest.strip_prefix('[') {
                let Some(end) = r.find(']') else {
                    return bad("unclosed [");
                };
                let inner = r[..end].trim();
                rest = &r[end + 1..];
                let seg = if inner == "*" {
                    Segment::Wildcard
                } else if let Ok(i) = inner.parse::<usize>() {
                    Segment::Index(i)
                } else if let Some(k) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    Segment::Key(k.to_string())
                } else {
                    return bad("expected [n], [*] or ['key']");
                };
                segments.push(seg);
                continue;
            }
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = &rest[..end];
            if key == "*" {
                segments.push(Segment::Wildcard);
            } else {
                segments.push(Segment::Key(key.to_string()));
            }
            rest = &rest[end..];
        }
        if segments.is_empty() {
            return bad("no fields");
        }
        Ok(JsonPath { segments })
    }

    /// Every value the path reaches in `root`.
    pub fn find<'a>(&self, root: &'a Map<String, Value>) -> Vec<&'a Value> {
        let mut current: Vec<&'a Value> = Vec::new();
        let mut first = true;
        for seg in &self.segments {
            let mut next = Vec::new();
            if first {
                match seg {
                    Segment::Key(k) => next.extend(lookup(root, k)),
                    Segment::Wildcard => next.extend(root.values()),
                    Segment::Index(_) => {}
                }
                first = false;
            } else {
                for v in current {
                    match (seg, v) {
                        (Segment::Key(k), Value::Object(m)) => next.extend(lookup(m, k)),
                        (Segment::Index(i), Value::Array(a)) => next.extend(a.get(*i)),
                        (Segment::Wildcard, Value::Array(a)) => next.extend(a.iter()),
                        (Segment::Wildcard, Value::Object(m)) => next.extend(m.values()),
                        _ => {}
                    }
                }
            }
            current = next;
        }
        current.retain(|v| !v.is_null());
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_nested_values_lists_and_wildcards() {
        let v = json!({"a": {"b": [{"c": 1}, {"c": 2}], "d-e": "x"}, "Top": "t"});
        let m = v.as_object().unwrap();
        let find = |p: &str| {
            JsonPath::parse(p)
                .unwrap()
                .find(m)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(find("$.a.b[1].c"), vec![json!(2)]);
        assert_eq!(find("a.b[*].c"), vec![json!(1), json!(2)]);
        assert_eq!(find("$.a['d-e']"), vec![json!("x")]);
        assert_eq!(find("$.top"), vec![json!("t")]);
        assert!(find("$.a.missing").is_empty());
        assert!(JsonPath::parse("$.a[").is_err());
        assert!(JsonPath::parse("$").is_err());
    }
}
