//! `bucketwatch detect`: normalized events (JSON lines) → detection engine → one JSON line per
//! rule match or rule error.
//!
//! This is detection alone, for trying content on recorded events and for measuring the engine:
//! nothing is grouped into alerts or written to the lake here.

use std::io::{self, BufRead, BufReader, Write};
use std::sync::Arc;
use std::time::Instant;

use bucketwatch_alert::ResultKind;
use bucketwatch_collect::{Input, decoded_reader};
use bucketwatch_detect::{Detection, Engine};
use serde::Serialize;
use serde_json::Value;

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct DetectJob {
    pub inputs: Vec<Input>,
}

/// Counts of one run.
#[derive(Debug, Clone, Default)]
pub struct DetectReport {
    pub events: u64,
    pub matches: u64,
    pub rule_errors: u64,
    /// Lines that were not JSON objects, with the first few reasons.
    pub invalid_lines: u64,
    pub invalid_examples: Vec<String>,
    /// Inputs that could not be read.
    pub input_errors: Vec<String>,
    pub seconds: f64,
}

impl DetectReport {
    /// 2 when an input was unusable, 1 when some lines were not events, else 0.
    pub fn exit_code(&self) -> i32 {
        if !self.input_errors.is_empty() {
            2
        } else if self.invalid_lines > 0 {
            1
        } else {
            0
        }
    }
}

impl DetectJob {
    /// Runs the job. A closed output (for example `| head`) ends it early without an error.
    pub fn run(&self, engine: &Engine, out: &mut dyn Write) -> io::Result<DetectReport> {
        match self.run_inner(engine, out) {
            Err((report, e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(report),
            Err((_, e)) => Err(e),
            Ok(report) => Ok(report),
        }
    }

    fn run_inner(
        &self,
        engine: &Engine,
        out: &mut dyn Write,
    ) -> Result<DetectReport, (DetectReport, io::Error)> {
        let started = Instant::now();
        let mut report = DetectReport::default();
        let mut detections = Vec::new();
        let mut line = Vec::new();
        let mut batch = Vec::with_capacity(64 * 1024);
        for input in &self.inputs {
            let name = input.display_name();
            let reader = match input.open() {
                Ok(r) => r,
                Err(e) => {
                    report.input_errors.push(e.to_string());
                    continue;
                }
            };
            let mut reader = match decoded_reader(reader) {
                Ok((_, r)) => BufReader::with_capacity(256 * 1024, r),
                Err(e) => {
                    report.input_errors.push(format!("{name}: {e}"));
                    continue;
                }
            };
            let mut number = 0u64;
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => {
                        report
                            .input_errors
                            .push(format!("{name}: reading failed after line {number}: {e}"));
                        break;
                    }
                }
                number += 1;
                let text = line.trim_ascii();
                if text.is_empty() {
                    continue;
                }
                // One UTF-8 check of the line, then no per-string re-validation while parsing.
                let parsed = std::str::from_utf8(text)
                    .map_err(|e| e.to_string())
                    .and_then(|t| serde_json::from_str::<Value>(t).map_err(|e| e.to_string()));
                let event = match parsed {
                    Ok(v) if v.is_object() => Arc::new(v),
                    Ok(_) => {
                        report.note_invalid(format!("{name}:{number}: not a JSON object"));
                        continue;
                    }
                    Err(e) => {
                        report.note_invalid(format!(
                            "{name}:{number}: not JSON ({e}); run raw logs through `bucketwatch parse` first"
                        ));
                        continue;
                    }
                };
                report.events += 1;
                detections.clear();
                engine.evaluate(&event, &mut detections);
                for d in &detections {
                    match d.result.kind {
                        ResultKind::Match => report.matches += 1,
                        ResultKind::Error { .. } => report.rule_errors += 1,
                    }
                    let written = serde_json::to_writer(&mut batch, &detection_line(d, &event));
                    if let Err(e) = written {
                        return Err((report, e.into()));
                    }
                    batch.push(b'\n');
                }
                if batch.len() >= 64 * 1024 {
                    if let Err(e) = out.write_all(&batch) {
                        return Err((report, e));
                    }
                    batch.clear();
                }
            }
        }
        report.seconds = started.elapsed().as_secs_f64();
        match out.write_all(&batch).and_then(|()| out.flush()) {
            Ok(()) => Ok(report),
            Err(e) => Err((report, e)),
        }
    }
}

impl DetectReport {
    fn note_invalid(&mut self, reason: String) {
        self.invalid_lines += 1;
        if self.invalid_examples.len() < 5 {
            self.invalid_examples.push(reason);
        }
    }
}

/// One output line, serialized straight from the detection (no intermediate JSON tree).
#[derive(Serialize)]
struct DetectionLine<'a> {
    rule_id: &'a str,
    log_type: &'a str,
    kind: &'static str,
    severity: &'static str,
    title: &'a str,
    dedup: &'a str,
    create_alert: bool,
    p_row_id: Option<&'a Value>,
    p_event_time: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unique: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alert_context: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

fn detection_line<'a>(d: &'a Detection, event: &'a Value) -> DetectionLine<'a> {
    let r = &d.result;
    let (kind, error_type, error) = match &r.kind {
        ResultKind::Match => ("match", None, None),
        ResultKind::Error {
            error_type,
            message,
        } => (
            "rule_error",
            Some(error_type.as_str()),
            Some(message.as_str()),
        ),
    };
    DetectionLine {
        rule_id: &r.rule_id,
        log_type: &r.log_type,
        kind,
        severity: r.severity.as_str(),
        title: &r.title,
        dedup: &r.dedup,
        create_alert: d.create_alert,
        p_row_id: event.get("p_row_id"),
        p_event_time: event.get("p_event_time"),
        unique: r.unique.as_deref(),
        alert_context: r.alert_context.as_ref(),
        error_type,
        error,
    }
}
