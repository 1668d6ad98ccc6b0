#!/usr/bin/env bash
# Detect benchmark: bucketwatch detect throughput on one core over the built-in access-log rules,
# (a) as shipped (Python rules in embedded CPython) and (b) as native no-code renditions, beside a
# pure-Python reference (json.loads + the same Python rule functions), plus a memory-flatness run.
# See bench/README.md. Prints a Markdown report on stdout (also saved under $BENCH_DIR); progress
# goes to stderr.
#
# Knobs (environment):
#   BENCH_DIR         data and reports                      (default $HOME/.cache/bucketwatch-bench)
#   DETECT_MB         size of the generated access log, MiB (default 200)
#   BENCH_RUNS        timed runs per bucketwatch case, best kept (default 3)
#   PY_RUNS           timed runs of the Python reference, best kept (default 3)
#   PY_EVENTS         the Python reference reads only the first PY_EVENTS events (default: all)
#   DETECT_MEM=0      skip the memory-flatness run on 4x the events
#   BENCH_CPU         core to pin to with taskset (default 0)
#   BENCH_SEED        bw-gen seed (default 1)
#   BENCH_VERIFY=0    skip the untimed runs that count matches per rule and cross-check them
#   BENCH_STRICT=1    exit 3 when a target is missed
#   CARGO_TARGET_DIR  (default $HOME/.cache/bucketwatch-target)
#   BUCKETWATCH, BW_GEN  use these binaries instead of building them
#   PYTHON            (default python3; >= 3.11)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BENCH_NAME=run-detect
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

DETECT_MB=${DETECT_MB:-200}
BENCH_RUNS=${BENCH_RUNS:-3}
PY_RUNS=${PY_RUNS:-3}
PY_EVENTS=${PY_EVENTS:-0}
DETECT_MEM=${DETECT_MEM:-1}
BENCH_CPU=${BENCH_CPU:-0}
BENCH_SEED=${BENCH_SEED:-1}
BENCH_VERIFY=${BENCH_VERIFY:-1}
BENCH_STRICT=${BENCH_STRICT:-0}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/bucketwatch-target}
PYTHON=${PYTHON:-python3}
BUCKETWATCH=${BUCKETWATCH:-}
BW_GEN=${BW_GEN:-}

# Targets from the "Detection engine" issue.
TARGET_PY_RATIO=3
TARGET_NATIVE_EPS=1000000
# "Memory flat": peak RSS on 4x the events at most this multiple of the peak RSS on 1x (growth
# with the input would show as ~4x).
TARGET_MEM_RATIO=1.2
MEM_COPIES=4

CONTENT_A=$ROOT/content
CONTENT_B=$HERE/detect/native
REFERENCE=$HERE/reference/detect_python.py
CHECK_SETTINGS=$HERE/detect/settings.toml

MIB=1048576


for v in DETECT_MB BENCH_RUNS PY_RUNS PY_EVENTS BENCH_CPU BENCH_SEED; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
((DETECT_MB > 0 && BENCH_RUNS > 0 && PY_RUNS > 0)) || die "DETECT_MB, BENCH_RUNS and PY_RUNS must be > 0"

# Every run uses the built-in settings (content/bucketwatch_settings.toml).
if [[ -n ${BUCKETWATCH_SETTINGS:-} ]]; then
    log "ignoring BUCKETWATCH_SETTINGS=$BUCKETWATCH_SETTINGS: the benchmark uses the built-in settings"
    unset BUCKETWATCH_SETTINGS
fi

# ---------------------------------------------------------------------------------------------
# Tools.

command -v taskset >/dev/null || die "taskset not found (package util-linux)"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
"$PYTHON" -c 'import tomllib' 2>/dev/null || die "$PYTHON lacks tomllib (Python >= 3.11 needed: the rules' settings are TOML)"
if [[ ! -x /usr/bin/time ]]; then
    log "/usr/bin/time missing; installing the 'time' package"
    if [[ $(id -u) -eq 0 ]]; then
        apt-get install -y time >&2 || { apt-get update >&2 && apt-get install -y time >&2; }
    else
        sudo apt-get install -y time >&2 || { sudo apt-get update >&2 && sudo apt-get install -y time >&2; }
    fi
    [[ -x /usr/bin/time ]] || die "could not install /usr/bin/time"
fi
(($(nproc) > BENCH_CPU)) || die "BENCH_CPU=$BENCH_CPU but nproc=$(nproc)"

# ---------------------------------------------------------------------------------------------
# Build.

pkgs=()
[[ -n $BUCKETWATCH ]] || pkgs+=(-p bucketwatch)
[[ -n $BW_GEN ]] || pkgs+=(-p bucketwatch-bench)
if ((${#pkgs[@]})); then
    log "cargo build --release ${pkgs[*]} (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    (cd "$ROOT" && cargo build --release "${pkgs[@]}") >&2 || die "cargo build failed"
fi
BUCKETWATCH=${BUCKETWATCH:-$CARGO_TARGET_DIR/release/bucketwatch}
BW_GEN=${BW_GEN:-$CARGO_TARGET_DIR/release/bw-gen}
[[ -x $BUCKETWATCH ]] || die "bucketwatch binary not found at $BUCKETWATCH"
[[ -x $BW_GEN ]] || die "bw-gen binary not found at $BW_GEN"
"$BUCKETWATCH" detect --help >/dev/null 2>&1 || die "$BUCKETWATCH has no 'detect' command"
GEN_VERSION=$("$BW_GEN" --version)
BW_VERSION=$("$BUCKETWATCH" --version)
BW_HASH=$(sha256sum "$BUCKETWATCH" | cut -c1-16)

# The native renditions must pass their inline tests, or (b) would measure wrong rules.
if ! test_out=$("$BUCKETWATCH" test "$CONTENT_B" 2>&1); then
    echo "$test_out" >&2
    die "the native renditions in $CONTENT_B fail their tests"
fi
log "bucketwatch test $CONTENT_B: $(tail -n1 <<<"$test_out")"

# ---------------------------------------------------------------------------------------------
# Data: generated once, regenerated when missing, of a different size, or produced by other
# parameters (recorded in FILE.meta: stamp, size, summary).

mkdir -p "$BENCH_DIR"
BYTES=$((DETECT_MB * MIB))

# Normalized JSON is ~2.1x the access log.
need_mb=$((DETECT_MB + DETECT_MB * 22 / 10))
((DETECT_MEM == 1)) && need_mb=$((need_mb + DETECT_MB * 22 / 10 * MEM_COPIES))
avail_mb=$(df -Pm "$BENCH_DIR" | awk 'NR == 2 { print $4 }')
((avail_mb > need_mb)) || log "warning: $BENCH_DIR has ${avail_mb} MiB free; the data needs up to ~${need_mb} MiB"

generate() { # FILE KIND BYTES
    local file=$1 kind=$2 bytes=$3
    local stamp="$GEN_VERSION $kind bytes=$bytes seed=$BENCH_SEED"
    if fresh "$file" "$stamp"; then
        log "reusing $file"
        return
    fi
    log "generating $file ($kind, $((bytes / MIB)) MiB)"
    rm -f "$file" "$file.meta"
    "$BW_GEN" "$kind" --bytes "$bytes" --out "$file.tmp" --seed "$BENCH_SEED" 2>"$file.gen.log" ||
        { cat "$file.gen.log" >&2; die "bw-gen failed for $file"; }
    mv "$file.tmp" "$file"
    printf '%s\n%s\n%s\n' "$stamp" "$(stat -c %s "$file")" "$(cat "$file.gen.log")" >"$file.meta"
    rm -f "$file.gen.log"
}

# The events: `bucketwatch parse` of the access log, redone when the log or the binary changed.
normalize() { # SRC DST
    local src=$1 dst=$2 stamp
    stamp="parse --log-type AWS.S3ServerAccess of [$(sed -n 1p "$src.meta")] by $BW_VERSION ($BW_HASH)"
    if fresh "$dst" "$stamp"; then
        log "reusing $dst"
        return
    fi
    log "normalizing $src into $dst"
    rm -f "$dst" "$dst.meta"
    "$BUCKETWATCH" parse --log-type AWS.S3ServerAccess "$src" >"$dst.tmp" 2>"$dst.parse.log" ||
        { cat "$dst.parse.log" >&2; die "bucketwatch parse failed for $src"; }
    mv "$dst.tmp" "$dst"
    printf '%s\n%s\n%s\n' "$stamp" "$(stat -c %s "$dst")" "events=$(wc -l <"$dst" | tr -d ' ')" >"$dst.meta"
    rm -f "$dst.parse.log"
}

replicate() { # SRC DST N: N copies of SRC one after the other
    local src=$1 dst=$2 n=$3 stamp i
    stamp="$n copies of [$(sed -n 1p "$src.meta")]"
    if fresh "$dst" "$stamp"; then
        log "reusing $dst"
        return
    fi
    log "writing $dst ($n copies of $src)"
    rm -f "$dst" "$dst.meta"
    : >"$dst.tmp"
    for ((i = 0; i < n; i++)); do cat "$src" >>"$dst.tmp"; done
    mv "$dst.tmp" "$dst"
    printf '%s\n%s\n%s\n' "$stamp" "$(stat -c %s "$dst")" "events=$((n * $(events_of "$src")))" >"$dst.meta"
}

events_of() { # FILE: event count from the meta summary
    sed -n 3p "$1.meta" | grep -oE 'events=[0-9]+' | head -n1 | cut -d= -f2
}

SAL=$BENCH_DIR/detect-sal.log
EVENTS=$BENCH_DIR/events.jsonl
EVENTS_4X=$BENCH_DIR/events-${MEM_COPIES}x.jsonl

generate "$SAL" sal "$BYTES"
normalize "$SAL" "$EVENTS"
((DETECT_MEM == 1)) && replicate "$EVENTS" "$EVENTS_4X" "$MEM_COPIES"

N=$(events_of "$EVENTS")
((N > 0)) || die "$EVENTS holds no events"
PY_N=$N
if ((PY_EVENTS > 0 && PY_EVENTS < N)); then PY_N=$PY_EVENTS; fi
py_args=()
((PY_N < N)) && py_args=(--max-events "$PY_N")

# ---------------------------------------------------------------------------------------------
# Measurements.

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Result rows, parallel arrays.
R_NAME=() R_GROUP=() R_EVENTS=() R_SECS=() R_RSS=() R_RUNS=() R_STATUS=() R_CMD=()
R_MATCHES=() R_ERRORS=() R_SELF=()
FAILED=0

# The summary line of a run's stderr -> "events matches errors self_rate", or nothing.
summary_of() { # GROUP STDERR_FILE
    if [[ $1 == py || $1 == dec ]]; then
        sed -nE 's/^events=([0-9]+) matches=([0-9]+) seconds=[0-9.]+ events_per_s=([0-9]+).*/\1 \2 – \3/p' "$2" | tail -n1
    else
        sed -nE 's/^bucketwatch detect: ([0-9]+) events, ([0-9]+) matches, ([0-9]+) rule errors in [0-9.]+ s \(([0-9]+) events\/s\).*/\1 \2 \3 \4/p' "$2" | tail -n1
    fi
}

# Per-rule counts of `bucketwatch detect` output (JSON lines) -> "RULE_ID MATCHES ERRORS" lines.
count_rules() {
    "$PYTHON" -c '
import collections, json, sys
m = collections.Counter(); e = collections.Counter()
for line in sys.stdin.buffer:
    if line.strip():
        d = json.loads(line)
        (e if d.get("kind") == "rule_error" else m)[d.get("rule_id")] += 1
for rule in sorted(set(m) | set(e), key=str):
    print(rule, m[rule], e[rule])
'
}

# measure NAME GROUP EVENTS RUNS TAG CMD...
#   GROUP: py (the reference) | dec (the reference, decoding only) | a | b | mem. TAG: non-empty = first run CMD once unpinned and
#   keep its per-rule counts in $TMP/counts-TAG (bucketwatch cases, BENCH_VERIFY=1).
measure() {
    local name=$1 group=$2 events=$3 runs=$4 tag=$5
    shift 5
    local cmd_str status=ok best="" rss=0 i rc secs kb sum best_sum=""
    cmd_str="taskset -c $BENCH_CPU /usr/bin/time -f '%e %M' $(fmt_cmd "$@") > /dev/null"
    log "$name: $cmd_str (x$runs)"
    if [[ -n $tag && $BENCH_VERIFY == 1 ]]; then
        log "$name: untimed run counting matches per rule"
        set +e
        "$@" 2>"$TMP/verify.err" | count_rules >"$TMP/counts-$tag"
        rc=${PIPESTATUS[0]}
        set -e
        sum=$(summary_of "$group" "$TMP/verify.err")
        if ((rc != 0)); then
            status="FAILED (exit $rc)"
            log "$name: exit status $rc; stderr tail:"
            tail -n 5 "$TMP/verify.err" >&2
        elif [[ ${sum%% *} != "$events" ]]; then
            status="FAILED (${sum%% *} events read, $events expected)"
            log "$name: $status"
        fi
        grep -E 'warning:|error:|not an event' "$TMP/verify.err" | head -n 5 >&2 || true
    fi
    if [[ $status == ok ]]; then
        for ((i = 1; i <= runs; i++)); do
            local t0 t1
            set +e
            t0=$EPOCHREALTIME
            taskset -c "$BENCH_CPU" /usr/bin/time -f '%e %M' -o "$TMP/time" "$@" >/dev/null 2>"$TMP/err"
            rc=$?
            t1=$EPOCHREALTIME
            set -e
            if ((rc != 0)); then
                status="FAILED (exit $rc)"
                log "$name: exit status $rc; stderr tail:"
                tail -n 5 "$TMP/err" >&2
                break
            fi
            # Wall seconds: /usr/bin/time's %e has 10 ms resolution, so use bash's microsecond
            # clock around the same command (adds the ~1 ms exec of taskset and time).
            read -r _ kb < <(tail -n1 "$TMP/time")
            secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
            sum=$(summary_of "$group" "$TMP/err")
            if [[ -z $sum ]]; then
                status="FAILED (no summary line on stderr)"
                tail -n 5 "$TMP/err" >&2
                break
            fi
            if [[ ${sum%% *} != "$events" ]]; then
                status="FAILED (${sum%% *} events read, $events expected)"
                log "$name: $status"
                break
            fi
            log "$name: run $i: ${secs}s, peak RSS ${kb} KB; $(tail -n1 "$TMP/err")"
            if [[ -z $best ]] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then
                best=$secs best_sum=$sum
            fi
            ((kb > rss)) && rss=$kb
            [[ $group == py ]] && cp "$TMP/err" "$TMP/counts-ref.err"
        done
    fi
    [[ $status == ok ]] || { [[ $group == py || $group == dec ]] || FAILED=1; }
    local matches="" errors="" self=""
    [[ -n $best_sum ]] && read -r _ matches errors self <<<"$best_sum"
    R_NAME+=("$name") R_GROUP+=("$group") R_EVENTS+=("$events") R_SECS+=("${best:-}")
    R_RSS+=("$rss") R_RUNS+=("$runs") R_STATUS+=("$status") R_CMD+=("$cmd_str")
    R_MATCHES+=("$matches") R_ERRORS+=("$errors") R_SELF+=("$self")
}

# Warm the page cache so that every case reads from memory.
cat "$EVENTS" >/dev/null

measure "(a) Python path: built-in content (5 Python + 2 native rules)" a "$N" "$BENCH_RUNS" a \
    "$BUCKETWATCH" detect --content "$CONTENT_A" "$EVENTS"
measure "(b) native path: bench/detect/native (7 native renditions)" b "$N" "$BENCH_RUNS" b \
    "$BUCKETWATCH" detect --content "$CONTENT_B" "$EVENTS"
measure "Python reference: json.loads + the 5 Python rule functions" py "$PY_N" "$PY_RUNS" "" \
    "$PYTHON" "$REFERENCE" "${py_args[@]}" "$EVENTS"
measure "Python reference, decoding only (json.loads, no rule called)" dec "$PY_N" "$PY_RUNS" "" \
    "$PYTHON" "$REFERENCE" --decode-only "${py_args[@]}" "$EVENTS"
if ((DETECT_MEM == 1)); then
    cat "$EVENTS_4X" >/dev/null
    measure "(c) memory: (a) on ${MEM_COPIES}x the events" mem $((MEM_COPIES * N)) 1 "" \
        "$BUCKETWATCH" detect --content "$CONTENT_A" "$EVENTS_4X"
fi

# Untimed: the reference with settings equal to what the native renditions inline, so that each
# rendition can be compared with its Python rule event for event count.
REF_CHECK_OK=0
if [[ $BENCH_VERIFY == 1 && $PY_N == "$N" ]]; then
    log "untimed: Python reference with BUCKETWATCH_SETTINGS=$CHECK_SETTINGS (per-rule counts for (b))"
    if BUCKETWATCH_SETTINGS=$CHECK_SETTINGS "$PYTHON" "$REFERENCE" "$EVENTS" 2>"$TMP/counts-refcheck.err"; then
        REF_CHECK_OK=1
    else
        log "warning: the reference with the check settings failed"
        tail -n 5 "$TMP/counts-refcheck.err" >&2
    fi
fi
ref_counts() { # STDERR_FILE -> "RULE_ID MATCHES ERRORS" lines
    sed -nE 's/^rule=([^ ]+) matches=([0-9]+) errors=([0-9]+)$/\1 \2 \3/p' "$1"
}
[[ -f $TMP/counts-ref.err ]] && ref_counts "$TMP/counts-ref.err" >"$TMP/counts-ref"
((REF_CHECK_OK)) && ref_counts "$TMP/counts-refcheck.err" >"$TMP/counts-refcheck"

# ---------------------------------------------------------------------------------------------
# Report.

eps_of() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "" }'; }
mb_of() { awk -v k="$1" 'BEGIN { if (k > 0) printf "%.1f", k / 1024 }'; }

REF_EPS="" A_EPS="" B_EPS="" A_RSS="" MEM_RSS="" REF_SECS="" DEC_SECS=""
for i in "${!R_NAME[@]}"; do
    [[ ${R_STATUS[$i]} == ok ]] || continue
    eps=$(eps_of "${R_EVENTS[$i]}" "${R_SECS[$i]}")
    case ${R_GROUP[$i]} in
    py) REF_EPS=$eps REF_SECS=${R_SECS[$i]} ;;
    dec) DEC_SECS=${R_SECS[$i]} ;;
    a) A_EPS=$eps A_RSS=${R_RSS[$i]} ;;
    b) B_EPS=$eps ;;
    mem) MEM_RSS=${R_RSS[$i]} ;;
    esac
done

# Per-rule table and cross-checks (Python): the rules pair up by the name after the last dot.
per_rule() {
    "$PYTHON" - "$TMP" "$N" "$PY_N" "$CONTENT_A/rules/aws_s3_access_logs" "$CONTENT_B" <<'EOF'
import glob, os, re, sys
tmp, n, py_n, dir_a, dir_b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]

# Rule names (RuleID after the last dot) of both sets; Python rules are specs with a Filename.
all_rules, python_rules = set(), set()
for spec in glob.glob(os.path.join(dir_a, "*.yml")) + glob.glob(os.path.join(dir_b, "*.yml")):
    text = open(spec, encoding="utf-8").read()
    rule_id = re.search(r"^RuleID:\s*(\S+)", text, re.M)
    if rule_id:
        all_rules.add(rule_id.group(1).rsplit(".", 1)[-1])
        if re.search(r"^Filename:", text, re.M):
            python_rules.add(rule_id.group(1).rsplit(".", 1)[-1])

def read(tag):
    path = os.path.join(tmp, "counts-" + tag)
    if not os.path.exists(path):
        return None
    out = {}
    for line in open(path):
        rule, m, e = line.split()
        out[rule.rsplit(".", 1)[-1]] = (rule, int(m), int(e))
    return out

a, b, ref, refcheck = read("a"), read("b"), read("ref"), read("refcheck")
if a is None and b is None:
    print("(not run: BENCH_VERIFY=0 or the runs failed)")
    sys.exit(0)
full_ref = ref is not None and py_n == n
names = sorted(all_rules | set(a or {}) | set(b or {}) | set(ref or {}))

def cell(table, name):
    if table is None:
        return "–"
    if name not in table:
        return "0"  # every rule of the set ran; none of its lines were written
    _, m, e = table[name]
    return f"{m}" + (f" (+{e} errors)" if e else "")

def count(table, name):
    return table[name][1] if table and name in table else 0

print("| rule | (a) built-in | (b) native rendition | reference, built-in settings "
      "| reference, bench/detect/settings.toml |")
print("|---|---:|---:|---:|---:|")
problems = []
for name in names:
    python_rule = name in python_rules
    kind = "Python" if python_rule else "no-code"
    if not python_rule or ref is None:
        ref_cell = "–"
    elif full_ref:
        ref_cell = cell(ref, name)
    else:
        ref_cell = f"{cell(ref, name)} (first {py_n} events)"
    cols = [cell(a, name), cell(b, name), ref_cell, cell(refcheck, name) if python_rule else "–"]
    print(f"| {name} ({kind}) | " + " | ".join(cols) + " |")
    for table, tag in ((a, "(a)"), (b, "(b)"), (ref, "reference")):
        if table and name in table and table[name][2]:
            problems.append(f"{tag} {name}: {table[name][2]} rule errors")
    if python_rule:
        if a is not None and full_ref and count(a, name) != count(ref, name):
            problems.append(f"{name}: (a) {count(a, name)} matches, reference {count(ref, name)}")
        if b is not None and refcheck is not None and count(b, name) != count(refcheck, name):
            problems.append(f"{name}: (b) {count(b, name)} matches, reference with the check settings {count(refcheck, name)}")
    elif a is not None and b is not None and count(a, name) != count(b, name):
        problems.append(f"{name}: (a) {count(a, name)} matches, (b) {count(b, name)}")
print()
checks = []
if full_ref:
    checks.append("every Python rule in (a) matches exactly the events the reference's call of the same rule matches")
if refcheck is not None:
    checks.append("every native rendition in (b) matches exactly the events its Python rule matches under the settings the rendition inlines (reference run with BUCKETWATCH_SETTINGS=bench/detect/settings.toml)")
checks.append("the two built-in no-code rules match the same events in (a) and (b)")
if ref is not None and not full_ref:
    checks.append(f"the comparisons with the reference are skipped (it read only the first {py_n} events)")
if problems:
    print("**Cross-check: MISMATCH**")
    for p in problems:
        print(f"- {p}")
else:
    print("Cross-check: OK — " + "; ".join(checks) + "; no rule errors.")
EOF
}

REPORT=$BENCH_DIR/detect-report-$(date -u +%Y%m%dT%H%M%SZ).md
TARGET_MISSED=0

PY_RATIO="" MEM_RATIO=""
[[ -n $A_EPS && -n $REF_EPS ]] && PY_RATIO=$(awk -v a="$A_EPS" -v b="$REF_EPS" 'BEGIN { printf "%.2f", a / b }')
[[ -n $A_RSS && -n $MEM_RSS ]] && MEM_RATIO=$(awk -v a="$MEM_RSS" -v b="$A_RSS" 'BEGIN { printf "%.2f", a / b }')

{
    echo "# bucketwatch detect benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (dirty work tree)'); $BW_VERSION"
    echo
    echo "| case | events | seconds | events/s | in-process events/s | matches | rule errors | peak RSS MB | × reference |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for i in "${!R_NAME[@]}"; do
        name=${R_NAME[$i]} group=${R_GROUP[$i]} secs=${R_SECS[$i]}
        if [[ ${R_STATUS[$i]} != ok ]]; then
            echo "| $name | ${R_EVENTS[$i]} | ${R_STATUS[$i]} | | | | | | |"
            continue
        fi
        eps=$(eps_of "${R_EVENTS[$i]}" "$secs")
        if [[ $group == py ]]; then
            ratio="1 (reference)"
        elif [[ $group == dec ]]; then
            ratio="–"
        elif [[ -n $REF_EPS ]]; then
            ratio=$(awk -v a="$eps" -v b="$REF_EPS" 'BEGIN { printf "%.1f×", a / b }')
        else
            ratio="–"
        fi
        runs=${R_RUNS[$i]}
        ((runs > 1)) && secs="$secs (best of $runs)"
        echo "| $name | ${R_EVENTS[$i]} | $secs | $eps | ${R_SELF[$i]} | ${R_MATCHES[$i]} | ${R_ERRORS[$i]} | $(mb_of "${R_RSS[$i]}") | $ratio |"
    done
    echo
    echo "Seconds are wall-clock time of the whole process (\`taskset -c $BENCH_CPU /usr/bin/time ...\`, bash"
    echo "\$EPOCHREALTIME around it), pinned to core $BENCH_CPU; events/s = events / seconds, which the targets"
    echo "use. bucketwatch cases keep the best of $BENCH_RUNS runs, the reference the best of $PY_RUNS; the"
    echo "memory run is one run. \"in-process events/s\" is the rate each program prints itself (from"
    echo "opening the input to the end: no start-up, content loading or interpreter start). Both sides"
    echo "read the events file and parse every line as JSON inside the timing: \`bucketwatch detect\` with"
    echo "serde_json, the reference with \`json.loads\`. \`bucketwatch detect\` also serializes one JSON line"
    echo "per match (to /dev/null) and runs the 2 no-code rules of the built-in set, which the reference"
    echo "does not: the × reference ratio is conservative. Matches and rule errors are from the summary"
    echo "line of the best run; peak RSS is the maximum over the runs (\`/usr/bin/time\` %M). Settings are"
    echo "the built-in defaults (content/bucketwatch_settings.toml), so the Python UnknownRequester rule"
    echo "(empty bucket_role_mapping) never matches in (a) and the reference, while its native rendition"
    echo "uses a fixed 2-bucket mapping."
    ((PY_N < N)) && echo && echo "The reference ran on the first $PY_N of the $N events (PY_EVENTS); events/s are compared."
    if [[ -n $REF_SECS && -n $DEC_SECS ]]; then
        awk -v r="$REF_SECS" -v d="$DEC_SECS" 'BEGIN {
            f = r - d
            if (f <= 0) { print "\nThe decoding-only run was not faster than the reference: no ceiling computed."; exit }
            printf "\nTime in the rule functions: the reference took %.3f s, %.3f s of it decoding (the run\n", r, d
            printf "that calls no rule), so %.3f s (%.0f%%) went to executing the 5 rule functions and their\n", f, 100 * f / r
            printf "optional functions. Any engine that calls the same functions in one CPython interpreter\n"
            printf "spends at least that, so (a) can reach at most %.2f× the reference per core.\n", r / f
        }'
    fi
    echo
    echo "## Targets"
    echo
    echo "| target | limit | measured | verdict |"
    echo "|---|---|---:|---|"
    check "(a) Python path, × pure-Python reference (events/s)" "$PY_RATIO" ">=" "$TARGET_PY_RATIO" "×"
    check "(b) native path, events/s per core" "$B_EPS" ">=" "$TARGET_NATIVE_EPS" "events/s"
    if ((DETECT_MEM == 1)); then
        check "memory flat: peak RSS of (a) on ${MEM_COPIES}× the events ÷ on 1× ($(mb_of "$MEM_RSS") / $(mb_of "$A_RSS") MB)" "$MEM_RATIO" "<=" "$TARGET_MEM_RATIO" "×"
    else
        echo "| memory flat | – | not run (DETECT_MEM=0) | n/a |"
    fi
    echo
    echo "## Matches per rule (untimed runs)"
    echo
    per_rule
    echo
    echo "## Machine"
    echo
    echo "- nproc: $(nproc)"
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "- memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "- kernel: $(uname -sr)"
    echo "- load average at report time: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- $(rustc --version 2>/dev/null || echo 'rustc: not found')"
    echo "- $("$PYTHON" --version 2>&1)"
    echo "- $BW_VERSION (sha256 ${BW_HASH}…); $GEN_VERSION"
    echo
    echo "## Data"
    echo
    echo "- \`$SAL\`: $(stat -c %s "$SAL") bytes; $(sed -n 3p "$SAL.meta" | sed 's/ seconds=.*//')"
    echo "- \`$EVENTS\`: $(stat -c %s "$EVENTS") bytes, $N events (\`bucketwatch parse --log-type AWS.S3ServerAccess\` of the log)"
    ((DETECT_MEM == 1)) && echo "- \`$EVENTS_4X\`: $(stat -c %s "$EVENTS_4X") bytes, $((MEM_COPIES * N)) events ($MEM_COPIES copies of events.jsonl)"
    echo
    echo "## Commands"
    echo
    echo '```sh'
    for i in "${!R_NAME[@]}"; do echo "${R_CMD[$i]}"; done
    ((REF_CHECK_OK)) && echo "BUCKETWATCH_SETTINGS=$CHECK_SETTINGS $PYTHON $REFERENCE $EVENTS  # untimed cross-check"
    echo '```'
} >"$REPORT"
cat "$REPORT"
log "report saved to $REPORT"

if ((FAILED)); then
    log "a bucketwatch case failed (non-zero exit or wrong event count); the numbers are not valid"
    exit 1
fi
if ((BENCH_STRICT == 1 && TARGET_MISSED == 1)); then
    log "a target was missed (BENCH_STRICT=1)"
    exit 3
fi
