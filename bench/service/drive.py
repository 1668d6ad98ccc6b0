#!/usr/bin/env python3
"""Driver of the service benchmark (bench/run-service.sh): moto, the service, uploads, timing.

Runs, in one process and one session:

1. moto_server (from this interpreter's virtualenv) on 127.0.0.1 at a free port; a bucket whose
   ObjectCreated notifications go straight to an SQS queue; a webhook listener (http.server in a
   thread) that records when each alert arrives.
2. `bucketwatch run --config bucketwatch.toml` (an sqs source, the webhook destination, metrics
   on a free port, the repository's content) with the moto environment.
3. Streaming throughput: uploads the objects of --input (PutObject, --upload-threads at a time,
   under access/) and polls /metrics until
   bucketwatch_lake_rows_total{table="logs.aws_s3serveraccess"} has grown by the number of
   lines: events/s from the first PutObject to that moment.
3b. Landed throughput (unless --no-landed): the same files again under landed/, whose
   notifications go to a queue the service does not read; once all are uploaded, they are moved
   to the service's queue at once: events/s from that moment until the rows are committed, with
   no upload in the clock.
4. Latency: --latency-objects objects of one plain-HTTP access-log line each (a distinct
   requester each, so each is a new BucketWatch.S3Access.InsecureTransport alert), one every
   --latency-gap seconds: PutObject start -> webhook receive time per alert.
5. Peak RSS of the service (VmHWM of /proc/PID/status) just before SIGTERM; the exit status.
6. `bucketwatch ingest` of the same files from the local folder (moto stopped), timed.

Figures go to --results as shell assignments (KEY=value, read by run-service.sh); progress to
stderr. Standard library and boto3 only. Exit status 0 when every phase completed, 1 otherwise
(the results file then holds what was measured and ERROR=...).
"""

import argparse
import concurrent.futures
import importlib.metadata
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
from botocore.config import Config

INSECURE = "BucketWatch.S3Access.InsecureTransport"
LOGS_TABLE = "logs.aws_s3serveraccess"
BUCKET = "bench-logs"
QUEUE = "bench-notifications"
SOURCE_ID = "bench"
ACCOUNT = "123456789012"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message):
    print(f"run-service: {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a live process, in seconds (None when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kb(pid, key):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


# ---------------------------------------------------------------------------------------------
# Webhook destination.


class Deliveries:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = []  # (monotonic receive time, payload dict)
        self.bad = 0

    def add(self, t, payload):
        with self.lock:
            self.items.append((t, payload))

    def snapshot(self):
        with self.lock:
            return list(self.items)


def start_webhook(deliveries):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            t = time.monotonic()
            try:
                deliveries.add(t, json.loads(body))
            except ValueError:
                with deliveries.lock:
                    deliveries.bad += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ---------------------------------------------------------------------------------------------
# Metrics.

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def scrape(port, timeout=5):
    """{(name, labels): value} from the service's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and not line.startswith("#"):
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def metric(samples, name, labels=""):
    return samples.get((name, labels), 0.0)


def logs_rows(samples):
    return metric(samples, "bucketwatch_lake_rows_total", f'{{table="{LOGS_TABLE}"}}')


# ---------------------------------------------------------------------------------------------


def plain_http_line(requester, k):
    """One REST.GET.OBJECT access-log line without TLS (ciphersuite and tlsVersion `-`)."""
    now = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
    return (
        f"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be {BUCKET} [{now}] "
        f"10.0.0.{k % 200 + 1} {requester} LAT{k:013d} REST.GET.OBJECT data/{k}.csv "
        f'"GET /{BUCKET}/data/{k}.csv HTTP/1.1" 200 - 512 1024 10 9 "-" "aws-cli/2.15" - '
        f"hostid{k} SigV4 - AuthHeader {BUCKET}.s3.amazonaws.com - - -\n"
    )


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = Path(args.work)
        self.results = {}
        self.procs = []
        self.service = None

    def put(self, key, value):
        self.results[key] = value

    def write_results(self):
        with open(self.args.results, "w") as f:
            for k, v in self.results.items():
                if isinstance(v, float):
                    v = f"{v:.6g}" if abs(v) < 1e6 else f"{v:.0f}"
                f.write(f"{k}={shlex.quote(str(v))}\n")

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **kw)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.kill()
                p.wait()

    # -----------------------------------------------------------------------------------------

    def start_moto(self):
        port = free_port()
        venv_bin = Path(sys.executable).parent
        moto_server = venv_bin / "moto_server"
        if not moto_server.exists():
            raise RuntimeError(f"{moto_server} missing: run this driver with the test venv's python")
        self.moto_log = open(self.work / "moto.log", "wb")
        self.moto = self.spawn(
            [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
            stdout=self.moto_log,
            stderr=subprocess.STDOUT,
        )
        self.endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if self.moto.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.moto.returncode}; see {self.work / 'moto.log'}")
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not answer within 60 s")
                time.sleep(0.1)
        self.put("MOTO_VERSION", importlib.metadata.version("moto"))
        self.put("BOTO3_VERSION", boto3.__version__)
        log(f"moto_server {self.results['MOTO_VERSION']} at {self.endpoint} (pid {self.moto.pid})")
        kw = dict(
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            # No CRC32 of every upload in Python: moto does not need it and it would slow the
            # uploader, which shares the machine with the service.
            config=Config(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                max_pool_connections=max(10, self.args.upload_threads * 2),
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )
        self.s3 = boto3.client("s3", **kw)
        self.sqs = boto3.client("sqs", **kw)
        self.s3.create_bucket(Bucket=BUCKET)
        self.queue_url = self.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        self.hold_url = self.sqs.create_queue(QueueName=QUEUE + "-held")["QueueUrl"]

        def arn(url):
            return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]

        def to(url, prefix):
            return {
                "QueueArn": arn(url),
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
            }

        # access/ goes to the service's queue; landed/ to a queue the service does not read,
        # whose messages the "landed" phase moves over at once. The test event S3 sends when
        # notifications are configured is acknowledged and ignored by the service.
        self.s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={
                "QueueConfigurations": [to(self.queue_url, "access/"), to(self.hold_url, "landed/")]
            },
        )

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_REGION="us-east-1",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
            BUCKETWATCH_DATA_DIR=str(self.work / "data"),
            RUST_LOG=env.get("RUST_LOG", "info"),
        )
        env.pop("BUCKETWATCH_SETTINGS", None)
        return env

    def start_service(self):
        self.deliveries = Deliveries()
        self.webhook = start_webhook(self.deliveries)
        self.metrics_port = free_port()
        config = self.work / "bucketwatch.toml"
        text = f"""# Written by bench/service/drive.py
content = [{json.dumps(str(Path(self.args.content).resolve()))}]

[[sources]]
id = "{SOURCE_ID}"
kind = "sqs"
queue_url = "{self.queue_url}"
wait_time_secs = 1
prefixes = {{ "{BUCKET}/" = "AWS.S3ServerAccess" }}

[metrics]
listen = "127.0.0.1:{self.metrics_port}"

[[delivery.destinations]]
id = "bench-hook"
kind = "webhook"
url = "http://127.0.0.1:{self.webhook.server_address[1]}/alerts"
"""
        if self.args.config_extra:
            text += "\n# SERVICE_CONFIG_EXTRA\n" + self.args.config_extra.replace("\\n", "\n") + "\n"
        config.write_text(text)
        argv = [self.args.bucketwatch, "run", "--config", str(config)]
        self.put("SERVICE_CMD", " ".join(shlex.quote(a) for a in argv))
        self.service_log_path = self.work / "service.log"
        self.service_log = open(self.service_log_path, "wb")
        t0 = time.monotonic()
        self.service = self.spawn(
            argv, env=self.env(), cwd=self.work, stdout=subprocess.DEVNULL, stderr=self.service_log
        )
        deadline = t0 + self.args.start_timeout
        while True:
            if self.service.poll() is not None:
                raise RuntimeError(
                    f"bucketwatch run exited with {self.service.returncode} at start:\n{self.log_tail()}"
                )
            try:
                scrape(self.metrics_port, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"no /metrics answer within {self.args.start_timeout} s:\n{self.log_tail()}"
                    )
                time.sleep(0.2)
        start = time.monotonic() - t0
        self.put("START_S", round(start, 2))
        log(f"service up in {start:.1f} s (pid {self.service.pid}, metrics :{self.metrics_port})")
        # Let the S3 test event and the first long polls pass before timing anything.
        time.sleep(2)

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.service_log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def alive(self):
        if self.service.poll() is not None:
            raise RuntimeError(f"bucketwatch run exited with {self.service.returncode}:\n{self.log_tail()}")

    # -----------------------------------------------------------------------------------------

    def wait_rows(self, target, t0, what, progress=None, check=None):
        """Polls /metrics until the access-log table has `target` rows; returns that moment
        and the moment the first new rows showed (None when none did)."""
        base = logs_rows(scrape(self.metrics_port))
        t_first_rows = None
        deadline = t0 + self.args.timeout
        polls = 0
        while True:
            self.alive()
            if check:
                check()
            try:
                rows = logs_rows(scrape(self.metrics_port))
            except OSError as e:
                log(f"metrics: {e}")
                rows = None
            now = time.monotonic()
            if rows is not None:
                polls += 1
                if rows > base and t_first_rows is None:
                    t_first_rows = now
                if rows >= target:
                    return now, t_first_rows
                if polls % 50 == 0:
                    log(f"  {what}: {now - t0:6.1f} s, {rows:.0f}/{target} rows committed{progress() if progress else ''}")
            if now > deadline:
                raise RuntimeError(
                    f"{what}: {rows} of {target} rows committed after {self.args.timeout} s:\n{self.log_tail()}"
                )
            time.sleep(self.args.poll)

    def cpu(self):
        return (cpu_seconds(self.service.pid), cpu_seconds(self.moto.pid), time.process_time())

    def put_cpu(self, prefix, before, after):
        for i, who in enumerate(["SERVICE", "MOTO", "DRIVER"]):
            if before[i] is not None and after[i] is not None:
                self.put(f"{prefix}_CPU_{who}_S", round(after[i] - before[i], 2))

    def upload_all(self, prefix, files):
        """PutObject of every file under prefix, upload_threads at a time; returns
        [(start, end)] per file."""

        def upload(path):
            body = path.read_bytes()
            a = time.monotonic()
            self.s3.put_object(Bucket=BUCKET, Key=f"{prefix}{path.name}", Body=body)
            return a, time.monotonic()

        with concurrent.futures.ThreadPoolExecutor(self.args.upload_threads) as pool:
            return list(pool.map(upload, files))

    def throughput(self):
        """Objects uploaded while the service runs: first PutObject -> every row committed."""
        files = self.files
        events = self.args.events
        log(f"streaming: {len(files)} objects, {events} events, {self.input_bytes / 2**20:.0f} MiB, uploaded while the service reads")
        target = logs_rows(scrape(self.metrics_port)) + events
        cpu0 = self.cpu()
        t0 = time.monotonic()
        times = []
        failure = []

        def uploads():
            try:
                times.extend(self.upload_all("access/", files))
            except Exception as e:  # noqa: BLE001 - raised in the main thread by check()
                failure.append(e)

        uploader = threading.Thread(target=uploads)
        uploader.start()

        def progress():
            return "" if uploader.is_alive() else ", uploads done"

        def check():
            if failure:
                raise RuntimeError(f"PutObject failed: {failure[0]}")

        try:
            t_done, t_first_rows = self.wait_rows(target, t0, "streaming", progress, check)
        finally:
            uploader.join()
        check()
        cpu1 = self.cpu()
        t_uploaded = max(b for _, b in times)
        elapsed = t_done - t0
        self.put("UPLOAD_S", round(t_uploaded - t0, 3))
        self.put("UPLOAD_MBS", round(self.input_bytes / 2**20 / (t_uploaded - t0), 1))
        self.put("FIRST_ROWS_S", round(t_first_rows - t0, 3) if t_first_rows else "")
        self.put_cpu("STREAM", cpu0, cpu1)
        self.put("THROUGHPUT_S", round(elapsed, 3))
        self.put("EVENTS_PER_S", round(events / elapsed))
        self.put("TAIL_S", round(t_done - t_uploaded, 3))
        self.snapshot_counters()
        log(
            f"streaming: {events} events in {elapsed:.2f} s = {events / elapsed:.0f} events/s "
            f"(uploads took {t_uploaded - t0:.2f} s; last commit {t_done - t_uploaded:.2f} s after the last upload)"
        )

    def landed(self):
        """Objects already in S3, their notifications held in another queue and then moved to
        the service's queue at once: forwarding -> every row committed. No upload in the clock."""
        files = self.files
        events = self.args.events
        log(f"landed: uploading the same {len(files)} objects under landed/ (notifications held back)")
        times = self.upload_all("landed/", files)
        self.put("LANDED_UPLOAD_S", round(max(b for _, b in times) - min(a for a, _ in times), 3))
        bodies = []
        deadline = time.monotonic() + 60
        while len(bodies) < len(files):
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(bodies)} of {len(files)} notifications in the holding queue")
            got = self.sqs.receive_message(QueueUrl=self.hold_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for m in got.get("Messages", []):
                if '"Records"' in m["Body"]:
                    bodies.append(m["Body"])
                self.sqs.delete_message(QueueUrl=self.hold_url, ReceiptHandle=m["ReceiptHandle"])
        target = logs_rows(scrape(self.metrics_port)) + events
        cpu0 = self.cpu()
        t0 = time.monotonic()
        for i in range(0, len(bodies), 10):
            self.sqs.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(j), "MessageBody": b} for j, b in enumerate(bodies[i : i + 10])],
            )
        self.put("LANDED_FORWARD_S", round(time.monotonic() - t0, 3))
        t_done, t_first_rows = self.wait_rows(target, t0, "landed")
        cpu1 = self.cpu()
        elapsed = t_done - t0
        self.put("LANDED_S", round(elapsed, 3))
        self.put("LANDED_EVENTS_PER_S", round(events / elapsed))
        self.put("LANDED_FIRST_ROWS_S", round(t_first_rows - t0, 3) if t_first_rows else "")
        self.put_cpu("LANDED", cpu0, cpu1)
        log(f"landed: {events} events in {elapsed:.2f} s = {events / elapsed:.0f} events/s")

    def snapshot_counters(self):
        samples = scrape(self.metrics_port)
        self.put("ROWS_COMMITTED", int(logs_rows(samples)))
        self.put("EVENTS_IN", int(metric(samples, "bucketwatch_events_in_total", '{log_type="AWS.S3ServerAccess"}')))
        self.put("COMMITS", int(metric(samples, "bucketwatch_lake_commit_seconds_count")))
        self.put("COMMIT_SUM_S", round(metric(samples, "bucketwatch_lake_commit_seconds_sum"), 3))
        self.put("ALERTS_CREATED", int(metric(samples, "bucketwatch_alerts_total")))
        self.put("RULE_MATCHES", int(metric(samples, "bucketwatch_rule_matches_total")))
        self.put("RULE_ERRORS", int(metric(samples, "bucketwatch_rule_errors_total")))
        self.put("CLASSIFICATION_FAILURES", int(metric(samples, "bucketwatch_classification_failures_total")))

    def latency(self):
        k_total = self.args.latency_objects
        if k_total == 0:
            return
        run = os.getpid()
        log(f"latency: {k_total} single-line objects, one every {self.args.latency_gap} s")
        puts = {}
        for k in range(k_total):
            self.alive()
            requester = f"arn:aws:iam::{ACCOUNT}:user/bench-latency-{run}-{k:03d}"
            body = plain_http_line(requester, k).encode()
            t = time.monotonic()
            self.s3.put_object(Bucket=BUCKET, Key=f"access/latency/{k:03d}.log", Body=body)
            puts[requester] = t
            time.sleep(self.args.latency_gap)
        deadline = time.monotonic() + self.args.latency_timeout
        received = {}
        while time.monotonic() < deadline:
            for t, payload in self.deliveries.snapshot():
                context = payload.get("alertContext") or {}
                requester = context.get("requester")
                if payload.get("id") == INSECURE and requester in puts and requester not in received:
                    received[requester] = t
            if len(received) == len(puts):
                break
            time.sleep(0.2)
        latencies = [received[r] - puts[r] for r in puts if r in received]
        self.put("LATENCY_SENT", k_total)
        self.put("LATENCY_RECEIVED", len(latencies))
        if latencies:
            self.put("LATENCY_P50_S", round(percentile(latencies, 50), 3))
            self.put("LATENCY_P99_S", round(percentile(latencies, 99), 3))
            self.put("LATENCY_MIN_S", round(min(latencies), 3))
            self.put("LATENCY_MAX_S", round(max(latencies), 3))
            log(
                f"latency: {len(latencies)}/{k_total} alerts, p50 {percentile(latencies, 50):.3f} s, "
                f"p99 {percentile(latencies, 99):.3f} s"
            )
        if len(latencies) < k_total:
            raise RuntimeError(
                f"only {len(latencies)} of {k_total} latency alerts reached the webhook within "
                f"{self.args.latency_timeout} s of the last upload:\n{self.log_tail()}"
            )

    def stop_service(self):
        pid = self.service.pid
        self.put("PEAK_RSS_KB", proc_status_kb(pid, "VmHWM") or "")
        self.put("RSS_AT_END_KB", proc_status_kb(pid, "VmRSS") or "")
        self.put("THREADS", proc_status_kb(pid, "Threads") or "")
        samples = scrape(self.metrics_port)
        self.put("ALERTS_TOTAL", int(metric(samples, "bucketwatch_alerts_total")))
        deliveries = self.deliveries.snapshot()
        self.put("WEBHOOK_DELIVERIES", len(deliveries))
        self.put("WEBHOOK_ALERTS", len({p.get("alertId") for _, p in deliveries}))
        with open(self.work / "metrics.txt", "w") as f:
            for (name, labels), v in sorted(samples.items()):
                f.write(f"{name}{labels} {v:g}\n")
        self.service.send_signal(signal.SIGTERM)
        t = time.monotonic()
        try:
            code = self.service.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.service.kill()
            code = "no exit within 120 s of SIGTERM"
        self.put("STOP_S", round(time.monotonic() - t, 2))
        self.put("EXIT", code)
        text = self.service_log_path.read_text(errors="replace")
        m = re.search(r"stopped after (\d+) batches: (\d+) objects, (\d+) records, (\d+) alerts created", text)
        if m:
            self.put("BATCHES", int(m.group(1)))
            self.put("SERVICE_OBJECTS_DONE", int(m.group(2)))
            self.put("SERVICE_RECORDS", int(m.group(3)))
        self.put("LOG_ERRORS", len(re.findall(r"\bERROR\b", text)))
        self.put("LOG_WARNINGS", len(re.findall(r"\bWARN\b", text)))
        log(f"service stopped: exit {code}, peak RSS {self.results['PEAK_RSS_KB']} kB")

    def stop_moto(self):
        self.moto.terminate()
        try:
            self.moto.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.moto.kill()
            self.moto.wait()

    def ingest_reference(self):
        data = self.work / "ingest-data"
        argv = [
            self.args.bucketwatch, "ingest", "--data-dir", str(data), "--content",
            str(Path(self.args.content).resolve()), "--log-type", "AWS.S3ServerAccess",
            "--source-id", SOURCE_ID, str(Path(self.args.input).resolve()),
        ]
        self.put("INGEST_CMD", " ".join(shlex.quote(a) for a in argv))
        log("reference: bucketwatch ingest of the same files from the local folder")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.pop("BUCKETWATCH_SETTINGS", None)
        env.pop("BUCKETWATCH_DATA_DIR", None)
        with open(self.work / "ingest.log", "wb") as err:
            t = time.monotonic()
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=self.work)
            _, status, usage = os.wait4(p.pid, 0)
            elapsed = time.monotonic() - t
            p.returncode = os.waitstatus_to_exitcode(status)
        self.put("INGEST_EXIT", p.returncode)
        self.put("INGEST_S", round(elapsed, 3))
        self.put("INGEST_EVENTS_PER_S", round(self.args.events / elapsed))
        self.put("INGEST_RSS_KB", usage.ru_maxrss)
        log(f"reference: {elapsed:.2f} s = {self.args.events / elapsed:.0f} events/s, exit {p.returncode}")
        if p.returncode != 0:
            raise RuntimeError(f"bucketwatch ingest exited with {p.returncode}; see {self.work / 'ingest.log'}")

    def run(self):
        try:
            self.start_moto()
            self.start_service()
            self.files = sorted(Path(self.args.input).glob("*.log"))
            if not self.files:
                raise RuntimeError(f"no *.log files in {self.args.input}")
            self.input_bytes = sum(f.stat().st_size for f in self.files)
            self.put("OBJECTS", len(self.files))
            self.put("EVENTS", self.args.events)
            self.put("INPUT_BYTES", self.input_bytes)
            self.throughput()
            if self.args.landed:
                self.landed()
            self.latency()
            self.stop_service()
            self.stop_moto()
            if self.args.ingest:
                self.ingest_reference()
            return 0
        except Exception as e:  # noqa: BLE001 - reported, and the processes are stopped
            log(f"error: {e}")
            self.put("ERROR", (str(e).splitlines() or [repr(e)])[0].rstrip(":"))
            return 1
        finally:
            self.stop_all()
            self.write_results()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bucketwatch", required=True)
    p.add_argument("--content", required=True)
    p.add_argument("--input", required=True, help="folder of *.log access-log objects")
    p.add_argument("--events", type=int, required=True, help="lines in those files")
    p.add_argument("--work", required=True, help="scratch folder (data dir, logs, config)")
    p.add_argument("--results", required=True)
    p.add_argument("--upload-threads", type=int, default=2)
    p.add_argument("--latency-objects", type=int, default=50)
    p.add_argument("--latency-gap", type=float, default=0.5)
    p.add_argument("--latency-timeout", type=float, default=60)
    p.add_argument("--timeout", type=float, default=1800, help="throughput phase limit, s")
    p.add_argument("--start-timeout", type=float, default=180)
    p.add_argument("--poll", type=float, default=0.1, help="seconds between /metrics polls")
    p.add_argument("--config-extra", default="", help="TOML appended to bucketwatch.toml")
    p.add_argument("--no-ingest", dest="ingest", action="store_false")
    p.add_argument("--no-landed", dest="landed", action="store_false")
    args = p.parse_args()
    Path(args.work).mkdir(parents=True, exist_ok=True)
    sys.exit(Bench(args).run())


if __name__ == "__main__":
    main()
