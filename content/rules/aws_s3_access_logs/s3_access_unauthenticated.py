from bucketwatch_s3_access import access_context, is_anonymous, is_write, succeeded
from bucketwatch_settings import public_buckets

# CORS preflight is answered without touching data.
IGNORED_OPERATIONS = {"REST.OPTIONS.PREFLIGHT", "WEBSITE.OPTIONS.PREFLIGHT"}


def rule(event):
    bucket = event.get("bucket")
    if not bucket or not is_anonymous(event):
        return False
    operation = str(event.get("operation") or "")
    if not operation or operation in IGNORED_OPERATIONS:
        return False
    # 2xx and 3xx without an error code (304 Not Modified still means the read was allowed).
    if not succeeded(event):
        return False
    return bucket not in (public_buckets() or [])


def title(event):
    kind = "write" if is_write(event) else "read"
    return (
        f"Anonymous {kind} succeeded on non-public S3 bucket [{event.get('bucket')}]: "
        f"{event.get('operation')} from [{event.get('remoteip')}]"
    )


def dedup(event):
    # The finding is the bucket's exposure; keep reads and writes apart so a write is not hidden
    # inside an open read alert.
    return f"{event.get('bucket')}:{'write' if is_write(event) else 'read'}"


def severity(event):
    return "CRITICAL" if is_write(event) else "DEFAULT"


def alert_context(event):
    return access_context(event, "referrer", "aclrequired", "hostheader")
