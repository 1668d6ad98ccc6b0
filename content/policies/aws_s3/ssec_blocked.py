from bucketwatch_s3_posture import field, name


def policy(resource):
    for rule in field(resource, "EncryptionRules") or []:
        blocked = ((rule or {}).get("BlockedEncryptionTypes") or {}).get("EncryptionType") or []
        if "SSE-C" in blocked:
            return True
    return False


def title(resource):
    return f"S3 bucket {name(resource)} accepts SSE-C uploads (customer-provided keys)"
