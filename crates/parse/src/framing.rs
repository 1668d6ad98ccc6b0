//! Cutting a decompressed byte stream into records, with bounded memory.
//!
//! A stream is a sequence of top-level units:
//! - a JSON object whose first key is `"Records"` holding an array (CloudTrail's file shape): each
//!   array element is yielded on its own as the stream is read, so a multi-gigabyte file is
//!   parsed in constant memory;
//! - a top-level JSON array: each element likewise;
//! - any other JSON value starting with `{`, which may span lines (a pretty-printed digest);
//! - otherwise one line (access logs, JSON lines that failed to balance).
//!
//! Units never exceed `max_unit` bytes in memory: a longer line or value is cut there and marked
//! truncated, and the rest of it is skipped, so one pathological record cannot exhaust memory.

use std::io::{self, Read};

use memchr::{memchr, memchr2};

/// How a unit was delimited in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// A line of text (without its line terminator).
    Line,
    /// A whole JSON value that started with `{`.
    Json,
    /// One element of a `{"Records":[...]}` wrapper or of a top-level array.
    Element { index: u64 },
}

/// One record's bytes and where it was found.
#[derive(Debug)]
pub struct Unit<'a> {
    pub bytes: &'a [u8],
    pub kind: UnitKind,
    /// 1-based line on which the unit starts.
    pub line: u64,
    /// Set when the unit was longer than the limit and `bytes` holds only its beginning.
    pub truncated: bool,
    /// Whether a JSON unit has whitespace outside strings (pretty-printed), so output must minify.
    pub has_outer_whitespace: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Top,
    /// Inside an array of records; `wrapped` when the array is the value of `"Records"`.
    Array {
        wrapped: bool,
        next_index: u64,
    },
}

/// Reads units from a stream. Call [`Framer::next_unit`] until it returns `Ok(None)`.
pub struct Framer<R> {
    src: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    /// Line number of `buf[pos]`.
    line: u64,
    state: State,
    max_unit: usize,
}

const READ_CHUNK: usize = 256 * 1024;
/// Default upper bound on one record held in memory.
pub const DEFAULT_MAX_UNIT: usize = 32 * 1024 * 1024;

/// Result of scanning for the end of something that may need more input.
enum Scan {
    /// Ends at this absolute buffer offset (exclusive).
    Done(usize),
    /// The input ended first.
    Eof,
    /// The limit was reached first.
    TooLong,
}

impl<R: Read> Framer<R> {
    pub fn new(src: R) -> Self {
        Self::with_max_unit(src, DEFAULT_MAX_UNIT)
    }

    pub fn with_max_unit(src: R, max_unit: usize) -> Self {
        Framer {
            src,
            buf: Vec::with_capacity(READ_CHUNK * 2),
            pos: 0,
            end: 0,
            eof: false,
            line: 1,
            state: State::Top,
            max_unit,
        }
    }

    /// Reads more input; returns false at end of input. Keeps `buf[pos..end]`, moving it to
    /// the front when that makes room.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 && (self.pos == self.end || self.buf.len() - self.end < READ_CHUNK) {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.buf.len() - self.end < READ_CHUNK {
            self.buf.resize(self.end + READ_CHUNK, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Skips whitespace (counting newlines); returns the next byte without consuming it.
    fn peek_non_ws(&mut self) -> io::Result<Option<u8>> {
        loop {
            while self.pos < self.end {
                match self.buf[self.pos] {
                    b'\n' => self.line += 1,
                    b' ' | b'\t' | b'\r' => {}
                    b => return Ok(Some(b)),
                }
                self.pos += 1;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    fn consume(&mut self, to: usize) {
        self.line += memchr::memchr_iter(b'\n', &self.buf[self.pos..to]).count() as u64;
        self.pos = to;
    }

    /// The next unit, or `None` at the end of the stream.
    pub fn next_unit(&mut self) -> io::Result<Option<Unit<'_>>> {
        loop {
            match self.state {
                State::Top => {
                    let Some(b) = self.peek_non_ws()? else {
                        return Ok(None);
                    };
                    match b {
                        b'{' => {
                            if self.enter_records_wrapper()? {
                                continue;
                            }
                            return self.json_value(UnitKind::Json);
                        }
                        b'[' => {
                            self.pos += 1;
                            self.state = State::Array {
                                wrapped: false,
                                next_index: 0,
                            };
                        }
                        _ => return self.line_unit(),
                    }
                }
                State::Array {
                    wrapped,
                    next_index,
                } => {
                    let Some(b) = self.peek_non_ws()? else {
                        self.state = State::Top;
                        return Ok(None);
                    };
                    match b {
                        b']' => {
                            self.pos += 1;
                            self.state = State::Top;
                            if wrapped && self.peek_non_ws()? == Some(b'}') {
                                self.pos += 1;
                            }
                            // Anything else after the array (more keys of the wrapper) is
                            // framed as ordinary units and reported by the classifier.
                        }
                        b',' if next_index > 0 => self.pos += 1,
                        _ => {
                            self.state = State::Array {
                                wrapped,
                                next_index: next_index + 1,
                            };
                            return self.json_value(UnitKind::Element { index: next_index });
                        }
                    }
                }
            }
        }
    }

    /// At a `{`: if the object's first key is `"Records"` with an array value, consumes through
    /// the `[` and switches to array mode.
    fn enter_records_wrapper(&mut self) -> io::Result<bool> {
        const KEY: &[u8] = b"\"Records\"";
        // The decision needs at most the key, some whitespace and the `[`.
        while self.end - self.pos < 256 && self.fill()? {}
        let window = &self.buf[self.pos..self.end];
        let ws = |s: &[u8]| {
            s.iter()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                .count()
        };
        let mut i = 1 + ws(&window[1..]);
        if !window[i..].starts_with(KEY) {
            return Ok(false);
        }
        i += KEY.len();
        i += ws(&window[i..]);
        if window.get(i) != Some(&b':') {
            return Ok(false);
        }
        i += 1;
        i += ws(&window[i..]);
        if window.get(i) != Some(&b'[') {
            return Ok(false);
        }
        let to = self.pos + i + 1;
        self.consume(to);
        self.state = State::Array {
            wrapped: true,
            next_index: 0,
        };
        Ok(true)
    }

    fn line_unit(&mut self) -> io::Result<Option<Unit<'_>>> {
        let start_line = self.line;
        match self.scan(|buf, from| memchr(b'\n', &buf[from..]).map(|i| from + i + 1))? {
            Scan::Done(nl) => {
                let start = self.pos;
                self.pos = nl;
                self.line += 1;
                Ok(Some(self.unit(
                    start,
                    nl - 1,
                    UnitKind::Line,
                    start_line,
                    false,
                )))
            }
            Scan::Eof => {
                let (start, end) = (self.pos, self.end);
                self.pos = end;
                Ok(Some(self.unit(
                    start,
                    end,
                    UnitKind::Line,
                    start_line,
                    false,
                )))
            }
            Scan::TooLong => self.truncated_unit(UnitKind::Line, start_line, |f| {
                f.skip_until(f.pos, |buf, from| {
                    memchr(b'\n', &buf[from..]).map(|i| from + i)
                })
            }),
        }
    }

    /// A JSON value starting at `pos`: an object or array is balanced by brackets outside
    /// strings; a scalar (only inside arrays) runs to the next `,` or `]`.
    fn json_value(&mut self, kind: UnitKind) -> io::Result<Option<Unit<'_>>> {
        let start_line = self.line;
        let mut scanner = match self.buf[self.pos] {
            b'{' | b'[' => JsonScanner::default(),
            _ => JsonScanner::scalar(),
        };
        match self.scan(|buf, from| scanner.advance(buf, from))? {
            Scan::Done(to) => {
                let start = self.pos;
                // A stray `}` or `,` where an element belongs still moves the stream forward.
                let to = to.max(start + 1);
                self.consume(to);
                let mut unit = self.unit(start, to, kind, start_line, false);
                unit.has_outer_whitespace = scanner.outer_whitespace;
                Ok(Some(unit))
            }
            Scan::Eof if kind == UnitKind::Json => {
                // An unbalanced `{` line: frame it as a line so the rest of the stream is not
                // swallowed into one broken value.
                self.line_unit()
            }
            Scan::Eof => {
                let (start, end) = (self.pos, self.end);
                self.consume(end);
                self.state = State::Top;
                Ok(Some(self.unit(start, end, kind, start_line, false)))
            }
            Scan::TooLong => self.truncated_unit(kind, start_line, |f| {
                f.skip_until(f.end, |buf, from| scanner.advance(buf, from))
            }),
        }
    }

    /// Runs `find` over the buffered bytes, reading more until it finds an end, the input ends,
    /// or the unit would exceed the limit. `find` gets the buffer and the offset to resume at.
    fn scan(&mut self, mut find: impl FnMut(&[u8], usize) -> Option<usize>) -> io::Result<Scan> {
        let mut from = self.pos;
        loop {
            if let Some(to) = find(&self.buf[..self.end], from) {
                return Ok(Scan::Done(to));
            }
            if self.end - self.pos >= self.max_unit {
                return Ok(Scan::TooLong);
            }
            let rel = self.end - self.pos;
            if !self.fill()? {
                return Ok(Scan::Eof);
            }
            from = self.pos + rel;
        }
    }

    /// Yields the first `max_unit` bytes of an over-long unit after skipping its remainder.
    /// The remainder is skipped first so the returned slice can borrow the buffer; the kept
    /// head is copied aside for that.
    fn truncated_unit(
        &mut self,
        kind: UnitKind,
        start_line: u64,
        skip: impl FnOnce(&mut Self) -> io::Result<()>,
    ) -> io::Result<Option<Unit<'_>>> {
        let head = self.buf[self.pos..self.pos + self.max_unit].to_vec();
        skip(self)?;
        if !matches!(kind, UnitKind::Line) && self.pos >= self.end && self.eof {
            self.state = State::Top;
        }
        // Park the head at the end of the buffer, past live data, and lend it out.
        let live_end = self.end;
        self.buf.truncate(live_end);
        self.buf.extend_from_slice(&head);
        let start = live_end;
        let end = live_end + head.len();
        let unit = Unit {
            bytes: &self.buf[start..end],
            kind,
            line: start_line,
            truncated: true,
            has_outer_whitespace: false,
        };
        Ok(Some(unit))
    }

    /// Consumes input until `find` reports an end (consumed through it) or the input ends,
    /// discarding what it passes. `from` is where `find` resumes: scanners that carry state
    /// must not see the same bytes twice.
    fn skip_until(
        &mut self,
        mut from: usize,
        mut find: impl FnMut(&[u8], usize) -> Option<usize>,
    ) -> io::Result<()> {
        loop {
            if let Some(to) = find(&self.buf[..self.end], from) {
                self.consume(to);
                return Ok(());
            }
            let end = self.end;
            self.consume(end);
            if !self.fill()? {
                return Ok(());
            }
            from = self.pos;
        }
    }

    /// The unit at `buf[start..end]`, cut to the limit when the whole of it was buffered.
    fn unit(
        &self,
        start: usize,
        end: usize,
        kind: UnitKind,
        line: u64,
        truncated: bool,
    ) -> Unit<'_> {
        let mut bytes = &self.buf[start..end];
        if kind == UnitKind::Line {
            bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        }
        let truncated = truncated || bytes.len() > self.max_unit;
        if truncated {
            bytes = &bytes[..self.max_unit.min(bytes.len())];
        }
        Unit {
            bytes,
            kind,
            line,
            truncated,
            has_outer_whitespace: false,
        }
    }
}

/// Incremental bracket balancing over JSON text; resumable across buffer refills.
#[derive(Debug, Clone, Copy, Default)]
struct JsonScanner {
    depth: u32,
    in_string: bool,
    escaped: bool,
    started: bool,
    /// Scalar mode: ends before `,` `]` `}` or whitespace at depth 0.
    scalar: bool,
    outer_whitespace: bool,
}

impl JsonScanner {
    fn scalar() -> Self {
        JsonScanner {
            scalar: true,
            ..Default::default()
        }
    }

    /// Scans `buf[from..]`; returns the end offset (exclusive) once the value closes.
    fn advance(&mut self, buf: &[u8], from: usize) -> Option<usize> {
        let mut i = from;
        while i < buf.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                match memchr2(b'"', b'\\', &buf[i..]) {
                    Some(k) => {
                        i += k;
                        if buf[i] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                        }
                        i += 1;
                    }
                    None => return None,
                }
                continue;
            }
            let b = buf[i];
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth += 1;
                    self.started = true;
                }
                b'}' | b']' => {
                    if self.scalar && self.depth == 0 {
                        return Some(i);
                    }
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 && !self.scalar {
                        return Some(i + 1);
                    }
                }
                b',' if self.scalar && self.depth == 0 => return Some(i),
                b' ' | b'\t' | b'\r' | b'\n' => {
                    if self.scalar && self.depth == 0 && self.started {
                        return Some(i);
                    }
                    self.outer_whitespace = true;
                }
                _ => self.started = true,
            }
            i += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads in tiny chunks so every refill path is exercised.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn units(input: &[u8], chunk: usize, max: usize) -> Vec<(String, UnitKind, u64, bool)> {
        let mut f = Framer::with_max_unit(Trickle(input, chunk), max);
        let mut out = Vec::new();
        while let Some(u) = f.next_unit().unwrap() {
            out.push((
                String::from_utf8_lossy(u.bytes).into_owned(),
                u.kind,
                u.line,
                u.truncated,
            ));
        }
        out
    }

    fn texts(input: &[u8]) -> Vec<String> {
        units(input, 7, DEFAULT_MAX_UNIT)
            .into_iter()
            .map(|u| u.0)
            .collect()
    }

    #[test]
    fn lines_with_line_numbers_and_crlf() {
        let got = units(b"a b\r\n\n  c\nlast", 3, 100);
        assert_eq!(
            got,
            vec![
                ("a b".into(), UnitKind::Line, 1, false),
                ("c".into(), UnitKind::Line, 3, false),
                ("last".into(), UnitKind::Line, 4, false),
            ]
        );
    }

    #[test]
    fn records_wrapper_is_split_into_elements() {
        let input = br#"{"Records": [{"a":"}{[","b":[1,{"c":2}]}, {"d":"\"}"} ]}"#;
        let got = units(input, 5, 1000);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, r#"{"a":"}{[","b":[1,{"c":2}]}"#);
        assert_eq!(got[0].1, UnitKind::Element { index: 0 });
        assert_eq!(got[1].0, r#"{"d":"\"}"}"#);
        assert_eq!(got[1].1, UnitKind::Element { index: 1 });
    }

    #[test]
    fn pretty_printed_wrapper_and_line_numbers() {
        let input =
            b"{\n  \"Records\" : [\n    {\n      \"a\": 1\n    },\n    {\"b\": 2}\n  ]\n}\n";
        let got = units(input, 4, 1000);
        assert_eq!(got[0].0, "{\n      \"a\": 1\n    }");
        assert_eq!(got[0].2, 3);
        assert_eq!(got[1].0, "{\"b\": 2}");
        assert_eq!(got[1].2, 6);
    }

    #[test]
    fn outer_whitespace_is_flagged() {
        let mut f = Framer::new(&b"{\"a\": 1}\n{\"a\":\" x \"}"[..]);
        assert!(f.next_unit().unwrap().unwrap().has_outer_whitespace);
        assert!(!f.next_unit().unwrap().unwrap().has_outer_whitespace);
    }

    #[test]
    fn json_lines_and_multiline_objects() {
        let input = b"{\"x\":1}\n{\"y\":\n 2}\n{\"z\":3}\n";
        assert_eq!(texts(input), vec!["{\"x\":1}", "{\"y\":\n 2}", "{\"z\":3}"]);
    }

    #[test]
    fn empty_records_array_and_top_level_array() {
        assert!(texts(br#"{"Records":[]}"#).is_empty());
        assert_eq!(
            texts(br#"[{"a":1}, 2, "s", {"b":[]}]"#),
            vec![r#"{"a":1}"#, "2", "\"s\"", r#"{"b":[]}"#]
        );
    }

    #[test]
    fn unbalanced_json_line_does_not_swallow_the_rest() {
        let input = b"{\"broken\": [1,\nnext line\nthird";
        assert_eq!(texts(input), vec!["{\"broken\": [1,", "next line", "third"]);
    }

    #[test]
    fn digest_like_object_is_one_unit() {
        let input = b"{\"awsAccountId\":\"111122223333\",\"logFiles\":[{\"s3Object\":\"k\"}]}";
        assert_eq!(texts(input).len(), 1);
    }

    #[test]
    fn overlong_lines_are_truncated_and_skipped() {
        let mut input = vec![b'x'; 50];
        input.extend_from_slice(b"\nshort\n");
        let got = units(&input, 8, 16);
        assert_eq!(got[0], ("x".repeat(16), UnitKind::Line, 1, true));
        assert_eq!(got[1], ("short".into(), UnitKind::Line, 2, false));
    }

    #[test]
    fn overlong_records_are_truncated_and_the_next_one_is_found() {
        let big = format!("{{\"a\":\"{}\"}}", "y".repeat(100));
        let input = format!("{{\"Records\":[{big},{{\"b\":1}}]}}");
        let got = units(input.as_bytes(), 9, 32);
        assert_eq!(got.len(), 2);
        assert!(got[0].3);
        assert_eq!(got[0].0.len(), 32);
        assert_eq!(got[1].0, "{\"b\":1}");
    }

    #[test]
    fn memory_stays_bounded_on_many_records() {
        struct Gen(u64);
        impl Read for Gen {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let rec = b"{\"eventName\":\"GetObject\",\"n\":[1,2,3]},";
                if self.0 == 0 {
                    return Ok(0);
                }
                let mut n = 0;
                while n + rec.len() <= out.len() && self.0 > 0 {
                    out[n..n + rec.len()].copy_from_slice(rec);
                    n += rec.len();
                    self.0 -= 1;
                }
                Ok(n)
            }
        }
        let src = (&b"{\"Records\":["[..])
            .chain(Gen(200_000))
            .chain(&b"{}]}"[..]);
        let mut f = Framer::new(src);
        let mut count = 0;
        while f.next_unit().unwrap().is_some() {
            count += 1;
        }
        assert_eq!(count, 200_001);
        assert!(
            f.buf.capacity() <= 4 * READ_CHUNK,
            "buffer grew to {}",
            f.buf.capacity()
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_always_progress(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            chunk in 1usize..64,
            max in 1usize..128,
        ) {
            let mut f = Framer::with_max_unit(Trickle(&bytes, chunk), max);
            let mut n = 0;
            while let Some(u) = f.next_unit().unwrap() {
                prop_assert!(u.bytes.len() <= max.max(1) || !u.truncated);
                n += 1;
                prop_assert!(n <= bytes.len() + 1);
            }
        }

        #[test]
        fn lines_round_trip(lines in proptest::collection::vec("[a-zA-Z0-9 ./\\-]{1,40}", 1..20)) {
            let lines: Vec<String> = lines.into_iter().map(|l| format!("x{l}")).collect();
            let input = lines.join("\n");
            prop_assert_eq!(texts(input.as_bytes()), lines);
        }
    }
}
