//! A whole stream through decompression detection, framing and normalization: never panics,
//! one valid JSON line out per record in.
#![no_main]

use bucketwatch_core::SourceInfo;
use bucketwatch_parse::{Framer, Normalizer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((_, reader)) = bucketwatch_collect::decoded_reader(std::io::Cursor::new(data.to_vec()))
    else {
        return;
    };
    let mut framer = Framer::with_max_unit(reader, 4096);
    let mut normalizer = Normalizer::new(None);
    let source = SourceInfo::default();
    let mut out = Vec::new();
    let mut units = 0u64;
    loop {
        match framer.next_unit() {
            Ok(Some(unit)) => {
                normalizer.normalize(&unit, &source, &mut out);
                units += 1;
            }
            Ok(None) | Err(_) => break,
        }
    }
    assert_eq!(normalizer.counts().total(), units);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count() as u64, units);
    assert!(std::str::from_utf8(&out).is_ok());
});
