//! The service's Prometheus metrics and the `/metrics` endpoint that serves them.
//!
//! Owns the metric names and their meaning. Must not decide anything from them: the service
//! records, Prometheus reads.

use std::net::SocketAddr;
use std::sync::Arc;

use bucketwatch_core::LogType;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::ingest_job::IngestReport;

type Labels = Vec<(&'static str, String)>;

/// Every metric the service exports.
pub struct Metrics {
    registry: Registry,
    events_in: Family<Labels, Counter>,
    rows_out: Family<Labels, Counter>,
    classification_failures: Counter,
    rule_matches: Counter,
    rule_errors: Counter,
    alerts: Counter,
    objects: Family<Labels, Counter>,
    messages: Family<Labels, Counter>,
    queue_lag: Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    queue_backlog: Family<Labels, Gauge>,
    commit_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("bucketwatch");
        let events_in = Family::<Labels, Counter>::default();
        registry.register(
            "events_in",
            "Records parsed, by log type (classification failures included)",
            events_in.clone(),
        );
        let rows_out = Family::<Labels, Counter>::default();
        registry.register(
            "lake_rows",
            "Rows committed to the lake, by table",
            rows_out.clone(),
        );
        let classification_failures = Counter::default();
        registry.register(
            "classification_failures",
            "Records no parser accepted (kept in logs.classification_failures)",
            classification_failures.clone(),
        );
        let rule_matches = Counter::default();
        registry.register(
            "rule_matches",
            "Events a rule matched",
            rule_matches.clone(),
        );
        let rule_errors = Counter::default();
        registry.register(
            "rule_errors",
            "Rule runs that raised or returned a wrong type",
            rule_errors.clone(),
        );
        let alerts = Counter::default();
        registry.register("alerts", "Alerts created", alerts.clone());
        let objects = Family::<Labels, Counter>::default();
        registry.register(
            "objects",
            "Objects by source and outcome (ingested, failed, unrouted)",
            objects.clone(),
        );
        let messages = Family::<Labels, Counter>::default();
        registry.register(
            "queue_messages",
            "Queue messages by source and outcome (acknowledged, ignored, failed, unrecognized)",
            messages.clone(),
        );
        let queue_lag = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "queue_lag_seconds",
            "Age of the oldest message of the last batch when it was received",
            queue_lag.clone(),
        );
        let queue_backlog = Family::<Labels, Gauge>::default();
        registry.register(
            "queue_backlog_messages",
            "Messages waiting in the queue (ApproximateNumberOfMessages)",
            queue_backlog.clone(),
        );
        let commit_seconds = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        registry.register(
            "lake_commit_seconds",
            "Time of one lake commit",
            commit_seconds.clone(),
        );
        Metrics {
            registry,
            events_in,
            rows_out,
            classification_failures,
            rule_matches,
            rule_errors,
            alerts,
            objects,
            messages,
            queue_lag,
            queue_backlog,
            commit_seconds,
        }
    }

    /// Adds what one batch did.
    pub fn record_batch(&self, report: &IngestReport) {
        for (log_type, n) in report.counts.iter() {
            self.events_in
                .get_or_create(&vec![("log_type", log_type.name().to_string())])
                .inc_by(n);
        }
        for (table, n) in &report.rows {
            self.rows_out
                .get_or_create(&vec![("table", table.to_string())])
                .inc_by(*n);
        }
        self.classification_failures
            .inc_by(report.counts.get(LogType::ClassificationFailure));
        self.rule_matches.inc_by(report.matches);
        self.rule_errors.inc_by(report.rule_errors);
        self.alerts.inc_by(report.alerts_created);
        for s in &report.commit_seconds {
            self.commit_seconds.observe(*s);
        }
    }

    /// Alerts created outside batches (scheduled rules).
    pub fn record_alerts(&self, created: u64) {
        self.alerts.inc_by(created);
    }

    pub fn object(&self, source: &str, outcome: &'static str, n: u64) {
        self.objects
            .get_or_create(&vec![
                ("source", source.to_string()),
                ("outcome", outcome.to_string()),
            ])
            .inc_by(n);
    }

    pub fn message(&self, source: &str, outcome: &'static str) {
        self.messages
            .get_or_create(&vec![
                ("source", source.to_string()),
                ("outcome", outcome.to_string()),
            ])
            .inc();
    }

    pub fn queue_lag(&self, source: &str, seconds: f64) {
        self.queue_lag
            .get_or_create(&vec![("source", source.to_string())])
            .set(seconds);
    }

    pub fn queue_backlog(&self, source: &str, messages: u64) {
        self.queue_backlog
            .get_or_create(&vec![("source", source.to_string())])
            .set(i64::try_from(messages).unwrap_or(i64::MAX));
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("metrics endpoint: accept failed: {e}");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let metrics = Arc::clone(&metrics);
                    async move { Ok::<_, std::convert::Infallible>(respond(&request, &metrics)) }
                });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

fn respond(request: &Request<hyper::body::Incoming>, metrics: &Metrics) -> Response<Full<Bytes>> {
    let (status, content_type, body) = if request.uri().path() == "/metrics" {
        (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(),
        )
    } else {
        (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "bucketwatch serves /metrics here\n".to_string(),
        )
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

/// Binds the endpoint; the address in use is in the error, with what to do.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, std::io::Error> {
    TcpListener::bind(addr).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot serve metrics on {addr}: {e}; set [metrics] listen to a free address or enabled = false"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_shows_in_the_exposition() {
        let metrics = Metrics::new();
        let report = IngestReport {
            matches: 3,
            alerts_created: 1,
            commit_seconds: vec![0.02],
            ..IngestReport::default()
        };
        metrics.record_batch(&report);
        metrics.object("prod", "ingested", 2);
        metrics.queue_lag("prod", 1.5);
        let text = metrics.render();
        for line in [
            "bucketwatch_rule_matches_total 3",
            "bucketwatch_alerts_total 1",
            "bucketwatch_objects_total{source=\"prod\",outcome=\"ingested\"} 2",
            "bucketwatch_queue_lag_seconds{source=\"prod\"} 1.5",
            "bucketwatch_lake_commit_seconds_count 1",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
