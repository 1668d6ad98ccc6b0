//! Alert delivery: the [`Deliverer`] takes due deliveries from the store's outbox, sends them
//! with bounded concurrency, and records every attempt, retrying with exponential backoff until
//! a delivery succeeds, is refused for good, or reaches the attempt or age limit.
//!
//! Owns sending and retry decisions. Must not touch grouping or decide routing: which
//! deliveries exist is fixed by `record`'s transaction (crate::outbox). Reads the clock only in
//! [`Deliverer::run`]; [`Deliverer::deliver_due`] takes `now`, so tests drive time.
//!
//! Delivery is at least once: a process that dies after a send and before its outcome is
//! committed sends again once the claim's lease ends. Every payload and request carries the
//! delivery id (`X-Bucketwatch-Delivery`, `deliveryId`, the SNS attribute
//! `bucketwatch.delivery_id`) so receivers can drop the repeat.

mod config;
mod destination;
mod payload;
mod slack;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bucketwatch_core::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

pub use config::{ConfigError, DeliveryConfig, DestinationConfig, DestinationKind, RetryPolicy};
pub use destination::{DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_signature};

use destination::{Destination, NotSent, Outgoing, SendResult};

use crate::model::Alert;
use crate::outbox::{AttemptOutcome, Delivery, DeliveryAttempt, DeliveryQueue, Settled};
use crate::sqlite::SqliteAlertStore;
use crate::store::StoreError;

/// How long a claim keeps other deliverers (and this one after a crash) off a delivery,
/// beyond the request timeout.
const LEASE_MARGIN: Duration = Duration::from_secs(60);

/// What one [`Deliverer::deliver_due`] call did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    pub delivered: usize,
    /// Failed this time, scheduled again.
    pub retrying: usize,
    /// Given up: refused for good, or out of attempts or time.
    pub failed: usize,
    /// Not attempted because their destination had just failed a retryable attempt in this
    /// call; due again when that attempt's retry is. A destination that is down or timing out
    /// thus costs one round of attempts, not one per queued alert, and does not hold up the
    /// others.
    pub deferred: usize,
    /// The delivery log rows written, in the order the attempts finished.
    pub attempts: Vec<DeliveryAttempt>,
}

/// Sends queued deliveries from any store's outbox ([`DeliveryQueue`]). Give it its own store
/// handle on the recorder's store: a second connection to the same SQLite file (the two share
/// it through SQLite's WAL), or a second [`DynamoAlertStore`](crate::DynamoAlertStore) on the
/// same table, where several deliverers may run at once. Its store reads and writes happen on
/// the calling task between rounds of sends.
pub struct Deliverer<Q = SqliteAlertStore> {
    store: Q,
    destinations: HashMap<String, Arc<Destination>>,
    retry: RetryPolicy,
    concurrency: usize,
    batch_size: usize,
    lease: Duration,
    poll_interval: Duration,
    console_url: Option<Arc<str>>,
}

impl<Q: DeliveryQueue> Deliverer<Q> {
    /// Builds the destinations of `config`, reading secrets from the environment, and loading
    /// the standard AWS configuration (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, ...)
    /// when an SNS destination is configured.
    pub async fn new(config: &DeliveryConfig, store: Q) -> Result<Self, ConfigError> {
        let aws = if config
            .destinations
            .iter()
            .any(|d| d.kind == DestinationKind::Sns)
        {
            Some(aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
        } else {
            None
        };
        Self::build(config, store, aws.as_ref())
    }

    /// As [`Deliverer::new`], with an AWS configuration the caller already has (the service
    /// shares one between SQS, S3 and SNS; tests point one at moto).
    pub fn with_aws_config(
        config: &DeliveryConfig,
        store: Q,
        aws: &aws_config::SdkConfig,
    ) -> Result<Self, ConfigError> {
        Self::build(config, store, Some(aws))
    }

    fn build(
        config: &DeliveryConfig,
        store: Q,
        aws: Option<&aws_config::SdkConfig>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let timeout = Duration::from_secs(config.request_timeout_secs.max(1));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bucketwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::HttpClient {
                reason: e.without_url().to_string(),
            })?;
        let destinations = config
            .destinations
            .iter()
            .map(|d| Ok((d.id.clone(), Arc::new(Destination::build(d, &http, aws)?))))
            .collect::<Result<_, ConfigError>>()?;
        Ok(Deliverer {
            store,
            destinations,
            retry: config.retry,
            concurrency: config.concurrency,
            batch_size: config.batch_size,
            lease: timeout + LEASE_MARGIN,
            poll_interval: Duration::from_millis(config.poll_interval_ms.max(10)),
            console_url: config.console_url.as_deref().map(Arc::from),
        })
    }

    /// The store, to list deliveries and the delivery log.
    pub fn store(&self) -> &Q {
        &self.store
    }

    /// The store, to requeue failed deliveries.
    pub fn store_mut(&mut self) -> &mut Q {
        &mut self.store
    }

    /// Attempts every delivery due at `now` once, in rounds of `batch_size`, and records the
    /// outcomes. A delivery retried in this call is due after `now`, so the call ends.
    pub async fn deliver_due(&mut self, now: Timestamp) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        let mut down = HashMap::new();
        loop {
            let claimed = self
                .store
                .claim_due(now, self.batch_size, after(now, self.lease))
                .await?;
            let full_round = claimed.len() == self.batch_size;
            if claimed.is_empty() {
                break;
            }
            let round = self.attempt_all(claimed, now, &mut down).await?;
            self.store.settle(&round.settled, &round.deferred).await?;
            report.deferred += round.deferred.len();
            for s in round.settled {
                match s.attempt.outcome {
                    AttemptOutcome::Delivered => report.delivered += 1,
                    AttemptOutcome::Retry => report.retrying += 1,
                    AttemptOutcome::Failed => report.failed += 1,
                }
                report.attempts.push(s.attempt);
            }
            if !full_round {
                break;
            }
        }
        Ok(report)
    }

    /// Delivers until `shutdown` completes, looking for due deliveries every poll interval. A
    /// round in progress is finished before returning, so no send is left unrecorded. Returns
    /// early only when the store fails; the caller decides whether to start it again.
    pub async fn run(&mut self, shutdown: impl Future<Output = ()>) -> Result<(), StoreError> {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            self.deliver_due(Timestamp::now()).await?;
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
    }

    /// Sends one round. `down` maps destinations that failed a retryable attempt during this
    /// `deliver_due` call to that attempt's retry time.
    async fn attempt_all(
        &self,
        claimed: Vec<Delivery>,
        now: Timestamp,
        down: &mut HashMap<String, Timestamp>,
    ) -> Result<Round, StoreError> {
        let mut settled = Vec::with_capacity(claimed.len());
        let mut deferred = Vec::new();
        let mut alerts: HashMap<String, Option<Arc<Alert>>> = HashMap::new();
        let mut in_flight = JoinSet::new();
        let mut by_task = HashMap::new();
        for delivery in claimed {
            let alert = match alerts.get(&delivery.alert_id) {
                Some(alert) => alert.clone(),
                None => {
                    let alert = self.store.alert(&delivery.alert_id).await?.map(Arc::new);
                    alerts.insert(delivery.alert_id.clone(), alert.clone());
                    alert
                }
            };
            let destination = self.destinations.get(&delivery.destination_id).cloned();
            let (alert, destination) = match (alert, destination) {
                (Some(alert), Some(destination)) => (alert, destination),
                (None, _) => {
                    let why = NotSent::permanent(format!(
                        "alert {} is not in the store {}",
                        delivery.alert_id,
                        self.store.location()
                    ));
                    settled.push(self.decide(&delivery, now, Err(why)));
                    continue;
                }
                (_, None) => {
                    let why = NotSent::permanent(format!(
                        "destination {:?} is no longer configured; add it back and requeue \
                         its failed deliveries, or leave them failed",
                        delivery.destination_id
                    ));
                    settled.push(self.decide(&delivery, now, Err(why)));
                    continue;
                }
            };
            while in_flight.len() >= self.concurrency {
                let joined = self.join_one(&mut in_flight, &mut by_task, now).await;
                settled.extend(note_down(down, joined));
            }
            if let Some(&retry_at) = down.get(&delivery.destination_id) {
                deferred.push((delivery.delivery_id, retry_at));
                continue;
            }
            let console_url = self.console_url.clone();
            let delivery_id = delivery.delivery_id.clone();
            let task = in_flight.spawn(async move {
                let out = Outgoing {
                    delivery_id: &delivery_id,
                    alert: &alert,
                    console_url: console_url.as_deref(),
                    now,
                };
                destination.send(&out).await
            });
            by_task.insert(task.id(), delivery);
        }
        while !in_flight.is_empty() {
            let joined = self.join_one(&mut in_flight, &mut by_task, now).await;
            settled.extend(note_down(down, joined));
        }
        Ok(Round { settled, deferred })
    }

    async fn join_one(
        &self,
        in_flight: &mut JoinSet<SendResult>,
        by_task: &mut HashMap<tokio::task::Id, Delivery>,
        now: Timestamp,
    ) -> Option<Settled> {
        let (id, result) = match in_flight.join_next_with_id().await? {
            Ok((id, result)) => (id, result),
            Err(e) => (
                e.id(),
                Err(NotSent::retry(format!("the send task failed: {e}"))),
            ),
        };
        let delivery = by_task.remove(&id)?;
        Some(self.decide(&delivery, now, result))
    }

    /// What an attempt's result means for the delivery.
    fn decide(&self, delivery: &Delivery, now: Timestamp, result: SendResult) -> Settled {
        let attempt = delivery.attempts.saturating_add(1);
        let mut row = DeliveryAttempt {
            delivery_id: delivery.delivery_id.clone(),
            attempt,
            at: now,
            alert_id: delivery.alert_id.clone(),
            destination_id: delivery.destination_id.clone(),
            outcome: AttemptOutcome::Delivered,
            http_status: None,
            error: None,
        };
        let not_sent = match result {
            Ok(status) => {
                row.http_status = status;
                return Settled {
                    attempt: row,
                    next_attempt: None,
                };
            }
            Err(not_sent) => not_sent,
        };
        row.http_status = not_sent.http_status;
        let age = Duration::from_nanos(u64::try_from(now.0 - delivery.enqueued_at.0).unwrap_or(0));
        let policy = &self.retry;
        let counted = attempt.saturating_sub(delivery.requeued_at);
        let (outcome, error, next) = if not_sent.permanent {
            (AttemptOutcome::Failed, not_sent.message, None)
        } else if counted >= policy.max_attempts || age >= Duration::from_secs(policy.max_age_secs)
        {
            let why = format!(
                "gave up after {counted} attempts over {}s: {}",
                age.as_secs(),
                not_sent.message
            );
            (AttemptOutcome::Failed, why, None)
        } else {
            let backoff = policy.backoff(&delivery.delivery_id, counted);
            let asked = not_sent
                .retry_after
                .map(|d| d.min(Duration::from_secs(policy.max_retry_after_secs)))
                .unwrap_or_default();
            (
                AttemptOutcome::Retry,
                not_sent.message,
                Some(after(now, backoff.max(asked))),
            )
        };
        row.outcome = outcome;
        row.error = Some(error);
        Settled {
            attempt: row,
            next_attempt: next,
        }
    }
}

/// What one round decided: attempts made, and deliveries put off untried.
struct Round {
    settled: Vec<Settled>,
    deferred: Vec<(String, Timestamp)>,
}

/// Remembers a destination whose attempt is to be retried, so this call stops sending to it.
fn note_down(down: &mut HashMap<String, Timestamp>, settled: Option<Settled>) -> Option<Settled> {
    if let Some(s) = &settled
        && let (AttemptOutcome::Retry, Some(retry_at)) = (s.attempt.outcome, s.next_attempt)
    {
        down.entry(s.attempt.destination_id.clone())
            .or_insert(retry_at);
    }
    settled
}

fn after(t: Timestamp, d: Duration) -> Timestamp {
    Timestamp(t.0.saturating_add(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)))
}
