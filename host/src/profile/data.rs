//! Reading measured data files (observations and request records) in CSV or
//! JSON Lines, streaming, with every problem located by file, line and
//! column.
//!
//! Both formats become rows of optional text cells under a header, so one
//! set of checks serves both. Request files can hold millions of rows: CSV
//! records are read into one reused buffer and turned straight into compact
//! records.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::problem::Problem;

/// At most this many problems are reported per file; the rest are counted.
pub const MAX_PROBLEMS_PER_FILE: usize = 50;

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

/// A row's cells, aligned with the reader's header; `None` is an empty CSV
/// cell, a JSON `null` or a key the line does not have.
pub struct Row<'r> {
    /// The column names, as far as known at this row.
    pub header: &'r [String],
    csv: Option<&'r csv::StringRecord>,
    json: &'r [Option<String>],
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
}

/// Streams the rows of one data file and collects its problems.
pub struct RowReader {
    path: PathBuf,
    format: Format,
    csv: Option<csv::Reader<BufReader<File>>>,
    lines: Option<std::io::Lines<BufReader<File>>>,
    header: Vec<String>,
    record: csv::StringRecord,
    json: Vec<Option<String>>,
    line: u64,
    pub problems: Vec<Problem>,
    pub dropped_problems: usize,
}

impl RowReader {
    pub fn open(path: &Path) -> Result<RowReader, Problem> {
        let at_file = |message: String| Problem {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            message,
        };
        let format =
            Format::of(path).ok_or_else(|| at_file("expected a `.csv` or `.jsonl` file".to_string()))?;
        let file = File::open(path).map_err(|e| at_file(format!("cannot read the data file: {e}")))?;
        let reader = BufReader::with_capacity(1 << 16, file);
        let mut this = RowReader {
            path: path.to_path_buf(),
            format,
            csv: None,
            lines: None,
            header: Vec::new(),
            record: csv::StringRecord::new(),
            json: Vec::new(),
            line: 0,
            problems: Vec::new(),
            dropped_problems: 0,
        };
        match format {
            Format::Csv => {
                let mut csv = csv::ReaderBuilder::new().has_headers(true).from_reader(reader);
                let header = csv
                    .headers()
                    .map_err(|e| at_file(format!("cannot read the CSV header: {e}")))?;
                this.header = header.iter().map(|h| h.trim().to_string()).collect();
                this.csv = Some(csv);
                this.check_header();
            }
            Format::JsonLines => this.lines = Some(reader.lines()),
        }
        Ok(this)
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    fn check_header(&mut self) {
        for (i, name) in self.header.clone().iter().enumerate() {
            if name.is_empty() {
                self.problem_at(1, 0, Some(i), "empty column name in the header".to_string());
            } else if self.header[..i].contains(name) {
                self.problem_at(1, 0, Some(i), format!("duplicate column `{name}` in the header"));
            }
        }
    }

    /// Records a problem at a row (and column, when given).
    pub fn problem(&mut self, row: &RowPosition, column: Option<usize>, message: String) {
        self.problem_at(row.line, row.byte, column, message);
    }

    fn problem_at(&mut self, line: u64, byte: u64, column: Option<usize>, message: String) {
        if self.problems.len() >= MAX_PROBLEMS_PER_FILE {
            self.dropped_problems += 1;
            return;
        }
        let col = column.map_or(1, |c| self.char_column(line, byte, c));
        self.problems.push(Problem {
            file: self.path.clone(),
            line: line as usize,
            column: col,
            message,
        });
    }

    /// The 1-based character column where field `field` starts, found by
    /// re-reading that one line (only ever done for a reported problem).
    fn char_column(&self, line: u64, byte: u64, field: usize) -> usize {
        let Some(text) = read_line_at(&self.path, byte) else {
            return 1;
        };
        match self.format {
            Format::Csv => csv_field_start(&text, field),
            Format::JsonLines => {
                let key = self.header.get(field).map(|k| format!("\"{k}\""));
                key.and_then(|k| text.find(&k))
                    .map_or(1, |at| text[..at].chars().count() + 1)
            }
        }
        .max(if line == 0 { 0 } else { 1 })
    }

    /// The next row, or `None` at the end. Malformed rows are reported and
    /// skipped.
    pub fn next_row(&mut self) -> Option<(RowPosition, Row<'_>)> {
        loop {
            match self.format {
                Format::Csv => {
                    let csv = self.csv.as_mut()?;
                    match csv.read_record(&mut self.record) {
                        Ok(false) => return None,
                        Ok(true) => {
                            let position = self.record.position().cloned();
                            let (line, byte) = position.map_or((0, 0), |p| (p.line(), p.byte()));
                            let at = RowPosition { line, byte };
                            let row = Row {
                                header: &self.header,
                                csv: Some(&self.record),
                                json: &[],
                            };
                            return Some((at, row));
                        }
                        Err(e) => {
                            let (line, byte) = e.position().map_or((0, 0), |p| (p.line(), p.byte()));
                            let message = match e.kind() {
                                csv::ErrorKind::UnequalLengths {
                                    expected_len, len, ..
                                } => format!("this row has {len} fields, the header has {expected_len}"),
                                _ => format!("cannot read this CSV row: {e}"),
                            };
                            self.problem_at(line, byte, None, message);
                            if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                                return None;
                            }
                        }
                    }
                }
                Format::JsonLines => {
                    let next = self.lines.as_mut()?.next()?;
                    self.line += 1;
                    let line = self.line;
                    let text = match next {
                        Ok(text) => text,
                        Err(e) => {
                            self.problem_at(line, 0, None, format!("cannot read this line: {e}"));
                            return None;
                        }
                    };
                    if text.trim().is_empty() {
                        continue;
                    }
                    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text) {
                        Ok(object) => {
                            self.json.clear();
                            self.json.resize(self.header.len(), None);
                            for (key, value) in object {
                                let i = match self.column(&key) {
                                    Some(i) => i,
                                    None => {
                                        self.header.push(key);
                                        self.json.push(None);
                                        self.header.len() - 1
                                    }
                                };
                                self.json[i] = json_cell(value);
                            }
                            let at = RowPosition { line, byte: 0 };
                            let row = Row {
                                header: &self.header,
                                csv: None,
                                json: &self.json,
                            };
                            return Some((at, row));
                        }
                        Err(e) => {
                            let problem = Problem {
                                file: self.path.clone(),
                                line: line as usize,
                                column: e.column().max(1),
                                message: format!("expected one JSON object per line: {e}"),
                            };
                            if self.problems.len() < MAX_PROBLEMS_PER_FILE {
                                self.problems.push(problem);
                            } else {
                                self.dropped_problems += 1;
                            }
                        }
                    }
                }
            }
        }
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

fn read_line_at(path: &Path, byte: u64) -> Option<String> {
    let mut file = File::open(path).ok()?;
    file.seek(SeekFrom::Start(byte)).ok()?;
    let mut buf = Vec::new();
    file.take(1 << 16).read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    Some(text.lines().next().unwrap_or("").to_string())
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
}
