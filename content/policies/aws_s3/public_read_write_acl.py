from bucketwatch_s3_posture import field, name, reasons, verdict


def policy(resource):
    if not (verdict(resource, "AclPublicRead") or verdict(resource, "AclPublicWrite")):
        return True
    if field(resource, "ObjectOwnership") == "BucketOwnerEnforced":
        return True
    for level in ("PublicAccessBlockConfiguration", "AccountPublicAccessBlockConfiguration"):
        if (field(resource, level) or {}).get("IgnorePublicAcls") is True:
            return True
    return False


def title(resource):
    return f"S3 bucket {name(resource)}: {'; '.join(reasons(resource, 'AclPublic'))}"
