from bucketwatch_s3_posture import encryption_algorithms, name


def policy(resource):
    return any(a in ("aws:kms", "aws:kms:dsse") for a in encryption_algorithms(resource))


def title(resource):
    algorithms = [a for a in encryption_algorithms(resource) if a] or ["none"]
    return f"S3 bucket {name(resource)} encrypts with {', '.join(algorithms)}, not AWS KMS"
