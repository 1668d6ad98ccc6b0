//! A day of S3 server access logs and CloudTrail for a small, made-up AWS account, with attacks
//! woven into ordinary traffic: the input of `bucketwatch demo`.
//!
//! Owns: the scenario (buckets, principals, networks and the detection settings that describe
//! them), the background traffic, the attacks with the built-in rules each one is meant to
//! raise, and the log objects as S3 and CloudTrail deliver them (keys, batching, gzip for
//! CloudTrail). Deterministic: the same day and seed give the same bytes.
//!
//! Must not touch: files, parsing or detection. The demo job writes these objects and runs the
//! real pipeline over them, so nothing here decides what is detected.
//!
//! Background traffic is shaped to stay below every built-in rule. Alert grouping counts in
//! processing time, and the whole day is ingested within seconds, so a rule's threshold applies
//! to the day's total for each group: background has fewer than 5 object errors per client, no
//! download of 10 MiB or more, fewer than 50 deletions per principal and bucket, and every
//! authenticated client inside the approved network, over TLS.

use std::io::Write;

use bucketwatch_core::{LogType, Timestamp};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Map, Value, json};

pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "us-east-1";
/// Canonical user id of the account, as access logs name the bucket owner.
const OWNER: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

/// The static website: public on purpose, listed in `public_buckets`.
pub const WEB_ASSETS: &str = "acme-web-assets";
/// Application data: only the app and the pipeline roles may touch objects here.
pub const APP_DATA: &str = "acme-app-data";
/// Nightly database backups.
pub const BACKUPS: &str = "acme-backups";
/// Where the trail delivers CloudTrail logs (`cloudtrail.log_buckets`).
pub const TRAIL_BUCKET: &str = "acme-cloudtrail";
/// Where the three other buckets and the trail bucket deliver their server access logs.
pub const ACCESS_LOG_BUCKET: &str = "acme-access-logs";

/// The approved network: offices, VPN and VPCs.
pub const APPROVED_CIDR: &str = "10.0.0.0/8";
/// The address the leaked pipeline session is used from (outside the approved network).
pub const OUTSIDE_IP: &str = "203.0.113.50";
/// The compromised backup host: logging disabled, SSE-C rewrite and deletions come from here.
pub const RANSOMWARE_IP: &str = "10.0.5.77";
/// The principal that exfiltrates `acme-app-data`.
pub const EXFIL_ROLE: &str = "analytics-readonly";

/// Rule ids of the built-in rules the attacks raise.
pub mod rules {
    pub const ENUMERATION: &str = "BucketWatch.S3Access.AccessDeniedEnumeration";
    pub const UNKNOWN_REQUESTER: &str = "BucketWatch.S3Access.UnknownRequester";
    pub const LARGE_DOWNLOADS: &str = "BucketWatch.S3Access.LargeDownloadVolume";
    pub const INSECURE_TRANSPORT: &str = "BucketWatch.S3Access.InsecureTransport";
    pub const OUTSIDE_NETWORKS: &str = "BucketWatch.S3Access.OutsideApprovedNetworks";
    pub const MADE_PUBLIC: &str = "BucketWatch.CloudTrail.S3.BucketMadePublic";
    pub const LOGGING_DISABLED: &str = "BucketWatch.CloudTrail.S3.LoggingDisabled";
    pub const SSE_C_REWRITE: &str = "BucketWatch.CloudTrail.S3.SseCRewrite";
    pub const MASS_DELETION: &str = "BucketWatch.CloudTrail.S3.MassObjectDeletion";
}

/// One attack woven into the day, and the rules meant to catch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attack {
    pub name: &'static str,
    /// What happens, in one sentence.
    pub story: &'static str,
    pub rules: &'static [&'static str],
}

/// Every attack of the scenario, in the order they happen during the day.
pub const ATTACKS: &[Attack] = &[
    Attack {
        name: "enumeration",
        story: "02:14 a build runner's ci-deployer key probes 24 keys and listings across three \
                buckets and is denied every time",
        rules: &[rules::ENUMERATION],
    },
    Attack {
        name: "exfiltration by an unknown requester",
        story: "03:31 the analytics-readonly role, not approved for acme-app-data, downloads 30 \
                customer exports of 24-96 MiB each",
        rules: &[rules::UNKNOWN_REQUESTER, rules::LARGE_DOWNLOADS],
    },
    Attack {
        name: "plain-HTTP access",
        story: "09:12 a legacy app server uploads to acme-app-data over http://, without TLS",
        rules: &[rules::INSECURE_TRANSPORT],
    },
    Attack {
        name: "access from outside the approved networks",
        story: "11:05 a data-pipeline session is used from 203.0.113.50, outside 10.0.0.0/8",
        rules: &[rules::OUTSIDE_NETWORKS],
    },
    Attack {
        name: "bucket made public",
        story: "14:20 a contractor's admin session gives everyone s3:GetObject on acme-app-data",
        rules: &[rules::MADE_PUBLIC],
    },
    Attack {
        name: "logging disabled",
        story: "20:50 the svc-backup key turns off server access logging for acme-backups",
        rules: &[rules::LOGGING_DISABLED],
    },
    Attack {
        name: "SSE-C rewrite",
        story: "21:40 the same key copies 14 backups onto themselves under its own SSE-C key",
        rules: &[rules::SSE_C_REWRITE],
    },
    Attack {
        name: "ransomware-style deletion",
        story: "22:05 the same key deletes 60 backups one by one",
        rules: &[rules::MASS_DELETION],
    },
];

/// The detection settings that describe this account (the `bucketwatch_settings.toml` the demo
/// runs with).
pub const SETTINGS_TOML: &str = r#"# Settings of bucketwatch's built-in detections for the demo account (written by bucketwatch demo).
# The real file is content/bucketwatch_settings.toml; BUCKETWATCH_SETTINGS points rules at this one.

# Offices, VPN and VPCs of the demo account.
approved_cidrs = ["10.0.0.0/8"]

# The static website is public on purpose.
public_buckets = ["acme-web-assets"]

watched_buckets = []

[bucket_role_mapping]
"acme-app-data" = [
  "arn:aws:sts::111122223333:assumed-role/app-server/*",
  "arn:aws:sts::111122223333:assumed-role/data-pipeline/*",
]

[accounts]
trusted = ["111122223333"]

[cloudtrail]
log_buckets = ["acme-cloudtrail"]
min_retention_days = 365

[exfiltration]
large_object_bytes = 10485760

[ransomware]
note_patterns = [
  "*readme*decrypt*", "*decrypt*instructions*", "*how*to*recover*", "*restore*files*",
  "*files*deleted*", "*ransom*", "*recover*your*data*", "*your*files*are*encrypted*",
]
"#;

const MIB: u64 = 1024 * 1024;
const DAY_SECS: i64 = 86_400;

/// Which day to generate and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub seed: u64,
}

/// One log object, as it would sit in its log bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogObject {
    /// `<log bucket>/<key>`, S3's own layout for the log type.
    pub path: String,
    pub log_type: LogType,
    pub records: usize,
    /// The object's bytes: gzip for CloudTrail, plain text for access logs, as AWS delivers them.
    pub bytes: Vec<u8>,
}

impl Scenario {
    /// The day before `now` (UTC): the generated day is complete, and recent enough for
    /// `p_occurs_since('2 days')`.
    pub fn yesterday(now: Timestamp, seed: u64) -> Scenario {
        Scenario {
            day: now.unix_seconds().div_euclid(DAY_SECS) - 1,
            seed,
        }
    }

    /// `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        civil(self.day * DAY_SECS)[..10].to_string()
    }

    pub fn generate(&self) -> Vec<LogObject> {
        let mut day = Day::new(self);
        day.background();
        day.attacks();
        day.into_objects()
    }
}

/// splitmix64: small, fast and good enough to make traffic look varied; fixed by the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    fn token(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len).map(|_| char::from(*self.pick(alphabet))).collect()
    }

    fn upper(&mut self, len: usize) -> String {
        self.token(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", len)
    }

    fn hex(&mut self, len: usize) -> String {
        self.token(b"0123456789abcdef", len)
    }

    fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.hex(4),
            self.hex(12)
        )
    }
}

/// A stable id for a name (IAM role and user ids do not change between sessions).
fn stable_id(prefix: &str, name: &str) -> String {
    let mut rng = Rng(name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }));
    format!(
        "{prefix}{}",
        rng.token(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17)
    )
}

/// Someone making requests: the requester of access logs and the userIdentity of CloudTrail.
#[derive(Clone)]
struct Principal {
    arn: String,
    ip: String,
    user_agent: String,
    identity: Value,
}

impl Principal {
    fn role(rng: &mut Rng, role: &str, session: &str, ip: &str, user_agent: &str) -> Principal {
        let role_id = stable_id("AROA", role);
        let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}");
        let identity = json!({
            "type": "AssumedRole",
            "principalId": format!("{role_id}:{session}"),
            "arn": arn,
            "accountId": ACCOUNT,
            "accessKeyId": format!("ASIA{}", rng.upper(16)),
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
                    "accountId": ACCOUNT,
                    "userName": role,
                },
                "attributes": {"creationDate": "", "mfaAuthenticated": "false"},
            },
        });
        Principal {
            arn,
            ip: ip.to_string(),
            user_agent: user_agent.to_string(),
            identity,
        }
    }

    fn user(rng: &mut Rng, name: &str, ip: &str, user_agent: &str) -> Principal {
        let arn = format!("arn:aws:iam::{ACCOUNT}:user/{name}");
        let identity = json!({
            "type": "IAMUser",
            "principalId": stable_id("AIDA", name),
            "arn": arn,
            "accountId": ACCOUNT,
            "accessKeyId": format!("AKIA{}", rng.upper(16)),
            "userName": name,
        });
        Principal {
            arn,
            ip: ip.to_string(),
            user_agent: user_agent.to_string(),
            identity,
        }
    }

    /// An AWS service acting through its service-linked role: CloudTrail names the service
    /// instead of an address.
    fn service(rng: &mut Rng, role: &str, service: &str) -> Principal {
        let session = format!("{role}-{}", rng.hex(8));
        let mut p = Principal::role(rng, role, &session, service, service);
        p.identity["invokedBy"] = json!(service);
        p
    }
}

const SDK_JAVA: &str = "aws-sdk-java/2.25.6 Linux/5.10.214 OpenJDK_64-Bit_Server_VM/17.0.10 \
                        vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/standard";
const AWS_CLI: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2023 \
                       prompt/off command/s3.cp";
const AWS_CLI_SYNC: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.ubuntu.22 \
                            prompt/off command/s3.sync";
const BOTO3: &str = "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#6.1.79 md/arch#x86_64 \
                     lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.51";
const CONSOLE: &str = "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.660 \
                       Linux/5.10.213 OpenJDK_64-Bit_Server_VM/25.402-b08 java/1.8.0_402]";
const TERRAFORM: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) \
                         terraform-provider-aws/5.40.0 aws-sdk-go-v2/1.25.2 os/linux lang/go#1.21.8";
const PHP_SDK: &str = "aws-sdk-php/3.300.8 OS/Linux/4.14.336 lang/php#7.4.33 GuzzleHttp/7";
const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
     Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3_1) AppleWebKit/605.1.15 (KHTML, like Gecko) \
     Version/17.3.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like \
     Gecko) Version/17.3.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
     Chrome/122.0.6261.105 Mobile Safari/537.36",
];
/// Static site files and their sizes; all small.
const SITE_FILES: &[(&str, u64)] = &[
    ("index.html", 18_342),
    ("about/index.html", 9_127),
    ("pricing/index.html", 12_905),
    ("assets/app.4f9c2e.js", 412_088),
    ("assets/vendor.91ab07.js", 1_208_331),
    ("assets/site.7d21c3.css", 88_410),
    ("img/hero.webp", 642_117),
    ("img/logo.svg", 7_410),
    ("img/team.jpg", 1_733_902),
    ("fonts/inter-var.woff2", 317_504),
];
const TABLES: &[&str] = &[
    "customers",
    "orders",
    "invoices",
    "payments",
    "products",
    "shipments",
    "sessions",
    "audit_events",
];

/// Relative weights of the hours of the day: quiet nights, busy office hours.
const HOUR_WEIGHTS: [u64; 24] = [
    2, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 10, 9, 10, 10, 10, 9, 8, 6, 5, 4, 3, 3, 2,
];

/// One access-log record before formatting; `None` is logged as `-`.
#[derive(Clone, Default)]
struct Access {
    time: i64,
    bucket: &'static str,
    ip: Option<String>,
    requester: Option<String>,
    operation: &'static str,
    key: Option<String>,
    uri: Option<String>,
    status: Option<u16>,
    error: Option<&'static str>,
    sent: Option<u64>,
    size: Option<u64>,
    total_ms: Option<u64>,
    referrer: Option<String>,
    user_agent: Option<String>,
    /// Signed with SigV4 in the Authorization header (anonymous requests are not).
    signed: bool,
    tls: bool,
}

impl Access {
    fn by(p: &Principal, time: i64, bucket: &'static str, operation: &'static str) -> Access {
        Access {
            time,
            bucket,
            ip: Some(p.ip.clone()),
            requester: Some(p.arn.clone()),
            operation,
            status: Some(200),
            user_agent: Some(p.user_agent.clone()),
            signed: true,
            tls: true,
            ..Access::default()
        }
    }

    fn object(mut self, method: &str, key: &str) -> Access {
        self.uri = Some(format!("{method} /{key} HTTP/1.1"));
        self.key = Some(key.to_string());
        self
    }

    fn bucket_call(mut self, method: &str, query: &str) -> Access {
        self.uri = Some(format!("{method} /?{query} HTTP/1.1"));
        self
    }

    fn denied(mut self) -> Access {
        self.status = Some(403);
        self.error = Some("AccessDenied");
        self.sent = Some(243);
        self.size = None;
        self
    }

    fn line(&self, rng: &mut Rng) -> String {
        fn or_dash<T: ToString>(v: &Option<T>) -> String {
            v.as_ref().map_or("-".into(), ToString::to_string)
        }
        let (cipher, tls_version) = match (self.tls, rng.chance(70)) {
            (false, _) => ("-", "-"),
            (true, true) => ("TLS_AES_128_GCM_SHA256", "TLSv1.3"),
            (true, false) => ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2"),
        };
        let (signature, auth) = if self.signed {
            ("SigV4", "AuthHeader")
        } else {
            ("-", "-")
        };
        let total = self.total_ms.unwrap_or_else(|| rng.range(3, 60));
        let has_client = self.ip.is_some();
        format!(
            "{OWNER} {bucket} {time} {ip} {requester} {request_id} {operation} {key} {uri} \
             {status} {error} {sent} {size} {total} {turnaround} \"{referrer}\" \"{agent}\" - \
             {host_id} {signature} {cipher} {auth} {host} {tls_version} - - -",
            bucket = self.bucket,
            time = access_time(self.time),
            ip = or_dash(&self.ip),
            requester = or_dash(&self.requester),
            request_id = rng.upper(16),
            operation = self.operation,
            key = or_dash(&self.key),
            uri = self.uri.as_ref().map_or("-".into(), |u| format!("\"{u}\"")),
            status = or_dash(&self.status),
            error = or_dash(&self.error),
            sent = or_dash(&self.sent),
            size = or_dash(&self.size),
            total = if has_client {
                total.to_string()
            } else {
                "-".into()
            },
            turnaround = if has_client {
                (total / 3).max(1).to_string()
            } else {
                "-".into()
            },
            referrer = self.referrer.as_deref().unwrap_or("-"),
            agent = self.user_agent.as_deref().unwrap_or("-"),
            host_id = rng.token(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                76
            ),
            host = if has_client {
                format!("{}.s3.{REGION}.amazonaws.com", self.bucket)
            } else {
                "-".into()
            },
        )
    }
}

/// The day being generated: records in the order they were made, sorted when written.
struct Day {
    rng: Rng,
    start: i64,
    access: Vec<Access>,
    trail: Vec<(i64, Value)>,
}

impl Day {
    fn new(scenario: &Scenario) -> Day {
        Day {
            rng: Rng(scenario.seed ^ (scenario.day as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)),
            start: scenario.day * DAY_SECS,
            access: Vec::new(),
            trail: Vec::new(),
        }
    }

    /// A time at `h:m:s` of the day.
    fn at(&self, h: i64, m: i64, s: i64) -> i64 {
        self.start + h * 3600 + m * 60 + s
    }

    /// A random time of the day, busier in office hours.
    fn any_time(&mut self) -> i64 {
        let total: u64 = HOUR_WEIGHTS.iter().sum();
        let mut pick = self.rng.range(0, total - 1);
        let mut hour = 0;
        while pick >= HOUR_WEIGHTS[hour] {
            pick -= HOUR_WEIGHTS[hour];
            hour += 1;
        }
        self.start + hour as i64 * 3600 + self.rng.range(0, 3599) as i64
    }

    // -----------------------------------------------------------------------------------------
    // Background

    fn background(&mut self) {
        self.website_visitors();
        self.website_deploy();
        self.app_servers();
        self.data_pipeline();
        self.lifecycle();
        self.nightly_backup();
        self.config_recorder();
        self.admin_console();
        self.terraform_plan();
    }

    /// Anonymous visitors of the public website, from everywhere.
    fn website_visitors(&mut self) {
        let visitors: Vec<String> = (0..80)
            .map(|i| match i % 3 {
                0 => format!("198.51.100.{}", self.rng.range(1, 254)),
                1 => format!("192.0.2.{}", self.rng.range(1, 254)),
                // 203.0.113.50 is the attacker's: keep it out of the background.
                _ => format!("203.0.113.{}", self.rng.range(60, 254)),
            })
            .collect();
        for _ in 0..1400 {
            let time = self.any_time();
            let ip = self.rng.pick(&visitors).clone();
            let (key, size) = *self.rng.pick(SITE_FILES);
            let roll = self.rng.range(0, 99);
            let mut a = Access {
                time,
                bucket: WEB_ASSETS,
                ip: Some(ip),
                operation: "REST.GET.OBJECT",
                status: Some(200),
                sent: Some(size),
                size: Some(size),
                referrer: Some("https://www.acme.example/".into()),
                user_agent: Some(self.rng.pick(BROWSERS).to_string()),
                tls: true,
                ..Access::default()
            }
            .object("GET", key);
            if roll < 10 {
                a.status = Some(304);
                a.sent = None;
            } else if roll < 13 {
                a = a.object("HEAD", key);
                a.operation = "REST.HEAD.OBJECT";
                a.sent = None;
            } else if roll < 16 {
                a = a.object("GET", "favicon.ico");
                a.status = Some(404);
                a.error = Some("NoSuchKey");
                a.sent = Some(311);
                a.size = None;
            }
            self.access.push(a);
        }
    }

    /// CI publishes a new website build.
    fn website_deploy(&mut self) {
        let run = self.rng.range(7_000_000_000, 7_999_999_999);
        let ci = Principal::role(
            &mut self.rng,
            "web-deploy",
            &format!("github-actions-{run}"),
            "10.30.1.12",
            AWS_CLI_SYNC,
        );
        let t = self.at(10, 2, 11);
        self.access.push(
            Access::by(&ci, t, WEB_ASSETS, "REST.GET.BUCKET")
                .bucket_call("GET", "list-type=2&encoding-type=url"),
        );
        for (i, (key, size)) in SITE_FILES.iter().enumerate() {
            let t = t + 2 + i as i64;
            self.put_object(&ci, t, WEB_ASSETS, key, *size);
        }
    }

    /// Three application servers read and write user data all day.
    fn app_servers(&mut self) {
        let servers: Vec<Principal> = [
            ("i-0a1b2c3d4e5f60718", "10.0.1.21"),
            ("i-0b2c3d4e5f6071829", "10.0.2.34"),
            ("i-0c3d4e5f607182930", "10.0.3.47"),
        ]
        .iter()
        .map(|(session, ip)| Principal::role(&mut self.rng, "app-server", session, ip, SDK_JAVA))
        .collect();
        let mut deletes = 0;
        for _ in 0..1100 {
            let time = self.any_time();
            let who = self.rng.pick(&servers).clone();
            let user = self.rng.range(10_000, 10_400);
            let roll = self.rng.range(0, 99);
            if roll < 50 {
                let key = format!("users/{user}/profile.json");
                let size = self.rng.range(900, 4_000);
                self.access.push(
                    Access {
                        sent: Some(size),
                        size: Some(size),
                        ..Access::by(&who, time, APP_DATA, "REST.GET.OBJECT")
                    }
                    .object("GET", &key),
                );
            } else if roll < 65 {
                let key = format!("users/{user}/avatar.jpg");
                let size = self.rng.range(40_000, 900_000);
                self.access.push(
                    Access {
                        size: Some(size),
                        ..Access::by(&who, time, APP_DATA, "REST.HEAD.OBJECT")
                    }
                    .object("HEAD", &key),
                );
            } else if roll < 85 {
                let key = format!("uploads/{}/{}.jpg", self.date_path(), self.rng.uuid());
                let size = self.rng.range(50_000, 6 * MIB);
                self.put_object(&who, time, APP_DATA, &key, size);
            } else if roll < 93 {
                let key = format!("users/{user}/settings.json");
                self.access.push(
                    Access {
                        status: Some(404),
                        error: Some("NoSuchKey"),
                        sent: Some(302),
                        ..Access::by(&who, time, APP_DATA, "REST.GET.OBJECT")
                    }
                    .object("GET", &key),
                );
            } else if deletes < 20 {
                deletes += 1;
                let key = format!("tmp/{}.part", self.rng.uuid());
                self.delete_object(&who, time, APP_DATA, &key);
            }
        }
        // An old code path still asks for a key the role may not read: one denial per server,
        // routine noise far below any threshold.
        for who in servers.iter().take(2) {
            let time = self.any_time();
            self.access.push(
                Access::by(who, time, APP_DATA, "REST.GET.OBJECT")
                    .object("GET", "admin/feature-flags.json")
                    .denied(),
            );
        }
    }

    /// The ETL job: hourly listings, a nightly read of the exports, and archived copies.
    fn data_pipeline(&mut self) {
        let etl = Principal::role(
            &mut self.rng,
            "data-pipeline",
            "etl-nightly",
            "10.0.8.15",
            BOTO3,
        );
        for hour in 0..24 {
            let second = self.rng.range(0, 59) as i64;
            let t = self.at(hour, 5, second);
            self.access.push(
                Access {
                    sent: Some(self.rng.range(2_000, 9_000)),
                    ..Access::by(&etl, t, APP_DATA, "REST.GET.BUCKET")
                }
                .bucket_call("GET", "list-type=2&prefix=exports%2F&encoding-type=url"),
            );
        }
        let mut t = self.at(2, 0, 40);
        for table in TABLES {
            let key = format!("exports/daily/{table}.parquet");
            // Below 10 MiB: daily exports are no exfiltration.
            let size = self.rng.range(2 * MIB, 9 * MIB);
            self.access.push(
                Access {
                    sent: Some(size),
                    size: Some(size),
                    total_ms: Some(self.rng.range(400, 2_500)),
                    ..Access::by(&etl, t, APP_DATA, "REST.GET.OBJECT")
                }
                .object("GET", &key),
            );
            t += self.rng.range(5, 40) as i64;
        }
        for table in &TABLES[..5] {
            t += self.rng.range(5, 30) as i64;
            let source = format!("exports/daily/{table}.parquet");
            let target = format!("archive/{}/{table}.parquet", self.date_path());
            self.copy_object(&etl, t, APP_DATA, &source, &target, None);
        }
        let key = format!("reports/{}/summary.parquet", self.date_path());
        self.put_object(&etl, t + 60, APP_DATA, &key, 734_112);
    }

    /// S3 expires yesterday's temporary uploads (a lifecycle rule, no client).
    fn lifecycle(&mut self) {
        for i in 0..15 {
            let time = self.at(0, 31, 0) + i * 7;
            let size = self.rng.range(10_000, 2 * MIB);
            self.access.push(Access {
                time,
                bucket: APP_DATA,
                requester: Some("AmazonS3".into()),
                operation: "S3.EXPIRE.OBJECT",
                key: Some(format!("tmp/{}.part", self.rng.uuid())),
                size: Some(size),
                ..Access::default()
            });
        }
    }

    /// The backup agent uploads the nightly database dumps.
    fn nightly_backup(&mut self) {
        let agent = Principal::role(&mut self.rng, "backup-agent", "nightly", "10.0.5.5", BOTO3);
        let mut t = self.at(1, 0, 3);
        self.access.push(
            Access::by(&agent, t, BACKUPS, "REST.GET.BUCKET")
                .bucket_call("GET", "list-type=2&prefix=db%2F"),
        );
        for key in self.backup_keys(0) {
            t += self.rng.range(10, 40) as i64;
            let size = self.rng.range(30 * MIB, 400 * MIB);
            self.put_object(&agent, t, BACKUPS, &key, size);
        }
    }

    /// Database dumps of `days_ago` days before the generated day: 5 per table.
    fn backup_keys(&self, days_ago: i64) -> Vec<String> {
        let date = &civil((self.start / DAY_SECS - days_ago) * DAY_SECS)[..10];
        TABLES
            .iter()
            .flat_map(|t| (0..5).map(move |part| format!("db/{date}/{t}-{part:02}.sql.gz")))
            .collect()
    }

    /// AWS Config records every bucket's configuration every six hours.
    fn config_recorder(&mut self) {
        let config = Principal::service(
            &mut self.rng,
            "AWSServiceRoleForConfig",
            "config.amazonaws.com",
        );
        for round in 0..4 {
            let mut t = self.at(round * 6 + 1, 17, 0);
            for bucket in [WEB_ASSETS, APP_DATA, BACKUPS, TRAIL_BUCKET] {
                for name in [
                    "GetBucketAcl",
                    "GetBucketPolicy",
                    "GetBucketVersioning",
                    "GetBucketLogging",
                    "GetBucketEncryption",
                    "GetBucketPublicAccessBlock",
                ] {
                    t += self.rng.range(0, 2) as i64;
                    let mut e = self.bucket_event(&config, t, name, bucket, json!({}), true);
                    if name == "GetBucketPolicy" && bucket == BACKUPS {
                        e["errorCode"] = json!("NoSuchBucketPolicy");
                        e["errorMessage"] = json!("The bucket policy does not exist");
                    }
                    self.trail.push((t, e));
                }
            }
        }
    }

    /// An administrator looks around in the console.
    fn admin_console(&mut self) {
        let admin = Principal::role(&mut self.rng, "admin", "jdoe", "10.10.0.5", CONSOLE);
        let t = self.at(9, 34, 12);
        let list = self.event(
            &admin,
            t,
            "ListBuckets",
            json!({"Host": "s3.amazonaws.com"}),
        );
        self.trail.push((t, list));
        for (i, bucket) in [APP_DATA, BACKUPS].into_iter().enumerate() {
            let t = t + 20 + i as i64 * 45;
            for name in [
                "GetBucketLocation",
                "GetBucketPolicyStatus",
                "GetBucketPublicAccessBlock",
            ] {
                let e = self.bucket_event(&admin, t, name, bucket, json!({}), true);
                self.trail.push((t, e));
            }
            self.access.push(
                Access::by(&admin, t + 2, bucket, "REST.GET.BUCKET")
                    .bucket_call("GET", "list-type=2&delimiter=%2F"),
            );
        }
    }

    /// Terraform plans the infrastructure and tags a bucket.
    fn terraform_plan(&mut self) {
        let tf = Principal::role(
            &mut self.rng,
            "terraform",
            "ci-run-4411",
            "10.30.1.12",
            TERRAFORM,
        );
        let mut t = self.at(10, 0, 4);
        for bucket in [WEB_ASSETS, APP_DATA, BACKUPS, TRAIL_BUCKET] {
            for name in ["GetBucketPolicy", "GetBucketVersioning", "GetBucketTagging"] {
                t += 1;
                let e = self.bucket_event(&tf, t, name, bucket, json!({}), true);
                self.trail.push((t, e));
            }
        }
        let tagging = json!({"Tagging": {"TagSet": {"Tag": [
            {"Key": "team", "Value": "platform"},
            {"Key": "data-classification", "Value": "confidential"}
        ]}}, "tagging": [""]});
        let e = self.bucket_event(&tf, t + 5, "PutBucketTagging", APP_DATA, tagging, false);
        self.trail.push((t + 5, e));
    }

    // -----------------------------------------------------------------------------------------
    // Attacks

    fn attacks(&mut self) {
        self.enumeration();
        self.exfiltration();
        self.plain_http();
        self.outside_networks();
        self.made_public();
        self.ransomware();
    }

    /// A ci-deployer key, used from a build runner inside the network, probes for readable
    /// data: a listing, four object reads and three ACL reads per bucket, all denied. Four
    /// object errors per bucket stay below the "repeated object errors" rule, which is about a
    /// misbehaving client rather than enumeration.
    fn enumeration(&mut self) {
        let probe = Principal::user(&mut self.rng, "ci-deployer", "10.8.3.77", BOTO3);
        let mut t = self.at(2, 14, 5);
        for bucket in [APP_DATA, BACKUPS, TRAIL_BUCKET] {
            t += 3;
            self.access.push(
                Access::by(&probe, t, bucket, "REST.GET.BUCKET")
                    .bucket_call("GET", "list-type=2")
                    .denied(),
            );
            for name in ["config", "secrets", "backup", "db-dump"] {
                t += self.rng.range(1, 3) as i64;
                let key = format!("{name}.tar.gz");
                self.access.push(
                    Access::by(&probe, t, bucket, "REST.GET.OBJECT")
                        .object("GET", &key)
                        .denied(),
                );
            }
            for name in [".env", "credentials.json", "id_rsa"] {
                t += self.rng.range(1, 3) as i64;
                let mut acl = Access::by(&probe, t, bucket, "REST.GET.ACL")
                    .object("GET", name)
                    .denied();
                acl.uri = Some(format!("GET /{name}?acl HTTP/1.1"));
                self.access.push(acl);
            }
        }
    }

    /// A role that was never approved for acme-app-data downloads the customer exports.
    fn exfiltration(&mut self) {
        let thief = Principal::role(
            &mut self.rng,
            EXFIL_ROLE,
            "bi-export",
            "10.20.7.14",
            AWS_CLI,
        );
        let mut t = self.at(3, 31, 2);
        self.access.push(
            Access::by(&thief, t, APP_DATA, "REST.GET.BUCKET")
                .bucket_call("GET", "list-type=2&prefix=exports%2Fcustomers%2F"),
        );
        for part in 0..30 {
            t += self.rng.range(25, 50) as i64;
            let size = self.rng.range(24 * MIB, 96 * MIB);
            let key = format!("exports/customers/part-{part:05}.csv.gz");
            self.access.push(
                Access {
                    sent: Some(size),
                    size: Some(size),
                    total_ms: Some(self.rng.range(4_000, 15_000)),
                    ..Access::by(&thief, t, APP_DATA, "REST.GET.OBJECT")
                }
                .object("GET", &key),
            );
        }
    }

    /// A forgotten app server still uploads through an http:// endpoint.
    fn plain_http(&mut self) {
        let legacy = Principal::role(
            &mut self.rng,
            "app-server",
            "i-0legacy9f8e7d6c5b",
            "10.0.4.9",
            PHP_SDK,
        );
        for i in 0..3 {
            let t = self.at(9, 12, 8) + i * 41;
            let key = format!("uploads/{}/invoice-{}.pdf", self.date_path(), 88_120 + i);
            let size = self.rng.range(80_000, 400_000);
            self.access.push(
                Access {
                    size: Some(size),
                    tls: false,
                    ..Access::by(&legacy, t, APP_DATA, "REST.PUT.OBJECT")
                }
                .object("PUT", &key),
            );
            let mut e = self.object_event(&legacy, t, "PutObject", APP_DATA, &key, json!({}));
            if let Some(map) = e.as_object_mut() {
                map.remove("tlsDetails");
            }
            self.trail.push((t, e));
        }
    }

    /// A data-pipeline session shows up from an address outside the approved network.
    fn outside_networks(&mut self) {
        let leaked = Principal::role(
            &mut self.rng,
            "data-pipeline",
            "etl-adhoc-mwilson",
            OUTSIDE_IP,
            AWS_CLI,
        );
        let mut t = self.at(11, 5, 31);
        self.access.push(
            Access::by(&leaked, t, APP_DATA, "REST.GET.BUCKET")
                .bucket_call("GET", "list-type=2&prefix=exports%2Fdaily%2F"),
        );
        for table in &TABLES[..4] {
            t += self.rng.range(4, 12) as i64;
            let size = self.rng.range(2 * MIB, 9 * MIB);
            self.access.push(
                Access {
                    sent: Some(size),
                    size: Some(size),
                    ..Access::by(&leaked, t, APP_DATA, "REST.GET.OBJECT")
                }
                .object("GET", &format!("exports/daily/{table}.parquet")),
            );
        }
    }

    /// A contractor opens acme-app-data to the world with a bucket policy.
    fn made_public(&mut self) {
        let contractor = Principal::role(
            &mut self.rng,
            "admin",
            "contractor-rlee",
            "10.10.0.23",
            CONSOLE,
        );
        let t = self.at(14, 20, 45);
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{APP_DATA}/*"),
            }],
        });
        let params = json!({"bucketPolicy": policy, "policy": [""]});
        let e = self.bucket_event(&contractor, t, "PutBucketPolicy", APP_DATA, params, false);
        self.trail.push((t, e));
        self.access.push(
            Access {
                sent: None,
                status: Some(204),
                ..Access::by(&contractor, t, APP_DATA, "REST.PUT.BUCKETPOLICY")
            }
            .bucket_call("PUT", "policy"),
        );
    }

    /// With the backup service's key, from the backup host: access logging off, backups
    /// rewritten under an SSE-C key only the attacker holds, then older backups deleted. Once
    /// logging is off, only CloudTrail sees the rest.
    fn ransomware(&mut self) {
        let attacker = Principal::user(&mut self.rng, "svc-backup", RANSOMWARE_IP, BOTO3);
        let t = self.at(20, 50, 12);
        let params = json!({
            "logging": [""],
            "BucketLoggingStatus": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"},
        });
        let e = self.bucket_event(&attacker, t, "PutBucketLogging", BACKUPS, params, false);
        self.trail.push((t, e));
        self.access.push(
            Access::by(&attacker, t, BACKUPS, "REST.PUT.LOGGING_STATUS")
                .bucket_call("PUT", "logging"),
        );

        let mut t = self.at(21, 40, 3);
        for key in self.backup_keys(0).into_iter().take(14) {
            t += self.rng.range(8, 30) as i64;
            self.copy_object(&attacker, t, BACKUPS, &key, &key, Some("AES256"));
        }

        let mut t = self.at(22, 5, 0);
        let old: Vec<String> = (1..=3).flat_map(|d| self.backup_keys(d)).take(60).collect();
        for key in old {
            t += self.rng.range(1, 4) as i64;
            self.delete_object(&attacker, t, BACKUPS, &key);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Records

    /// `YYYY/MM/DD` of the generated day.
    fn date_path(&self) -> String {
        civil(self.start)[..10].replace('-', "/")
    }

    /// Whether access logging still runs for `bucket` at `time`.
    fn access_logged(&self, bucket: &str, time: i64) -> bool {
        bucket != BACKUPS || time <= self.at(20, 50, 12)
    }

    fn put_object(
        &mut self,
        who: &Principal,
        time: i64,
        bucket: &'static str,
        key: &str,
        size: u64,
    ) {
        if self.access_logged(bucket, time) {
            self.access.push(
                Access {
                    size: Some(size),
                    total_ms: Some(self.rng.range(20, 900)),
                    ..Access::by(who, time, bucket, "REST.PUT.OBJECT")
                }
                .object("PUT", key),
            );
        }
        let extra = json!({"bytesTransferredIn": size});
        let e = self.object_event(who, time, "PutObject", bucket, key, extra);
        self.trail.push((time, e));
    }

    fn delete_object(&mut self, who: &Principal, time: i64, bucket: &'static str, key: &str) {
        if self.access_logged(bucket, time) {
            self.access.push(
                Access {
                    status: Some(204),
                    ..Access::by(who, time, bucket, "REST.DELETE.OBJECT")
                }
                .object("DELETE", key),
            );
        }
        let e = self.object_event(who, time, "DeleteObject", bucket, key, json!({}));
        self.trail.push((time, e));
    }

    /// A server-side copy within `bucket`; `sse_c` is the customer-key algorithm of the copy.
    fn copy_object(
        &mut self,
        who: &Principal,
        time: i64,
        bucket: &'static str,
        source: &str,
        target: &str,
        sse_c: Option<&str>,
    ) {
        if self.access_logged(bucket, time) {
            let size = self.rng.range(MIB, 8 * MIB);
            self.access.push(
                Access {
                    size: Some(size),
                    ..Access::by(who, time, bucket, "REST.COPY.OBJECT_GET")
                }
                .object("PUT", source),
            );
            self.access.push(
                Access {
                    size: Some(size),
                    ..Access::by(who, time, bucket, "REST.COPY.OBJECT")
                }
                .object("PUT", target),
            );
        }
        let mut e = self.object_event(who, time, "CopyObject", bucket, target, json!({}));
        e["requestParameters"]["x-amz-copy-source"] = json!(format!("{bucket}/{source}"));
        if let Some(algorithm) = sse_c {
            e["requestParameters"]["x-amz-server-side-encryption-customer-algorithm"] =
                json!(algorithm);
            e["responseElements"] = json!({
                "x-amz-server-side-encryption-customer-algorithm": algorithm,
                "x-amz-server-side-encryption-customer-key-MD5": format!("{}==", self.rng.upper(22)),
            });
        }
        self.trail.push((time, e));
    }

    /// A CloudTrail record of an S3 call, without bucket or object specifics.
    fn event(&mut self, who: &Principal, time: i64, name: &str, params: Value) -> Value {
        let mut identity = who.identity.clone();
        if identity.pointer("/sessionContext/attributes").is_some() {
            identity["sessionContext"]["attributes"]["creationDate"] =
                json!(iso_time(time - 600 - (time % 1800)));
        }
        let service = identity.get("invokedBy").is_some();
        let mut e = json!({
            "eventVersion": "1.10",
            "userIdentity": identity,
            "eventTime": iso_time(time),
            "eventSource": "s3.amazonaws.com",
            "eventName": name,
            "awsRegion": REGION,
            "sourceIPAddress": who.ip,
            "userAgent": who.user_agent,
            "requestParameters": params,
            "responseElements": null,
            "requestID": self.rng.upper(16),
            "eventID": self.rng.uuid(),
            "readOnly": name.starts_with("Get") || name.starts_with("List"),
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        });
        if !service {
            e["tlsDetails"] = json!({
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": "s3.amazonaws.com",
            });
        }
        e
    }

    /// A management event about one bucket.
    fn bucket_event(
        &mut self,
        who: &Principal,
        time: i64,
        name: &str,
        bucket: &str,
        params: Value,
        read_only: bool,
    ) -> Value {
        let host = format!("{bucket}.s3.{REGION}.amazonaws.com");
        let mut request = Map::new();
        request.insert("bucketName".into(), json!(bucket));
        request.insert("Host".into(), json!(host));
        if let Value::Object(extra) = params {
            request.extend(extra);
        }
        let mut e = self.event(who, time, name, Value::Object(request));
        e["readOnly"] = json!(read_only);
        e["resources"] = json!([{
            "accountId": ACCOUNT,
            "type": "AWS::S3::Bucket",
            "ARN": format!("arn:aws:s3:::{bucket}"),
        }]);
        if e.get("tlsDetails").is_some() {
            e["tlsDetails"]["clientProvidedHostHeader"] = json!(host);
        }
        e
    }

    /// A data event (the trail records S3 writes for every bucket).
    fn object_event(
        &mut self,
        who: &Principal,
        time: i64,
        name: &str,
        bucket: &str,
        key: &str,
        transfer: Value,
    ) -> Value {
        let mut e = self.bucket_event(who, time, name, bucket, json!({ "key": key }), false);
        e["managementEvent"] = json!(false);
        e["eventCategory"] = json!("Data");
        e["resources"] = json!([
            {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}")},
            {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")},
        ]);
        let mut data = json!({
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0,
            "bytesTransferredOut": 0,
            "x-amz-id-2": self.rng.token(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 76),
        });
        if let (Value::Object(data), Value::Object(transfer)) = (&mut data, transfer) {
            data.extend(transfer);
        }
        e["additionalEventData"] = data;
        e
    }

    // -----------------------------------------------------------------------------------------
    // Delivery

    /// Batches the records into log objects the way AWS delivers them. CloudTrail files go out
    /// every 15 minutes (gzip); each delivery is itself logged in the trail bucket's access log
    /// (CloudTrail checks the bucket ACL, then writes) and read by the SIEM collector.
    /// Access logs go out per bucket and hour (plain text).
    fn into_objects(mut self) -> Vec<LogObject> {
        self.trail.sort_by_key(|(t, _)| *t);
        self.access.sort_by_key(|a| a.time);
        let trail = std::mem::take(&mut self.trail);
        let siem = Principal::role(&mut self.rng, "siem-reader", "collector", "10.0.9.9", BOTO3);
        let mut batches: Vec<(i64, Vec<Value>)> = Vec::new();
        for (time, event) in trail {
            let window = time.div_euclid(900);
            match batches.last_mut() {
                Some((current, events)) if *current == window => events.push(event),
                _ => batches.push((window, vec![event])),
            }
        }
        let mut objects = Vec::new();
        let mut deliveries = Vec::new();
        for (window, events) in batches {
            let delivered = (window + 1) * 900 + self.rng.range(60, 300) as i64;
            objects.push(self.trail_object(delivered, events));
            deliveries.push(delivered);
        }
        for (object, delivered) in objects.iter().zip(deliveries) {
            if delivered >= self.start + DAY_SECS {
                continue;
            }
            let cloudtrail = Access {
                time: delivered,
                bucket: TRAIL_BUCKET,
                ip: Some(format!(
                    "54.239.{}.{}",
                    self.rng.range(1, 254),
                    self.rng.range(1, 254)
                )),
                requester: Some("svc:cloudtrail.amazonaws.com".into()),
                status: Some(200),
                user_agent: Some("aws-internal/3 aws-sdk-java/1.12.660".into()),
                signed: true,
                tls: true,
                ..Access::default()
            };
            let key = object
                .path
                .split_once('/')
                .map_or("", |(_, k)| k)
                .to_string();
            self.access.push(Access {
                operation: "REST.GET.ACL",
                sent: Some(560),
                ..cloudtrail.clone().bucket_call("GET", "acl")
            });
            self.access.push(Access {
                operation: "REST.PUT.OBJECT",
                size: Some(object.bytes.len() as u64),
                ..cloudtrail.object("PUT", &key)
            });
            let read = delivered + self.rng.range(20, 240) as i64;
            if read < self.start + DAY_SECS {
                self.access.push(
                    Access {
                        sent: Some(object.bytes.len() as u64),
                        size: Some(object.bytes.len() as u64),
                        ..Access::by(&siem, read, TRAIL_BUCKET, "REST.GET.OBJECT")
                    }
                    .object("GET", &key),
                );
            }
        }
        self.access.sort_by_key(|a| a.time);
        let access = std::mem::take(&mut self.access);
        for bucket in [WEB_ASSETS, APP_DATA, BACKUPS, TRAIL_BUCKET] {
            for hour in 0..24 {
                let from = self.start + hour * 3600;
                let lines: Vec<String> = access
                    .iter()
                    .filter(|a| a.bucket == bucket && a.time >= from && a.time < from + 3600)
                    .map(|a| a.line(&mut self.rng))
                    .collect();
                if lines.is_empty() {
                    continue;
                }
                let delivered = from + 3600 + self.rng.range(120, 1500) as i64;
                let stamp = civil(delivered)[..19].replace([' ', ':'], "-");
                let mut text = lines.join("\n");
                text.push('\n');
                objects.push(LogObject {
                    path: format!(
                        "{ACCESS_LOG_BUCKET}/{bucket}/{stamp}-{}",
                        self.rng.upper(16)
                    ),
                    log_type: LogType::S3ServerAccess,
                    records: lines.len(),
                    bytes: text.into_bytes(),
                });
            }
        }
        objects.sort_by(|a, b| a.path.cmp(&b.path));
        objects
    }

    fn trail_object(&mut self, delivered: i64, records: Vec<Value>) -> LogObject {
        let stamp = civil(delivered);
        let (date, time) = (&stamp[..10], &stamp[11..16]);
        let path = format!(
            "{TRAIL_BUCKET}/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{}/{ACCOUNT}_CloudTrail_{REGION}_{}T{}Z_{}.json.gz",
            date.replace('-', "/"),
            date.replace('-', ""),
            time.replace(':', ""),
            self.rng.token(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                16
            ),
        );
        let count = records.len();
        let json = serde_json::to_vec(&json!({ "Records": records }))
            .expect("JSON values always serialize");
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&json).expect("writing to memory cannot fail");
        LogObject {
            path,
            log_type: LogType::CloudTrail,
            records: count,
            bytes: gz.finish().expect("writing to memory cannot fail"),
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` (and nanoseconds) of a Unix time.
fn civil(secs: i64) -> String {
    Timestamp(secs * 1_000_000_000).to_string()
}

/// CloudTrail's `2026-03-14T09:20:00Z`.
fn iso_time(secs: i64) -> String {
    let c = civil(secs);
    format!("{}T{}Z", &c[..10], &c[11..19])
}

/// The access log's `[14/Mar/2026:09:15:02 +0000]`.
fn access_time(secs: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = civil(secs);
    let month: usize = c[5..7].parse().unwrap_or(1);
    format!(
        "[{}/{}/{}:{} +0000]",
        &c[8..10],
        MONTHS[month - 1],
        &c[..4],
        &c[11..19]
    )
}
