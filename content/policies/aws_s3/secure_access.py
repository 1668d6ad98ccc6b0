from bucketwatch_s3_posture import name, reasons, verdict


def policy(resource):
    return verdict(resource, "SecureTransportEnforced")


def title(resource):
    why = "; ".join(reasons(resource, "SecureTransport"))
    return f"S3 bucket {name(resource)} allows plain HTTP: {why}"
