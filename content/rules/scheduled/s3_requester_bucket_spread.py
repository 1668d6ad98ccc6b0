MIN_BUCKETS = 5


def rule(event):
    # The query already keeps rows at or above the spread; re-checking keeps the rule correct
    # when the query is edited or run with a lower threshold.
    return (event.get("buckets") or 0) >= MIN_BUCKETS


def title(event):
    return (
        f"{event.get('requester')} read from {event.get('buckets')} S3 buckets in a day "
        f"({event.get('requests')} requests)"
    )


def dedup(event):
    return event.get("requester") or "<unknown>"


def alert_context(event):
    return {
        "requester": event.get("requester"),
        "buckets": event.get("buckets"),
        "requests": event.get("requests"),
        "bytes_sent": event.get("bytes_sent"),
        "remote_ips": (event.get("remote_ips") or "").split(","),
    }
