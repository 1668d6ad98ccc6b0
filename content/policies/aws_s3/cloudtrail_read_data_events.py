from bucketwatch_s3_posture import reasons, verdict


def policy(resource):
    return verdict(resource, "S3ReadDataEventsLogged")


def title(resource):
    why = "; ".join(reasons(resource, "S3ReadDataEvents"))
    return f"Account {resource.get('AccountId')} does not log S3 read data events everywhere: {why}"
