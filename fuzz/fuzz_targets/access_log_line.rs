//! The S3 server access log tokenizer on arbitrary bytes: never panics, and whatever it accepts
//! renders as valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rec) = bucketwatch_parse::s3_access::parse_line(data) {
        let mut out = b"{".to_vec();
        rec.write_json_fields(&mut out);
        out.push(b'}');
        assert!(std::str::from_utf8(&out).is_ok());
        let mut ind = bucketwatch_core::Indicators::new();
        rec.collect_indicators(&mut ind);
    }
});
