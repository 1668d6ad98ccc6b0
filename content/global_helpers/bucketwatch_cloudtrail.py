"""Shared CloudTrail logic of bucketwatch's built-in AWS.CloudTrail S3 rules.

Every function here is pure: it reads the event (the read-only event view a rule receives, or a
plain dict) and nothing else. Site settings are deliberately not read here: rules import them
from `bucketwatch_settings` themselves, so that a test's Mocks on the rule module replace them.

Conventions:
- Key lookups are case-insensitive (exact key first), like the event view itself, also inside
  plain dicts such as a bucket policy decoded with `parse_json`.
- A JSON list arrives as a tuple and an XML element that may repeat (`Rule`, `Grant`) as either
  one object or a list of them: `as_list` turns all of these into a list.
"""

import json
from collections.abc import Mapping

from bucketwatch_settings import is_ip  # noqa: F401  (re-exported for rules)

S3_SOURCE = "s3.amazonaws.com"
CLOUDTRAIL_SOURCE = "cloudtrail.amazonaws.com"
UNKNOWN_ACTOR = "<UNKNOWN_ACTOR>"
UNKNOWN_BUCKET = "<UNKNOWN_BUCKET>"

# Object-level S3 API names CloudTrail logs as data events; used only when a record lacks
# eventCategory (records older than eventVersion 1.07 or trimmed by an exporter).
S3_DATA_EVENT_NAMES = frozenset(
    {
        "AbortMultipartUpload",
        "CompleteMultipartUpload",
        "CopyObject",
        "CreateMultipartUpload",
        "DeleteObject",
        "DeleteObjectTagging",
        "DeleteObjects",
        "GetObject",
        "GetObjectAcl",
        "GetObjectAttributes",
        "GetObjectLegalHold",
        "GetObjectRetention",
        "GetObjectTagging",
        "GetObjectTorrent",
        "HeadObject",
        "ListMultipartUploads",
        "ListObjectVersions",
        "ListObjects",
        "ListParts",
        "PutObject",
        "PutObjectAcl",
        "PutObjectLegalHold",
        "PutObjectRetention",
        "PutObjectTagging",
        "RestoreObject",
        "SelectObjectContent",
        "UploadPart",
        "UploadPartCopy",
    }
)


# ---------------------------------------------------------------------------------------------
# Generic access


def get_ci(obj, *keys, default=None):
    """Follows keys through nested mappings, matching each key exactly first and then
    case-insensitively. Returns default when a step is missing, is not a mapping, or is null."""
    current = obj
    for key in keys:
        if not isinstance(current, Mapping):
            return default
        found = current.get(key)
        if found is None:
            wanted = str(key).lower()
            for candidate in current.keys():
                if isinstance(candidate, str) and candidate.lower() == wanted:
                    found = current.get(candidate)
                    break
        if found is None:
            return default
        current = found
    return current


def as_list(value):
    """None -> [], a list or tuple -> a list, anything else -> [value]."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def first_text(value):
    """The text of a scalar, or of the first non-empty element of a list (CloudTrail wraps some
    S3 header values in a one-element list, e.g. `"x-amz-acl": ["public-read"]`)."""
    for item in as_list(value):
        if item is None or isinstance(item, Mapping):
            continue
        text = str(item).strip()
        if text:
            return text
    return ""


def truthy(value):
    """A CloudTrail boolean that may be spelled as a bool or as text ("true"/"false")."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def plain(value):
    """A JSON-ready copy: event views become dicts and tuples lists (for alert context)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def parse_json(value):
    """A mapping given either as an object or as JSON text; None for anything else."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            decoded = json.loads(value)
        except ValueError:
            return None
        return decoded if isinstance(decoded, Mapping) else None
    return None


def request(event, *keys, default=None):
    """A value under requestParameters (case-insensitive)."""
    return get_ci(event.get("requestParameters"), *keys, default=default)


# ---------------------------------------------------------------------------------------------
# Who, where, what


def succeeded(event):
    """True when the call succeeded: neither errorCode nor errorMessage is set."""
    return not event.get("errorCode") and not event.get("errorMessage")


def strip_session(arn):
    """An assumed-role ARN without its session name, so that one role's sessions group
    together: arn:aws:sts::1:assumed-role/Role/session -> arn:aws:sts::1:assumed-role/Role."""
    if not isinstance(arn, str):
        return arn
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[5].startswith("assumed-role/"):
        resource = parts[5].split("/")
        if len(resource) >= 3:
            return ":".join(parts[:5] + ["/".join(resource[:2])])
    return arn


def actor(event):
    """Who made the call: the userIdentity ARN without a role session name; for calls without
    an ARN, the AWS service, `anonymous`, or the principal/account ID."""
    identity = event.get("userIdentity")
    arn = get_ci(identity, "arn")
    if arn:
        return strip_session(arn)
    kind = get_ci(identity, "type")
    account = get_ci(identity, "accountId")
    if kind == "AWSService":
        return get_ci(identity, "invokedBy") or "AWSService"
    if account == "anonymous" or (kind == "AWSAccount" and not get_ci(identity, "principalId")):
        return "anonymous"
    principal = get_ci(identity, "principalId")
    if kind == "AWSAccount" and account:
        return f"{principal or 'AWSAccount'} (account {account})"
    return principal or account or UNKNOWN_ACTOR


def actor_account(event):
    """The account ID of the caller, or None (anonymous callers have none)."""
    account = get_ci(event.get("userIdentity"), "accountId")
    return account if is_account_id(account) else None


def is_account_id(value):
    return isinstance(value, str) and len(value) == 12 and value.isdigit()


def arn_account(arn):
    """The account field of an ARN, or None when it is empty (as in S3 bucket ARNs)."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return None
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    return parts[4] if is_account_id(parts[4]) else None


def bucket_from_arn(arn):
    """The bucket name of an S3 bucket or object ARN (arn:aws:s3:::bucket[/key])."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return None
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[2] != "s3" or parts[3] or parts[4]:
        return None
    name = parts[5].split("/", 1)[0]
    return name or None


def resources(event, kind=None):
    """The event's resources[] entries, optionally only those of one type."""
    found = []
    for resource in as_list(event.get("resources")):
        if not isinstance(resource, Mapping):
            continue
        if kind is None or get_ci(resource, "type") == kind:
            found.append(resource)
    return found


def resource_arn(resource):
    return get_ci(resource, "ARN") or get_ci(resource, "ARNPrefix")


def bucket(event):
    """The bucket the call is about: requestParameters.bucketName, else the first S3 bucket or
    object resource; None when the event names no bucket."""
    name = request(event, "bucketName")
    if isinstance(name, str) and name:
        return name
    for kind in ("AWS::S3::Bucket", "AWS::S3::Object"):
        for resource in resources(event, kind):
            name = bucket_from_arn(resource_arn(resource))
            if name:
                return name
    return None


def object_key(event):
    """The object key of an object-level call (`key`, or `Key` on Outposts), or None."""
    key = request(event, "key")
    return key if isinstance(key, str) and key else None


def bucket_accounts(event):
    """{bucket name: owner account ID} from the AWS::S3::Bucket resources that carry one."""
    owners = {}
    for resource in resources(event, "AWS::S3::Bucket"):
        account = get_ci(resource, "accountId")
        name = bucket_from_arn(resource_arn(resource))
        if name and is_account_id(account):
            owners[name] = account
    return owners


def is_s3(event):
    return event.get("eventSource") == S3_SOURCE


def is_data_event(event):
    """An S3 data (object-level) event: eventCategory Data, or, for records that lack
    eventCategory, an object-level API name."""
    category = event.get("eventCategory")
    if category:
        return category == "Data"
    return event.get("eventName") in S3_DATA_EVENT_NAMES


# ---------------------------------------------------------------------------------------------
# Alert context


def cloudtrail_context(event, **extra):
    """What an analyst needs first from any CloudTrail S3 alert, plus rule-specific extras."""
    identity = event.get("userIdentity")
    context = {
        "actor": actor(event),
        "actorArn": get_ci(identity, "arn"),
        "actorType": get_ci(identity, "type"),
        "actorAccountId": get_ci(identity, "accountId"),
        "accessKeyId": get_ci(identity, "accessKeyId"),
        "mfaAuthenticated": get_ci(identity, "sessionContext", "attributes", "mfaAuthenticated"),
        "invokedBy": get_ci(identity, "invokedBy"),
        "sourceIPAddress": event.get("sourceIPAddress"),
        "userAgent": event.get("userAgent"),
        "eventName": event.get("eventName"),
        "eventSource": event.get("eventSource"),
        "eventTime": event.get("eventTime"),
        "awsRegion": event.get("awsRegion"),
        "recipientAccountId": event.get("recipientAccountId"),
        "bucket": bucket(event),
        "key": object_key(event),
        "eventID": event.get("eventID"),
        "requestID": event.get("requestID"),
    }
    for optional in ("errorCode", "errorMessage", "vpcEndpointId"):
        if event.get(optional):
            context[optional] = event.get(optional)
    context.update(extra)
    return {k: plain(v) for k, v in context.items()}
