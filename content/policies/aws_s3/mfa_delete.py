from bucketwatch_s3_posture import field, name


def policy(resource):
    if field(resource, "LifecycleRules"):
        return True
    return field(resource, "MFADelete") == "Enabled"


def title(resource):
    return f"S3 bucket {name(resource)} does not require MFA to delete object versions"
