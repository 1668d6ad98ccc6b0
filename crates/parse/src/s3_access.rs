//! `AWS.S3ServerAccess`: the S3 server access log line, tokenized byte by byte.
//!
//! The format is space-separated but not reliably quoted: request URI, referrer and user agent
//! are quoted without escaping, so they may hold raw `"`; the time holds a space; a CloudFront
//! origin-access-identity requester holds spaces. Where the boundary of a field is ambiguous, each
//! candidate split is checked against the shape of the fields that follow it (the recovery
//! strategy of the reference): the request URI closes where it ends in `HTTP/x.y` and six
//! status-and-number fields follow; the user agent closes at the last quote after which the tail
//! fields look right. Lines of 18 to 27 fields parse; fields past the 27th are kept, in order, in
//! `additionalFields`. Bytes need not be UTF-8.

use bucketwatch_core::Indicators;
use bucketwatch_core::Timestamp;
use bucketwatch_core::json::{write_key, write_str, write_u64};
use memchr::memchr;

/// Why a line is not an access-log record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an S3 server access log line: {field}: {problem}")]
pub struct AccessLogError {
    pub field: &'static str,
    pub problem: &'static str,
}

fn fail<T>(field: &'static str, problem: &'static str) -> Result<T, AccessLogError> {
    Err(AccessLogError { field, problem })
}

/// One access-log record, borrowing from the line. `None` is a field logged as `-` or `"-"`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessLogRecord<'a> {
    pub bucketowner: Option<&'a [u8]>,
    pub bucket: Option<&'a [u8]>,
    pub time: Timestamp,
    pub remoteip: Option<&'a [u8]>,
    pub requester: Option<&'a [u8]>,
    pub requestid: Option<&'a [u8]>,
    pub operation: Option<&'a [u8]>,
    pub key: Option<&'a [u8]>,
    pub requesturi: Option<&'a [u8]>,
    pub httpstatus: Option<u64>,
    pub errorcode: Option<&'a [u8]>,
    pub bytessent: Option<u64>,
    pub objectsize: Option<u64>,
    pub totaltime: Option<u64>,
    pub turnaroundtime: Option<u64>,
    pub referrer: Option<&'a [u8]>,
    pub useragent: Option<&'a [u8]>,
    /// Fields 18 onwards, space-separated, as logged (`versionid` first).
    tail: &'a [u8],
    /// Where fields 18–27 lie within `tail`, found once while checking the tail's shape.
    tail_fields: TailFields,
}

/// Byte ranges of fields 18–27 within the tail, and where any later fields start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct TailFields {
    ranges: [(u32, u32); TAIL_NAMES.len()],
    count: usize,
    additional_start: Option<u32>,
}

/// Names of fields 18–27, in log order.
const TAIL_NAMES: [&str; 10] = [
    "versionid",
    "hostid",
    "signatureversion",
    "ciphersuite",
    "authenticationtype",
    "hostheader",
    "tlsVersion",
    "accesspointarn",
    "aclrequired",
    "sourceregion",
];

impl<'a> AccessLogRecord<'a> {
    /// Fields 18–27 by position (0 = `versionid`), `None` when `-` or absent.
    pub fn tail_field(&self, index: usize) -> Option<&'a [u8]> {
        if index >= self.tail_fields.count {
            return None;
        }
        let (start, end) = self.tail_fields.ranges[index];
        dash_is_none(&self.tail[start as usize..end as usize])
    }

    pub fn versionid(&self) -> Option<&'a [u8]> {
        self.tail_field(0)
    }
    pub fn hostid(&self) -> Option<&'a [u8]> {
        self.tail_field(1)
    }
    pub fn signatureversion(&self) -> Option<&'a [u8]> {
        self.tail_field(2)
    }
    pub fn ciphersuite(&self) -> Option<&'a [u8]> {
        self.tail_field(3)
    }
    pub fn authenticationtype(&self) -> Option<&'a [u8]> {
        self.tail_field(4)
    }
    pub fn hostheader(&self) -> Option<&'a [u8]> {
        self.tail_field(5)
    }
    pub fn tls_version(&self) -> Option<&'a [u8]> {
        self.tail_field(6)
    }
    pub fn accesspointarn(&self) -> Option<&'a [u8]> {
        self.tail_field(7)
    }
    pub fn aclrequired(&self) -> Option<&'a [u8]> {
        self.tail_field(8)
    }
    pub fn sourceregion(&self) -> Option<&'a [u8]> {
        self.tail_field(9)
    }

    /// Fields past the 27th, in order, as logged (a `-` stays `-`: its meaning is unknown).
    pub fn additional_fields(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let rest: &'a [u8] = match self.tail_fields.additional_start {
            Some(start) => &self.tail[start as usize..],
            None => &[],
        };
        rest.split(|&b| b == b' ').filter(move |_| !rest.is_empty())
    }

    /// The number of fields on the line.
    pub fn field_count(&self) -> usize {
        17 + self.tail_fields.count + self.additional_fields().count()
    }

    /// Appends the record's fields as the body of a JSON object (`"k":v,...`, no braces),
    /// leaving out null fields.
    pub fn write_json_fields(&self, out: &mut Vec<u8>) {
        let mut w = FieldWriter { out, first: true };
        w.str("bucketowner", self.bucketowner);
        w.str("bucket", self.bucket);
        w.key("time");
        w.out.push(b'"');
        w.out.extend_from_slice(&self.time.panther_bytes());
        w.out.push(b'"');
        w.str("remoteip", self.remoteip);
        w.str("requester", self.requester);
        w.str("requestid", self.requestid);
        w.str("operation", self.operation);
        w.str("key", self.key);
        w.str("requesturi", self.requesturi);
        w.num("httpstatus", self.httpstatus);
        w.str("errorcode", self.errorcode);
        w.num("bytessent", self.bytessent);
        w.num("objectsize", self.objectsize);
        w.num("totaltime", self.totaltime);
        w.num("turnaroundtime", self.turnaroundtime);
        w.str("referrer", self.referrer);
        w.str("useragent", self.useragent);
        for (i, name) in TAIL_NAMES.iter().enumerate().take(self.tail_fields.count) {
            w.str(name, self.tail_field(i));
        }
        let mut additional = self.additional_fields().peekable();
        if additional.peek().is_some() {
            w.key("additionalFields");
            w.out.push(b'[');
            for (i, v) in additional.enumerate() {
                if i > 0 {
                    w.out.push(b',');
                }
                write_str(w.out, v);
            }
            w.out.push(b']');
        }
    }

    /// Indicators: the remote IP when it is a valid address, the requester and access point
    /// ARNs with their accounts, and the host header's domain.
    pub fn collect_indicators(&self, ind: &mut Indicators) {
        if let Some(ip) = self.remoteip {
            ind.add_ip(ip);
        }
        if let Some(r) = self.requester {
            ind.add_arn(r);
        }
        if let Some(a) = self.accesspointarn() {
            ind.add_arn(a);
        }
        if let Some(h) = self.hostheader() {
            ind.add_domain(h);
        }
    }
}

struct FieldWriter<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl FieldWriter<'_> {
    #[inline]
    fn key(&mut self, name: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_key(self.out, name);
    }

    #[inline]
    fn str(&mut self, name: &str, v: Option<&[u8]>) {
        if let Some(v) = v {
            self.key(name);
            write_str(self.out, v);
        }
    }

    #[inline]
    fn num(&mut self, name: &str, v: Option<u64>) {
        if let Some(v) = v {
            self.key(name);
            write_u64(self.out, v);
        }
    }
}

fn dash_is_none(v: &[u8]) -> Option<&[u8]> {
    (v != b"-").then_some(v)
}

fn quoted_dash_is_none(v: &[u8]) -> Option<&[u8]> {
    (v != b"-" && v != b"\"-\"").then_some(v)
}

/// The token starting at `pos`: up to the next space or the end. Returns it and the position
/// after the separating space.
#[inline]
fn token(line: &[u8], pos: usize) -> (&[u8], usize) {
    // Most fields are a few bytes long: a plain loop beats a vectorized search's setup there.
    let rest = &line[pos..];
    let short = rest.len().min(16);
    let end = match rest[..short].iter().position(|&b| b == b' ') {
        Some(i) => Some(i),
        None if rest.len() > short => memchr(b' ', &rest[short..]).map(|i| short + i),
        None => None,
    };
    match end {
        Some(i) => (&rest[..i], pos + i + 1),
        None => (rest, line.len()),
    }
}

fn is_number_or_dash(t: &[u8]) -> bool {
    t == b"-" || (!t.is_empty() && t.len() <= 19 && t.iter().all(u8::is_ascii_digit))
}

fn number(t: &[u8], field: &'static str) -> Result<Option<u64>, AccessLogError> {
    if t == b"-" {
        return Ok(None);
    }
    if t.is_empty() || t.len() > 19 || !t.iter().all(u8::is_ascii_digit) {
        return fail(field, "expected a whole number or -");
    }
    Ok(Some(
        t.iter().fold(0u64, |v, b| v * 10 + u64::from(b - b'0')),
    ))
}

fn is_request_id(t: &[u8]) -> bool {
    !t.is_empty() && t.len() <= 64 && t.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

/// `word(.word)+`, as every defined operation form is (REST.GET.OBJECT, S3.EXPIRE.OBJECT, ...).
fn is_operation(t: &[u8]) -> bool {
    let mut dots = 0;
    let mut previous_dot = true;
    for &b in t {
        if b == b'.' {
            if previous_dot {
                return false;
            }
            dots += 1;
            previous_dot = true;
        } else if b.is_ascii_alphanumeric() || b == b'_' {
            previous_dot = false;
        } else {
            return false;
        }
    }
    dots >= 1 && !previous_dot
}

/// `METHOD target HTTP/x[.y]`: the shape that tells a request URI's real closing quote.
fn ends_like_request_line(content: &[u8]) -> bool {
    let Some(i) = memchr::memrchr(b' ', content) else {
        return false;
    };
    let version = &content[i + 1..];
    version.len() >= 6
        && version[..5].eq_ignore_ascii_case(b"HTTP/")
        && version[5..]
            .iter()
            .all(|b| b.is_ascii_digit() || *b == b'.')
}

/// Whether the six fields after the request URI (status, error code, four numbers) fit.
fn status_fields_fit(line: &[u8], mut pos: usize) -> bool {
    for i in 0..6 {
        if pos >= line.len() {
            return false;
        }
        let (t, next) = token(line, pos);
        let ok = match i {
            1 => !t.is_empty() && t[0] != b'"',
            _ => is_number_or_dash(t),
        };
        if !ok {
            return false;
        }
        pos = next;
    }
    pos < line.len()
}

/// Splits `tail` (fields 18 onwards) when it looks like what AWS writes there: no empty
/// fields, no quotes, a signature version in field 20 and a TLS version in field 24.
fn split_tail(tail: &[u8]) -> Option<TailFields> {
    if tail.is_empty() || memchr(b'"', tail).is_some() {
        return None;
    }
    let mut fields = TailFields::default();
    let mut start = 0usize;
    loop {
        let end = memchr(b' ', &tail[start..]).map_or(tail.len(), |i| start + i);
        let t = &tail[start..end];
        let ok = !t.is_empty()
            && match fields.count {
                2 => t == b"-" || t.starts_with(b"SigV"),
                6 => t == b"-" || (t.len() >= 3 && t[..3].eq_ignore_ascii_case(b"TLS")),
                _ => true,
            };
        if !ok {
            return None;
        }
        fields.ranges[fields.count] = (start as u32, end as u32);
        fields.count += 1;
        if end == tail.len() {
            return Some(fields);
        }
        start = end + 1;
        if fields.count == TAIL_NAMES.len() {
            // Fields AWS may append later: kept as logged, never validated.
            let rest = &tail[start..];
            if rest.is_empty() || rest.split(|&b| b == b' ').any(<[u8]>::is_empty) {
                return None;
            }
            fields.additional_start = Some(start as u32);
            return Some(fields);
        }
    }
}

/// The user agent (`None` when `-`), the tail after it, and the tail's fields.
type UserAgentAndTail<'a> = (Option<&'a [u8]>, &'a [u8], TailFields);

/// Splits `rest` (from the user agent onwards) into the user agent and the tail, trying the
/// quotes from last to first.
fn split_useragent(rest: &[u8]) -> Option<UserAgentAndTail<'_>> {
    if rest.first() != Some(&b'"') {
        let (ua, next) = token(rest, 0);
        if next >= rest.len() {
            return None;
        }
        let fields = split_tail(&rest[next..])?;
        return Some((dash_is_none(ua), &rest[next..], fields));
    }
    let mut end = rest.len();
    while let Some(q) = memchr::memrchr(b'"', &rest[..end]) {
        if q == 0 {
            return None;
        }
        if rest.get(q + 1) == Some(&b' ')
            && let Some(fields) = split_tail(&rest[q + 2..])
        {
            let ua = quoted_dash_is_none(&rest[..=q]).map(|_| &rest[1..q]);
            return Some((ua, &rest[q + 2..], fields));
        }
        end = q;
    }
    None
}

/// Parses one access-log line (without its line terminator).
pub fn parse_line(line: &[u8]) -> Result<AccessLogRecord<'_>, AccessLogError> {
    let mut rec = AccessLogRecord::default();
    if line.len() < 40 {
        return fail("line", "too short to hold 18 fields");
    }
    if memchr(0, line).is_some() {
        return fail("line", "contains NUL bytes (binary data)");
    }
    let (owner, pos) = token(line, 0);
    if owner.is_empty() || owner[0] == b'"' || owner[0] == b'{' {
        return fail("bucketowner", "missing");
    }
    rec.bucketowner = dash_is_none(owner);
    let (bucket, pos) = token(line, pos);
    if bucket.is_empty() {
        return fail("bucket", "missing");
    }
    rec.bucket = dash_is_none(bucket);

    if line.get(pos) != Some(&b'[') {
        return fail("time", "expected [dd/Mon/yyyy:HH:MM:SS +zzzz]");
    }
    let Some(close) = memchr(b']', &line[pos..]).map(|i| pos + i) else {
        return fail("time", "no closing ]");
    };
    rec.time = Timestamp::parse_access_log(&line[pos..=close]).ok_or(AccessLogError {
        field: "time",
        problem: "expected [dd/Mon/yyyy:HH:MM:SS +zzzz]",
    })?;
    if line.get(close + 1) != Some(&b' ') {
        return fail("time", "not followed by a space");
    }
    let (remoteip, mut pos) = token(line, close + 2);
    rec.remoteip = dash_is_none(remoteip);

    // The requester may hold spaces (CloudFront origin access identities): take as many tokens
    // as it needs for a request id and an operation to follow.
    let requester_start = pos;
    let mut found = false;
    for _ in 0..8 {
        let (_, after) = token(line, pos);
        let (rid, after_rid) = token(line, after);
        let (op, _) = token(line, after_rid);
        pos = after;
        if is_request_id(rid) && is_operation(op) {
            found = true;
            break;
        }
    }
    if !found {
        return fail(
            "operation",
            "no request id and operation after the requester",
        );
    }
    rec.requester = dash_is_none(&line[requester_start..pos - 1]);
    let (rid, pos) = token(line, pos);
    rec.requestid = Some(rid);
    let (op, mut pos) = token(line, pos);
    rec.operation = Some(op);

    // The key is URL-encoded and so holds no spaces, but keep any that appear: the request URI
    // is the next field that starts with a quote or is a bare `-` before a status.
    let key_start = pos;
    loop {
        if pos >= line.len() {
            return fail("requesturi", "missing");
        }
        let (_, next) = token(line, pos);
        pos = next;
        match line.get(pos) {
            Some(b'"') => break,
            Some(b'-') if line.get(pos + 1) == Some(&b' ') && status_fields_fit(line, pos + 2) => {
                break;
            }
            _ => {}
        }
    }
    rec.key = dash_is_none(&line[key_start..pos - 1]);

    if line[pos] == b'-' {
        pos += 2;
    } else {
        // Accept the first closing quote that ends a request line and is followed by fields of
        // the right shape; failing that, the first one followed by fields of the right shape.
        let open = pos;
        let mut fallback = None;
        let mut chosen = None;
        let mut from = open + 1;
        while let Some(q) = memchr(b'"', &line[from..]).map(|i| from + i) {
            from = q + 1;
            if line.get(q + 1) != Some(&b' ') || !status_fields_fit(line, q + 2) {
                continue;
            }
            if ends_like_request_line(&line[open + 1..q]) {
                chosen = Some(q);
                break;
            }
            fallback.get_or_insert(q);
        }
        let Some(q) = chosen.or(fallback) else {
            return fail(
                "requesturi",
                "no closing quote followed by the status fields",
            );
        };
        rec.requesturi = quoted_dash_is_none(&line[open..=q]).map(|_| &line[open + 1..q]);
        pos = q + 2;
    }

    let (t, pos) = token(line, pos);
    rec.httpstatus = number(t, "httpstatus")?;
    let (t, pos) = token(line, pos);
    rec.errorcode = dash_is_none(t);
    let (t, pos) = token(line, pos);
    rec.bytessent = number(t, "bytessent")?;
    let (t, pos) = token(line, pos);
    rec.objectsize = number(t, "objectsize")?;
    let (t, pos) = token(line, pos);
    rec.totaltime = number(t, "totaltime")?;
    let (t, pos) = token(line, pos);
    rec.turnaroundtime = number(t, "turnaroundtime")?;
    if pos >= line.len() {
        return fail("referrer", "missing: fewer than 18 fields");
    }

    // Referrer, user agent, then the tail. A quoted referrer closes at a quote followed by a
    // space and the user agent's start; of those, the first that leaves a valid rest wins.
    let rest = &line[pos..];
    if rest[0] == b'"' {
        let mut from = 1;
        while let Some(p) = memchr(b'"', &rest[from..]).map(|i| from + i) {
            from = p + 1;
            if rest.get(p + 1) != Some(&b' ') || p + 2 >= rest.len() {
                continue;
            }
            if let Some((ua, tail, fields)) = split_useragent(&rest[p + 2..]) {
                rec.referrer = quoted_dash_is_none(&rest[..=p]).map(|_| &rest[1..p]);
                rec.useragent = ua;
                rec.tail = tail;
                rec.tail_fields = fields;
                return Ok(rec);
            }
        }
        fail(
            "useragent",
            "no quoting of referrer and user agent fits the line",
        )
    } else {
        let (referrer, next) = token(rest, 0);
        if next >= rest.len() {
            return fail("useragent", "missing: fewer than 18 fields");
        }
        let Some((ua, tail, fields)) = split_useragent(&rest[next..]) else {
            return fail("useragent", "no quoting of the user agent fits the line");
        };
        rec.referrer = dash_is_none(referrer);
        rec.useragent = ua;
        rec.tail = tail;
        rec.tail_fields = fields;
        Ok(rec)
    }
}

#[cfg(test)]
mod tests;
