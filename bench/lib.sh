# Shell helpers shared by the benchmark drivers (sourced, not run). Each driver sets
# BENCH_NAME (the prefix of its log lines) before sourcing this file.

log() { echo "$BENCH_NAME: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Timings read EPOCHREALTIME; every driver keeps its data and reports under BENCH_DIR.
[[ -n ${EPOCHREALTIME:-} ]] || die "needs bash >= 5 (EPOCHREALTIME)"
BENCH_DIR=${BENCH_DIR:-$HOME/.cache/bucketwatch-bench}

fresh() { # FILE STAMP: the file exists, its meta has STAMP and the recorded size matches
    local file=$1 stamp=$2
    [[ -f $file && -f $file.meta ]] || return 1
    [[ "$(sed -n 1p "$file.meta")" == "$stamp" ]] || return 1
    [[ "$(stat -c %s "$file")" == "$(sed -n 2p "$file.meta")" ]]
}

# Runs CMD... and writes to OUTFILE the peak, in KiB, of the memory its process has in use:
# `Rss` less `LazyFree` (pages freed with MADV_FREE, which the kernel takes back whenever memory
# runs short, but which `Rss` and /usr/bin/time's %M still count), sampled every 0.1 s. Under
# /usr/bin/time the process sampled is time's only child. Returns CMD's exit status.
in_use_peak() { # OUTFILE CMD...
    local out=$1 pid target peak=0 used status=0
    shift
    "$@" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        target=$(pgrep -P "$pid" | head -n 1) || true
        used=$(awk '/^Rss:/ { r = $2 } /^LazyFree:/ { l = $2 } END { print r - l }' \
            "/proc/${target:-$pid}/smaps_rollup" 2>/dev/null) || used=0
        ((${used:-0} > peak)) && peak=$used
        sleep 0.1
    done
    wait "$pid" || status=$?
    echo "$peak" >"$out"
    return "$status"
}

fmt_cmd() { local out="" a; for a in "$@"; do out+="${out:+ }$(printf '%q' "$a")"; done; echo "$out"; }

check() { # LABEL VALUE OP LIMIT UNIT
    local label=$1 value=$2 op=$3 limit=$4 unit=$5 verdict
    if [[ -z $value ]]; then
        verdict="n/a"
    elif awk -v v="$value" -v l="$limit" -v op="$op" 'BEGIN { exit !((op == ">=" && v >= l) || (op == "<=" && v <= l) || (op == "<" && v < l)) }'; then
        verdict="PASS"
    else
        verdict="FAIL"
        TARGET_MISSED=1
    fi
    echo "| $label | $op $limit $unit | ${value:-–} $unit | $verdict |"
}
