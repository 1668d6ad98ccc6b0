from bucketwatch_s3_posture import field, name


def policy(resource):
    if field(resource, "Versioning") != "Enabled":
        return True
    return bool(field(resource, "LifecycleRules"))


def title(resource):
    return f"Versioned S3 bucket {name(resource)} has no lifecycle configuration"
