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
