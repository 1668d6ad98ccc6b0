#!/usr/bin/env bash
# Parse benchmark: bucketwatch parse+normalize throughput on one core, beside Python references.
# See bench/README.md. Prints a Markdown report on stdout (also saved under $BENCH_DIR); progress
# goes to stderr.
#
# Knobs (environment):
#   BENCH_DIR         data and reports            (default $HOME/.cache/bucketwatch-bench)
#   BENCH_MB          size of each Rust input, MiB (default 1024)
#   PY_MB             size of the Python inputs, MiB (default 200)
#   BENCH_BIG=1       also parse a 2*BENCH_MB CloudTrail file to show peak memory stays flat
#   BENCH_RUNS        timed runs per bucketwatch case, best kept (default 3)
#   PY_RUNS           timed runs per Python reference, best kept (default 3)
#   BENCH_CPU         core to pin to with taskset (default 0)
#   BENCH_SEED        bw-gen seed (default 1)
#   BENCH_VERIFY=0    skip the untimed run that checks one output line per input record
#   BENCH_STRICT=1    exit 3 when a target is missed
#   CARGO_TARGET_DIR  (default $HOME/.cache/bucketwatch-target)
#   BUCKETWATCH, BW_GEN  use these binaries instead of building them
#   PYTHON            (default python3)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BENCH_NAME=run-parse
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

BENCH_MB=${BENCH_MB:-1024}
PY_MB=${PY_MB:-200}
BENCH_BIG=${BENCH_BIG:-0}
BENCH_RUNS=${BENCH_RUNS:-3}
PY_RUNS=${PY_RUNS:-3}
BENCH_CPU=${BENCH_CPU:-0}
BENCH_SEED=${BENCH_SEED:-1}
BENCH_VERIFY=${BENCH_VERIFY:-1}
BENCH_STRICT=${BENCH_STRICT:-0}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/bucketwatch-target}
PYTHON=${PYTHON:-python3}
BUCKETWATCH=${BUCKETWATCH:-}
BW_GEN=${BW_GEN:-}

# Targets from the Foundation issue.
TARGET_SAL_MBS=300
TARGET_SAL_RATIO=30
TARGET_CT_MBS=200
TARGET_RSS_MB=100

MIB=1048576


for v in BENCH_MB PY_MB BENCH_RUNS PY_RUNS BENCH_CPU BENCH_SEED; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
((BENCH_MB > 0 && PY_MB > 0 && BENCH_RUNS > 0 && PY_RUNS > 0)) || die "BENCH_MB, PY_MB, BENCH_RUNS and PY_RUNS must be > 0"
if ((PY_MB > BENCH_MB)); then
    log "PY_MB=$PY_MB > BENCH_MB=$BENCH_MB; using PY_MB=$BENCH_MB"
    PY_MB=$BENCH_MB
fi

# ---------------------------------------------------------------------------------------------
# Tools.

command -v taskset >/dev/null || die "taskset not found (package util-linux)"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
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
GEN_VERSION=$("$BW_GEN" --version)

# ---------------------------------------------------------------------------------------------
# Data: generated once, regenerated when missing, of a different size, or produced by other
# bw-gen parameters (recorded in FILE.meta: stamp, size, generator summary).

mkdir -p "$BENCH_DIR"
BYTES=$((BENCH_MB * MIB))
PY_BYTES=$((PY_MB * MIB))

need_mb=$((BENCH_MB * 2 + BENCH_MB / 4 + PY_MB * 2))
((BENCH_BIG == 1)) && need_mb=$((need_mb + BENCH_MB * 2))
avail_mb=$(df -Pm "$BENCH_DIR" | awk 'NR == 2 { print $4 }')
((avail_mb > need_mb)) || log "warning: $BENCH_DIR has ${avail_mb} MiB free; the data needs up to ~${need_mb} MiB"

generate() { # FILE KIND BYTES [--gzip]
    local file=$1 kind=$2 bytes=$3
    shift 3
    local stamp="$GEN_VERSION $kind bytes=$bytes seed=$BENCH_SEED $*"
    if fresh "$file" "$stamp"; then
        log "reusing $file"
        return
    fi
    log "generating $file ($kind, $((bytes / MIB)) MiB${*:+ $*})"
    rm -f "$file" "$file.meta"
    "$BW_GEN" "$kind" --bytes "$bytes" --out "$file.tmp" --seed "$BENCH_SEED" "$@" 2>"$file.gen.log" ||
        { cat "$file.gen.log" >&2; die "bw-gen failed for $file"; }
    mv "$file.tmp" "$file"
    printf '%s\n%s\n%s\n' "$stamp" "$(stat -c %s "$file")" "$(cat "$file.gen.log")" >"$file.meta"
    rm -f "$file.gen.log"
}

prefix_lines() { # SRC DST BYTES: the first BYTES of SRC, cut back to a line boundary
    local src=$1 dst=$2 bytes=$3
    local stamp
    stamp="prefix bytes=$bytes of $(sed -n 1p "$src.meta")"
    if fresh "$dst" "$stamp"; then
        log "reusing $dst"
        return
    fi
    log "cutting $dst (first $((bytes / MIB)) MiB of $src at a line boundary)"
    rm -f "$dst" "$dst.meta"
    local lines
    lines=$("$PYTHON" - "$src" "$dst.tmp" "$bytes" <<'EOF'
import sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(src, "rb") as f:
    data = f.read(n)
data = data[: data.rfind(b"\n") + 1]
with open(dst, "wb") as f:
    f.write(data)
print(data.count(b"\n"))
EOF
    )
    mv "$dst.tmp" "$dst"
    printf '%s\n%s\n%s\n' "$stamp" "$(stat -c %s "$dst")" "prefix lines=$lines" >"$dst.meta"
}

records_of() { # FILE: record/line count from the meta summary
    sed -n 3p "$1.meta" | grep -oE '(lines|records)=[0-9]+' | head -n1 | cut -d= -f2
}

SAL=$BENCH_DIR/sal.log
CT=$BENCH_DIR/cloudtrail.json
CTGZ=$BENCH_DIR/cloudtrail.json.gz
PY_SAL=$BENCH_DIR/sal-py.log
PY_CT=$BENCH_DIR/cloudtrail-py.json
BIG_CT=$BENCH_DIR/cloudtrail-2x.json

generate "$SAL" sal "$BYTES"
generate "$CT" cloudtrail "$BYTES"
generate "$CTGZ" cloudtrail "$BYTES" --gzip
prefix_lines "$SAL" "$PY_SAL" "$PY_BYTES"
generate "$PY_CT" cloudtrail "$PY_BYTES"
((BENCH_BIG == 1)) && generate "$BIG_CT" cloudtrail $((2 * BYTES))

# ---------------------------------------------------------------------------------------------
# Measurements.

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Result rows, parallel arrays.
R_NAME=() R_GROUP=() R_BYTES=() R_RECORDS=() R_SECS=() R_RSS=() R_RUNS=() R_STATUS=() R_CMD=()
FAILED=0

# measure NAME GROUP INPUT_BYTES RECORDS RUNS VERIFY CMD...
#   GROUP: sal | ct | py-sal | py-ct (ratios compare a group with its py- reference)
#   VERIFY=1: before timing, run CMD once unpinned and require one output line per record.
measure() {
    local name=$1 group=$2 bytes=$3 records=$4 runs=$5 verify=$6
    shift 6
    local cmd_str status=ok best="" rss=0 i rc secs kb
    cmd_str="taskset -c $BENCH_CPU /usr/bin/time -f '%e %M' $(fmt_cmd "$@") > /dev/null"
    log "$name: $cmd_str (x$runs)"
    if [[ $verify == 1 && $BENCH_VERIFY == 1 ]]; then
        local out_lines
        set +e
        "$@" 2>"$TMP/verify.err" | wc -l >"$TMP/verify.count"
        rc=${PIPESTATUS[0]}
        set -e
        out_lines=$(tr -d ' ' <"$TMP/verify.count")
        if ((rc != 0)); then
            status="FAILED (exit $rc)"
            log "$name: exit status $rc; stderr tail:"
            tail -n 5 "$TMP/verify.err" >&2
        elif [[ $out_lines != "$records" ]]; then
            status="FAILED ($out_lines output lines for $records records)"
            log "$name: $status"
        fi
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
            log "$name: run $i: ${secs}s, peak RSS ${kb} KB"
            if [[ -z $best ]] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$secs; fi
            ((kb > rss)) && rss=$kb
            [[ $group == py-* ]] && sed 's/^/    /' "$TMP/err" >&2
        done
    fi
    [[ $status == ok ]] || { [[ $group == py-* ]] || FAILED=1; }
    R_NAME+=("$name") R_GROUP+=("$group") R_BYTES+=("$bytes") R_RECORDS+=("$records")
    R_SECS+=("${best:-}") R_RSS+=("$rss") R_RUNS+=("$runs") R_STATUS+=("$status") R_CMD+=("$cmd_str")
}

# Warm the page cache so that every case reads from memory.
cat "$SAL" "$CT" "$CTGZ" "$PY_SAL" "$PY_CT" >/dev/null

SAL_N=$(records_of "$SAL")
CT_N=$(records_of "$CT")
PY_SAL_N=$(records_of "$PY_SAL")
PY_CT_N=$(records_of "$PY_CT")

measure "bucketwatch SAL (--log-type AWS.S3ServerAccess)" sal "$BYTES" "$SAL_N" "$BENCH_RUNS" 1 \
    "$BUCKETWATCH" parse --log-type AWS.S3ServerAccess "$SAL"
measure "bucketwatch SAL (classifier, no --log-type)" sal "$BYTES" "$SAL_N" "$BENCH_RUNS" 1 \
    "$BUCKETWATCH" parse "$SAL"
measure "bucketwatch CloudTrail (--log-type AWS.CloudTrail)" ct "$BYTES" "$CT_N" "$BENCH_RUNS" 1 \
    "$BUCKETWATCH" parse --log-type AWS.CloudTrail "$CT"
measure "bucketwatch CloudTrail .json.gz (MB of decompressed JSON)" ct "$BYTES" "$CT_N" "$BENCH_RUNS" 1 \
    "$BUCKETWATCH" parse --log-type AWS.CloudTrail "$CTGZ"
if ((BENCH_BIG == 1)); then
    cat "$BIG_CT" >/dev/null
    measure "bucketwatch CloudTrail 2x size (memory check)" ct $((2 * BYTES)) "$(records_of "$BIG_CT")" 1 1 \
        "$BUCKETWATCH" parse --log-type AWS.CloudTrail "$BIG_CT"
fi
measure "Python reference SAL (Athena regex + json.dumps)" py-sal "$(stat -c %s "$PY_SAL")" "$PY_SAL_N" "$PY_RUNS" 0 \
    "$PYTHON" "$HERE/reference/sal_regex.py" "$PY_SAL"
measure "Python reference CloudTrail (json.load + json.dumps)" py-ct "$PY_BYTES" "$PY_CT_N" "$PY_RUNS" 0 \
    "$PYTHON" "$HERE/reference/cloudtrail_json.py" "$PY_CT"

# ---------------------------------------------------------------------------------------------
# Report.

mbs_of() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / 1048576 / s; else print "" }'; }

PY_SAL_MBS="" PY_CT_MBS=""
for i in "${!R_NAME[@]}"; do
    [[ ${R_STATUS[$i]} == ok ]] || continue
    case ${R_GROUP[$i]} in
    py-sal) PY_SAL_MBS=$(mbs_of "${R_BYTES[$i]}" "${R_SECS[$i]}") ;;
    py-ct) PY_CT_MBS=$(mbs_of "${R_BYTES[$i]}" "${R_SECS[$i]}") ;;
    esac
done

DATA_FILES=("$SAL" "$CT" "$CTGZ" "$PY_SAL" "$PY_CT")
((BENCH_BIG == 1)) && DATA_FILES+=("$BIG_CT")
REPORT=$BENCH_DIR/report-$(date -u +%Y%m%dT%H%M%SZ).md
TARGET_MISSED=0

{
    echo "# bucketwatch parse benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (dirty work tree)')"
    echo
    echo "| case | input MB | records | seconds | MB/s | records/s | peak RSS MB | × Python |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    SAL_MBS="" SAL_RATIO="" CT_MBS="" CTGZ_MBS="" MAX_RSS=0
    for i in "${!R_NAME[@]}"; do
        name=${R_NAME[$i]} group=${R_GROUP[$i]} bytes=${R_BYTES[$i]} secs=${R_SECS[$i]}
        in_mb=$(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1048576 }')
        rss_mb=$(awk -v k="${R_RSS[$i]}" 'BEGIN { printf "%.1f", k / 1024 }')
        if [[ ${R_STATUS[$i]} != ok ]]; then
            echo "| $name | $in_mb | ${R_RECORDS[$i]} | ${R_STATUS[$i]} | | | | |"
            continue
        fi
        mbs=$(mbs_of "$bytes" "$secs")
        rps=$(awk -v n="${R_RECORDS[$i]}" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
        case $group in
        sal) ref=$PY_SAL_MBS ;;
        ct) ref=$PY_CT_MBS ;;
        *) ref="" ;;
        esac
        if [[ $group == py-* ]]; then
            ratio="1 (reference)"
        elif [[ -n $ref ]]; then
            ratio=$(awk -v a="$mbs" -v b="$ref" 'BEGIN { printf "%.1f×", a / b }')
        else
            ratio="–"
        fi
        runs=${R_RUNS[$i]}
        ((runs > 1)) && secs="$secs (best of $runs)"
        echo "| $name | $in_mb | ${R_RECORDS[$i]} | $secs | $mbs | $rps | $rss_mb | $ratio |"
        if [[ $group == sal || $group == ct ]]; then
            awk -v a="${R_RSS[$i]}" -v b="$MAX_RSS" 'BEGIN { exit !(a > b) }' && MAX_RSS=${R_RSS[$i]}
        fi
        case $name in
        *"--log-type AWS.S3ServerAccess"*) SAL_MBS=$mbs; [[ -n $ref ]] && SAL_RATIO=$(awk -v a="$mbs" -v b="$ref" 'BEGIN { printf "%.1f", a / b }') ;;
        *".json.gz"*) CTGZ_MBS=$mbs ;;
        *"--log-type AWS.CloudTrail"*) CT_MBS=$mbs ;;
        esac
    done
    echo
    echo "MB = 2^20 bytes of input (for .json.gz: of the decompressed JSON). Seconds are wall-clock"
    echo "time of \`taskset -c $BENCH_CPU /usr/bin/time ...\` (bash \$EPOCHREALTIME around it; peak RSS from"
    echo "\`/usr/bin/time\` %M), with the process pinned to core $BENCH_CPU. bucketwatch cases keep the best"
    echo "of $BENCH_RUNS runs; the Python references keep the best of $PY_RUNS (so a slow Python run cannot"
    echo "inflate the ratio) and run on ${PY_MB} MiB inputs (throughput is what is compared). Peak RSS is"
    echo "the maximum over the runs. Output goes to /dev/null; inputs are in the page cache."
    echo
    echo "## Targets"
    echo
    echo "| target | limit | measured | verdict |"
    echo "|---|---|---:|---|"
    check "access logs, MB/s per core" "$SAL_MBS" ">=" "$TARGET_SAL_MBS" "MB/s"
    check "access logs, × Python reference" "$SAL_RATIO" ">=" "$TARGET_SAL_RATIO" "×"
    check "CloudTrail plain, MB/s per core" "$CT_MBS" ">=" "$TARGET_CT_MBS" "MB/s"
    check "CloudTrail gzip, MB/s of decompressed JSON" "$CTGZ_MBS" ">=" "$TARGET_CT_MBS" "MB/s"
    check "peak RSS of any bucketwatch run" "$(awk -v k="$MAX_RSS" 'BEGIN { if (k > 0) printf "%.1f", k / 1024 }')" "<" "$TARGET_RSS_MB" "MB"
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
    echo "- $GEN_VERSION"
    echo
    echo "## Data"
    echo
    for f in "${DATA_FILES[@]}"; do
        echo "- \`$f\`: $(stat -c %s "$f") bytes; $(sed -n 3p "$f.meta" | sed 's/ seconds=.*//')"
    done
    echo
    echo "## Commands"
    echo
    echo '```sh'
    for i in "${!R_NAME[@]}"; do echo "${R_CMD[$i]}"; done
    echo '```'
} >"$REPORT"
cat "$REPORT"
log "report saved to $REPORT"

if ((FAILED)); then
    log "a bucketwatch case failed (non-zero exit or missing output); the numbers are not valid"
    exit 1
fi
if ((BENCH_STRICT == 1 && TARGET_MISSED == 1)); then
    log "a target was missed (BENCH_STRICT=1)"
    exit 3
fi
