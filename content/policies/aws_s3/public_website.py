from bucketwatch_s3_posture import field, name, reasons, verdict
from bucketwatch_settings import public_buckets


def policy(resource):
    if not field(resource, "WebsiteConfiguration") or name(resource) in public_buckets():
        return True
    return not verdict(resource, "PublicRead")


def title(resource):
    why = "; ".join(reasons(resource, "PublicRead"))
    return f"S3 bucket {name(resource)} serves a website from a public bucket: {why}"
