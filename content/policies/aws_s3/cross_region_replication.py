from bucketwatch_s3_posture import UnknownInput, field, name


def policy(resource):
    if not field(resource, "ReplicationConfiguration"):
        return False
    destinations = (resource.get("bucketwatch") or {}).get("ReplicationDestinations") or []
    if any(d.get("Region") and d["Region"] != resource.get("Region") for d in destinations):
        return True
    unresolved = [d.get("Bucket") for d in destinations if not d.get("Region")]
    if unresolved:
        raise UnknownInput(f"the Region of replication destination {', '.join(unresolved)} is unknown")
    return False


def title(resource):
    if not resource.get("ReplicationConfiguration"):
        return f"S3 bucket {name(resource)} has no replication"
    return f"S3 bucket {name(resource)} replicates only within {resource.get('Region')}"
