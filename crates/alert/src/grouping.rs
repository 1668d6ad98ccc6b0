//! Panther's alert grouping as pure functions, so every store applies the same rules and tests
//! drive time by hand: batch results are grouped per (rule, dedup, is_error), and each group
//! advances its key's window state at a `now` given by the caller. What an applied group
//! reports ([`window_outcome`]) and the alert it creates ([`new_alert`]) are built here too, so
//! both stores return identical outcomes for identical input.

use std::collections::{BTreeSet, HashMap, HashSet};

use bucketwatch_core::Timestamp;
use md5::{Digest, Md5};
use serde_json::Value;

use crate::model::{
    Alert, AlertDetails, AlertKind, MAX_SAMPLE_EVENTS, ResultKind, RuleErrorInfo, RuleResult,
    Severity,
};
use crate::store::{WindowOutcome, WindowStatus};

const NANOS_PER_MINUTE: i64 = 60 * 1_000_000_000;

/// The dedup string as it enters keys and ids: errors get `:error` appended, so a rule's error
/// alerts never share a window (or an id) with its matches.
pub(crate) fn dedup_key(dedup: &str, is_error: bool) -> String {
    if is_error {
        format!("{dedup}:error")
    } else {
        dedup.to_owned()
    }
}

/// `md5_hex("<RuleID>:<dedup key>")`: the key of a group's window state.
pub(crate) fn state_key(rule_id: &str, dedup_key: &str) -> String {
    md5_hex(&[rule_id, dedup_key])
}

/// `md5_hex("<RuleID>:<alertCount>:<dedup key>")`, as Panther derives alert ids, so workers
/// sharing a store create the same id for the same window.
pub(crate) fn alert_id(rule_id: &str, alert_count: u64, dedup_key: &str) -> String {
    md5_hex(&[rule_id, &alert_count.to_string(), dedup_key])
}

fn md5_hex(parts: &[&str]) -> String {
    let mut hasher = Md5::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b":");
        }
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Alert times are kept to the microsecond, the precision Panther's alerts carry (their text
/// form ends in three zeros), so stored, delivered and listed times agree.
pub(crate) fn alert_time(now: Timestamp) -> Timestamp {
    Timestamp(now.0 - now.0.rem_euclid(1_000))
}

/// The results of one batch that share a (rule, dedup, is_error).
#[derive(Debug)]
pub(crate) struct Group<'a> {
    /// Supplies title, severity, context and the rule's period and threshold.
    pub first: &'a RuleResult,
    pub dedup_key: String,
    pub state_key: String,
    pub count: u64,
    /// Results that carry no `unique` value (every error counts here).
    pub plain_count: u64,
    /// Distinct `unique` values, in first-seen order.
    pub unique_values: Vec<&'a str>,
    /// The first [`MAX_SAMPLE_EVENTS`] events.
    pub samples: Vec<&'a Value>,
    pub log_types: BTreeSet<&'a str>,
}

/// A result that cannot be grouped: its position in the batch and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub index: usize,
    pub reason: &'static str,
}

impl From<Invalid> for crate::store::StoreError {
    fn from(invalid: Invalid) -> Self {
        crate::store::StoreError::InvalidResult {
            index: invalid.index,
            reason: invalid.reason,
        }
    }
}

/// A batch split into groups, in order of each group's first result so outcomes follow the input.
#[derive(Debug)]
pub(crate) struct Grouped<'a> {
    pub groups: Vec<Group<'a>>,
    /// For each result, the index of its group.
    pub result_group: Vec<usize>,
}

pub(crate) fn group_batch(results: &[RuleResult]) -> Result<Grouped<'_>, Invalid> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut result_group = Vec::with_capacity(results.len());
    let mut index: HashMap<(&str, &str, bool), usize> = HashMap::new();
    let mut seen_unique: Vec<HashSet<&str>> = Vec::new();
    for (i, result) in results.iter().enumerate() {
        if result.rule_id.is_empty() {
            return Err(Invalid {
                index: i,
                reason: "rule_id is empty",
            });
        }
        let is_error = result.is_error();
        let slot = *index
            .entry((&result.rule_id, &result.dedup, is_error))
            .or_insert_with(|| {
                let dedup_key = dedup_key(&result.dedup, is_error);
                groups.push(Group {
                    first: result,
                    state_key: state_key(&result.rule_id, &dedup_key),
                    dedup_key,
                    count: 0,
                    plain_count: 0,
                    unique_values: Vec::new(),
                    samples: Vec::new(),
                    log_types: BTreeSet::new(),
                });
                seen_unique.push(HashSet::new());
                groups.len() - 1
            });
        result_group.push(slot);
        let group = &mut groups[slot];
        group.count += 1;
        match result.unique.as_deref() {
            Some(value) if !is_error => {
                if seen_unique[slot].insert(value) {
                    group.unique_values.push(value);
                }
            }
            _ => group.plain_count += 1,
        }
        if group.samples.len() < MAX_SAMPLE_EVENTS {
            group.samples.push(result.event.as_ref());
        }
        group.log_types.insert(&result.log_type);
    }
    Ok(Grouped {
        groups,
        result_group,
    })
}

/// Tells which results of one batch [`group_batch`] can take as alert samples: the first
/// [`MAX_SAMPLE_EVENTS`] of each group, in batch order. A caller that holds a large batch can
/// drop the events of the other results (Panther's samples are bounded for the same reason)
/// before the batch reaches a store.
#[derive(Debug, Default)]
pub struct SampleSieve {
    seen: HashMap<(String, String, bool), usize>,
}

impl SampleSieve {
    /// Whether `result`, the next alertable result of the batch, may become a sample.
    pub fn keeps(&mut self, result: &RuleResult) -> bool {
        let key = (
            result.rule_id.clone(),
            result.dedup.clone(),
            result.is_error(),
        );
        let seen = self.seen.entry(key).or_default();
        *seen += 1;
        *seen <= MAX_SAMPLE_EVENTS
    }

    /// Starts the next batch.
    pub fn clear(&mut self) {
        self.seen.clear();
    }
}

/// What a store keeps per state key between batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WindowState {
    /// Windows opened so far for this key; numbers the alert ids.
    pub alert_count: u64,
    /// The window's alert id, fixed when it opens: matches carry it (`p_alert_id`) whether or
    /// not the threshold is ever reached, as in Panther.
    pub alert_id: String,
    pub window_start: Timestamp,
    pub update_time: Timestamp,
    /// Every result in the window.
    pub event_count: u64,
    /// Results in the window without a `unique` value.
    pub plain_count: u64,
    /// Distinct `unique` values seen in the window while it was below its threshold. Holds
    /// fewer than `threshold` values, and none once the alert exists: after the crossing the
    /// distinct count no longer decides anything.
    pub unique_values: BTreeSet<String>,
    pub log_types: BTreeSet<String>,
    /// Events kept for the window (pending, then on the alert), at most [`MAX_SAMPLE_EVENTS`].
    pub sample_count: u64,
    /// When the threshold was reached and the alert created; `None` while below it.
    pub created_at: Option<Timestamp>,
}

impl WindowState {
    /// What the threshold compares: matches without a unique value count one each, matches
    /// with one count once per distinct value.
    fn threshold_count(&self) -> u64 {
        self.plain_count + self.unique_values.len() as u64
    }
}

/// What applying one group did to its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The window is still below its threshold.
    Pending,
    /// The threshold was reached now: a new alert.
    Created,
    /// The window's alert already existed; its counts grew.
    Updated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Advance {
    /// A new window started with this group (the previous one expired, or there was none).
    pub opened: bool,
    pub step: Step,
    /// How many of the group's samples the window keeps (from the front).
    pub samples_taken: usize,
}

/// Applies `group` at `now` to its key's state. The window is `[start, start + period]`:
/// it closes only once `now` is strictly past the end, as Panther's `creationTime < now −
/// period` condition does, and a `now` before the start (another worker's clock) stays
/// inside it. The period and threshold are the group's, i.e. the rule as it is now.
pub(crate) fn advance(
    prior: Option<WindowState>,
    group: &Group<'_>,
    now: Timestamp,
) -> (WindowState, Advance) {
    let now = alert_time(now);
    // u32::MAX minutes is past i64 nanoseconds: such a window simply never closes.
    let period =
        i64::from(group.first.effective_dedup_period_minutes()).saturating_mul(NANOS_PER_MINUTE);
    let threshold = u64::from(group.first.effective_threshold());
    let (mut state, opened) = match prior {
        Some(state) if now.0 <= state.window_start.0.saturating_add(period) => (state, false),
        prior => {
            let alert_count = prior.map_or(0, |p| p.alert_count) + 1;
            let state = WindowState {
                alert_count,
                alert_id: alert_id(&group.first.rule_id, alert_count, &group.dedup_key),
                window_start: now,
                update_time: now,
                event_count: 0,
                plain_count: 0,
                unique_values: BTreeSet::new(),
                log_types: BTreeSet::new(),
                sample_count: 0,
                created_at: None,
            };
            (state, true)
        }
    };
    state.event_count += group.count;
    state.plain_count += group.plain_count;
    state.update_time = state.update_time.max(now);
    state
        .log_types
        .extend(group.log_types.iter().map(|t| (*t).to_owned()));
    let samples_taken = group
        .samples
        .len()
        .min(MAX_SAMPLE_EVENTS.saturating_sub(state.sample_count as usize));
    state.sample_count += samples_taken as u64;

    let step = if state.created_at.is_some() {
        Step::Updated
    } else {
        for value in &group.unique_values {
            if state.threshold_count() >= threshold {
                break;
            }
            state.unique_values.insert((*value).to_owned());
        }
        if state.threshold_count() >= threshold {
            state.created_at = Some(now);
            state.unique_values.clear();
            Step::Created
        } else {
            Step::Pending
        }
    };
    (
        state,
        Advance {
            opened,
            step,
            samples_taken,
        },
    )
}

/// The window's first result, minus the event: what its alert is titled and described with.
pub(crate) struct Header {
    pub kind: AlertKind,
    pub dedup: String,
    pub title: String,
    pub severity: Severity,
    pub context: Option<Value>,
    pub details: AlertDetails,
}

impl Header {
    pub(crate) fn from_result(result: &RuleResult) -> Header {
        let (kind, error) = match &result.kind {
            ResultKind::Match => (AlertKind::Rule, None),
            ResultKind::Error {
                error_type,
                message,
            } => (
                AlertKind::RuleError,
                Some(RuleErrorInfo {
                    error_type: error_type.clone(),
                    message: message.clone(),
                }),
            ),
        };
        Header {
            kind,
            dedup: result.dedup.clone(),
            // Detection falls back to the rule id already; this keeps an alert titled even
            // when a caller left the title empty.
            title: if result.title.is_empty() {
                result.rule_id.clone()
            } else {
                result.title.clone()
            },
            severity: result.severity,
            context: result.alert_context.clone(),
            details: AlertDetails {
                rule_version: result.rule_version.clone(),
                description: result.description.to_string(),
                runbook: result.runbook.to_string(),
                reference: result.reference.to_string(),
                tags: result.tags.to_vec(),
                reports: (*result.reports).clone(),
                destinations: result.destinations.clone(),
                error,
            },
        }
    }
}

/// The alert a window becomes when `advance` reports [`Step::Created`]: titled by the window's
/// first result (`header`), with the samples kept so far.
pub(crate) fn new_alert(
    group: &Group<'_>,
    state: &WindowState,
    header: Header,
    samples: Vec<Value>,
) -> Alert {
    Alert {
        alert_id: state.alert_id.clone(),
        kind: header.kind,
        rule_id: group.first.rule_id.clone(),
        dedup: header.dedup,
        title: header.title,
        severity: header.severity,
        context: header.context,
        details: header.details,
        log_types: state.log_types.iter().cloned().collect(),
        // `advance` sets `created_at` whenever it reports `Created`.
        creation_time: state.created_at.unwrap_or(state.update_time),
        update_time: state.update_time,
        event_count: state.event_count,
        samples,
    }
}

/// What a store reports for a group after applying it.
pub(crate) fn window_outcome(group: &Group<'_>, state: WindowState, step: Step) -> WindowOutcome {
    WindowOutcome {
        alert_id: state.alert_id,
        kind: if group.first.is_error() {
            AlertKind::RuleError
        } else {
            AlertKind::Rule
        },
        rule_id: group.first.rule_id.clone(),
        dedup: group.first.dedup.clone(),
        status: match step {
            Step::Pending => WindowStatus::Pending,
            Step::Created => WindowStatus::Created,
            Step::Updated => WindowStatus::Updated,
        },
        window_start: state.window_start,
        creation_time: state.created_at,
        update_time: state.update_time,
        event_count: state.event_count,
        new_events: group.count,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    pub(crate) const MINUTE: i64 = NANOS_PER_MINUTE;

    /// A match of `rule` with `dedup`, period 60 minutes, threshold 1.
    pub(crate) fn result(rule: &str, dedup: &str) -> RuleResult {
        RuleResult {
            rule_id: rule.into(),
            rule_version: Some("v1".into()),
            log_type: "AWS.CloudTrail".into(),
            dedup: dedup.into(),
            unique: None,
            title: format!("{rule} on {dedup}"),
            severity: Severity::Medium,
            dedup_period_minutes: 0,
            threshold: 0,
            alert_context: Some(json!({"dedup": dedup})),
            description: "d".into(),
            runbook: "r".into(),
            reference: "ref".into(),
            tags: vec!["S3".into()].into(),
            reports: BTreeMap::from([("MITRE ATT&CK".into(), vec!["TA0007:T1619".into()])]).into(),
            destinations: None,
            kind: ResultKind::Match,
            event: std::sync::Arc::new(json!({"dedup": dedup})),
            event_time: Timestamp(0),
        }
    }

    pub(crate) fn error(rule: &str, error_type: &str) -> RuleResult {
        RuleResult {
            kind: ResultKind::Error {
                error_type: error_type.into(),
                message: "boom (rule.py, line 1, in rule)".into(),
            },
            title: format!("{error_type}('boom')"),
            ..result(rule, error_type)
        }
    }

    fn apply(
        state: Option<WindowState>,
        results: &[RuleResult],
        now: i64,
    ) -> (WindowState, Advance) {
        let grouped = group_batch(results).unwrap();
        assert_eq!(grouped.groups.len(), 1);
        advance(state, &grouped.groups[0], Timestamp(now))
    }

    /// A batch whose unkept events were dropped groups with the same samples as the whole batch.
    #[test]
    fn the_sample_sieve_keeps_exactly_the_samples_grouping_takes() {
        let mut batch = Vec::new();
        for i in 0..(12 * MAX_SAMPLE_EVENTS) {
            let mut r = result(["R1", "R2"][i % 2], ["a", "b", "c"][i % 3]);
            r.event = std::sync::Arc::new(json!({"n": i}));
            batch.push(r);
            let mut e = error("R1", "a");
            e.event = std::sync::Arc::new(json!({"error": i}));
            batch.push(e);
        }
        let mut sieve = SampleSieve::default();
        let sieved: Vec<RuleResult> = batch
            .iter()
            .map(|r| {
                let mut r = r.clone();
                if !sieve.keeps(&r) {
                    r.event = std::sync::Arc::new(Value::Null);
                }
                r
            })
            .collect();
        let samples = |results: &[RuleResult]| -> Vec<Vec<Value>> {
            let grouped = group_batch(results).unwrap();
            grouped
                .groups
                .iter()
                .map(|g| g.samples.iter().map(|v| (*v).clone()).collect())
                .collect()
        };
        let expected = samples(&batch);
        assert_eq!(samples(&sieved), expected);
        assert_eq!(expected.len(), 7, "6 rule/dedup pairs and the errors");
        assert!(
            expected
                .iter()
                .all(|s| !s.is_empty() && !s.contains(&Value::Null))
        );
        let kept = sieved.iter().filter(|r| !r.event.is_null()).count();
        assert!(kept < batch.len(), "{kept} of {} kept", batch.len());
        sieve.clear();
        assert!(sieve.keeps(&batch[0]));
    }

    #[test]
    fn keys_and_ids_are_panther_md5_forms() {
        // md5("R:d") and md5("R:1:d"), as `printf R:d | md5sum` prints them.
        assert_eq!(state_key("R", "d"), "30a5b398f89b8905216fe8a47aee4fe1");
        assert_eq!(alert_id("R", 1, "d"), "c186615cd30454f3a41c60746e4c25c2");
    }

    #[test]
    fn grouping_splits_rule_dedup_and_errors_and_keeps_order() {
        let batch = vec![
            result("B", "x"),
            result("A", "x"),
            result("B", "x"),
            error("B", "x"),
            result("B", "y"),
        ];
        let Grouped {
            groups,
            result_group,
        } = group_batch(&batch).unwrap();
        assert_eq!(result_group, [0, 1, 0, 2, 3]);
        let shape: Vec<_> = groups
            .iter()
            .map(|g| (g.first.rule_id.as_str(), g.dedup_key.as_str(), g.count))
            .collect();
        assert_eq!(
            shape,
            [
                ("B", "x", 2),
                ("A", "x", 1),
                ("B", "x:error", 1),
                ("B", "y", 1)
            ]
        );
        assert_eq!(groups[2].state_key, state_key("B", "x:error"));
        assert_ne!(groups[0].state_key, groups[2].state_key);
    }

    #[test]
    fn an_empty_rule_id_is_refused_with_its_position() {
        let batch = vec![result("A", "x"), result("", "x")];
        let err = group_batch(&batch).unwrap_err();
        assert_eq!(
            err,
            Invalid {
                index: 1,
                reason: "rule_id is empty"
            }
        );
    }

    #[test]
    fn samples_are_bounded_per_group() {
        let batch: Vec<_> = (0..25).map(|_| result("A", "x")).collect();
        let group = &group_batch(&batch).unwrap().groups[0];
        assert_eq!(group.samples.len(), MAX_SAMPLE_EVENTS);
        assert_eq!(group.count, 25);
    }

    #[test]
    fn window_is_fixed_from_its_start_and_closes_strictly_after_the_period() {
        let r = [result("A", "x")];
        let t0 = 1_000 * MINUTE;
        let (s, a) = apply(None, &r, t0);
        assert_eq!((a.opened, a.step, s.alert_count), (true, Step::Created, 1));
        assert_eq!(s.alert_id, alert_id("A", 1, "x"));
        assert_eq!(s.created_at, Some(Timestamp(t0)));

        // Updates inside the window do not move its start.
        let (s, a) = apply(Some(s), &r, t0 + 59 * MINUTE);
        assert_eq!((a.opened, a.step), (false, Step::Updated));
        assert_eq!(s.window_start, Timestamp(t0));
        assert_eq!(s.event_count, 2);

        // Exactly at start + period: still the same window.
        let (s, a) = apply(Some(s), &r, t0 + 60 * MINUTE);
        assert_eq!((a.opened, a.step), (false, Step::Updated));

        // One microsecond later (alert times are kept to the microsecond): a new window.
        let (s, a) = apply(Some(s), &r, t0 + 60 * MINUTE + 1_000);
        assert_eq!((a.opened, a.step, s.alert_count), (true, Step::Created, 2));
        assert_eq!(s.event_count, 1);
        assert_eq!(s.alert_id, alert_id("A", 2, "x"));
    }

    #[test]
    fn a_now_before_the_window_start_stays_in_the_window() {
        let r = [result("A", "x")];
        let (s, _) = apply(None, &r, 100 * MINUTE);
        let (s, a) = apply(Some(s), &r, 90 * MINUTE);
        assert_eq!((a.opened, a.step), (false, Step::Updated));
        assert_eq!(
            s.update_time,
            Timestamp(100 * MINUTE),
            "update time never goes back"
        );
    }

    #[test]
    fn huge_periods_do_not_overflow() {
        let r = [RuleResult {
            dedup_period_minutes: u32::MAX,
            ..result("A", "x")
        }];
        let (s, _) = apply(None, &r, i64::MAX / 2);
        let (_, a) = apply(Some(s), &r, i64::MAX - 1_000);
        assert!(!a.opened);
    }

    #[test]
    fn threshold_creates_the_alert_exactly_when_reached() {
        let r = [RuleResult {
            threshold: 3,
            ..result("A", "x")
        }];
        let (s, a) = apply(None, &r, 0);
        assert_eq!((a.opened, a.step), (true, Step::Pending));
        assert_eq!(
            s.alert_id,
            alert_id("A", 1, "x"),
            "the id exists before the alert"
        );
        assert_eq!(s.created_at, None);
        let (s, a) = apply(Some(s), &r, MINUTE);
        assert_eq!(a.step, Step::Pending);
        let (s, a) = apply(Some(s), &r, 2 * MINUTE);
        assert_eq!(a.step, Step::Created);
        assert_eq!(
            s.created_at,
            Some(Timestamp(2 * MINUTE)),
            "created at the crossing"
        );
        assert_eq!(
            s.window_start,
            Timestamp(0),
            "the window still runs from its start"
        );
        assert_eq!(s.event_count, 3);
        let (s, a) = apply(Some(s), &r, 3 * MINUTE);
        assert_eq!(a.step, Step::Updated);
        assert_eq!(s.event_count, 4);
    }

    #[test]
    fn a_window_that_never_reaches_its_threshold_still_numbers_the_next_alert() {
        let r = [RuleResult {
            threshold: 2,
            ..result("A", "x")
        }];
        let (s, a) = apply(None, &r, 0);
        assert_eq!(a.step, Step::Pending);
        let both = [r[0].clone(), r[0].clone()];
        let (s, a) = apply(Some(s), &both, 61 * MINUTE);
        assert_eq!((a.opened, a.step), (true, Step::Created));
        assert_eq!(s.alert_id, alert_id("A", 2, "x"));
    }

    #[test]
    fn unique_threshold_counts_distinct_values_and_keeps_fewer_than_threshold() {
        let with = |u: &str| RuleResult {
            threshold: 3,
            unique: Some(u.into()),
            ..result("A", "x")
        };
        let batch = [with("logging"), with("logging"), with("versioning")];
        let (s, a) = apply(None, &batch, 0);
        assert_eq!(a.step, Step::Pending);
        assert_eq!(s.event_count, 3);
        assert_eq!(s.unique_values.len(), 2);
        let (s, a) = apply(Some(s), &[with("versioning"), with("logging")], MINUTE);
        assert_eq!(a.step, Step::Pending, "repeats do not count");
        let (s, a) = apply(
            Some(s),
            &[with("mfa"), with("bpa"), with("acl")],
            2 * MINUTE,
        );
        assert_eq!(a.step, Step::Created);
        assert!(s.unique_values.is_empty(), "not kept once the alert exists");
        assert_eq!(s.event_count, 8);

        // A window reset forgets the values.
        let (s, a) = apply(Some(s), &[with("logging")], 200 * MINUTE);
        assert_eq!((a.opened, a.step), (true, Step::Pending));
        assert_eq!(s.unique_values.len(), 1);
    }

    #[test]
    fn errors_ignore_threshold_and_unique() {
        let e = RuleResult {
            threshold: 50,
            unique: Some("u".into()),
            ..error("A", "KeyError")
        };
        let (s, a) = apply(None, &[e], 0);
        assert_eq!(a.step, Step::Created);
        assert_eq!(s.alert_id, alert_id("A", 1, "KeyError:error"));
    }

    #[test]
    fn samples_fill_up_to_the_bound_across_batches() {
        let batch: Vec<_> = (0..7).map(|_| result("A", "x")).collect();
        let (s, a) = apply(None, &batch, 0);
        assert_eq!(a.samples_taken, 7);
        let (s, a) = apply(Some(s), &batch, MINUTE);
        assert_eq!(a.samples_taken, 3);
        let (s, a) = apply(Some(s), &batch, 2 * MINUTE);
        assert_eq!(a.samples_taken, 0);
        assert_eq!(s.sample_count, MAX_SAMPLE_EVENTS as u64);
    }

    #[test]
    fn times_are_truncated_to_microseconds() {
        assert_eq!(alert_time(Timestamp(1_234_567)), Timestamp(1_234_000));
        assert_eq!(alert_time(Timestamp(-1)), Timestamp(-1_000));
    }
}
