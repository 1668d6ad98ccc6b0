#!/usr/bin/env bash
# Service benchmark: `bucketwatch run` end to end through moto. Generated S3 access logs are
# uploaded to a moto bucket whose ObjectCreated notifications go to an SQS queue the service
# reads; the figures are events/s from the first PutObject until every row is committed to the
# lake, the latency from PutObject to the alert at a local webhook (p50, p99), and the service's
# peak RSS. `bucketwatch ingest` of the same files from a local folder runs in the same session
# as the reference point, so the service's overhead (queue, S3 reads, batching) is visible.
# Prints a Markdown report on stdout (also saved under $BENCH_DIR); progress goes to stderr.
#
# Knobs (environment):
#   BENCH_DIR         data, scratch and reports                  (default $HOME/.cache/bucketwatch-bench)
#   SERVICE_EVENTS    access-log lines uploaded for the throughput phase (default 1000000)
#   SERVICE_OBJECTS   objects they are cut into                  (default 20, ~30 MB each at 1 M lines)
#   UPLOAD_THREADS    concurrent PutObject calls                 (default 2)
#   LATENCY_OBJECTS   one-line objects for the latency phase     (default 50; 0 skips the phase)
#   LATENCY_GAP       seconds between them                       (default 0.5)
#   SERVICE_TIMEOUT   seconds the throughput phase may take      (default 1800)
#   SERVICE_LANDED    1: also the "landed" phase: the same objects already in S3, their
#                     notifications released at once, so no upload is in the clock (default 1)
#   SERVICE_INGEST    1: also time `bucketwatch ingest` of the same files (default 1)
#   SERVICE_CONFIG_EXTRA  TOML appended to the generated bucketwatch.toml, e.g.
#                     $'[batch]\nmax_objects = 10' (default none: the default batching)
#   BENCH_STRICT      1: exit 3 when a target is missed          (default 0)
#   BENCH_SEED        generator seed                             (default 7)
#   CARGO_TARGET_DIR  (default $HOME/.cache/bucketwatch-target)
#   BUCKETWATCH, BW_GEN  use these binaries instead of building them (release)
#   VENV              Python with boto3 and moto[server]         (default ./.venv, made by scripts/test)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BENCH_NAME=run-service
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

SERVICE_EVENTS=${SERVICE_EVENTS:-1000000}
SERVICE_OBJECTS=${SERVICE_OBJECTS:-20}
UPLOAD_THREADS=${UPLOAD_THREADS:-2}
LATENCY_OBJECTS=${LATENCY_OBJECTS:-50}
LATENCY_GAP=${LATENCY_GAP:-0.5}
SERVICE_TIMEOUT=${SERVICE_TIMEOUT:-1800}
SERVICE_LANDED=${SERVICE_LANDED:-1}
SERVICE_INGEST=${SERVICE_INGEST:-1}
SERVICE_CONFIG_EXTRA=${SERVICE_CONFIG_EXTRA:-}
BENCH_STRICT=${BENCH_STRICT:-0}
BENCH_SEED=${BENCH_SEED:-7}
VENV=${VENV:-$ROOT/.venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/bucketwatch-target}
BUCKETWATCH=${BUCKETWATCH:-}
BW_GEN=${BW_GEN:-}

TARGET_EVENTS_S=100000
TARGET_P50_S=2
TARGET_RSS_MB=500

for v in SERVICE_EVENTS SERVICE_OBJECTS UPLOAD_THREADS SERVICE_TIMEOUT; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ $LATENCY_OBJECTS =~ ^[0-9]+$ ]] || die "LATENCY_OBJECTS must be a whole number (got '$LATENCY_OBJECTS')"
[[ $LATENCY_GAP =~ ^[0-9]*\.?[0-9]+$ ]] || die "LATENCY_GAP must be a number of seconds (got '$LATENCY_GAP')"
((SERVICE_OBJECTS <= SERVICE_EVENTS)) || die "SERVICE_OBJECTS must not exceed SERVICE_EVENTS"
PY=$VENV/bin/python
[[ -x $PY && -x $VENV/bin/moto_server ]] || die "$VENV/bin/python or moto_server missing: run ./scripts/test once (or set VENV)"
"$PY" -c 'import boto3' 2>/dev/null || die "$PY cannot import boto3"

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
"$BUCKETWATCH" run --help >/dev/null 2>&1 || die "$BUCKETWATCH has no \`run\` command"
GEN_VERSION=$("$BW_GEN" --version)

# ---------------------------------------------------------------------------------------------
# Data: SERVICE_EVENTS generated access-log lines cut into SERVICE_OBJECTS files (large objects,
# so that moto handles few requests).

DATA=$BENCH_DIR/service-input-$SERVICE_EVENTS-$SERVICE_OBJECTS
STAMP="$GEN_VERSION events=$SERVICE_EVENTS objects=$SERVICE_OBJECTS seed=$BENCH_SEED"
if [[ -f $DATA/.stamp && "$(cat "$DATA/.stamp")" == "$STAMP" ]]; then
    log "reusing $DATA"
else
    rm -rf "$DATA"
    mkdir -p "$DATA"
    all=$DATA/all.tmp
    bytes=$((SERVICE_EVENTS * 700)) # ~607 bytes a line on average
    while :; do
        log "generating $SERVICE_EVENTS access-log lines ($((bytes / 1048576)) MiB of bw-gen output)"
        "$BW_GEN" sal --bytes "$bytes" --out "$all" --seed "$BENCH_SEED" 2>/dev/null
        (($(wc -l <"$all") > SERVICE_EVENTS)) && break # the last line is padded: never keep it
        bytes=$((bytes * 2))
    done
    per_object=$(((SERVICE_EVENTS + SERVICE_OBJECTS - 1) / SERVICE_OBJECTS))
    head -n "$SERVICE_EVENTS" "$all" | split -l "$per_object" -d -a 4 --additional-suffix=.log - "$DATA/access-"
    rm -f "$all" "$all.meta"
    echo "$STAMP" >"$DATA/.stamp"
fi
events=$(cat "$DATA"/access-*.log | wc -l)
((events == SERVICE_EVENTS)) || die "$DATA holds $events lines, not $SERVICE_EVENTS"
objects=$(find "$DATA" -name 'access-*.log' | wc -l)
input_bytes=$(du -cb "$DATA"/access-*.log | tail -1 | cut -f1)
log "input: $events lines, $((input_bytes / 1048576)) MiB in $objects objects"

# ---------------------------------------------------------------------------------------------
# Run.

WORK=$BENCH_DIR/service-work
rm -rf "$WORK"
mkdir -p "$WORK"
RESULTS=$WORK/results.env
drive=("$PY" "$HERE/service/drive.py"
    --bucketwatch "$BUCKETWATCH" --content "$ROOT/content" --input "$DATA" --events "$events"
    --work "$WORK" --results "$RESULTS" --upload-threads "$UPLOAD_THREADS"
    --latency-objects "$LATENCY_OBJECTS" --latency-gap "$LATENCY_GAP" --timeout "$SERVICE_TIMEOUT")
((SERVICE_INGEST == 1)) || drive+=(--no-ingest)
((SERVICE_LANDED == 1)) || drive+=(--no-landed)
[[ -z $SERVICE_CONFIG_EXTRA ]] || drive+=(--config-extra "$SERVICE_CONFIG_EXTRA")
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
FAILED=0
"${drive[@]}" || FAILED=1
[[ -f $RESULTS ]] || die "the driver wrote no results"
# shellcheck disable=SC1090
source "$RESULTS"

# ---------------------------------------------------------------------------------------------
# Report.

num() { awk -v v="$1" -v f="$2" 'BEGIN { if (v != "") printf f, v; else printf "–" }'; }
mb() { num "$(awk -v k="$1" 'BEGIN { if (k != "") print k / 1024 }')" '%.0f'; }
REPORT=$BENCH_DIR/run-service-$(date -u +%Y%m%dT%H%M%SZ).md
TARGET_MISSED=0
{
    echo "### Service benchmark ($(date -u +%Y-%m-%d), \`bench/run-service.sh\`)"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (dirty work tree)'); binary \`$BUCKETWATCH\`."
    echo
    echo "Input: $events access-log lines ($((input_bytes / 1048576)) MiB) in $objects objects, uploaded with PutObject"
    echo "$UPLOAD_THREADS at a time to moto ${MOTO_VERSION:-?} (boto3 ${BOTO3_VERSION:-?}); bucket notifications go straight to an SQS queue;"
    echo "the service reads it with \`wait_time_secs = 1\`, default batching and delivery, the built-in content,"
    echo "the lake and alert store on local disk. $GEN_VERSION, seed $BENCH_SEED."
    [[ -z $SERVICE_CONFIG_EXTRA ]] || echo "Configuration added (SERVICE_CONFIG_EXTRA): \`$(echo "$SERVICE_CONFIG_EXTRA" | tr '\n' ' ')\`."
    [[ -z ${ERROR:-} ]] || { echo; echo "**The run failed:** $ERROR (see \`$WORK\`). Figures below are partial."; }
    echo
    echo "| measure | target | result | verdict |"
    echo "|---|---|---|---|"
    check "events/s, first PutObject → last row committed (built-in rules on)" "${EVENTS_PER_S:-}" ">=" "$TARGET_EVENTS_S" "events/s"
    if ((SERVICE_LANDED == 1)); then
        check "events/s, objects already landed: notifications released → last row committed" "${LANDED_EVENTS_PER_S:-}" ">=" "$TARGET_EVENTS_S" "events/s"
    fi
    check "latency PutObject → alert at the webhook, p50 ($LATENCY_OBJECTS alerts)" "${LATENCY_P50_S:-}" "<" "$TARGET_P50_S" "s"
    echo "| latency, p99 | – | ${LATENCY_P99_S:-–} s | – |"
    rss=$(mb "${PEAK_RSS_KB:-}")
    check "service peak RSS (VmHWM before SIGTERM)" "${rss#–}" "<" "$TARGET_RSS_MB" "MB"
    if [[ -n ${INGEST_EVENTS_PER_S:-} ]]; then
        ratio() { awk -v a="$1" -v b="$INGEST_EVENTS_PER_S" 'BEGIN { if (a != "") printf "%.2f", a / b; else printf "–" }'; }
        echo "| reference: \`bucketwatch ingest\` of the same files, events/s | – | $INGEST_EVENTS_PER_S events/s | streaming = $(ratio "${EVENTS_PER_S:-}") ×, landed = $(ratio "${LANDED_EVENTS_PER_S:-}") × ingest |"
        echo "| reference: \`bucketwatch ingest\` peak RSS | – | $(mb "${INGEST_RSS_KB:-}") MB | – |"
    fi
    echo
    echo "| throughput phase | figure |"
    echo "|---|---|"
    echo "| streaming: first PutObject → last row committed | ${THROUGHPUT_S:-–} s |"
    echo "| streaming: of which uploading to moto (first PutObject start → last PutObject end) | ${UPLOAD_S:-–} s (${UPLOAD_MBS:-–} MiB/s) |"
    echo "| streaming: last PutObject end → last row committed | ${TAIL_S:-–} s |"
    echo "| streaming: first PutObject → first rows committed | ${FIRST_ROWS_S:-–} s |"
    echo "| streaming: CPU seconds of service / moto / uploader (driver) | ${STREAM_CPU_SERVICE_S:-–} / ${STREAM_CPU_MOTO_S:-–} / ${STREAM_CPU_DRIVER_S:-–} |"
    echo "| streaming: lake commits (bucketwatch_lake_commit_seconds count, sum) | ${COMMITS:-–}, $(num "${COMMIT_SUM_S:-}" '%.2f') s |"
    echo "| streaming: events in / rows committed / classification failures | ${EVENTS_IN:-–} / ${ROWS_COMMITTED:-–} / ${CLASSIFICATION_FAILURES:-–} |"
    echo "| streaming: rule matches / rule errors / alerts created | ${RULE_MATCHES:-–} / ${RULE_ERRORS:-–} / ${ALERTS_CREATED:-–} |"
    if ((SERVICE_LANDED == 1)); then
        echo "| landed: uploading (not timed) | ${LANDED_UPLOAD_S:-–} s |"
        echo "| landed: notifications released → last row committed | ${LANDED_S:-–} s (moving them took ${LANDED_FORWARD_S:-–} s) |"
        echo "| landed: notifications released → first rows committed | ${LANDED_FIRST_ROWS_S:-–} s |"
        echo "| landed: CPU seconds of service / moto / driver | ${LANDED_CPU_SERVICE_S:-–} / ${LANDED_CPU_MOTO_S:-–} / ${LANDED_CPU_DRIVER_S:-–} |"
    fi
    echo
    echo "| latency phase and shutdown | figure |"
    echo "|---|---|"
    echo "| alerts received / objects sent | ${LATENCY_RECEIVED:-–} / ${LATENCY_SENT:-$LATENCY_OBJECTS} (one every $LATENCY_GAP s) |"
    echo "| latency min / p50 / p99 / max | ${LATENCY_MIN_S:-–} / ${LATENCY_P50_S:-–} / ${LATENCY_P99_S:-–} / ${LATENCY_MAX_S:-–} s |"
    echo "| webhook deliveries (distinct alerts) / alerts created in total | ${WEBHOOK_DELIVERIES:-–} (${WEBHOOK_ALERTS:-–}) / ${ALERTS_TOTAL:-–} |"
    echo "| service start (spawn → /metrics answers) | ${START_S:-–} s |"
    echo "| RSS at the end / threads | $(mb "${RSS_AT_END_KB:-}") MB / ${THREADS:-–} |"
    echo "| SIGTERM → exit (status) | ${STOP_S:-–} s (${EXIT:-–}) |"
    echo "| batches (from the service's last log line) | ${BATCHES:-–} |"
    echo "| ERROR / WARN lines in the service log | ${LOG_ERRORS:-–} / ${LOG_WARNINGS:-–} |"
    echo
    echo "Streaming events/s: lines uploaded / seconds from the start of the first PutObject until"
    echo "\`bucketwatch_lake_rows_total{table=\"logs.aws_s3serveraccess\"}\` had grown by them (polled every 0.1 s;"
    echo "the service was up and idle before). It includes the uploads, which share the 2 cores with the"
    echo "service: moto's and the uploader's CPU seconds above are what simulating S3 costs. Landed events/s:"
    echo "the same objects uploaded again under another prefix whose notifications went to a queue the"
    echo "service does not read; once all were in S3, the notifications were moved to the service's queue"
    echo "in one go and the clock started: S3 reads (moto GetObject) and the queue remain, uploads do not."
    echo "Latency: from the start of each one-line PutObject (a plain-HTTP REST.GET.OBJECT, distinct"
    echo "requester, so one new \`BucketWatch.S3Access.InsecureTransport\` alert each) to the webhook's receipt"
    echo "of that alert; nearest-rank percentiles. The reference \`bucketwatch ingest\` runs after the service"
    echo "and moto stopped, from the local files, with the same content and \`--log-type\`; its time includes"
    echo "process start and loading the rules, which the service did before its clock started."
    echo
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"
    echo "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr); load average $load_start at start,"
    echo "$(cut -d' ' -f1-3 /proc/loadavg) at the end; $("$PY" --version 2>&1)."
    echo
    echo "Commands (scratch, logs, metrics.txt and bucketwatch.toml in \`$WORK\`):"
    echo
    echo '```sh'
    knobs=()
    for v in BENCH_DIR SERVICE_EVENTS SERVICE_OBJECTS UPLOAD_THREADS LATENCY_OBJECTS LATENCY_GAP SERVICE_LANDED SERVICE_INGEST SERVICE_CONFIG_EXTRA BENCH_SEED BUCKETWATCH BW_GEN VENV; do
        [[ -z ${!v} ]] || knobs+=("$v=${!v}")
    done
    echo "$(fmt_cmd env "${knobs[@]}" bench/run-service.sh)"
    echo "$(fmt_cmd "${drive[@]}")"
    echo "${SERVICE_CMD:-}"
    echo "${INGEST_CMD:-}"
    echo '```'
} >"$REPORT"
cat "$REPORT"
log "report saved to $REPORT"

if ((FAILED)); then
    log "the run failed: ${ERROR:-see stderr}; the figures are not valid"
    exit 1
fi
if ((BENCH_STRICT == 1 && TARGET_MISSED == 1)); then
    log "a target was missed (BENCH_STRICT=1)"
    exit 3
fi
