//! Row objects from a JSON array or NDJSON, hashing every byte.
//!
//! The reader works on the buffer itself: it finds where each array element (or line) ends
//! in the bytes `fill_buf` holds (an element's end by its nesting depth, with strings and
//! their escapes tracked) and hands serde_json the whole slice, which fills the caller's
//! [`RawRow`] in place. Only an element that runs past the end of the buffer is copied, into
//! `spill`, until its end comes in. Every byte still passes the SHA-256 under the buffer.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{self, BufRead, BufReader, Read},
    path::Path,
};

use serde::{Deserialize as _, de};
use serde_json::value::RawValue;

use super::row::RawRow;
use crate::export::{ExportError, file::Sha256Reader};

/// The read buffer; an element or line longer than this is collected in `spill`.
const BUFFER: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Not yet looked at.
    Unknown,
    /// Inside a JSON array; `true` once an element was read.
    Array(bool),
    /// One object per line.
    Lines,
    Done,
}

/// A row as serde_json reads it as a map: what the import always parsed, and so what says
/// why an element or line is refused.
type MapRow = BTreeMap<String, Box<RawValue>>;

/// Row objects from a JSON array or NDJSON, hashing every byte.
pub(crate) struct RowReader {
    inner: BufReader<Sha256Reader<Box<dyn Read + Send + Sync>>>,
    layout: Layout,
    pub(crate) name: String,
    /// The start of an element or line that runs past the end of the buffer.
    spill: Vec<u8>,
    lines: u64,
}

impl RowReader {
    pub(crate) fn open(input: Option<&Path>) -> Result<Self, ExportError> {
        let (read, name): (Box<dyn Read + Send + Sync>, String) = match input {
            Some(path) => (
                Box::new(
                    File::open(path)
                        .map_err(ExportError::io(format!("cannot open {}", path.display())))?,
                ),
                path.display().to_string(),
            ),
            None => (Box::new(io::stdin()), "standard input".to_owned()),
        };
        Ok(Self::with_buffer(read, name, BUFFER))
    }

    fn with_buffer(read: Box<dyn Read + Send + Sync>, name: String, capacity: usize) -> Self {
        Self {
            inner: BufReader::with_capacity(capacity, Sha256Reader::new(read)),
            layout: Layout::Unknown,
            name,
            spill: Vec::new(),
            lines: 0,
        }
    }

    fn bad(&self, what: impl std::fmt::Display) -> ExportError {
        ExportError::Input(format!("{}: {what}", self.name))
    }
}

fn read_error(name: &str, e: io::Error) -> ExportError {
    ExportError::io(format!("cannot read {name}"))(e)
}

/// What a line of NDJSON held.
enum Line {
    /// The input ended.
    End,
    /// Only white space.
    Blank,
    /// A row, read into the caller's.
    Row,
    NotUtf8,
    Json(serde_json::Error),
}

impl Line {
    fn read(bytes: &[u8], row: &mut RawRow) -> Self {
        if bytes.is_empty() {
            return Self::End;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Self::NotUtf8;
        };
        if text.trim().is_empty() {
            return Self::Blank;
        }
        match row.read(text) {
            Ok(()) => Self::Row,
            // The message of the parse the import always made.
            Err(e) => Self::Json(serde_json::from_str::<MapRow>(text).err().unwrap_or(e)),
        }
    }
}

/// Reads `bytes`, an array element from its `{` to the matching `}` (or to the end of the
/// input), into `row`. Refused, it is read again as the import always read it, from a stream,
/// for serde_json's message: that places a control character in a string value a character
/// apart from where reading a slice does. So the message is as it was, at no cost otherwise.
fn element(bytes: &[u8], row: &mut RawRow) -> Result<(), serde_json::Error> {
    let refused = match std::str::from_utf8(bytes) {
        Ok(text) => match row.read(text) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        },
        Err(_) => match serde_json::from_slice::<MapRow>(bytes) {
            Err(e) => e,
            Ok(_) => de::Error::custom("invalid UTF-8"),
        },
    };
    let mut de = serde_json::Deserializer::from_reader(bytes);
    Err(MapRow::deserialize(&mut de).err().unwrap_or(refused))
}

/// Whether the start of an element, `bytes`, already fails as the import always read it (from a
/// stream, which stops at the first error): then the rest of it cannot change the message.
fn already_refused(bytes: &[u8]) -> bool {
    let mut de = serde_json::Deserializer::from_reader(bytes);
    matches!(MapRow::deserialize(&mut de), Err(e) if !e.is_eof())
}

/// Where a JSON object or array ends, found byte by byte across buffers: the nesting depth
/// outside strings, and inside them whether the last byte was an escaping backslash.
#[derive(Debug, Default)]
struct Scan {
    depth: usize,
    string: bool,
    escape: bool,
}

impl Scan {
    /// How many bytes of `buf` the value takes up to its closing bracket, if that is in `buf`.
    fn end(&mut self, buf: &[u8]) -> Option<usize> {
        let mut i = 0;
        while let Some(&b) = buf.get(i) {
            i += 1;
            if self.escape {
                self.escape = false;
            } else if self.string {
                // Straight to the string's next quote or backslash.
                i += buf[i - 1..].iter().position(|&b| b == b'"' || b == b'\\')?;
                match buf[i - 1] {
                    b'"' => self.string = false,
                    _ => self.escape = true,
                }
            } else {
                match b {
                    b'"' => self.string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            return Some(i);
                        }
                    }
                    _ => {}
                }
            }
        }
        None
    }
}

impl RowReader {
    /// The next byte that is not white space, without consuming it.
    fn peek(&mut self) -> Result<Option<u8>, ExportError> {
        loop {
            let buf = self
                .inner
                .fill_buf()
                .map_err(|e| read_error(&self.name, e))?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    let b = buf[i];
                    self.inner.consume(i);
                    return Ok(Some(b));
                }
                None => {
                    let n = buf.len();
                    self.inner.consume(n);
                }
            }
        }
    }

    /// Consumes the bytes up to the end `end` finds in the buffer (it is called on each
    /// buffer in turn and keeps its own state), or to the end of the input, and returns what
    /// `parse` makes of them: a slice of the buffer, or of `spill` if they did not fit in one.
    /// Each time `spill` has doubled past 1 MiB, `refused` may say that what it holds already
    /// fails, so that a broken element is not collected to the end of the input.
    fn take<T>(
        &mut self,
        mut end: impl FnMut(&[u8]) -> Option<usize>,
        mut refused: impl FnMut(&[u8]) -> bool,
        parse: impl FnOnce(&[u8]) -> T,
    ) -> Result<T, ExportError> {
        self.spill.clear();
        if self.spill.capacity() > 4 * BUFFER {
            // Not kept for the rest of the input after one very long element.
            self.spill = Vec::new();
        }
        let mut check_at = 4 * BUFFER;
        loop {
            let buf = self
                .inner
                .fill_buf()
                .map_err(|e| read_error(&self.name, e))?;
            if buf.is_empty() {
                return Ok(parse(&self.spill));
            }
            if let Some(n) = end(buf) {
                let out = if self.spill.is_empty() {
                    parse(&buf[..n])
                } else {
                    self.spill.extend_from_slice(&buf[..n]);
                    parse(&self.spill)
                };
                self.inner.consume(n);
                return Ok(out);
            }
            let n = buf.len();
            self.spill.extend_from_slice(buf);
            self.inner.consume(n);
            if self.spill.len() >= check_at {
                if refused(&self.spill) {
                    return Ok(parse(&self.spill));
                }
                check_at = 2 * self.spill.len();
            }
        }
    }

    /// Reads the next row into `row`; `false` at the end of the rows.
    pub(crate) fn next(&mut self, row: &mut RawRow) -> Result<bool, ExportError> {
        loop {
            match self.layout {
                Layout::Done => return Ok(false),
                Layout::Unknown => match self.peek()? {
                    Some(b'[') => {
                        self.inner.consume(1);
                        self.layout = Layout::Array(false);
                    }
                    Some(b'{') => self.layout = Layout::Lines,
                    None => self.layout = Layout::Done,
                    Some(_) => {
                        return Err(self.bad("not a JSON array or NDJSON of row objects"));
                    }
                },
                Layout::Array(started) => {
                    match self.peek()? {
                        Some(b']') => {
                            self.inner.consume(1);
                            if self.peek()?.is_some() {
                                return Err(self.bad("text after the closing `]`"));
                            }
                            self.layout = Layout::Done;
                            continue;
                        }
                        Some(b',') if started => {
                            self.inner.consume(1);
                        }
                        Some(_) if !started => {}
                        Some(_) => return Err(self.bad("expected `,` or `]` between rows")),
                        None => return Err(self.bad("ends before the closing `]`")),
                    }
                    self.layout = Layout::Array(true);
                    if self.peek()? != Some(b'{') {
                        return Err(self.bad("every element must be a row object"));
                    }
                    // From its `{` to the matching `}`, or to the end of the input (which
                    // serde_json then says is missing).
                    let mut scan = Scan::default();
                    let read = self.take(
                        |buf| scan.end(buf),
                        already_refused,
                        |bytes| element(bytes, row),
                    )?;
                    return read.map(|()| true).map_err(|e| self.bad(e));
                }
                Layout::Lines => {
                    let line = self.take(
                        |buf| buf.iter().position(|&b| b == b'\n').map(|i| i + 1),
                        // A line was always read whole, then checked (UTF-8 first).
                        |_| false,
                        |bytes| Line::read(bytes, row),
                    )?;
                    match line {
                        Line::End => self.layout = Layout::Done,
                        Line::Blank => self.lines += 1,
                        Line::Row => {
                            self.lines += 1;
                            return Ok(true);
                        }
                        Line::NotUtf8 => {
                            return Err(read_error(
                                &self.name,
                                io::Error::new(
                                    io::ErrorKind::InvalidData,
                                    "stream did not contain valid UTF-8",
                                ),
                            ));
                        }
                        Line::Json(e) => {
                            self.lines += 1;
                            return Err(self.bad(format_args!("line {}: {e}", self.lines)));
                        }
                    }
                }
            }
        }
    }

    /// Reads to the end (so the digest covers the whole input) and returns the digest.
    pub(crate) fn digest(&mut self) -> Result<String, ExportError> {
        io::copy(&mut self.inner, &mut io::sink()).map_err(|e| read_error(&self.name, e))?;
        Ok(self.inner.get_ref().hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What reading `input` to its end gave: the rows' keys and value texts, the error (its
    /// variant and message) that stopped it, the digest if none did.
    #[derive(Debug, PartialEq, Eq)]
    struct Outcome {
        rows: Vec<Vec<(String, String)>>,
        error: Option<String>,
        digest: Option<String>,
    }

    fn shown(row: MapRow) -> Vec<(String, String)> {
        row.into_iter()
            .map(|(k, v)| (k, v.get().to_owned()))
            .collect()
    }

    /// The same as a map would list it: by key.
    fn sorted(row: &RawRow) -> Vec<(String, String)> {
        let mut keys: Vec<&str> = row.keys().collect();
        keys.sort_unstable();
        keys.iter()
            .map(|k| ((*k).to_owned(), row.get(k).unwrap_or_default().to_owned()))
            .collect()
    }

    fn described(e: &ExportError) -> String {
        let variant = format!("{e:?}");
        let variant = variant
            .split(['(', ' '])
            .next()
            .unwrap_or_default()
            .to_owned();
        format!("{variant}: {e}")
    }

    fn read(input: &[u8], capacity: usize) -> Outcome {
        let mut r = RowReader::with_buffer(
            Box::new(io::Cursor::new(input.to_vec())),
            "in.json".to_owned(),
            capacity,
        );
        let mut rows = Vec::new();
        let mut row = RawRow::default();
        loop {
            match r.next(&mut row) {
                Ok(true) => rows.push(sorted(&row)),
                Ok(false) => break,
                Err(e) => {
                    return Outcome {
                        rows,
                        error: Some(described(&e)),
                        digest: None,
                    };
                }
            }
        }
        let digest = r.digest().unwrap();
        Outcome {
            rows,
            error: None,
            digest: Some(digest),
        }
    }

    /// The reader as it was before it scanned the buffer itself (a `peek` and `consume(1)`
    /// per white-space byte, serde_json reading each element from the `BufReader`, a `String`
    /// per line): what every input must still give.
    fn read_before(input: &[u8]) -> Outcome {
        let name = "in.json";
        let bad = |what: &dyn std::fmt::Display| ExportError::Input(format!("{name}: {what}"));
        let mut inner = BufReader::with_capacity(
            BUFFER,
            Sha256Reader::new(Box::new(io::Cursor::new(input.to_vec())) as Box<dyn Read>),
        );
        fn peek(inner: &mut impl BufRead) -> Result<Option<u8>, ExportError> {
            loop {
                let buf = inner.fill_buf().map_err(|e| read_error("in.json", e))?;
                let Some(&b) = buf.first() else {
                    return Ok(None);
                };
                if b.is_ascii_whitespace() {
                    inner.consume(1);
                } else {
                    return Ok(Some(b));
                }
            }
        }
        let mut layout = Layout::Unknown;
        let mut line = String::new();
        let mut lines = 0;
        let mut rows = Vec::new();
        let mut next = || -> Result<Option<MapRow>, ExportError> {
            loop {
                match layout {
                    Layout::Done => return Ok(None),
                    Layout::Unknown => match peek(&mut inner)? {
                        Some(b'[') => {
                            inner.consume(1);
                            layout = Layout::Array(false);
                        }
                        Some(b'{') => layout = Layout::Lines,
                        None => layout = Layout::Done,
                        Some(_) => return Err(bad(&"not a JSON array or NDJSON of row objects")),
                    },
                    Layout::Array(started) => {
                        match peek(&mut inner)? {
                            Some(b']') => {
                                inner.consume(1);
                                if peek(&mut inner)?.is_some() {
                                    return Err(bad(&"text after the closing `]`"));
                                }
                                layout = Layout::Done;
                                continue;
                            }
                            Some(b',') if started => inner.consume(1),
                            Some(_) if !started => {}
                            Some(_) => return Err(bad(&"expected `,` or `]` between rows")),
                            None => return Err(bad(&"ends before the closing `]`")),
                        }
                        layout = Layout::Array(true);
                        if peek(&mut inner)? != Some(b'{') {
                            return Err(bad(&"every element must be a row object"));
                        }
                        let mut de = serde_json::Deserializer::from_reader(&mut inner);
                        return MapRow::deserialize(&mut de).map(Some).map_err(|e| bad(&e));
                    }
                    Layout::Lines => {
                        line.clear();
                        let n = inner
                            .read_line(&mut line)
                            .map_err(|e| read_error(name, e))?;
                        if n == 0 {
                            layout = Layout::Done;
                            continue;
                        }
                        lines += 1;
                        if line.trim().is_empty() {
                            continue;
                        }
                        return serde_json::from_str::<MapRow>(&line)
                            .map(Some)
                            .map_err(|e| bad(&format_args!("line {lines}: {e}")));
                    }
                }
            }
        };
        let error = loop {
            match next() {
                Ok(Some(row)) => rows.push(shown(row)),
                Ok(None) => break None,
                Err(e) => break Some(described(&e)),
            }
        };
        let digest = error.is_none().then(|| {
            io::copy(&mut inner, &mut io::sink()).unwrap();
            inner.get_ref().hex()
        });
        Outcome {
            rows,
            error,
            digest,
        }
    }

    /// `input` gives what it gave before, through buffers of every size from one byte.
    #[track_caller]
    fn same_as_before(input: &[u8]) -> Outcome {
        let before = read_before(input);
        for capacity in [1, 2, 3, 5, 8, 13, 64, 1000, BUFFER] {
            assert_eq!(
                read(input, capacity),
                before,
                "buffer of {capacity} bytes, input {:?}",
                String::from_utf8_lossy(&input[..input.len().min(300)])
            );
        }
        before
    }

    fn error(input: &[u8]) -> String {
        same_as_before(input).error.expect("refused")
    }

    #[test]
    fn arrays_and_lines_read_as_before() {
        let ok = same_as_before(
            br#" [ {"a": 1, "b": "x"} ,
                {"a": 2, "b": null}]  "#,
        );
        assert_eq!(ok.rows.len(), 2);
        assert_eq!(
            ok.rows[1],
            [("a".into(), "2".into()), ("b".into(), "null".into())]
        );
        assert_eq!(
            same_as_before(b"\n\r\n{\"a\": 1}\r\n\r\n  \n{\"a\": 2}")
                .rows
                .len(),
            2
        );
        for empty in [&b""[..], b"  \n", b"[]", b" [ ] \n"] {
            let o = same_as_before(empty);
            assert_eq!((o.rows.len(), o.error), (0, None));
        }
    }

    #[test]
    fn strings_with_quotes_brackets_and_escapes() {
        let o = same_as_before(
            br#"[{"a": "}]\"{[", "b\"}": "\\", "c": "\\\"]", "d": {"e": ["}", "\u005d"]}},
                 {"a": "\\\\"}]"#,
        );
        assert_eq!(o.error, None);
        assert_eq!(o.rows[0][0].1, r#""}]\"{[""#);
        assert_eq!(o.rows[0][3].1, r#"{"e": ["}", "\u005d"]}"#);
        assert_eq!(o.rows[1][0].1, r#""\\\\""#);
    }

    #[test]
    fn malformed_input_is_refused_as_before() {
        for (input, message) in [
            (
                &br#"[{"a": 1}, {"a": "#[..],
                "Input: in.json: EOF while parsing a value at line 1 column 6",
            ),
            (
                &br#"[{"a": 1}"#[..],
                "Input: in.json: ends before the closing `]`",
            ),
            (
                &br#"[{"a": 1} x {"a": 2}]"#[..],
                "Input: in.json: expected `,` or `]` between rows",
            ),
            (
                &br#"[{"a": 1}] x"#[..],
                "Input: in.json: text after the closing `]`",
            ),
            (
                &br#"[{"a": 1}, 2]"#[..],
                "Input: in.json: every element must be a row object",
            ),
            (
                &br#"[{"a": 1},]"#[..],
                "Input: in.json: every element must be a row object",
            ),
            (
                &br#"[{"a": 1]]"#[..],
                "Input: in.json: expected `,` or `}` at line 1 column 8",
            ),
            (
                &br#"[{"a": "x}]"#[..],
                "Input: in.json: EOF while parsing a string at line 1 column 10",
            ),
            (
                &b"x"[..],
                "Input: in.json: not a JSON array or NDJSON of row objects",
            ),
            (
                &b"{\"a\": 1}\n\n{\"a\": }\r\n"[..],
                "Input: in.json: line 3: expected value at line 1 column 7",
            ),
            (
                &b"{\"a\": 1}\n{\"a\": \"\xff\"}\n"[..],
                "Io: cannot read in.json: stream did not contain valid UTF-8",
            ),
        ] {
            assert_eq!(error(input), message, "{}", String::from_utf8_lossy(input));
        }
        assert!(error(b"[{\"a\": \"\xff\"}]").contains("invalid unicode code point"));
        assert!(error(b"{\"a\": 1} {\"a\": 2}\n").contains("trailing characters"));
    }

    /// Element `n` of `count`, `len` bytes long (at least 20).
    fn element(n: usize, len: usize) -> String {
        let head = format!(r#"{{"n": {n}, "s": ""#);
        let pad = len - head.len() - 2;
        format!(
            "{head}{}\"}}",
            "\\\"]}".repeat(pad / 4) + &"x".repeat(pad % 4)
        )
    }

    #[test]
    fn elements_straddling_the_buffer_end() {
        // Elements of odd lengths, so that one of them ends on, one just before and one just
        // after each multiple of the buffer's size (and the commas between them too).
        let elements: Vec<String> = (0..3000).map(|n| element(n, 97 + n % 7)).collect();
        let array = format!("[{}]", elements.join(",\n"));
        assert!(array.len() > BUFFER);
        let o = same_as_before(array.as_bytes());
        assert_eq!((o.rows.len(), o.error), (3000, None));
        let lines = elements.join("\r\n");
        let o = same_as_before(lines.as_bytes());
        assert_eq!((o.rows.len(), o.error), (3000, None));
        // An element cut at the buffer's end, its rest never coming.
        let cut = &array.as_bytes()[..BUFFER + 10];
        assert!(error(cut).contains("EOF while parsing"));
    }

    #[test]
    fn a_single_element_of_several_buffers() {
        let big = element(1, 3 * 1024 * 1024 + 5);
        let array = format!(r#"[{{"a": 0}}, {big}, {{"a": 2}}]"#);
        let o = read(array.as_bytes(), BUFFER);
        assert_eq!(o, read_before(array.as_bytes()));
        assert_eq!((o.rows.len(), o.error), (3, None));
        assert!(o.rows[1][1].1.len() > 3_000_000);
        let lines = format!("{{\"a\": 0}}\n{big}\n{{\"a\": 2}}\n");
        assert_eq!(read(lines.as_bytes(), BUFFER).rows.len(), 3);
        let cut = &array.as_bytes()[..2 * BUFFER];
        assert_eq!(read(cut, BUFFER), read_before(cut));
        // Broken 2 MB into the element (an invalid escape), and cut before its closing quote
        // (the string runs to the end of the input).
        let inside = (2_000_000..).find(|&i| array[..i].ends_with('}')).unwrap();
        let mut escape = array.clone();
        escape.insert_str(inside, "\\q");
        let closing = array.find(&big).unwrap() + big.len() - 2;
        let cut = &array[..closing];
        for (broken, says) in [
            (&*escape, "invalid escape"),
            (cut, "EOF while parsing a string"),
        ] {
            let o = read(broken.as_bytes(), BUFFER);
            assert_eq!(o, read_before(broken.as_bytes()));
            assert_eq!(o.rows.len(), 1);
            assert!(
                o.error.as_deref().unwrap_or_default().contains(says),
                "{o:?}"
            );
        }
    }

    #[test]
    fn a_broken_element_is_not_collected_to_the_end_of_the_input() {
        let endless = io::Cursor::new(br#"[{"a": 1}, {"a": 2 x"#.to_vec()).chain(io::repeat(b'x'));
        let mut r = RowReader::with_buffer(Box::new(endless), "in.json".to_owned(), BUFFER);
        let mut row = RawRow::default();
        assert!(r.next(&mut row).unwrap());
        let e = r.next(&mut row).unwrap_err();
        assert_eq!(
            Some(described(&e)),
            read_before(br#"[{"a": 1}, {"a": 2 xxxx"#).error
        );
        assert!(r.spill.len() < 3 * 1024 * 1024, "{}", r.spill.len());
    }

    #[test]
    fn the_digest_covers_every_byte() {
        use sha2::Digest as _;
        let input = b"[{\"a\": 1}]\n\n";
        let expected: String = sha2::Sha256::digest(input)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(same_as_before(input).digest, Some(expected));
    }

    /// Pieces that row files, broken or not, are made of.
    fn piece() -> impl Strategy<Value = &'static [u8]> {
        prop::sample::select(vec![
            &b"["[..],
            b"]",
            b"{",
            b"}",
            b",",
            b":",
            b" ",
            b"\n",
            b"\r\n",
            b"\x0c",
            b"\"",
            b"\\",
            b"\"a\"",
            b"\"tenant_id\"",
            b"\"}]\\\"[{\"",
            b"\"\\\\\"",
            b"\"\\u00e9\"",
            b"\"\xc3\xa9\"",
            b"\xff",
            b"1",
            b"-2.5e3",
            b"null",
            b"true",
            b"x",
            b"{\"a\": 1, \"b\": \"\\\"]\"}",
            b"{\"a\": [1, {\"c\": \"}\"}]}",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_input_reads_as_before(pieces in prop::collection::vec(piece(), 0..40)) {
            let input = pieces.concat();
            let before = read_before(&input);
            for capacity in [1, 3, 7, BUFFER] {
                prop_assert_eq!(&read(&input, capacity), &before, "buffer {}", capacity);
            }
        }

        #[test]
        fn cut_or_spoilt_files_read_as_before(
            rows in prop::collection::vec(0..5usize, 1..20),
            lines in any::<bool>(),
            cut in any::<prop::sample::Index>(),
            spoil in any::<prop::sample::Index>(),
            with in piece(),
        ) {
            let elements: Vec<String> = rows.iter().enumerate().map(|(n, len)| element(n, 20 + 9 * len)).collect();
            let file = if lines { elements.join("\n") } else { format!("[{}]", elements.join(", ")) };
            let mut input = file.into_bytes();
            let at = spoil.index(input.len());
            input.splice(at..at, with.iter().copied());
            input.truncate(input.len() - cut.index(input.len() / 4));
            let before = read_before(&input);
            for capacity in [1, 4, 16, BUFFER] {
                prop_assert_eq!(&read(&input, capacity), &before, "buffer {}", capacity);
            }
        }
    }
}
