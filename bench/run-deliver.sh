#!/usr/bin/env bash
# Delivery benchmark: the outbox's cost on `record` and deliveries per second to a local webhook,
# from crates/alert/benches/deliver.rs built with the release (bench) profile. Prints a Markdown
# report on stdout; progress goes to stderr.
#
# Knobs (environment):
#   DELIVER_ALERTS    alerts recorded and delivered per case (default 5000)
#   DELIVER_RUNS      timed runs per case, best kept (default 3)
#   BENCH_CPU         cores to pin to with taskset (default: unpinned)
#   CARGO_TARGET_DIR  (default $HOME/.cache/bucketwatch-target)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BENCH_NAME=run-deliver
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/bucketwatch-target}
export DELIVER_ALERTS=${DELIVER_ALERTS:-5000}
export DELIVER_RUNS=${DELIVER_RUNS:-3}

log "building the deliver bench (release profile)"
(cd "$ROOT" && cargo bench -p bucketwatch-alert --bench deliver --no-run) >&2 \
    || die "cargo bench --no-run failed"

pin=()
[[ -n ${BENCH_CPU:-} ]] && pin=(taskset -c "$BENCH_CPU")

echo "## Alert delivery"
echo
echo "Machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); load $(cut -d' ' -f1-3 /proc/loadavg) at start."
echo "Command: \`$(fmt_cmd bench/run-deliver.sh)\` (DELIVER_ALERTS=$DELIVER_ALERTS, DELIVER_RUNS=$DELIVER_RUNS, best run kept)."
echo
echo "| case | work | per item | rate |"
echo "|---|---|---|---|"
log "running"
(cd "$ROOT" && "${pin[@]}" cargo bench -q -p bucketwatch-alert --bench deliver)
