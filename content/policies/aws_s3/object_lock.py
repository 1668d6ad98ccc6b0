from bucketwatch_s3_posture import field, name


def policy(resource):
    return (field(resource, "ObjectLockConfiguration") or {}).get("ObjectLockEnabled") == "Enabled"


def title(resource):
    return f"S3 bucket {name(resource)} does not have Object Lock enabled"
