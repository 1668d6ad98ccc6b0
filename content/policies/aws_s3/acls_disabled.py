from bucketwatch_s3_posture import field, name


def _extra_grants(resource):
    owner = (field(resource, "Owner") or {}).get("ID")
    return [
        g
        for g in field(resource, "Grants") or []
        if not (((g.get("Grantee") or {}).get("ID") == owner) and g.get("Permission") == "FULL_CONTROL")
    ]


def policy(resource):
    if field(resource, "ObjectOwnership") == "BucketOwnerEnforced":
        return True
    return not _extra_grants(resource)


def title(resource):
    grants = [
        f"{g.get('Permission')} to {(g.get('Grantee') or {}).get('URI') or (g.get('Grantee') or {}).get('ID')}"
        for g in _extra_grants(resource)
    ]
    return f"S3 bucket {name(resource)} uses ACLs: {', '.join(grants)}"
