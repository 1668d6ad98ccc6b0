use super::*;
use crate::framing::Framer;
use serde_json::Value;

fn run(input: &[u8], forced: Option<LogType>) -> (Vec<Value>, Counts) {
    let mut framer = Framer::new(input);
    let mut n = Normalizer::new(forced);
    let source = SourceInfo::new(
        Some("src-1".into()),
        Some("test".into()),
        Some("in.log".into()),
    );
    let mut out = Vec::new();
    while let Some(unit) = framer.next_unit().unwrap() {
        n.normalize(&unit, &source, &mut out);
    }
    let text = String::from_utf8(out).expect("output is UTF-8");
    let values = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (values, n.counts().clone())
}

const SAL: &str = "5b2a8c0e1f3d4a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b photos [14/Mar/2026:09:15:02 +0000] 203.0.113.45 - 7K2M9XQ4T1B6N8C3 REST.GET.OBJECT k \"GET /photos/k HTTP/1.1\" 200 - 10 10 4 3 \"-\" \"curl/8\" - hostid= - - - photos.s3.amazonaws.com -";

#[test]
fn access_log_lines_get_standard_fields() {
    let (v, counts) = run(format!("{SAL}\n{SAL}\n").as_bytes(), None);
    assert_eq!(counts.get(LogType::S3ServerAccess), 2);
    let e = &v[0];
    assert_eq!(e["p_log_type"], "AWS.S3ServerAccess");
    assert_eq!(e["p_event_time"], "2026-03-14 09:15:02.000000000");
    assert_eq!(e["p_source_id"], "src-1");
    assert_eq!(e["p_source_label"], "test");
    assert_eq!(e["p_source_object"], "in.log");
    assert_eq!(e["p_any_ip_addresses"], serde_json::json!(["203.0.113.45"]));
    assert_eq!(
        e["p_any_domain_names"],
        serde_json::json!(["photos.s3.amazonaws.com"])
    );
    assert!(e.get("p_any_aws_arns").is_none());
    assert_ne!(v[0]["p_row_id"], v[1]["p_row_id"]);
    let parse_time = e["p_parse_time"].as_str().unwrap();
    assert_eq!(parse_time.len(), 29);
}

#[test]
fn cloudtrail_file_records_keep_every_field() {
    let input = br#"{"Records":[
      {"eventVersion":"1.09","eventTime":"2026-03-14T09:15:02Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","sourceIPAddress":"198.51.100.9","requestParameters":{"bucketName":"b","policy":"{\"Version\":\"2012-10-17\"}"},"brandNewField":{"x":[1, 2]}},
      {"eventVersion":"1.09","eventTime":"2026-03-14T09:16:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"},
      {"not":"cloudtrail"}
    ]}"#;
    let (v, counts) = run(input, None);
    assert_eq!(counts.get(LogType::CloudTrail), 2);
    assert_eq!(counts.failures(), 1);
    assert_eq!(v[0]["brandNewField"]["x"], serde_json::json!([1, 2]));
    assert_eq!(
        v[0]["requestParameters"]["policy"],
        "{\"Version\":\"2012-10-17\"}"
    );
    assert_eq!(v[0]["p_event_time"], "2026-03-14 09:15:02.000000000");
    assert_eq!(v[2]["p_log_type"], "Bucketwatch.ClassificationFailure");
    assert_eq!(v[2]["record_index"], 2);
    assert_eq!(v[2]["line"], 4);
    assert_eq!(v[2]["raw"], r#"{"not":"cloudtrail"}"#);
}

#[test]
fn pretty_printed_records_are_minified_onto_one_line() {
    let input = b"{\n  \"eventVersion\": \"1.08\",\n  \"eventTime\": \"2026-03-14T09:15:02Z\",\n  \"eventSource\": \"s3.amazonaws.com\",\n  \"eventName\": \"ListBuckets\",\n  \"userAgent\": \"a  b\"\n}\n";
    let mut framer = Framer::new(&input[..]);
    let mut n = Normalizer::new(None);
    let mut out = Vec::new();
    let unit = framer.next_unit().unwrap().unwrap();
    n.normalize(&unit, &SourceInfo::default(), &mut out);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
    assert!(out.starts_with(br#"{"eventVersion":"1.08","eventTime""#));
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["userAgent"], "a  b");
}

#[test]
fn failures_keep_raw_text_and_exact_bytes() {
    let input = b"garbage line\n\xff\xfe binary-ish \x00\n";
    let (v, counts) = run(input, None);
    assert_eq!(counts.failures(), 2);
    assert_eq!(v[0]["raw"], "garbage line");
    assert_eq!(v[0]["line"], 1);
    assert!(
        v[0]["reason"]
            .as_str()
            .unwrap()
            .contains("S3 server access")
    );
    assert!(v[0].get("raw_base64").is_none());
    assert_eq!(v[1]["line"], 2);
    let b64 = v[1]["raw_base64"].as_str().unwrap();
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
        b"\xff\xfe binary-ish \x00"
    );
    assert_eq!(v[1]["p_event_time"], v[1]["p_parse_time"]);
}

#[test]
fn forced_log_type_rejects_other_records() {
    let input = format!(
        "{SAL}\n{{\"eventVersion\":\"1\",\"eventTime\":\"2026-03-14T09:15:02Z\",\"eventSource\":\"s\",\"eventName\":\"n\"}}\n"
    );
    let (v, counts) = run(input.as_bytes(), Some(LogType::S3ServerAccess));
    assert_eq!(counts.get(LogType::S3ServerAccess), 1);
    assert_eq!(counts.failures(), 1);
    assert_eq!(v[1]["expected_log_type"], "AWS.S3ServerAccess");
    let (_, counts) = run(input.as_bytes(), Some(LogType::CloudTrail));
    assert_eq!((counts.get(LogType::CloudTrail), counts.failures()), (1, 1));
}

#[test]
fn cloudwatch_export_lines_and_renormalized_output() {
    let ct = r#"{"eventVersion":"1.08","eventTime":"2026-03-14T09:15:02Z","eventSource":"s3.amazonaws.com","eventName":"DeleteBucket"}"#;
    let input = format!("2026-03-14T09:15:05.000Z {ct}\n");
    let (v, _) = run(input.as_bytes(), None);
    assert_eq!(v[0]["p_log_type"], "AWS.CloudTrail");
    assert_eq!(v[0]["eventName"], "DeleteBucket");

    // Feeding our own output back in replaces, never duplicates, the standard fields.
    let line = serde_json::to_string(&v[0]).unwrap();
    let mut framer = Framer::new(line.as_bytes());
    let mut n = Normalizer::new(None);
    let mut out = Vec::new();
    n.normalize(
        &framer.next_unit().unwrap().unwrap(),
        &SourceInfo::default(),
        &mut out,
    );
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("\"p_row_id\"").count(), 1, "{text}");
    assert_eq!(text.matches("\"p_source_object\"").count(), 0, "{text}");
}

#[test]
fn truncated_units_become_failures() {
    let mut framer = Framer::with_max_unit(&b"x123456789012345678901234567890\nok"[..], 8);
    let mut n = Normalizer::new(None);
    let mut out = Vec::new();
    let unit = framer.next_unit().unwrap().unwrap();
    assert_eq!(
        n.normalize(&unit, &SourceInfo::default(), &mut out),
        LogType::ClassificationFailure
    );
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["truncated"], true);
    assert_eq!(v["raw"], "x1234567");
}

#[test]
fn minify_keeps_strings_intact() {
    let mut out = Vec::new();
    minify(b"{ \"a\" : [ 1 , \"x \\\" y\" ] }", &mut out);
    assert_eq!(out, br#"{"a":[1,"x \" y"]}"#);
}

#[test]
fn records_out_equal_records_in_for_any_input() {
    use proptest::prelude::*;
    proptest!(|(lines in proptest::collection::vec("[ -~]{0,80}", 0..30))| {
        let input = lines.join("\n");
        let mut framer = Framer::new(input.as_bytes());
        let mut n = Normalizer::new(None);
        let mut out = Vec::new();
        let mut units = 0;
        while let Some(unit) = framer.next_unit().unwrap() {
            n.normalize(&unit, &SourceInfo::default(), &mut out);
            units += 1;
        }
        prop_assert_eq!(n.counts().total(), units);
        for line in String::from_utf8(out).unwrap().lines() {
            let _: Value = serde_json::from_str(line).unwrap();
        }
    });
}

proptest::proptest! {
    #[test]
    fn minify_equals_compact_serialization(
        pairs in proptest::collection::vec(("[ -~]{0,12}", "[ -~\\\\\"\n\t]{0,20}", 0i64..1000), 0..8)
    ) {
        let mut map = serde_json::Map::new();
        for (k, v, n) in pairs {
            map.insert(k, serde_json::json!({"s": v, "n": n, "list": [1, " x ", {"y": "z  "}]}));
        }
        let value = Value::Object(map);
        let mut out = Vec::new();
        minify(serde_json::to_string_pretty(&value).unwrap().as_bytes(), &mut out);
        proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&value).unwrap());
    }
}
