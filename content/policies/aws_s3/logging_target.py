from bucketwatch_s3_posture import UnknownInput, field, name


def _problem(resource):
    logging = field(resource, "LoggingPolicy") or {}
    if not logging.get("TargetBucket"):
        return None
    target = (resource.get("bucketwatch") or {}).get("LoggingTarget") or {}
    bucket = logging["TargetBucket"]
    if not target:
        raise UnknownInput(f"the logging target {bucket} was not looked up")
    if not target.get("InInventory") and not target.get("Region"):
        return f"its logging target {bucket} does not exist or cannot be found"
    if target.get("Region") and target.get("Region") != resource.get("Region"):
        return f"its logging target {bucket} is in {target['Region']}, not {resource.get('Region')}"
    if target.get("PublicRead") is True:
        return f"its logging target {bucket} is publicly readable"
    if target.get("InInventory") and target.get("PublicRead") is None:
        raise UnknownInput(f"whether the logging target {bucket} is public is unknown")
    return None


def policy(resource):
    return _problem(resource) is None


def title(resource):
    return f"S3 bucket {name(resource)}: {_problem(resource)}"
