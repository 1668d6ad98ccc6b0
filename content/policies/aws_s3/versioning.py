from bucketwatch_s3_posture import field, name


def policy(resource):
    return field(resource, "Versioning") == "Enabled"


def title(resource):
    state = resource.get("Versioning") or "never enabled"
    return f"S3 bucket {name(resource)} versioning is {state}"
