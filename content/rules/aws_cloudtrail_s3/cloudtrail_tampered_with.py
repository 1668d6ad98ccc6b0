from bucketwatch_cloudtrail import (
    CLOUDTRAIL_SOURCE,
    actor,
    as_list,
    cloudtrail_context,
    get_ci,
    request,
    succeeded,
)
from bucketwatch_settings import cloudtrail_log_buckets

STOP_EVENTS = {"StopLogging", "DeleteTrail"}
# Advanced selectors travel in PutEventSelectors; the second name is accepted in case an
# exporter or a future API spells it separately.
SELECTOR_EVENTS = {"PutEventSelectors", "PutAdvancedEventSelectors"}
S3_OBJECT = "AWS::S3::Object"


def rule(event):
    if event.get("eventSource") != CLOUDTRAIL_SOURCE or not succeeded(event):
        return False
    name = event.get("eventName")
    if name in STOP_EVENTS:
        return True
    if name in SELECTOR_EVENTS:
        return selectors_recorded(event) and not logs_s3_data_events(event)
    if name == "UpdateTrail":
        return bool(unknown_log_bucket(event))
    return False


def trail(event):
    """The trail's name or ARN as the request gave it."""
    return request(event, "name") or request(event, "trailName") or "<UNKNOWN_TRAIL>"


def trail_name(event):
    return str(trail(event)).rsplit("/", 1)[-1]


def basic_selectors(event):
    return as_list(request(event, "eventSelectors"))


def advanced_selectors(event):
    return as_list(request(event, "advancedEventSelectors"))


def selectors_recorded(event):
    """False when CloudTrail kept neither selector list (nothing to judge)."""
    return any(request(event, key) is not None for key in ("eventSelectors", "advancedEventSelectors"))


def basic_logs_s3(selector):
    for resource in as_list(get_ci(selector, "dataResources")):
        if get_ci(resource, "type") == S3_OBJECT and as_list(get_ci(resource, "values")):
            return True
    return False


def advanced_logs_s3(selector):
    for field in as_list(get_ci(selector, "fieldSelectors")):
        if str(get_ci(field, "field", default="")).lower() != "resources.type":
            continue
        if S3_OBJECT in [str(v) for v in as_list(get_ci(field, "equals"))]:
            return True
    return False


def logs_s3_data_events(event):
    """True when any selector left in place still records S3 object-level (data) events."""
    return any(basic_logs_s3(s) for s in basic_selectors(event)) or any(
        advanced_logs_s3(s) for s in advanced_selectors(event)
    )


def unknown_log_bucket(event):
    """The bucket an UpdateTrail now delivers to, when it is not one of your CloudTrail log
    buckets. Undeterminable (None) when no log buckets are configured."""
    target = request(event, "s3BucketName")
    known = cloudtrail_log_buckets()
    if target and known and target not in known:
        return target
    return None


def change(event):
    name = event.get("eventName")
    if name == "StopLogging":
        return "stopped"
    if name == "DeleteTrail":
        return "deleted"
    if name in SELECTOR_EVENTS:
        return "reconfigured to stop recording S3 data events"
    return f"redirected to unknown bucket [{unknown_log_bucket(event)}]"


def title(event):
    return (
        f"CloudTrail trail [{trail_name(event)}] in account {event.get('recipientAccountId')} "
        f"{change(event)} by {actor(event)}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{trail_name(event)}"


def alert_context(event):
    return cloudtrail_context(
        event,
        trail=trail(event),
        change=change(event),
        eventSelectors=request(event, "eventSelectors"),
        advancedEventSelectors=request(event, "advancedEventSelectors"),
        newLogBucket=request(event, "s3BucketName"),
        knownLogBuckets=list(cloudtrail_log_buckets()),
    )
