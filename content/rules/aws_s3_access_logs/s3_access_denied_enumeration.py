from bucketwatch_s3_access import (
    access_context,
    actor,
    http_status,
    is_anonymous,
    is_aws_internal,
    object_key,
)

# Object reads and listings an enumerating client uses to discover buckets and keys.
PROBE_OPERATIONS = {
    "REST.GET.OBJECT",
    "REST.HEAD.OBJECT",
    "REST.GET.OBJECT_ATTRIBUTES",
    "REST.GET.OBJECT_TAGGING",
    "REST.GET.ACL",
    "REST.GET.BUCKET",
    "REST.GET.BUCKETVERSIONS",
    "REST.HEAD.BUCKET",
    "REST.GET.LOCATION",
    "REST.GET.UPLOADS",
}


def rule(event):
    if event.get("operation") not in PROBE_OPERATIONS:
        return False
    if is_aws_internal(event):
        return False
    if is_anonymous(event) and not event.get("remoteip"):
        return False
    return http_status(event) == 403 or event.get("errorcode") == "AccessDenied"


def unique(event):
    # Count distinct targets: a client retrying the same key or listing counts once.
    key = object_key(event)
    if key is None:
        return f"{event.get('bucket')}/"
    return f"{event.get('bucket')}/{key}"


def dedup(event):
    # Across buckets on purpose: enumeration often sweeps many buckets.
    return actor(event)


def title(event):
    return (
        f"[{actor(event)}] is being denied access across many S3 keys or buckets "
        f"(latest: {event.get('operation')} on {event.get('bucket')})"
    )


def alert_context(event):
    return access_context(event, "requesturi")
