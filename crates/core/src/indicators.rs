//! The `p_any_*` indicator lists: values worth searching across every log type.
//!
//! A record's indicators are collected into one reusable arena (no allocation per record once
//! warm), then written de-duplicated and sorted, and omitted when empty, as Panther does.

use std::net::IpAddr;

/// Indicator lists, in the order their columns are written (alphabetical by field name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IndicatorKind {
    AwsAccountIds,
    AwsArns,
    AwsInstanceIds,
    AwsTags,
    DomainNames,
    IpAddresses,
    Sha256Hashes,
    TraceIds,
}

impl IndicatorKind {
    pub const ALL: [IndicatorKind; 8] = [
        IndicatorKind::AwsAccountIds,
        IndicatorKind::AwsArns,
        IndicatorKind::AwsInstanceIds,
        IndicatorKind::AwsTags,
        IndicatorKind::DomainNames,
        IndicatorKind::IpAddresses,
        IndicatorKind::Sha256Hashes,
        IndicatorKind::TraceIds,
    ];

    pub const fn field_name(self) -> &'static str {
        match self {
            IndicatorKind::AwsAccountIds => "p_any_aws_account_ids",
            IndicatorKind::AwsArns => "p_any_aws_arns",
            IndicatorKind::AwsInstanceIds => "p_any_aws_instance_ids",
            IndicatorKind::AwsTags => "p_any_aws_tags",
            IndicatorKind::DomainNames => "p_any_domain_names",
            IndicatorKind::IpAddresses => "p_any_ip_addresses",
            IndicatorKind::Sha256Hashes => "p_any_sha256_hashes",
            IndicatorKind::TraceIds => "p_any_trace_ids",
        }
    }
}

/// The indicators of one record.
#[derive(Debug, Default, Clone)]
pub struct Indicators {
    text: Vec<u8>,
    items: Vec<(IndicatorKind, u32, u32)>,
    /// The last host checked by `add_domain` and its verdict: consecutive records of one source
    /// mostly name the same host.
    last_host: Vec<u8>,
    last_host_ok: bool,
}

impl Indicators {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.items.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds a value already known to be valid for `kind`. Empty values are ignored.
    pub fn add(&mut self, kind: IndicatorKind, value: &[u8]) {
        if value.is_empty() {
            return;
        }
        let start = self.text.len() as u32;
        self.text.extend_from_slice(value);
        self.items.push((kind, start, self.text.len() as u32));
    }

    /// Adds `value` when it is a valid IPv4 or IPv6 address; returns whether it was.
    pub fn add_ip(&mut self, value: &[u8]) -> bool {
        let ok = is_ip(value);
        if ok {
            self.add(IndicatorKind::IpAddresses, value);
        }
        ok
    }

    /// Adds `value` when it parses as an ARN, with its account ID when it has one.
    pub fn add_arn(&mut self, value: &[u8]) -> bool {
        match arn_account(value) {
            Some(account) => {
                self.add(IndicatorKind::AwsArns, value);
                if is_account_id(account) {
                    self.add(IndicatorKind::AwsAccountIds, account);
                }
                true
            }
            None => false,
        }
    }

    /// Adds `value` when it is exactly twelve ASCII digits.
    pub fn add_account_id(&mut self, value: &[u8]) -> bool {
        let ok = is_account_id(value);
        if ok {
            self.add(IndicatorKind::AwsAccountIds, value);
        }
        ok
    }

    /// Adds `value` when it looks like a DNS name (dotted labels of letters, digits and `-`),
    /// dropping a `:port` suffix.
    pub fn add_domain(&mut self, value: &[u8]) -> bool {
        let host = match memchr::memrchr(b':', value) {
            Some(i) if value[i + 1..].iter().all(u8::is_ascii_digit) => &value[..i],
            _ => value,
        };
        let ok = if host == self.last_host.as_slice() {
            self.last_host_ok
        } else {
            let ok = is_domain(host);
            self.last_host.clear();
            self.last_host.extend_from_slice(host);
            self.last_host_ok = ok;
            ok
        };
        if ok {
            self.add(IndicatorKind::DomainNames, host);
        }
        ok
    }

    /// Adds `value`, lowercased, when it is 64 hex digits.
    pub fn add_sha256(&mut self, value: &[u8]) -> bool {
        let ok = value.len() == 64 && value.iter().all(u8::is_ascii_hexdigit);
        if ok {
            let start = self.text.len() as u32;
            self.text.extend(value.iter().map(u8::to_ascii_lowercase));
            self.items
                .push((IndicatorKind::Sha256Hashes, start, self.text.len() as u32));
        }
        ok
    }

    /// The de-duplicated, sorted values of one kind.
    pub fn values(&mut self, kind: IndicatorKind) -> Vec<&str> {
        self.normalize();
        self.items
            .iter()
            .filter(|(k, _, _)| *k == kind)
            .map(|&(_, s, e)| std::str::from_utf8(&self.text[s as usize..e as usize]).unwrap_or(""))
            .collect()
    }

    /// Appends `,"p_any_x":[...]` for every non-empty kind.
    pub fn write_json_fields(&mut self, out: &mut Vec<u8>) {
        self.normalize();
        let mut current: Option<IndicatorKind> = None;
        for &(kind, s, e) in &self.items {
            if current != Some(kind) {
                if current.is_some() {
                    out.push(b']');
                }
                out.push(b',');
                crate::json::write_key(out, kind.field_name());
                out.push(b'[');
                current = Some(kind);
            } else {
                out.push(b',');
            }
            crate::json::write_str(out, &self.text[s as usize..e as usize]);
        }
        if current.is_some() {
            out.push(b']');
        }
    }

    fn normalize(&mut self) {
        let text = &self.text;
        let value = |&(_, s, e): &(IndicatorKind, u32, u32)| &text[s as usize..e as usize];
        self.items
            .sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| value(a).cmp(value(b))));
        self.items
            .dedup_by(|a, b| a.0 == b.0 && value(a) == value(b));
    }
}

pub fn is_ip(value: &[u8]) -> bool {
    if value.contains(&b':') {
        return value.len() <= 45
            && std::str::from_utf8(value).is_ok_and(|s| s.parse::<IpAddr>().is_ok());
    }
    is_ipv4(value)
}

/// Dotted-quad IPv4 with no leading zeros, as `Ipv4Addr`'s parser accepts; without UTF-8
/// validation or a parser state machine, since nearly every record carries one.
fn is_ipv4(value: &[u8]) -> bool {
    let mut parts = 0;
    for part in value.split(|&b| b == b'.') {
        parts += 1;
        let ok = match part {
            [] => false,
            [d] => d.is_ascii_digit(),
            [b'0', ..] => false,
            _ => {
                part.len() <= 3
                    && part.iter().all(u8::is_ascii_digit)
                    && part.iter().fold(0u32, |v, b| v * 10 + u32::from(b - b'0')) <= 255
            }
        };
        if !ok || parts > 4 {
            return false;
        }
    }
    parts == 4
}

pub fn is_account_id(value: &[u8]) -> bool {
    value.len() == 12 && value.iter().all(u8::is_ascii_digit)
}

/// The account field of an ARN (`arn:partition:service:region:account:resource`), or `None`
/// when `value` is not an ARN: partition and service are words of letters, digits and `-`,
/// the resource is not empty, and nothing is whitespace or a control byte.
pub fn arn_account(value: &[u8]) -> Option<&[u8]> {
    let rest = value.strip_prefix(b"arn:")?;
    // Offsets in `rest` of the colons ending partition, service, region and account.
    let mut colons = [0usize; 4];
    let mut found = 0;
    for (i, &b) in rest.iter().enumerate() {
        if b <= b' ' || b == 0x7f {
            return None;
        }
        if b == b':' && found < 4 {
            colons[found] = i;
            found += 1;
        }
    }
    if found < 4 || colons[3] + 1 >= rest.len() {
        return None;
    }
    let word =
        |s: &[u8]| !s.is_empty() && s.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-');
    if !word(&rest[..colons[0]]) || !word(&rest[colons[0] + 1..colons[1]]) {
        return None;
    }
    Some(&rest[colons[2] + 1..colons[3]])
}

fn is_domain(host: &[u8]) -> bool {
    if host.is_empty() || host.len() > 253 || !host.contains(&b'.') {
        return false;
    }
    let host = host.strip_suffix(b".").unwrap_or(host);
    host.split(|&b| b == b'.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    }) && !host.iter().all(|b| b.is_ascii_digit() || *b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The straightforward reading of the ARN rule, to check the fast one against.
    fn arn_account_reference(value: &[u8]) -> Option<&[u8]> {
        let rest = value.strip_prefix(b"arn:")?;
        let mut parts = rest.splitn(5, |&b| b == b':');
        let (partition, service, _region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let word =
            |s: &[u8]| !s.is_empty() && s.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-');
        let clean = value.iter().all(|&b| b > b' ' && b != 0x7f);
        (word(partition) && word(service) && !resource.is_empty() && clean).then_some(account)
    }

    proptest! {
        #[test]
        fn arn_account_agrees_with_its_definition(s in "arn:[a-z-]{0,4}:[a-z0-9:/ -]{0,30}") {
            prop_assert_eq!(arn_account(s.as_bytes()), arn_account_reference(s.as_bytes()));
        }

        #[test]
        fn ipv4_check_agrees_with_std(s in "[0-9.]{0,16}") {
            prop_assert_eq!(is_ip(s.as_bytes()), s.parse::<std::net::Ipv4Addr>().is_ok());
        }
    }

    fn json(ind: &mut Indicators) -> String {
        let mut out = Vec::new();
        ind.write_json_fields(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn deduplicated_sorted_and_omitted_when_empty() {
        let mut ind = Indicators::new();
        assert_eq!(json(&mut ind), "");
        assert!(ind.add_ip(b"192.0.2.3"));
        assert!(ind.add_ip(b"10.0.0.1"));
        assert!(ind.add_ip(b"192.0.2.3"));
        assert!(ind.add_ip(b"2001:db8::1"));
        assert!(!ind.add_ip(b"not-an-ip"));
        assert!(!ind.add_ip(b"-"));
        for bad in [
            &b"1.2.3"[..],
            b"1.2.3.4.5",
            b"256.1.1.1",
            b"01.2.3.4",
            b"1..2.3",
            b"1.2.3.4 ",
        ] {
            assert!(!is_ip(bad), "{}", String::from_utf8_lossy(bad));
        }
        assert!(is_ip(b"0.0.0.0") && is_ip(b"255.255.255.255"));
        assert_eq!(
            json(&mut ind),
            r#","p_any_ip_addresses":["10.0.0.1","192.0.2.3","2001:db8::1"]"#
        );
    }

    #[test]
    fn arns_bring_their_account() {
        let mut ind = Indicators::new();
        assert!(ind.add_arn(b"arn:aws:iam::123456789012:user/alice"));
        assert!(ind.add_arn(b"arn:aws:s3:::bucket/key"));
        assert!(!ind.add_arn(b"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1"));
        assert!(!ind.add_arn(b"arn:aws"));
        assert_eq!(
            json(&mut ind),
            r#","p_any_aws_account_ids":["123456789012"],"p_any_aws_arns":["arn:aws:iam::123456789012:user/alice","arn:aws:s3:::bucket/key"]"#
        );
    }

    #[test]
    fn domains_accounts_and_hashes() {
        let mut ind = Indicators::new();
        assert!(ind.add_domain(b"bucket.s3.us-west-1.amazonaws.com:443"));
        assert!(!ind.add_domain(b"AWS Internal"));
        assert!(!ind.add_domain(b"10.0.0.1"));
        assert!(!ind.add_account_id(b"12345678901"));
        assert!(ind.add_sha256(&[b'A'; 64]));
        assert!(!ind.add_sha256(&[b'A'; 63]));
        assert_eq!(
            ind.values(IndicatorKind::DomainNames),
            vec!["bucket.s3.us-west-1.amazonaws.com"]
        );
        assert_eq!(
            ind.values(IndicatorKind::Sha256Hashes),
            vec!["a".repeat(64)]
        );
    }
}
