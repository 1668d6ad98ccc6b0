from bucketwatch_s3_posture import field, name


def policy(resource):
    return bool((field(resource, "LoggingPolicy") or {}).get("TargetBucket"))


def title(resource):
    return f"S3 bucket {name(resource)} has no server access logging"
