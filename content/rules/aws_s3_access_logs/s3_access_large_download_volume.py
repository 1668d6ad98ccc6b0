import ipaddress

from bucketwatch_settings import approved_cidrs, ip_in_cidrs, large_object_bytes, public_buckets


def _requester(event):
    requester = event.get("requester")
    if requester in (None, "", "-", "Anonymous"):
        return None
    return str(requester)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _actor(event):
    return _requester(event) or f"anonymous@{event.get('remoteip') or 'unknown'}"


def rule(event):
    if event.get("operation") != "REST.GET.OBJECT":
        return False
    status = _int(event.get("httpstatus"))
    if status not in (200, 206) or event.get("errorcode"):
        return False
    requester = _requester(event)
    if requester is not None and (requester == "AmazonS3" or requester.startswith("svc:")):
        return False
    # Anonymous downloads of buckets meant to be public (datasets, sites) are expected.
    if requester is None and event.get("bucket") in (public_buckets() or []):
        return False
    sent = _int(event.get("bytessent"))
    return sent is not None and sent >= large_object_bytes()


def dedup(event):
    return f"{event.get('bucket')}:{_actor(event)}"


def title(event):
    mib = (_int(event.get("bytessent")) or 0) / (1024 * 1024)
    return (
        f"Many large S3 downloads from [{event.get('bucket')}] by [{_actor(event)}] "
        f"(first seen: {event.get('key')}, {mib:.1f} MiB)"
    )


def _valid_ip(value):
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def severity(event):
    # Large downloads leaving the approved networks are the riskier case.
    ip = event.get("remoteip")
    if ip and _valid_ip(ip) and not ip_in_cidrs(ip, approved_cidrs() or []):
        return "HIGH"
    return "DEFAULT"


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
        "objectsize": event.get("objectsize"),
        "large_object_bytes": large_object_bytes(),
        "authenticationtype": event.get("authenticationtype"),
        "requestid": event.get("requestid"),
        "time": event.get("time"),
    }
