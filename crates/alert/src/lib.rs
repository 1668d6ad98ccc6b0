//! Alert grouping, the alert store, and alert delivery.
//!
//! Owns: turning detection's per-event [`RuleResult`]s (matches and rule errors) into alerts
//! with Panther's semantics (panther-compat.md §6): groups per rule, dedup string and error
//! flag; dedup windows fixed from their opening and measured in processing time; thresholds,
//! including distinct-value (`unique()`) thresholds; deterministic alert ids; the persistence
//! of that state and of the alerts themselves ([`AlertStore`], [`AlertReader`],
//! [`SqliteAlertStore`] for one host, [`DynamoAlertStore`] for workers on many); the delivery
//! outbox filled in the same transaction ([`Routes`], [`Delivery`], [`DeliveryQueue`]); and
//! sending it to destinations ([`Deliverer`]).
//!
//! Must not touch: rule evaluation (bucketwatch-detect decides matches, titles, dedup strings)
//! or the lake. Grouping and the store never read the clock: every operation takes the
//! processing time `now` from its caller; only [`Deliverer::run`] reads it.

mod deliver;
mod dynamodb;
mod grouping;
mod model;
mod outbox;
mod sqlite;
mod store;

pub use deliver::{
    ConfigError, DELIVERY_HEADER, Deliverer, DeliveryConfig, DeliveryReport, DestinationConfig,
    DestinationKind, RetryPolicy, SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_signature,
};
pub use dynamodb::{DEFAULT_MAX_ATTEMPTS, DynamoAlertStore};
pub use grouping::SampleSieve;
pub use model::{
    Alert, AlertDetails, AlertKind, AlertSummary, DEFAULT_DEDUP_PERIOD_MINUTES, MAX_SAMPLE_EVENTS,
    ParseSeverityError, ResultKind, RuleErrorInfo, RuleResult, Severity,
};
pub use outbox::{
    AttemptOutcome, Delivery, DeliveryAttempt, DeliveryFilter, DeliveryQueue, DeliveryState, Route,
    Routes, Settled, delivery_id,
};
pub use sqlite::SqliteAlertStore;
pub use store::{
    AlertCursor, AlertFilter, AlertReader, AlertStore, RecordOutcome, StoreError, WindowOutcome,
    WindowStatus,
};
