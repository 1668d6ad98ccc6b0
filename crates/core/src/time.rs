//! UTC timestamps with nanosecond precision, in Panther's text form
//! `YYYY-MM-DD HH:MM:SS.fffffffff`, and the two time syntaxes AWS logs use.
//!
//! Hand-written rather than taken from a date crate because these conversions run once or twice
//! per record on the parse hot path, with fixed layouts that need no locale or zone database.

use std::cell::Cell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

const NANOS_PER_SEC: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Nanoseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// Length of [`Timestamp::panther_bytes`]' output.
pub const PANTHER_LEN: usize = 29;

impl Timestamp {
    pub fn now() -> Timestamp {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_nanos() as i64)
    }

    /// Builds a timestamp from civil UTC fields; `None` when a field is out of range.
    pub fn from_civil(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        nanos: u32,
    ) -> Option<Timestamp> {
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
            || nanos >= NANOS_PER_SEC as u32
            || !(0..=9999).contains(&year)
        {
            return None;
        }
        // A leap second is folded into the next second, as most systems do.
        let secs = days_from_civil(year, month, day) * SECS_PER_DAY
            + i64::from(hour) * 3600
            + i64::from(minute) * 60
            + i64::from(second);
        // Nanoseconds in an i64 span the years 1678 to 2262; anything outside is refused.
        secs.checked_mul(NANOS_PER_SEC)?
            .checked_add(i64::from(nanos))
            .map(Timestamp)
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(NANOS_PER_SEC)
    }

    /// Writes `YYYY-MM-DD HH:MM:SS.fffffffff`.
    pub fn panther_bytes(self) -> [u8; PANTHER_LEN] {
        PANTHER_CACHE.with(|cache| {
            let mut entries = cache.get();
            if let Some((_, text)) = entries.iter().find(|(t, _)| *t == self.0) {
                return *text;
            }
            let secs = self.0.div_euclid(NANOS_PER_SEC);
            let nanos = self.0.rem_euclid(NANOS_PER_SEC) as u32;
            let mut out = *b"0000-00-00 00:00:00.000000000";
            out[..19].copy_from_slice(&date_time_text(secs));
            if nanos != 0 {
                put_digits(&mut out[20..29], nanos);
            }
            entries[1] = entries[0];
            entries[0] = (self.0, out);
            cache.set(entries);
            out
        })
    }

    /// Parses ISO-8601 / RFC 3339 date-times: `T` or a space between date and time, optional
    /// fraction of up to nine digits, and `Z`, `±HH:MM`, `±HHMM` or no zone (taken as UTC,
    /// as moto writes them).
    pub fn parse_iso8601(s: &[u8]) -> Option<Timestamp> {
        if s.len() < 19 || s[4] != b'-' || s[7] != b'-' || s[13] != b':' || s[16] != b':' {
            return None;
        }
        if s[10] != b'T' && s[10] != b't' && s[10] != b' ' {
            return None;
        }
        let year = digits(&s[0..4])?;
        let month = digits(&s[5..7])?;
        let day = digits(&s[8..10])?;
        let hour = digits(&s[11..13])?;
        let minute = digits(&s[14..16])?;
        let second = digits(&s[17..19])?;
        let mut rest = &s[19..];
        let mut nanos = 0u32;
        if let [b'.', tail @ ..] = rest {
            let n = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            // Digits past nanoseconds are truncated, not rounded, so the text never moves forward.
            for (i, b) in tail[..n].iter().enumerate().take(9) {
                nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
            }
            rest = &tail[n..];
        }
        let offset_secs: i64 = match rest {
            [] | [b'Z'] | [b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
                let h = digits(&[*h1, *h2])?;
                let m = digits(&[*m1, *m2])?;
                let v = i64::from(h * 3600 + m * 60);
                if *sign == b'+' { v } else { -v }
            }
            _ => return None,
        };
        let t = Timestamp::from_civil(i64::from(year), month, day, hour, minute, second, nanos)?;
        t.0.checked_sub(offset_secs * NANOS_PER_SEC).map(Timestamp)
    }

    /// Parses the S3 server access log time, `[06/Feb/2019:00:00:38 +0000]`, brackets included.
    pub fn parse_access_log(s: &[u8]) -> Option<Timestamp> {
        let s: &[u8; 28] = s.try_into().ok()?;
        if s[0] != b'[' || s[27] != b']' || s[3] != b'/' || s[7] != b'/' || s[12] != b':' {
            return None;
        }
        if s[15] != b':' || s[18] != b':' || s[21] != b' ' {
            return None;
        }
        let day = digits(&s[1..3])?;
        let month = month_number(&s[4..7])?;
        let year = digits(&s[8..12])?;
        let hour = digits(&s[13..15])?;
        let minute = digits(&s[16..18])?;
        let second = digits(&s[19..21])?;
        let off_h = digits(&s[23..25])?;
        let off_m = digits(&s[25..27])?;
        let offset = i64::from(off_h * 3600 + off_m * 60);
        let offset = match s[22] {
            b'+' => offset,
            b'-' => -offset,
            _ => return None,
        };
        let t = Timestamp::from_civil(i64::from(year), month, day, hour, minute, second, 0)?;
        t.0.checked_sub(offset * NANOS_PER_SEC).map(Timestamp)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.panther_bytes();
        // The buffer holds ASCII digits and separators only.
        f.write_str(std::str::from_utf8(&b).unwrap_or_default())
    }
}

thread_local! {
    /// The last two seconds formatted on this thread: records arrive roughly in time order, and
    /// each is written with its event time and the parse time.
    static DATE_TIME_CACHE: Cell<[(i64, [u8; 19]); 2]> = const { Cell::new([(i64::MIN, [0; 19]); 2]) };
    /// The last two whole timestamps formatted: a record's event time is written twice (its own
    /// field and `p_event_time`) and the parse time changes only every few hundred records.
    static PANTHER_CACHE: Cell<[(i64, [u8; PANTHER_LEN]); 2]> =
        const { Cell::new([(i64::MIN, [0; PANTHER_LEN]); 2]) };
}

/// `YYYY-MM-DD HH:MM:SS` for seconds since the epoch.
fn date_time_text(secs: i64) -> [u8; 19] {
    DATE_TIME_CACHE.with(|cache| {
        let mut entries = cache.get();
        if let Some((_, text)) = entries.iter().find(|(s, _)| *s == secs) {
            return *text;
        }
        let days = secs.div_euclid(SECS_PER_DAY);
        let sod = secs.rem_euclid(SECS_PER_DAY) as u32;
        let (y, m, d) = civil_from_days(days);
        let mut text = *b"0000-00-00 00:00:00";
        put_digits(&mut text[0..4], y.clamp(0, 9999) as u32);
        put_digits(&mut text[5..7], m);
        put_digits(&mut text[8..10], d);
        put_digits(&mut text[11..13], sod / 3600);
        put_digits(&mut text[14..16], sod / 60 % 60);
        put_digits(&mut text[17..19], sod % 60);
        entries[1] = entries[0];
        entries[0] = (secs, text);
        cache.set(entries);
        text
    })
}

fn digits(s: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(b - b'0');
    }
    Some(v)
}

fn put_digits(out: &mut [u8], mut v: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

fn month_number(s: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(s))
        .map(|i| i as u32 + 1)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days-from-civil and civil-from-days algorithms (public domain).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(t: Timestamp) -> String {
        t.to_string()
    }

    #[test]
    fn access_log_time_is_normalized_to_utc() {
        let t = Timestamp::parse_access_log(b"[06/Feb/2019:00:00:38 +0000]").unwrap();
        assert_eq!(text(t), "2019-02-06 00:00:38.000000000");
        let t = Timestamp::parse_access_log(b"[06/Feb/2019:00:00:38 +0130]").unwrap();
        assert_eq!(text(t), "2019-02-05 22:30:38.000000000");
        let t = Timestamp::parse_access_log(b"[31/Dec/2019:23:00:00 -0200]").unwrap();
        assert_eq!(text(t), "2020-01-01 01:00:00.000000000");
    }

    #[test]
    fn access_log_time_rejects_malformed() {
        for bad in [
            &b"[06/Feb/2019:00:00:38 +0000"[..],
            b"[06/Fab/2019:00:00:38 +0000]",
            b"[31/Feb/2019:00:00:38 +0000]",
            b"[06/Feb/2019:24:00:38 +0000]",
            b"[06/Feb/2019:00:00:38 *0000]",
            b"06/Feb/2019:00:00:38",
        ] {
            assert_eq!(
                Timestamp::parse_access_log(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn iso8601_forms() {
        let cases = [
            ("2019-02-06T00:00:38Z", "2019-02-06 00:00:38.000000000"),
            (
                "2026-11-27T21:22:02.128278",
                "2026-11-27 21:22:02.128278000",
            ),
            (
                "2020-06-21 20:41:25.000000000",
                "2020-06-21 20:41:25.000000000",
            ),
            (
                "2020-06-21T20:41:25.123456789123Z",
                "2020-06-21 20:41:25.123456789",
            ),
            ("2020-06-21T20:41:25+02:00", "2020-06-21 18:41:25.000000000"),
            ("2020-06-21T20:41:25-0130", "2020-06-21 22:11:25.000000000"),
            ("2024-02-29T00:00:00Z", "2024-02-29 00:00:00.000000000"),
        ];
        for (input, want) in cases {
            let t = Timestamp::parse_iso8601(input.as_bytes()).unwrap_or_else(|| panic!("{input}"));
            assert_eq!(text(t), want, "{input}");
        }
        for bad in [
            "2019-02-06",
            "2019-02-30T00:00:00Z",
            "2019-02-06T00:00:38.Z",
            "2019-02-06T00:00:38+1",
        ] {
            assert_eq!(Timestamp::parse_iso8601(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn years_beyond_the_nanosecond_range_are_refused() {
        assert_eq!(Timestamp::parse_iso8601(b"9999-12-31T23:59:59Z"), None);
        assert_eq!(
            Timestamp::parse_access_log(b"[01/Jan/1600:00:00:00 +0000]"),
            None
        );
    }

    #[test]
    fn epoch_and_pre_epoch() {
        assert_eq!(text(Timestamp(0)), "1970-01-01 00:00:00.000000000");
        assert_eq!(text(Timestamp(-1)), "1969-12-31 23:59:59.999999999");
    }

    proptest! {
        #[test]
        fn panther_text_round_trips(nanos in -5_000_000_000_000_000_000i64..9_000_000_000_000_000_000i64) {
            let t = Timestamp(nanos);
            let s = text(t);
            prop_assert_eq!(Timestamp::parse_iso8601(s.as_bytes()), Some(t));
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = Timestamp::parse_iso8601(&bytes);
            let _ = Timestamp::parse_access_log(&bytes);
        }
    }
}
