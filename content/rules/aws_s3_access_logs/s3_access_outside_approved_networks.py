import ipaddress

from bucketwatch_settings import approved_cidrs, ip_in_cidrs, is_watched, public_buckets


def _requester(event):
    requester = event.get("requester")
    if requester in (None, "", "-", "Anonymous"):
        return None
    return str(requester)


def _remote_ip(event):
    """The remote IP as text when it is a valid address, else None ('-', missing, garbage)."""
    value = event.get("remoteip")
    if not value or value == "-":
        return None
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return None


def _status(event):
    try:
        return int(event.get("httpstatus"))
    except (TypeError, ValueError):
        return None


def rule(event):
    bucket = event.get("bucket")
    if not bucket or not is_watched(bucket):
        return False
    operation = str(event.get("operation") or "")
    # Lifecycle and other S3-initiated actions (S3.EXPIRE.OBJECT, S3.TRANSITION...) have no client.
    if operation.startswith("S3."):
        return False
    requester = _requester(event)
    if requester is not None and (requester == "AmazonS3" or requester.startswith("svc:")):
        return False
    # Anonymous reads of buckets meant to be public are expected from anywhere.
    if requester is None and bucket in (public_buckets() or []):
        return False
    ip = _remote_ip(event)
    if ip is None:
        return False
    return not ip_in_cidrs(ip, approved_cidrs() or [])


def title(event):
    who = _requester(event) or "anonymous requester"
    return (
        f"S3 bucket [{event.get('bucket')}] accessed from unapproved network "
        f"[{event.get('remoteip')}] by [{who}]"
    )


def dedup(event):
    # One alert per bucket and principal; anonymous traffic is grouped by source address.
    return f"{event.get('bucket')}:{_requester(event) or 'anonymous:' + str(_remote_ip(event))}"


def severity(event):
    status = _status(event)
    if status is not None and status >= 400:
        # Refused requests from the internet are mostly scanners: keep them visible but low.
        return "LOW"
    return "DEFAULT"


def alert_context(event):
    return {
        "bucket": event.get("bucket"),
        "key": event.get("key"),
        "requester": event.get("requester"),
        "remoteip": event.get("remoteip"),
        "approved_cidrs": list(approved_cidrs() or []),
        "operation": event.get("operation"),
        "httpstatus": event.get("httpstatus"),
        "errorcode": event.get("errorcode"),
        "useragent": event.get("useragent"),
        "bytessent": event.get("bytessent"),
        "sourceregion": event.get("sourceregion"),
        "hostheader": event.get("hostheader"),
        "requestid": event.get("requestid"),
        "time": event.get("time"),
    }
