from bucketwatch_s3_posture import field, name


def _aws_managed_kms_rules(resource):
    out = []
    for rule in field(resource, "EncryptionRules") or []:
        default = (rule or {}).get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm") not in ("aws:kms", "aws:kms:dsse"):
            continue
        key = default.get("KMSMasterKeyID") or ""
        if not key or key.endswith("alias/aws/s3"):
            out.append(key or "aws/s3 (no key id)")
    return out


def policy(resource):
    return not _aws_managed_kms_rules(resource)


def title(resource):
    keys = ", ".join(_aws_managed_kms_rules(resource))
    return f"S3 bucket {name(resource)} uses the AWS-managed KMS key {keys}"
