#!/usr/bin/env python3
"""Bucket state of the posture-scan benchmark (bench/run-scan.sh), made with boto3 in moto.

Usage: make_buckets.py N [--peer-fixtures]   (AWS_ENDPOINT_URL and dummy credentials set)

* N buckets `bench-00000` ... in ten configurations, bucket i getting configuration i % 10
  (the mix the scan figures in docs/BENCHMARKS.md were measured on; see BASE_KINDS).
* With --peer-fixtures, also the `peer-NN-*` buckets of FIXTURES: one bucket per configuration
  where the posture reference (shared/reference/posture.md section 8) says a peer scanner and
  bucketwatch should differ, plus controls where both should agree. They are what makes the
  Prowler comparison say something about policy semantics: the base mix alone only exercises
  the obvious cases. They add 36 buckets to the timed scans of both tools. Moto 5.2.5 cannot
  hold two of the reference's fixtures: two default-encryption rules (#18: PutBucketEncryption
  answers 500) and MFADelete (PutBucketVersioning ignores it), so they are not here.

The account-level Block Public Access is left unset on purpose: it applies to every bucket, so
setting it would change the verdicts of the whole base mix.

Standard library and boto3 only; prints nothing but errors (to stderr).
"""

import json
import os
import sys

import boto3

ACCOUNT = "123456789012"  # moto's default account
# Another account. Not 999999999999: bucketwatch's S3.6 analysis uses that id as its stand-in
# for "any other account", so a policy naming it is reported as granting everyone (see
# docs/BENCHMARKS.md, posture scan).
FOREIGN = "111122223333"
ALL_BPA = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"]

# Configuration of bench bucket i is BASE_KINDS[i % 10]; the comparison reports use these names.
BASE_KINDS = [
    "public-policy",
    "deny-http-policy",
    "public-read-acl",
    "full-bucket-bpa",
    "kms-encryption",
    "versioning",
    "lifecycle",
    "tags",
    "cors-wildcard-put",
    "plain",
]


def arn(bucket, objects=False):
    return f"arn:aws:s3:::{bucket}/*" if objects else f"arn:aws:s3:::{bucket}"


def both(bucket):
    return [arn(bucket), arn(bucket, objects=True)]


def policy(s3, bucket, *statements):
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    )


def bpa(s3, bucket, *flags):
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={k: k in flags for k in ALL_BPA}
    )


def deny_http(bucket, action="s3:*", resource=None, condition=None):
    return {
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource if resource is not None else both(bucket),
        "Condition": condition or {"Bool": {"aws:SecureTransport": "false"}},
    }


def allow_public_get(bucket, condition=None):
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                 "Resource": arn(bucket, objects=True)}
    if condition:
        statement["Condition"] = condition
    return statement


def make_base(s3, n):
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


# --- peer fixtures: name -> function(s3, bucket) applied after create_bucket -----------------
# The comment on each names the reference's section-8 row (#) it reproduces, if any.


def f_deny_http_get_only(s3, b):  # #1: a Deny of s3:Get* only does not deny plain-HTTP writes
    policy(s3, b, deny_http(b, action="s3:Get*"))


def f_deny_http_bucket_arn_only(s3, b):  # #2: objects (bucket/*) are not covered
    policy(s3, b, deny_http(b, resource=arn(b)))


def f_deny_http_boolifexists(s3, b):  # #3
    policy(s3, b, deny_http(b, condition={"BoolIfExists": {"aws:SecureTransport": "false"}}))


def f_deny_http_json_false(s3, b):  # #3: JSON false instead of the string "false"
    policy(s3, b, deny_http(b, condition={"Bool": {"aws:SecureTransport": False}}))


def f_deny_http_lowercase_key(s3, b):  # #3: condition keys are case-insensitive
    policy(s3, b, deny_http(b, condition={"Bool": {"aws:securetransport": "false"}}))


def f_deny_http_list_value(s3, b):  # #3: ["false"]
    policy(s3, b, deny_http(b, condition={"Bool": {"aws:SecureTransport": ["false"]}}))


def f_allow_https_only(s3, b):  # #4: an Allow on SecureTransport true denies nothing
    policy(s3, b, allow_public_get(b, {"Bool": {"aws:SecureTransport": "true"}}))


def f_tls_version_deny_only(s3, b):  # #5: s3:TlsVersion is absent on HTTP, so HTTP passes
    policy(s3, b, deny_http(b, condition={"NumericLessThan": {"s3:TlsVersion": "1.2"}}))


def f_public_with_org_deny(s3, b):  # #7: the Deny removes every caller outside the org
    policy(
        s3, b, allow_public_get(b),
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": both(b),
         "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}},
    )


def f_wildcard_role_principal(s3, b):  # #8: AWS rejects it on write; moto stores it
    policy(s3, b, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/*"},
                   "Action": "s3:GetObject", "Resource": arn(b, objects=True)})


def f_sourceip_office_cidr(s3, b):  # #9: a fixed public CIDR makes it non-public for AWS
    policy(s3, b, allow_public_get(b, {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))


def f_sourcevpce_ifexists(s3, b):  # #10: IfExists holds when the key is absent (internet)
    policy(s3, b, allow_public_get(b, {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}}))


def f_sourcevpc_fixed(s3, b):  # #29: a fixed aws:SourceVpc makes it non-public
    policy(s3, b, allow_public_get(b, {"StringEquals": {"aws:SourceVpc": "vpc-1a2b3c4d"}}))


def f_acl_public_block_acls_only(s3, b):  # #11: BlockPublicAcls only rejects future ACLs
    s3.put_bucket_acl(Bucket=b, ACL="public-read")
    bpa(s3, b, "BlockPublicAcls")


def f_policy_public_block_policy_only(s3, b):  # #12: BlockPublicPolicy only rejects future policies
    policy(s3, b, allow_public_get(b))
    bpa(s3, b, "BlockPublicPolicy")


def f_acl_public_ignore_acls(s3, b):  # #14: IgnorePublicAcls neutralizes the public ACL
    s3.put_bucket_acl(Bucket=b, ACL="public-read")
    bpa(s3, b, "IgnorePublicAcls")


def f_policy_public_restrict(s3, b):  # RestrictPublicBuckets neutralizes a public policy
    policy(s3, b, allow_public_get(b))
    bpa(s3, b, "RestrictPublicBuckets")


def f_acl_public_read_write(s3, b):
    # Explicit grants: moto 5.2.5's canned "public-read-write" ACL holds only the READ grant.
    owner = s3.get_bucket_acl(Bucket=b)["Owner"]
    everyone = {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}
    s3.put_bucket_acl(Bucket=b, AccessControlPolicy={"Owner": owner, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
        {"Grantee": everyone, "Permission": "READ"},
        {"Grantee": everyone, "Permission": "WRITE"}]})


def f_acl_authenticated_read(s3, b):  # AuthenticatedUsers = any AWS account: public
    s3.put_bucket_acl(Bucket=b, ACL="authenticated-read")


def f_policy_public_write(s3, b):
    policy(s3, b, {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
                   "Resource": arn(b, objects=True)})


def f_policy_public_notaction(s3, b):  # NotAction: everything but DeleteBucket, to everyone
    policy(s3, b, {"Effect": "Allow", "Principal": "*", "NotAction": "s3:DeleteBucket",
                   "Resource": both(b)})


def f_cross_account_put_star(s3, b):  # #26: s3:Put* covers PutBucketPolicy, PutBucketAcl, ...
    policy(s3, b, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FOREIGN}:root"},
                   "Action": "s3:Put*", "Resource": both(b)})


def f_cross_account_getobject(s3, b):  # #27: reading objects is not one of S3.6's actions
    policy(s3, b, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FOREIGN}:root"},
                   "Action": "s3:GetObject", "Resource": arn(b, objects=True)})


def f_bpa_ignore_restrict_only(s3, b):  # #15/#16 at bucket level: S3.8 wants all four flags
    bpa(s3, b, "IgnorePublicAcls", "RestrictPublicBuckets")


def f_aes256_encryption(s3, b):
    s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})


def f_versioning_suspended(s3, b):
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})


def f_lifecycle_disabled_rule(s3, b):  # a configuration whose only rule is Disabled
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
        {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 30}}]})


def f_object_lock(s3, b):  # created with Object Lock (see CREATE_ARGS)
    s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})


def f_ownership_enforced(s3, b):
    s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})


def f_logging_on(s3, b):
    s3.put_bucket_logging(Bucket=b, BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": "peer-00-log-target", "TargetPrefix": f"{b}/"}})


def f_queue_notifications(s3, b):
    # An SQS queue: moto 5.2.5 accepts an EventBridgeConfiguration but does not return it.
    sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
    queue = sqs.create_queue(QueueName="peer-notifications")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    queue_arn = attributes["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]})


def _replicate(s3, b, destination):
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket=b, ReplicationConfiguration={
        "Role": f"arn:aws:iam::{ACCOUNT}:role/replication",
        "Rules": [{"ID": "r", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""},
                   "DeleteMarkerReplication": {"Status": "Disabled"},
                   "Destination": {"Bucket": arn(destination)}}]})


def f_replication_cross_region(s3, b):
    _replicate(s3, b, "peer-00-replica-eu-west-1")


def f_replication_same_region(s3, b):
    _replicate(s3, b, "peer-00-replica-us-east-1")


FIXTURES = [
    f_deny_http_get_only, f_deny_http_bucket_arn_only, f_deny_http_boolifexists,
    f_deny_http_json_false, f_deny_http_lowercase_key, f_deny_http_list_value,
    f_allow_https_only, f_tls_version_deny_only, f_public_with_org_deny,
    f_wildcard_role_principal, f_sourceip_office_cidr, f_sourcevpce_ifexists, f_sourcevpc_fixed,
    f_acl_public_block_acls_only, f_policy_public_block_policy_only, f_acl_public_ignore_acls,
    f_policy_public_restrict, f_acl_public_read_write, f_acl_authenticated_read,
    f_policy_public_write, f_policy_public_notaction, f_cross_account_put_star,
    f_cross_account_getobject, f_bpa_ignore_restrict_only, f_aes256_encryption, f_versioning_suspended,
    f_lifecycle_disabled_rule, f_object_lock, f_ownership_enforced, f_logging_on,
    f_queue_notifications, f_replication_cross_region, f_replication_same_region,
]
CREATE_ARGS = {f_object_lock: {"ObjectLockEnabledForBucket": True}}


def fixture_bucket(index, fn):
    return f"peer-{index:02d}-{fn.__name__[2:].replace('_', '-')}"


def make_fixtures(s3, s3_eu):
    # Helper buckets first: the log target (log delivery may write to it) and the two
    # replication destinations (versioned, one in another Region).
    s3.create_bucket(Bucket="peer-00-log-target")
    s3.put_bucket_acl(Bucket="peer-00-log-target", ACL="log-delivery-write")
    for name, client, region in [("peer-00-replica-us-east-1", s3, None),
                                 ("peer-00-replica-eu-west-1", s3_eu, "eu-west-1")]:
        extra = {"CreateBucketConfiguration": {"LocationConstraint": region}} if region else {}
        client.create_bucket(Bucket=name, **extra)
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for index, fn in enumerate(FIXTURES, start=1):
        bucket = fixture_bucket(index, fn)
        s3.create_bucket(Bucket=bucket, **CREATE_ARGS.get(fn, {}))
        try:
            fn(s3, bucket)
        except Exception as e:  # an emulator gap must not stop the benchmark: say which
            print(f"make_buckets: fixture {bucket} only partly made: {e}", file=sys.stderr)


def main():
    args = sys.argv[1:]
    peers = "--peer-fixtures" in args
    args = [a for a in args if a != "--peer-fixtures"]
    if len(args) != 1 or not args[0].isdigit():
        sys.exit("usage: make_buckets.py N [--peer-fixtures]")
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    make_base(s3, int(args[0]))
    if peers:
        make_fixtures(s3, boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1"))


if __name__ == "__main__":
    main()
