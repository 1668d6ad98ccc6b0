from bucketwatch_cloudtrail import (
    UNKNOWN_BUCKET,
    actor,
    as_list,
    bucket,
    cloudtrail_context,
    first_text,
    get_ci,
    object_key,
    parse_json,
    request,
    succeeded,
)
from bucketwatch_settings import public_buckets

POLICY_EVENTS = {"PutBucketPolicy"}
ACL_EVENTS = {"PutBucketAcl", "PutObjectAcl"}

# Condition keys that tie a statement to known networks, organizations, accounts or callers, so
# that "Principal: *" no longer means "anyone on the internet".
RESTRICTING_KEYS = {
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:userid",
    "aws:username",
    "aws:calledvia",
    "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn",
}
# Values that restrict nothing.
WILDCARD_VALUES = {"*", "0.0.0.0/0", "::/0"}

PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}
PUBLIC_CANNED_ACLS = {
    "public-read": "READ",
    "public-read-write": "WRITE",
    "authenticated-read": "READ",
}
GRANT_HEADERS = {
    "x-amz-grant-read": "READ",
    "x-amz-grant-read-acp": "READ_ACP",
    "x-amz-grant-write": "WRITE",
    "x-amz-grant-write-acp": "WRITE_ACP",
    "x-amz-grant-full-control": "FULL_CONTROL",
}
WRITE_PERMISSIONS = {"WRITE", "WRITE_ACP", "FULL_CONTROL"}
WRITE_ACTION_PREFIXES = ("*", "s3:*", "s3:put", "s3:delete", "s3:restore", "s3:replicate")


def rule(event):
    if not succeeded(event):
        return False
    return bool(public_grants(event))


def public_grants(event):
    """Human-readable descriptions of what the call exposes publicly (empty when nothing)."""
    name = event.get("eventName")
    if name in POLICY_EVENTS:
        return policy_grants(event)
    if name in ACL_EVENTS:
        return acl_grants(event)
    return []


# ---------------------------------------------------------------------------------------------
# Bucket policies


def bucket_policy(event):
    """The new policy: `bucketPolicy` as an object, or `policy` as JSON text. CloudTrail also
    logs the `?policy` sub-resource flag as `"policy": [""]`, which is not a policy."""
    for key in ("bucketPolicy", "policy"):
        policy = parse_json(request(event, key))
        if policy is not None:
            return policy
    return None


def policy_grants(event):
    policy = bucket_policy(event)
    grants = []
    for statement in as_list(get_ci(policy, "Statement")):
        if get_ci(statement, "Effect") != "Allow":
            continue
        if not open_to_everyone(statement) or restricted(statement):
            continue
        actions = [str(a) for a in as_list(get_ci(statement, "Action"))]
        if get_ci(statement, "NotAction") is not None:
            excluded = ",".join(str(a) for a in as_list(get_ci(statement, "NotAction")))
            actions = [f"everything except {excluded}"]
        sid = get_ci(statement, "Sid") or "(no Sid)"
        grants.append(f"policy statement {sid} allows {', '.join(actions) or '?'} to everyone")
    return grants


def open_to_everyone(statement):
    """Principal "*" / {"AWS": "*"}, or an Allow with NotPrincipal (everyone but a few)."""
    if get_ci(statement, "NotPrincipal") is not None:
        return True
    principal = get_ci(statement, "Principal")
    if principal == "*":
        return True
    return "*" in [str(p).strip() for p in as_list(get_ci(principal, "AWS"))]


def restricted(statement):
    """True when a condition limits the statement to known sources or principals. Negated
    operators (NotIpAddress, StringNotEquals…), …IfExists and ForAllValues:… operators do not
    restrict: a request that lacks the key (an anonymous one has no aws:PrincipalOrgID) or
    comes from anywhere else passes them."""
    condition = get_ci(statement, "Condition")
    if not hasattr(condition, "items"):
        return False
    for operator, clauses in condition.items():
        op = str(operator).lower()
        # ForAllValues:… also holds vacuously when the request lacks the key.
        if "not" in op.split(":")[-1] or op.endswith("ifexists") or op.startswith("forallvalues:"):
            continue
        if op == "null":
            continue
        if not hasattr(clauses, "items"):
            continue
        for key, values in clauses.items():
            if str(key).lower() not in RESTRICTING_KEYS:
                continue
            values = [str(v).strip() for v in as_list(values)]
            if values and not any(v in WILDCARD_VALUES for v in values):
                return True
    return False


def policy_allows_write(event):
    policy = bucket_policy(event)
    for statement in as_list(get_ci(policy, "Statement")):
        if get_ci(statement, "Effect") != "Allow" or not open_to_everyone(statement):
            continue
        if restricted(statement):
            continue
        if get_ci(statement, "NotAction") is not None:
            return True
        for action in as_list(get_ci(statement, "Action")):
            if str(action).lower().startswith(WRITE_ACTION_PREFIXES):
                return True
    return False


# ---------------------------------------------------------------------------------------------
# ACLs


def acl_grants(event):
    grants = []
    canned = first_text(request(event, "x-amz-acl")).lower()
    if canned in PUBLIC_CANNED_ACLS:
        grants.append(f"canned ACL {canned}")
    for header, permission in GRANT_HEADERS.items():
        value = first_text(request(event, header))
        for uri, group in PUBLIC_GROUPS.items():
            if uri.lower() in value.lower():
                grants.append(f"{permission} to {group} ({header})")
    acl = request(event, "AccessControlPolicy", "AccessControlList")
    for grant in as_list(get_ci(acl, "Grant")):
        uri = str(get_ci(grant, "Grantee", "URI") or "")
        group = PUBLIC_GROUPS.get(uri.strip())
        if group:
            grants.append(f"{get_ci(grant, 'Permission') or '?'} to {group}")
    return grants


def acl_allows_write(event):
    if first_text(request(event, "x-amz-acl")).lower() == "public-read-write":
        return True
    for grant in acl_grants(event):
        if grant.split(" ", 1)[0] in WRITE_PERMISSIONS:
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Alert


def target(event):
    name = bucket(event) or UNKNOWN_BUCKET
    key = object_key(event)
    return f"{name}/{key}" if event.get("eventName") == "PutObjectAcl" and key else name


def title(event):
    kind = "object" if event.get("eventName") == "PutObjectAcl" else "bucket"
    return f"S3 {kind} [{target(event)}] made public by {actor(event)}"


def severity(event):
    writable = policy_allows_write(event) or acl_allows_write(event)
    if writable:
        return "CRITICAL"
    if bucket(event) in public_buckets():
        # Listed as meant to be public: keep a record, do not page.
        return "INFO"
    return "DEFAULT"


def dedup(event):
    # One alert per bucket, however many objects or statements were opened up.
    return bucket(event) or UNKNOWN_BUCKET


def alert_context(event):
    return cloudtrail_context(
        event,
        publicGrants=public_grants(event),
        bucketPolicy=bucket_policy(event),
        accessControlPolicy=request(event, "AccessControlPolicy"),
        cannedAcl=first_text(request(event, "x-amz-acl")) or None,
        listedAsPublicBucket=bucket(event) in public_buckets(),
    )
