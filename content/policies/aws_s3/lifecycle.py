from bucketwatch_s3_posture import active_lifecycle_rules, field, name


def policy(resource):
    return bool(active_lifecycle_rules(resource))


def title(resource):
    if field(resource, "LifecycleRules"):
        return f"S3 bucket {name(resource)} has lifecycle rules, but none is enabled"
    return f"S3 bucket {name(resource)} has no lifecycle configuration"
