//! The event object rules receive: an immutable, case-insensitive mapping implemented in Rust.
//!
//! The event stays a `serde_json::Value` owned by Rust; a rule's `event["key"]` converts only
//! that value. Nested objects are handed out as further views of the same event (no copy) and
//! lists as `ImmutableList` (a tuple subclass), so nothing a rule is given can be mutated.
//!
//! The rules of a log type read the same few fields of an event again and again (an access-log
//! event: 36 reads of 11 fields by the built-in rules), so a view keeps each value it converted,
//! keyed by the key object the rule passed, and hands out the same immutable object next time.

use std::ptr::NonNull;
use std::sync::Arc;

use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use serde_json::{Map, Value};

use super::datamodel::{DataModel, UdmMapping};

/// The shared, immutable data behind every view of one event.
struct EventData {
    value: Arc<Value>,
    data_model: Option<Arc<DataModel>>,
}

/// `PantherEvent`: a read-only view of one JSON object inside an event.
#[pyclass(frozen, name = "PantherEvent", module = "bucketwatch", mapping)]
pub struct PyEvent {
    data: Arc<EventData>,
    /// The object this view shows, inside `data.value`.
    object: NonNull<Map<String, Value>>,
    /// Values converted so far, by the `str` key they were read with.
    converted: PyOnceLock<Py<PyDict>>,
    /// The object's keys with an ASCII capital (`tlsVersion`): the only ones a lowercase ASCII
    /// key not found exactly can still match case-insensitively. Listed on the first such miss.
    capitalized_keys: PyOnceLock<Vec<String>>,
}

// SAFETY: `object` points into `data.value`, which is never mutated after construction and is
// kept alive by the `Arc` held in the same struct; sharing it across threads is as safe as
// sharing `&Map`.
unsafe impl Send for PyEvent {}
unsafe impl Sync for PyEvent {}

impl PyEvent {
    /// Wraps a JSON object as an event; `None` when `value` is not an object.
    pub fn new(value: Value, data_model: Option<Arc<DataModel>>) -> Option<PyEvent> {
        PyEvent::shared(Arc::new(value), data_model)
    }

    /// Wraps an event the caller keeps too, without copying it.
    pub fn shared(value: Arc<Value>, data_model: Option<Arc<DataModel>>) -> Option<PyEvent> {
        let data = Arc::new(EventData { value, data_model });
        let object = NonNull::from(data.value.as_object()?);
        Some(PyEvent::view(data, object))
    }

    fn view(data: Arc<EventData>, object: NonNull<Map<String, Value>>) -> PyEvent {
        PyEvent {
            data,
            object,
            converted: PyOnceLock::new(),
            capitalized_keys: PyOnceLock::new(),
        }
    }

    fn map(&self) -> &Map<String, Value> {
        // SAFETY: see the `Send`/`Sync` impls: the map lives as long as `self.data`.
        unsafe { self.object.as_ref() }
    }

    fn child(&self, map: &Map<String, Value>) -> PyEvent {
        PyEvent::view(Arc::clone(&self.data), NonNull::from(map))
    }

    /// Converts a value of this event to Python: objects become views, lists tuples.
    fn to_py<'py>(&self, py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
        Ok(match value {
            Value::Null => py.None().into_bound(py),
            Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
            Value::Number(n) => number_to_py(py, n)?,
            Value::String(s) => s.into_pyobject(py)?.into_any(),
            Value::Array(items) => {
                let items = items
                    .iter()
                    .map(|v| self.to_py(py, v))
                    .collect::<PyResult<Vec<_>>>()?;
                super::runtime::immutable_list(py)?.call1((PyTuple::new(py, items)?,))?
            }
            Value::Object(map) => Bound::new(py, self.child(map))?.into_any(),
        })
    }

    fn lookup_key(&self, key: &Bound<'_, PyAny>) -> Option<&Value> {
        let text = key.extract::<&str>().ok()?;
        self.find(key.py(), text)
    }

    /// `lookup` in this view's object; a lowercase key scans only the capitalized keys.
    fn find(&self, py: Python<'_>, key: &str) -> Option<&Value> {
        let map = self.map();
        if let Some(v) = map.get(key) {
            return Some(v);
        }
        if !key.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
            return lookup_ignoring_case(map, key);
        }
        self.capitalized_keys
            .get_or_init(py, || {
                map.keys()
                    .filter(|k| k.bytes().any(|b| b.is_ascii_uppercase()))
                    .cloned()
                    .collect()
            })
            .iter()
            .find(|k| k.eq_ignore_ascii_case(key))
            .and_then(|k| map.get(k.as_str()))
    }

    /// The value under `key`, converted once per view (later reads get the same object); keys
    /// that are not exactly `str` are looked up without the cache.
    fn value_of<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Ok(text) = key.cast_exact::<PyString>() else {
            return self.lookup_key(key).map(|v| self.to_py(py, v)).transpose();
        };
        let converted = self
            .converted
            .get_or_init(py, || PyDict::new(py).unbind())
            .bind(py);
        if let Some(v) = converted.get_item(text)? {
            return Ok(Some(v));
        }
        let Some(value) = self.find(py, text.to_str()?) else {
            return Ok(None);
        };
        let v = self.to_py(py, value)?;
        converted.set_item(text, &v)?;
        Ok(Some(v))
    }

    fn udm_value<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        let root = self.data.value.as_object();
        let mapping = self.data.data_model.as_ref().and_then(|dm| dm.mapping(key));
        match mapping {
            Some(UdmMapping::Path(path)) => {
                let found = root.map(|r| path.find(r)).unwrap_or_default();
                match found.as_slice() {
                    [] => Ok(None),
                    [one] => Ok(Some(self.to_py(py, one)?)),
                    _ => Err(PyValueError::new_err(format!(
                        "data model path for '{key}' matched {} values; it must match one",
                        found.len()
                    ))),
                }
            }
            Some(UdmMapping::Method(func)) => {
                let root_view = Bound::new(py, self.root_view())?;
                let v = func.bind(py).call1((root_view,))?;
                Ok((!v.is_none()).then_some(v))
            }
            None => {
                // Unmapped: the p_udm field a source may carry, then the raw key.
                let from_udm = root
                    .and_then(|r| lookup(r, "p_udm"))
                    .and_then(Value::as_object)
                    .and_then(|u| lookup(u, key));
                match from_udm.or_else(|| root.and_then(|r| lookup(r, key))) {
                    Some(Value::Null) | None => Ok(None),
                    Some(v) => Ok(Some(self.to_py(py, v)?)),
                }
            }
        }
    }

    /// The object this view shows, as JSON.
    pub fn to_value(&self) -> Value {
        Value::Object(self.map().clone())
    }

    fn root_view(&self) -> PyEvent {
        let root = self.data.value.as_object().unwrap_or(self.map());
        PyEvent::view(Arc::clone(&self.data), NonNull::from(root))
    }
}

/// Exact key first, then a case-insensitive match (the first in key order: events are
/// `serde_json` maps, sorted by key).
pub fn lookup<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| lookup_ignoring_case(map, key))
}

/// The case-insensitive half of [`lookup`].
fn lookup_ignoring_case<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if key.is_ascii() {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    } else {
        let lower = key.to_lowercase();
        map.iter()
            .find(|(k, _)| k.to_lowercase() == lower)
            .map(|(_, v)| v)
    }
}

fn number_to_py<'py>(py: Python<'py>, n: &serde_json::Number) -> PyResult<Bound<'py, PyAny>> {
    if let Some(i) = n.as_i64() {
        Ok(i.into_pyobject(py)?.into_any())
    } else if let Some(u) = n.as_u64() {
        Ok(u.into_pyobject(py)?.into_any())
    } else {
        Ok(n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any())
    }
}

/// A mutable deep copy: dicts and lists, as `to_dict()` promises.
pub fn value_to_mutable<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Array(items) => {
            let list = PyList::empty(py);
            for v in items {
                list.append(value_to_mutable(py, v)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, value_to_mutable(py, v)?)?;
            }
            dict.into_any()
        }
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => number_to_py(py, n)?,
        Value::String(s) => s.into_pyobject(py)?.into_any(),
    })
}

#[pymethods]
impl PyEvent {
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self.value_of(py, key)? {
            Some(v) => Ok(v),
            None => Err(PyKeyError::new_err(key.clone().unbind())),
        }
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> bool {
        self.lookup_key(key).is_some()
    }

    fn __len__(&self) -> usize {
        self.map().len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(PyTuple::new(py, self.map().keys())?
            .into_any()
            .try_iter()?
            .into_any())
    }

    fn __repr__(&self) -> String {
        format!(
            "PantherEvent({})",
            serde_json::Value::Object(self.map().clone())
        )
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let mine = self.to_dict(py)?;
        mine.eq(other)
    }

    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.map().keys())
    }

    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let values = self
            .map()
            .values()
            .map(|v| self.to_py(py, v))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, values)
    }

    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .map()
            .iter()
            .map(|(k, v)| PyTuple::new(py, [k.into_pyobject(py)?.into_any(), self.to_py(py, v)?]))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    #[pyo3(signature = (key, default=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self.value_of(py, key)? {
            Some(v) => Ok(v),
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }

    /// Walks nested mappings; a missing key, a non-mapping step or a final null gives `default`.
    #[pyo3(signature = (*keys, default=None))]
    fn deep_get<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyTuple>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let default = || default.clone().unwrap_or_else(|| py.None().into_bound(py));
        let mut current = Some(self.map());
        let mut value: Option<&Value> = None;
        for key in keys.iter() {
            let Some(map) = current else {
                return Ok(default());
            };
            let Ok(k) = key.extract::<&str>() else {
                return Ok(default());
            };
            value = lookup(map, k);
            match value {
                None => return Ok(default()),
                Some(v) => current = v.as_object(),
            }
        }
        match value {
            None | Some(Value::Null) => Ok(default()),
            Some(v) => self.to_py(py, v),
        }
    }

    /// Like `deep_get` but fans out through lists; see the helper module for the semantics.
    #[pyo3(signature = (*keys, default=None, return_val="all"))]
    fn deep_walk<'py>(
        slf: &Bound<'py, Self>,
        keys: &Bound<'py, PyTuple>,
        default: Option<Bound<'py, PyAny>>,
        return_val: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let helper = super::runtime::helper_function(py, "deep_walk")?;
        let mut args = vec![slf.clone().into_any()];
        args.extend(keys.iter());
        let kwargs = PyDict::new(py);
        kwargs.set_item("default", default)?;
        kwargs.set_item("return_val", return_val)?;
        helper.call(PyTuple::new(py, args)?, Some(&kwargs))
    }

    /// The value a data model maps `keys[0]` to for this event's log type, then `deep_get` of
    /// the remaining keys; unmapped keys fall back to `p_udm` and then the raw field.
    #[pyo3(signature = (*keys, default=None))]
    fn udm<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyTuple>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let default_value = || default.clone().unwrap_or_else(|| py.None().into_bound(py));
        let Some(first) = keys.iter().next() else {
            return Err(PyValueError::new_err("udm() needs at least one key"));
        };
        let first: String = first.extract()?;
        let Some(mut value) = self.udm_value(py, &first)? else {
            return Ok(default_value());
        };
        for key in keys.iter().skip(1) {
            let next = match value.cast::<PyEvent>() {
                Ok(view) => view.get().lookup_key(&key).map(|v| view.get().to_py(py, v)),
                Err(_) => match value.cast::<PyDict>() {
                    Ok(d) => d.get_item(&key)?.map(Ok),
                    Err(_) => None,
                },
            };
            match next {
                Some(v) => value = v?,
                None => return Ok(default_value()),
            }
        }
        Ok(if value.is_none() {
            default_value()
        } else {
            value
        })
    }

    /// A mutable deep copy as plain dicts and lists.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        value_to_mutable(py, &Value::Object(self.map().clone()))
    }

    fn copy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.to_dict(py)
    }
}
