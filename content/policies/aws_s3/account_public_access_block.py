from bucketwatch_s3_posture import verdict


def policy(resource):
    return verdict(resource, "PublicAccessBlockComplete")


def title(resource):
    off = resource["bucketwatch"].get("PublicAccessBlockMissing") or []
    return f"Account {resource.get('AccountId')} Block Public Access is off for {', '.join(off)}"
