from bucketwatch_cloudtrail import (
    UNKNOWN_BUCKET,
    actor,
    bucket,
    cloudtrail_context,
    is_data_event,
    is_s3,
    object_key,
    request,
    succeeded,
)

DELETE_EVENTS = {"DeleteObject", "DeleteObjects"}


def rule(event):
    if not is_s3(event) or event.get("eventName") not in DELETE_EVENTS:
        return False
    return is_data_event(event) and succeeded(event)


def version(event):
    return request(event, "versionId")


def unique(event):
    """What the threshold counts: distinct keys (a retried delete of the same key counts once;
    deleting several versions of one key counts each version). CloudTrail does not list the
    keys of a DeleteObjects batch, so each batch request counts once."""
    if event.get("eventName") == "DeleteObjects":
        return f"batch:{event.get('requestID') or event.get('eventID')}"
    key = object_key(event) or "<UNKNOWN_KEY>"
    return f"{key}?versionId={version(event)}" if version(event) else key


def title(event):
    return f"Mass deletion of objects in S3 bucket [{bucket(event) or UNKNOWN_BUCKET}] by {actor(event)}"


def dedup(event):
    return f"{actor(event)}:{bucket(event) or UNKNOWN_BUCKET}"


def alert_context(event):
    return cloudtrail_context(
        event,
        versionId=version(event),
        permanentDeletion=bool(version(event)),
        batchDelete=event.get("eventName") == "DeleteObjects",
    )
