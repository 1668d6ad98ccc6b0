from bucketwatch_s3_posture import reasons, verdict


def policy(resource):
    return verdict(resource, "S3WriteDataEventsLogged")


def title(resource):
    why = "; ".join(reasons(resource, "S3WriteDataEvents"))
    return f"Account {resource.get('AccountId')} does not log S3 write data events everywhere: {why}"
