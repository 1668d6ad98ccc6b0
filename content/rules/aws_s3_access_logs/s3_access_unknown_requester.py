from bucketwatch_settings import bucket_role_mapping, matches_any, trusted_accounts

# Resource part of REST.<METHOD>.<RESOURCE> operations that act on a single object.
OBJECT_RESOURCES = {
    "OBJECT",
    "OBJECT_GET",
    "OBJECT_TAGGING",
    "OBJECT_ATTRIBUTES",
    "PART",
    "PART_GET",
    "UPLOAD",
    "RESTORE",
    "SELECT",
}
# Resources shared by bucket- and object-level calls: object-level only when a key is logged.
KEYED_RESOURCES = {"ACL", "UPLOADS"}
WRITE_METHODS = {"PUT", "POST", "DELETE", "COPY"}


def _requester(event):
    requester = event.get("requester")
    if requester in (None, "", "-", "Anonymous"):
        return None
    return str(requester)


def _aws_internal(requester):
    return requester == "AmazonS3" or requester.startswith("svc:")


def _status(event):
    try:
        return int(event.get("httpstatus"))
    except (TypeError, ValueError):
        return None


def _succeeded(event):
    status = _status(event)
    return status is not None and 200 <= status < 400 and not event.get("errorcode")


def _object_operation(event):
    parts = str(event.get("operation") or "").split(".")
    if len(parts) < 3 or parts[0] not in ("REST", "BATCH"):
        return False
    resource = parts[-1]
    if resource in OBJECT_RESOURCES:
        return True
    return resource in KEYED_RESOURCES and event.get("key") not in (None, "", "-")


def _allowed_globs(bucket):
    mapping = bucket_role_mapping() or {}
    if bucket not in mapping:
        return None
    globs = mapping.get(bucket) or []
    if isinstance(globs, str):
        globs = [globs]
    return list(globs)


def _account_of(arn):
    # arn:partition:service:region:account:resource
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[4].isdigit():
        return parts[4]
    return None


def _principal(requester):
    """The requester ARN without an assumed-role session name, so sessions of one role group."""
    marker = ":assumed-role/"
    if marker in requester:
        head, _, tail = requester.partition(marker)
        return head + marker + tail.split("/")[0]
    return requester


def rule(event):
    bucket = event.get("bucket")
    requester = _requester(event)
    if not bucket or requester is None or _aws_internal(requester):
        return False
    if not (_object_operation(event) and _succeeded(event)):
        return False
    globs = _allowed_globs(bucket)
    if globs is None:
        return False
    return not matches_any(requester, globs)


def title(event):
    return (
        f"Unexpected principal [{event.get('requester')}] ran {event.get('operation')} "
        f"on protected bucket [{event.get('bucket')}]"
    )


def dedup(event):
    return f"{event.get('bucket')}:{_principal(_requester(event) or 'anonymous')}"


def severity(event):
    operation = str(event.get("operation") or "")
    method = operation.split(".")[1] if operation.count(".") >= 2 else ""
    account = _account_of(_requester(event) or "")
    trusted = trusted_accounts() or []
    if account and trusted and account not in trusted:
        return "HIGH"
    if method in WRITE_METHODS:
        return "HIGH"
    return "DEFAULT"


def alert_context(event):
    requester = _requester(event) or ""
    return {
        "bucket": event.get("bucket"),
        "key": event.get("key"),
        "requester": event.get("requester"),
        "requester_account": _account_of(requester),
        "allowed_requesters": _allowed_globs(event.get("bucket")) or [],
        "remoteip": event.get("remoteip"),
        "operation": event.get("operation"),
        "httpstatus": event.get("httpstatus"),
        "errorcode": event.get("errorcode"),
        "useragent": event.get("useragent"),
        "bytessent": event.get("bytessent"),
        "requestid": event.get("requestid"),
        "time": event.get("time"),
    }
