#!/usr/bin/env bash
# Posture-scan benchmark: N buckets (default 1000) in a local moto server, in varied
# configurations, plus (by default) the peer fixtures of bench/scan/make_buckets.py; then, on that
# one moto state, a timed `bucketwatch scan` (release build) and a timed run of Prowler's S3
# checks (from PyPI, in its own virtualenv), and bench/scan/compare.py: findings per mapped pair
# of checks, every disagreement with its verdict. Prints a Markdown report on stdout (also saved
# under $BENCH_DIR); progress goes to stderr.
#
# Usage: bench/run-scan.sh [N]
# Knobs (environment):
#   BUCKETWATCH            use this bucketwatch binary instead of building one (release)
#   CARGO_TARGET_DIR       cargo build directory            (default $HOME/.cache/bucketwatch-target)
#   BUCKETWATCH_TEST_VENV  Python with boto3 and moto_server (default ./.venv, made by scripts/test)
#   CONCURRENCY            buckets bucketwatch reads at once (default 16)
#   PEER_FIXTURES          1: also the peer-NN-* fixture buckets (default 1)
#   PROWLER                1: run Prowler and the comparison; 0: bucketwatch only (default 1)
#   PROWLER_VERSION        Prowler release from PyPI         (default 5.46.0)
#   PROWLER_VENV           its virtualenv, made when missing (default $BENCH_DIR/prowler-venv)
#   PROWLER_PYTHON         interpreter for that virtualenv   (default python3; Prowler wants 3.10-3.13)
#   BENCH_DIR              reports and scratch               (default $HOME/.cache/bucketwatch-bench)
#   BENCH_STRICT           1: exit 3 when bucketwatch is not faster than Prowler or a
#                          disagreement is judged against bucketwatch or not judged (default 0)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=run-scan
# shellcheck source=bench/lib.sh
source bench/lib.sh

N=${1:-1000}
[[ $N =~ ^[0-9]+$ && $N -gt 0 ]] || die "N must be a positive integer (got '$N')"
VENV=${BUCKETWATCH_TEST_VENV:-$PWD/.venv}
[[ -x $VENV/bin/moto_server ]] || die "$VENV/bin/moto_server missing: run ./scripts/test once"
CONCURRENCY=${CONCURRENCY:-16}
PEER_FIXTURES=${PEER_FIXTURES:-1}
PROWLER=${PROWLER:-1}
PROWLER_VERSION=${PROWLER_VERSION:-5.46.0}
PROWLER_VENV=${PROWLER_VENV:-$BENCH_DIR/prowler-venv}
PROWLER_PYTHON=${PROWLER_PYTHON:-python3}
BENCH_STRICT=${BENCH_STRICT:-0}
BUCKETWATCH=${BUCKETWATCH:-}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/bucketwatch-target}

if [[ -n $BUCKETWATCH ]]; then
    [[ -x $BUCKETWATCH ]] || die "BUCKETWATCH=$BUCKETWATCH is not an executable"
    BIN=$BUCKETWATCH
else
    log "building bucketwatch (release)"
    cargo build --release --locked -p bucketwatch >&2
    BIN=$CARGO_TARGET_DIR/release/bucketwatch
fi

if [[ $PROWLER == 1 ]]; then
    # Prowler pins many dependencies (boto3 among them), so it gets a virtualenv of its own,
    # outside the repository and apart from the test virtualenv.
    if [[ "$("$PROWLER_VENV/bin/prowler" --version 2>/dev/null)" != "Prowler $PROWLER_VERSION" ]]; then
        log "installing prowler==$PROWLER_VERSION into $PROWLER_VENV (a few minutes)"
        "$PROWLER_PYTHON" -m venv "$PROWLER_VENV" || die "cannot make a virtualenv with $PROWLER_PYTHON"
        "$PROWLER_VENV/bin/pip" install --quiet "prowler==$PROWLER_VERSION" >&2 ||
            die "pip install prowler==$PROWLER_VERSION failed"
    fi
fi

WORK=$BENCH_DIR/scan-work
rm -rf "$WORK"
mkdir -p "$WORK"

PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# moto logs one line per request to stderr: the request count of each phase comes from there,
# measured the same way for both tools.
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >/dev/null 2>"$WORK/moto.log" &
MOTO=$!
trap 'kill $MOTO 2>/dev/null || true' EXIT
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
for _ in $(seq 100); do curl -sf "$AWS_ENDPOINT_URL/moto-api/" >/dev/null && break; sleep 0.1; done
curl -sf "$AWS_ENDPOINT_URL/moto-api/" >/dev/null || die "moto did not start on port $PORT (see $WORK/moto.log)"

requests() { grep -c '" [0-9][0-9][0-9] ' "$WORK/moto.log" || true; }
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

FIXTURE_ARG=()
[[ $PEER_FIXTURES == 1 ]] && FIXTURE_ARG=(--peer-fixtures)
log "creating $N buckets${FIXTURE_ARG:+ and the peer fixtures}"
"$VENV/bin/python" bench/scan/make_buckets.py "$N" "${FIXTURE_ARG[@]}"
BUCKETS=$("$VENV/bin/python" -c 'import boto3; print(len(boto3.client("s3").list_buckets()["Buckets"]))')

log "scanning with bucketwatch"
R0=$(requests)
START=$EPOCHREALTIME
set +e
"$BIN" scan --content content --format json --output "$WORK/bucketwatch.json" \
  --concurrency "$CONCURRENCY" 2>"$WORK/bucketwatch.err"
CODE=$?
set -e
BW_WALL=$(seconds_since "$START")
BW_REQUESTS=$(($(requests) - R0))
cat "$WORK/bucketwatch.err" >&2
[[ $CODE -le 1 ]] || die "scan failed with exit status $CODE"

PROWLER_WALL="" PROWLER_REQUESTS="" PROWLER_SCAN=""
if [[ $PROWLER == 1 ]]; then
    log "running Prowler $PROWLER_VERSION's S3 checks against the same moto"
    # `--service s3` runs every check of Prowler's S3 service (bucket and account level, access
    # points, MRAPs). No region filter: bucketwatch scans every Region too, and the cross-Region
    # replication fixture has its destination in eu-west-1. prowler_moto.py only makes the
    # s3control host resolve (see its docstring); exit code 3 ("some check failed") is expected.
    R0=$(requests)
    START=$EPOCHREALTIME
    set +e
    "$PROWLER_VENV/bin/python" bench/scan/prowler_moto.py aws --service s3 \
      --output-formats json-ocsf --output-directory "$WORK/prowler" --output-filename prowler \
      --no-banner --no-color --ignore-exit-code-3 --log-level ERROR --log-file "$WORK/prowler.log" \
      >"$WORK/prowler.out" 2>&1
    CODE=$?
    set -e
    PROWLER_WALL=$(seconds_since "$START")
    PROWLER_REQUESTS=$(($(requests) - R0))
    [[ $CODE -eq 0 ]] || die "Prowler failed with exit status $CODE (see $WORK/prowler.out)"
    [[ -s $WORK/prowler/prowler.ocsf.json ]] || die "Prowler wrote no findings (see $WORK/prowler.out)"
    # Its progress bar ends "... in 12.3s" or "... in 1:09.7": the checks with their API calls,
    # without start-up.
    PROWLER_SCAN=$(sed -n 's/.*Scan completed!.* in \([0-9:.]*\)s\{0,1\}[[:space:]]*$/\1/p' "$WORK/prowler.out" |
      tail -1 | awk -F: '{ printf "%.1f", NF == 2 ? $1 * 60 + $2 : $1 }')
    # Expected "not configured" answers are logged at ERROR level by Prowler; anything else is a
    # check that could not read moto, and the report says so.
    grep -v -e NotFoundError -e NoSuchPublicAccessBlockConfiguration -e '(404)' \
      "$WORK/prowler.log" >"$WORK/prowler-errors.log" || true
fi

REPORT=$BENCH_DIR/run-scan-$(date -u +%Y%m%dT%H%M%SZ).md
{
    if [[ $PROWLER == 1 ]]; then echo "## Posture scan: bucketwatch vs Prowler $PROWLER_VERSION"; else echo "## Posture scan"; fi
    echo
    echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'); \`nproc\` $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'),"
    echo "load average before the run $(cut -d' ' -f1-3 /proc/loadavg); moto $("$VENV/bin/python" -c 'import moto; print(moto.__version__)');"
    echo "command \`$(fmt_cmd bench/run-scan.sh "$N")\` (PEER_FIXTURES=$PEER_FIXTURES, CONCURRENCY=$CONCURRENCY); $BUCKETS buckets."
    echo
    echo "| measure | bucketwatch | Prowler |"
    echo "|---|---|---|"
    echo "| wall time, whole command | $BW_WALL s | ${PROWLER_WALL:+$PROWLER_WALL s} |"
    echo "| Prowler's own scan time (progress bar, no start-up) | – | ${PROWLER_SCAN:+$PROWLER_SCAN s} |"
    echo "| requests moto served | $BW_REQUESTS | $PROWLER_REQUESTS |"
    if [[ -n $PROWLER_WALL ]]; then
        awk -v b="$BW_WALL" -v p="$PROWLER_WALL" -v s="$PROWLER_SCAN" 'BEGIN {
            printf "| Prowler / bucketwatch, wall time | %.2f × |  |\n", p / b
            if (s != "") printf "| Prowler scan time / bucketwatch wall time | %.2f × |  |\n", s / b }'
    fi
    echo
    "$VENV/bin/python" - "$WORK/bucketwatch.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
print(f"bucketwatch's own count: {s['api_calls']} API calls ({s['api_calls_per_bucket']:.2f} per bucket), "
      f"{len(r['results'])} results: {s['pass']} pass, {s['fail']} fail, {s['unknown']} unknown, {s['error']} error.")
PY
    if [[ $PROWLER == 1 ]]; then
        echo
        if [[ -s $WORK/prowler-errors.log ]]; then
            echo "Prowler logged $(wc -l <"$WORK/prowler-errors.log") unexpected errors (first 5, in $WORK/prowler-errors.log):"
            echo
            head -5 "$WORK/prowler-errors.log" | cut -c1-300 | sed 's/^/    /'
        else
            echo "Prowler logged no errors beyond the expected \"not configured\" answers."
        fi
        echo
        "$VENV/bin/python" bench/scan/compare.py "$WORK/bucketwatch.json" "$WORK/prowler/prowler.ocsf.json" \
          | tee "$WORK/compare.md"
    fi
} | tee "$REPORT"
log "report saved as $REPORT; scratch in $WORK"

if [[ $BENCH_STRICT == 1 && $PROWLER == 1 ]]; then
    awk -v b="$BW_WALL" -v p="$PROWLER_WALL" 'BEGIN { exit !(b < p) }' ||
        { log "target missed: bucketwatch is not faster than Prowler"; exit 3; }
    "$VENV/bin/python" bench/scan/compare.py --strict "$WORK/bucketwatch.json" \
      "$WORK/prowler/prowler.ocsf.json" >/dev/null ||
        { log "target missed: a disagreement is judged against bucketwatch or not judged"; exit 3; }
fi
