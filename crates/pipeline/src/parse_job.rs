//! `bucketwatch parse`: inputs → decompress → frame → normalize → JSON lines.

use std::io::{self, Write};

use bucketwatch_collect::{Compression, Input, decoded_reader};
use bucketwatch_core::{LogType, SourceInfo};
use bucketwatch_parse::{Counts, Framer, Normalizer};

/// Output is handed to the writer in batches of about this size.
const BATCH_BYTES: usize = 256 * 1024;

/// What to parse and how.
#[derive(Debug, Clone)]
pub struct ParseJob {
    /// Parse every record as this type instead of classifying each one.
    pub log_type: Option<LogType>,
    pub inputs: Vec<Input>,
    /// `p_source_id` / `p_source_label` for every event; `p_source_object` comes from the input.
    pub source: SourceInfo,
}

/// The outcome for one input.
#[derive(Debug, Clone)]
pub struct InputReport {
    pub name: String,
    pub compression: Option<Compression>,
    pub counts: Counts,
    /// Why the input could not be read (wholly or from some point on).
    pub error: Option<String>,
}

/// The outcome of a whole job.
#[derive(Debug, Clone, Default)]
pub struct ParseReport {
    pub inputs: Vec<InputReport>,
    pub totals: Counts,
    /// The output was closed by its reader (for example `| head`): the job stopped there.
    pub output_closed: bool,
}

impl ParseReport {
    /// 2 when an input was unusable, else 1 when some records failed to parse, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.inputs.iter().any(|i| i.error.is_some()) {
            2
        } else if self.totals.failures() > 0 {
            1
        } else {
            0
        }
    }
}

enum Stop {
    /// The input could not be read further.
    Input(String),
    /// Writing the output failed.
    Output(io::Error),
}

impl ParseJob {
    /// Runs the job, writing JSON lines to `out`. Errors of single inputs are reported in the
    /// result, not returned; only an output failure other than a closed pipe is an error.
    pub fn run(&self, out: &mut dyn Write) -> io::Result<ParseReport> {
        let mut report = ParseReport::default();
        let mut normalizer = Normalizer::new(self.log_type);
        let mut batch = Vec::with_capacity(BATCH_BYTES + 64 * 1024);
        for input in &self.inputs {
            let before = normalizer.counts().clone();
            let mut input_report = InputReport {
                name: input.display_name(),
                compression: None,
                counts: Counts::default(),
                error: None,
            };
            let result = self.run_input(input, &mut normalizer, &mut batch, out, &mut input_report);
            input_report.counts = normalizer.counts().since(&before);
            match result {
                Ok(()) => {}
                Err(Stop::Input(msg)) => input_report.error = Some(msg),
                Err(Stop::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
                    report.output_closed = true;
                }
                Err(Stop::Output(e)) => return Err(e),
            }
            report.inputs.push(input_report);
            if report.output_closed {
                break;
            }
        }
        if !report.output_closed {
            match out.write_all(&batch).and_then(|()| out.flush()) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => report.output_closed = true,
                Err(e) => return Err(e),
            }
        }
        report.totals = normalizer.counts().clone();
        Ok(report)
    }

    fn run_input(
        &self,
        input: &Input,
        normalizer: &mut Normalizer,
        batch: &mut Vec<u8>,
        out: &mut dyn Write,
        report: &mut InputReport,
    ) -> Result<(), Stop> {
        let name = input.display_name();
        let reader = input.open().map_err(|e| Stop::Input(e.to_string()))?;
        let (compression, reader) =
            decoded_reader(reader).map_err(|e| Stop::Input(format!("{name}: {e}")))?;
        report.compression = Some(compression);
        let source = self.source.with_object(input.source_object());
        let mut framer = Framer::new(reader);
        loop {
            let unit = framer.next_unit().map_err(|e| {
                Stop::Input(format!(
                    "{name}: reading failed after {} records ({} input): {e}",
                    normalizer.counts().total(),
                    compression.name()
                ))
            })?;
            let Some(unit) = unit else { break };
            normalizer.normalize(&unit, &source, batch);
            if batch.len() >= BATCH_BYTES {
                out.write_all(batch).map_err(Stop::Output)?;
                batch.clear();
            }
        }
        Ok(())
    }
}
