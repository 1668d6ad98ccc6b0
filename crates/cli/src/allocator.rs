//! The process's allocator and its settings. Owns nothing else.
//!
//! mimalloc rather than glibc's malloc: ingest parses on one thread and writes the lake on
//! another, so most events are freed by a thread other than the one that allocated them; glibc
//! serializes that on its arena locks (a tenth of ingest's CPU went to futex wake-ups), mimalloc
//! frees across threads without a lock. Built without its transparent-huge-page advice
//! (`no_thp`): ingest's buffers grow and shrink, and each 2 MiB page faulted in is zeroed whole.
//! docs/BENCHMARKS.md (Lake) has both measurements.

use std::os::raw::{c_int, c_long};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h's option list, which the Rust bindings leave unnamed;
/// the test below checks it is the option `MIMALLOC_PURGE_DELAY` sets.
const PURGE_DELAY: c_int = 15;

/// `mi_option_purge_decommits`, unnamed in the bindings too; checked like `PURGE_DELAY`.
const PURGE_DECOMMITS: c_int = 5;

/// Milliseconds freed memory stays with the process before it goes back to the system.
/// mimalloc 3 keeps it 1,000 ms (its arenas ten times that): a worker's lake commits free a
/// batch's buffers every few seconds, and keeping them a second held about 100–130 MB more at
/// the peak of `ingest` with the service's batching. 100 ms gives most of that back for 0–9%
/// more wall time in two A/B sittings (docs/BENCHMARKS.md, Service).
const PURGE_DELAY_MS: c_long = 100;

/// The same for `run`, a long-running worker whose memory is what a host must provision: its
/// peak fell from 503–509 MB to 427–442 MB on the service benchmark, for 0–13% fewer events/s
/// in an alternating A/B (more system time returning and re-faulting pages).
const SERVICE_PURGE_DELAY_MS: c_long = 0;

/// Whether a purge gives pages back at once (`MADV_DONTNEED`, 1) or when the kernel needs
/// them (`MADV_FREE`, 0). `ingest` frees each commit's buffers (about a gigabyte over 500,000
/// rows) and allocates as much for the next commit right after; with `MADV_DONTNEED` every
/// page came back zeroed through a page fault, a third of ingest's CPU as system time. With
/// `MADV_FREE` a page reused before the kernel takes it costs nothing: 10M rows took 44.5 /
/// 45.9 s against 54.0 / 52.5 s, and the memory in use (`Rss` less `LazyFree`) peaked at the
/// same 1.2–1.3 GB. `Rss` alone also counts the lazily freed pages (2.5–2.7 GB), so commands
/// whose peak RSS is a stated limit (`parse`, `detect`) and the long-running worker, whose RSS
/// is what hosts watch, give pages back at once. docs/BENCHMARKS.md (Lake) has the runs.
const PURGE_DECOMMITS_DEFAULT: c_long = 1;
const INGEST_PURGE_DECOMMITS: c_long = 0;

/// What the process is, for its allocator settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// A command that ends: parsing, queries, tests.
    Batch,
    /// `bucketwatch ingest`: a backfill into the lake.
    Ingest,
    /// `bucketwatch run`.
    Service,
}

/// Applies bucketwatch's allocator settings; a `MIMALLOC_*` environment variable still wins.
/// Call before the command starts its work.
pub fn configure(workload: Workload) {
    let (delay, decommits) = match workload {
        Workload::Batch => (PURGE_DELAY_MS, PURGE_DECOMMITS_DEFAULT),
        Workload::Ingest => (PURGE_DELAY_MS, INGEST_PURGE_DECOMMITS),
        Workload::Service => (SERVICE_PURGE_DELAY_MS, PURGE_DECOMMITS_DEFAULT),
    };
    // SAFETY: sets plain integer options; mimalloc reads them when it next purges.
    unsafe {
        libmimalloc_sys::mi_option_set_default(PURGE_DELAY, delay);
        libmimalloc_sys::mi_option_set_default(PURGE_DECOMMITS, decommits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purge_delay_ms() -> c_long {
        // SAFETY: reads a plain integer option.
        unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) }
    }

    fn purge_decommits() -> c_long {
        // SAFETY: reads a plain integer option.
        unsafe { libmimalloc_sys::mi_option_get(PURGE_DECOMMITS) }
    }

    const CHILD: &str = "BUCKETWATCH_ALLOCATOR_TEST_CHILD";

    /// Runs `test` in a fresh process with `env` set, since mimalloc reads its environment once.
    fn in_child(test: &str, env: &[(&str, &str)]) {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", test, "--test-threads=1"])
            .env(CHILD, "1")
            .env_remove("MIMALLOC_PURGE_DELAY")
            .env_remove("MIMALLOC_PURGE_DECOMMITS");
        command.envs(env.iter().copied());
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{test} failed in its child process: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("1 passed"));
    }

    #[test]
    fn the_environment_sets_the_option_we_default() {
        if std::env::var_os(CHILD).is_none() {
            return in_child(
                "allocator::tests::the_environment_sets_the_option_we_default",
                &[
                    ("MIMALLOC_PURGE_DELAY", "1234"),
                    ("MIMALLOC_PURGE_DECOMMITS", "0"),
                ],
            );
        }
        assert_eq!(purge_delay_ms(), 1234);
        assert_eq!(purge_decommits(), 0);
        configure(Workload::Service);
        assert_eq!(
            (purge_delay_ms(), purge_decommits()),
            (1234, 0),
            "the environment wins over our defaults"
        );
    }

    #[test]
    fn without_the_environment_our_default_applies() {
        if std::env::var_os(CHILD).is_none() {
            return in_child(
                "allocator::tests::without_the_environment_our_default_applies",
                &[],
            );
        }
        configure(Workload::Batch);
        assert_eq!((purge_delay_ms(), purge_decommits()), (PURGE_DELAY_MS, 1));
        configure(Workload::Ingest);
        assert_eq!((purge_delay_ms(), purge_decommits()), (PURGE_DELAY_MS, 0));
        configure(Workload::Service);
        assert_eq!(
            (purge_delay_ms(), purge_decommits()),
            (SERVICE_PURGE_DELAY_MS, 1)
        );
    }
}
