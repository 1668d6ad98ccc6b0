//! Every quirk of the reference as a fixture written here, plus property tests.

use super::*;
use proptest::prelude::*;

const OWNER: &str = "5b2a8c0e1f3d4a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";
const HOSTID: &str =
    "Zq8cV2pX4mN6bR1tY3uI5oP7aS9dF0gH2jK4lZ6xC8vB0nM1qW3eR5tY7uI9oP1aS3dF5gH7jK9l=";

/// A current 27-field line with the given middle; tests replace parts of it.
fn line27(uri: &str, referrer: &str, ua: &str) -> String {
    format!(
        "{OWNER} photos-prod [14/Mar/2026:09:15:02 +0000] 203.0.113.45 arn:aws:sts::111122223333:assumed-role/reader/alice \
         7K2M9XQ4T1B6N8C3 REST.GET.OBJECT albums/2026/beach.jpg {uri} 200 - 524288 524288 48 12 {referrer} {ua} - \
         {HOSTID} SigV4 TLS_AES_128_GCM_SHA256 AuthHeader photos-prod.s3.eu-west-1.amazonaws.com TLSv1.3 - - eu-west-1"
    )
}

fn parse(line: &str) -> AccessLogRecord<'_> {
    parse_line(line.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{line}"))
}

fn s(v: Option<&[u8]>) -> Option<String> {
    v.map(|b| String::from_utf8_lossy(b).into_owned())
}

fn json(rec: &AccessLogRecord<'_>) -> serde_json::Value {
    let mut out = b"{".to_vec();
    rec.write_json_fields(&mut out);
    out.push(b'}');
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

#[test]
fn current_27_field_line() {
    let line = line27(
        "\"GET /albums/2026/beach.jpg?versionId=abc HTTP/1.1\"",
        "\"https://example.com/gallery\"",
        "\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36\"",
    );
    let rec = parse(&line);
    assert_eq!(rec.field_count(), 27);
    let v = json(&rec);
    assert_eq!(v["bucketowner"], OWNER);
    assert_eq!(v["bucket"], "photos-prod");
    assert_eq!(v["time"], "2026-03-14 09:15:02.000000000");
    assert_eq!(v["remoteip"], "203.0.113.45");
    assert_eq!(
        v["requester"],
        "arn:aws:sts::111122223333:assumed-role/reader/alice"
    );
    assert_eq!(v["requestid"], "7K2M9XQ4T1B6N8C3");
    assert_eq!(v["operation"], "REST.GET.OBJECT");
    assert_eq!(v["key"], "albums/2026/beach.jpg");
    assert_eq!(
        v["requesturi"],
        "GET /albums/2026/beach.jpg?versionId=abc HTTP/1.1"
    );
    assert_eq!(v["httpstatus"], 200);
    assert!(v.get("errorcode").is_none());
    assert_eq!(v["bytessent"], 524288);
    assert_eq!(v["objectsize"], 524288);
    assert_eq!(v["totaltime"], 48);
    assert_eq!(v["turnaroundtime"], 12);
    assert_eq!(v["referrer"], "https://example.com/gallery");
    assert!(
        v["useragent"]
            .as_str()
            .unwrap()
            .starts_with("Mozilla/5.0 (X11;")
    );
    assert!(v.get("versionid").is_none());
    assert_eq!(v["hostid"], HOSTID);
    assert_eq!(v["signatureversion"], "SigV4");
    assert_eq!(v["ciphersuite"], "TLS_AES_128_GCM_SHA256");
    assert_eq!(v["authenticationtype"], "AuthHeader");
    assert_eq!(v["hostheader"], "photos-prod.s3.eu-west-1.amazonaws.com");
    assert_eq!(v["tlsVersion"], "TLSv1.3");
    assert!(v.get("accesspointarn").is_none());
    assert!(v.get("aclrequired").is_none());
    assert_eq!(v["sourceregion"], "eu-west-1");
    assert!(v.get("additionalFields").is_none());
}

/// Fields 1–17 and the tail (fields 18–27) of a current line, for building other layouts.
fn layout_parts() -> (String, Vec<&'static str>) {
    let head = format!(
        "{OWNER} photos-prod [14/Mar/2026:09:15:02 +0000] 203.0.113.45 - 7K2M9XQ4T1B6N8C3 REST.GET.OBJECT k \
         \"GET /k HTTP/1.1\" 200 - 1 1 4 3 \"-\" \"aws-cli/2.17\""
    );
    let tail = vec![
        "-",
        HOSTID,
        "SigV4",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "AuthHeader",
        "photos-prod.s3.amazonaws.com",
        "TLSv1.2",
        "arn:aws:s3:eu-west-1:111122223333:accesspoint/ap",
        "Yes",
        "eu-west-1",
    ];
    (head, tail)
}

#[test]
fn layouts_from_18_to_27_fields_and_beyond() {
    let (head, tail) = layout_parts();
    for count in 18..=27 {
        let line = format!("{head} {}", tail[..count - 17].join(" "));
        let rec = parse(&line);
        assert_eq!(rec.field_count(), count, "{line}");
        let v = json(&rec);
        assert_eq!(v["useragent"], "aws-cli/2.17");
        assert_eq!(v.get("sourceregion").is_some(), count == 27);
        assert_eq!(v.get("tlsVersion").is_some(), count >= 24);
        assert_eq!(v.get("accesspointarn").is_some(), count >= 25);
    }
    let line = format!("{head} {} newfield-28 - 29th", tail.join(" "));
    let v = json(&parse(&line));
    assert_eq!(v["sourceregion"], "eu-west-1");
    assert_eq!(
        v["additionalFields"],
        serde_json::json!(["newfield-28", "-", "29th"])
    );
}

#[test]
fn fewer_than_18_fields_is_an_error() {
    let (head, _) = layout_parts();
    assert!(parse_line(head.as_bytes()).is_err(), "{head}");
}

#[test]
fn raw_quote_inside_the_request_uri() {
    let line = line27(
        "\"GET /photos-prod/\" HTTP/1.1\"",
        "\"-\"",
        "\"curl/8.5.0\"",
    );
    let v = json(&parse(&line));
    assert_eq!(v["requesturi"], "GET /photos-prod/\" HTTP/1.1");
    assert_eq!(v["httpstatus"], 200);
    assert_eq!(v["useragent"], "curl/8.5.0");
    let line = line27("\"GET /a\" b\"c HTTP/1.1\"", "\"-\"", "\"curl/8.5.0\"");
    assert_eq!(json(&parse(&line))["requesturi"], "GET /a\" b\"c HTTP/1.1");
}

#[test]
fn doubled_quote_at_the_end_of_user_agent_and_referrer() {
    let line = line27(
        "\"GET /k HTTP/1.1\"",
        "\"https://t.co/x\"\"",
        "\"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1\"\"",
    );
    let v = json(&parse(&line));
    assert_eq!(v["referrer"], "https://t.co/x\"");
    assert!(v["useragent"].as_str().unwrap().ends_with("Safari/604.1\""));
    assert_eq!(v["signatureversion"], "SigV4");
}

#[test]
fn quotes_commas_and_hashes_inside_referrer_and_user_agent() {
    let line = line27(
        "\"GET /k HTTP/1.1\"",
        "\"https://example.com/?q=\"a b\", c\"",
        "\"Bot \"x\" y, #1 (compatible; \"quoted\")\"",
    );
    let v = json(&parse(&line));
    assert_eq!(v["referrer"], "https://example.com/?q=\"a b\", c");
    assert_eq!(v["useragent"], "Bot \"x\" y, #1 (compatible; \"quoted\")");
    assert_eq!(v["hostid"], HOSTID);
}

#[test]
fn cloudfront_origin_access_identity_requester_with_spaces() {
    let line = format!(
        "{OWNER} static-site [14/Mar/2026:09:15:02 +0000] 130.176.17.83 arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHEXAMPLE \
         4P7N2K8M1Q9T3B5X REST.GET.OBJECT index.html \"GET /index.html HTTP/1.1\" 200 - 1024 1024 9 8 \"-\" \"Amazon CloudFront\" - \
         {HOSTID} SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader static-site.s3.amazonaws.com TLSv1.2 - - -"
    );
    let rec = parse(&line);
    assert_eq!(
        s(rec.requester).unwrap(),
        "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHEXAMPLE"
    );
    assert_eq!(s(rec.requestid).unwrap(), "4P7N2K8M1Q9T3B5X");
    assert_eq!(s(rec.operation).unwrap(), "REST.GET.OBJECT");
    let mut ind = Indicators::new();
    rec.collect_indicators(&mut ind);
    // The OAI "ARN" has spaces and no account: not an ARN indicator.
    assert!(
        ind.values(bucketwatch_core::IndicatorKind::AwsArns)
            .is_empty()
    );
}

#[test]
fn lifecycle_record_with_dash_ip_and_status_and_quoted_dash_uri() {
    let line = format!(
        "{OWNER} photos-prod [14/Mar/2026:00:31:07 +0000] - AmazonS3 A1B2C3D4E5F6G7H8 S3.EXPIRE.OBJECT old/file.txt \"-\" - - - 2048 - - \"-\" \"-\" - \
         {HOSTID} - - - - - - - -"
    );
    let rec = parse(&line);
    let v = json(&rec);
    assert!(v.get("remoteip").is_none());
    assert_eq!(v["requester"], "AmazonS3");
    assert_eq!(v["operation"], "S3.EXPIRE.OBJECT");
    assert!(v.get("requesturi").is_none());
    assert!(v.get("httpstatus").is_none());
    assert!(v.get("bytessent").is_none());
    assert_eq!(v["objectsize"], 2048);
    assert!(v.get("referrer").is_none());
    assert!(v.get("useragent").is_none());
    assert_eq!(rec.field_count(), 27);
}

#[test]
fn batch_delete_with_bare_dashes() {
    let line = format!(
        "{OWNER} photos-prod [14/Mar/2026:10:00:00 +0000] 198.51.100.7 arn:aws:iam::111122223333:user/bob 9Z8Y7X6W5V4U3T2S BATCH.DELETE.OBJECT \
         albums/a.jpg - 204 - - 1234 - - - - - {HOSTID} SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader photos-prod.s3.amazonaws.com TLSv1.2 - -"
    );
    let v = json(&parse(&line));
    assert_eq!(v["key"], "albums/a.jpg");
    assert!(v.get("requesturi").is_none());
    assert_eq!(v["httpstatus"], 204);
    assert_eq!(v["objectsize"], 1234);
    assert!(v.get("referrer").is_none() && v.get("useragent").is_none());
    assert_eq!(v["hostid"], HOSTID);
}

#[test]
fn ipv6_and_invalid_remote_ips() {
    let line = line27("\"GET /k HTTP/1.1\"", "\"-\"", "\"ua\"")
        .replace("203.0.113.45", "2001:db8:85a3::8a2e:370:7334");
    let rec = parse(&line);
    let mut ind = Indicators::new();
    rec.collect_indicators(&mut ind);
    assert_eq!(
        ind.values(bucketwatch_core::IndicatorKind::IpAddresses),
        vec!["2001:db8:85a3::8a2e:370:7334"]
    );

    let line =
        line27("\"GET /k HTTP/1.1\"", "\"-\"", "\"ua\"").replace("203.0.113.45", "999.1.2.3");
    let rec = parse(&line);
    assert_eq!(s(rec.remoteip).unwrap(), "999.1.2.3");
    let mut ind = Indicators::new();
    rec.collect_indicators(&mut ind);
    assert!(
        ind.values(bucketwatch_core::IndicatorKind::IpAddresses)
            .is_empty()
    );
}

#[test]
fn four_part_operation_with_uuid_request_id() {
    let line = line27("\"-\"", "\"-\"", "\"-\"").replace(
        "7K2M9XQ4T1B6N8C3 REST.GET.OBJECT",
        "3f1c2a9e-8b7d-4e6f-a5c4-1d2e3f4a5b6c S3.COMPUTE.OBJECT.CHECKSUM",
    );
    let v = json(&parse(&line));
    assert_eq!(v["requestid"], "3f1c2a9e-8b7d-4e6f-a5c4-1d2e3f4a5b6c");
    assert_eq!(v["operation"], "S3.COMPUTE.OBJECT.CHECKSUM");
    assert!(v.get("requesturi").is_none() && v.get("useragent").is_none());
}

#[test]
fn soap_and_website_operations() {
    for op in [
        "SOAP.PUT.OBJECT",
        "WEBSITE.GET.OBJECT",
        "REST.POST.MULTI_OBJECT_DELETE",
    ] {
        let line =
            line27("\"POST /soap/ HTTP/1.1\"", "\"-\"", "\"-\"").replace("REST.GET.OBJECT", op);
        assert_eq!(json(&parse(&line))["operation"], op);
    }
}

#[test]
fn non_utf8_bytes_are_kept_and_never_panic() {
    let mut line = line27("\"GET /caf\u{e9} HTTP/1.1\"", "\"-\"", "\"ua\"").into_bytes();
    // Replace the UTF-8 é (C3 A9) with a lone Latin-1 byte.
    let at = line.windows(2).position(|w| w == [0xC3, 0xA9]).unwrap();
    line.splice(at..at + 2, [0xE9]);
    let rec = parse_line(&line).unwrap();
    assert_eq!(rec.requesturi.unwrap(), b"GET /caf\xe9 HTTP/1.1");
    let v = json(&rec);
    assert_eq!(v["requesturi"], "GET /caf\u{e9} HTTP/1.1");
}

#[test]
fn tls_names_and_version_case_are_kept_as_logged() {
    let line = line27("\"GET /k HTTP/1.1\"", "\"-\"", "\"ua\"")
        .replace("TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256")
        .replace("TLSv1.3", "TLSV1.2");
    let v = json(&parse(&line));
    assert_eq!(v["ciphersuite"], "TLS_CHACHA20_POLY1305_SHA256");
    assert_eq!(v["tlsVersion"], "TLSV1.2");
}

#[test]
fn anonymous_request_over_tls() {
    let line = line27("\"GET /k HTTP/1.1\"", "\"-\"", "\"ua\"")
        .replace("arn:aws:sts::111122223333:assumed-role/reader/alice", "-")
        .replace(
            "SigV4 TLS_AES_128_GCM_SHA256 AuthHeader",
            "- TLS_AES_128_GCM_SHA256 -",
        );
    let v = json(&parse(&line));
    assert!(v.get("requester").is_none());
    assert!(v.get("signatureversion").is_none() && v.get("authenticationtype").is_none());
    assert_eq!(v["ciphersuite"], "TLS_AES_128_GCM_SHA256");
}

#[test]
fn keys_host_ports_access_points_and_indicators() {
    let line = line27(
        "\"PUT /photos-prod/a%2A%2522b+c HTTP/1.1\"",
        "\"-\"",
        "\"ua\"",
    )
    .replace("albums/2026/beach.jpg", "a*%2522b+c")
    .replace(
        "photos-prod.s3.eu-west-1.amazonaws.com",
        "photos-prod.s3.eu-west-1.amazonaws.com:8443",
    )
    .replace(
        "TLSv1.3 - -",
        "TLSv1.3 arn:aws:s3:eu-west-1:444455556666:accesspoint/ap1 Yes",
    );
    let rec = parse(&line);
    let v = json(&rec);
    assert_eq!(v["key"], "a*%2522b+c");
    assert_eq!(
        v["hostheader"],
        "photos-prod.s3.eu-west-1.amazonaws.com:8443"
    );
    assert_eq!(
        v["accesspointarn"],
        "arn:aws:s3:eu-west-1:444455556666:accesspoint/ap1"
    );
    assert_eq!(v["aclrequired"], "Yes");
    let mut ind = Indicators::new();
    rec.collect_indicators(&mut ind);
    use bucketwatch_core::IndicatorKind::*;
    assert_eq!(
        ind.values(AwsAccountIds),
        vec!["111122223333", "444455556666"]
    );
    assert_eq!(ind.values(AwsArns).len(), 2);
    assert_eq!(
        ind.values(DomainNames),
        vec!["photos-prod.s3.eu-west-1.amazonaws.com"]
    );
    assert_eq!(ind.values(IpAddresses), vec!["203.0.113.45"]);
}

#[test]
fn partial_and_conditional_responses() {
    let line = line27("\"GET /k HTTP/1.1\"", "\"-\"", "\"ua\"")
        .replace("200 - 524288 524288", "304 - - 524288");
    let v = json(&parse(&line));
    assert_eq!(v["httpstatus"], 304);
    assert!(v.get("bytessent").is_none());
    let line = line27("\"GET /k HTTP/1.1\"", "\"-\"", "\"ua\"")
        .replace("200 - 524288", "307 TemporaryRedirect 312");
    let v = json(&parse(&line));
    assert_eq!(v["errorcode"], "TemporaryRedirect");
}

#[test]
fn legacy_18_field_line() {
    let line = format!(
        "{OWNER} legacy-bucket [03/Nov/2012:15:40:21 +0000] 10.20.30.40 arn:aws:iam::111122223333:user/deploy 3E57427F3EXAMPLE REST.PUT.OBJECT \
         builds/app.tar.gz \"PUT /legacy-bucket/builds/app.tar.gz HTTP/1.1\" 200 - - 10485760 2211 64 \"-\" \"aws-sdk-java/1.3.11\" -"
    );
    let rec = parse(&line);
    assert_eq!(rec.field_count(), 18);
    let v = json(&rec);
    assert_eq!(v["objectsize"], 10485760);
    assert!(v.get("hostid").is_none());
}

#[test]
fn public_samples_parse_when_present() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples");
    for name in [
        "s3sal_awsdocs_example_24fields.log",
        "s3sal_awsdocs_current_example_27fields.log",
    ] {
        let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
            continue;
        };
        for line in text.lines().filter(|l| !l.is_empty()) {
            let rec = parse(line);
            assert!(rec.field_count() >= 24);
        }
    }
}

#[test]
fn rejections_say_which_field() {
    let cases = [
        ("short line", "line"),
        (
            "owner bucket 06/Feb/2019:00:00:38 +0000 1.2.3.4 req RID REST.GET.OBJECT k \"GET / HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"-\" -",
            "time",
        ),
    ];
    for (line, field) in cases {
        let err = parse_line(line.as_bytes()).unwrap_err();
        assert_eq!(err.field, field, "{line}: {err}");
    }
    let line = line27("\"GET /k HTTP/1.1\"", "\"-\"", "\"ua\"").replace(" 200 - ", " OK - ");
    assert!(parse_line(line.as_bytes()).is_err());
    let line = line27("\"GET /k HTTP/1.1\"", "\"-\"", "\"ua\"")
        .replace("REST.GET.OBJECT", "RESTGETOBJECT");
    assert_eq!(parse_line(line.as_bytes()).unwrap_err().field, "operation");
}

fn token_strategy() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_./:=+%*-]{1,24}".prop_filter("not a lone dash", |t| t != "-")
}

fn quoted_strategy() -> impl Strategy<Value = String> {
    // Quoted content may hold spaces, commas and quotes, but not a quote followed by a space
    // and a quote, which no tokenizer can tell from a field boundary.
    "[A-Za-z0-9 ,;()/#.:=\"-]{0,60}".prop_filter("ambiguous boundary", |t| {
        let quoted = format!("\"{t}\"");
        !quoted.contains("\" \"") && !quoted.contains("\" -") && !t.ends_with('"') && t != "-"
    })
}

proptest! {
    #[test]
    fn lines_built_from_valid_fields_round_trip(
        bucket in "[a-z0-9][a-z0-9.-]{2,40}",
        ip in proptest::option::of(any::<std::net::Ipv4Addr>()),
        requester in proptest::option::of(token_strategy()),
        rid in "[A-Z0-9]{16}",
        op in "(REST|S3|WEBSITE|BATCH)\\.[A-Z_]{2,10}(\\.[A-Z_]{2,10}){0,2}",
        key in proptest::option::of(token_strategy()),
        target in "/[A-Za-z0-9/?=&%\"-]{0,60}",
        status in proptest::option::of(100u64..600),
        error in proptest::option::of("[A-Za-z]{3,20}"),
        numbers in proptest::array::uniform4(proptest::option::of(0u64..u64::MAX / 2)),
        referrer in proptest::option::of(quoted_strategy()),
        ua in proptest::option::of(quoted_strategy()),
        tail in proptest::collection::vec(proptest::option::of(token_strategy()), 1..14),
    ) {
        let d = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let n = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
        let q = |v: &Option<String>| v.as_ref().map_or("\"-\"".into(), |v| format!("\"{v}\""));
        let mut tail = tail;
        // The tail's shape is part of the format: signature version and TLS version.
        if tail.len() > 2 { tail[2] = Some("SigV4".into()); }
        if tail.len() > 6 { tail[6] = Some("TLSv1.2".into()); }
        let uri = format!("GET {target} HTTP/1.1");
        let line = format!(
            "{OWNER} {bucket} [14/Mar/2026:09:15:02 +0000] {} {} {rid} {op} {} \"{uri}\" {} {} {} {} {} {} {} {} {}",
            ip.map_or("-".into(), |i| i.to_string()), d(&requester), d(&key),
            n(status), d(&error), n(numbers[0]), n(numbers[1]), n(numbers[2]), n(numbers[3]),
            q(&referrer), q(&ua),
            tail.iter().map(d).collect::<Vec<_>>().join(" "),
        );
        let rec = parse_line(line.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{line}")))?;
        prop_assert_eq!(s(rec.bucket), Some(bucket));
        prop_assert_eq!(s(rec.remoteip), ip.map(|i| i.to_string()));
        prop_assert_eq!(s(rec.requester), requester);
        prop_assert_eq!(s(rec.operation), Some(op));
        prop_assert_eq!(s(rec.key), key);
        prop_assert_eq!(s(rec.requesturi), Some(uri));
        prop_assert_eq!(rec.httpstatus, status);
        prop_assert_eq!(s(rec.errorcode), error);
        prop_assert_eq!([rec.bytessent, rec.objectsize, rec.totaltime, rec.turnaroundtime], numbers);
        prop_assert_eq!(s(rec.referrer), referrer);
        prop_assert_eq!(s(rec.useragent), ua);
        prop_assert_eq!(rec.field_count(), 17 + tail.len());
        for (i, t) in tail.iter().enumerate().take(10) {
            prop_assert_eq!(s(rec.tail_field(i)), t.clone());
        }
        let extra: Vec<String> = rec.additional_fields().map(|b| String::from_utf8_lossy(b).into_owned()).collect();
        let want: Vec<String> = tail.iter().skip(10).map(d).collect();
        prop_assert_eq!(extra, want);
        let _ = json(&rec);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(rec) = parse_line(&bytes) {
            let _ = json(&rec);
        }
    }

    #[test]
    fn mutated_valid_lines_never_panic(cut in 0usize..400, junk in proptest::collection::vec(any::<u8>(), 0..8)) {
        let line = line27("\"GET /k\" HTTP/1.1\"", "\"r\"\"", "\"u \"a\"");
        let mut bytes = line.into_bytes();
        let at = cut.min(bytes.len());
        bytes.splice(at..at, junk);
        if let Ok(rec) = parse_line(&bytes) {
            let _ = json(&rec);
        }
    }
}

#[test]
fn operation_shapes() {
    for ok in [
        "REST.GET.OBJECT",
        "S3.COMPUTE.OBJECT.CHECKSUM",
        "SOAP.CreateBucket",
        "A.B_C",
    ] {
        assert!(is_operation(ok.as_bytes()), "{ok}");
    }
    for bad in [
        "REST",
        "REST..GET",
        ".REST.GET",
        "REST.GET.",
        "REST.GE T",
        "",
        "REST.G\"ET",
    ] {
        assert!(!is_operation(bad.as_bytes()), "{bad}");
    }
}
