//! A real HTTP/1.1 server on 127.0.0.1 that records what it receives and answers as told:
//! the webhook and Slack destinations' peer in tests.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bucketwatch_alert::{RuleResult, Severity};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderMap;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;

/// One request as received, and the status it was answered with.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A planned answer: status, `Retry-After` seconds, body.
type Answer = (u16, Option<u64>, &'static str);

#[derive(Default)]
struct State {
    received: Vec<Received>,
    plan: VecDeque<Answer>,
    delay: Duration,
    in_flight: usize,
    max_in_flight: usize,
}

pub struct Listener {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl Listener {
    pub async fn start() -> Listener {
        Listener::start_on(0).await
    }

    /// On a given port: a destination that was down comes up where it was configured.
    pub async fn start_on(port: u16) -> Listener {
        let socket = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind 127.0.0.1");
        let addr = socket.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = socket.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(state.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Listener {
            addr,
            state,
            server,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The next `n` requests are answered with `status` (and `Retry-After`, and `body`).
    pub fn fail_next(&self, n: usize, status: u16, retry_after: Option<u64>, body: &'static str) {
        let mut state = self.state.lock().unwrap();
        state
            .plan
            .extend(std::iter::repeat_n((status, retry_after, body), n));
    }

    /// Every request takes this long to answer: lets a test see how many are in flight.
    pub fn set_delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn max_in_flight(&self) -> usize {
        self.state.lock().unwrap().max_in_flight
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(
    state: Arc<Mutex<State>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let headers = request.headers().clone();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    // Recorded on arrival, so a request whose sender gives up before the answer still counts.
    let (delay, (status, retry_after, text)) = {
        let mut s = state.lock().unwrap();
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        let answer = s.plan.pop_front().unwrap_or((200, None, "ok"));
        s.received.push(Received {
            headers,
            body,
            status: answer.0,
        });
        (s.delay, answer)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    state.lock().unwrap().in_flight -= 1;
    let mut response = Response::builder().status(status);
    if let Some(secs) = retry_after {
        response = response.header("retry-after", secs.to_string());
    }
    Ok(response
        .body(Full::new(Bytes::from_static(text.as_bytes())))
        .unwrap())
}

/// A match of `rule` grouped by `dedup`, creating its alert at once.
pub fn result(rule: &str, dedup: &str, severity: Severity) -> RuleResult {
    serde_json::from_value(json!({
        "rule_id": rule,
        "log_type": "AWS.CloudTrail",
        "dedup": dedup,
        "title": format!("{rule} by {dedup}"),
        "severity": severity,
        "kind": {"type": "match"},
        "alert_context": {"actor": dedup, "bucket": "prod-data"},
        "description": "Someone deleted a bucket.",
        "runbook": "Check who did it.",
        "reference": "https://docs.example.com/rules",
        "tags": ["S3"],
        "event": {"eventName": "DeleteBucket", "userIdentity": {"arn": dedup}},
        "event_time": "2026-11-27 10:00:00.000000000",
    }))
    .unwrap()
}
