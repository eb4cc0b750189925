//! Reading measured data files (observations and request records) in CSV or
//! JSON Lines, streaming, with every problem located by file, line and
//! column.
//!
//! Both formats become rows of optional text cells under a header, so one
//! set of checks serves both. Request files can hold millions of rows: CSV
//! records are read into one reused buffer and turned straight into compact
//! records.
//!
//! Every step costs time in proportion to the row it reads, never to the
//! header so far: a JSON Lines file may add a key on every line, and a
//! reader that touched every known column per row was cubic in such a file.
//! So columns are found by a map, a JSON row keeps only the cells it has
//! (and clears only those), and [`Row::cells`] yields just those cells.
//! The limits in the parent module bound what one file can make us hold.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::problem::Problem;
use super::{MAX_COLUMNS, MAX_LINE_BYTES, MAX_PROBLEMS_PER_FILE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// Where a data file's bytes come from: a file the caller may read (already
/// resolved and allowed), or text sent with an upload.
#[derive(Debug, Clone)]
pub enum Input<'a> {
    File(PathBuf),
    Text(&'a str),
}

impl<'a> Input<'a> {
    fn open(&self) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Input::File(path) => Box::new(File::open(path)?),
            Input::Text(text) => Box::new(text.as_bytes()),
        })
    }

    /// The line that starts at byte `byte`, read again to find a column in
    /// it (only ever done for a reported problem, at most
    /// [`MAX_PROBLEMS_PER_FILE`] times per file).
    fn line_at(&self, byte: u64) -> Option<String> {
        let mut bytes = Vec::new();
        match self {
            Input::File(path) => {
                let mut file = File::open(path).ok()?;
                file.seek(SeekFrom::Start(byte)).ok()?;
                file.take(MAX_LINE_BYTES as u64 + 1)
                    .read_to_end(&mut bytes)
                    .ok()?;
            }
            Input::Text(text) => {
                let rest = text.as_bytes().get(usize::try_from(byte).ok()?..)?;
                bytes.extend_from_slice(&rest[..rest.len().min(MAX_LINE_BYTES + 1)]);
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        Some(text.lines().next().unwrap_or("").to_string())
    }
}

/// A reader that refuses a line longer than [`MAX_LINE_BYTES`] before it
/// is buffered whole, and remembers whether the input ended with a line
/// break (a file cut short ends inside a row).
struct Limited<R> {
    inner: R,
    /// Line breaks read so far.
    breaks: u64,
    /// Bytes of the current line read so far.
    run: usize,
    last: Option<u8>,
    /// The 1-based line that was too long.
    too_long: Option<u64>,
}

impl<R: Read> Limited<R> {
    fn new(inner: R) -> Self {
        Limited {
            inner,
            breaks: 0,
            run: 0,
            last: None,
            too_long: None,
        }
    }

    fn ends_with_line_break(&self) -> bool {
        matches!(self.last, Some(b'\n' | b'\r'))
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.too_long.is_some() {
            return Err(io::Error::other("line too long"));
        }
        // Reading at most a line's limit at a time, a run of bytes between
        // two line breaks inside one read is always within the limit: only
        // the run that continues the previous read needs counting.
        let want = buf.len().min(MAX_LINE_BYTES);
        let n = self.inner.read(&mut buf[..want])?;
        let chunk = &buf[..n];
        let Some(&last) = chunk.last() else {
            return Ok(0);
        };
        self.last = Some(last);
        let continued = match chunk.iter().position(|&b| b == b'\n') {
            None => n,
            Some(first) => first,
        };
        if self.run + continued > MAX_LINE_BYTES {
            self.too_long = Some(self.breaks + 1);
            return Err(io::Error::other("line too long"));
        }
        match chunk.iter().rposition(|&b| b == b'\n') {
            None => self.run += n,
            Some(last_break) => {
                self.breaks += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
                self.run = n - 1 - last_break;
            }
        }
        Ok(n)
    }
}

type Bytes<'a> = Limited<Box<dyn Read + 'a>>;

enum Source<'a> {
    Csv(Box<csv::Reader<Bytes<'a>>>),
    JsonLines(BufReader<Bytes<'a>>),
}

impl Source<'_> {
    fn limited(&self) -> &Bytes<'_> {
        match self {
            Source::Csv(csv) => csv.get_ref(),
            Source::JsonLines(lines) => lines.get_ref(),
        }
    }
}

/// A row's cells, aligned with the reader's header; `None` is an empty CSV
/// cell, a JSON `null` or a key the line does not have.
pub struct Row<'r> {
    /// The column names, as far as known at this row.
    pub header: &'r [String],
    csv: Option<&'r csv::StringRecord>,
    json: &'r [Option<String>],
    /// The columns this JSON line has, in header order.
    present: &'r [usize],
}

impl Row<'_> {
    pub fn cell(&self, column: usize) -> Option<&str> {
        let text = match self.csv {
            Some(record) => record.get(column),
            None => self.json.get(column).and_then(|c| c.as_deref()),
        }?;
        let text = text.trim();
        (!text.is_empty()).then_some(text)
    }

    /// The non-empty cells as (column, text), in header order: for JSON
    /// Lines only the keys the line has, however many columns came before.
    pub fn cells(&self) -> Cells<'_> {
        Cells { row: self, next: 0 }
    }
}

/// The iterator of [`Row::cells`].
pub struct Cells<'r> {
    row: &'r Row<'r>,
    next: usize,
}

impl<'r> Iterator for Cells<'r> {
    type Item = (usize, &'r str);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let column = match self.row.csv {
                Some(record) if self.next < record.len() => self.next,
                None if self.next < self.row.present.len() => self.row.present[self.next],
                _ => return None,
            };
            self.next += 1;
            if let Some(text) = self.row.cell(column) {
                return Some((column, text));
            }
        }
    }
}

/// Streams the rows of one data file and collects its problems.
pub struct RowReader<'a> {
    /// The name problems carry.
    path: PathBuf,
    input: Input<'a>,
    format: Format,
    source: Source<'a>,
    header: Vec<String>,
    columns: HashMap<String, usize>,
    record: csv::StringRecord,
    json: Vec<Option<String>>,
    present: Vec<usize>,
    /// The current JSON line, kept so that its problems' columns need no
    /// second read.
    buf: Vec<u8>,
    /// JSON Lines: the current line's number and where it starts.
    line: u64,
    line_byte: u64,
    /// Rows read, well-formed or not: zero means the file holds no data.
    rows: u64,
    last_row_line: u64,
    /// Reading ended early (a line too long, an unreadable file).
    stopped: bool,
    pub problems: Vec<Problem>,
    pub dropped_problems: usize,
}

impl<'a> RowReader<'a> {
    /// Opens `input`; `path` is the name its problems carry, and its
    /// extension says the format.
    pub fn open(path: &Path, input: Input<'a>) -> Result<RowReader<'a>, Problem> {
        let at_file = |message: String| Problem {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            message,
        };
        let format =
            Format::of(path).ok_or_else(|| at_file("expected a `.csv` or `.jsonl` file".to_string()))?;
        let bytes = Limited::new(
            input
                .open()
                .map_err(|e| at_file(format!("cannot read the data file: {e}")))?,
        );
        let source = match format {
            Format::Csv => Source::Csv(Box::new(
                csv::ReaderBuilder::new()
                    .has_headers(true)
                    .buffer_capacity(1 << 16)
                    .from_reader(bytes),
            )),
            Format::JsonLines => Source::JsonLines(BufReader::with_capacity(1 << 16, bytes)),
        };
        let mut this = RowReader {
            path: path.to_path_buf(),
            input,
            format,
            source,
            header: Vec::new(),
            columns: HashMap::new(),
            record: csv::StringRecord::new(),
            json: Vec::new(),
            present: Vec::new(),
            buf: Vec::new(),
            line: 0,
            line_byte: 0,
            rows: 0,
            last_row_line: 0,
            stopped: false,
            problems: Vec::new(),
            dropped_problems: 0,
        };
        let header = match &mut this.source {
            Source::Csv(csv) => csv
                .headers()
                .map(|header| header.iter().map(|h| h.trim().to_string()).collect::<Vec<_>>())
                .map_err(|e| e.to_string()),
            Source::JsonLines(_) => return Ok(this),
        };
        match header {
            Ok(header) => this.header = header,
            Err(e) => {
                this.stopped = true;
                match this.source.limited().too_long {
                    Some(line) => this.line_too_long(line),
                    None => this.problem_at(1, 0, None, format!("cannot read the CSV header: {e}")),
                }
            }
        }
        this.check_header();
        Ok(this)
    }

    /// Rows read, well-formed or not.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Columns known so far (for CSV, the header's).
    pub fn header_len(&self) -> usize {
        self.header.len()
    }

    /// Whether reading ended early, with a problem saying why.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    fn check_header(&mut self) {
        if self.header.len() > MAX_COLUMNS {
            let message = format!(
                "the header has {} columns; a data file may have at most {MAX_COLUMNS}",
                self.header.len()
            );
            self.problem_at(1, 0, None, message);
            self.stopped = true;
            return;
        }
        for i in 0..self.header.len() {
            let name = self.header[i].clone();
            if name.is_empty() {
                self.problem_at(1, 0, Some(i), "empty column name in the header".to_string());
            } else if let std::collections::hash_map::Entry::Vacant(entry) = self.columns.entry(name.clone())
            {
                entry.insert(i);
            } else {
                self.problem_at(1, 0, Some(i), format!("duplicate column `{name}` in the header"));
            }
        }
    }

    fn line_too_long(&mut self, line: u64) {
        let message = format!(
            "this line is longer than 1 MiB ({MAX_LINE_BYTES} bytes), the limit for one line of a data \
             file; reading stopped here"
        );
        self.problem_at(line, 0, None, message);
    }

    /// Records a problem at a row (and column, when given).
    pub fn problem(&mut self, row: &RowPosition, column: Option<usize>, message: String) {
        self.problem_at(row.line, row.byte, column, message);
    }

    /// Records a problem at line 1, column 1: about the file as a whole.
    pub fn problem_at_start(&mut self, message: String) {
        self.problem_at(1, 0, None, message);
    }

    fn problem_at(&mut self, line: u64, byte: u64, column: Option<usize>, message: String) {
        if self.problems.len() >= MAX_PROBLEMS_PER_FILE {
            self.dropped_problems += 1;
            return;
        }
        let col = column.map_or(1, |c| self.char_column(line, byte, c));
        self.push(line, col, message);
    }

    fn push(&mut self, line: u64, column: usize, message: String) {
        if self.problems.len() >= MAX_PROBLEMS_PER_FILE {
            self.dropped_problems += 1;
            return;
        }
        self.problems.push(Problem {
            file: self.path.clone(),
            line: line as usize,
            column,
            message,
        });
    }

    /// The 1-based character column where field `field` starts: in the
    /// current JSON line when the problem is on it, else in the line read
    /// again.
    fn char_column(&self, line: u64, byte: u64, field: usize) -> usize {
        let text = if self.format == Format::JsonLines && line == self.line {
            String::from_utf8_lossy(&self.buf).into_owned()
        } else {
            match self.input.line_at(byte) {
                Some(text) => text,
                None => return 1,
            }
        };
        match self.format {
            Format::Csv => csv_field_start(&text, field),
            Format::JsonLines => self.header.get(field).map_or(1, |key| key_column(&text, key)),
        }
    }

    /// The next row, or `None` at the end. Malformed rows are reported and
    /// skipped.
    pub fn next_row(&mut self) -> Option<(RowPosition, Row<'_>)> {
        let at = match self.format {
            Format::Csv => self.advance_csv(),
            Format::JsonLines => self.advance_json(),
        }?;
        let row = Row {
            header: &self.header,
            csv: (self.format == Format::Csv).then_some(&self.record),
            json: &self.json,
            present: &self.present,
        };
        Some((at, row))
    }

    fn advance_csv(&mut self) -> Option<RowPosition> {
        loop {
            if self.stopped {
                return None;
            }
            let Source::Csv(csv) = &mut self.source else {
                return None;
            };
            match csv.read_record(&mut self.record) {
                Ok(false) => {
                    if self.rows > 0 && !self.source.limited().ends_with_line_break() {
                        let message = "the file ends inside this row (no line break after it), so it may \
                                       have been cut short; if the row is complete, end it with a line break";
                        self.problem_at(self.last_row_line, 0, None, message.to_string());
                    }
                    return None;
                }
                Ok(true) => {
                    let (line, byte) = self.record.position().map_or((0, 0), |p| (p.line(), p.byte()));
                    self.rows += 1;
                    self.last_row_line = line;
                    return Some(RowPosition { line, byte });
                }
                Err(e) => {
                    let (line, byte) = e.position().map_or((0, 0), |p| (p.line(), p.byte()));
                    if let Some(line) = self.source.limited().too_long {
                        self.stopped = true;
                        self.line_too_long(line);
                        return None;
                    }
                    self.rows += 1;
                    self.last_row_line = line;
                    let message = match e.kind() {
                        csv::ErrorKind::UnequalLengths {
                            expected_len, len, ..
                        } => format!("this row has {len} fields, the header has {expected_len}"),
                        _ => format!("cannot read this CSV row: {e}"),
                    };
                    self.problem_at(line, byte, None, message);
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        self.stopped = true;
                        return None;
                    }
                }
            }
        }
    }

    fn advance_json(&mut self) -> Option<RowPosition> {
        loop {
            if self.stopped {
                return None;
            }
            let Source::JsonLines(lines) = &mut self.source else {
                return None;
            };
            self.buf.clear();
            let read = lines.read_until(b'\n', &mut self.buf);
            self.line += 1;
            self.line_byte += self.buf.len() as u64;
            let start = self.line_byte - self.buf.len() as u64;
            match read {
                Ok(0) => {
                    self.line -= 1;
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    self.stopped = true;
                    match self.source.limited().too_long {
                        Some(line) => self.line_too_long(line),
                        None => self.push(self.line, 1, format!("cannot read this line: {e}")),
                    }
                    return None;
                }
            }
            let buf = std::mem::take(&mut self.buf);
            let parsed = self.json_row(&buf, start);
            self.buf = buf;
            if let Some(at) = parsed {
                return Some(at);
            }
        }
    }

    /// Reads the JSON object in `line` into the row cells; `None` for a
    /// blank or refused line (its problems recorded).
    fn json_row(&mut self, line: &[u8], start: u64) -> Option<RowPosition> {
        let terminated = line.last() == Some(&b'\n');
        let bytes = line.strip_suffix(b"\n").unwrap_or(line);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                self.rows += 1;
                let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]);
                let column = valid.chars().count() + 1;
                let byte = bytes[e.valid_up_to()];
                self.push(
                    self.line,
                    column,
                    format!(
                        "invalid UTF-8: byte {byte:#04x} cannot appear here; a data file must be UTF-8 text"
                    ),
                );
                return None;
            }
        };
        if text.trim().is_empty() {
            return None;
        }
        self.rows += 1;
        let object = match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text) {
            Ok(object) => object,
            Err(e) => {
                let message = if !terminated && e.classify() == serde_json::error::Category::Eof {
                    format!("the file ends inside this JSON object, so it was cut short: {e}")
                } else {
                    format!("expected one JSON object per line: {e}")
                };
                self.push(self.line, e.column().max(1), message);
                return None;
            }
        };
        for column in self.present.drain(..) {
            self.json[column] = None;
        }
        let mut refused = false;
        for (key, value) in object {
            let column = match self.columns.get(&key) {
                Some(&column) => column,
                None if self.header.len() < MAX_COLUMNS => {
                    let column = self.header.len();
                    self.columns.insert(key.clone(), column);
                    self.header.push(key);
                    self.json.push(None);
                    column
                }
                None => {
                    refused = true;
                    let message = format!(
                        "this line adds a {}th column, `{key}`; a data file may have at most {MAX_COLUMNS} \
                         columns (CSV header fields or distinct JSON keys)",
                        MAX_COLUMNS + 1
                    );
                    self.push(self.line, key_column(text, &key), message);
                    continue;
                }
            };
            self.json[column] = json_cell(value);
            self.present.push(column);
        }
        if refused {
            return None;
        }
        self.present.sort_unstable();
        Some(RowPosition {
            line: self.line,
            byte: start,
        })
    }

    /// All problems, with a final note when some were not listed.
    pub fn finish(mut self) -> Vec<Problem> {
        if self.dropped_problems > 0 {
            self.problems.push(Problem {
                file: self.path.clone(),
                line: 0,
                column: 0,
                message: format!(
                    "{} more problems in this file were not listed",
                    self.dropped_problems
                ),
            });
        }
        self.problems
    }
}

/// Where a row is, kept apart from the row's borrow of the reader.
#[derive(Debug, Clone, Copy)]
pub struct RowPosition {
    pub line: u64,
    byte: u64,
}

fn json_cell(value: serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// The character column of `"key"` in a JSON line (1 when not found as
/// written, e.g. with escapes).
fn key_column(line: &str, key: &str) -> usize {
    line.find(&format!("\"{key}\""))
        .map_or(1, |at| line[..at].chars().count() + 1)
}

/// The character column where CSV field `field` starts in `line`
/// (quote-aware, comma-separated).
fn csv_field_start(line: &str, field: usize) -> usize {
    let mut current = 0;
    let mut quoted = false;
    for (chars, c) in line.chars().enumerate() {
        if current == field {
            return chars + 1;
        }
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => current += 1,
            _ => {}
        }
    }
    line.chars().count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_csv_field_columns_with_quotes() {
        assert_eq!(csv_field_start("a,bb,c", 0), 1);
        assert_eq!(csv_field_start("a,bb,c", 2), 6);
        assert_eq!(csv_field_start("\"x,y\",z", 1), 7);
    }

    /// Reads all of `text` through [`Limited`] in reads of `chunk` bytes.
    fn read_limited(text: &[u8], chunk: usize) -> (io::Result<Vec<u8>>, Limited<&[u8]>) {
        let mut limited = Limited::new(text);
        let mut out = Vec::new();
        let mut buf = vec![0; chunk];
        loop {
            match limited.read(&mut buf) {
                Ok(0) => return (Ok(out), limited),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (Err(e), limited),
            }
        }
    }

    #[test]
    fn a_line_of_the_limit_passes_and_one_byte_more_names_its_line() {
        let fits = [b"a\n".as_slice(), &vec![b'x'; MAX_LINE_BYTES], b"\nb\n"].concat();
        let over = [b"a\nb\n".as_slice(), &vec![b'x'; MAX_LINE_BYTES + 1], b"\n"].concat();
        // Whatever the reads' sizes, a line is measured across them.
        for chunk in [1, 7, 4096, 1 << 16, 3 << 20] {
            let (read, limited) = read_limited(&fits, chunk);
            assert_eq!(read.map(|r| r.len()).ok(), Some(fits.len()), "chunk {chunk}");
            assert!(limited.ends_with_line_break());
            let (read, limited) = read_limited(&over, chunk);
            assert!(read.is_err(), "chunk {chunk}");
            assert_eq!(limited.too_long, Some(3), "chunk {chunk}");
        }
        let (_, limited) = read_limited(b"a\nb", 2);
        assert!(!limited.ends_with_line_break());
    }

    #[test]
    fn json_rows_keep_only_their_own_cells() {
        let text = "{\"a\": 1, \"b\": 2}\n{\"c\": 3}\n{\"b\": null, \"a\": 4}\n";
        let mut reader = RowReader::open(Path::new("x.jsonl"), Input::Text(text)).expect("opens");
        let mut rows = Vec::new();
        while let Some((at, row)) = reader.next_row() {
            let cells: Vec<(usize, String)> = row.cells().map(|(c, t)| (c, t.to_string())).collect();
            rows.push((at.line, cells, row.cell(1).map(str::to_string)));
        }
        assert_eq!(
            rows,
            [
                (1, vec![(0, "1".into()), (1, "2".into())], Some("2".into())),
                (2, vec![(2, "3".into())], None),
                (3, vec![(0, "4".into())], None),
            ]
        );
        assert!(reader.finish().is_empty());
    }
}
