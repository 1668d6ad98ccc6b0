"""Shared logic of bucketwatch's built-in AWS.S3ServerAccess (S3 server access log) rules.

Every function here is pure: it reads the event (the read-only event view a rule receives, or a
plain dict) and nothing else. Site settings are deliberately not read here: rules import them
from `bucketwatch_settings` themselves, so that a test's Mocks on the rule module replace them.

Conventions of the access-log format this relies on:
- Absent values are logged as `-`; anonymous requests have no requester (or `-`, `Anonymous`).
- `operation` is `<SOURCE>.<METHOD>.<RESOURCE>`, e.g. REST.GET.OBJECT, BATCH.DELETE.OBJECT,
  S3.EXPIRE.OBJECT (an S3-initiated lifecycle action), WEBSITE.GET.OBJECT.
- AWS services acting on their own behalf log as `svc:<service principal>` or `AmazonS3`.
"""

from functools import lru_cache

from bucketwatch_settings import is_ip  # noqa: F401  (re-exported for rules)
from bucketwatch_settings import normalized_ip

# Requester values of anonymous requests (no authenticated principal).
ANONYMOUS_REQUESTERS = (None, "", "-", "Anonymous")
# Key values of requests that name no object.
NO_KEY = (None, "", "-")
# Requesters that are AWS itself: S3 (replication, inventory, lifecycle) and, by prefix, the
# service principals of other AWS services (svc:logging.s3.amazonaws.com, ...).
AWS_INTERNAL_REQUESTERS = frozenset({"AmazonS3"})
AWS_SERVICE_PREFIX = "svc:"

# HTTP methods (the middle part of `operation`) that change data.
WRITE_METHODS = frozenset({"PUT", "POST", "DELETE", "COPY"})
# Resource part of REST.<METHOD>.<RESOURCE> operations that act on a single object.
OBJECT_RESOURCES = frozenset(
    {
        "OBJECT",
        "OBJECT_GET",
        "OBJECT_TAGGING",
        "OBJECT_ATTRIBUTES",
        "PART",
        "PART_GET",
        "UPLOAD",
        "RESTORE",
        "SELECT",
    }
)
# Resources shared by bucket- and object-level calls: object-level only when a key is logged.
KEYED_RESOURCES = frozenset({"ACL", "UPLOADS"})

# Fields every access-log alert context has, in this order.
CONTEXT_FIELDS = (
    "bucket",
    "key",
    "requester",
    "remoteip",
    "operation",
    "httpstatus",
    "errorcode",
    "useragent",
    "bytessent",
    "requestid",
    "time",
)
# Where the built-in rules' extra context fields sit among the common ones, so an alert reads
# the same way whichever rule raised it: who, from where, what, then identifiers. Extras not
# listed here follow the common fields, in the order the rule passed them.
CONTEXT_ORDER = (
    "bucket",
    "key",
    "requester",
    "requester_account",
    "allowed_requesters",
    "remoteip",
    "approved_cidrs",
    "operation",
    "httpstatus",
    "errorcode",
    "useragent",
    "referrer",
    "bytessent",
    "requesturi",
    "objectsize",
    "large_object_bytes",
    "authenticationtype",
    "sourceregion",
    "aclrequired",
    "hostheader",
    "requestid",
    "time",
)
_CONTEXT_RANK = {name: rank for rank, name in enumerate(CONTEXT_ORDER)}


# ---------------------------------------------------------------------------------------------
# Values


def to_int(value):
    """value as an int, or None when it is missing or not a number (`-`, text, ...)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# Who and from where


def requester(event):
    """The requester as text, or None for anonymous requests (missing, empty, `-`, `Anonymous`)."""
    value = event.get("requester")
    if value in ANONYMOUS_REQUESTERS:
        return None
    return str(value)


def is_anonymous(event):
    return requester(event) is None


def is_aws_internal(event):
    """True for requests AWS makes itself: requester AmazonS3 or a svc:<service> principal."""
    name = requester(event)
    return name is not None and (
        name in AWS_INTERNAL_REQUESTERS or name.startswith(AWS_SERVICE_PREFIX)
    )


def actor(event):
    """The requester, or `anonymous@<remoteip>` for anonymous requests."""
    return requester(event) or f"anonymous@{event.get('remoteip') or 'unknown'}"


def remote_ip(event):
    """The remote IP as normalized text when it is a valid address (surrounding whitespace
    ignored), else None (`-`, missing, garbage)."""
    value = event.get("remoteip")
    if not value or value == "-":
        return None
    return normalized_ip(str(value))


# ---------------------------------------------------------------------------------------------
# What and with which outcome


def http_status(event):
    """The HTTP status as an int, or None when it is missing or `-`."""
    return to_int(event.get("httpstatus"))


def succeeded(event):
    """A 2xx or 3xx answer without an error code (304 Not Modified still means access was
    allowed)."""
    status = http_status(event)
    return status is not None and 200 <= status < 400 and not event.get("errorcode")


def object_key(event):
    """The object key, or None when none is logged (missing, empty, `-`)."""
    key = event.get("key")
    if key in NO_KEY:
        return None
    return key


def operation_method(event):
    """The method part of `operation` (GET for REST.GET.OBJECT), or "" when it has none."""
    parts = str(event.get("operation") or "").split(".")
    return parts[1] if len(parts) >= 3 else ""


def is_write(event):
    """True when the operation's method changes data (PUT, POST, DELETE, COPY)."""
    return operation_method(event) in WRITE_METHODS


def is_object_operation(event):
    """True for a REST or BATCH operation on a single object; ACL and UPLOADS calls count only
    when they name a key."""
    parts = str(event.get("operation") or "").split(".")
    if len(parts) < 3 or parts[0] not in ("REST", "BATCH"):
        return False
    resource = parts[-1]
    if resource in OBJECT_RESOURCES:
        return True
    return resource in KEYED_RESOURCES and object_key(event) is not None


# ---------------------------------------------------------------------------------------------
# Alert context


def access_context(event, *fields, **extra):
    """The common alert context of an access-log alert (CONTEXT_FIELDS, values as logged), plus
    the event fields named in `fields` and the computed `extra` values, laid out in
    CONTEXT_ORDER. An extra replaces an event field of the same name."""
    return {
        name: extra[name] if computed else event.get(name)
        for name, computed in _layout(fields, tuple(extra))
    }


@lru_cache(maxsize=64)
def _layout(fields, extras):
    """(name, computed) pairs of an alert context, in CONTEXT_ORDER (unlisted names last)."""
    names = list(dict.fromkeys(CONTEXT_FIELDS + fields + extras))
    last = len(CONTEXT_ORDER)
    names.sort(key=lambda name: _CONTEXT_RANK.get(name, last))
    return tuple((name, name in extras) for name in names)
