//! The async runtime every command runs on, and its settings. Owns nothing else.

use anyhow::Context;
use tokio::runtime::{Builder, Runtime};

/// Threads tokio may start for blocking work: the lake's local file reads and writes
/// (object_store runs each on one) and DNS lookups. Tokio's default, 512, let a `run` worker
/// grow to about 70 of them over a benchmark, each keeping its own allocator heap; eight keep
/// two cores' disk busy.
const BLOCKING_THREADS: usize = 8;

/// A multi-threaded runtime with I/O and timers, one worker per core.
pub fn runtime() -> anyhow::Result<Runtime> {
    Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
        .context("starting the async runtime")
}
