#!/usr/bin/env bash
# Lake benchmark: ingest generated S3 access logs spread over 30 days into the lake, then run the
# seed tutorial's error query and four investigation queries with bucketwatch (DataFusion over
# Delta) and with DuckDB (its delta extension) over the same Parquet files, in the same run.
# Prints a Markdown report on stdout (also saved under $BENCH_DIR); progress goes to stderr.
#
# Knobs (environment):
#   BENCH_DIR         data and reports                          (default $HOME/.cache/bucketwatch-bench)
#   LAKE_ROWS         access-log rows to generate               (default 10000000)
#   LAKE_DAYS         days they are spread over                 (default 30)
#   LAKE_OBJECTS      objects per day                           (default 10)
#   DETECT_ROWS       rows of the ingest run with the built-in rules on (default one day's)
#   QUERY_RUNS        sessions per query and engine, and repeat runs in each (default 5)
#   CARGO_TARGET_DIR  (default $HOME/.cache/bucketwatch-target)
#   BUCKETWATCH, BW_GEN  use these binaries instead of building them
#   VENV              Python with duckdb + duckdb-ext-delta     (default ./.venv, made by scripts/test)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BENCH_NAME=run-lake
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

LAKE_ROWS=${LAKE_ROWS:-10000000}
LAKE_DAYS=${LAKE_DAYS:-30}
LAKE_OBJECTS=${LAKE_OBJECTS:-10}
QUERY_RUNS=${QUERY_RUNS:-5}
VENV=${VENV:-$ROOT/.venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/bucketwatch-target}
BUCKETWATCH=${BUCKETWATCH:-}
BW_GEN=${BW_GEN:-}

TARGET_INGEST_ROWS_S=200000
TARGET_QUERY_RATIO=1.5
TARGET_DAY_FRACTION=0.05

for v in LAKE_ROWS LAKE_DAYS LAKE_OBJECTS QUERY_RUNS; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v must be a positive integer (got '${!v}')"
done
((LAKE_DAYS <= 31)) || die "LAKE_DAYS must be at most 31 (the days of March 2026)"
DETECT_ROWS=${DETECT_ROWS:-$((LAKE_ROWS / LAKE_DAYS))}
[[ -x $VENV/bin/python ]] || die "$VENV/bin/python missing: run ./scripts/test once (it installs duckdb)"

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
GEN_VERSION=$("$BW_GEN" --version)

# ---------------------------------------------------------------------------------------------
# Data: one generated day of access logs (bw-gen writes 06/Feb/2019), re-dated into each day of
# March 2026 and cut into LAKE_OBJECTS objects per day.

DATA=$BENCH_DIR/lake-input-$LAKE_ROWS-$LAKE_DAYS-$LAKE_OBJECTS
STAMP="$GEN_VERSION rows=$LAKE_ROWS days=$LAKE_DAYS objects=$LAKE_OBJECTS"
per_day=$((LAKE_ROWS / LAKE_DAYS))
if [[ -f $DATA/.stamp && "$(cat "$DATA/.stamp")" == "$STAMP" ]]; then
    log "reusing $DATA"
else
    rm -rf "$DATA"
    mkdir -p "$DATA"
    day_file=$DATA/day.log
    # Lines average about 610 bytes: generate generously, then keep exactly per_day lines.
    log "generating one day of $per_day access-log lines"
    "$BW_GEN" sal --bytes $((per_day * 800)) --out "$day_file.all" --seed 7 2>/dev/null
    head -n "$per_day" "$day_file.all" >"$day_file"
    rm -f "$day_file.all"
    [[ $(wc -l <"$day_file") -eq $per_day ]] || die "bw-gen wrote fewer than $per_day lines"
    per_object=$(((per_day + LAKE_OBJECTS - 1) / LAKE_OBJECTS))
    for ((d = 1; d <= LAKE_DAYS; d++)); do
        dd=$(printf '%02d' "$d")
        mkdir -p "$DATA/day-$dd"
        sed "s#06/Feb/2019:#$dd/Mar/2026:#" "$day_file" |
            split -l "$per_object" -d -a 3 --additional-suffix=.log - "$DATA/day-$dd/access-"
    done
    rm -f "$day_file"
    echo "$STAMP" >"$DATA/.stamp"
fi
rows_total=$(cat "$DATA"/day-*/access-*.log | wc -l)
input_bytes=$(du -cb "$DATA"/day-*/access-*.log | tail -1 | cut -f1)
log "input: $rows_total rows, $((input_bytes / 1048576)) MiB in $(ls "$DATA"/day-*/ | grep -c '\.log$') objects"

# ---------------------------------------------------------------------------------------------
# Ingest.

EMPTY_CONTENT=$BENCH_DIR/empty-content
mkdir -p "$EMPTY_CONTENT"
LAKE_DATA=$BENCH_DIR/lake-data
rm -rf "$LAKE_DATA"

timed() { # OUTVAR CMD...: wall seconds of CMD
    local __var=$1
    shift
    local t0=$EPOCHREALTIME
    "$@"
    local t1=$EPOCHREALTIME
    printf -v "$__var" '%s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
}

log "ingest without rules (parse + lake) of $rows_total rows"
timed ingest_s in_use_peak "$BENCH_DIR/lake-ingest.in-use" /usr/bin/time -f '%M' -o "$BENCH_DIR/lake-ingest.rss" \
    "$BUCKETWATCH" ingest --data-dir "$LAKE_DATA" --content "$EMPTY_CONTENT" "$DATA" 2>"$BENCH_DIR/lake-ingest.log" ||
    { cat "$BENCH_DIR/lake-ingest.log" >&2; die "ingest failed"; }
ingest_rate=$(awk -v n="$rows_total" -v s="$ingest_s" 'BEGIN { printf "%.0f", n / s }')
ingest_rss_mb=$(awk '{ printf "%.0f", $1 / 1024 }' "$BENCH_DIR/lake-ingest.rss")
ingest_in_use_mb=$(awk '{ printf "%.0f", $1 / 1024 }' "$BENCH_DIR/lake-ingest.in-use")
log "ingest: $ingest_s s, $ingest_rate rows/s, peak RSS $ingest_rss_mb MB, peak in use $ingest_in_use_mb MB"

DETECT_DATA=$BENCH_DIR/lake-data-detect
rm -rf "$DETECT_DATA"
detect_days=$(((DETECT_ROWS + per_day - 1) / per_day))
detect_dirs=()
for ((d = 1; d <= detect_days && d <= LAKE_DAYS; d++)); do detect_dirs+=("$DATA/day-$(printf '%02d' "$d")"); done
detect_files=()
for d in "${detect_dirs[@]}"; do detect_files+=("$d"/access-*.log); done
detect_rows=$(cat "${detect_files[@]}" | wc -l)
log "ingest with the built-in rules of $detect_rows rows"
timed detect_s "$BUCKETWATCH" ingest --data-dir "$DETECT_DATA" --content "$ROOT/content" "${detect_dirs[@]}" 2>"$BENCH_DIR/lake-ingest-detect.log" ||
    { cat "$BENCH_DIR/lake-ingest-detect.log" >&2; die "ingest with rules failed"; }
detect_rate=$(awk -v n="$detect_rows" -v s="$detect_s" 'BEGIN { printf "%.0f", n / s }')
log "ingest with rules: $detect_s s, $detect_rate rows/s"

TABLE=$LAKE_DATA/lake/logs/aws_s3serveraccess
table_bytes=$(find "$TABLE" -name '*.parquet' -printf '%s\n' | awk '{ s += $1 } END { print s }')
files=$(find "$TABLE" -name '*.parquet' | wc -l)

# ---------------------------------------------------------------------------------------------
# Queries: the same five in both dialects. {T} is the access-log table, {V} the all-logs view.

DAY="2026-03-15"
NEXT="2026-03-16"
BUCKET=$(head -n 1 "$DATA/day-01/access-000.log" | awk '{ print $2 }')
IP=$(head -n 1 "$DATA/day-01/access-000.log" | awk '{ print $5 }')
names=(errors top-requesters ip-activity bytes-per-key ops-per-hour)
ours=(
    "SELECT requester, httpstatus, errorcode, count(*) AS n FROM logs.aws_s3serveraccess WHERE httpstatus IN (400, 403, 405) AND p_occurs_between('2026-03-10', '2026-03-17') GROUP BY 1, 2, 3 ORDER BY n DESC, 1, 2, 3 LIMIT 50"
    "SELECT requester, count(*) AS n FROM logs.aws_s3serveraccess WHERE bucket = '$BUCKET' GROUP BY 1 ORDER BY n DESC, 1 LIMIT 20"
    "SELECT p_table_name, count(*) AS n FROM views.all_logs WHERE array_has(p_any_ip_addresses, '$IP') GROUP BY 1 ORDER BY 1"
    "SELECT key, sum(bytessent) AS bytes FROM logs.aws_s3serveraccess WHERE p_occurs_between('$DAY', '$NEXT') GROUP BY 1 ORDER BY bytes DESC, 1 LIMIT 20"
    "SELECT CAST(date_trunc('hour', p_event_time) AS VARCHAR) AS hour, count(DISTINCT operation) AS ops FROM logs.aws_s3serveraccess GROUP BY 1 ORDER BY 1 LIMIT 1000"
)
# The hour is text in both engines: DuckDB's Python client needs pytz to return TIMESTAMPTZ.
theirs=(
    "SELECT requester, httpstatus, errorcode, count(*) AS n FROM {T} WHERE httpstatus IN (400, 403, 405) AND p_event_time >= TIMESTAMPTZ '2026-03-10 00:00:00+00' AND p_event_time < TIMESTAMPTZ '2026-03-17 00:00:00+00' AND p_event_date BETWEEN DATE '2026-03-10' AND DATE '2026-03-17' GROUP BY 1, 2, 3 ORDER BY n DESC, 1, 2, 3 LIMIT 50"
    "SELECT requester, count(*) AS n FROM {T} WHERE bucket = '$BUCKET' GROUP BY 1 ORDER BY n DESC, 1 LIMIT 20"
    "SELECT 'aws_s3serveraccess' AS p_table_name, count(*) AS n FROM {T} WHERE list_contains(p_any_ip_addresses, '$IP') GROUP BY 1 ORDER BY 1"
    "SELECT key, sum(bytessent) AS bytes FROM {T} WHERE p_event_time >= TIMESTAMPTZ '$DAY 00:00:00+00' AND p_event_time < TIMESTAMPTZ '$NEXT 00:00:00+00' AND p_event_date BETWEEN DATE '$DAY' AND DATE '$NEXT' GROUP BY 1 ORDER BY bytes DESC, 1 LIMIT 20"
    "SELECT CAST(date_trunc('hour', p_event_time) AS VARCHAR) AS hour, count(DISTINCT operation) AS ops FROM {T} GROUP BY 1 ORDER BY 1 LIMIT 1000"
)

# Each engine runs each query in QUERY_RUNS fresh sessions (new processes), QUERY_RUNS + 1 times
# per session. "first" is the best first run of a session: opening the tables, planning and
# running, process start excluded. "warm" is the best of the later runs: code, allocator and
# Parquet metadata caches warm, as in a long-lived session (the service's scheduled queries, a
# console). Both engines are measured the same way; the target compares the warm figures.
best_first_warm() { # lines "first|warm SECONDS" -> "best-first best-warm"
    awk '{ if (!($1 in b) || $2 < b[$1]) b[$1] = $2 } END { print b["first"], b["warm"] }'
}

our_times() { # SQL -> "first warm" seconds, from bucketwatch's "N rows in X s" per statement
    local sql=$1 i j script=
    for ((j = 0; j <= QUERY_RUNS; j++)); do script+="$sql;"$'\n'; done
    for ((i = 0; i < QUERY_RUNS; i++)); do
        "$BUCKETWATCH" query --data-dir "$LAKE_DATA" --format csv "$script" 2>&1 >/dev/null |
            awk '/ rows? in / { print (n++ ? "warm" : "first"), $(NF-1) }'
    done | best_first_warm
}

DUCK_SCRIPT=$BENCH_DIR/lake-duckdb.py
cat >"$DUCK_SCRIPT" <<'EOF'
import glob, os, sys, time
import duckdb
table, runs, sql = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ext = glob.glob(os.path.join(sys.prefix, "lib", "python*", "site-packages", "duckdb_ext", "extensions", "*", "*", "delta.duckdb_extension"))[0]
con = duckdb.connect()
con.execute(f"LOAD '{ext}'")
con.execute("SET TimeZone = 'UTC'")
sql = sql.replace("{T}", f"delta_scan('{table}')")
for run in range(runs + 1):
    t0 = time.perf_counter()
    con.execute(sql).fetchall()
    print("warm" if run else "first", f"{time.perf_counter() - t0:.3f}")
EOF

duck_times() { # SQL -> "first warm" seconds, as our_times
    local sql=$1 i
    for ((i = 0; i < QUERY_RUNS; i++)); do
        "$VENV/bin/python" "$DUCK_SCRIPT" "$TABLE" "$QUERY_RUNS" "$sql"
    done | best_first_warm
}

# The ingest above left the lake's files as dirty pages: flush them now, or the kernel's
# writeback competes with the first engine's queries and not the second's.
sync
results=()
for i in "${!names[@]}"; do
    log "query ${names[$i]}"
    read -r o_first o_warm <<<"$(our_times "${ours[$i]}")"
    read -r d_first d_warm <<<"$(duck_times "${theirs[$i]}")"
    results+=("${names[$i]} $o_first $o_warm $d_first $d_warm")
done

# Bytes a one-day query reads: DataFusion's bytes_scanned from EXPLAIN ANALYZE.
scanned=$("$BUCKETWATCH" query --data-dir "$LAKE_DATA" --format csv \
    "EXPLAIN ANALYZE SELECT key, sum(bytessent) FROM logs.aws_s3serveraccess WHERE p_occurs_between('$DAY', '$NEXT') GROUP BY 1" 2>/dev/null |
    grep -o 'bytes_scanned=[0-9.]* *[KMG]*B\?' | head -1 | sed 's/bytes_scanned=//')
scanned_bytes=$(echo "$scanned" | awk '{ v = $1; u = $2; sub(/B$/, "", u); if (u == "K") v *= 1024; else if (u == "M") v *= 1048576; else if (u == "G") v *= 1073741824; printf "%.0f", v }')
fraction=$(awk -v s="$scanned_bytes" -v t="$table_bytes" 'BEGIN { printf "%.4f", s / t }')

# ---------------------------------------------------------------------------------------------
# Report.

report=$BENCH_DIR/run-lake-$(date -u +%Y%m%dT%H%M%SZ).md
{
    echo "### Lake benchmark ($(date -u +%Y-%m-%d), \`bench/run-lake.sh\`)"
    echo
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ { print $2 }') GiB RAM."
    echo "Input: $rows_total access-log rows over $LAKE_DAYS days in $((LAKE_DAYS * LAKE_OBJECTS)) objects ($((input_bytes / 1048576)) MiB); generator $GEN_VERSION."
    echo "Lake: logs.aws_s3serveraccess = $files Parquet files, $((table_bytes / 1048576)) MiB."
    echo
    echo "| measure | target | result | verdict |"
    echo "|---|---|---|---|"
    check "ingest, parse + lake (no rules), rows/s" "$ingest_rate" ">=" "$TARGET_INGEST_ROWS_S" "rows/s"
    echo "| ingest with the built-in rules ($detect_rows rows), rows/s | – | $detect_rate rows/s | – |"
    echo "| ingest peak RSS | – | $ingest_rss_mb MB | – |"
    echo "| ingest peak memory in use (RSS less lazily freed pages, sampled) | – | $ingest_in_use_mb MB | – |"
    check "one-day query: bytes read / table bytes" "$fraction" "<=" "$TARGET_DAY_FRACTION" ""
    for r in "${results[@]}"; do
        read -r name o_first o_warm d_first d_warm <<<"$r"
        ratio=$(awk -v o="$o_warm" -v d="$d_warm" 'BEGIN { printf "%.2f", o / d }')
        check "query $name, warm: bucketwatch ${o_warm} s / DuckDB ${d_warm} s" "$ratio" "<=" "$TARGET_QUERY_RATIO" "×"
    done
    for r in "${results[@]}"; do
        read -r name o_first o_warm d_first d_warm <<<"$r"
        ratio=$(awk -v o="$o_first" -v d="$d_first" 'BEGIN { printf "%.2f", o / d }')
        echo "| query $name, first run of a session: bucketwatch ${o_first} s / DuckDB ${d_first} s | – | $ratio × | – |"
    done
    echo
    echo "Each engine ran each query in $QUERY_RUNS fresh processes, $((QUERY_RUNS + 1)) times in each. \"first\" is the"
    echo "best first run of a process (bucketwatch: its own \"rows in X s\", opening the session and tables,"
    echo "planning and running, process start excluded; DuckDB: \`delta_scan\` of the same table, the"
    echo "extension already loaded). \"warm\" is the best of the later runs in the same session. One-day"
    echo "bytes: DataFusion's bytes_scanned ($scanned) over the table's Parquet bytes."
} | tee "$report"
log "report saved to $report"
