//! Row objects from a JSON array (read element by element) or NDJSON, hashing every byte.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{self, BufRead, BufReader, Read},
    path::Path,
};

use serde::Deserialize as _;
use serde_json::value::RawValue;

use crate::export::{ExportError, file::Sha256Reader};

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

/// A row as read: each value's exact JSON text, to be checked against its column.
pub(crate) type RawRow = BTreeMap<String, Box<RawValue>>;

/// Row objects from a JSON array (read element by element) or NDJSON, hashing every byte.
pub(crate) struct RowReader {
    inner: BufReader<Sha256Reader<Box<dyn Read + Send + Sync>>>,
    layout: Layout,
    pub(crate) name: String,
    line: String,
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
        Ok(Self {
            inner: BufReader::with_capacity(256 * 1024, Sha256Reader::new(read)),
            layout: Layout::Unknown,
            name,
            line: String::new(),
            lines: 0,
        })
    }

    fn bad(&self, what: impl std::fmt::Display) -> ExportError {
        ExportError::Input(format!("{}: {what}", self.name))
    }
}

fn read_error(name: &str, e: io::Error) -> ExportError {
    ExportError::io(format!("cannot read {name}"))(e)
}

impl RowReader {
    /// The next byte that is not white space, without consuming it.
    fn peek(&mut self) -> Result<Option<u8>, ExportError> {
        loop {
            let buf = self
                .inner
                .fill_buf()
                .map_err(|e| read_error(&self.name, e))?;
            let Some(&b) = buf.first() else {
                return Ok(None);
            };
            if b.is_ascii_whitespace() {
                self.inner.consume(1);
            } else {
                return Ok(Some(b));
            }
        }
    }

    pub(crate) fn next(&mut self) -> Result<Option<RawRow>, ExportError> {
        loop {
            match self.layout {
                Layout::Done => return Ok(None),
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
                    // A fresh deserializer per element: it stops right after the object's `}`.
                    let mut de = serde_json::Deserializer::from_reader(&mut self.inner);
                    let row = RawRow::deserialize(&mut de).map_err(|e| self.bad(e))?;
                    return Ok(Some(row));
                }
                Layout::Lines => {
                    self.line.clear();
                    let n = self
                        .inner
                        .read_line(&mut self.line)
                        .map_err(|e| read_error(&self.name, e))?;
                    if n == 0 {
                        self.layout = Layout::Done;
                        continue;
                    }
                    self.lines += 1;
                    if self.line.trim().is_empty() {
                        continue;
                    }
                    let row = serde_json::from_str::<RawRow>(&self.line)
                        .map_err(|e| self.bad(format_args!("line {}: {e}", self.lines)))?;
                    return Ok(Some(row));
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
