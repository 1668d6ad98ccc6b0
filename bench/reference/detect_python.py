#!/usr/bin/env python3
"""Pure-Python reference for the detect benchmark.

Runs the built-in Python access-log rules (content/rules/aws_s3_access_logs/*.py, the same files
`bucketwatch detect --content content` loads) over normalized events (the JSON lines written by
`bucketwatch parse`), the way a plain Python detection loop would:

* each line is decoded with `json.loads` and wrapped in a minimal event class (`get`,
  `__getitem__`, `__contains__`, `deep_get`; no case-insensitive fallback: the rules use the exact
  field names the parser writes);
* the rules whose LogTypes contain the event's `p_log_type` run: `rule(event)`, and when it
  returns True the optional functions the module defines, in the order bucketwatch's engine calls
  them (title, description, reference, severity, runbook, destinations, dedup, alert_context,
  unique); their results are discarded;
* matches are counted; an exception, or a `rule()` result that is not a bool, counts as a rule
  error (as in the engine).

Standard library only (Python >= 3.11: bucketwatch_settings reads its TOML with tomllib).

    python3 detect_python.py [--content DIR] [--max-events N] [--decode-only] EVENTS.jsonl

`--decode-only` reads, decodes and wraps every event as above but calls no rule: the difference
between the two runs is the time the rule functions themselves take in CPython, which no engine
that calls them can save.

Settings come from DIR/bucketwatch_settings.toml, or the file named by BUCKETWATCH_SETTINGS, as
for bucketwatch. One line per rule (`rule=ID matches=K errors=E`) and then the summary line
`events=N matches=M seconds=S events_per_s=R` go to stderr; nothing is written to stdout.
`seconds` runs from opening the events file to the end (module loading and interpreter start-up
excluded); the benchmark driver measures the whole process.

This is a generous (fast) baseline: `event.get` is dict.get itself (no Python frame per field
read), nothing is serialized, no alert is built.
"""

import importlib.util
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
RULE_DIRS = ("rules/aws_s3_access_logs",)

# The optional functions bucketwatch's engine runs after a match, in its order
# (crates/detect/src/python/rule.rs).
OPTIONAL = (
    "title",
    "description",
    "reference",
    "severity",
    "runbook",
    "destinations",
    "dedup",
    "alert_context",
    "unique",
)


class Event:
    """A read-only view of one decoded event, with what the rules call."""

    __slots__ = ("_data", "get")

    def __init__(self, data):
        self._data = data
        # The rules' hot path: the dict's own bound get.
        self.get = data.get

    def __getitem__(self, key):
        return self._data[key]

    def __contains__(self, key):
        return key in self._data

    def deep_get(self, *keys, default=None):
        current = self._data
        for key in keys:
            if not isinstance(current, dict):
                return default
            current = current.get(key)
            if current is None:
                return default
        return current


# ---------------------------------------------------------------------------------------------
# Loading the rules: the top-level keys of each spec are read with a few regular expressions
# (no YAML parser in the standard library; the built-in specs are plain block YAML).

_TOP = re.compile(r"^(RuleID|Filename|Enabled|AnalysisType):\s*(.*?)\s*$")
_ITEM = re.compile(r"^\s+-\s+(.*?)\s*$")


def _unquote(text):
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def read_spec(path):
    spec = {"LogTypes": []}
    in_log_types = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if in_log_types:
            m = _ITEM.match(line)
            if m:
                spec["LogTypes"].append(_unquote(m.group(1)))
                continue
            in_log_types = False
        if line.startswith("LogTypes:"):
            rest = line[len("LogTypes:") :].strip()
            if rest.startswith("["):
                spec["LogTypes"] = [_unquote(t.strip()) for t in rest.strip("[]").split(",") if t.strip()]
            else:
                in_log_types = True
            continue
        m = _TOP.match(line)
        if m:
            spec[m.group(1)] = _unquote(m.group(2))
    return spec


def load_rules(content):
    """[(rule_id, log_types, rule, [optional functions])] for every enabled Python rule."""
    sys.path.insert(0, str(content / "global_helpers"))
    rules = []
    for sub in RULE_DIRS:
        for spec_path in sorted((content / sub).glob("*.yml")):
            spec = read_spec(spec_path)
            if spec.get("AnalysisType") != "rule" or not spec.get("Filename"):
                continue  # no-code rules and other kinds are not Python rules
            if spec.get("Enabled", "true").lower() != "true":
                continue
            py_path = spec_path.parent / spec["Filename"]
            name = "bench_rule_" + py_path.stem
            module_spec = importlib.util.spec_from_file_location(name, py_path)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
            optional = [getattr(module, f) for f in OPTIONAL if callable(getattr(module, f, None))]
            rules.append((spec["RuleID"], spec["LogTypes"], module.rule, optional))
    return rules


def main(argv):
    args = argv[1:]
    content = ROOT / "content"
    max_events = None
    decode_only = False
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--content" and args:
            content = Path(args.pop(0))
        elif opt == "--max-events" and args:
            max_events = int(args.pop(0))
        elif opt == "--decode-only":
            decode_only = True
        else:
            args = []
            break
    if len(args) != 1:
        print(
            "usage: detect_python.py [--content DIR] [--max-events N] [--decode-only] EVENTS.jsonl",
            file=sys.stderr,
        )
        return 2
    path = args[0]

    rules = load_rules(content)
    if not rules:
        print(f"detect_python.py: no Python rules under {content}", file=sys.stderr)
        return 1
    by_type = {}
    for index, (_, log_types, _, _) in enumerate(rules):
        for log_type in log_types:
            by_type.setdefault(log_type, []).append(index)
    table = {
        log_type: tuple((i, rules[i][2], tuple(rules[i][3])) for i in indices)
        for log_type, indices in by_type.items()
    }
    if decode_only:
        table = {}
    matches = [0] * len(rules)
    errors = [0] * len(rules)

    loads = json.loads
    no_rules = ()
    events = 0
    start = time.perf_counter()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if max_events is not None and events >= max_events:
                break
            if not line.strip():
                continue
            data = loads(line)
            if type(data) is not dict:
                continue  # not an event (bucketwatch detect reports such lines and skips them)
            events += 1
            event = Event(data)
            for i, rule, optional in table.get(data.get("p_log_type"), no_rules):
                try:
                    result = rule(event)
                except Exception:  # noqa: BLE001 - a rule error, as in the engine
                    errors[i] += 1
                    continue
                if result is not True:
                    if result is not False:
                        errors[i] += 1
                    continue
                matches[i] += 1
                for func in optional:
                    try:
                        func(event)
                    except Exception:  # noqa: BLE001
                        errors[i] += 1
    secs = time.perf_counter() - start

    for (rule_id, _, _, _), m, e in zip(rules, matches, errors):
        print(f"rule={rule_id} matches={m} errors={e}", file=sys.stderr)
    rate = events / secs if secs > 0 else 0.0
    print(
        f"events={events} matches={sum(matches)} seconds={secs:.3f} events_per_s={rate:.0f}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
