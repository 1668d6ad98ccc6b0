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


def _requester(event):
    requester = event.get("requester")
    if requester in (None, "", "-", "Anonymous"):
        return None
    return str(requester)


def _status(event):
    try:
        return int(event.get("httpstatus"))
    except (TypeError, ValueError):
        return None


def _actor(event):
    """The requester, or the source address for anonymous requests."""
    return _requester(event) or f"anonymous@{event.get('remoteip') or 'unknown'}"


def rule(event):
    if event.get("operation") not in PROBE_OPERATIONS:
        return False
    requester = _requester(event)
    if requester is not None and (requester == "AmazonS3" or requester.startswith("svc:")):
        return False
    if requester is None and not event.get("remoteip"):
        return False
    return _status(event) == 403 or event.get("errorcode") == "AccessDenied"


def unique(event):
    # Count distinct targets: a client retrying the same key or listing counts once.
    key = event.get("key")
    if key in (None, "", "-"):
        return f"{event.get('bucket')}/"
    return f"{event.get('bucket')}/{key}"


def dedup(event):
    # Across buckets on purpose: enumeration often sweeps many buckets.
    return _actor(event)


def title(event):
    return (
        f"[{_actor(event)}] is being denied access across many S3 keys or buckets "
        f"(latest: {event.get('operation')} on {event.get('bucket')})"
    )


def alert_context(event):
    return {
        "bucket": event.get("bucket"),
        "key": event.get("key"),
        "requester": event.get("requester"),
        "remoteip": event.get("remoteip"),
        "operation": event.get("operation"),
        "httpstatus": event.get("httpstatus"),
        "errorcode": event.get("errorcode"),
        "useragent": event.get("useragent"),
        "bytessent": event.get("bytessent"),
        "requesturi": event.get("requesturi"),
        "requestid": event.get("requestid"),
        "time": event.get("time"),
    }
