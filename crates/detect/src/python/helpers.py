"""bucketwatch's embedded helpers for the Python rule runtime (not a user module)."""

import importlib.abc
import importlib.util
import sys
import traceback
from collections.abc import Mapping, Sequence


class ImmutableList(tuple):
    """A read-only list as panther-analysis content expects it: a tuple that compares equal to
    a list with the same items and whose copy() is a mutable list."""

    __slots__ = ()

    def __eq__(self, other):
        if isinstance(other, list):
            return list(self) == other
        return tuple.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    __hash__ = tuple.__hash__

    def copy(self):
        return [_mutable(item) for item in self]


def _mutable(obj):
    if isinstance(obj, ImmutableList):
        return obj.copy()
    to_dict = getattr(obj, "to_dict", None)
    return to_dict() if callable(to_dict) else obj


def _is_sequence(obj):
    return isinstance(obj, Sequence) and not isinstance(obj, (str, bytes))


def _only_empty_lists(obj):
    return _is_sequence(obj) and all(_only_empty_lists(item) for item in obj)


def deep_walk(obj, *keys, default=None, return_val="all"):
    """Follows keys through mappings, fanning out through lists; values are de-duplicated in
    order. One value found is returned alone; several as a list ('first'/'last' pick one)."""
    if not keys:
        return default if _only_empty_lists(obj) else obj
    if isinstance(obj, Mapping):
        nested = obj.get(keys[0])
        if nested is None:
            return default
        return deep_walk(nested, *keys[1:], default=default, return_val=return_val)
    found = []
    if _is_sequence(obj):
        for item in obj:
            value = deep_walk(item, *keys, default=default, return_val=return_val)
            if value is None:
                continue
            for v in value if _is_sequence(value) else (value,):
                if v not in found:
                    found.append(v)
    if not found:
        return default
    if return_val == "first":
        return found[0]
    if return_val == "last":
        return found[-1]
    return found[0] if len(found) == 1 else found


class _GlobalsFinder(importlib.abc.MetaPathFinder):
    """Makes each global helper importable by its GlobalID, whatever its file is called."""

    def __init__(self):
        self.paths = {}

    def find_spec(self, fullname, path=None, target=None):
        file = self.paths.get(fullname)
        if file is None:
            return None
        return importlib.util.spec_from_file_location(fullname, file)


GLOBALS = _GlobalsFinder()
sys.meta_path.insert(0, GLOBALS)


def register_global(name, path):
    GLOBALS.paths[name] = path
    sys.modules.pop(name, None)


def load_module(name, path):
    """Executes the file at path as a fresh module registered as name."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def last_frame(tb):
    """'file.py, line N, in func' of the innermost frame of a traceback, or None."""
    frames = traceback.extract_tb(tb)
    if not frames:
        return None
    f = frames[-1]
    return f"{f.filename.rsplit('/', 1)[-1]}, line {f.lineno}, in {f.name}"


def register_mapping(cls):
    Mapping.register(cls)


def apply_mocks(module, mocks):
    """Replaces module attributes with MagicMocks returning the given values; returns what to
    restore."""
    from unittest.mock import MagicMock

    missing = object()
    saved = {}
    for name, value in mocks.items():
        saved[name] = getattr(module, name, missing)
        setattr(module, name, MagicMock(return_value=value))
    return saved, missing


def restore_mocks(module, state):
    saved, missing = state
    for name, value in saved.items():
        if value is missing:
            delattr(module, name)
        else:
            setattr(module, name, value)



def install_panther_core_shim(event_class):
    """Content imports `PantherEvent` and the immutable types from panther_core for type hints.
    When that package is not installed, bucketwatch's own classes stand in for it."""
    import importlib.util
    import types

    try:
        if importlib.util.find_spec("panther_core") is not None:
            return
    except (ImportError, ValueError):
        pass
    core = types.ModuleType("panther_core")
    core.PantherEvent = event_class
    enriched = types.ModuleType("panther_core.enriched_event")
    enriched.PantherEvent = event_class
    immutable = types.ModuleType("panther_core.immutable")
    immutable.ImmutableCaseInsensitiveDict = event_class
    immutable.ImmutableList = ImmutableList
    core.enriched_event = enriched
    core.immutable = immutable
    core.__path__ = []
    sys.modules.update(
        {
            "panther_core": core,
            "panther_core.enriched_event": enriched,
            "panther_core.immutable": immutable,
        }
    )


def add_virtualenv(prefix):
    """Makes the packages of the virtualenv at prefix importable by content."""
    import glob
    import site

    for path in glob.glob(f"{prefix}/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"):
        site.addsitedir(path)
