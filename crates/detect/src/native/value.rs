//! Operands pre-parsed from the YAML and their comparison with event values.
//!
//! Comparisons are type-aware: a string never equals a number (`"403"` ≠ `403`), integers and
//! floats compare by numeric value (`1` = `1.0`), and integers compare exactly up to 128 bits.

use std::cmp::Ordering;

use serde_json::{Number, Value};

/// A number from the YAML or an event, kept exact when it is an integer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    pub(crate) fn from_json(n: &Number) -> Self {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .map_or_else(|| Num::Float(n.as_f64().unwrap_or(f64::NAN)), Num::Int)
    }

    /// Numbers in events, plus strings that spell a number (`"1024"`), for ordering conditions.
    pub(crate) fn from_event(value: &Value) -> Option<Self> {
        match value {
            Value::Number(n) => Some(Self::from_json(n)),
            Value::String(s) => {
                let s = s.trim();
                s.parse::<i128>().map(Num::Int).ok().or_else(|| {
                    s.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .map(Num::Float)
                })
            }
            _ => None,
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            // Precision loss above 2^53 only affects int/float mixes, where it is inherent.
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    pub(crate) fn compare(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }
}

/// A scalar operand: `Value:` or one entry of `Values:`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Str(Box<str>),
    Num(Num),
    Bool(bool),
}

impl Scalar {
    /// Accepts strings, numbers and booleans; `None` for null, lists and mappings.
    pub(crate) fn from_yaml(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(Scalar::Str(s.as_str().into())),
            Value::Number(n) => Some(Scalar::Num(Num::from_json(n))),
            Value::Bool(b) => Some(Scalar::Bool(*b)),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }

    pub(crate) fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (Scalar::Str(a), Value::String(b)) => **a == **b,
            (Scalar::Num(a), Value::Number(b)) => {
                a.compare(Num::from_json(b)) == Some(Ordering::Equal)
            }
            (Scalar::Bool(a), Value::Bool(b)) => a == b,
            _ => false,
        }
    }
}

/// Equality between two event values, for conditions that compare two keys.
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            Num::from_json(x).compare(Num::from_json(y)) == Some(Ordering::Equal)
        }
        _ => a == b,
    }
}

/// A set of scalars for `IsIn` / `IsNotIn`; strings sorted for binary search.
#[derive(Debug, Clone)]
pub(crate) struct ScalarSet {
    strings: Box<[Box<str>]>,
    numbers: Box<[Num]>,
    bools: [bool; 2],
}

impl ScalarSet {
    pub(crate) fn new(scalars: Vec<Scalar>) -> Self {
        let mut strings = Vec::new();
        let mut numbers = Vec::new();
        let mut bools = [false; 2];
        for scalar in scalars {
            match scalar {
                Scalar::Str(s) => strings.push(s),
                Scalar::Num(n) => numbers.push(n),
                Scalar::Bool(b) => bools[usize::from(b)] = true,
            }
        }
        strings.sort_unstable();
        strings.dedup();
        Self {
            strings: strings.into(),
            numbers: numbers.into(),
            bools,
        }
    }

    pub(crate) fn contains(&self, value: &Value) -> bool {
        match value {
            Value::String(s) => self
                .strings
                .binary_search_by(|probe| (**probe).cmp(s.as_str()))
                .is_ok(),
            Value::Number(n) => {
                let n = Num::from_json(n);
                self.numbers
                    .iter()
                    .any(|m| m.compare(n) == Some(Ordering::Equal))
            }
            Value::Bool(b) => self.bools[usize::from(*b)],
            _ => false,
        }
    }
}

/// Whether a value is null or empty (`""`, `[]`, `{}`); used by the `…NullOrEmpty` conditions.
pub(crate) fn is_null_or_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Case-insensitive string predicates against a needle lowercased at compile time. ASCII input,
/// the usual case, is compared in place; other text is lowercased into a temporary.
pub(crate) mod caseless {
    pub(crate) fn equals(hay: &str, lower: &str) -> bool {
        if hay.is_ascii() {
            hay.eq_ignore_ascii_case(lower)
        } else {
            hay.to_lowercase() == lower
        }
    }

    pub(crate) fn starts_with(hay: &str, lower: &str) -> bool {
        if hay.is_ascii() {
            hay.len() >= lower.len()
                && hay.as_bytes()[..lower.len()].eq_ignore_ascii_case(lower.as_bytes())
        } else {
            hay.to_lowercase().starts_with(lower)
        }
    }

    pub(crate) fn ends_with(hay: &str, lower: &str) -> bool {
        if hay.is_ascii() {
            hay.len() >= lower.len()
                && hay.as_bytes()[hay.len() - lower.len()..].eq_ignore_ascii_case(lower.as_bytes())
        } else {
            hay.to_lowercase().ends_with(lower)
        }
    }

    pub(crate) fn contains(hay: &str, lower: &str) -> bool {
        if lower.is_empty() {
            true
        } else if hay.is_ascii() {
            hay.as_bytes()
                .windows(lower.len())
                .any(|w| w.eq_ignore_ascii_case(lower.as_bytes()))
        } else {
            hay.to_lowercase().contains(lower)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_compare_by_value_across_representations() {
        let int = Scalar::from_yaml(&json!(403)).unwrap();
        assert!(int.matches(&json!(403)));
        assert!(int.matches(&json!(403.0)));
        assert!(!int.matches(&json!("403")));
        let big = Scalar::from_yaml(&json!(u64::MAX)).unwrap();
        assert!(big.matches(&json!(u64::MAX)));
        assert!(!big.matches(&json!(u64::MAX - 1)));
        assert_eq!(
            Num::from_event(&json!(" 12.5 "))
                .unwrap()
                .compare(Num::Int(12)),
            Some(Ordering::Greater)
        );
        assert!(Num::from_event(&json!("10.0.0.1")).is_none());
        assert!(Num::from_event(&json!("NaN")).is_none());
        assert!(Num::from_event(&json!(true)).is_none());
    }

    #[test]
    fn scalar_set_membership() {
        let set = ScalarSet::new(
            [json!("b"), json!("a"), json!(400), json!(true), json!("a")]
                .iter()
                .filter_map(Scalar::from_yaml)
                .collect(),
        );
        assert!(set.contains(&json!("a")));
        assert!(set.contains(&json!("b")));
        assert!(!set.contains(&json!("c")));
        assert!(set.contains(&json!(400)));
        assert!(set.contains(&json!(400.0)));
        assert!(!set.contains(&json!("400")));
        assert!(set.contains(&json!(true)));
        assert!(!set.contains(&json!(false)));
        assert!(!set.contains(&json!(null)));
    }

    #[test]
    fn caseless_predicates() {
        assert!(caseless::equals("GetObject", "getobject"));
        assert!(caseless::starts_with("REST.GET.OBJECT", "rest."));
        assert!(!caseless::starts_with("RE", "rest."));
        assert!(caseless::ends_with("REST.GET.OBJECT", ".object"));
        assert!(caseless::contains("REST.GET.OBJECT", "get"));
        assert!(!caseless::contains("REST", "get"));
        assert!(caseless::contains("anything", ""));
        assert!(caseless::equals("ÉTÉ", "été"));
        assert!(caseless::starts_with("Évian", "év"));
        assert!(caseless::ends_with("CAFÉ", "fé"));
        assert!(caseless::contains("LE CAFÉ NOIR", "café"));
    }

    #[test]
    fn null_or_empty() {
        for v in [json!(null), json!(""), json!([]), json!({})] {
            assert!(is_null_or_empty(&v), "{v}");
        }
        for v in [
            json!(0),
            json!(false),
            json!(" "),
            json!([null]),
            json!({"a": 1}),
        ] {
            assert!(!is_null_or_empty(&v), "{v}");
        }
    }
}
