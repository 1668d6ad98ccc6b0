//! Writing untrusted bytes as JSON strings.
//!
//! Log fields are bytes, not guaranteed UTF-8 (a real access-log request URI carried mojibake).
//! Valid UTF-8 is copied as is; each byte of an invalid sequence is written as the character of
//! the same number (its Latin-1 reading), so no byte is lost and the output is always valid JSON.
//! Records whose raw text matters exactly (classification failures) also carry a base64 copy.

/// 0 = copy as is, 1 = escape (ASCII), 2 = non-ASCII (validate as UTF-8).
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if i < 0x20 || i == b'"' as usize || i == b'\\' as usize {
            1
        } else if i >= 0x80 {
            2
        } else {
            0
        };
        i += 1;
    }
    t
};

/// Appends `s` as a quoted JSON string.
pub fn write_str(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    write_str_body(out, s);
    out.push(b'"');
}

/// Whether any of the 8 bytes in `w` needs attention: a control byte, `"`, `\\` or non-ASCII.
#[inline(always)]
fn word_needs_attention(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let control = w.wrapping_sub(0x20 * ONES) & !w & HIGH;
    let quote = has_zero(w ^ (b'"' as u64 * ONES));
    let backslash = has_zero(w ^ (b'\\' as u64 * ONES));
    (w & HIGH) | control | quote | backslash != 0
}

/// Appends the escaped body of a JSON string, without quotes.
pub fn write_str_body(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        // Most log text is plain ASCII: skip it eight bytes at a time, and a short tail as one
        // word padded with a harmless letter.
        while let Some(chunk) = s.get(i..i + 8) {
            let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            if word_needs_attention(w) {
                break;
            }
            i += 8;
        }
        if s.len() - i < 8 {
            let mut tail = [b'a'; 8];
            tail[..s.len() - i].copy_from_slice(&s[i..]);
            if !word_needs_attention(u64::from_le_bytes(tail)) {
                break;
            }
        }
        let Some(&b) = s.get(i) else { break };
        match CLASS[b as usize] {
            0 => i += 1,
            1 => {
                out.extend_from_slice(&s[start..i]);
                escape_ascii(out, b);
                i += 1;
                start = i;
            }
            _ => {
                let w = utf8_sequence_len(&s[i..]);
                if w > 0 {
                    i += w;
                } else {
                    out.extend_from_slice(&s[start..i]);
                    out.extend_from_slice(&[0xC0 | (b >> 6), 0x80 | (b & 0x3F)]);
                    i += 1;
                    start = i;
                }
            }
        }
    }
    out.extend_from_slice(&s[start..]);
}

/// Appends `"key":` for a key known to need no escaping.
#[inline]
pub fn write_key(out: &mut Vec<u8>, key: &str) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends a decimal integer.
#[inline]
pub fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn escape_ascii(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[(b >> 4) as usize],
            HEX[(b & 0xF) as usize],
        ]),
    }
}

/// Length of the well-formed UTF-8 sequence at the start of `s` (lead byte ≥ 0x80), or 0.
fn utf8_sequence_len(s: &[u8]) -> usize {
    let cont = |i: usize, lo: u8, hi: u8| s.get(i).is_some_and(|&b| (lo..=hi).contains(&b));
    match s[0] {
        0xC2..=0xDF if cont(1, 0x80, 0xBF) => 2,
        0xE0 if cont(1, 0xA0, 0xBF) && cont(2, 0x80, 0xBF) => 3,
        0xE1..=0xEC | 0xEE..=0xEF if cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) => 3,
        0xED if cont(1, 0x80, 0x9F) && cont(2, 0x80, 0xBF) => 3,
        0xF0 if cont(1, 0x90, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) => 4,
        0xF1..=0xF3 if cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) => 4,
        0xF4 if cont(1, 0x80, 0x8F) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) => 4,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn quoted(s: &[u8]) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).expect("always UTF-8")
    }

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        assert_eq!(quoted(b"a\"b\\c\nd\x01"), r#""a\"b\\c\nd\u0001""#);
    }

    #[test]
    fn keeps_valid_utf8() {
        let s = "TLS_AES_128_GCM_SHA256 ключ 🔑";
        let v: String = serde_json::from_str(&quoted(s.as_bytes())).unwrap();
        assert_eq!(v, s);
    }

    #[test]
    fn invalid_bytes_become_their_latin1_characters() {
        let v: String = serde_json::from_str(&quoted(b"/caf\xe9/\xc3(")).unwrap();
        assert_eq!(v, "/caf\u{e9}/\u{c3}(");
    }

    #[test]
    fn integers() {
        let mut out = Vec::new();
        write_u64(&mut out, 0);
        out.push(b',');
        write_u64(&mut out, u64::MAX);
        assert_eq!(out, b"0,18446744073709551615");
    }

    proptest! {
        #[test]
        fn any_bytes_make_valid_json(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let v: String = serde_json::from_str(&quoted(&bytes)).unwrap();
            if let Ok(s) = std::str::from_utf8(&bytes) {
                prop_assert_eq!(v, s);
            } else {
                prop_assert!(v.chars().count() <= bytes.len());
            }
        }
    }
}
