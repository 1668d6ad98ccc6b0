from bucketwatch_cloudtrail import (
    UNKNOWN_BUCKET,
    actor,
    bucket,
    cloudtrail_context,
    get_ci,
    is_data_event,
    is_ip,
    is_s3,
    succeeded,
)
from bucketwatch_settings import approved_cidrs, ip_in_cidrs, is_watched, public_buckets


def rule(event):
    if not is_s3(event) or not is_data_event(event) or not succeeded(event):
        return False
    ip = event.get("sourceIPAddress")
    # AWS services acting for you log a DNS name (or set invokedBy), never a client address.
    if not is_ip(ip) or get_ci(event.get("userIdentity"), "invokedBy"):
        return False
    name = bucket(event)
    if not name or not is_watched(name):
        return False
    # Reads of a bucket that is meant to be public come from anywhere by design.
    if event.get("readOnly") is True and name in public_buckets():
        return False
    return not ip_in_cidrs(ip, approved_cidrs())


def title(event):
    return (
        f"S3 {event.get('eventName')} on [{bucket(event) or UNKNOWN_BUCKET}] from "
        f"{event.get('sourceIPAddress')}, outside approved networks, by {actor(event)}"
    )


def dedup(event):
    return f"{bucket(event) or UNKNOWN_BUCKET}:{event.get('sourceIPAddress')}"


def alert_context(event):
    return cloudtrail_context(
        event,
        approvedCidrs=list(approved_cidrs()),
        readOnly=event.get("readOnly"),
        tlsVersion=get_ci(event.get("tlsDetails"), "tlsVersion"),
        bytesTransferredOut=get_ci(event.get("additionalEventData"), "bytesTransferredOut"),
    )
