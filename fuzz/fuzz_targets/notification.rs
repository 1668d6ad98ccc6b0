//! The SQS message classifier on arbitrary bodies: never panics, and never names a folder
//! marker as an object to read.
#![no_main]

use bucketwatch_collect::notification::{Notice, classify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(Notice::Objects { objects, .. }) = classify(body) {
        for o in objects {
            assert!(!o.key.ends_with('/'));
        }
    }
});
