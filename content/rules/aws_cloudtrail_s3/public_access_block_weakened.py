from bucketwatch_cloudtrail import (
    UNKNOWN_BUCKET,
    actor,
    bucket,
    cloudtrail_context,
    get_ci,
    is_s3,
    request,
    succeeded,
    truthy,
)

FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
BUCKET_EVENTS = {"DeleteBucketPublicAccessBlock", "PutBucketPublicAccessBlock"}
ACCOUNT_EVENTS = {"DeleteAccountPublicAccessBlock", "PutAccountPublicAccessBlock"}
DELETE_EVENTS = {"DeleteBucketPublicAccessBlock", "DeleteAccountPublicAccessBlock"}


def rule(event):
    if not is_s3(event) or not succeeded(event):
        return False
    name = event.get("eventName")
    if name in DELETE_EVENTS:
        return True
    if name in BUCKET_EVENTS | ACCOUNT_EVENTS:
        return bool(flags_off(event))
    return False


def configuration(event):
    """The new Block Public Access settings (bucket and account forms use the same element)."""
    return request(event, "PublicAccessBlockConfiguration")


def flags_off(event):
    """The flags the call leaves off. A flag missing from a Put is off: S3 stores it as false.
    A Put whose configuration CloudTrail did not record cannot be judged and yields nothing."""
    config = configuration(event)
    if not hasattr(config, "get"):
        return []
    return [flag for flag in FLAGS if not truthy(get_ci(config, flag, default=False))]


def is_account_level(event):
    return event.get("eventName") in ACCOUNT_EVENTS


def scope(event):
    if is_account_level(event):
        return f"account {event.get('recipientAccountId') or '<UNKNOWN_ACCOUNT>'}"
    return f"bucket [{bucket(event) or UNKNOWN_BUCKET}]"


def title(event):
    if event.get("eventName") in DELETE_EVENTS:
        change = "removed"
    else:
        change = "weakened (" + ", ".join(flags_off(event)) + " off)"
    return f"S3 Block Public Access {change} for {scope(event)} by {actor(event)}"


def severity(event):
    # Account-level settings protect every bucket in the account.
    return "HIGH" if is_account_level(event) else "DEFAULT"


def dedup(event):
    return scope(event)


def alert_context(event):
    return cloudtrail_context(
        event,
        level="account" if is_account_level(event) else "bucket",
        flagsOff=FLAGS if event.get("eventName") in DELETE_EVENTS else flags_off(event),
        publicAccessBlockConfiguration=configuration(event),
    )
