//! An SQS queue of object notifications: receive, acknowledge (delete), extend visibility.
//!
//! Owns the SQS calls and nothing about what a message means ([`crate::notification`]) or
//! when to acknowledge it (the service acknowledges only after the lake commit). Clients come
//! from the standard AWS configuration, so `AWS_ENDPOINT_URL` points them at moto in tests.

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName, QueueAttributeName,
};

/// SQS's limit on messages per receive and per batch call.
pub const MAX_BATCH: usize = 10;

#[derive(Debug, thiserror::Error)]
#[error(
    "SQS {action} on {queue_url} failed: {reason}; check the queue URL, region and permissions"
)]
pub struct SqsError {
    pub queue_url: String,
    pub action: &'static str,
    pub reason: String,
}

/// A received message.
#[derive(Debug, Clone)]
pub struct Message {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// How many times SQS has handed this message out, this time included.
    pub receive_count: u32,
    /// When the message was sent, in milliseconds since the epoch.
    pub sent_at_ms: Option<i64>,
}

/// One queue.
#[derive(Debug, Clone)]
pub struct Queue {
    client: Client,
    url: String,
}

impl Queue {
    pub fn new(config: &aws_config::SdkConfig, url: impl Into<String>) -> Queue {
        Queue {
            client: Client::new(config),
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn error(&self, action: &'static str, e: impl std::error::Error) -> SqsError {
        SqsError {
            queue_url: self.url.clone(),
            action,
            reason: DisplayErrorContext(e).to_string(),
        }
    }

    /// Long-polls for up to `max` messages (at most 10), hiding them from other consumers for
    /// `visibility`.
    pub async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Message>, SqsError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH) as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .visibility_timeout(seconds(visibility))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| self.error("ReceiveMessage", e))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                let attribute = |name: MessageSystemAttributeName| {
                    m.attributes().and_then(|a| a.get(&name)).cloned()
                };
                Some(Message {
                    message_id: m.message_id()?.to_string(),
                    receipt_handle: m.receipt_handle()?.to_string(),
                    body: m.body().unwrap_or_default().to_string(),
                    receive_count: attribute(MessageSystemAttributeName::ApproximateReceiveCount)
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1),
                    sent_at_ms: attribute(MessageSystemAttributeName::SentTimestamp)
                        .and_then(|t| t.parse().ok()),
                })
            })
            .collect())
    }

    /// Deletes messages (acknowledges them), ten per call. Fails when any deletion failed:
    /// those messages come back after their visibility timeout and add nothing.
    pub async fn delete(&self, receipt_handles: &[&str]) -> Result<(), SqsError> {
        for chunk in receipt_handles.chunks(MAX_BATCH) {
            let mut call = self.client.delete_message_batch().queue_url(&self.url);
            for (i, handle) in chunk.iter().enumerate() {
                call = call.entries(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(*handle)
                        .build()
                        .map_err(|e| self.error("DeleteMessageBatch", e))?,
                );
            }
            let out = call
                .send()
                .await
                .map_err(|e| self.error("DeleteMessageBatch", e))?;
            if let Some(failed) = out.failed().first() {
                return Err(SqsError {
                    queue_url: self.url.clone(),
                    action: "DeleteMessageBatch",
                    reason: format!(
                        "{} of {} deletions failed, first: {} {}",
                        out.failed().len(),
                        chunk.len(),
                        failed.code(),
                        failed.message().unwrap_or_default()
                    ),
                });
            }
        }
        Ok(())
    }

    /// Hides messages for another `visibility` from now: called while they are being worked
    /// on, so a large object is not handed to a second worker halfway through.
    pub async fn extend(
        &self,
        receipt_handles: &[&str],
        visibility: Duration,
    ) -> Result<(), SqsError> {
        for chunk in receipt_handles.chunks(MAX_BATCH) {
            let mut call = self
                .client
                .change_message_visibility_batch()
                .queue_url(&self.url);
            for (i, handle) in chunk.iter().enumerate() {
                call = call.entries(
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(*handle)
                        .visibility_timeout(seconds(visibility))
                        .build()
                        .map_err(|e| self.error("ChangeMessageVisibilityBatch", e))?,
                );
            }
            call.send()
                .await
                .map_err(|e| self.error("ChangeMessageVisibilityBatch", e))?;
        }
        Ok(())
    }

    /// Messages waiting (ApproximateNumberOfMessages): the queue's backlog.
    pub async fn backlog(&self) -> Result<u64, SqsError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(|e| self.error("GetQueueAttributes", e))?;
        Ok(out
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }
}

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}
