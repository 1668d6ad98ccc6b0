//! The table's key schema and the conversions between items and the crate's types.
//!
//! Owns item layout only (keys, attribute names, encodings); must not decide anything about
//! grouping or delivery. The layout is documented in docs/adr/0007-dynamodb-alert-store.md.
//!
//! | item                | pk               | sk                      |
//! |---------------------|------------------|-------------------------|
//! | window state        | `W#<state key>`  | `W`                     |
//! | alert counters      | `A#<alert id>`   | `A`                     |
//! | alert header        | `A#<alert id>`   | `H`                     |
//! | sample event        | `A#<alert id>`   | `S#<seq, 4 digits>`     |
//! | delivery            | `A#<alert id>`   | `D#<destination id>`    |
//! | delivery attempt    | `A#<alert id>`   | `L#<destination id>#<attempt, 6 digits>` |
//! | applied unit chunk  | `U#<unit>`       | `C#<first group, 6 digits>` |
//!
//! Everything about one alert shares a partition, so `get_alert` is one `Query`. Two sparse
//! global secondary indexes: `alerts_newest` (`list_pk` = `alert`, `list_sk` = sortable
//! creation time `#` alert id) on alert counters, and `deliveries_due` (`due_pk` = `pending`,
//! `due_sk` = sortable due time `#` delivery id) on pending deliveries only.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use bucketwatch_core::Timestamp;
use serde_json::Value;

use crate::grouping::{Header, WindowState};
use crate::model::{AlertDetails, AlertKind, AlertSummary, Severity};
use crate::outbox::{AttemptOutcome, Delivery, DeliveryAttempt, DeliveryState};
use crate::store::StoreError;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) const PK: &str = "pk";
pub(crate) const SK: &str = "sk";
pub(crate) const LIST_INDEX: &str = "alerts_newest";
pub(crate) const LIST_PK: &str = "list_pk";
pub(crate) const LIST_SK: &str = "list_sk";
pub(crate) const LIST_PARTITION: &str = "alert";
pub(crate) const DUE_INDEX: &str = "deliveries_due";
pub(crate) const DUE_PK: &str = "due_pk";
pub(crate) const DUE_SK: &str = "due_sk";
pub(crate) const DUE_PARTITION: &str = "pending";
/// The optimistic-concurrency counter of a window item.
pub(crate) const VERSION: &str = "version";

pub(crate) fn window_pk(state_key: &str) -> String {
    format!("W#{state_key}")
}

pub(crate) fn alert_pk(alert_id: &str) -> String {
    format!("A#{alert_id}")
}

pub(crate) fn unit_pk(unit: &str) -> String {
    format!("U#{unit}")
}

pub(crate) fn sample_sk(seq: u64) -> String {
    format!("S#{seq:04}")
}

pub(crate) fn delivery_sk(destination: &str) -> String {
    format!("D#{destination}")
}

pub(crate) fn attempt_sk(destination: &str, attempt: u32) -> String {
    format!("L#{destination}#{attempt:06}")
}

pub(crate) fn chunk_sk(first_group: usize) -> String {
    format!("C#{first_group:06}")
}

pub(crate) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// A time as text that sorts like the time, negative times included: the sign bit flipped,
/// as 20 decimal digits.
pub(crate) fn sort_time(t: Timestamp) -> String {
    format!("{:020}", (t.0 as u64) ^ (1 << 63))
}

/// The `due_sk` of a pending delivery.
pub(crate) fn due_sk(next_attempt: Timestamp, delivery_id: &str) -> String {
    format!("{}#{delivery_id}", sort_time(next_attempt))
}

pub(crate) fn due_time(due_sk: &str) -> Option<Timestamp> {
    let digits: u64 = due_sk.get(..20)?.parse().ok()?;
    Some(Timestamp((digits ^ (1 << 63)) as i64))
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn strings<'a>(values: impl IntoIterator<Item = &'a String>) -> AttributeValue {
    AttributeValue::L(values.into_iter().map(|v| s(v.as_str())).collect())
}

/// DynamoDB's item size rule, close enough to keep a transaction under its 4 MB: names plus
/// values, numbers counted as their text.
pub(crate) fn item_size(item: &Item) -> usize {
    fn value_size(v: &AttributeValue) -> usize {
        match v {
            AttributeValue::S(t) | AttributeValue::N(t) => t.len(),
            AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
            _ => 1,
        }
    }
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// Reads attributes of one item, naming it in errors.
pub(crate) struct Reader<'a> {
    pub item: &'a Item,
    /// The store's label, for [`StoreError::Corrupt`].
    pub store: &'a str,
    pub what: &'a dyn Fn() -> String,
}

impl Reader<'_> {
    fn corrupt(&self, reason: String) -> StoreError {
        StoreError::Corrupt {
            path: self.store.to_owned(),
            what: (self.what)(),
            reason,
        }
    }

    pub fn opt_s(&self, name: &str) -> Result<Option<&str>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v)),
            Some(other) => Err(self.corrupt(format!("{name} is {other:?}, not a string"))),
        }
    }

    pub fn s(&self, name: &str) -> Result<String, StoreError> {
        self.opt_s(name)?
            .map(str::to_owned)
            .ok_or_else(|| self.corrupt(format!("{name} is missing")))
    }

    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v
                .parse()
                .map(Some)
                .map_err(|_| self.corrupt(format!("{name} is {v:?}, not an integer"))),
            Some(other) => Err(self.corrupt(format!("{name} is {other:?}, not a number"))),
        }
    }

    pub fn i64(&self, name: &str) -> Result<i64, StoreError> {
        self.opt_i64(name)?
            .ok_or_else(|| self.corrupt(format!("{name} is missing")))
    }

    pub fn u64(&self, name: &str) -> Result<u64, StoreError> {
        let v = self.i64(name)?;
        u64::try_from(v).map_err(|_| self.corrupt(format!("{name} is negative ({v})")))
    }

    pub fn u32(&self, name: &str) -> Result<u32, StoreError> {
        let v = self.i64(name)?;
        u32::try_from(v).map_err(|_| self.corrupt(format!("{name} is out of range ({v})")))
    }

    pub fn time(&self, name: &str) -> Result<Timestamp, StoreError> {
        self.i64(name).map(Timestamp)
    }

    pub fn strings(&self, name: &str) -> Result<Vec<String>, StoreError> {
        match self.item.get(name) {
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| match v {
                    AttributeValue::S(t) => Ok(t.clone()),
                    other => Err(self.corrupt(format!("{name} holds {other:?}"))),
                })
                .collect(),
            other => Err(self.corrupt(format!("{name} is {other:?}, not a list"))),
        }
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, StoreError> {
        serde_json::from_str(&self.s(name)?)
            .map_err(|e| self.corrupt(format!("{name} is not the JSON expected: {e}")))
    }

    pub fn severity(&self, name: &str) -> Result<Severity, StoreError> {
        let rank = self.i64(name)?;
        Severity::from_rank(rank).ok_or_else(|| self.corrupt(format!("unknown severity {rank}")))
    }

    pub fn kind(&self, name: &str) -> Result<AlertKind, StoreError> {
        let kind = self.s(name)?;
        AlertKind::parse(&kind).ok_or_else(|| self.corrupt(format!("unknown kind {kind:?}")))
    }
}

pub(crate) fn encode(
    store: &str,
    what: impl FnOnce() -> String,
    value: &impl serde::Serialize,
) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|source| StoreError::Encode {
            path: store.to_owned(),
            what: what(),
            source,
        })
}

/// A window item; `rule_id` and `dedup_key` guard against Panther's ambiguous state keys.
pub(crate) fn window_item(
    state_key: &str,
    rule_id: &str,
    dedup_key: &str,
    state: &WindowState,
    version: u64,
) -> Item {
    let mut item = key(window_pk(state_key), "W");
    item.extend([
        ("rule_id".to_owned(), s(rule_id)),
        ("dedup_key".to_owned(), s(dedup_key)),
        ("alert_count".to_owned(), n(state.alert_count)),
        ("alert_id".to_owned(), s(state.alert_id.as_str())),
        ("window_start".to_owned(), n(state.window_start.0)),
        ("update_time".to_owned(), n(state.update_time.0)),
        ("event_count".to_owned(), n(state.event_count)),
        ("plain_count".to_owned(), n(state.plain_count)),
        ("unique_values".to_owned(), strings(&state.unique_values)),
        ("log_types".to_owned(), strings(&state.log_types)),
        ("sample_count".to_owned(), n(state.sample_count)),
        (VERSION.to_owned(), n(version)),
    ]);
    if let Some(created) = state.created_at {
        item.insert("created_at".to_owned(), n(created.0));
    }
    item
}

/// A stored window: its rule and dedup key, its state and its version.
pub(crate) struct StoredWindow {
    pub rule_id: String,
    pub dedup_key: String,
    pub state: WindowState,
    pub version: u64,
}

pub(crate) fn window_from_item(r: &Reader<'_>) -> Result<StoredWindow, StoreError> {
    Ok(StoredWindow {
        rule_id: r.s("rule_id")?,
        dedup_key: r.s("dedup_key")?,
        version: r.u64(VERSION)?,
        state: WindowState {
            alert_count: r.u64("alert_count")?,
            alert_id: r.s("alert_id")?,
            window_start: r.time("window_start")?,
            update_time: r.time("update_time")?,
            event_count: r.u64("event_count")?,
            plain_count: r.u64("plain_count")?,
            unique_values: r.strings("unique_values")?.into_iter().collect(),
            log_types: r.strings("log_types")?.into_iter().collect::<BTreeSet<_>>(),
            sample_count: r.u64("sample_count")?,
            created_at: r.opt_i64("created_at")?.map(Timestamp),
        },
    })
}

pub(crate) fn header_item(
    store: &str,
    alert_id: &str,
    header: &Header,
) -> Result<Item, StoreError> {
    let mut item = key(alert_pk(alert_id), "H");
    item.extend([
        ("kind".to_owned(), s(header.kind.as_str())),
        ("dedup".to_owned(), s(header.dedup.as_str())),
        ("title".to_owned(), s(header.title.as_str())),
        ("severity".to_owned(), n(header.severity.rank())),
        (
            "details".to_owned(),
            encode(
                store,
                || format!("the details of alert {alert_id}"),
                &header.details,
            )?,
        ),
    ]);
    if let Some(context) = &header.context {
        item.insert(
            "context".to_owned(),
            encode(
                store,
                || format!("the context of alert {alert_id}"),
                context,
            )?,
        );
    }
    Ok(item)
}

pub(crate) fn header_from_item(r: &Reader<'_>) -> Result<Header, StoreError> {
    Ok(Header {
        kind: r.kind("kind")?,
        dedup: r.s("dedup")?,
        title: r.s("title")?,
        severity: r.severity("severity")?,
        context: match r.opt_s("context")? {
            Some(_) => Some(r.json::<Value>("context")?),
            None => None,
        },
        details: r.json::<AlertDetails>("details")?,
    })
}

pub(crate) fn sample_item(
    store: &str,
    alert_id: &str,
    seq: u64,
    event: &Value,
) -> Result<Item, StoreError> {
    let mut item = key(alert_pk(alert_id), &sample_sk(seq));
    item.insert(
        "event".to_owned(),
        encode(store, || format!("sample {seq} of alert {alert_id}"), event)?,
    );
    Ok(item)
}

/// The counters of a created alert, with the header's summary fields copied so the listing
/// index answers [`AlertSummary`]s by itself.
pub(crate) fn alert_item(summary: &AlertSummary, log_types: &[String]) -> Item {
    let id = summary.alert_id.as_str();
    let mut item = key(alert_pk(id), "A");
    item.extend([
        ("alert_id".to_owned(), s(id)),
        ("kind".to_owned(), s(summary.kind.as_str())),
        ("rule_id".to_owned(), s(summary.rule_id.as_str())),
        ("dedup".to_owned(), s(summary.dedup.as_str())),
        ("title".to_owned(), s(summary.title.as_str())),
        ("severity".to_owned(), n(summary.severity.rank())),
        ("creation_time".to_owned(), n(summary.creation_time.0)),
        ("update_time".to_owned(), n(summary.update_time.0)),
        ("event_count".to_owned(), n(summary.event_count)),
        ("log_types".to_owned(), strings(log_types)),
        (LIST_PK.to_owned(), s(LIST_PARTITION)),
        (
            LIST_SK.to_owned(),
            s(format!("{}#{id}", sort_time(summary.creation_time))),
        ),
    ]);
    item
}

pub(crate) fn summary_from_item(r: &Reader<'_>) -> Result<AlertSummary, StoreError> {
    Ok(AlertSummary {
        alert_id: r.s("alert_id")?,
        kind: r.kind("kind")?,
        rule_id: r.s("rule_id")?,
        dedup: r.s("dedup")?,
        title: r.s("title")?,
        severity: r.severity("severity")?,
        creation_time: r.time("creation_time")?,
        update_time: r.time("update_time")?,
        event_count: r.u64("event_count")?,
    })
}

pub(crate) fn delivery_item(delivery: &Delivery) -> Item {
    let mut item = key(
        alert_pk(&delivery.alert_id),
        &delivery_sk(&delivery.destination_id),
    );
    item.extend([
        ("delivery_id".to_owned(), s(delivery.delivery_id.as_str())),
        ("alert_id".to_owned(), s(delivery.alert_id.as_str())),
        (
            "destination".to_owned(),
            s(delivery.destination_id.as_str()),
        ),
        ("state".to_owned(), s(delivery.state.as_str())),
        ("enqueued_at".to_owned(), n(delivery.enqueued_at.0)),
        ("next_attempt".to_owned(), n(delivery.next_attempt.0)),
        ("attempts".to_owned(), n(delivery.attempts)),
        ("requeued_at".to_owned(), n(delivery.requeued_at)),
        (DUE_PK.to_owned(), s(DUE_PARTITION)),
        (
            DUE_SK.to_owned(),
            s(due_sk(delivery.next_attempt, &delivery.delivery_id)),
        ),
    ]);
    item
}

pub(crate) fn delivery_from_item(r: &Reader<'_>) -> Result<Delivery, StoreError> {
    let state = r.s("state")?;
    Ok(Delivery {
        delivery_id: r.s("delivery_id")?,
        alert_id: r.s("alert_id")?,
        destination_id: r.s("destination")?,
        state: DeliveryState::parse(&state).ok_or_else(|| StoreError::Corrupt {
            path: r.store.to_owned(),
            what: (r.what)(),
            reason: format!("unknown state {state:?}"),
        })?,
        enqueued_at: r.time("enqueued_at")?,
        next_attempt: r.time("next_attempt")?,
        attempts: r.u32("attempts")?,
        requeued_at: r.u32("requeued_at")?,
        last_error: r.opt_s("last_error")?.map(str::to_owned),
        finished_at: r.opt_i64("finished_at")?.map(Timestamp),
    })
}

pub(crate) fn attempt_item(a: &DeliveryAttempt) -> Item {
    let mut item = key(
        alert_pk(&a.alert_id),
        &attempt_sk(&a.destination_id, a.attempt),
    );
    item.extend([
        ("delivery_id".to_owned(), s(a.delivery_id.as_str())),
        ("attempt".to_owned(), n(a.attempt)),
        ("at".to_owned(), n(a.at.0)),
        ("alert_id".to_owned(), s(a.alert_id.as_str())),
        ("destination".to_owned(), s(a.destination_id.as_str())),
        ("outcome".to_owned(), s(a.outcome.as_str())),
    ]);
    if let Some(status) = a.http_status {
        item.insert("http_status".to_owned(), n(status));
    }
    if let Some(error) = &a.error {
        item.insert("error".to_owned(), s(error.as_str()));
    }
    item
}

pub(crate) fn attempt_from_item(r: &Reader<'_>) -> Result<DeliveryAttempt, StoreError> {
    let outcome = r.s("outcome")?;
    Ok(DeliveryAttempt {
        delivery_id: r.s("delivery_id")?,
        attempt: r.u32("attempt")?,
        at: r.time("at")?,
        alert_id: r.s("alert_id")?,
        destination_id: r.s("destination")?,
        outcome: AttemptOutcome::parse(&outcome).ok_or_else(|| StoreError::Corrupt {
            path: r.store.to_owned(),
            what: (r.what)(),
            reason: format!("unknown outcome {outcome:?}"),
        })?,
        http_status: r
            .opt_i64("http_status")?
            .and_then(|v| u16::try_from(v).ok()),
        error: r.opt_s("error")?.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_times_sort_like_times_and_read_back() {
        let times = [
            i64::MIN,
            -1_000,
            -1,
            0,
            1,
            1_700_000_000_000_000_000,
            i64::MAX,
        ];
        let texts: Vec<_> = times.iter().map(|t| sort_time(Timestamp(*t))).collect();
        assert!(texts.windows(2).all(|w| w[0] < w[1]), "{texts:?}");
        for t in times {
            assert_eq!(due_time(&due_sk(Timestamp(t), "a:b")), Some(Timestamp(t)));
        }
    }
}
