//! The CloudTrail / digest / insight record scanner on arbitrary bytes, forced or classified.
#![no_main]

use bucketwatch_core::{Indicators, LogType};
use bucketwatch_parse::cloudtrail::JsonScanner;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut scanner = JsonScanner::new();
    let mut ind = Indicators::new();
    for expected in [None, Some(LogType::CloudTrail), Some(LogType::CloudTrailDigest)] {
        ind.clear();
        if let Ok(rec) = scanner.scan(data, expected, &mut ind) {
            assert!(rec.body.end <= data.len());
        }
    }
});
