from bucketwatch_s3_posture import field, name

WRITE_METHODS = {"PUT", "POST", "DELETE"}


def _open_rules(resource):
    return [
        rule
        for rule in field(resource, "CorsRules") or []
        if "*" in (rule.get("AllowedOrigins") or [])
        and WRITE_METHODS & {m.upper() for m in rule.get("AllowedMethods") or []}
    ]


def policy(resource):
    return not _open_rules(resource)


def title(resource):
    methods = sorted({m for r in _open_rules(resource) for m in r.get("AllowedMethods") or []})
    return f"S3 bucket {name(resource)} allows {', '.join(methods)} from any origin (CORS *)"
