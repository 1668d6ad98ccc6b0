from bucketwatch_s3_posture import name, reasons, verdict


def policy(resource):
    return not verdict(resource, "PublicWrite")


def title(resource):
    return f"S3 bucket {name(resource)} is publicly writable: {'; '.join(reasons(resource, 'PublicWrite'))}"
