from bucketwatch_s3_posture import name, reasons, verdict


def policy(resource):
    return not verdict(resource, "PublicRead")


def title(resource):
    return f"S3 bucket {name(resource)} is publicly readable: {'; '.join(reasons(resource, 'PublicRead'))}"
