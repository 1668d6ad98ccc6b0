from datetime import datetime

from bucketwatch_cloudtrail import (
    UNKNOWN_BUCKET,
    actor,
    as_list,
    bucket,
    cloudtrail_context,
    first_text,
    get_ci,
    is_s3,
    request,
    succeeded,
)
from bucketwatch_settings import cloudtrail_log_buckets, cloudtrail_min_retention_days

# Expiring objects sooner than this on any bucket is treated as data destruction.
ANY_BUCKET_DAYS = 7
# CloudTrail logs PutBucketLifecycleConfiguration under the older name; accept both.
EVENTS = {"PutBucketLifecycle", "PutBucketLifecycleConfiguration"}


def rule(event):
    if not is_s3(event) or event.get("eventName") not in EVENTS:
        return False
    return succeeded(event) and bool(short_rules(event))


def is_log_bucket(event):
    return bucket(event) in cloudtrail_log_buckets()


def limit_days(event):
    """Fewer days than this is short: the CloudTrail retention floor on log buckets (never
    below the any-bucket floor), else the any-bucket floor."""
    if is_log_bucket(event):
        return max(int(cloudtrail_min_retention_days()), ANY_BUCKET_DAYS)
    return ANY_BUCKET_DAYS


def lifecycle_rules(event):
    config = request(event, "LifecycleConfiguration")
    return as_list(get_ci(config, "Rule")) or as_list(get_ci(config, "Rules"))


def parse_time(text):
    try:
        parsed = datetime.fromisoformat(str(text).strip().replace(" ", "T"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def expiration_days(event, lifecycle_rule):
    """Days until the rule expires current objects: Expiration.Days, or the days from the call
    to Expiration.Date. None when the rule does not expire current objects."""
    expiration = get_ci(lifecycle_rule, "Expiration")
    days = get_ci(expiration, "Days")
    if days is not None:
        try:
            return int(str(days))
        except ValueError:
            return None
    date = parse_time(get_ci(expiration, "Date"))
    called = parse_time(event.get("eventTime"))
    if date and called:
        return max((date - called).total_seconds() / 86400, 0)
    return None


def real_prefix(value):
    """A prefix that narrows the rule. "*" and "/" are kept as "everything": S3 reads them
    literally, but whoever writes them means the whole bucket (Stratus Red Team uses "*")."""
    return first_text(value).strip("*/") != ""


def is_scoped(lifecycle_rule):
    """True when the rule applies to part of the bucket only (a prefix, tag or size filter)."""
    if real_prefix(get_ci(lifecycle_rule, "Prefix")):
        return True
    scope = get_ci(lifecycle_rule, "Filter")
    if not hasattr(scope, "items"):
        return False
    for key, value in scope.items():
        if str(key).lower() == "xmlns":
            continue
        if str(key).lower() == "prefix" and not real_prefix(value):
            continue
        return True
    return False


def short_rules(event):
    """[{id, days, scoped}] for each enabled rule that expires objects too soon."""
    limit = limit_days(event)
    found = []
    for lifecycle_rule in lifecycle_rules(event):
        if str(get_ci(lifecycle_rule, "Status", default="")).lower() != "enabled":
            continue
        days = expiration_days(event, lifecycle_rule)
        if days is not None and days < limit:
            found.append(
                {
                    "id": get_ci(lifecycle_rule, "ID"),
                    "days": days if isinstance(days, int) else round(days, 2),
                    "scoped": is_scoped(lifecycle_rule),
                    "filter": get_ci(lifecycle_rule, "Filter"),
                }
            )
    return found


def title(event):
    shortest = min(r["days"] for r in short_rules(event))
    kind = "CloudTrail log bucket" if is_log_bucket(event) else "S3 bucket"
    return (
        f"{kind} [{bucket(event) or UNKNOWN_BUCKET}] given a lifecycle rule expiring objects "
        f"after {shortest:g} day(s) by {actor(event)}"
    )


def severity(event):
    if is_log_bucket(event):
        return "HIGH"
    if all(r["scoped"] for r in short_rules(event)):
        # Short expiry of one prefix (temporary uploads, query results) is a common pattern.
        return "LOW"
    return "DEFAULT"


def dedup(event):
    return bucket(event) or UNKNOWN_BUCKET


def alert_context(event):
    return cloudtrail_context(
        event,
        isCloudTrailLogBucket=is_log_bucket(event),
        minimumDays=limit_days(event),
        shortRules=short_rules(event),
        lifecycleConfiguration=request(event, "LifecycleConfiguration"),
    )
