//! The DynamoDB store's delivery outbox: claims, settlement, and what an operator reads.
//!
//! Owns the delivery and attempt items' life after `record` queued them; must not decide
//! retries (crate::deliver does) or read the clock. A claim is a conditional update of one
//! delivery on the due time the claimer saw: of two deliverers that saw the same due
//! delivery, one wins and the other's condition fails, so they never send it concurrently.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};
use bucketwatch_core::Timestamp;

use super::DynamoAlertStore;
use super::item::{self, Item};
use crate::model::Alert;
use crate::outbox::{AttemptOutcome, Delivery, DeliveryAttempt, DeliveryQueue, Settled};
use crate::store::StoreError;

impl DeliveryQueue for DynamoAlertStore {
    fn location(&self) -> String {
        self.label.clone()
    }

    async fn claim_due(
        &mut self,
        now: Timestamp,
        limit: usize,
        lease_until: Timestamp,
    ) -> Result<Vec<Delivery>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Every due_sk of a delivery due at `now` sorts below this ('$' follows '#').
        let bound = format!("{}$", item::sort_time(now));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(item::DUE_INDEX)
            .key_condition_expression("#dpk = :dpk AND #dsk < :bound")
            .expression_attribute_names("#dpk", item::DUE_PK)
            .expression_attribute_names("#dsk", item::DUE_SK)
            .expression_attribute_values(":dpk", item::s(item::DUE_PARTITION))
            .expression_attribute_values(":bound", item::s(bound))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| self.error("finding due deliveries", &e))?;
        let mut claimed = Vec::new();
        for seen in out.items() {
            if let Some(delivery) = self.claim_one(seen, lease_until).await? {
                claimed.push(delivery);
            }
        }
        Ok(claimed)
    }

    async fn settle(
        &mut self,
        settled: &[Settled],
        deferred: &[(String, Timestamp)],
    ) -> Result<(), StoreError> {
        let mut writes = Vec::new();
        for s in settled {
            // The log row and the delivery's new state commit together.
            let log = aws_sdk_dynamodb::types::Put::builder()
                .table_name(&self.table)
                .set_item(Some(item::attempt_item(&s.attempt)))
                .build()
                .map_err(|e| self.build_error(e))?;
            writes.push(vec![
                TransactWriteItem::builder().put(log).build(),
                self.settle_update(s)?,
            ]);
        }
        for (id, due) in deferred {
            writes.push(vec![self.defer_update(id, *due)?]);
        }
        let mut transaction: Vec<TransactWriteItem> = Vec::new();
        for pair in writes {
            if transaction.len() + pair.len() > super::MAX_TRANSACTION_ITEMS {
                self.send_settlement(std::mem::take(&mut transaction))
                    .await?;
            }
            transaction.extend(pair);
        }
        if !transaction.is_empty() {
            self.send_settlement(transaction).await?;
        }
        Ok(())
    }

    async fn alert(&self, alert_id: &str) -> Result<Option<Alert>, StoreError> {
        self.load_alert(alert_id).await
    }
}

impl DynamoAlertStore {
    /// Pushes one delivery's due time to `lease_until` if it is still pending at the due time
    /// the index showed; `None` when another deliverer changed it first.
    async fn claim_one(
        &self,
        seen: &Item,
        lease_until: Timestamp,
    ) -> Result<Option<Delivery>, StoreError> {
        let (
            Some(AttributeValue::S(pk)),
            Some(AttributeValue::S(sk)),
            Some(AttributeValue::S(due)),
        ) = (
            seen.get(item::PK),
            seen.get(item::SK),
            seen.get(item::DUE_SK),
        )
        else {
            return Ok(None);
        };
        let (Some(seen_due), Some((_, delivery_id))) = (item::due_time(due), due.split_once('#'))
        else {
            return Err(StoreError::Corrupt {
                path: self.label.clone(),
                what: format!("the due index entry {pk}/{sk}"),
                reason: format!("unreadable due key {due:?}"),
            });
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::key(pk.clone(), sk)))
            .condition_expression("#st = :pending AND #next = :seen")
            .update_expression("SET #next = :lease, #dsk = :dsk")
            .expression_attribute_names("#st", "state")
            .expression_attribute_names("#next", "next_attempt")
            .expression_attribute_names("#dsk", item::DUE_SK)
            .expression_attribute_values(":pending", item::s("pending"))
            .expression_attribute_values(":seen", item::n(seen_due.0))
            .expression_attribute_values(":lease", item::n(lease_until.0))
            .expression_attribute_values(":dsk", item::s(item::due_sk(lease_until, delivery_id)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let attributes = out.attributes().cloned().unwrap_or_default();
                let what = || format!("delivery {delivery_id}");
                item::delivery_from_item(&self.reader(&attributes, &what)).map(Some)
            }
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.error(format_args!("claiming delivery {delivery_id}"), &e)),
        }
    }

    fn settle_update(&self, s: &Settled) -> Result<TransactWriteItem, StoreError> {
        let a = &s.attempt;
        let (state, next, finished) = match a.outcome {
            AttemptOutcome::Delivered => ("delivered", a.at, Some(a.at)),
            AttemptOutcome::Failed => ("failed", a.at, Some(a.at)),
            AttemptOutcome::Retry => ("pending", s.next_attempt.unwrap_or(a.at), None),
        };
        let names = HashMap::from([
            ("#st".to_owned(), "state".to_owned()),
            ("#next".to_owned(), "next_attempt".to_owned()),
            ("#dpk".to_owned(), item::DUE_PK.to_owned()),
            ("#dsk".to_owned(), item::DUE_SK.to_owned()),
        ]);
        let mut values = HashMap::from([
            (":st".to_owned(), item::s(state)),
            (":next".to_owned(), item::n(next.0)),
            (":attempts".to_owned(), item::n(a.attempt)),
        ]);
        let mut set = vec!["#st = :st", "#next = :next", "attempts = :attempts"];
        let mut remove = Vec::new();
        match &a.error {
            Some(error) => {
                values.insert(":err".into(), item::s(error.as_str()));
                set.push("last_error = :err");
            }
            None => remove.push("last_error"),
        }
        match finished {
            Some(at) => {
                values.insert(":fin".into(), item::n(at.0));
                set.push("finished_at = :fin");
            }
            None => remove.push("finished_at"),
        }
        // Only pending deliveries stay in the due index.
        if a.outcome == AttemptOutcome::Retry {
            values.insert(":dpk".into(), item::s(item::DUE_PARTITION));
            values.insert(":dsk".into(), item::s(item::due_sk(next, &a.delivery_id)));
            set.extend(["#dpk = :dpk", "#dsk = :dsk"]);
        } else {
            remove.extend(["#dpk", "#dsk"]);
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item::key(
                item::alert_pk(&a.alert_id),
                &item::delivery_sk(&a.destination_id),
            )))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| self.build_error(e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn defer_update(
        &self,
        delivery_id: &str,
        due: Timestamp,
    ) -> Result<TransactWriteItem, StoreError> {
        // Delivery ids are `<alert id>:<destination id>`, and alert ids are hex.
        let (alert_id, destination) =
            delivery_id
                .split_once(':')
                .ok_or_else(|| StoreError::Corrupt {
                    path: self.label.clone(),
                    what: format!("delivery {delivery_id}"),
                    reason: "its id is not <alert id>:<destination id>".into(),
                })?;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item::key(
                item::alert_pk(alert_id),
                &item::delivery_sk(destination),
            )))
            .update_expression("SET #next = :next, #dsk = :dsk")
            .expression_attribute_names("#next", "next_attempt")
            .expression_attribute_names("#dsk", item::DUE_SK)
            .expression_attribute_values(":next", item::n(due.0))
            .expression_attribute_values(":dsk", item::s(item::due_sk(due, delivery_id)))
            .build()
            .map_err(|e| self.build_error(e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    async fn send_settlement(&self, writes: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("recording delivery attempts", &e))
    }

    /// The deliveries of one alert, by destination id.
    pub fn deliveries(&self, alert_id: &str) -> Result<Vec<Delivery>, StoreError> {
        let items = self.handle.block_on(self.query_partition(
            &item::alert_pk(alert_id),
            &format!("reading the deliveries of alert {alert_id}"),
        ))?;
        items
            .iter()
            .filter(|i| sort_key(i).starts_with("D#"))
            .map(|i| {
                let what = || format!("a delivery of alert {alert_id}");
                item::delivery_from_item(&self.reader(i, &what))
            })
            .collect()
    }

    /// The delivery log of one alert: every attempt, by destination then attempt number.
    pub fn delivery_log(&self, alert_id: &str) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let items = self.handle.block_on(self.query_partition(
            &item::alert_pk(alert_id),
            &format!("reading the delivery log of alert {alert_id}"),
        ))?;
        items
            .iter()
            .filter(|i| sort_key(i).starts_with("L#"))
            .map(|i| {
                let what = || format!("an attempt of alert {alert_id}");
                item::attempt_from_item(&self.reader(i, &what))
            })
            .collect()
    }

    /// How many deliveries are pending, from the due index (which trails writes slightly).
    pub fn pending_deliveries(&self) -> Result<u64, StoreError> {
        self.handle.block_on(async {
            let mut total = 0u64;
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(item::DUE_INDEX)
                    .key_condition_expression("#dpk = :dpk")
                    .expression_attribute_names("#dpk", item::DUE_PK)
                    .expression_attribute_values(":dpk", item::s(item::DUE_PARTITION))
                    .select(aws_sdk_dynamodb::types::Select::Count)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| self.error("counting pending deliveries", &e))?;
                total += u64::try_from(out.count()).unwrap_or(0);
                start = out.last_evaluated_key().cloned();
                if start.is_none() {
                    return Ok(total);
                }
            }
        })
    }
}

fn sort_key(item: &Item) -> &str {
    item.get(item::SK)
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}
