//! `bw-gen`: writes synthetic but realistic S3 server access logs and CloudTrail files for the
//! parse benchmark (`bench/run-parse.sh`).
//!
//! ```text
//! bw-gen sal        --bytes N --out FILE [--seed S]
//! bw-gen cloudtrail --bytes N --out FILE [--seed S] [--gzip]
//! bw-gen --version
//! ```
//!
//! * The output is deterministic for a given (command, bytes, seed) and the format version
//!   printed by `--version`.
//! * `--bytes` is the exact size of the (decompressed) output: the last line or record is padded
//!   so that the file is exactly N bytes. With `--gzip` the gzip stream decompresses to exactly the
//!   bytes `cloudtrail` would have written without `--gzip`.
//! * Every access-log line is one request record with 24, 26 or 27 fields; all lines except the
//!   CloudFront Origin Access Identity ones (whose requester contains spaces, ~1 %) match the
//!   regular expression of AWS's Athena documentation.
//! * A summary (`lines=`/`records=`, bytes, seconds) goes to stderr.
//!
//! No allocation per line or record after start-up: everything is written into reused buffers.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use flate2::Compression;
use flate2::write::GzEncoder;

/// Bump whenever the bytes produced for a given (command, size, seed) change, so that
/// `run-parse.sh` regenerates cached data.
const FORMAT_VERSION: &str = "bw-gen-format-1";

const DAY: u64 = 86_400;
/// The simulated day (SAL prefix, CloudTrail prefix, compact form for presign dates).
const SAL_DATE: &str = "06/Feb/2019:";
const CT_DATE: &str = "2019-02-06T";
const COMPACT_DATE: &str = "20190206";

// ------------------------------------------------------------------------------------------------
// PRNG: splitmix64, tiny and fast; quality is ample for synthetic data.

#[derive(Clone, Copy)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut r = Rng(seed ^ 0x5851_F42D_4C95_7F2D);
        r.next();
        r
    }
    #[inline]
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0), Lemire's multiply-shift.
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in `lo..=hi`.
    #[inline]
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    /// True with probability `p` per mille.
    #[inline]
    fn permille(&mut self, p: u64) -> bool {
        self.below(1000) < p
    }
    #[inline]
    fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    #[inline]
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    /// One of a list of static strings.
    #[inline]
    fn ps(&mut self, xs: &[&'static str]) -> &'static str {
        xs[self.below(xs.len() as u64) as usize]
    }
    /// Index chosen with the given relative weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total as u64) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
    /// Index in `0..n` skewed towards small values (a few hot clients, a long tail).
    #[inline]
    fn skewed(&mut self, n: usize) -> usize {
        let a = self.below(n as u64);
        let b = self.below(n as u64);
        a.min(b) as usize
    }
    /// Object-size-like number: log-uniform between 2^lo and 2^hi.
    fn log_size(&mut self, lo: u32, hi: u32) -> u64 {
        let e = self.range(lo as u64, hi as u64) as u32;
        (1u64 << e) + self.below(1u64 << e)
    }
}

// ------------------------------------------------------------------------------------------------
// Byte-buffer helpers.

const HEX_LO: &[u8; 16] = b"0123456789abcdef";
const HEX_UP: &[u8; 16] = b"0123456789ABCDEF";
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ALNUM_UP: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const VERSION_ID_CHARS: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";

trait Out {
    fn s(&mut self, s: &str);
    fn u(&mut self, n: u64);
    fn d2(&mut self, n: u64);
    fn hex(&mut self, rng: &mut Rng, n: usize, upper: bool);
    fn b64ish(&mut self, rng: &mut Rng, n: usize, alphabet: &[u8; 64]);
    fn alnum_up(&mut self, rng: &mut Rng, n: usize);
    fn hms(&mut self, t: u64);
    fn uuid(&mut self, rng: &mut Rng);
}

impl Out for Vec<u8> {
    #[inline]
    fn s(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
    #[inline]
    fn u(&mut self, mut n: u64) {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        loop {
            i -= 1;
            tmp[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.extend_from_slice(&tmp[i..]);
    }
    #[inline]
    fn d2(&mut self, n: u64) {
        self.push(b'0' + (n / 10 % 10) as u8);
        self.push(b'0' + (n % 10) as u8);
    }
    fn hex(&mut self, rng: &mut Rng, n: usize, upper: bool) {
        let table = if upper { HEX_UP } else { HEX_LO };
        let mut left = n;
        while left > 0 {
            let mut x = rng.next();
            for _ in 0..left.min(16) {
                self.push(table[(x & 15) as usize]);
                x >>= 4;
            }
            left -= left.min(16);
        }
    }
    fn b64ish(&mut self, rng: &mut Rng, n: usize, alphabet: &[u8; 64]) {
        let mut left = n;
        while left > 0 {
            let mut x = rng.next();
            for _ in 0..left.min(10) {
                self.push(alphabet[(x & 63) as usize]);
                x >>= 6;
            }
            left -= left.min(10);
        }
    }
    fn alnum_up(&mut self, rng: &mut Rng, n: usize) {
        for _ in 0..n {
            self.push(ALNUM_UP[rng.below(36) as usize]);
        }
    }
    /// `HH:MM:SS` of second-of-day `t`.
    fn hms(&mut self, t: u64) {
        self.d2(t / 3600);
        self.push(b':');
        self.d2(t / 60 % 60);
        self.push(b':');
        self.d2(t % 60);
    }
    fn uuid(&mut self, rng: &mut Rng) {
        self.hex(rng, 8, false);
        self.push(b'-');
        self.hex(rng, 4, false);
        self.s("-4");
        self.hex(rng, 3, false);
        self.push(b'-');
        self.push(b"89ab"[rng.below(4) as usize]);
        self.hex(rng, 3, false);
        self.push(b'-');
        self.hex(rng, 12, false);
    }
}

fn hex_string(rng: &mut Rng, n: usize, upper: bool) -> String {
    let mut v = Vec::with_capacity(n);
    v.hex(rng, n, upper);
    String::from_utf8(v).unwrap()
}

fn alnum_string(rng: &mut Rng, n: usize) -> String {
    let mut v = Vec::with_capacity(n);
    v.alnum_up(rng, n);
    String::from_utf8(v).unwrap()
}

// ------------------------------------------------------------------------------------------------
// The simulated estate: accounts, buckets, principals and their clients.

struct Account {
    id: &'static str,
    canonical: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BucketKind {
    DataLake,
    Assets,
    Website,
    Backups,
    Uploads,
    Logs,
    Ml,
}

struct Bucket {
    name: &'static str,
    acct: usize,
    region: &'static str,
    kind: BucketKind,
    versioned: bool,
}

const fn bucket(
    name: &'static str,
    acct: usize,
    region: &'static str,
    kind: BucketKind,
    versioned: bool,
) -> Bucket {
    Bucket {
        name,
        acct,
        region,
        kind,
        versioned,
    }
}

const BUCKETS: &[Bucket] = &[
    bucket("acme-lake-raw", 0, "us-east-1", BucketKind::DataLake, false),
    bucket(
        "acme-lake-curated",
        0,
        "us-east-1",
        BucketKind::DataLake,
        true,
    ),
    bucket("acme-static", 0, "us-east-1", BucketKind::Assets, false),
    bucket(
        "www.example.com",
        2,
        "us-west-2",
        BucketKind::Website,
        false,
    ),
    bucket("acme-backups-eu", 1, "eu-west-1", BucketKind::Backups, true),
    bucket(
        "uploads-prod",
        3,
        "ap-southeast-2",
        BucketKind::Uploads,
        true,
    ),
    bucket("acme-cf-logs", 1, "eu-west-1", BucketKind::Logs, false),
    bucket("ml-datasets", 0, "us-west-2", BucketKind::Ml, false),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum PKind {
    /// STS assumed role.
    Role,
    /// IAM user with long-term keys.
    User,
    /// Requester logged as a canonical user ID (cross-account ACL grants, console).
    Canonical,
    /// Unauthenticated (browser, curl).
    Anonymous,
    /// CloudFront Origin Access Identity (requester contains spaces in SAL).
    Oai,
    /// AWS service principal (`svc:...` in SAL, `AWSService` in CloudTrail).
    Service,
}

struct Principal {
    kind: PKind,
    acct: usize,
    /// SAL requester field.
    requester: String,
    /// CloudTrail userIdentity JSON: `identity_pre` + creationDate + `identity_post`
    /// (for roles; other kinds have everything in `identity_pre`).
    identity_pre: String,
    identity_post: String,
    ip: String,
    ua: String,
    /// SigV4 presigned URLs (QueryString auth) instead of the Authorization header.
    presign: bool,
    access_key: String,
    tls: Tls,
}

#[derive(Clone, Copy)]
struct Tls {
    version: &'static str,
    cipher: &'static str,
}

const PLAIN_HTTP: Tls = Tls {
    version: "-",
    cipher: "-",
};
const TLS_CHOICES: &[Tls] = &[
    Tls {
        version: "TLSv1.2",
        cipher: "ECDHE-RSA-AES128-GCM-SHA256",
    },
    Tls {
        version: "TLSv1.2",
        cipher: "ECDHE-RSA-AES128-GCM-SHA256",
    },
    Tls {
        version: "TLSv1.2",
        cipher: "ECDHE-RSA-AES128-GCM-SHA256",
    },
    Tls {
        version: "TLSv1.2",
        cipher: "ECDHE-RSA-AES256-GCM-SHA384",
    },
    Tls {
        version: "TLSv1.2",
        cipher: "ECDHE-RSA-CHACHA20-POLY1305",
    },
    Tls {
        version: "TLSv1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
    },
    Tls {
        version: "TLSv1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
    },
    Tls {
        version: "TLSv1.3",
        cipher: "TLS_AES_256_GCM_SHA384",
    },
    Tls {
        version: "TLSv1.3",
        cipher: "TLS_CHACHA20_POLY1305_SHA256",
    },
];

const ACCOUNT_IDS: &[&str] = &[
    "123456789012",
    "210987654321",
    "555566667777",
    "444455556666",
];

const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
];

const USERS: &[&str] = &[
    "alice",
    "bob",
    "ci-deployer",
    "backup-agent",
    "jane.doe",
    "terraform",
    "legacy-etl",
    "svc-reporting",
    "marketing-uploader",
    "dev-sandbox",
];

/// (role name, session name kind)
const ROLES: &[(&str, u8)] = &[
    ("EMR_EC2_DefaultRole", 0),
    ("AWSReservedSSO_AdministratorAccess_1a2b3c4d5e6f7a8b", 1),
    ("etl-runner", 0),
    ("lambda-thumbnailer-role", 2),
    ("GitHubActionsDeployRole", 3),
    ("DatabricksRole", 0),
    ("ecsTaskExecutionRole", 4),
    ("AWSServiceRoleForTrustedAdvisor", 5),
    ("OrganizationAccountAccessRole", 6),
    ("airflow-worker", 4),
    ("glue-crawler-role", 7),
];

const SSO_USERS: &[&str] = &[
    "jane.doe@example.com",
    "raj.patel@example.com",
    "m.garcia@example.com",
    "kim.lee@example.com",
];

const SERVICES: &[&str] = &[
    "athena.amazonaws.com",
    "glue.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "config.amazonaws.com",
    "logging.s3.amazonaws.com",
];

const DISTRIBUTION_IDS: &[&str] = &["E2QWRUHAPOMQZL", "E1T5ZPF6JBVNHC", "EDFDVBD6EXAMPLE"];

fn make_ua(rng: &mut Rng, kind: PKind, out: &mut Vec<u8>) {
    let amzn_kernel = [
        "5.10.209-198.858.amzn2.x86_64",
        "6.1.79-99.167.amzn2023.x86_64",
        "4.14.336-257.562.amzn2.x86_64",
        "5.15.0-1051-aws",
    ];
    match kind {
        PKind::Anonymous => match rng.below(6) {
            0 => {
                out.s("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/");
                out.u(rng.range(118, 122));
                out.s(".0.0.0 Safari/537.36");
            }
            1 => {
                out.s("Mozilla/5.0 (iPhone; CPU iPhone OS 17_");
                out.u(rng.range(1, 3));
                out.s("_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.");
                out.u(rng.range(1, 3));
                out.s(" Mobile/15E148 Safari/604.1");
            }
            2 => {
                out.s("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/");
                out.u(rng.range(118, 122));
                out.s(".0.0.0 Safari/537.36 Edg/");
                out.u(rng.range(118, 122));
                out.s(".0.2210.91");
            }
            3 => {
                out.s("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:");
                out.u(rng.range(115, 122));
                out.s(".0) Gecko/20100101 Firefox/");
                out.u(rng.range(115, 122));
                out.s(".0");
            }
            4 => {
                out.s("curl/7.");
                out.u(rng.range(61, 88));
                out.s(".1");
            }
            _ => {
                out.s("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)");
            }
        },
        PKind::Oai => out.s("Amazon CloudFront"),
        PKind::Service => {
            out.s("aws-internal/3 aws-sdk-java/1.12.");
            out.u(rng.range(400, 700));
            out.s(" Linux/");
            out.s(rng.ps(&amzn_kernel));
            out.s(" OpenJDK_64-Bit_Server_VM/25.");
            out.u(rng.range(300, 400));
            out.s("-b08 java/1.8.0_");
            out.u(rng.range(300, 400));
            out.s(" vendor/Oracle_Corporation cfg/retry-mode/standard");
        }
        _ => match rng.below(12) {
            0 => {
                out.s("aws-cli/2.15.");
                out.u(rng.below(40));
                out.s(" Python/3.11.");
                out.u(rng.range(6, 8));
                out.s(" Linux/");
                out.s(rng.ps(&amzn_kernel));
                out.s(" exe/x86_64.amzn.2 prompt/off command/s3.");
                out.s(rng.ps(&["cp", "sync", "ls", "rm", "mv"]));
            }
            1 => {
                let v = rng.range(10, 60);
                out.s("Boto3/1.34.");
                out.u(v);
                out.s(" md/Botocore#1.34.");
                out.u(v);
                out.s(" ua/2.0 os/linux#");
                out.s(rng.ps(&amzn_kernel));
                out.s(" md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython exec-env/AWS_Lambda_python3.11 cfg/retry-mode#legacy Botocore/1.34.");
                out.u(v);
            }
            2 => {
                out.s("aws-sdk-java/1.12.");
                out.u(rng.range(300, 700));
                out.s(" Linux/");
                out.s(rng.ps(&amzn_kernel));
                out.s(" OpenJDK_64-Bit_Server_VM/25.392-b08 java/1.8.0_392 scala/2.12.17 vendor/Amazon.com_Inc. exec-env/AWS_ECS_EC2 io/sync ua/2.0 os/linux");
            }
            3 => {
                out.s("Hadoop 3.3.6, aws-sdk-java/1.12.");
                out.u(rng.range(300, 700));
                out.s(" Linux/");
                out.s(rng.ps(&amzn_kernel));
                out.s(" OpenJDK_64-Bit_Server_VM/17.0.9+8-LTS java/17.0.9 scala/2.12.15 vendor/Amazon.com_Inc. cfg/retry-mode/legacy");
            }
            4 => {
                out.s("aws-sdk-go-v2/1.24.");
                out.u(rng.below(9));
                out.s(" os/linux lang/go#1.21.");
                out.u(rng.range(1, 6));
                out.s(" md/GOOS#linux md/GOARCH#amd64 api/s3#1.48.");
                out.u(rng.below(9));
                out.s(" ft/s3-transfer");
            }
            5 => {
                let v = rng.range(400, 520);
                out.s("aws-sdk-js/3.");
                out.u(v);
                out.s(".0 ua/2.0 os/linux#");
                out.s(rng.ps(&amzn_kernel));
                out.s(" lang/js md/nodejs#18.19.0 api/s3#3.");
                out.u(v);
                out.s(".0 exec-env/AWS_Lambda_nodejs18.x");
            }
            6 => {
                out.s("aws-sdk-dotnet-coreclr/3.7.300.");
                out.u(rng.below(60));
                out.s(" aws-sdk-dotnet-core/3.7.301.13 .NET_Core/8.0.1 OS/Microsoft_Windows_10.0.20348 ClientAsync md/aws-sdk-dotnet-core#3.7.301.13");
            }
            7 => {
                out.s("S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.");
                out.u(rng.range(400, 700));
                out.s(" Linux/");
                out.s(rng.ps(&amzn_kernel));
                out.s(" OpenJDK_64-Bit_Server_VM/25.392-b08 java/1.8.0_392 vendor/Oracle_Corporation cfg/retry-mode/standard");
            }
            8 => out.s("S3Console/0.4"),
            9 => out.s("aws-internal/3"),
            10 => out.s("Cyberduck/8.7.3.41147 (Mac OS X/14.2.1) (x86_64)"),
            _ => {
                out.s("rclone/v1.65.");
                out.u(rng.below(3));
                out.s(" (linux; amd64; go1.21.");
                out.u(rng.range(1, 6));
                out.s(")");
            }
        },
    }
}

fn make_ip(rng: &mut Rng, out: &mut Vec<u8>) {
    match rng.below(20) {
        0..=14 => {
            // public IPv4 from a few realistic first octets
            let a = *rng.pick(&[3u64, 18, 34, 44, 52, 54, 63, 72, 81, 98, 104, 185, 203]);
            out.u(a);
            for _ in 0..3 {
                out.push(b'.');
                out.u(rng.below(256));
            }
        }
        15..=17 => {
            // private VPC-endpoint address
            out.s("10.");
            out.u(rng.below(256));
            out.push(b'.');
            out.u(rng.below(256));
            out.push(b'.');
            out.u(rng.range(1, 254));
        }
        _ => {
            out.s(rng.ps(&["2600:1f18:", "2a05:d018:", "2001:db8:", "2406:da1c:"]));
            for i in 0..6 {
                if i > 0 {
                    out.push(b':');
                }
                out.extend_from_slice(format!("{:x}", rng.below(0x10000)).as_bytes());
            }
        }
    }
}

struct World {
    accounts: Vec<Account>,
    /// API clients (roles, users, canonical IDs)
    api: Vec<Principal>,
    /// Indices into `api` per account.
    api_by_acct: Vec<Vec<usize>>,
    anon: Vec<Principal>,
    oai: Vec<Principal>,
    service: Vec<Principal>,
    /// Principals that call STS AssumeRole.
    sts_callers: Vec<Principal>,
}

impl World {
    fn new(rng: &mut Rng) -> World {
        let accounts: Vec<Account> = ACCOUNT_IDS
            .iter()
            .map(|&id| Account {
                id,
                canonical: hex_string(rng, 64, false),
            })
            .collect();
        let mut api = Vec::new();
        let mut scratch = Vec::new();
        for i in 0..160 {
            let r = rng.below(100);
            let kind = match r {
                0..=44 => PKind::Role,
                45..=79 => PKind::User,
                _ => PKind::Canonical,
            };
            api.push(make_principal(
                rng,
                kind,
                i % accounts.len(),
                &accounts,
                &mut scratch,
            ));
        }
        let mut api_by_acct = vec![Vec::new(); accounts.len()];
        for (i, p) in api.iter().enumerate() {
            api_by_acct[p.acct].push(i);
        }
        let anon = (0..60)
            .map(|_| make_principal(rng, PKind::Anonymous, 0, &accounts, &mut scratch))
            .collect();
        let oai = (0..3)
            .map(|_| make_principal(rng, PKind::Oai, 0, &accounts, &mut scratch))
            .collect();
        let service = (0..SERVICES.len())
            .map(|i| {
                let mut p = make_principal(rng, PKind::Service, 0, &accounts, &mut scratch);
                p.requester = format!("svc:{}", SERVICES[i]);
                p.identity_pre = format!(
                    "{{\"type\":\"AWSService\",\"invokedBy\":\"{}\"}}",
                    SERVICES[i]
                );
                p
            })
            .collect();
        let sts_callers = (0..12)
            .map(|i| {
                make_principal(
                    rng,
                    if i % 3 == 0 {
                        PKind::User
                    } else {
                        PKind::Service
                    },
                    i % 4,
                    &accounts,
                    &mut scratch,
                )
            })
            .collect();
        World {
            accounts,
            api,
            api_by_acct,
            anon,
            oai,
            service,
            sts_callers,
        }
    }

    /// An API caller for a bucket of account `acct`: usually from the same account (a few hot
    /// callers, a long tail), sometimes cross-account.
    fn api_caller(&self, rng: &mut Rng, acct: usize) -> &Principal {
        if rng.pct(92) {
            let ids = &self.api_by_acct[acct];
            &self.api[ids[rng.skewed(ids.len())]]
        } else {
            &self.api[rng.skewed(self.api.len())]
        }
    }
}

fn make_principal(
    rng: &mut Rng,
    kind: PKind,
    acct: usize,
    accounts: &[Account],
    scratch: &mut Vec<u8>,
) -> Principal {
    let acct_id = accounts[acct].id;
    let requester: String;
    let identity_pre: String;
    let mut identity_post = String::new();
    let mut access_key = String::new();
    match kind {
        PKind::Role => {
            let (role, sk) = *rng.pick(ROLES);
            let session = match sk {
                0 => format!("i-0{}", hex_string(rng, 16, false)),
                1 => rng.pick(SSO_USERS).to_string(),
                2 => "thumbnailer-fn".to_string(),
                3 => "GitHubActions".to_string(),
                4 => hex_string(rng, 32, false),
                5 => format!("TrustedAdvisor_{}_{}", acct_id, hex_string(rng, 8, false)),
                6 => format!("admin-{}", rng.range(1_549_000_000, 1_549_400_000)),
                _ => "AWS-Crawler".to_string(),
            };
            let role_id = format!("AROA{}", alnum_string(rng, 17));
            access_key = format!("ASIA{}", alnum_string(rng, 16));
            requester = format!("arn:aws:sts::{acct_id}:assumed-role/{role}/{session}");
            identity_pre = format!(
                "{{\"type\":\"AssumedRole\",\"principalId\":\"{role_id}:{session}\",\"arn\":\"{requester}\",\"accountId\":\"{acct_id}\",\"accessKeyId\":\"{access_key}\",\"sessionContext\":{{\"sessionIssuer\":{{\"type\":\"Role\",\"principalId\":\"{role_id}\",\"arn\":\"arn:aws:iam::{acct_id}:role/{role}\",\"accountId\":\"{acct_id}\",\"userName\":\"{role}\"}},\"webIdFederationData\":{{}},\"attributes\":{{\"creationDate\":\""
            );
            identity_post = format!(
                "\",\"mfaAuthenticated\":\"{}\"}}}}}}",
                if sk == 1 { "true" } else { "false" }
            );
        }
        PKind::User => {
            let user = rng.pick(USERS);
            access_key = format!("AKIA{}", alnum_string(rng, 16));
            requester = format!("arn:aws:iam::{acct_id}:user/{user}");
            identity_pre = format!(
                "{{\"type\":\"IAMUser\",\"principalId\":\"AIDA{}\",\"arn\":\"{requester}\",\"accountId\":\"{acct_id}\",\"accessKeyId\":\"{access_key}\",\"userName\":\"{user}\"}}",
                alnum_string(rng, 17)
            );
        }
        PKind::Canonical => {
            // console users and cross-account ACL grantees show up as canonical IDs in SAL
            requester = if rng.pct(50) {
                accounts[acct].canonical.clone()
            } else {
                hex_string(rng, 64, false)
            };
            access_key = format!("ASIA{}", alnum_string(rng, 16));
            identity_pre = format!(
                "{{\"type\":\"Root\",\"principalId\":\"{acct_id}\",\"arn\":\"arn:aws:iam::{acct_id}:root\",\"accountId\":\"{acct_id}\",\"accessKeyId\":\"{access_key}\"}}"
            );
        }
        PKind::Anonymous => {
            requester = "-".to_string();
            identity_pre =
                "{\"type\":\"AWSAccount\",\"principalId\":\"\",\"accountId\":\"anonymous\"}"
                    .to_string();
        }
        PKind::Oai => {
            let id = rng.pick(DISTRIBUTION_IDS);
            requester =
                format!("arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity {id}");
            identity_pre = format!(
                "{{\"type\":\"AWSAccount\",\"principalId\":\"AIDA{}\",\"accountId\":\"cloudfront\"}}",
                alnum_string(rng, 17)
            );
        }
        PKind::Service => {
            let svc = rng.pick(SERVICES);
            requester = format!("svc:{svc}");
            identity_pre = format!("{{\"type\":\"AWSService\",\"invokedBy\":\"{svc}\"}}");
        }
    }
    scratch.clear();
    make_ip(rng, scratch);
    let ip = String::from_utf8(scratch.clone()).unwrap();
    scratch.clear();
    make_ua(rng, kind, scratch);
    let ua = String::from_utf8(scratch.clone()).unwrap();
    let tls = if kind == PKind::Anonymous && rng.pct(30) {
        PLAIN_HTTP
    } else {
        *rng.pick(TLS_CHOICES)
    };
    let presign = match kind {
        PKind::Anonymous | PKind::Oai | PKind::Service => false,
        _ => rng.pct(5),
    };
    Principal {
        kind,
        acct,
        requester,
        identity_pre,
        identity_post,
        ip,
        ua,
        presign,
        access_key,
        tls,
    }
}

// ------------------------------------------------------------------------------------------------
// Object keys: written twice, URL-encoded (SAL) and raw (CloudTrail).

/// (raw, URL-encoded) file names with characters that need encoding.
const SPECIAL_NAMES: &[(&str, &str)] = &[
    ("Q1 report (final).pdf", "Q1%20report%20%28final%29.pdf"),
    (
        "日本語のレポート.pdf",
        "%E6%97%A5%E6%9C%AC%E8%AA%9E%E3%81%AE%E3%83%AC%E3%83%9D%E3%83%BC%E3%83%88.pdf",
    ),
    ("résumé 2019.docx", "r%C3%A9sum%C3%A9%202019.docx"),
    ("photo+1.png", "photo%2B1.png"),
    (
        "Meeting notes 2019-02-06.txt",
        "Meeting%20notes%202019-02-06.txt",
    ),
    (
        "Übersicht & Bilanz.xlsx",
        "%C3%9Cbersicht%20%26%20Bilanz.xlsx",
    ),
];

struct Key {
    raw: Vec<u8>,
    enc: Vec<u8>,
}

impl Key {
    fn new() -> Key {
        Key {
            raw: Vec::with_capacity(256),
            enc: Vec::with_capacity(256),
        }
    }
    fn clear(&mut self) {
        self.raw.clear();
        self.enc.clear();
    }
    #[inline]
    fn both(&mut self, s: &str) {
        self.raw.s(s);
        self.enc.s(s);
    }
    #[inline]
    fn pair(&mut self, raw: &str, enc: &str) {
        self.raw.s(raw);
        self.enc.s(enc);
    }
    #[inline]
    fn num(&mut self, n: u64) {
        self.raw.u(n);
        self.enc.u(n);
    }
    #[inline]
    fn d2(&mut self, n: u64) {
        self.raw.d2(n);
        self.enc.d2(n);
    }
    fn hex(&mut self, rng: &mut Rng, n: usize) {
        let start = self.raw.len();
        self.raw.hex(rng, n, false);
        self.enc.extend_from_slice(&self.raw[start..]);
    }

    fn generate(&mut self, rng: &mut Rng, bucket: &Bucket, t: u64) {
        self.clear();
        let hour = t / 3600;
        match bucket.kind {
            BucketKind::DataLake => {
                if bucket.name.ends_with("raw") {
                    self.both(rng.ps(&["events/", "clicks/"]));
                } else {
                    self.both(rng.ps(&["orders/", "customers/"]));
                }
                self.pair("dt=2019-02-06/hr=", "dt%3D2019-02-06/hr%3D");
                self.d2(hour);
                self.both("/part-0");
                self.num(rng.range(1000, 1199));
                self.both(if rng.pct(80) {
                    ".snappy.parquet"
                } else {
                    ".json.gz"
                });
            }
            BucketKind::Assets => match rng.below(4) {
                0 => {
                    self.both("img/p/");
                    self.num(rng.range(10_000, 99_999));
                    self.both(rng.ps(&["/main.jpg", "/thumb.webp", "/zoom.jpg"]));
                }
                1 => {
                    self.both("js/main.");
                    self.hex(rng, 8);
                    self.both(".js");
                }
                2 => {
                    self.both("css/site.");
                    self.hex(rng, 8);
                    self.both(".css");
                }
                _ => self.both(rng.ps(&[
                    "fonts/Inter.woff2",
                    "favicon.ico",
                    "manifest.json",
                    "robots.txt",
                ])),
            },
            BucketKind::Website => match rng.below(4) {
                0 => self.both(rng.ps(&["index.html", "about/index.html", "pricing/", "contact/"])),
                1 => {
                    self.both("blog/");
                    self.both(rng.ps(&["launch-week/", "s3-security/", "release-1-4/"]));
                }
                2 => {
                    self.both("img/");
                    self.both(rng.ps(&["hero", "team", "logo", "diagram"]));
                    self.both(rng.ps(&[".webp", ".png", ".svg"]));
                }
                _ => {
                    self.both("app.");
                    self.hex(rng, 8);
                    self.both(".js");
                }
            },
            BucketKind::Backups => {
                if rng.pct(70) {
                    self.both("db/prod-2019-02-06T");
                    self.d2(hour);
                    self.both(".dump.gz");
                } else {
                    self.both("home/");
                    self.both(rng.ps(USERS));
                    self.both("/");
                    let (r, e) = *rng.pick(SPECIAL_NAMES);
                    self.pair(r, e);
                }
            }
            BucketKind::Uploads => {
                self.both("u/");
                self.hex(rng, 8);
                self.both("/");
                if rng.pct(35) {
                    let (r, e) = *rng.pick(SPECIAL_NAMES);
                    self.pair(r, e);
                } else {
                    self.both("IMG_");
                    self.num(rng.range(1000, 9999));
                    self.both(".JPG");
                }
            }
            BucketKind::Logs => {
                // CloudFront standard-log keys
                self.both("cf/");
                self.both(rng.ps(DISTRIBUTION_IDS));
                self.both(".2019-02-06-");
                self.d2(hour);
                self.both(".");
                self.hex(rng, 8);
                self.both(".gz");
            }
            BucketKind::Ml => {
                if rng.pct(85) {
                    self.both("train/n0");
                    self.num(rng.range(1_440_764, 1_443_537));
                    self.both("/");
                    self.num(rng.range(1, 60_000));
                    self.both(".JPEG");
                } else {
                    self.both("models/ckpt-");
                    self.num(rng.range(1, 90));
                    self.both(".pt");
                }
            }
        }
    }

    /// A key prefix for list requests (raw and encoded forms).
    fn prefix(&mut self, rng: &mut Rng, bucket: &Bucket) {
        self.clear();
        match bucket.kind {
            BucketKind::DataLake => {
                self.both(if bucket.name.ends_with("raw") {
                    "events/"
                } else {
                    "orders/"
                });
                self.pair("dt=2019-02-06/", "dt%3D2019-02-06/");
            }
            BucketKind::Uploads => self.both("u/"),
            BucketKind::Logs => self.both("cf/"),
            BucketKind::Ml => self.both("train/"),
            BucketKind::Backups => self.both("db/"),
            _ => self.both(rng.ps(&["img/", "js/", "css/"])),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// S3 server access log lines.

/// Percent-encode a query-parameter value (enough for the characters keys contain).
fn push_query_encoded(out: &mut Vec<u8>, raw: &[u8]) {
    for &c in raw {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(c),
            _ => {
                out.push(b'%');
                out.push(HEX_UP[(c >> 4) as usize]);
                out.push(HEX_UP[(c & 15) as usize]);
            }
        }
    }
}

struct SalLine<'a> {
    bucket: &'a Bucket,
    t: u64,
    ip: &'a [u8],
    requester: &'a [u8],
    reqid: [u8; 16],
    op: &'a str,
    key: &'a [u8],
    /// Complete field 9: `"GET /x HTTP/1.1"`, `"-"` or `-`.
    uri: &'a [u8],
    status: Option<u16>,
    err: &'a str,
    bytes: Option<u64>,
    size: Option<u64>,
    total: Option<u64>,
    turn: Option<u64>,
    /// Complete field 16: quoted URL, `"-"` or `-`.
    referrer: &'a [u8],
    /// Field 17 without quotes; `None` writes a bare `-`.
    ua: Option<&'a [u8]>,
    version: bool,
    hostid: bool,
    sig: &'a str,
    tls: Tls,
    auth: &'a str,
    host: &'a [u8],
    access_point: bool,
    acl_required: bool,
    source_region: &'a str,
    fields: u8,
}

#[inline]
fn opt_u(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(n) => out.u(n),
        None => out.push(b'-'),
    }
}

impl SalLine<'_> {
    fn write(&self, w: &World, rng: &mut Rng, pad: usize, out: &mut Vec<u8>) {
        out.s(&w.accounts[self.bucket.acct].canonical);
        out.push(b' ');
        out.s(self.bucket.name);
        out.s(" [");
        out.s(SAL_DATE);
        out.hms(self.t);
        out.s(" +0000] ");
        out.extend_from_slice(self.ip);
        out.push(b' ');
        out.extend_from_slice(self.requester);
        out.push(b' ');
        out.extend_from_slice(&self.reqid);
        out.push(b' ');
        out.s(self.op);
        out.push(b' ');
        out.extend_from_slice(self.key);
        out.push(b' ');
        out.extend_from_slice(self.uri);
        out.push(b' ');
        opt_u(out, self.status.map(u64::from));
        out.push(b' ');
        out.s(self.err);
        out.push(b' ');
        opt_u(out, self.bytes);
        out.push(b' ');
        opt_u(out, self.size);
        out.push(b' ');
        opt_u(out, self.total);
        out.push(b' ');
        opt_u(out, self.turn);
        out.push(b' ');
        out.extend_from_slice(self.referrer);
        out.push(b' ');
        match self.ua {
            Some(ua) => {
                out.push(b'"');
                out.extend_from_slice(ua);
                for i in 0..pad {
                    out.push(if i % 8 == 0 { b' ' } else { b'x' });
                }
                out.push(b'"');
            }
            None => out.push(b'-'),
        }
        out.push(b' ');
        if self.version {
            out.b64ish(rng, 32, VERSION_ID_CHARS);
        } else {
            out.push(b'-');
        }
        out.push(b' ');
        if self.hostid {
            out.b64ish(rng, 75, B64);
            out.push(b'=');
        } else {
            out.push(b'-');
        }
        out.push(b' ');
        out.s(self.sig);
        out.push(b' ');
        out.s(self.tls.cipher);
        out.push(b' ');
        out.s(self.auth);
        out.push(b' ');
        out.extend_from_slice(self.host);
        out.push(b' ');
        out.s(self.tls.version);
        if self.fields >= 26 {
            out.push(b' ');
            if self.access_point {
                out.s("arn:aws:s3:");
                out.s(self.bucket.region);
                out.push(b':');
                out.s(w.accounts[self.bucket.acct].id);
                out.s(":accesspoint/analytics-ap");
            } else {
                out.push(b'-');
            }
            out.push(b' ');
            out.s(if self.acl_required { "Yes" } else { "-" });
        }
        if self.fields >= 27 {
            out.push(b' ');
            out.s(self.source_region);
        }
        out.push(b'\n');
    }
}

/// Scratch buffers reused for every line.
struct SalScratch {
    key: Key,
    key2: Key,
    uri: Vec<u8>,
    host: Vec<u8>,
    ua: Vec<u8>,
    referrer: Vec<u8>,
}

const OP_WEIGHTS: &[u32] = &[
    36, // 0 GET object
    9,  // 1 HEAD object
    12, // 2 PUT object
    6,  // 3 list
    3,  // 4 DELETE object
    2,  // 5 copy pair
    2,  // 6 multi-object delete + BATCH.DELETE.OBJECT lines
    3,  // 7 lifecycle
    4,  // 8 multipart
    6,  // 9 bucket config GET
    1,  // 10 bucket config PUT
    2,  // 11 tagging
    9,  // 12 website GET (anonymous, HTTP)
    1,  // 13 CORS preflight
    1,  // 14 log delivery PUT
];

const BUCKET_CONFIG_GET: &[(&str, &str)] = &[
    ("REST.GET.VERSIONING", "versioning"),
    ("REST.GET.LOGGING_STATUS", "logging"),
    ("REST.GET.BUCKETPOLICY", "policy"),
    ("REST.GET.ACL", "acl"),
    ("REST.GET.LOCATION", "location"),
    ("REST.GET.ENCRYPTION", "encryption"),
    ("REST.GET.PUBLIC_ACCESS_BLOCK", "publicAccessBlock"),
    ("REST.GET.LIFECYCLE", "lifecycle"),
    ("REST.GET.NOTIFICATION", "notification"),
    ("REST.GET.CORS", "cors"),
];

const BUCKET_CONFIG_PUT: &[(&str, &str)] = &[
    ("REST.PUT.BUCKETPOLICY", "policy"),
    ("REST.PUT.ACL", "acl"),
    ("REST.PUT.PUBLIC_ACCESS_BLOCK", "publicAccessBlock"),
    ("REST.PUT.LIFECYCLE", "lifecycle"),
];

struct SalGen {
    world: World,
    rng: Rng,
    sc: SalScratch,
}

/// How a request reached S3: decides the host header and whether the URI is path-style.
fn write_host(rng: &mut Rng, b: &Bucket, website: bool, out: &mut Vec<u8>) -> bool {
    out.clear();
    if website {
        if b.name.contains('.') && rng.pct(70) {
            out.s(b.name);
        } else {
            out.s(b.name);
            out.s(".s3-website-");
            out.s(b.region);
            out.s(".amazonaws.com");
        }
        return false;
    }
    match rng.below(100) {
        0..=59 => {
            out.s(b.name);
            out.s(".s3.");
            out.s(b.region);
            out.s(".amazonaws.com");
            false
        }
        60..=79 => {
            out.s(b.name);
            out.s(".s3.amazonaws.com");
            false
        }
        80..=87 => {
            out.s("s3.");
            out.s(b.region);
            out.s(".amazonaws.com");
            true
        }
        88..=90 => {
            out.s("s3-");
            out.s(b.region);
            out.s(".amazonaws.com");
            true
        }
        91..=95 => {
            out.s(b.name);
            out.s(".s3.dualstack.");
            out.s(b.region);
            out.s(".amazonaws.com");
            false
        }
        96..=97 => {
            out.s(b.name);
            out.s(".s3.");
            out.s(b.region);
            out.s(".amazonaws.com:443");
            false
        }
        _ => {
            out.s(b.name);
            out.s(".s3-accesspoint.");
            out.s(b.region);
            out.s(".amazonaws.com");
            false
        }
    }
}

/// Writes `"METHOD /path?query HTTP/1.1"` into `out` (cleared first).
fn write_uri(
    out: &mut Vec<u8>,
    method: &str,
    bucket: &Bucket,
    path_style: bool,
    key: &[u8],
    query: &[u8],
) {
    out.clear();
    out.push(b'"');
    out.s(method);
    out.s(" /");
    if path_style {
        out.s(bucket.name);
        if !key.is_empty() {
            out.push(b'/');
        }
    }
    out.extend_from_slice(key);
    out.extend_from_slice(query);
    out.s(" HTTP/1.1\"");
}

/// Appends presigned-URL query parameters (SigV4) to `out`.
fn push_presign(
    out: &mut Vec<u8>,
    rng: &mut Rng,
    p: &Principal,
    region: &str,
    t: u64,
    first: bool,
) {
    out.push(if first { b'?' } else { b'&' });
    out.s("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
    out.s(&p.access_key);
    out.s("%2F");
    out.s(COMPACT_DATE);
    out.s("%2F");
    out.s(region);
    out.s("%2Fs3%2Faws4_request&X-Amz-Date=");
    out.s(COMPACT_DATE);
    out.push(b'T');
    out.d2(t / 3600);
    out.d2(t / 60 % 60);
    out.d2(t % 60);
    out.s("Z&X-Amz-Expires=");
    out.s(rng.ps(&["300", "900", "3600", "86400", "604800"]));
    out.s("&X-Amz-SignedHeaders=host&X-Amz-Signature=");
    out.hex(rng, 64, false);
}

impl SalGen {
    fn new(seed: u64) -> SalGen {
        let mut rng = Rng::new(seed);
        let world = World::new(&mut rng);
        SalGen {
            world,
            rng,
            sc: SalScratch {
                key: Key::new(),
                key2: Key::new(),
                uri: Vec::with_capacity(512),
                host: Vec::with_capacity(128),
                ua: Vec::with_capacity(512),
                referrer: Vec::with_capacity(128),
            },
        }
    }

    /// Writes one request group (usually one line; copies and multi-object deletes write
    /// several lines sharing a request ID). With `single`, only one-line requests are chosen
    /// and `pad` extra bytes go into the user agent.
    fn group(&mut self, t: u64, single: bool, pad: usize, out: &mut Vec<u8>) {
        let rng = &mut self.rng;
        let w = &self.world;
        let sc = &mut self.sc;
        let mut cat = rng.weighted(OP_WEIGHTS);
        if single {
            cat = 0;
        }
        let bucket = if cat == 12 {
            &BUCKETS[3]
        } else if cat == 14 {
            &BUCKETS[6]
        } else {
            loop {
                let b = rng.pick(BUCKETS);
                if b.kind != BucketKind::Website || rng.pct(10) {
                    break b;
                }
            }
        };
        let p: &Principal = match cat {
            12 | 13 => &w.anon[rng.skewed(w.anon.len())],
            14 => &w.service[4],
            0 if !single && bucket.kind == BucketKind::Assets && rng.pct(20) => rng.pick(&w.oai),
            0 if bucket.kind == BucketKind::Assets && rng.pct(15) => {
                &w.anon[rng.skewed(w.anon.len())]
            }
            _ => w.api_caller(rng, bucket.acct),
        };
        let mut reqid = [0u8; 16];
        for c in reqid.iter_mut() {
            *c = ALNUM_UP[rng.below(36) as usize];
        }
        let fields = match rng.below(10) {
            0..=2 => 24,
            3..=6 => 26,
            _ => 27,
        };
        let website = cat == 12;
        let path_style = write_host(rng, bucket, website, &mut sc.host);
        // CloudFront OAI requests are signed; only true anonymous ones are not.
        let anonymous = p.kind == PKind::Anonymous;
        let presign = p.presign && matches!(cat, 0 | 2);
        let tls = if website { PLAIN_HTTP } else { p.tls };
        sc.ua.clear();
        sc.ua.s(&p.ua);
        sc.referrer.clear();
        if anonymous && rng.pct(60) {
            sc.referrer.s("\"https://www.example.com/");
            sc.referrer.s(rng.ps(&[
                "",
                "pricing/",
                "blog/2019/02/launch-week/",
                "products/12345?ref=home",
            ]));
            sc.referrer.push(b'"');
        } else {
            sc.referrer.s("\"-\"");
        }
        let source_region: &str = if p.ip.starts_with("10.") || anonymous || p.kind == PKind::Oai {
            "-"
        } else {
            rng.ps(REGIONS)
        };
        let mut line = SalLine {
            bucket,
            t,
            ip: p.ip.as_bytes(),
            requester: p.requester.as_bytes(),
            reqid,
            op: "REST.GET.OBJECT",
            key: b"-",
            uri: b"-",
            status: Some(200),
            err: "-",
            bytes: None,
            size: None,
            total: None,
            turn: None,
            referrer: &sc.referrer,
            ua: Some(&sc.ua),
            version: false,
            hostid: true,
            sig: if anonymous {
                "-"
            } else if rng.permille(15) {
                "SigV2"
            } else {
                "SigV4"
            },
            tls,
            auth: if anonymous {
                "-"
            } else if presign {
                "QueryString"
            } else {
                "AuthHeader"
            },
            host: &sc.host,
            access_point: sc.host.windows(14).any(|x| x == b"s3-accesspoint"),
            acl_required: rng.permille(20),
            source_region,
            fields,
        };
        // Status for object reads: mostly 200, some 206/304/403/404.
        let read_status = |rng: &mut Rng| -> (u16, &'static str) {
            match rng.below(100) {
                0..=84 => (200, "-"),
                85..=89 => (206, "-"),
                90..=93 => (304, "-"),
                94..=96 => (
                    403,
                    if rng.pct(80) {
                        "AccessDenied"
                    } else {
                        "SignatureDoesNotMatch"
                    },
                ),
                _ => (404, "NoSuchKey"),
            }
        };
        match cat {
            0 | 12 => {
                sc.key.generate(rng, bucket, t);
                sc.uri.clear();
                let mut q = Vec::new();
                if presign {
                    push_presign(&mut q, rng, p, bucket.region, t, true);
                } else if !website && rng.pct(15) {
                    q.s("?x-id=GetObject");
                } else if !website && bucket.versioned && rng.pct(10) {
                    q.s("?versionId=");
                    q.b64ish(rng, 32, VERSION_ID_CHARS);
                    line.version = true;
                }
                write_uri(&mut sc.uri, "GET", bucket, path_style, &sc.key.enc, &q);
                line.op = if website {
                    "WEBSITE.GET.OBJECT"
                } else {
                    "REST.GET.OBJECT"
                };
                line.key = &sc.key.enc;
                line.uri = &sc.uri;
                let (status, err) = read_status(rng);
                let size = rng.log_size(8, 26);
                line.status = Some(status);
                line.err = err;
                match status {
                    200 => {
                        line.bytes = Some(size);
                        line.size = Some(size);
                    }
                    206 => {
                        line.bytes = Some(size / rng.range(2, 16) + 1);
                        line.size = Some(size);
                    }
                    304 => line.size = Some(size),
                    403 => line.bytes = Some(rng.range(230, 260)),
                    _ => line.bytes = Some(rng.range(280, 330)),
                }
                line.total = Some(rng.range(1, 40) + line.bytes.unwrap_or(0) / 200_000);
                line.turn = Some(rng.range(1, line.total.unwrap().min(30)));
                line.version |= bucket.versioned && status == 200 && rng.pct(30);
                line.write(w, rng, pad, out);
            }
            1 => {
                sc.key.generate(rng, bucket, t);
                write_uri(&mut sc.uri, "HEAD", bucket, path_style, &sc.key.enc, b"");
                line.op = "REST.HEAD.OBJECT";
                line.key = &sc.key.enc;
                line.uri = &sc.uri;
                let (status, err) = read_status(rng);
                line.status = Some(if status == 206 { 200 } else { status });
                line.err = err;
                if status < 400 {
                    line.size = Some(rng.log_size(8, 26));
                }
                line.total = Some(rng.range(1, 20));
                line.turn = Some(rng.range(1, line.total.unwrap()));
                line.write(w, rng, pad, out);
            }
            2 | 14 => {
                sc.key.generate(rng, bucket, t);
                let mut q = Vec::new();
                if presign {
                    push_presign(&mut q, rng, p, bucket.region, t, true);
                } else if rng.pct(15) {
                    q.s("?x-id=PutObject");
                }
                write_uri(&mut sc.uri, "PUT", bucket, path_style, &sc.key.enc, &q);
                line.op = "REST.PUT.OBJECT";
                line.key = &sc.key.enc;
                line.uri = &sc.uri;
                if cat == 14 {
                    line.ip = b"-";
                    line.source_region = "-";
                }
                let size = rng.log_size(8, 26);
                if rng.pct(3) {
                    line.status = Some(403);
                    line.err = "AccessDenied";
                    line.bytes = Some(243);
                } else {
                    line.size = Some(size);
                    line.version = bucket.versioned;
                }
                line.total = Some(rng.range(5, 80) + size / 100_000);
                line.turn = Some(rng.range(3, 40));
                line.write(w, rng, pad, out);
            }
            3 => {
                sc.key.prefix(rng, bucket);
                let mut q = Vec::new();
                q.s("?list-type=2&prefix=");
                push_query_encoded(&mut q, &sc.key.raw);
                q.s("&delimiter=%2F&encoding-type=url");
                if rng.pct(30) {
                    q.s("&continuation-token=");
                    q.b64ish(rng, 60, VERSION_ID_CHARS);
                }
                write_uri(&mut sc.uri, "GET", bucket, path_style, b"", &q);
                line.op = "REST.GET.BUCKET";
                line.uri = &sc.uri;
                line.bytes = Some(rng.range(600, 90_000));
                line.total = Some(rng.range(10, 300));
                line.turn = Some(rng.range(5, line.total.unwrap()));
                line.write(w, rng, pad, out);
            }
            4 => {
                sc.key.generate(rng, bucket, t);
                write_uri(&mut sc.uri, "DELETE", bucket, path_style, &sc.key.enc, b"");
                line.op = "REST.DELETE.OBJECT";
                line.key = &sc.key.enc;
                line.uri = &sc.uri;
                line.status = Some(204);
                line.total = Some(rng.range(5, 40));
                line.turn = Some(rng.range(3, line.total.unwrap()));
                line.version = bucket.versioned;
                line.write(w, rng, pad, out);
            }
            5 => {
                // Copy: destination PUT line, then the REST.COPY.OBJECT_GET line for the source.
                sc.key.generate(rng, bucket, t);
                sc.key2.generate(rng, bucket, t);
                write_uri(&mut sc.uri, "PUT", bucket, path_style, &sc.key.enc, b"");
                let size = rng.log_size(10, 26);
                line.op = "REST.COPY.OBJECT";
                line.key = &sc.key.enc;
                line.uri = &sc.uri;
                line.bytes = Some(rng.range(220, 260));
                line.size = Some(size);
                line.total = Some(rng.range(20, 400));
                line.turn = Some(rng.range(10, line.total.unwrap()));
                line.version = bucket.versioned;
                line.write(w, rng, 0, out);
                line.op = "REST.COPY.OBJECT_GET";
                line.key = &sc.key2.enc;
                line.uri = b"-";
                line.bytes = None;
                line.total = None;
                line.turn = None;
                line.referrer = b"-";
                line.ua = None;
                line.write(w, rng, 0, out);
            }
            6 => {
                // Multi-object delete: one POST line plus one BATCH.DELETE.OBJECT line per key.
                write_uri(&mut sc.uri, "POST", bucket, path_style, b"", b"?delete");
                line.op = "REST.POST.MULTI_OBJECT_DELETE";
                line.uri = &sc.uri;
                line.bytes = Some(rng.range(300, 3000));
                line.size = Some(rng.range(200, 2000));
                line.total = Some(rng.range(20, 200));
                line.turn = Some(rng.range(10, line.total.unwrap()));
                line.write(w, rng, 0, out);
                let n = rng.range(1, 4);
                for _ in 0..n {
                    sc.key.generate(rng, bucket, t);
                    let batch = SalLine {
                        op: "BATCH.DELETE.OBJECT",
                        key: &sc.key.enc,
                        uri: b"-",
                        status: Some(204),
                        bytes: None,
                        size: None,
                        total: None,
                        turn: None,
                        referrer: b"-",
                        ua: None,
                        version: bucket.versioned && rng.pct(50),
                        ..line
                    };
                    batch.write(w, rng, 0, out);
                }
            }
            7 => {
                // Lifecycle action: requester AmazonS3, no remote IP, no HTTP status.
                sc.key.generate(rng, bucket, t);
                line.op = rng.ps(&[
                    "S3.EXPIRE.OBJECT",
                    "S3.EXPIRE.OBJECT",
                    "S3.TRANSITION_SIA.OBJECT",
                    "S3.TRANSITION_INT.OBJECT",
                    "S3.CREATE.DELETEMARKER",
                ]);
                line.ip = b"-";
                line.requester = b"AmazonS3";
                line.key = &sc.key.enc;
                line.uri = b"\"-\"";
                line.status = None;
                line.size = Some(rng.log_size(8, 26));
                line.referrer = b"\"-\"";
                line.ua = Some(b"-");
                line.version = bucket.versioned;
                line.hostid = false;
                line.sig = "-";
                line.tls = PLAIN_HTTP;
                line.auth = "-";
                line.host = b"-";
                line.access_point = false;
                line.acl_required = false;
                line.source_region = "-";
                line.write(w, rng, 0, out);
            }
            8 => {
                sc.key.generate(rng, bucket, t);
                let mut q = Vec::new();
                let upload_id =
                    |q: &mut Vec<u8>, rng: &mut Rng| q.b64ish(rng, 88, VERSION_ID_CHARS);
                match rng.below(4) {
                    0 => {
                        line.op = "REST.POST.UPLOADS";
                        q.s("?uploads");
                        write_uri(&mut sc.uri, "POST", bucket, path_style, &sc.key.enc, &q);
                        line.bytes = Some(rng.range(380, 460));
                    }
                    1 | 2 => {
                        line.op = "REST.PUT.PART";
                        q.s("?partNumber=");
                        q.u(rng.range(1, 120));
                        q.s("&uploadId=");
                        upload_id(&mut q, rng);
                        write_uri(&mut sc.uri, "PUT", bucket, path_style, &sc.key.enc, &q);
                        line.size = Some(rng.range(5, 100) << 20);
                    }
                    _ => {
                        line.op = "REST.POST.UPLOAD";
                        q.s("?uploadId=");
                        upload_id(&mut q, rng);
                        write_uri(&mut sc.uri, "POST", bucket, path_style, &sc.key.enc, &q);
                        line.bytes = Some(rng.range(380, 520));
                        line.size = Some(rng.range(1, 50) << 24);
                    }
                }
                line.key = &sc.key.enc;
                line.uri = &sc.uri;
                line.total = Some(rng.range(20, 3000));
                line.turn = Some(rng.range(10, 200).min(line.total.unwrap()));
                line.write(w, rng, pad, out);
            }
            9 | 10 => {
                let (op, sub) = if cat == 9 {
                    *rng.pick(BUCKET_CONFIG_GET)
                } else {
                    *rng.pick(BUCKET_CONFIG_PUT)
                };
                let mut q = Vec::new();
                q.push(b'?');
                q.s(sub);
                write_uri(
                    &mut sc.uri,
                    if cat == 9 { "GET" } else { "PUT" },
                    bucket,
                    path_style,
                    b"",
                    &q,
                );
                line.op = op;
                line.uri = &sc.uri;
                if cat == 9 {
                    if sub == "policy" && rng.pct(50) {
                        line.status = Some(404);
                        line.err = "NoSuchBucketPolicy";
                        line.bytes = Some(rng.range(280, 320));
                    } else {
                        line.bytes = Some(rng.range(100, 1200));
                    }
                } else {
                    line.status = Some(if rng.pct(90) { 204 } else { 200 });
                    line.size = Some(rng.range(150, 2000));
                }
                line.total = Some(rng.range(5, 60));
                line.turn = Some(rng.range(3, line.total.unwrap()));
                line.write(w, rng, pad, out);
            }
            11 => {
                sc.key.generate(rng, bucket, t);
                let put = rng.pct(30);
                write_uri(
                    &mut sc.uri,
                    if put { "PUT" } else { "GET" },
                    bucket,
                    path_style,
                    &sc.key.enc,
                    b"?tagging",
                );
                line.op = if put {
                    "REST.PUT.OBJECT_TAGGING"
                } else {
                    "REST.GET.OBJECT_TAGGING"
                };
                line.key = &sc.key.enc;
                line.uri = &sc.uri;
                if put {
                    line.size = Some(rng.range(100, 400));
                } else {
                    line.bytes = Some(rng.range(100, 400));
                }
                line.total = Some(rng.range(5, 40));
                line.turn = Some(rng.range(3, line.total.unwrap()));
                line.write(w, rng, pad, out);
            }
            _ => {
                // 13: CORS preflight from a browser
                sc.key.generate(rng, bucket, t);
                write_uri(&mut sc.uri, "OPTIONS", bucket, path_style, &sc.key.enc, b"");
                line.op = "REST.OPTIONS.PREFLIGHT";
                line.key = &sc.key.enc;
                line.uri = &sc.uri;
                line.total = Some(rng.range(1, 10));
                line.turn = Some(1);
                line.referrer = b"\"https://app.example.com/\"";
                line.write(w, rng, pad, out);
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// CloudTrail records.

struct CtGen {
    world: World,
    rng: Rng,
    key: Key,
    key2: Key,
}

/// (eventName, weight)
const CT_EVENTS: &[(&str, u32)] = &[
    ("GetObject", 30),
    ("HeadObject", 8),
    ("PutObject", 14),
    ("ListObjects", 8),
    ("DeleteObject", 3),
    ("DeleteObjects", 2),
    ("CopyObject", 2),
    ("CreateMultipartUpload", 1),
    ("UploadPart", 3),
    ("CompleteMultipartUpload", 1),
    ("GetObjectTagging", 2),
    ("GetBucketAcl", 3),
    ("GetBucketLocation", 3),
    ("ListBuckets", 2),
    ("GetBucketPolicy", 1),
    ("PutBucketPolicy", 1),
    ("PutBucketPublicAccessBlock", 1),
    ("GetBucketEncryption", 2),
    ("AssumeRole", 6),
];

#[inline]
fn jtime(out: &mut Vec<u8>, t: u64) {
    out.push(b'"');
    out.s(CT_DATE);
    out.hms(t);
    out.s("Z\"");
}

impl CtGen {
    fn new(seed: u64) -> CtGen {
        let mut rng = Rng::new(seed);
        let world = World::new(&mut rng);
        CtGen {
            world,
            rng,
            key: Key::new(),
            key2: Key::new(),
        }
    }

    /// Writes one compact JSON record; `pad` extra bytes go into the userAgent string.
    fn record(&mut self, t: u64, pad: usize, out: &mut Vec<u8>) {
        let rng = &mut self.rng;
        let w = &self.world;
        let weights: [u32; 19] = std::array::from_fn(|i| CT_EVENTS[i].1);
        let ev = CT_EVENTS[rng.weighted(&weights)].0;
        let is_sts = ev == "AssumeRole";
        let bucket = loop {
            let b = rng.pick(BUCKETS);
            if b.kind != BucketKind::Website || rng.pct(20) {
                break b;
            }
        };
        let p: &Principal = if is_sts {
            rng.pick(&w.sts_callers)
        } else if ev == "GetObject" && bucket.kind == BucketKind::Assets && rng.pct(20) {
            &w.anon[rng.skewed(w.anon.len())]
        } else if ev == "GetObject" && bucket.kind == BucketKind::DataLake && rng.pct(10) {
            rng.pick(&w.service[..2])
        } else {
            w.api_caller(rng, bucket.acct)
        };
        let data = matches!(
            ev,
            "GetObject"
                | "HeadObject"
                | "PutObject"
                | "ListObjects"
                | "DeleteObject"
                | "DeleteObjects"
                | "CopyObject"
                | "CreateMultipartUpload"
                | "UploadPart"
                | "CompleteMultipartUpload"
                | "GetObjectTagging"
        );
        let read_only = matches!(
            ev,
            "GetObject"
                | "HeadObject"
                | "ListObjects"
                | "GetObjectTagging"
                | "GetBucketAcl"
                | "GetBucketLocation"
                | "ListBuckets"
                | "GetBucketPolicy"
                | "GetBucketEncryption"
                | "AssumeRole"
        );
        let owner = &w.accounts[bucket.acct];
        let recipient = if is_sts {
            w.accounts[p.acct].id
        } else {
            owner.id
        };
        let service = p.kind == PKind::Service;
        let svc_name: &str = if service {
            p.requester.trim_start_matches("svc:")
        } else {
            ""
        };

        out.s("{\"eventVersion\":\"");
        out.s(if data {
            rng.ps(&["1.09", "1.10", "1.10", "1.11"])
        } else {
            rng.ps(&["1.08", "1.09", "1.11"])
        });
        out.s("\",\"userIdentity\":");
        out.s(&p.identity_pre);
        if !p.identity_post.is_empty() {
            jtime_inner(out, t.saturating_sub(rng.range(60, 3500)));
            out.s(&p.identity_post);
        }
        out.s(",\"eventTime\":");
        jtime(out, t);
        out.s(",\"eventSource\":\"");
        out.s(if is_sts {
            "sts.amazonaws.com"
        } else {
            "s3.amazonaws.com"
        });
        out.s("\",\"eventName\":\"");
        out.s(ev);
        out.s("\",\"awsRegion\":\"");
        out.s(if is_sts { "us-east-1" } else { bucket.region });
        out.s("\",\"sourceIPAddress\":\"");
        if service {
            out.s(svc_name);
        } else {
            out.s(&p.ip);
        }
        out.s("\",\"userAgent\":\"");
        if service {
            out.s(svc_name);
        } else if is_sts {
            out.s(&p.ua);
        } else {
            out.push(b'[');
            out.s(&p.ua);
            out.push(b']');
        }
        for i in 0..pad {
            out.push(if i % 8 == 0 { b' ' } else { b'x' });
        }
        out.push(b'"');

        // Errors: access denied on some reads/writes, missing policies.
        let mut error = false;
        if ev == "GetBucketPolicy" && rng.pct(50) {
            out.s(",\"errorCode\":\"NoSuchBucketPolicy\",\"errorMessage\":\"The bucket policy does not exist\"");
            error = true;
        } else if matches!(ev, "GetObject" | "PutObject" | "ListObjects") && rng.pct(3) {
            out.s(",\"errorCode\":\"AccessDenied\",\"errorMessage\":\"Access Denied\"");
            error = true;
        } else if ev == "GetObject" && rng.pct(2) {
            out.s(",\"errorCode\":\"NoSuchKey\",\"errorMessage\":\"The specified key does not exist.\"");
            error = true;
        }

        // requestParameters / responseElements
        let host = |out: &mut Vec<u8>, rng: &mut Rng| {
            out.s(",\"Host\":\"");
            out.s(bucket.name);
            out.s(if rng.pct(70) {
                ".s3."
            } else {
                ".s3.dualstack."
            });
            out.s(bucket.region);
            out.s(".amazonaws.com\"");
        };
        let mut bytes_in: u64 = 0;
        let mut bytes_out: u64 = 0;
        let mut object_key = false;
        let mut list_prefix = false;
        let mut copy_source = false;
        let mut delete_keys = 0u64;
        out.s(",\"requestParameters\":");
        match ev {
            "AssumeRole" => {
                let (role, _) = *rng.pick(ROLES);
                out.s("{\"roleArn\":\"arn:aws:iam::");
                out.s(recipient);
                out.s(":role/");
                out.s(role);
                out.s("\",\"roleSessionName\":\"");
                out.s(rng.ps(&[
                    "botocore-session-1549411200",
                    "i-0a1b2c3d4e5f67890",
                    "GitHubActions",
                    "aws-go-sdk-1549411238",
                ]));
                out.s("\",\"durationSeconds\":");
                out.s(rng.ps(&["900", "3600", "43200"]));
                out.s("}");
            }
            "ListBuckets" => out.s("{\"Host\":\"s3.amazonaws.com\"}"),
            "ListObjects" => {
                self.key.prefix(rng, bucket);
                out.s("{\"list-type\":\"2\",\"bucketName\":\"");
                out.s(bucket.name);
                out.s("\"");
                host(out, rng);
                out.s(",\"prefix\":\"");
                out.extend_from_slice(&self.key.raw);
                out.s("\",\"delimiter\":\"/\",\"encoding-type\":\"url\"}");
                list_prefix = true;
                bytes_out = rng.range(600, 90_000);
            }
            "GetBucketAcl" | "GetBucketLocation" | "GetBucketPolicy" | "GetBucketEncryption" => {
                out.s("{\"bucketName\":\"");
                out.s(bucket.name);
                out.s("\"");
                host(out, rng);
                out.s(match ev {
                    "GetBucketAcl" => ",\"acl\":\"\"}",
                    "GetBucketLocation" => ",\"location\":\"\"}",
                    "GetBucketPolicy" => ",\"policy\":\"\"}",
                    _ => ",\"encryption\":\"\"}",
                });
                bytes_out = rng.range(100, 1500);
            }
            "PutBucketPolicy" => {
                out.s("{\"bucketPolicy\":{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"AllowCloudFrontServicePrincipalReadOnly\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"cloudfront.amazonaws.com\"},\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::");
                out.s(bucket.name);
                out.s("/*\",\"Condition\":{\"StringEquals\":{\"AWS:SourceArn\":\"arn:aws:cloudfront::");
                out.s(owner.id);
                out.s(":distribution/");
                out.s(rng.ps(DISTRIBUTION_IDS));
                out.s("\"}}},{\"Sid\":\"DenyInsecureTransport\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":[\"arn:aws:s3:::");
                out.s(bucket.name);
                out.s("\",\"arn:aws:s3:::");
                out.s(bucket.name);
                out.s("/*\"],\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}]},\"bucketName\":\"");
                out.s(bucket.name);
                out.s("\"");
                host(out, rng);
                out.s(",\"policy\":\"\"}");
                bytes_in = rng.range(500, 900);
            }
            "PutBucketPublicAccessBlock" => {
                out.s("{\"publicAccessBlock\":\"\",\"bucketName\":\"");
                out.s(bucket.name);
                out.s("\",\"PublicAccessBlockConfiguration\":{\"xmlns\":\"http://s3.amazonaws.com/doc/2006-03-01/\",\"RestrictPublicBuckets\":true,\"BlockPublicPolicy\":true,\"BlockPublicAcls\":true,\"IgnorePublicAcls\":true}");
                host(out, rng);
                out.s("}");
                bytes_in = rng.range(250, 300);
            }
            "DeleteObjects" => {
                out.s("{\"bucketName\":\"");
                out.s(bucket.name);
                out.s("\"");
                host(out, rng);
                out.s(",\"delete\":\"\"}");
                delete_keys = rng.range(1, 3);
                bytes_in = 120 + delete_keys * 90;
                bytes_out = 80 + delete_keys * 70;
            }
            _ => {
                // object-level calls
                self.key.generate(rng, bucket, t);
                object_key = true;
                out.s("{\"bucketName\":\"");
                out.s(bucket.name);
                out.s("\"");
                host(out, rng);
                match ev {
                    "PutObject" => {
                        out.s(",\"x-amz-server-side-encryption\":\"");
                        out.s(if rng.pct(70) { "AES256" } else { "aws:kms" });
                        out.s("\"");
                        if rng.pct(30) {
                            out.s(",\"x-amz-acl\":\"bucket-owner-full-control\"");
                        }
                        bytes_in = rng.log_size(8, 24);
                    }
                    "CopyObject" => {
                        self.key2.generate(rng, bucket, t);
                        out.s(",\"x-amz-copy-source\":\"");
                        out.s(bucket.name);
                        out.push(b'/');
                        out.extend_from_slice(&self.key2.enc);
                        out.s("\"");
                        copy_source = true;
                        bytes_out = rng.range(220, 260);
                    }
                    "UploadPart" => {
                        out.s(",\"partNumber\":\"");
                        out.u(rng.range(1, 120));
                        out.s("\",\"uploadId\":\"");
                        out.b64ish(rng, 88, VERSION_ID_CHARS);
                        out.s("\"");
                        bytes_in = rng.range(5, 100) << 20;
                    }
                    "CompleteMultipartUpload" => {
                        out.s(",\"uploadId\":\"");
                        out.b64ish(rng, 88, VERSION_ID_CHARS);
                        out.s("\"");
                        bytes_in = rng.range(200, 8000);
                        bytes_out = rng.range(380, 520);
                    }
                    "CreateMultipartUpload" => {
                        out.s(",\"uploads\":\"\"");
                        bytes_out = rng.range(380, 460);
                    }
                    "GetObjectTagging" => {
                        out.s(",\"tagging\":\"\"");
                        bytes_out = rng.range(100, 400);
                    }
                    "GetObject" => {
                        if rng.pct(5) {
                            out.s(",\"response-content-disposition\":\"attachment\"");
                        }
                        if !error {
                            bytes_out = rng.log_size(8, 26);
                        }
                    }
                    _ => {}
                }
                out.s(",\"key\":\"");
                out.extend_from_slice(&self.key.raw);
                out.s("\"}");
            }
        }
        out.s(",\"responseElements\":");
        if error {
            out.s("null");
        } else {
            match ev {
                "AssumeRole" => {
                    out.s("{\"credentials\":{\"accessKeyId\":\"ASIA");
                    out.alnum_up(rng, 16);
                    out.s("\",\"sessionToken\":\"IQoJb3JpZ2luX2VjE");
                    out.b64ish(rng, 280, B64);
                    out.s("\",\"expiration\":\"Feb 6, 2019, ");
                    let exp = (t + 3600) % DAY;
                    let h12 = match exp / 3600 % 12 {
                        0 => 12,
                        h => h,
                    };
                    out.u(h12);
                    out.push(b':');
                    out.d2(exp / 60 % 60);
                    out.push(b':');
                    out.d2(exp % 60);
                    out.s(if exp / 3600 < 12 { " AM\"}" } else { " PM\"}" });
                    out.s(",\"assumedRoleUser\":{\"assumedRoleId\":\"AROA");
                    out.alnum_up(rng, 17);
                    out.s(":session\",\"arn\":\"arn:aws:sts::");
                    out.s(recipient);
                    out.s(":assumed-role/ReadOnly/session\"}}");
                }
                "PutObject" | "CompleteMultipartUpload" => {
                    out.s("{\"x-amz-server-side-encryption\":\"AES256\"");
                    if bucket.versioned {
                        out.s(",\"x-amz-version-id\":\"");
                        out.b64ish(rng, 32, VERSION_ID_CHARS);
                        out.s("\"");
                    }
                    out.s("}");
                }
                "CopyObject" => {
                    out.s("{\"x-amz-server-side-encryption\":\"AES256\",\"x-amz-copy-source-version-id\":\"");
                    out.b64ish(rng, 32, VERSION_ID_CHARS);
                    out.s("\"}");
                }
                "CreateMultipartUpload" => {
                    out.s("{\"bucket\":\"");
                    out.s(bucket.name);
                    out.s("\",\"key\":\"");
                    out.extend_from_slice(&self.key.raw);
                    out.s("\",\"uploadId\":\"");
                    out.b64ish(rng, 88, VERSION_ID_CHARS);
                    out.s("\"}");
                }
                _ => out.s("null"),
            }
        }

        // additionalEventData (S3 only)
        if !is_sts {
            out.s(",\"additionalEventData\":{\"SignatureVersion\":\"");
            out.s(if p.kind == PKind::Anonymous {
                "-"
            } else {
                "SigV4"
            });
            out.s("\",\"CipherSuite\":\"");
            out.s(p.tls.cipher);
            out.s("\",\"bytesTransferredIn\":");
            out.u(bytes_in);
            out.s(",\"AuthenticationMethod\":\"");
            out.s(if p.presign {
                "QueryString"
            } else {
                "AuthHeader"
            });
            out.s("\",\"x-amz-id-2\":\"");
            out.b64ish(rng, 75, B64);
            out.s("=\",\"bytesTransferredOut\":");
            out.u(bytes_out);
            if rng.permille(20) {
                out.s(",\"aclRequired\":\"Yes\"");
            }
            out.s("}");
        }
        out.s(",\"requestID\":\"");
        if is_sts {
            out.uuid(rng);
        } else {
            out.alnum_up(rng, 16);
        }
        out.s("\",\"eventID\":\"");
        out.uuid(rng);
        out.s("\",\"readOnly\":");
        out.s(if read_only { "true" } else { "false" });

        // resources
        out.s(",\"resources\":[");
        if is_sts {
            out.s("{\"accountId\":\"");
            out.s(recipient);
            out.s("\",\"type\":\"AWS::IAM::Role\",\"ARN\":\"arn:aws:iam::");
            out.s(recipient);
            out.s(":role/ReadOnly\"}");
        } else if ev == "ListBuckets" {
            // no resources
        } else {
            if object_key {
                out.s("{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::");
                out.s(bucket.name);
                out.push(b'/');
                out.extend_from_slice(&self.key.raw);
                out.s("\"},");
            } else if list_prefix {
                out.s("{\"type\":\"AWS::S3::Object\",\"ARNPrefix\":\"arn:aws:s3:::");
                out.s(bucket.name);
                out.push(b'/');
                out.extend_from_slice(&self.key.raw);
                out.s("\"},");
            } else if delete_keys > 0 {
                for _ in 0..delete_keys {
                    self.key.generate(rng, bucket, t);
                    out.s("{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::");
                    out.s(bucket.name);
                    out.push(b'/');
                    out.extend_from_slice(&self.key.raw);
                    out.s("\"},");
                }
            }
            out.s("{\"accountId\":\"");
            out.s(owner.id);
            out.s("\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::");
            out.s(bucket.name);
            out.s("\"}");
            if copy_source {
                out.s(",{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::");
                out.s(bucket.name);
                out.push(b'/');
                out.extend_from_slice(&self.key2.raw);
                out.s("\"}");
            }
        }
        out.s("],\"eventType\":\"AwsApiCall\",\"managementEvent\":");
        out.s(if data { "false" } else { "true" });
        out.s(",\"recipientAccountId\":\"");
        out.s(recipient);
        out.s("\"");
        if !is_sts && p.acct != bucket.acct && p.kind != PKind::Anonymous && !service {
            out.s(",\"sharedEventID\":\"");
            out.uuid(rng);
            out.s("\"");
        }
        if p.ip.starts_with("10.") && !service {
            out.s(",\"vpcEndpointId\":\"vpce-0");
            out.hex(rng, 16, false);
            out.s("\",\"vpcEndpointAccountId\":\"");
            out.s(w.accounts[p.acct].id);
            out.s("\"");
        }
        out.s(",\"eventCategory\":\"");
        out.s(if data { "Data" } else { "Management" });
        out.s("\"");
        if !service && p.tls.version != "-" {
            out.s(",\"tlsDetails\":{\"tlsVersion\":\"");
            out.s(p.tls.version);
            out.s("\",\"cipherSuite\":\"");
            out.s(p.tls.cipher);
            out.s("\",\"clientProvidedHostHeader\":\"");
            if is_sts {
                out.s("sts.amazonaws.com");
            } else if ev == "ListBuckets" {
                out.s("s3.amazonaws.com");
            } else {
                out.s(bucket.name);
                out.s(".s3.");
                out.s(bucket.region);
                out.s(".amazonaws.com");
            }
            out.s("\"}");
        }
        out.s("}");
    }
}

/// A timestamp string body without the surrounding quotes' opening (identity creationDate).
#[inline]
fn jtime_inner(out: &mut Vec<u8>, t: u64) {
    out.s(CT_DATE);
    out.hms(t);
    out.push(b'Z');
}

// ------------------------------------------------------------------------------------------------
// Driver: exact-size output.

/// Second of the day for progress `done/total`, with a little disorder as in real files.
#[inline]
fn time_for(rng: &mut Rng, done: u64, total: u64) -> u64 {
    let base = (done as u128 * DAY as u128 / total.max(1) as u128) as u64;
    let jitter = rng.below(30);
    base.saturating_sub(jitter).min(DAY - 1)
}

struct Counts {
    items: u64,
    bytes: u64,
}

fn gen_sal(bytes: u64, seed: u64, out: &mut dyn Write) -> io::Result<Counts> {
    const TAIL: u64 = 16 * 1024;
    // Upper bound of the final line's padding; longer than typical lines (~600 bytes).
    const MAX_LINE: u64 = 1200;
    let mut g = SalGen::new(seed);
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut written: u64 = 0;
    let mut lines: u64 = 0;
    if bytes < MIN_BYTES {
        return Err(io::Error::other(format!(
            "--bytes must be at least {MIN_BYTES}"
        )));
    }
    // Bulk: whole request groups.
    while bytes - written - buf.len() as u64 > TAIL {
        let t = time_for(&mut g.rng, written + buf.len() as u64, bytes);
        let before = buf.len();
        g.group(t, false, 0, &mut buf);
        lines += count_newlines(&buf[before..]);
        if buf.len() >= (1 << 20) - 8192 {
            out.write_all(&buf)?;
            written += buf.len() as u64;
            buf.clear();
        }
    }
    // Tail: single lines while at least MAX_LINE bytes would remain after them; then one line
    // padded to fill the rest exactly (pad < MAX_LINE). A candidate longer than what is left is
    // discarded and another drawn; since MAX_LINE always remains, that ends quickly.
    loop {
        let remaining = bytes - written - buf.len() as u64;
        let t = time_for(&mut g.rng, bytes - remaining, bytes);
        let saved = g.rng;
        let before = buf.len();
        g.group(t, true, 0, &mut buf);
        let len = (buf.len() - before) as u64;
        if remaining >= len + MAX_LINE {
            lines += 1;
            continue;
        }
        buf.truncate(before);
        if len > remaining {
            continue;
        }
        g.rng = saved;
        g.group(t, true, (remaining - len) as usize, &mut buf);
        lines += 1;
        break;
    }
    assert_eq!(written + buf.len() as u64, bytes);
    out.write_all(&buf)?;
    written += buf.len() as u64;
    Ok(Counts {
        items: lines,
        bytes: written,
    })
}

/// Smallest accepted `--bytes`.
const MIN_BYTES: u64 = 16 * 1024;

fn count_newlines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

fn gen_cloudtrail(bytes: u64, seed: u64, out: &mut dyn Write) -> io::Result<Counts> {
    const HEAD: &[u8] = b"{\"Records\":[";
    const END: &[u8] = b"]}";
    const TAIL: u64 = 64 * 1024;
    // Upper bound of the final record's padding; longer than typical records (~1.7 KB).
    const MAX_RECORD: u64 = 3000;
    if bytes < MIN_BYTES {
        return Err(io::Error::other(format!(
            "--bytes must be at least {MIN_BYTES}"
        )));
    }
    let mut g = CtGen::new(seed);
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    buf.extend_from_slice(HEAD);
    let mut written: u64 = 0;
    let mut records: u64 = 0;
    let fixed = END.len() as u64;
    while bytes - written - buf.len() as u64 > TAIL {
        let t = time_for(&mut g.rng, written + buf.len() as u64, bytes);
        if records > 0 {
            buf.push(b',');
        }
        g.record(t, 0, &mut buf);
        records += 1;
        if buf.len() >= (1 << 20) - 8192 {
            out.write_all(&buf)?;
            written += buf.len() as u64;
            buf.clear();
        }
    }
    // Same exact-size tail as gen_sal, with records.
    loop {
        let remaining = bytes - written - buf.len() as u64 - fixed;
        let t = time_for(&mut g.rng, bytes - remaining, bytes);
        let saved = g.rng;
        let before = buf.len();
        if records > 0 {
            buf.push(b',');
        }
        g.record(t, 0, &mut buf);
        let len = (buf.len() - before) as u64;
        if remaining >= len + MAX_RECORD {
            records += 1;
            continue;
        }
        buf.truncate(before);
        if len > remaining {
            continue;
        }
        g.rng = saved;
        if records > 0 {
            buf.push(b',');
        }
        g.record(t, (remaining - len) as usize, &mut buf);
        records += 1;
        break;
    }
    buf.extend_from_slice(END);
    out.write_all(&buf)?;
    written += buf.len() as u64;
    assert_eq!(written, bytes);
    Ok(Counts {
        items: records,
        bytes: written,
    })
}

// ------------------------------------------------------------------------------------------------
// Command line.

const USAGE: &str = "usage:
  bw-gen sal        --bytes N --out FILE [--seed S]
  bw-gen cloudtrail --bytes N --out FILE [--seed S] [--gzip]
  bw-gen --version

N is the exact output size in bytes (decompressed size with --gzip); suffixes K, M, G (powers of
1024) are accepted. The default seed is 1. Output is deterministic for (command, N, seed).";

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        None => (s, 1u64),
        Some((i, _)) => {
            let mul = match &s[i..] {
                "K" | "k" | "KiB" => 1 << 10,
                "M" | "m" | "MiB" => 1 << 20,
                "G" | "g" | "GiB" => 1 << 30,
                _ => return None,
            };
            (&s[..i], mul)
        }
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("bw-gen {} {FORMAT_VERSION}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if args.is_empty() || args.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("{USAGE}");
        return if args.is_empty() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let kind = args[0].as_str();
    let mut bytes = None;
    let mut out_path = None;
    let mut seed: u64 = 1;
    let mut gzip = false;
    let mut i = 1;
    while i < args.len() {
        let a = args[i].as_str();
        let val = args.get(i + 1).map(String::as_str);
        match (a, val) {
            ("--bytes", Some(v)) => {
                bytes = parse_size(v);
                if bytes.is_none() {
                    eprintln!("bw-gen: bad --bytes value {v:?}");
                    return ExitCode::from(2);
                }
                i += 2;
            }
            ("--out", Some(v)) => {
                out_path = Some(v.to_string());
                i += 2;
            }
            ("--seed", Some(v)) => match v.parse() {
                Ok(s) => {
                    seed = s;
                    i += 2;
                }
                Err(_) => {
                    eprintln!("bw-gen: bad --seed value {v:?}");
                    return ExitCode::from(2);
                }
            },
            ("--gzip", _) => {
                gzip = true;
                i += 1;
            }
            _ => {
                eprintln!("bw-gen: unexpected argument {a:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let (Some(bytes), Some(out_path)) = (bytes, out_path) else {
        eprintln!("bw-gen: --bytes and --out are required\n{USAGE}");
        return ExitCode::from(2);
    };
    if !matches!(kind, "sal" | "cloudtrail") {
        eprintln!("bw-gen: unknown kind {kind:?}\n{USAGE}");
        return ExitCode::from(2);
    }
    if gzip && kind != "cloudtrail" {
        eprintln!("bw-gen: --gzip is only supported for cloudtrail");
        return ExitCode::from(2);
    }
    match run(kind, bytes, seed, gzip, &out_path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bw-gen: {out_path}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(kind: &str, bytes: u64, seed: u64, gzip: bool, path: &str) -> io::Result<()> {
    let start = Instant::now();
    let file = File::create(path)?;
    let counts;
    let mut file_len = None;
    if gzip {
        let mut enc = GzEncoder::new(
            BufWriter::with_capacity(1 << 20, file),
            Compression::default(),
        );
        counts = gen_cloudtrail(bytes, seed, &mut enc)?;
        let mut inner = enc.finish()?;
        inner.flush()?;
        file_len = Some(inner.get_ref().metadata()?.len());
    } else {
        // Generators hand over ~1 MiB chunks, so a plain File is as good as a BufWriter here.
        let mut w = BufWriter::with_capacity(1 << 20, file);
        counts = if kind == "sal" {
            gen_sal(bytes, seed, &mut w)?
        } else {
            gen_cloudtrail(bytes, seed, &mut w)?
        };
        w.flush()?;
    }
    let secs = start.elapsed().as_secs_f64();
    let what = if kind == "sal" { "lines" } else { "records" };
    let gz = match file_len {
        Some(n) => format!(" gzip_bytes={n}"),
        None => String::new(),
    };
    eprintln!(
        "bw-gen: {kind} {what}={} bytes={} avg={:.0}{gz} seconds={secs:.2} MB/s={:.0} seed={seed} out={path}",
        counts.items,
        counts.bytes,
        counts.bytes as f64 / counts.items.max(1) as f64,
        counts.bytes as f64 / 1_048_576.0 / secs.max(1e-9),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sal(bytes: u64, seed: u64) -> (Vec<u8>, u64) {
        let mut out = Vec::new();
        let c = gen_sal(bytes, seed, &mut out).unwrap();
        (out, c.items)
    }

    fn cloudtrail(bytes: u64, seed: u64) -> (Vec<u8>, u64) {
        let mut out = Vec::new();
        let c = gen_cloudtrail(bytes, seed, &mut out).unwrap();
        (out, c.items)
    }

    #[test]
    fn sizes_are_exact() {
        for bytes in [MIN_BYTES, 20_000, 100_003, 1 << 20] {
            let (s, lines) = sal(bytes, 7);
            assert_eq!(s.len() as u64, bytes);
            assert_eq!(count_newlines(&s), lines);
            let (c, _) = cloudtrail(bytes, 7);
            assert_eq!(c.len() as u64, bytes);
        }
        assert!(gen_sal(MIN_BYTES - 1, 1, &mut Vec::new()).is_err());
    }

    #[test]
    fn output_is_deterministic_per_seed() {
        assert_eq!(sal(200_000, 3), sal(200_000, 3));
        assert_ne!(sal(200_000, 3).0, sal(200_000, 4).0);
        assert_eq!(cloudtrail(200_000, 3), cloudtrail(200_000, 3));
    }

    #[test]
    fn sal_lines_have_the_expected_shape() {
        let (s, _) = sal(1 << 20, 1);
        let text = std::str::from_utf8(&s).unwrap();
        let mut oai = 0;
        for line in text.lines() {
            let (owner, rest) = line.split_once(' ').unwrap();
            assert_eq!(owner.len(), 64, "{line}");
            assert!(owner.bytes().all(|b| b.is_ascii_hexdigit()), "{line}");
            assert!(
                rest.contains(" [06/Feb/2019:") && rest.contains(" +0000] "),
                "{line}"
            );
            assert!(!line.contains('\r') && !line.contains('\t'), "{line}");
            oai += usize::from(line.contains("CloudFront Origin Access Identity E"));
        }
        assert!(oai > 0);
    }

    #[test]
    fn cloudtrail_is_one_records_object() {
        let (c, records) = cloudtrail(1 << 20, 1);
        assert!(c.starts_with(b"{\"Records\":[{\"eventVersion\":\""));
        assert!(c.ends_with(b"}]}"));
        let starts = c
            .windows(17)
            .filter(|w| w == b"{\"eventVersion\":\"")
            .count() as u64;
        assert_eq!(starts, records);
        assert!(!c.contains(&b'\n'));
    }

    #[test]
    fn parse_size_suffixes() {
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("5M"), Some(5 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("2KiB"), Some(2048));
        assert_eq!(parse_size("5X"), None);
    }
}
