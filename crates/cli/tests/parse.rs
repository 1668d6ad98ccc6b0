//! End-to-end tests of `bucketwatch parse`: the real binary on real files and stdin.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use flate2::write::GzEncoder;
use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn bucketwatch(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bucketwatch"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bucketwatch runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn events(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn bundled_examples_one_event_per_record_and_failures_kept() {
    let sal = examples().join("s3-access.log");
    let ct = examples().join("cloudtrail.json.gz");
    let out = bucketwatch(
        &["parse", sal.to_str().unwrap(), ct.to_str().unwrap()],
        None,
    );
    // The access-log example ends with one line that is not a record: exit 1, kept as a failure.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let ev = events(&out);
    let lines = std::fs::read_to_string(&sal).unwrap().lines().count();
    assert_eq!(ev.len(), lines + 2);
    let types: Vec<&str> = ev
        .iter()
        .map(|e| e["p_log_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types.iter().filter(|t| **t == "AWS.S3ServerAccess").count(),
        lines - 1
    );
    assert_eq!(types.iter().filter(|t| **t == "AWS.CloudTrail").count(), 2);
    let failure = ev
        .iter()
        .find(|e| e["p_log_type"] == "Bucketwatch.ClassificationFailure")
        .unwrap();
    assert_eq!(failure["line"], lines as u64);
    assert!(
        failure["raw"]
            .as_str()
            .unwrap()
            .starts_with("this line is not")
    );
    assert_eq!(failure["p_source_object"], sal.to_str().unwrap());
    let oai = ev.iter().find(|e| e["bucket"] == "static-site").unwrap();
    assert_eq!(
        oai["requester"],
        "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHEXAMPLE"
    );
    let quote = ev
        .iter()
        .find(|e| e["operation"] == "REST.PUT.OBJECT")
        .unwrap();
    assert_eq!(
        quote["requesturi"],
        "PUT /photos-prod/uploads/\"quote\".txt HTTP/1.1"
    );
    let err = stderr(&out);
    assert!(
        err.contains("2 inputs") && err.contains("1 failed to parse"),
        "{err}"
    );
}

#[test]
fn stdin_gzip_multi_member_and_zstd() {
    let line = std::fs::read_to_string(examples().join("s3-access.log")).unwrap();
    let first = line.lines().next().unwrap().to_string() + "\n";
    let mut two_members = gzip(first.as_bytes());
    two_members.extend(gzip(first.as_bytes()));
    let out = bucketwatch(&["parse"], Some(&two_members));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ev = events(&out);
    assert_eq!(ev.len(), 2);
    assert!(ev[0].get("p_source_object").is_none());

    let zst = zstd::encode_all(first.as_bytes(), 3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs.zst");
    std::fs::write(&path, zst).unwrap();
    let out = bucketwatch(
        &[
            "parse",
            "--source-id",
            "id-1",
            "--source-label",
            "prod",
            path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let ev = events(&out);
    assert_eq!(ev[0]["p_source_id"], "id-1");
    assert_eq!(ev[0]["p_source_label"], "prod");
}

#[test]
fn forced_log_type_and_classification_failures_exit_1() {
    let ct = examples().join("cloudtrail.json.gz");
    let out = bucketwatch(
        &[
            "parse",
            "--log-type",
            "AWS.S3ServerAccess",
            ct.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let ev = events(&out);
    assert_eq!(ev.len(), 2);
    assert!(
        ev.iter()
            .all(|e| e["expected_log_type"] == "AWS.S3ServerAccess")
    );
}

#[test]
fn unusable_inputs_exit_2_and_name_the_input_but_the_rest_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.log");
    let bz = dir.path().join("logs.bz2");
    std::fs::write(&bz, b"BZh91AY&SY rest").unwrap();
    let sal = examples().join("s3-access.log");
    let out = bucketwatch(
        &[
            "parse",
            missing.to_str().unwrap(),
            bz.to_str().unwrap(),
            sal.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("missing.log: no such file"), "{err}");
    assert!(
        err.contains("logs.bz2: bzip2 compression is not supported"),
        "{err}"
    );
    assert!(!events(&out).is_empty());

    let out = bucketwatch(&["parse", "--log-type", "AWS.ALB", "x"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown log type 'AWS.ALB'"));
}

#[test]
fn corrupt_gzip_reports_how_far_it_got() {
    let mut data = Vec::new();
    for _ in 0..2000 {
        data.extend_from_slice(
            std::fs::read_to_string(examples().join("s3-access.log"))
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .as_bytes(),
        );
        data.push(b'\n');
    }
    let mut gz = gzip(&data);
    let cut = gz.len() * 2 / 3;
    gz.truncate(cut);
    let out = bucketwatch(&["parse", "-"], Some(&gz));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("<stdin>: reading failed after") && err.contains("gzip"),
        "{err}"
    );
}

#[test]
fn help_teaches_usage() {
    let out = bucketwatch(&["parse", "--help"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--log-type",
        "Exit status",
        "ClassificationFailure",
        "Examples",
    ] {
        assert!(text.contains(needle), "help lacks {needle}");
    }
}
