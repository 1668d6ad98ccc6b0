//! What an SQS message body announces: which S3 objects to read, or that there is nothing to
//! read. Every shape AWS delivers is recognized (log-formats.md §3): S3 event records, SNS
//! envelopes (raw delivery on or off), EventBridge `Object Created`, `s3:TestEvent`,
//! CloudTrail's `{s3Bucket, s3ObjectKey[]}` notification and its validation message.
//!
//! Owns classifying a body and decoding its keys. Must not touch the network: confirming an SNS
//! subscription or reading the objects is the caller's job.

use serde_json::Value;

/// An object a notification names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    /// The key to read, decoded.
    pub key: String,
    /// From the notification; `None` when it does not say (CloudTrail's notification).
    pub size: Option<u64>,
    /// Another spelling to try when `key` is not found: EventBridge does not document whether
    /// its keys are encoded, so its key is used as given and the form-decoded one is kept here.
    pub alternate_key: Option<String>,
}

/// What a message body means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Objects to ingest (possibly none, when every record was filtered out).
    Objects {
        objects: Vec<ObjectRef>,
        /// Records skipped: not an object creation, an empty object, a folder marker.
        skipped: usize,
    },
    /// Nothing to read: acknowledge. The reason is for the log.
    Ignore(&'static str),
    /// An SNS topic asks to confirm a subscription (cross-account topics do).
    ConfirmSubscription { topic_arn: String, token: String },
}

/// Why a body was not understood. The message stays on the queue (and reaches the dead-letter
/// queue if one is configured): a shape bucketwatch does not know is never acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("not a notification bucketwatch knows (not JSON): {snippet:?}")]
    NotJson { snippet: String },
    #[error(
        "not a notification bucketwatch knows (S3 event, SNS envelope, EventBridge, CloudTrail): {snippet:?}"
    )]
    Unrecognized { snippet: String },
    #[error("SNS message of type {kind:?} is not a notification")]
    SnsType { kind: String },
    #[error("{what} is missing or has the wrong type in {snippet:?}")]
    Field { what: &'static str, snippet: String },
    #[error("object key {key:?} cannot be decoded: {reason}")]
    Key { key: String, reason: &'static str },
}

const VALIDATION_MESSAGE: &str = "CloudTrail validation message.";

/// Classifies a message body.
pub fn classify(body: &str) -> Result<Notice, NotificationError> {
    let trimmed = body.trim();
    if trimmed == VALIDATION_MESSAGE {
        return Ok(Notice::Ignore("CloudTrail validation message"));
    }
    let value: Value = serde_json::from_str(trimmed).map_err(|_| NotificationError::NotJson {
        snippet: snippet(trimmed),
    })?;
    classify_value(&value, trimmed, 0)
}

fn classify_value(value: &Value, text: &str, depth: u8) -> Result<Notice, NotificationError> {
    let field = |what: &'static str| NotificationError::Field {
        what,
        snippet: snippet(text),
    };
    if let (Some(kind), Some(_)) = (str_at(value, "Type"), value.get("TopicArn")) {
        return match kind {
            "Notification" if depth == 0 => {
                let inner = str_at(value, "Message").ok_or_else(|| field("SNS Message"))?;
                let inner_trimmed = inner.trim();
                if inner_trimmed == VALIDATION_MESSAGE {
                    return Ok(Notice::Ignore("CloudTrail validation message"));
                }
                let parsed: Value = serde_json::from_str(inner_trimmed).map_err(|_| {
                    NotificationError::NotJson {
                        snippet: snippet(inner_trimmed),
                    }
                })?;
                classify_value(&parsed, inner_trimmed, depth + 1)
            }
            "SubscriptionConfirmation" => Ok(Notice::ConfirmSubscription {
                topic_arn: str_at(value, "TopicArn")
                    .ok_or_else(|| field("TopicArn"))?
                    .to_string(),
                token: str_at(value, "Token")
                    .ok_or_else(|| field("SNS Token"))?
                    .to_string(),
            }),
            "UnsubscribeConfirmation" => Ok(Notice::Ignore("SNS unsubscribe confirmation")),
            other => Err(NotificationError::SnsType {
                kind: other.to_string(),
            }),
        };
    }
    if let Some(records) = value.get("Records") {
        let records = records.as_array().ok_or_else(|| field("Records"))?;
        return s3_records(records, text);
    }
    if str_at(value, "Event") == Some("s3:TestEvent") {
        return Ok(Notice::Ignore("s3:TestEvent"));
    }
    if let Some(bucket) = str_at(value, "s3Bucket") {
        let keys = value
            .get("s3ObjectKey")
            .and_then(Value::as_array)
            .ok_or_else(|| field("s3ObjectKey"))?;
        let mut objects = Vec::with_capacity(keys.len());
        for key in keys {
            // CloudTrail's keys are used as given (log-formats.md §4).
            let key = key.as_str().ok_or_else(|| field("s3ObjectKey"))?;
            objects.push(ObjectRef {
                bucket: bucket.to_string(),
                key: key.to_string(),
                size: None,
                alternate_key: None,
            });
        }
        return Ok(Notice::Objects {
            objects,
            skipped: 0,
        });
    }
    if str_at(value, "source") == Some("aws.s3") && value.get("detail-type").is_some() {
        return eventbridge(value, text);
    }
    Err(NotificationError::Unrecognized {
        snippet: snippet(text),
    })
}

fn s3_records(records: &[Value], text: &str) -> Result<Notice, NotificationError> {
    let field = |what: &'static str| NotificationError::Field {
        what,
        snippet: snippet(text),
    };
    let mut objects = Vec::new();
    let mut skipped = 0;
    for record in records {
        if str_at(record, "eventSource") != Some("aws:s3") {
            return Err(NotificationError::Unrecognized {
                snippet: snippet(text),
            });
        }
        let created = str_at(record, "eventName").is_some_and(|n| n.contains("ObjectCreated:"));
        let s3 = record.get("s3").ok_or_else(|| field("s3"))?;
        let bucket = s3
            .get("bucket")
            .and_then(|b| str_at(b, "name"))
            .ok_or_else(|| field("s3.bucket.name"))?;
        let object = s3.get("object").ok_or_else(|| field("s3.object"))?;
        let raw_key = str_at(object, "key").ok_or_else(|| field("s3.object.key"))?;
        let size = object.get("size").and_then(Value::as_u64);
        let key = form_decode(raw_key)?;
        if !created || is_empty_object(&key, size) {
            skipped += 1;
            continue;
        }
        objects.push(ObjectRef {
            bucket: bucket.to_string(),
            key,
            size,
            alternate_key: None,
        });
    }
    Ok(Notice::Objects { objects, skipped })
}

fn eventbridge(value: &Value, text: &str) -> Result<Notice, NotificationError> {
    let field = |what: &'static str| NotificationError::Field {
        what,
        snippet: snippet(text),
    };
    if str_at(value, "detail-type") != Some("Object Created") {
        return Ok(Notice::Ignore(
            "EventBridge event other than Object Created",
        ));
    }
    let detail = value.get("detail").ok_or_else(|| field("detail"))?;
    let bucket = detail
        .get("bucket")
        .and_then(|b| str_at(b, "name"))
        .ok_or_else(|| field("detail.bucket.name"))?;
    let object = detail.get("object").ok_or_else(|| field("detail.object"))?;
    let key = str_at(object, "key").ok_or_else(|| field("detail.object.key"))?;
    let size = object.get("size").and_then(Value::as_u64);
    if is_empty_object(key, size) {
        return Ok(Notice::Objects {
            objects: Vec::new(),
            skipped: 1,
        });
    }
    let alternate_key = form_decode(key).ok().filter(|decoded| decoded != key);
    Ok(Notice::Objects {
        objects: vec![ObjectRef {
            bucket: bucket.to_string(),
            key: key.to_string(),
            size,
            alternate_key,
        }],
        skipped: 0,
    })
}

/// Folder markers and empty objects hold no records (a zero-byte folder key broke
/// streamalert #1006). Objects of unknown size are read.
fn is_empty_object(key: &str, size: Option<u64>) -> bool {
    key.ends_with('/') || size == Some(0)
}

/// Decodes a key of an S3 event record: `+` is a space, then `%XX` escapes are bytes, which
/// must form UTF-8. The order matters: a literal `+` arrives as `%2B`.
pub fn form_decode(raw: &str) -> Result<String, NotificationError> {
    let bad = |reason| NotificationError::Key {
        key: raw.to_string(),
        reason,
    };
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| bad("a % not followed by two hex digits"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad("the decoded bytes are not UTF-8"))
}

fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// The start of a body, for error messages: enough to recognize it, never a whole object.
fn snippet(text: &str) -> String {
    let end = text
        .char_indices()
        .nth(120)
        .map_or(text.len(), |(at, _)| at);
    text[..end].to_string()
}

#[cfg(test)]
mod tests;
