"""Helpers of the S3 posture policies (content/policies/aws_s3).

A policy must not fail a bucket because the scanner could not read its configuration: the
scanner lists each field whose API call failed in resource["bucketwatch"]["Unknown"], and leaves
a verdict it cannot decide as None. `field` and `verdict` raise UnknownInput for those; bucketwatch
scan reports that as status "unknown" with the message.
"""


class UnknownInput(Exception):
    """An input the policy needs is unknown (AccessDenied, throttling, wrong Region, ...)."""


def _bw(resource) -> dict:
    return resource.get("bucketwatch") or {}


def field(resource, name):
    """The resource field `name` (None when not configured); raises UnknownInput when unknown."""
    unknown = _bw(resource).get("Unknown") or {}
    if name in unknown:
        raise UnknownInput(f"{name} is unknown: {unknown[name]}")
    return resource.get(name)


def verdict(resource, name):
    """A scanner verdict (bucketwatch.<name>); raises UnknownInput when it could not be decided."""
    value = _bw(resource).get(name)
    if value is None:
        why = "; ".join(reasons(resource, name)) or "an input is unknown"
        raise UnknownInput(f"{name} cannot be decided: {why}")
    return value


def reasons(resource, name) -> list:
    """The reasons the scanner gave for verdict `name` (bucketwatch.<name>Reasons)."""
    return list(_bw(resource).get(name + "Reasons") or [])


def bpa_flags_off(config) -> list:
    """The public access block flags that are not true (all four when none is configured)."""
    names = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"]
    config = config or {}
    return [n for n in names if config.get(n) is not True]


def active_lifecycle_rules(resource) -> list:
    """The lifecycle rules with Status Enabled: a configuration whose rules are all Disabled
    does nothing, and AWS Config's lifecycle checks (S3.10, S3.13) count only active rules."""
    return [r for r in field(resource, "LifecycleRules") or [] if (r or {}).get("Status") == "Enabled"]


def encryption_algorithms(resource) -> list:
    """The SSEAlgorithm of every default-encryption rule, in order."""
    rules = field(resource, "EncryptionRules") or []
    return [
        ((r or {}).get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm")
        for r in rules
    ]


def name(resource) -> str:
    return resource.get("Name") or resource.get("ResourceId") or "?"
