//! Sending one alert to one destination, and sorting what went wrong into "retry" and "give
//! up". Knows nothing of the outbox or of backoff: the deliverer decides what an outcome means
//! for the delivery.
//!
//! Secrets (webhook signing keys, Slack URLs, header values) are held here and never appear in
//! an outcome's message: reqwest errors are stripped of their URL before they are kept.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;
use bucketwatch_core::Timestamp;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use sha2::Sha256;

use super::config::{ConfigError, DestinationConfig, DestinationKind};
use super::payload::AlertPayload;
use super::slack;
use crate::model::Alert;

/// The idempotency key of the delivery: `<alert id>:<destination id>`.
pub const DELIVERY_HEADER: &str = "x-bucketwatch-delivery";
/// Unix seconds of the attempt, part of the signed material so a captured request cannot be
/// replayed later under a receiver that checks freshness.
pub const TIMESTAMP_HEADER: &str = "x-bucketwatch-timestamp";
/// `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, present when a secret is configured.
pub const SIGNATURE_HEADER: &str = "x-bucketwatch-signature";

/// SNS's message limit is 256 KiB including attributes; leave room for those.
const SNS_MESSAGE_LIMIT: usize = 250 * 1024;
/// SNS subjects must be shorter than 100 characters.
const SNS_SUBJECT_CHARS: usize = 99;
/// Enough of an error response to say why, bounded against a hostile receiver.
const ERROR_BODY_BYTES: usize = 300;

/// The signature header value for a webhook body: what receivers recompute with their copy of
/// the secret, over the timestamp header's value, a `.`, and the raw body.
pub fn webhook_signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why an attempt did not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotSent {
    /// The destination refused in a way a retry will not change (a 4xx other than 408/429).
    pub permanent: bool,
    pub http_status: Option<u16>,
    /// How long the destination asked us to wait.
    pub retry_after: Option<Duration>,
    pub message: String,
}

impl NotSent {
    pub fn retry(message: impl Into<String>) -> NotSent {
        NotSent {
            permanent: false,
            http_status: None,
            retry_after: None,
            message: message.into(),
        }
    }

    pub fn permanent(message: impl Into<String>) -> NotSent {
        NotSent {
            permanent: true,
            ..NotSent::retry(message)
        }
    }
}

/// `Ok` carries the HTTP status when there was one.
pub(crate) type SendResult = Result<Option<u16>, NotSent>;

/// What one attempt needs besides the destination.
pub(crate) struct Outgoing<'a> {
    pub delivery_id: &'a str,
    pub alert: &'a Alert,
    pub console_url: Option<&'a str>,
    pub now: Timestamp,
}

/// A configured destination, ready to send.
pub(crate) enum Destination {
    Webhook(Http),
    Slack(Http),
    Sns {
        client: aws_sdk_sns::Client,
        topic_arn: String,
    },
    File {
        path: PathBuf,
        /// One append at a time, so lines of concurrent deliveries never interleave.
        lock: Arc<tokio::sync::Mutex<()>>,
    },
    Stdout,
}

pub(crate) struct Http {
    client: reqwest::Client,
    url: reqwest::Url,
    headers: HeaderMap,
    secret: Option<Vec<u8>>,
}

impl Destination {
    pub fn build(
        config: &DestinationConfig,
        http: &reqwest::Client,
        aws: Option<&aws_config::SdkConfig>,
    ) -> Result<Destination, ConfigError> {
        let id = &config.id;
        let env = |var: &str, what: &'static str| {
            std::env::var(var).map_err(|_| ConfigError::MissingEnv {
                id: id.clone(),
                var: var.to_owned(),
                what,
            })
        };
        let http_target = || -> Result<Http, ConfigError> {
            let url = match (&config.url, &config.url_env) {
                (Some(url), _) => url.clone(),
                (None, Some(var)) => env(var, "the destination URL")?,
                (None, None) => {
                    return Err(ConfigError::MissingField {
                        id: id.clone(),
                        kind: config.kind.as_str(),
                        field: "url or url_env",
                    });
                }
            };
            let url = reqwest::Url::parse(&url)
                .map_err(|e| ConfigError::BadUrl {
                    id: id.clone(),
                    reason: e.to_string(),
                })
                .and_then(|url| match url.scheme() {
                    "http" | "https" => Ok(url),
                    other => Err(ConfigError::BadUrl {
                        id: id.clone(),
                        reason: format!("scheme {other:?}"),
                    }),
                })?;
            let mut headers = HeaderMap::new();
            for (name, value) in &config.headers {
                let bad = || ConfigError::BadHeader {
                    id: id.clone(),
                    name: name.clone(),
                };
                let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
                let mut value = HeaderValue::from_str(value).map_err(|_| bad())?;
                value.set_sensitive(true);
                headers.insert(name, value);
            }
            let secret = config
                .secret_env
                .as_deref()
                .map(|var| env(var, "the signing secret").map(String::into_bytes))
                .transpose()?;
            Ok(Http {
                client: http.clone(),
                url,
                headers,
                secret,
            })
        };
        Ok(match config.kind {
            DestinationKind::Webhook => Destination::Webhook(http_target()?),
            DestinationKind::Slack => Destination::Slack(http_target()?),
            DestinationKind::Sns => Destination::Sns {
                client: aws_sdk_sns::Client::new(aws.ok_or_else(|| ConfigError::MissingField {
                    id: id.clone(),
                    kind: "sns",
                    field: "an AWS configuration",
                })?),
                topic_arn: config
                    .topic_arn
                    .clone()
                    .ok_or_else(|| ConfigError::MissingField {
                        id: id.clone(),
                        kind: "sns",
                        field: "topic_arn",
                    })?,
            },
            DestinationKind::File => Destination::File {
                path: config
                    .path
                    .clone()
                    .ok_or_else(|| ConfigError::MissingField {
                        id: id.clone(),
                        kind: "file",
                        field: "path",
                    })?,
                lock: Arc::default(),
            },
            DestinationKind::Stdout => Destination::Stdout,
        })
    }

    pub async fn send(&self, out: &Outgoing<'_>) -> SendResult {
        match self {
            Destination::Webhook(http) => {
                let body = AlertPayload::new(out.alert, out.delivery_id, out.console_url).to_json();
                let timestamp = out.now.unix_seconds().to_string();
                let mut request = http
                    .client
                    .post(http.url.clone())
                    .headers(http.headers.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .header(DELIVERY_HEADER, out.delivery_id)
                    .header(TIMESTAMP_HEADER, &timestamp);
                if let Some(secret) = &http.secret {
                    request = request.header(
                        SIGNATURE_HEADER,
                        webhook_signature(secret, &timestamp, &body),
                    );
                }
                http_outcome(request.body(body).send().await).await
            }
            Destination::Slack(http) => {
                let body = slack::message(out.alert, out.console_url).to_string();
                let request = http
                    .client
                    .post(http.url.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .body(body);
                http_outcome(request.send().await).await
            }
            Destination::Sns { client, topic_arn } => {
                publish(client, topic_arn, out).await.map(|()| None)
            }
            Destination::File { path, lock } => {
                let line = json_line(out);
                let _one_writer = lock.lock().await;
                let path = path.clone();
                tokio::task::spawn_blocking(move || append_synced(&path, &line))
                    .await
                    .unwrap_or_else(|e| {
                        Err(NotSent::retry(format!("the file write task failed: {e}")))
                    })
            }
            Destination::Stdout => {
                let mut stdout = std::io::stdout().lock();
                stdout
                    .write_all(&json_line(out))
                    .and_then(|()| stdout.flush())
                    .map(|()| None)
                    .map_err(|e| NotSent::retry(format!("writing to standard output: {e}")))
            }
        }
    }
}

fn json_line(out: &Outgoing<'_>) -> Vec<u8> {
    let mut line = AlertPayload::new(out.alert, out.delivery_id, out.console_url).to_json();
    line.push(b'\n');
    line
}

/// Appends and fsyncs before reporting success: a delivery marked done is on disk.
fn append_synced(path: &std::path::Path, line: &[u8]) -> SendResult {
    let failed =
        |what: &str, e: std::io::Error| NotSent::retry(format!("{what} {}: {e}", path.display()));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| failed("opening", e))?;
    file.write_all(line)
        .map_err(|e| failed("appending to", e))?;
    file.sync_data().map_err(|e| failed("syncing", e))?;
    Ok(None)
}

/// 2xx delivered; 408, 429 and 5xx are worth retrying; anything else (a 4xx, or a 3xx we do
/// not follow because a redirected POST loses its body) needs someone to fix the destination.
async fn http_outcome(sent: Result<reqwest::Response, reqwest::Error>) -> SendResult {
    let response = sent.map_err(|e| NotSent::retry(error_chain(e)))?;
    let status = response.status();
    if status.is_success() {
        return Ok(Some(status.as_u16()));
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let code = status.as_u16();
    let permanent = !(code == 408 || code == 429 || status.is_server_error());
    let mut message = format!("HTTP {code}");
    let detail = error_body(response).await;
    if !detail.is_empty() {
        let _ = write!(message, ": {detail}");
    }
    Err(NotSent {
        permanent,
        http_status: Some(code),
        retry_after,
        message,
    })
}

/// The start of an error response's body, on one line.
async fn error_body(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(ERROR_BODY_BYTES);
    String::from_utf8_lossy(&bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// reqwest's message and its causes ("error sending request: … : Connection refused"),
/// without the URL, which may carry a token.
fn error_chain(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let error = error.without_url();
    let mut text = format!("{kind}: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

async fn publish(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    out: &Outgoing<'_>,
) -> Result<(), NotSent> {
    let alert = out.alert;
    let body = AlertPayload::new(alert, out.delivery_id, out.console_url)
        .to_json_within(SNS_MESSAGE_LIMIT);
    // Serialized from Rust strings: valid UTF-8.
    let message = String::from_utf8(body).unwrap_or_default();
    let mut request = client
        .publish()
        .topic_arn(topic_arn)
        .message(message)
        .subject(sns_subject(alert));
    for (name, value) in [
        ("bucketwatch.delivery_id", out.delivery_id),
        ("bucketwatch.alert_id", alert.alert_id.as_str()),
        ("bucketwatch.rule_id", alert.rule_id.as_str()),
        ("bucketwatch.severity", alert.severity.as_str()),
    ] {
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| NotSent::permanent(format!("building SNS attribute {name}: {e}")))?;
        request = request.message_attributes(name, attribute);
    }
    request.send().await.map(drop).map_err(sns_error)
}

/// `[SEVERITY] title`, within SNS's subject rules: under 100 characters, no line breaks or
/// control characters.
pub(crate) fn sns_subject(alert: &Alert) -> String {
    let text = format!("[{}] {}", alert.severity.as_str(), alert.title);
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    slack::truncate(clean.trim(), SNS_SUBJECT_CHARS).into_owned()
}

fn sns_error<R: std::fmt::Debug>(
    error: SdkError<aws_sdk_sns::operation::publish::PublishError, R>,
) -> NotSent {
    let message = format!("SNS Publish: {}", DisplayErrorContext(&error));
    match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let throttled = matches!(
                code,
                "Throttled" | "Throttling" | "ThrottlingException" | "KMSThrottling"
            );
            if throttled || code.starts_with("Internal") || code == "ServiceUnavailable" {
                NotSent::retry(message)
            } else {
                NotSent::permanent(message)
            }
        }
        // Timeouts, connection failures, unreadable responses, and requests that could not be
        // built (no credentials or Region yet): the destination or its configuration may come
        // back, and until then the alert stays pending.
        _ => NotSent::retry(message),
    }
}
