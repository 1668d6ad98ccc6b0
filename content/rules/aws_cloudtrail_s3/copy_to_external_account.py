from urllib.parse import unquote

from bucketwatch_cloudtrail import (
    UNKNOWN_BUCKET,
    actor,
    bucket,
    bucket_accounts,
    cloudtrail_context,
    first_text,
    is_s3,
    request,
    succeeded,
)
from bucketwatch_settings import trusted_accounts

# Server-side copies: CopyObject, and UploadPartCopy for objects copied in parts (over 5 GB).
COPY_EVENTS = {"CopyObject", "UploadPartCopy"}


def rule(event):
    if not is_s3(event) or event.get("eventName") not in COPY_EVENTS:
        return False
    return succeeded(event) and bool(external_buckets(event))


def trusted(event):
    """Your own accounts from the settings, plus the account whose trail recorded the call."""
    accounts = {str(a) for a in trusted_accounts()}
    if event.get("recipientAccountId"):
        accounts.add(str(event.get("recipientAccountId")))
    return accounts


def external_buckets(event):
    """{bucket: account} for the buckets of the copy owned by an account you do not trust.
    Owners come from the AWS::S3::Bucket resources (CloudTrail names the destination bucket's
    owner there). Without any trusted account to compare with, a copy is external only when its
    buckets belong to more than one account."""
    owners = bucket_accounts(event)
    allowed = trusted(event)
    if not allowed:
        return dict(owners) if len(set(owners.values())) > 1 else {}
    return {name: account for name, account in owners.items() if account not in allowed}


def source(event):
    """(bucket, key) of the copy source, from x-amz-copy-source ("bucket/key?versionId=…")."""
    text = unquote(first_text(request(event, "x-amz-copy-source"))).lstrip("/")
    text = text.split("?versionId=", 1)[0]
    if "/" not in text:
        return (text or None, None)
    name, key = text.split("/", 1)
    return (name or None, key or None)


def title(event):
    accounts = sorted(set(external_buckets(event).values()))
    return (
        f"S3 object copied from [{source(event)[0] or UNKNOWN_BUCKET}] "
        f"to [{bucket(event) or UNKNOWN_BUCKET}] "
        f"involving external account {', '.join(accounts)} by {actor(event)}"
    )


def dedup(event):
    accounts = sorted(set(external_buckets(event).values()))
    return f"{actor(event)}:{','.join(accounts)}"


def alert_context(event):
    src_bucket, src_key = source(event)
    return cloudtrail_context(
        event,
        sourceBucket=src_bucket,
        sourceKey=src_key,
        destinationBucket=bucket(event),
        bucketOwners=bucket_accounts(event),
        externalBuckets=external_buckets(event),
        trustedAccounts=sorted(trusted(event)),
    )
