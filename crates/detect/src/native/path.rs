//! Key specifiers (`KeyPath`, `Key`, `DeepKey`) parsed once into segments, and their lookup in
//! an event with Panther's case-insensitive key fallback.

use std::cell::Cell;
use std::cmp::Ordering;
use std::fmt;
use std::sync::Mutex;

use serde_json::{Map, Value};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// A mapping key, matched exactly first and then case-insensitively.
    Key(Box<str>),
    /// One element of a list.
    Index(usize),
    /// Every element of a list (`[*]`).
    Wildcard,
}

/// A compiled key specifier: where in an event a condition looks.
///
/// A path resolves to zero or more values: none when a step is missing or has the wrong shape
/// (a key on a list, an index on a mapping), several when it goes through `[*]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyPath {
    segments: Box<[Segment]>,
    /// The specifier as written, for messages.
    text: Box<str>,
    /// Where [`Lookups`] keeps the first key's value, when the path starts with a key.
    slot: Option<usize>,
}

/// Top-level keys met by any compiled path, in order of first use: a key's index is its slot in
/// [`Lookups`]. Only grows while content compiles.
static ROOT_KEYS: Mutex<Vec<Box<str>>> = Mutex::new(Vec::new());

/// Top-level keys beyond this many are looked up every time.
const SLOTS: usize = 64;

fn slot_of(segments: &[Segment]) -> Option<usize> {
    let Some(Segment::Key(key)) = segments.first() else {
        return None;
    };
    let mut keys = ROOT_KEYS.lock().unwrap_or_else(|e| e.into_inner());
    let slot = match keys.iter().position(|k| k == key) {
        Some(slot) => slot,
        None => {
            keys.push(key.clone());
            keys.len() - 1
        }
    };
    (slot < SLOTS).then_some(slot)
}

/// One event with the top-level lookups made on it so far. Rules evaluated on the same event
/// share it, so a key that several conditions test (`operation`, `requester`) is found once,
/// and a missing one costs one case-insensitive scan instead of one per condition.
pub struct Lookups<'v> {
    event: &'v Value,
    found: [Cell<Option<Option<&'v Value>>>; SLOTS],
}

impl<'v> Lookups<'v> {
    pub fn new(event: &'v Value) -> Self {
        Lookups {
            event,
            found: std::array::from_fn(|_| Cell::new(None)),
        }
    }
}

impl KeyPath {
    /// Parses the `KeyPath` form: `a`, `a.b.c`, `a[*].b`, `a.b[2]`, `a[0][1]`.
    ///
    /// Keys that contain `.` or `[` need the `Key` or `DeepKey` forms instead.
    pub(crate) fn parse(path: &str) -> Result<Self, String> {
        if path.is_empty() {
            return Err("empty key path".into());
        }
        let bytes = path.as_bytes();
        let mut segments = Vec::new();
        let mut i = 0;
        // True where a key name must follow (start of the path and after a dot).
        let mut expect_name = true;
        while i < bytes.len() {
            match bytes[i] {
                b'[' => {
                    let close = path[i..]
                        .find(']')
                        .map(|n| i + n)
                        .ok_or_else(|| format!("unclosed '[' in '{path}'"))?;
                    let inner = &path[i + 1..close];
                    segments.push(if inner == "*" {
                        Segment::Wildcard
                    } else if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
                        Segment::Index(
                            inner
                                .parse()
                                .map_err(|_| format!("index '{inner}' is too large in '{path}'"))?,
                        )
                    } else {
                        return Err(format!(
                            "'[{inner}]' in '{path}' is neither an index nor [*]"
                        ));
                    });
                    i = close + 1;
                    expect_name = false;
                }
                b'.' if !expect_name => {
                    i += 1;
                    expect_name = true;
                }
                b'.' => return Err(format!("empty key name in '{path}'")),
                b']' => return Err(format!("unmatched ']' in '{path}'")),
                _ if expect_name => {
                    let end = path[i..]
                        .find(['.', '[', ']'])
                        .map_or(path.len(), |n| i + n);
                    segments.push(Segment::Key(path[i..end].into()));
                    i = end;
                    expect_name = false;
                }
                _ => return Err(format!("expected '.' or '[' at byte {i} of '{path}'")),
            }
        }
        if expect_name {
            return Err(format!("'{path}' ends with '.'"));
        }
        Ok(Self {
            slot: slot_of(&segments),
            segments: segments.into(),
            text: path.into(),
        })
    }

    /// The `Key` form: one top-level key taken literally, dots and brackets included.
    pub(crate) fn key(name: &str) -> Self {
        let segments = [Segment::Key(name.into())];
        Self {
            slot: slot_of(&segments),
            segments: Box::new(segments),
            text: name.into(),
        }
    }

    /// The `DeepKey` form: a list of keys (strings, taken literally) and list indexes
    /// (non-negative integers).
    pub(crate) fn deep(parts: &[Value]) -> Result<Self, String> {
        if parts.is_empty() {
            return Err("empty DeepKey".into());
        }
        let segments = parts
            .iter()
            .map(|part| match part {
                Value::String(key) => Ok(Segment::Key(key.as_str().into())),
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|i| usize::try_from(i).ok())
                    .map(Segment::Index)
                    .ok_or_else(|| format!("DeepKey index {n} is not a non-negative integer")),
                other => Err(format!(
                    "DeepKey element {other} is neither a key nor an index"
                )),
            })
            .collect::<Result<Box<[_]>, _>>()?;
        let text = parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Self {
            slot: slot_of(&segments),
            segments,
            text: format!("[{text}]").into(),
        })
    }

    /// True when `f` holds for at least one value the path resolves to; stops at the first.
    pub(crate) fn any<'v, F: FnMut(&'v Value) -> bool>(&self, root: &'v Value, mut f: F) -> bool {
        walk(&self.segments, root, &mut f)
    }

    /// [`any`](Self::any) on the event of `lookups`, its first key looked up at most once per
    /// event.
    pub(crate) fn any_in<'v, F: FnMut(&'v Value) -> bool>(
        &self,
        lookups: &Lookups<'v>,
        mut f: F,
    ) -> bool {
        let (Some(slot), Some((Segment::Key(key), rest))) =
            (self.slot, self.segments.split_first())
        else {
            return self.any(lookups.event, f);
        };
        let cell = &lookups.found[slot];
        let child = match cell.get() {
            Some(found) => found,
            None => {
                let found = lookups
                    .event
                    .as_object()
                    .and_then(|map| get_field(map, key));
                cell.set(Some(found));
                found
            }
        };
        child.is_some_and(|child| walk(rest, child, &mut f))
    }

    /// Every value the path resolves to, in document order.
    pub(crate) fn collect<'v>(&self, root: &'v Value, out: &mut Vec<&'v Value>) {
        self.any(root, |v| {
            out.push(v);
            false
        });
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn walk<'v, F: FnMut(&'v Value) -> bool>(
    segments: &[Segment],
    value: &'v Value,
    f: &mut F,
) -> bool {
    let Some((segment, rest)) = segments.split_first() else {
        return f(value);
    };
    match (segment, value) {
        (Segment::Key(key), Value::Object(map)) => {
            get_field(map, key).is_some_and(|child| walk(rest, child, f))
        }
        (Segment::Index(i), Value::Array(items)) => {
            items.get(*i).is_some_and(|child| walk(rest, child, f))
        }
        (Segment::Wildcard, Value::Array(items)) => items.iter().any(|child| walk(rest, child, f)),
        _ => false,
    }
}

/// Looks a key up the way Panther's event object does: the exact key first, then the first key
/// (in the map's order) equal to it ignoring case.
pub(crate) fn get_field<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    if let Some(value) = map.get(key) {
        return Some(value);
    }
    // A miss scans every key, so the usual all-ASCII case is settled by lengths and bytes.
    if !key.is_ascii() {
        return map
            .iter()
            .find(|(candidate, _)| eq_ignore_case(candidate, key))
            .map(|(_, v)| v);
    }
    map.iter()
        .find(|(candidate, _)| match candidate.len().cmp(&key.len()) {
            Ordering::Equal => {
                candidate.eq_ignore_ascii_case(key)
                    || (!candidate.is_ascii() && eq_ignore_case(candidate, key))
            }
            // Lowercasing turns no character into two ASCII ones, so a candidate with fewer
            // bytes than an ASCII key cannot equal it.
            Ordering::Less => false,
            // Only non-ASCII characters (the Kelvin sign, 3 bytes) shrink to ASCII.
            Ordering::Greater => !candidate.is_ascii() && eq_ignore_case(candidate, key),
        })
        .map(|(_, v)| v)
}

/// Case-insensitive equality; byte-wise for ASCII, full Unicode lowercasing otherwise.
pub(crate) fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn resolve<'v>(path: &KeyPath, event: &'v Value) -> Vec<&'v Value> {
        let mut out = Vec::new();
        path.collect(event, &mut out);
        out
    }

    #[test]
    fn parses_the_documented_forms() {
        let event = json!({
            "a": {"b": {"c": 1}},
            "list": [{"b": "x"}, {"b": "y"}, {"c": "z"}],
            "m": {"b": [10, 20, 30]},
            "grid": [[1, 2], [3, 4]],
        });
        let p = |s: &str| KeyPath::parse(s).unwrap();
        assert_eq!(resolve(&p("a"), &event), [&event["a"]]);
        assert_eq!(resolve(&p("a.b.c"), &event), [&json!(1)]);
        assert_eq!(resolve(&p("list[*].b"), &event), [&json!("x"), &json!("y")]);
        assert_eq!(resolve(&p("m.b[2]"), &event), [&json!(30)]);
        assert_eq!(resolve(&p("grid[1][0]"), &event), [&json!(3)]);
        assert_eq!(resolve(&p("list[*]"), &event).len(), 3);
        assert!(resolve(&p("m.b[3]"), &event).is_empty());
        assert!(resolve(&p("a.b.c.d"), &event).is_empty());
        assert!(resolve(&p("a[0]"), &event).is_empty());
        assert!(resolve(&p("list.b"), &event).is_empty());
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in [
            "", ".a", "a.", "a..b", "a[", "a[x]", "a[-1]", "a]", "a[1]b", "a[]",
        ] {
            assert!(KeyPath::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn key_and_deep_key_are_literal() {
        let event = json!({"a.b": 1, "a": {"b": [5, {"c.d": 6}]}});
        assert_eq!(resolve(&KeyPath::key("a.b"), &event), [&json!(1)]);
        let deep = KeyPath::deep(&[json!("a"), json!("b"), json!(1), json!("c.d")]).unwrap();
        assert_eq!(resolve(&deep, &event), [&json!(6)]);
        assert!(KeyPath::deep(&[]).is_err());
        assert!(KeyPath::deep(&[json!("a"), json!(-1)]).is_err());
        assert!(KeyPath::deep(&[json!(true)]).is_err());
        assert_eq!(deep.to_string(), "[a, b, 1, c.d]");
    }

    #[test]
    fn exact_key_wins_then_case_insensitive_fallback() {
        let event = json!({"tlsVersion": "TLSv1.2", "Name": "upper", "name": "lower"});
        let p = |s: &str| KeyPath::parse(s).unwrap();
        assert_eq!(resolve(&p("tlsversion"), &event), [&json!("TLSv1.2")]);
        assert_eq!(resolve(&p("TLSVERSION"), &event), [&json!("TLSv1.2")]);
        assert_eq!(resolve(&p("name"), &event), [&json!("lower")]);
        assert_eq!(resolve(&p("Name"), &event), [&json!("upper")]);
        let unicode = json!({"ÉTAT": 1, "\u{212A}ind": 2});
        assert_eq!(resolve(&p("état"), &unicode), [&json!(1)]);
        // The Kelvin sign lowercases to an ASCII 'k', as in Python's str.lower().
        assert_eq!(resolve(&p("kind"), &unicode), [&json!(2)]);
    }
}
