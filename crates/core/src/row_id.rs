//! `p_row_id`: unique across processes and restarts without coordination, roughly time-ordered.
//!
//! Layout (37 lowercase hex characters): 13 for the process start in microseconds since
//! 2020-01-01 UTC, 12 for 48 random bits drawn at process start, 12 for a process-wide counter.
//! Fixed widths keep the text sortable: ids from one process sort by creation, and processes by
//! start time. The random part separates processes started in the same microsecond on any host.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub const ROW_ID_LEN: usize = 37;

/// Microseconds from the Unix epoch to 2020-01-01T00:00:00Z.
const EPOCH_2020_MICROS: u64 = 1_577_836_800_000_000;
const BLOCK: u64 = 4096;

static PREFIX: OnceLock<[u8; 25]> = OnceLock::new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn prefix() -> &'static [u8; 25] {
    PREFIX.get_or_init(|| {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0)
            .saturating_sub(EPOCH_2020_MICROS);
        let mut random = [0u8; 8];
        // Without OS randomness, fall back to the process id and address-space layout: weaker,
        // but the start-time part still separates processes on one host.
        if getrandom::fill(&mut random).is_err() {
            let fallback = u64::from(std::process::id()) ^ (&random as *const _ as u64);
            random = fallback.to_le_bytes();
        }
        let mut out = [0u8; 25];
        put_hex(&mut out[..13], micros);
        put_hex(
            &mut out[13..],
            u64::from_le_bytes(random) & 0xFFFF_FFFF_FFFF,
        );
        out
    })
}

fn put_hex(out: &mut [u8], mut v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for slot in out.iter_mut().rev() {
        *slot = HEX[(v & 0xF) as usize];
        v >>= 4;
    }
}

/// Hands out row ids; each generator reserves counter blocks so threads rarely contend.
#[derive(Debug, Default)]
pub struct RowIdGenerator {
    next: u64,
    end: u64,
}

impl RowIdGenerator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn next_id(&mut self) -> [u8; ROW_ID_LEN] {
        if self.next == self.end {
            self.next = COUNTER.fetch_add(BLOCK, Ordering::Relaxed) + 1;
            self.end = self.next + BLOCK;
        }
        let n = self.next;
        self.next += 1;
        let mut out = [0u8; ROW_ID_LEN];
        out[..25].copy_from_slice(prefix());
        put_hex(&mut out[25..], n);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_ordered_within_a_generator() {
        let mut g = RowIdGenerator::new();
        let ids: Vec<_> = (0..10_000).map(|_| g.next_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.iter().all(|id| id.iter().all(u8::is_ascii_hexdigit)));
    }

    #[test]
    fn generators_on_threads_never_collide() {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    let mut g = RowIdGenerator::new();
                    (0..20_000).map(|_| g.next_id()).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for h in handles {
            for id in h.join().unwrap() {
                assert!(seen.insert(id), "duplicate row id");
            }
        }
        assert_eq!(seen.len(), 80_000);
    }
}
