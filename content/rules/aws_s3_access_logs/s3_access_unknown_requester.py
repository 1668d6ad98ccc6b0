from bucketwatch_s3_access import (
    access_context,
    is_aws_internal,
    is_object_operation,
    is_write,
    requester,
    succeeded,
)
from bucketwatch_settings import bucket_role_mapping, matches_any, trusted_accounts


def _allowed_globs(bucket):
    mapping = bucket_role_mapping() or {}
    if bucket not in mapping:
        return None
    globs = mapping.get(bucket) or []
    if isinstance(globs, str):
        globs = [globs]
    return list(globs)


def _account_of(arn):
    # arn:partition:service:region:account:resource
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[4].isdigit():
        return parts[4]
    return None


def _principal(requester_arn):
    """The requester ARN without an assumed-role session name, so sessions of one role group."""
    marker = ":assumed-role/"
    if marker in requester_arn:
        head, _, tail = requester_arn.partition(marker)
        return head + marker + tail.split("/")[0]
    return requester_arn


def rule(event):
    bucket = event.get("bucket")
    who = requester(event)
    if not bucket or who is None or is_aws_internal(event):
        return False
    if not (is_object_operation(event) and succeeded(event)):
        return False
    globs = _allowed_globs(bucket)
    if globs is None:
        return False
    return not matches_any(who, globs)


def title(event):
    return (
        f"Unexpected principal [{event.get('requester')}] ran {event.get('operation')} "
        f"on protected bucket [{event.get('bucket')}]"
    )


def dedup(event):
    return f"{event.get('bucket')}:{_principal(requester(event) or 'anonymous')}"


def severity(event):
    account = _account_of(requester(event) or "")
    trusted = trusted_accounts() or []
    if account and trusted and account not in trusted:
        return "HIGH"
    if is_write(event):
        return "HIGH"
    return "DEFAULT"


def alert_context(event):
    return access_context(
        event,
        requester_account=_account_of(requester(event) or ""),
        allowed_requesters=_allowed_globs(event.get("bucket")) or [],
    )
