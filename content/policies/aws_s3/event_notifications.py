from bucketwatch_s3_posture import field, name


def policy(resource):
    config = field(resource, "NotificationConfiguration") or {}
    kinds = ("TopicConfigurations", "QueueConfigurations", "LambdaFunctionConfigurations")
    return any(config.get(k) for k in kinds) or config.get("EventBridgeConfiguration") is not None


def title(resource):
    return f"S3 bucket {name(resource)} has no event notifications"
