//! The embedded CPython interpreter: module loading, guarded calls and the time budget.

use std::ffi::CString;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

use super::event::PyEvent;

const HELPERS_SOURCE: &str = include_str!("helpers.py");

static HELPERS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The embedded helper module, created once per interpreter.
fn helpers(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    let module = HELPERS.get_or_try_init(py, || -> PyResult<Py<PyModule>> {
        let code = CString::new(HELPERS_SOURCE)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("helper source: {e}")))?;
        let module = PyModule::from_code(py, &code, c"bucketwatch_helpers.py", c"_bucketwatch")?;
        module.call_method1("register_mapping", (py.get_type::<PyEvent>(),))?;
        module.call_method1("install_panther_core_shim", (py.get_type::<PyEvent>(),))?;
        Ok(module.unbind())
    })?;
    Ok(module.bind(py))
}

/// The `ImmutableList` class lists are handed to content as.
pub(crate) fn immutable_list(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static CLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let class = CLASS.get_or_try_init(py, || {
        Ok::<_, PyErr>(helpers(py)?.getattr("ImmutableList")?.unbind())
    })?;
    Ok(class.bind(py))
}

pub(crate) fn helper_function<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    helpers(py)?.getattr(name)
}

/// A Python exception (or time-out) raised by a call into content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{type_name}: {message}{}", location.as_ref().map(|l| format!(" ({l})")).unwrap_or_default())]
pub struct PyCallError {
    /// The exception class, e.g. `KeyError`; `TimeoutError` when the time budget ran out.
    pub type_name: String,
    pub message: String,
    /// `file.py, line N, in function` of the innermost frame, when known.
    pub location: Option<String>,
}

impl PyCallError {
    pub fn from_err(py: Python<'_>, err: &PyErr) -> PyCallError {
        let type_name = err
            .get_type(py)
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "Exception".into());
        let message = err
            .value(py)
            .str()
            .map(|s| s.to_string())
            .unwrap_or_default();
        let location = err.traceback(py).and_then(|tb| {
            helper_function(py, "last_frame")
                .and_then(|f| f.call1((tb,)))
                .and_then(|v| v.extract::<Option<String>>())
                .ok()
                .flatten()
        });
        PyCallError {
            type_name,
            message,
            location,
        }
    }

    /// The repr of the exception as Python would print it: `KeyError('x')`.
    pub fn repr(&self) -> String {
        format!("{}({:?})", self.type_name, self.message)
    }
}

/// Why content could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}: {error}")]
pub struct PyLoadError {
    pub path: String,
    pub error: PyCallError,
}

/// Interrupts Python calls that run past their budget, from a thread of its own.
///
/// Several threads may be inside content at once (the interpreter switches between them), so
/// each call is watched separately. Lock order is always GIL, then `state`; the watchdog releases
/// `state` before it waits for the GIL, so it never holds the lock while blocked.
struct Watchdog {
    state: Mutex<WatchState>,
    wake: Condvar,
}

struct WatchState {
    next_id: u64,
    calls: Vec<WatchedCall>,
    /// When the watchdog will next look at the calls on its own. A new call is announced only
    /// when its deadline comes earlier: waking the thread for every call would cost more than
    /// most rules take to run.
    wake_at: Instant,
}

struct WatchedCall {
    id: u64,
    thread: std::ffi::c_ulong,
    deadline: Instant,
    fired: bool,
}

impl Watchdog {
    fn start() -> Arc<Watchdog> {
        let dog = Arc::new(Watchdog {
            state: Mutex::new(WatchState {
                next_id: 0,
                calls: Vec::new(),
                wake_at: Instant::now(),
            }),
            wake: Condvar::new(),
        });
        let weak = Arc::downgrade(&dog);
        std::thread::Builder::new()
            .name("bucketwatch-python-watchdog".into())
            .spawn(move || {
                while let Some(dog) = weak.upgrade() {
                    dog.watch_once();
                }
            })
            .expect("spawning the Python watchdog thread");
        dog
    }

    /// Waits for the earliest deadline to pass (or a change) and interrupts that call if it is
    /// still running.
    fn watch_once(&self) {
        const IDLE_POLL: Duration = Duration::from_millis(200);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let next = state
            .calls
            .iter()
            .filter(|c| !c.fired)
            .min_by_key(|c| c.deadline)
            .map(|c| (c.id, c.deadline));
        let now = Instant::now();
        let Some((id, deadline)) = next.filter(|(_, d)| *d <= now) else {
            let wait = next.map_or(IDLE_POLL, |(_, d)| (d - now).min(IDLE_POLL));
            state.wake_at = now + wait;
            let _ = self.wake.wait_timeout(state, wait);
            return;
        };
        let _ = deadline;
        drop(state);
        Python::attach(|_py| {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(call) = state.calls.iter_mut().find(|c| c.id == id && !c.fired) {
                // SAFETY: the GIL is held; the exception type is a valid, immortal object.
                unsafe {
                    pyo3::ffi::PyThreadState_SetAsyncExc(
                        call.thread as std::ffi::c_long,
                        pyo3::ffi::PyExc_TimeoutError,
                    );
                }
                call.fired = true;
            }
        });
    }

    /// Starts watching a call made by the current thread, which holds the GIL.
    fn begin(&self, budget: Duration) -> u64 {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.next_id += 1;
        let id = state.next_id;
        // SAFETY: called with the GIL held, from the thread that runs the call.
        let thread = unsafe { pyo3::ffi::PyThread_get_thread_ident() };
        let deadline = Instant::now() + budget;
        state.calls.push(WatchedCall {
            id,
            thread,
            deadline,
            fired: false,
        });
        if deadline < state.wake_at {
            self.wake.notify_one();
        }
        id
    }

    /// Ends the watch of call `id`; returns whether the watchdog interrupted it.
    fn end(&self, id: u64) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Some(i) = state.calls.iter().position(|c| c.id == id) else {
            return false;
        };
        let call = state.calls.swap_remove(i);
        if call.fired {
            // The interrupt may not have been delivered yet: withdraw it so it cannot strike
            // later code. SAFETY: the GIL is held (callers are inside `Python::attach`).
            unsafe {
                pyo3::ffi::PyThreadState_SetAsyncExc(
                    call.thread as std::ffi::c_long,
                    std::ptr::null_mut(),
                );
            }
        }
        call.fired
    }
}

/// The interpreter, set up for running detection content.
pub struct PythonRuntime {
    budget: Duration,
    watchdog: Arc<Watchdog>,
}

impl PythonRuntime {
    /// Starts (or joins) the embedded interpreter. `budget` bounds every call into content.
    pub fn new(budget: Duration) -> Result<PythonRuntime, PyCallError> {
        Python::initialize();
        Python::attach(|py| {
            let sys = py
                .import("sys")
                .map_err(|e| PyCallError::from_err(py, &e))?;
            sys.setattr("dont_write_bytecode", true)
                .map_err(|e| PyCallError::from_err(py, &e))?;
            let helpers = helpers(py).map_err(|e| PyCallError::from_err(py, &e))?;
            // An active virtualenv's packages are importable by content, as in its own python.
            if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
                helpers
                    .call_method1("add_virtualenv", (venv.to_string_lossy().into_owned(),))
                    .map_err(|e| PyCallError::from_err(py, &e))?;
            }
            Ok(())
        })?;
        Ok(PythonRuntime {
            budget,
            watchdog: Watchdog::start(),
        })
    }

    /// Which interpreter is embedded: version and prefix, for `bucketwatch doctor`.
    pub fn describe() -> String {
        Python::initialize();
        Python::attach(|py| {
            let sys = py.import("sys").ok();
            let get = |attr: &str| {
                sys.as_ref()
                    .and_then(|s| s.getattr(attr).ok())
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            };
            format!(
                "Python {} at {}",
                get("version").replace('\n', " "),
                get("prefix")
            )
        })
    }

    /// Makes a global helper importable as `name` (its GlobalID).
    pub fn register_global(
        &self,
        py: Python<'_>,
        name: &str,
        path: &Path,
    ) -> Result<(), PyLoadError> {
        helper_function(py, "register_global")
            .and_then(|f| f.call1((name, path.display().to_string())))
            .map(|_| ())
            .map_err(|e| load_error(py, path, &e))
    }

    /// Runs a content file as a fresh module named `name`.
    pub fn load_module<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        path: &Path,
    ) -> Result<Bound<'py, PyModule>, PyLoadError> {
        // Imports may do real work (compile regexes, read files): a larger budget, still bounded.
        let budget = self.budget * 10;
        let watch = self.watchdog.begin(budget);
        let result = helper_function(py, "load_module")
            .and_then(|f| f.call1((name, path.display().to_string())))
            .and_then(|m| Ok(m.cast_into::<PyModule>()?));
        let timed_out = self.watchdog.end(watch);
        result.map_err(|e| {
            let mut error = PyCallError::from_err(py, &e);
            if timed_out {
                error.type_name = "TimeoutError".into();
                error.message = format!("importing took longer than {} ms", budget.as_millis());
            }
            PyLoadError {
                path: path.display().to_string(),
                error,
            }
        })
    }

    /// Calls `func(*args)` within the time budget; any exception becomes a `PyCallError`.
    pub fn call<'py>(
        &self,
        py: Python<'py>,
        func: &Bound<'py, PyAny>,
        args: impl pyo3::call::PyCallArgs<'py>,
    ) -> Result<Bound<'py, PyAny>, PyCallError> {
        let watch = self.watchdog.begin(self.budget);
        let result = func.call1(args);
        let timed_out = self.watchdog.end(watch);
        match (result, timed_out) {
            (Ok(v), false) => Ok(v),
            (Err(e), false) => Err(PyCallError::from_err(py, &e)),
            (result, true) => Err(PyCallError {
                type_name: "TimeoutError".into(),
                message: format!("exceeded its time budget of {} ms", self.budget.as_millis()),
                location: result
                    .err()
                    .and_then(|e| PyCallError::from_err(py, &e).location),
            }),
        }
    }
}

fn load_error(py: Python<'_>, path: &Path, e: &PyErr) -> PyLoadError {
    PyLoadError {
        path: path.display().to_string(),
        error: PyCallError::from_err(py, e),
    }
}
