from bucketwatch_s3_posture import encryption_algorithms, name


def policy(resource):
    return any(encryption_algorithms(resource))


def title(resource):
    return f"S3 bucket {name(resource)} has no default encryption rule"
