from bucketwatch_cloudtrail import (
    UNKNOWN_BUCKET,
    actor,
    bucket,
    cloudtrail_context,
    first_text,
    is_s3,
    object_key,
    request,
    succeeded,
)

# Calls that write an object (or start writing one) with the encryption key in the request.
WRITE_EVENTS = {"CopyObject", "PutObject", "CreateMultipartUpload"}
SSE_C_HEADER = "x-amz-server-side-encryption-customer-algorithm"
COPY_SOURCE_SSE_C_HEADER = "x-amz-copy-source-server-side-encryption-customer-algorithm"


def rule(event):
    if not is_s3(event) or event.get("eventName") not in WRITE_EVENTS:
        return False
    # Only the header for the object being written: the copy-source form means an SSE-C object
    # is being read (decrypted), which is not a rewrite under a new key.
    return succeeded(event) and bool(first_text(request(event, SSE_C_HEADER)))


def unique(event):
    # Count distinct objects: rewriting one object again and again is not a mass rewrite.
    return object_key(event) or event.get("eventID") or ""


def title(event):
    return (
        f"Objects in S3 bucket [{bucket(event) or UNKNOWN_BUCKET}] rewritten with customer-provided "
        f"encryption keys (SSE-C) by {actor(event)}"
    )


def dedup(event):
    return f"{actor(event)}:{bucket(event) or UNKNOWN_BUCKET}"


def alert_context(event):
    return cloudtrail_context(
        event,
        sseCustomerAlgorithm=first_text(request(event, SSE_C_HEADER)),
        copySource=first_text(request(event, "x-amz-copy-source")) or None,
        copySourceSseCustomerAlgorithm=first_text(request(event, COPY_SOURCE_SSE_C_HEADER)) or None,
    )
