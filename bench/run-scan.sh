#!/usr/bin/env bash
# Posture-scan benchmark: N buckets (default 1000) in a local moto server, in varied
# configurations, then a timed `bucketwatch scan` (release build) over them. Prints wall time,
# API calls per bucket (counted by the scanner) and the result counts.
# Usage: bench/run-scan.sh [N]   Environment: BUCKETWATCH_TEST_VENV (moto's virtualenv, default
# .venv), CARGO_TARGET_DIR, CONCURRENCY (default 16).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=run-scan
source bench/lib.sh

N=${1:-1000}
VENV=${BUCKETWATCH_TEST_VENV:-$PWD/.venv}
[[ -x $VENV/bin/moto_server ]] || die "$VENV/bin/moto_server missing: run ./scripts/test once"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/bucketwatch-target}

log "building bucketwatch (release)"
cargo build --release --locked -p bucketwatch >&2
BIN=$CARGO_TARGET_DIR/release/bucketwatch

PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null || true' EXIT
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
for _ in $(seq 100); do curl -sf "$AWS_ENDPOINT_URL/moto-api/" >/dev/null && break; sleep 0.1; done

log "creating $N buckets"
"$VENV/bin/python" - "$N" <<'PY'
import json, sys, boto3
n = int(sys.argv[1])
s3 = boto3.client("s3", endpoint_url=__import__("os").environ["AWS_ENDPOINT_URL"])
for i in range(n):
    b = f"bench-{i:05d}"
    s3.create_bucket(Bucket=b)
    kind = i % 10
    if kind == 0:
        s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Statement": [{"Effect": "Allow",
            "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/*"}]}))
    elif kind == 1:
        s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Statement": [{"Effect": "Deny",
            "Principal": "*", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    elif kind == 2:
        s3.put_bucket_acl(Bucket=b, ACL="public-read")
    elif kind == 3:
        s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={k: True for k in
            ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"]})
    elif kind == 4:
        s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
    elif kind == 5:
        s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    elif kind == 6:
        s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
            {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 30}}]})
    elif kind == 7:
        s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "team", "Value": "t"}]})
    elif kind == 8:
        s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [
            {"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]}]})
PY

log "scanning"
START=$(date +%s.%N)
set +e
"$BIN" scan --content content --format json --output /tmp/bucketwatch-bench-scan.json \
  --concurrency "${CONCURRENCY:-16}" 2>/tmp/bucketwatch-bench-scan.err
CODE=$?
set -e
END=$(date +%s.%N)
cat /tmp/bucketwatch-bench-scan.err >&2
[[ $CODE -le 1 ]] || die "scan failed with exit status $CODE"
WALL=$(awk -v a="$START" -v b="$END" 'BEGIN { printf "%.2f", b - a }')
"$VENV/bin/python" - "$WALL" "$N" <<'PY'
import json, sys
r = json.load(open("/tmp/bucketwatch-bench-scan.json"))
s = r["summary"]
print(f"| buckets | {sys.argv[2]} |")
print(f"| wall time (scan + evaluation) | {sys.argv[1]} s |")
print(f"| API calls | {s['api_calls']} ({s['api_calls_per_bucket']:.2f} per bucket) |")
print(f"| results | {len(r['results'])}: {s['pass']} pass, {s['fail']} fail, {s['unknown']} unknown, {s['error']} error |")
PY
