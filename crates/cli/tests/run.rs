//! `bucketwatch run` end to end: a real moto server with buckets, an SNS topic, SQS queues and
//! bucket notifications (set up with boto3 from the test virtualenv), the real binary as a
//! service, and a real HTTP listener as the webhook destination.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bucketwatch_testkit::{Moto, WebhookSink, free_port, venv_program};

const BIN: &str = env!("CARGO_BIN_EXE_bucketwatch");
const INSECURE: &str = "BucketWatch.S3Access.InsecureTransport";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs a boto3 snippet with `s3`, `sqs` and `sns` clients on moto; returns its stdout.
fn boto3(moto: &Moto, code: &str) -> String {
    let script = format!(
        "import boto3, json, gzip\n\
         kw = dict(endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
         s3 = boto3.client('s3', **kw)\nsqs = boto3.client('sqs', **kw)\nsns = boto3.client('sns', **kw)\n\
         arn = lambda url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n\
         {code}",
        moto.endpoint()
    );
    let out = Command::new(venv_program("python"))
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    String::from_utf8(ok(out)).unwrap()
}

fn ok(output: Output) -> Vec<u8> {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Access-log lines for `bucket`, all over TLS from a private address, except one plain-HTTP
/// request by `plain_http_by` when given (the insecure-transport rule's match).
fn access_log(bucket: &str, tag: &str, lines: usize, plain_http_by: Option<&str>) -> String {
    let mut text = String::new();
    for l in 0..lines {
        let plain = plain_http_by.is_some() && l == 0;
        let requester = plain_http_by
            .filter(|_| plain)
            .unwrap_or("arn:aws:sts::123456789012:assumed-role/app/i-0abc");
        let (cipher, tls) = if plain {
            ("-", "-")
        } else {
            ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2")
        };
        writeln!(
            text,
            "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be {bucket} \
             [14/Mar/2026:10:{m:02}:00 +0000] 10.0.0.{ip} {requester} {tag}X{l:05} \
             REST.GET.OBJECT data/{l}.csv \"GET /{bucket}/data/{l}.csv HTTP/1.1\" 200 \
             - 512 1024 10 9 \"-\" \"aws-cli/2.15\" - hostid SigV4 {cipher} \
             AuthHeader {bucket}.s3.amazonaws.com {tls} - -",
            m = l % 60,
            ip = l % 200,
        )
        .unwrap();
    }
    text
}

/// The service, killed when dropped.
struct Service {
    child: Child,
    log: PathBuf,
}

impl Service {
    fn start(moto: &Moto, config: &Path, data: &Path, log: PathBuf) -> Service {
        Service::start_with(moto, config, data, log, &[])
    }

    /// As [`start`](Service::start), with more environment variables.
    fn start_with(
        moto: &Moto,
        config: &Path,
        data: &Path,
        log: PathBuf,
        env: &[(&str, String)],
    ) -> Service {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut command = Command::new(BIN);
        command
            .args(["run", "--config"])
            .arg(config)
            .env("BUCKETWATCH_DATA_DIR", data)
            .env("BUCKETWATCH_WEBHOOK_SECRET", "s3cret")
            .current_dir(repo())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        for (k, v) in moto.env() {
            command.env(k, v);
        }
        for (k, v) in env {
            command.env(k, v);
        }
        Service {
            child: command.spawn().expect("start bucketwatch run"),
            log,
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then the exit status (waiting up to a minute for the drain).
    fn stop(mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "no exit after SIGTERM:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn query(data: &Path, sql: &str) -> Vec<Vec<String>> {
    let out = Command::new(BIN)
        .args(["query", "--format", "csv", sql])
        .env("BUCKETWATCH_DATA_DIR", data)
        .current_dir(repo())
        .output()
        .unwrap();
    if !out.status.success() {
        // The tables do not exist before the first commit.
        return Vec::new();
    }
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Polls `check` until it holds; panics with `what` and the service log after `limit`.
fn wait_until(
    what: &str,
    limit: Duration,
    log: &dyn Fn() -> String,
    check: &mut dyn FnMut() -> bool,
) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; service log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn rows_by_object(data: &Path) -> BTreeMap<String, u64> {
    query(
        data,
        "SELECT p_source_object, count(*) FROM logs.aws_s3serveraccess GROUP BY 1",
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].parse().unwrap()))
    .collect()
}

/// The alert ids the webhook received.
fn delivered_alerts(sink: &WebhookSink) -> BTreeSet<String> {
    sink.received()
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["alertId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// Delivery is at least once; a repeat (a kill between send and record) carries the delivery
/// id of the first, so a receiver keeping ids sees each alert once.
fn assert_one_delivery_id_per_alert(sink: &WebhookSink, all_alerts: &BTreeSet<String>) {
    let mut by_delivery: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in sink.received() {
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        by_delivery
            .entry(r.header("x-bucketwatch-delivery").unwrap().to_string())
            .or_default()
            .insert(body["alertId"].as_str().unwrap().to_string());
    }
    assert_eq!(by_delivery.len(), all_alerts.len());
    assert!(by_delivery.values().all(|alerts| alerts.len() == 1));
}

/// `objects` objects of `lines` access-log lines each, every line in the lake exactly once.
fn assert_every_record_once(data: &Path, objects: usize, lines: usize) {
    assert_eq!(
        query(
            data,
            "SELECT count(DISTINCT requestid), count(*), count(DISTINCT p_source_object) FROM logs.aws_s3serveraccess"
        ),
        [[
            (objects * lines).to_string(),
            (objects * lines).to_string(),
            objects.to_string()
        ]]
    );
}

#[test]
fn notifications_of_every_shape_reach_the_lake_and_alerts_the_webhook() {
    let moto = Moto::start();
    let queues = boto3(
        &moto,
        r#"
s3.create_bucket(Bucket='acme-logs')
q = {n: sqs.create_queue(QueueName=n)['QueueUrl'] for n in ['direct', 'raw', 'poison', 'dead']}
sqs.set_queue_attributes(QueueUrl=q['poison'], Attributes={'RedrivePolicy': json.dumps(
    {'deadLetterTargetArn': arn(q['dead']), 'maxReceiveCount': '2'})})
topic = sns.create_topic(Name='acme-logs')['TopicArn']
sns.subscribe(TopicArn=topic, Protocol='sqs', Endpoint=arn(q['direct']))
sns.subscribe(TopicArn=topic, Protocol='sqs', Endpoint=arn(q['raw']),
              Attributes={'RawMessageDelivery': 'true'})
rule = lambda p: {'Key': {'FilterRules': [{'Name': 'prefix', 'Value': p}]}}
s3.put_bucket_notification_configuration(Bucket='acme-logs', NotificationConfiguration={
    'QueueConfigurations': [{'QueueArn': arn(q['direct']), 'Events': ['s3:ObjectCreated:*'], 'Filter': rule('direct/')}],
    'TopicConfigurations': [{'TopicArn': topic, 'Events': ['s3:ObjectCreated:*'], 'Filter': rule('sns/')}]})
q['topic'] = topic
print(json.dumps(q))
"#,
    );
    let queues: serde_json::Value = serde_json::from_str(queues.trim()).unwrap();
    let sink = WebhookSink::start();
    let metrics_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("bucketwatch.toml");
    std::fs::write(
        &config,
        format!(
            r#"
content = ["{content}"]

[[sources]]
id = "direct"
label = "S3 and SNS notifications"
kind = "sqs"
queue_url = "{direct}"
wait_time_secs = 1
prefixes = {{ "acme-logs/" = "AWS.S3ServerAccess", "acme-logs/ct/" = "AWS.CloudTrail" }}

[[sources]]
id = "raw"
kind = "sqs"
queue_url = "{raw}"
wait_time_secs = 1

[[sources]]
id = "poison"
kind = "sqs"
queue_url = "{poison}"
wait_time_secs = 1
visibility_timeout_secs = 1

[metrics]
listen = "127.0.0.1:{metrics_port}"

[delivery]
poll_interval_ms = 200

[[delivery.destinations]]
id = "hook"
kind = "webhook"
url = "{hook}"
secret_env = "BUCKETWATCH_WEBHOOK_SECRET"
"#,
            content = repo().join("content").display(),
            direct = queues["direct"].as_str().unwrap(),
            raw = queues["raw"].as_str().unwrap(),
            poison = queues["poison"].as_str().unwrap(),
            hook = sink.url(),
        ),
    )
    .unwrap();
    let service = Service::start(&moto, &config, &data, dir.path().join("service.log"));

    let objects = dir.path().join("objects");
    std::fs::create_dir_all(&objects).unwrap();
    let write = |name: &str, text: &str| {
        let path = objects.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let spaced = write(
        "spaced.log",
        &access_log(
            "acme-logs",
            "SP",
            5,
            Some("arn:aws:iam::123456789012:user/mallory"),
        ),
    );
    let via_sns = write("sns.log", &access_log("acme-logs", "SN", 4, None));
    let via_eventbridge = write("eb.log", &access_log("acme-logs", "EB", 3, None));
    let trail = serde_json::json!({"Records": [
        {"eventVersion": "1.09", "eventTime": "2026-03-14T10:00:00Z", "eventSource": "s3.amazonaws.com",
         "eventName": "GetBucketAcl", "awsRegion": "us-east-1", "sourceIPAddress": "10.1.2.3",
         "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/ops", "accountId": "123456789012"},
         "requestParameters": {"bucketName": "acme-logs"}, "eventID": "t1", "eventType": "AwsApiCall",
         "recipientAccountId": "123456789012"},
        {"eventVersion": "1.09", "eventTime": "2026-03-14T10:01:00Z", "eventSource": "s3.amazonaws.com",
         "eventName": "GetBucketPolicy", "awsRegion": "us-east-1", "sourceIPAddress": "10.1.2.3",
         "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/ops", "accountId": "123456789012"},
         "requestParameters": {"bucketName": "acme-logs"}, "eventID": "t2", "eventType": "AwsApiCall",
         "recipientAccountId": "123456789012"}]});
    let trail = write("trail.json", &trail.to_string());
    boto3(
        &moto,
        &format!(
            r#"
q = {queues}
s3.upload_file('{spaced}', 'acme-logs', 'direct/2026-03-14 10:00+x.log')
s3.put_object(Bucket='acme-logs', Key='direct/empty.log', Body=b'')
s3.put_object(Bucket='acme-logs', Key='direct/folder/', Body=b'')
s3.upload_file('{via_sns}', 'acme-logs', 'sns/a.log')
s3.upload_file('{via_eventbridge}', 'acme-logs', 'eb/b c.log')
s3.put_object(Bucket='acme-logs', Key='ct/trail.json.gz', Body=gzip.compress(open('{trail}', 'rb').read()))
head = s3.head_object(Bucket='acme-logs', Key='eb/b c.log')
sqs.send_message(QueueUrl=q['direct'], MessageBody=json.dumps({{
    'version': '0', 'id': 'eb-1', 'detail-type': 'Object Created', 'source': 'aws.s3',
    'account': '123456789012', 'time': '2026-03-14T10:00:00Z', 'region': 'us-east-1',
    'resources': ['arn:aws:s3:::acme-logs'],
    'detail': {{'version': '0', 'bucket': {{'name': 'acme-logs'}},
               'object': {{'key': 'eb/b+c.log', 'size': head['ContentLength'], 'etag': head['ETag'].strip('"')}},
               'reason': 'PutObject'}}}}))
sns.publish(TopicArn=q['topic'], Message=json.dumps({{'s3Bucket': 'acme-logs', 's3ObjectKey': ['ct/trail.json.gz']}}))
sns.publish(TopicArn=q['topic'], Message='CloudTrail validation message.')
sqs.send_message(QueueUrl=q['poison'], MessageBody='this is not a notification')
"#,
            queues = queues,
        ),
    );

    let log = || service.log_text();
    let spaced_url = "s3://acme-logs/direct/2026-03-14 10:00+x.log".to_string();
    let expected: BTreeMap<String, u64> = [
        (spaced_url, 5),
        ("s3://acme-logs/sns/a.log".to_string(), 4),
        ("s3://acme-logs/eb/b c.log".to_string(), 3),
    ]
    .into();
    wait_until(
        "every access log in the lake",
        Duration::from_secs(90),
        &log,
        &mut || rows_by_object(&data) == expected,
    );
    wait_until(
        "the CloudTrail file in the lake",
        Duration::from_secs(60),
        &log,
        &mut || {
            query(
                &data,
                "SELECT count(*), min(p_source_object), min(p_source_id) FROM logs.aws_cloudtrail",
            )
            .first()
            // Announced through the topic to both queues: whichever source read it first.
            .is_some_and(|r| {
                r[..2] == ["2", "s3://acme-logs/ct/trail.json.gz"]
                    && (r[2] == "direct" || r[2] == "raw")
            })
        },
    );
    wait_until(
        "the insecure-transport alert at the webhook",
        Duration::from_secs(60),
        &log,
        &mut || {
            sink.received().iter().any(|r| {
                let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                body["id"] == INSECURE
                    && body["alertContext"]["requester"] == "arn:aws:iam::123456789012:user/mallory"
            })
        },
    );
    let delivery = sink.received().into_iter().next().unwrap();
    assert!(
        delivery.header("x-bucketwatch-signature").is_some(),
        "{delivery:?}"
    );
    assert!(
        delivery.header("x-bucketwatch-delivery").is_some(),
        "{delivery:?}"
    );

    // The message nobody understands ends in the dead-letter queue, named in the log.
    let dead = boto3(
        &moto,
        &format!(
            "import time\nq = {queues}\nfor _ in range(60):\n    m = sqs.receive_message(QueueUrl=q['dead'], WaitTimeSeconds=1).get('Messages', [])\n    if m:\n        print(m[0]['Body'])\n        break\n    time.sleep(0.5)\n"
        ),
    );
    assert_eq!(dead.trim(), "this is not a notification", "{}", log());
    assert!(log().contains("not acknowledged"), "{}", log());

    let metrics = http_get(metrics_port, "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    for line in [
        "bucketwatch_events_in_total{log_type=\"AWS.S3ServerAccess\"} 12",
        "bucketwatch_events_in_total{log_type=\"AWS.CloudTrail\"} 2",
        "bucketwatch_lake_commit_seconds_count",
        "bucketwatch_queue_messages_total{source=\"poison\",outcome=\"unrecognized\"}",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }

    // Nothing was read twice although sns/a.log was announced on two queues.
    let status = service.stop();
    assert!(status.success(), "exit {status:?}");
    assert_eq!(rows_by_object(&data), expected);
    assert_eq!(
        query(
            &data,
            "SELECT count(DISTINCT requestid), count(*) FROM logs.aws_s3serveraccess"
        ),
        [["12", "12"]]
    );
}

/// 50 objects, the service killed with SIGKILL at random moments over 10 rounds, then left
/// to finish: every record is in the lake once and every alert reached the webhook.
#[test]
fn killed_at_random_moments_the_service_still_commits_everything_once() {
    const OBJECTS: usize = 50;
    const LINES: usize = 20;
    let moto = Moto::start();
    let queue = boto3(
        &moto,
        r#"
s3.create_bucket(Bucket='crash-logs')
url = sqs.create_queue(QueueName='crash')['QueueUrl']
s3.put_bucket_notification_configuration(Bucket='crash-logs', NotificationConfiguration={
    'QueueConfigurations': [{'QueueArn': arn(url), 'Events': ['s3:ObjectCreated:*']}]})
print(url)
"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sink = WebhookSink::start();
    let config = dir.path().join("bucketwatch.toml");
    std::fs::write(
        &config,
        format!(
            r#"
content = ["{content}"]
[[sources]]
id = "crash"
kind = "sqs"
queue_url = "{queue}"
wait_time_secs = 1
visibility_timeout_secs = 3
[batch]
max_objects = 7
[metrics]
enabled = false
[delivery]
poll_interval_ms = 100
[[delivery.destinations]]
id = "hook"
kind = "webhook"
url = "{hook}"
"#,
            content = repo().join("content").display(),
            queue = queue.trim(),
            hook = sink.url(),
        ),
    )
    .unwrap();
    let objects = dir.path().join("objects");
    std::fs::create_dir_all(&objects).unwrap();
    let mut puts = String::new();
    for o in 0..OBJECTS {
        let path = objects.join(format!("{o}.log"));
        let requester = format!("arn:aws:iam::123456789012:user/u{o}");
        std::fs::write(
            &path,
            access_log("crash-logs", &format!("C{o:03}"), LINES, Some(&requester)),
        )
        .unwrap();
        writeln!(
            puts,
            "s3.upload_file('{}', 'crash-logs', 'AWSLogs/{o:03}.log')",
            path.display()
        )
        .unwrap();
    }
    boto3(&moto, &puts);

    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let log = dir.path().join("service.log");
    for round in 0..10 {
        let service = Service::start(&moto, &config, &data, log.clone());
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(300 + seed % 2500));
        service.kill();
        let _ = round;
    }
    let service = Service::start(&moto, &config, &data, log.clone());
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until("all rows", Duration::from_secs(180), &log_text, &mut || {
        query(&data, "SELECT count(*) FROM logs.aws_s3serveraccess")
            .first()
            .is_some_and(|r| r[0] == (OBJECTS * LINES).to_string())
    });
    let store = rusqlite::Connection::open(data.join("alerts.db")).unwrap();
    let alert_ids = |rule: Option<&str>| -> BTreeSet<String> {
        let mut statement = store
            .prepare("SELECT alert_id FROM alerts WHERE ?1 IS NULL OR rule_id = ?1")
            .unwrap();
        statement
            .query_map([rule], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(alert_ids(Some(INSECURE)).len(), OBJECTS);
    let all_alerts = alert_ids(None);
    wait_until(
        "every alert delivered",
        Duration::from_secs(60),
        &log_text,
        &mut || delivered_alerts(&sink) == all_alerts,
    );
    let status = service.stop();
    assert!(status.success(), "exit {status:?}");
    assert_every_record_once(&data, OBJECTS, LINES);
    assert_one_delivery_id_per_alert(&sink, &all_alerts);
}

/// Scale-out: two `run` processes on one queue, alert state in one DynamoDB table, one lake.
/// Together they produce what one process would: every record once, alerts grouped across
/// workers (one alert for a requester seen by both), each alert delivered once, and a
/// redelivered notification adds nothing whichever worker gets it.
#[test]
fn two_workers_on_one_queue_share_alert_state_through_dynamodb() {
    const OBJECTS: usize = 30;
    const SHARED: usize = 15;
    const LINES: usize = 10;
    let moto = Moto::start();
    // DynamoDB on a server that takes one request at a time: moto does not isolate
    // transactions, DynamoDB does (see `Moto::start_serial`).
    let dynamo = Moto::start_serial();
    let queue = boto3(
        &moto,
        r#"
s3.create_bucket(Bucket='scale-logs')
url = sqs.create_queue(QueueName='scale')['QueueUrl']
s3.put_bucket_notification_configuration(Bucket='scale-logs', NotificationConfiguration={
    'QueueConfigurations': [{'QueueArn': arn(url), 'Events': ['s3:ObjectCreated:*']}]})
print(url)
"#,
    );
    let queue = queue.trim();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sink = WebhookSink::start();
    let config = dir.path().join("bucketwatch.toml");
    std::fs::write(
        &config,
        format!(
            r#"
content = ["{content}"]
[[sources]]
id = "scale"
kind = "sqs"
queue_url = "{queue}"
wait_time_secs = 1
visibility_timeout_secs = 5
[batch]
max_objects = 2
[alerts]
dynamodb_table = "bw-alerts"
[metrics]
enabled = false
[delivery]
poll_interval_ms = 100
[[delivery.destinations]]
id = "hook"
kind = "webhook"
url = "{hook}"
"#,
            content = repo().join("content").display(),
            hook = sink.url(),
        ),
    )
    .unwrap();
    let env = [("AWS_ENDPOINT_URL_DYNAMODB", dynamo.endpoint())];
    let logs = [dir.path().join("one.log"), dir.path().join("two.log")];
    let workers: Vec<Service> = logs
        .iter()
        .map(|log| Service::start_with(&moto, &config, &data, log.clone(), &env))
        .collect();
    let log_text = || {
        logs.iter()
            .map(|l| std::fs::read_to_string(l).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n---- the other worker ----\n")
    };
    for log in &logs {
        wait_until(
            "both workers started",
            Duration::from_secs(60),
            &log_text,
            &mut || std::fs::read_to_string(log).is_ok_and(|t| t.contains("source(s) started")),
        );
    }

    let objects = dir.path().join("objects");
    std::fs::create_dir_all(&objects).unwrap();
    let mut puts = String::new();
    for o in 0..OBJECTS {
        let requester = if o < SHARED {
            "arn:aws:iam::123456789012:user/shared".to_string()
        } else {
            format!("arn:aws:iam::123456789012:user/u{o}")
        };
        let path = objects.join(format!("{o}.log"));
        std::fs::write(
            &path,
            access_log("scale-logs", &format!("S{o:03}"), LINES, Some(&requester)),
        )
        .unwrap();
        writeln!(
            puts,
            "s3.upload_file('{}', 'scale-logs', 'AWSLogs/{o:03}.log')",
            path.display()
        )
        .unwrap();
    }
    boto3(&moto, &puts);
    let total = || query(&data, "SELECT count(*) FROM logs.aws_s3serveraccess");
    wait_until("all rows", Duration::from_secs(240), &log_text, &mut || {
        total()
            .first()
            .is_some_and(|r| r[0] == (OBJECTS * LINES).to_string())
    });

    // Redelivered notifications of objects already in the lake: whichever worker takes one
    // finds the other's commit and adds nothing.
    boto3(
        &moto,
        &format!(
            r#"
for o in range(6):
    body = {{'Records': [{{'eventVersion': '2.1', 'eventSource': 'aws:s3', 'awsRegion': 'us-east-1',
        'eventName': 'ObjectCreated:Put', 's3': {{'bucket': {{'name': 'scale-logs'}},
        'object': {{'key': 'AWSLogs/%03d.log' % o}}}}}}]}}
    sqs.send_message(QueueUrl='{queue}', MessageBody=json.dumps(body))
"#
        ),
    );
    wait_until(
        "the queue drained",
        Duration::from_secs(120),
        &log_text,
        &mut || {
            boto3(
            &moto,
            &format!(
                "a = sqs.get_queue_attributes(QueueUrl='{queue}', AttributeNames=['All'])['Attributes']\n\
                 print(int(a['ApproximateNumberOfMessages']) + int(a['ApproximateNumberOfMessagesNotVisible']))"
            ),
        )
        .trim()
            == "0"
        },
    );

    let alerts: Vec<serde_json::Value> = serde_json::from_str(&boto3(
        &moto,
        &format!(
            r#"
ddb = boto3.client('dynamodb', **dict(kw, endpoint_url='{}'))
items = []
for page in ddb.get_paginator('scan').paginate(TableName='bw-alerts'):
    items += [i for i in page['Items'] if i['sk']['S'] == 'A']
print(json.dumps([{{'id': i['alert_id']['S'], 'rule': i['rule_id']['S'], 'dedup': i['dedup']['S'],
    'events': int(i['event_count']['N'])}} for i in items]))
"#,
            dynamo.endpoint()
        ),
    ))
    .unwrap();
    let insecure: Vec<&serde_json::Value> =
        alerts.iter().filter(|a| a["rule"] == INSECURE).collect();
    assert_eq!(insecure.len(), OBJECTS - SHARED + 1, "{alerts:#?}");
    let shared: Vec<&&serde_json::Value> = insecure
        .iter()
        .filter(|a| a["dedup"].as_str().unwrap().contains("user/shared"))
        .collect();
    assert_eq!(shared.len(), 1, "{insecure:#?}");
    assert_eq!(shared[0]["events"], SHARED as u64);
    let all_alerts: BTreeSet<String> = alerts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    wait_until(
        "every alert delivered",
        Duration::from_secs(60),
        &log_text,
        &mut || delivered_alerts(&sink) == all_alerts,
    );
    for worker in workers {
        let status = worker.stop();
        assert!(status.success(), "exit {status:?}\n{}", log_text());
    }
    for log in &logs {
        let text = std::fs::read_to_string(log).unwrap();
        assert!(
            text.lines()
                .any(|l| l.contains("batch: ") && !l.contains(" 0 records")),
            "a worker committed nothing, so the test did not share work:\n{}",
            log_text()
        );
    }
    assert_every_record_once(&data, OBJECTS, LINES);
    assert_one_delivery_id_per_alert(&sink, &all_alerts);
}

/// The service scans at start (the baseline), then rescans a bucket when an ingested
/// CloudTrail event shows its configuration changing; the new failure is alerted and delivered.
#[test]
fn a_configuration_change_in_cloudtrail_rescans_the_bucket_and_alerts_the_new_failure() {
    let moto = Moto::start();
    boto3(
        &moto,
        r#"
for b in ['watched', 'other']:
    s3.create_bucket(Bucket=b)
s3.put_bucket_versioning(Bucket='watched', VersioningConfiguration={'Status': 'Enabled'})
"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let drop = dir.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    let sink = WebhookSink::start();
    let config = dir.path().join("bucketwatch.toml");
    std::fs::write(
        &config,
        format!(
            r#"
content = ["{content}"]
[[sources]]
id = "trail"
kind = "directory"
path = "{drop}"
poll_interval_secs = 1
[scan]
buckets = ["watched", "other"]
[metrics]
enabled = false
[delivery]
poll_interval_ms = 100
[[delivery.destinations]]
id = "hook"
kind = "webhook"
url = "{hook}"
"#,
            content = repo().join("content").display(),
            drop = drop.display(),
            hook = sink.url(),
        ),
    )
    .unwrap();
    let log = dir.path().join("service.log");
    let service = Service::start(&moto, &config, &data, log.clone());
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until(
        "the baseline scan",
        Duration::from_secs(120),
        &log_text,
        &mut || log_text().contains("(the baseline)"),
    );

    boto3(
        &moto,
        "s3.put_bucket_versioning(Bucket='watched', VersioningConfiguration={'Status': 'Suspended'})",
    );
    let trail = serde_json::json!({"Records": [{
        "eventVersion": "1.09", "eventSource": "s3.amazonaws.com",
        "eventName": "PutBucketVersioning", "eventTime": "2026-11-28T07:00:00Z",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.15",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/mallory",
            "accountId": "123456789012", "principalId": "AIDAEXAMPLE"},
        "requestParameters": {"bucketName": "watched", "Host": "watched.s3.amazonaws.com",
            "VersioningConfiguration": {"Status": "Suspended"}},
        "responseElements": null, "eventID": "9b2c1d5e-0000-4000-8000-000000000001",
        "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": "123456789012", "eventCategory": "Management"
    }]});
    std::fs::write(drop.join("trail.json"), trail.to_string()).unwrap();

    let versioning_alert = || {
        sink.received().into_iter().find(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            body["id"] == "AWS.S3.Bucket.Versioning"
        })
    };
    wait_until(
        "the new failure's alert at the webhook",
        Duration::from_secs(120),
        &log_text,
        &mut || versioning_alert().is_some(),
    );
    let body: serde_json::Value =
        serde_json::from_slice(&versioning_alert().unwrap().body).unwrap();
    assert_eq!(body["dedup"], "arn:aws:s3:::watched", "{body:#}");
    let status = service.stop();
    assert!(status.success(), "exit {status:?}\n{}", log_text());
    assert!(
        log_text().contains("rescan scan") && log_text().contains(" of watched"),
        "{}",
        log_text()
    );
    // The posture alert for the new failure and the detection of the same CloudTrail event;
    // the other bucket's standing failures are the baseline's and alert nothing.
    let alerted: BTreeSet<String> = sink
        .received()
        .iter()
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            format!(
                "{} {}",
                body["id"].as_str().unwrap(),
                body["dedup"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        alerted,
        BTreeSet::from([
            "AWS.S3.Bucket.Versioning arn:aws:s3:::watched".to_string(),
            "BucketWatch.CloudTrail.S3.VersioningSuspended 123456789012:watched".to_string(),
        ])
    );
    let rows = query(
        &data,
        "SELECT status FROM cloudsecurity.compliance WHERE resource_id = 'arn:aws:s3:::watched' \
         AND policy_id = 'AWS.S3.Bucket.Versioning' ORDER BY scan_time",
    );
    assert_eq!(rows, [["pass"], ["fail"]]);
}
