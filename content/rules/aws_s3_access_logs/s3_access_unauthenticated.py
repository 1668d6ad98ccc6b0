from bucketwatch_settings import public_buckets

WRITE_METHODS = {"PUT", "POST", "DELETE", "COPY"}
# CORS preflight is answered without touching data.
IGNORED_OPERATIONS = {"REST.OPTIONS.PREFLIGHT", "WEBSITE.OPTIONS.PREFLIGHT"}


def _anonymous(event):
    return event.get("requester") in (None, "", "-", "Anonymous")


def _status(event):
    try:
        return int(event.get("httpstatus"))
    except (TypeError, ValueError):
        return None


def _method(event):
    parts = str(event.get("operation") or "").split(".")
    return parts[1] if len(parts) >= 3 else ""


def _is_write(event):
    return _method(event) in WRITE_METHODS


def rule(event):
    bucket = event.get("bucket")
    if not bucket or not _anonymous(event):
        return False
    operation = str(event.get("operation") or "")
    if not operation or operation in IGNORED_OPERATIONS:
        return False
    status = _status(event)
    # 2xx and 3xx without an error code (304 Not Modified still means the read was allowed).
    if status is None or not 200 <= status < 400 or event.get("errorcode"):
        return False
    return bucket not in (public_buckets() or [])


def title(event):
    kind = "write" if _is_write(event) else "read"
    return (
        f"Anonymous {kind} succeeded on non-public S3 bucket [{event.get('bucket')}]: "
        f"{event.get('operation')} from [{event.get('remoteip')}]"
    )


def dedup(event):
    # The finding is the bucket's exposure; keep reads and writes apart so a write is not hidden
    # inside an open read alert.
    return f"{event.get('bucket')}:{'write' if _is_write(event) else 'read'}"


def severity(event):
    return "CRITICAL" if _is_write(event) else "DEFAULT"


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
        "referrer": event.get("referrer"),
        "bytessent": event.get("bytessent"),
        "aclrequired": event.get("aclrequired"),
        "hostheader": event.get("hostheader"),
        "requestid": event.get("requestid"),
        "time": event.get("time"),
    }
