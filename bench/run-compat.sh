#!/usr/bin/env bash
# Runs panther-analysis's own tests for its S3 content with `bucketwatch test`, unmodified, and
# prints the pass rates as a Markdown table.
#
#   bench/run-compat.sh PATH/TO/panther-analysis
#
# The content's third-party imports (bench/compat/requirements.txt, pinned as in its Pipfile) are
# installed into a virtualenv under $BENCH_DIR; bucketwatch makes an active VIRTUAL_ENV importable.
set -euo pipefail
cd "$(dirname "$0")/.."
pa=${1:?usage: bench/run-compat.sh PATH/TO/panther-analysis}
pa=$(cd "$pa" && pwd)
bench_dir=${BENCH_DIR:-$HOME/.cache/bucketwatch-bench}
target=${CARGO_TARGET_DIR:-$HOME/.cache/bucketwatch-target}
venv="$bench_dir/compat-venv"

cargo build --release -p bucketwatch >&2
bin="$target/release/bucketwatch"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q -r bench/compat/requirements.txt >&2
export VIRTUAL_ENV="$venv"

shared=("$pa/global_helpers" "$pa/data_models" "$pa/lookup_tables")
run() {
  local name=$1; shift
  local out
  out=$("$bin" test "$@" "${shared[@]}" 2>/dev/null | tail -n 1) || true
  printf '| %s | %s |\n' "$name" "$out"
}

echo "panther-analysis at $(git -C "$pa" log -1 --format='%h %cs' 2>/dev/null || echo "$pa")"
echo
echo "| content | bucketwatch test |"
echo "|---|---|"
run "S3 access-log rules (rules/aws_s3_rules)" "$pa/rules/aws_s3_rules"
run "CloudTrail S3 rules (rules/aws_cloudtrail_rules, S3 subset)" "$pa/rules/aws_cloudtrail_rules" \
  --filter "RuleID=AWS.S3.BucketDeleted,AWS.S3.BucketPolicyModified,AWS.S3.CopyObject.CrossAccount.Encryption.KMS,AWS.S3.CopyObjectToExternalAccountBucket,AWS.S3.CopyObjectWithClientSideEncryption,AWS.S3.DeleteBucketEncryption,AWS.S3.DeleteBucketReplication,AWS.S3.DeleteObject,AWS.S3.DeleteObjects,AWS.S3.DeletePublicAccessBlock,AWS.S3.DisableBucketLogging,AWS.S3.DisableMfaDelete,AWS.S3.SuspendVersioning,AWS.S3.SecurityControlDisabling,AWS.S3.RansomwareNoteUpload,AWS.CloudTrail.VPCE.S3ExternalIP,AWS.CloudTrail.VPCE.SensitiveAPICalls,AWS.CloudTrail.VPCE.AccessDenied,AWS.CloudTrail.VPCE.ExternalPrincipal,AWS.CloudTrail.ResourceMadePublic,AWS.CloudTrail.ShortLifecycle,Decoy.S3.Accessed"
run "all CloudTrail rules (rules/aws_cloudtrail_rules)" "$pa/rules/aws_cloudtrail_rules"
run "S3 bucket policies (policies/aws_s3_policies)" "$pa/policies/aws_s3_policies"
