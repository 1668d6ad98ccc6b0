from bucketwatch_s3_posture import bpa_flags_off, field, name


def policy(resource):
    return not bpa_flags_off(field(resource, "PublicAccessBlockConfiguration"))


def title(resource):
    off = bpa_flags_off(resource.get("PublicAccessBlockConfiguration"))
    return f"S3 bucket {name(resource)} Block Public Access is off for {', '.join(off)}"
