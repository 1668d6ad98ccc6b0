from bucketwatch_s3_access import (
    access_context,
    http_status,
    is_anonymous,
    is_aws_internal,
    remote_ip,
    requester,
)
from bucketwatch_settings import approved_cidrs, ip_in_cidrs, is_watched, public_buckets


def rule(event):
    bucket = event.get("bucket")
    if not bucket or not is_watched(bucket):
        return False
    operation = str(event.get("operation") or "")
    # Lifecycle and other S3-initiated actions (S3.EXPIRE.OBJECT, S3.TRANSITION...) have no client.
    if operation.startswith("S3."):
        return False
    if is_aws_internal(event):
        return False
    # Anonymous reads of buckets meant to be public are expected from anywhere.
    if is_anonymous(event) and bucket in (public_buckets() or []):
        return False
    ip = remote_ip(event)
    if ip is None:
        return False
    return not ip_in_cidrs(ip, approved_cidrs() or [])


def title(event):
    who = requester(event) or "anonymous requester"
    return (
        f"S3 bucket [{event.get('bucket')}] accessed from unapproved network "
        f"[{event.get('remoteip')}] by [{who}]"
    )


def dedup(event):
    # One alert per bucket and principal; anonymous traffic is grouped by source address.
    return f"{event.get('bucket')}:{requester(event) or 'anonymous:' + str(remote_ip(event))}"


def severity(event):
    status = http_status(event)
    if status is not None and status >= 400:
        # Refused requests from the internet are mostly scanners: keep them visible but low.
        return "LOW"
    return "DEFAULT"


def alert_context(event):
    return access_context(
        event,
        "sourceregion",
        "hostheader",
        approved_cidrs=list(approved_cidrs() or []),
    )
