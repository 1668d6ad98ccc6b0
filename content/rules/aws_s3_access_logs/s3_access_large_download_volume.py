from bucketwatch_s3_access import (
    access_context,
    actor,
    http_status,
    is_anonymous,
    is_aws_internal,
    is_ip,
    to_int,
)
from bucketwatch_settings import approved_cidrs, ip_in_cidrs, large_object_bytes, public_buckets


def rule(event):
    if event.get("operation") != "REST.GET.OBJECT":
        return False
    if http_status(event) not in (200, 206) or event.get("errorcode"):
        return False
    if is_aws_internal(event):
        return False
    # Anonymous downloads of buckets meant to be public (datasets, sites) are expected.
    if is_anonymous(event) and event.get("bucket") in (public_buckets() or []):
        return False
    sent = to_int(event.get("bytessent"))
    return sent is not None and sent >= large_object_bytes()


def dedup(event):
    return f"{event.get('bucket')}:{actor(event)}"


def title(event):
    mib = (to_int(event.get("bytessent")) or 0) / (1024 * 1024)
    return (
        f"Many large S3 downloads from [{event.get('bucket')}] by [{actor(event)}] "
        f"(first seen: {event.get('key')}, {mib:.1f} MiB)"
    )


def severity(event):
    # Large downloads leaving the approved networks are the riskier case.
    ip = event.get("remoteip")
    if ip and is_ip(ip) and not ip_in_cidrs(ip, approved_cidrs() or []):
        return "HIGH"
    return "DEFAULT"


def alert_context(event):
    return access_context(
        event,
        "objectsize",
        "authenticationtype",
        large_object_bytes=large_object_bytes(),
    )
