from bucketwatch_cloudtrail import (
    UNKNOWN_BUCKET,
    actor,
    arn_account,
    as_list,
    bucket,
    cloudtrail_context,
    get_ci,
    is_account_id,
    is_s3,
    request,
    succeeded,
)
from bucketwatch_settings import trusted_accounts


def rule(event):
    if not is_s3(event) or event.get("eventName") != "PutBucketReplication":
        return False
    return succeeded(event) and bool(external_destinations(event))


def replication_rules(event):
    config = request(event, "ReplicationConfiguration")
    # The XML element is `Rule` (one object or a list); some exporters write `Rules`.
    return as_list(get_ci(config, "Rule")) or as_list(get_ci(config, "Rules"))


def destination_account(destination):
    """The destination's account: its `Account` element, else the account field of its bucket
    ARN (empty for ordinary S3 bucket ARNs). None when the event does not say."""
    account = get_ci(destination, "Account")
    if is_account_id(str(account or "")):
        return str(account)
    return arn_account(get_ci(destination, "Bucket"))


def trusted(event):
    """Your own accounts from the settings, plus the account that owns the source bucket."""
    accounts = {str(a) for a in trusted_accounts()}
    if event.get("recipientAccountId"):
        accounts.add(str(event.get("recipientAccountId")))
    return accounts


def external_destinations(event):
    """[{rule, bucket, account}] for every enabled replication rule whose destination account
    is known and not trusted. Disabled rules replicate nothing and are ignored."""
    allowed = trusted(event)
    found = []
    for replication in replication_rules(event):
        if str(get_ci(replication, "Status", default="Enabled")).lower() == "disabled":
            continue
        destination = get_ci(replication, "Destination")
        account = destination_account(destination)
        if account and account not in allowed:
            found.append(
                {
                    "rule": get_ci(replication, "ID"),
                    "bucket": get_ci(destination, "Bucket"),
                    "account": account,
                }
            )
    return found


def title(event):
    accounts = sorted({d["account"] for d in external_destinations(event)})
    return (
        f"S3 bucket [{bucket(event) or UNKNOWN_BUCKET}] set to replicate to external "
        f"account {', '.join(accounts)} by {actor(event)}"
    )


def dedup(event):
    accounts = sorted({d["account"] for d in external_destinations(event)})
    return f"{bucket(event) or UNKNOWN_BUCKET}:{','.join(accounts)}"


def alert_context(event):
    return cloudtrail_context(
        event,
        externalDestinations=external_destinations(event),
        replicationRole=request(event, "ReplicationConfiguration", "Role"),
        trustedAccounts=sorted(trusted(event)),
    )
