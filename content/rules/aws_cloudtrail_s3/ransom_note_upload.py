from bucketwatch_cloudtrail import (
    UNKNOWN_BUCKET,
    actor,
    bucket,
    cloudtrail_context,
    is_s3,
    object_key,
    succeeded,
)
from bucketwatch_settings import matches_any, ransom_note_patterns


def rule(event):
    if not is_s3(event) or event.get("eventName") != "PutObject":
        return False
    return succeeded(event) and bool(matched_patterns(event))


def file_name(event):
    """The last path segment of the key: a folder named "ransomware-research/" is no note."""
    return (object_key(event) or "").rstrip("/").rsplit("/", 1)[-1]


def matched_patterns(event):
    """The configured patterns the file name matches, compared case-insensitively."""
    name = file_name(event).lower()
    if not name:
        return []
    return [p for p in ransom_note_patterns() if matches_any(name, [str(p).lower()])]


def title(event):
    return (
        f"Possible ransom note [{file_name(event)}] uploaded to S3 bucket "
        f"[{bucket(event) or UNKNOWN_BUCKET}] by {actor(event)}"
    )


def dedup(event):
    return bucket(event) or UNKNOWN_BUCKET


def alert_context(event):
    return cloudtrail_context(
        event,
        fileName=file_name(event),
        matchedPatterns=matched_patterns(event),
    )
