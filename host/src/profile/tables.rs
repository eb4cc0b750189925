//! Turning data-file rows into observations (trials) and request records.
//!
//! Each row costs time in proportion to its own cells: what a column means
//! (which knob, which request field) is decided once, when the column first
//! appears, and a choice knob's labels are looked up in a set built once.

use std::collections::{HashMap, HashSet};

use super::data::{Format, RowReader};
use super::model::*;
use super::problem::Problem;
use super::MAX_COLUMNS;

/// Metrics whose unit makes a negative value impossible.
pub fn is_non_negative_metric(metric: &str) -> bool {
    ["_ms", "_usd", "_mb", "_rps"]
        .iter()
        .any(|suffix| metric.ends_with(suffix))
}

/// A knob value written as text (a CSV cell or a JSON value), checked
/// against the knob's domain.
pub fn parse_knob(param: &Param, text: &str) -> Result<Value, String> {
    checked_knob(param, text, |v| param.domain.contains(v))
}

fn checked_knob(param: &Param, text: &str, contains: impl Fn(&Value) -> bool) -> Result<Value, String> {
    let value = match &param.domain {
        Domain::Real { .. } => text
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Value::Real),
        Domain::Integer { .. } => text.parse::<i64>().ok().map(Value::Integer),
        Domain::Choice { .. } => Some(Value::Choice(text.to_string())),
        Domain::Flag => match text {
            "true" | "1" => Some(Value::Flag(true)),
            "false" | "0" => Some(Value::Flag(false)),
            _ => None,
        },
    };
    match value {
        Some(v) if contains(&v) => Ok(v),
        _ => Err(format!(
            "`{}` = `{text}` is outside its domain: expected {}",
            param.name,
            param.domain.describe()
        )),
    }
}

/// A metric cell: a finite number, non-negative where its unit says so.
pub fn parse_metric(metric: &str, text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if !x.is_finite() => Err(format!("`{metric}` must be a finite number, found `{text}`")),
        Ok(x) if x < 0.0 && is_non_negative_metric(metric) => {
            Err(format!("`{metric}` must not be negative, found {x}"))
        }
        Ok(x) => Ok(x),
        Err(_) => Err(format!("`{metric}` must be a number, found `{text}`")),
    }
}

/// The search space with the lookups loading needs at every row: a knob by
/// name, and a choice knob's labels as a set ([`Domain::contains`] scans
/// the list, and a knob may have up to [`super::MAX_CHOICE_LABELS`]).
pub struct SpaceIndex<'p> {
    pub params: &'p [Param],
    by_name: HashMap<&'p str, usize>,
    labels: Vec<Option<HashSet<&'p str>>>,
}

impl<'p> SpaceIndex<'p> {
    pub fn new(params: &'p [Param]) -> Self {
        let by_name = params
            .iter()
            .enumerate()
            .map(|(k, p)| (p.name.as_str(), k))
            .collect();
        let labels = params
            .iter()
            .map(|p| match &p.domain {
                Domain::Choice { values } => Some(values.iter().map(String::as_str).collect()),
                _ => None,
            })
            .collect();
        SpaceIndex {
            params,
            by_name,
            labels,
        }
    }

    /// The knob named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Whether `value` lies in knob `k`'s domain.
    pub fn contains(&self, k: usize, value: &Value) -> bool {
        match (&self.labels[k], value) {
            (Some(labels), Value::Choice(label)) => labels.contains(label.as_str()),
            (Some(_), _) => false,
            (None, value) => self.params[k].domain.contains(value),
        }
    }

    /// [`parse_knob`] for knob `k`.
    pub fn parse(&self, k: usize, text: &str) -> Result<Value, String> {
        checked_knob(&self.params[k], text, |v| self.contains(k, v))
    }
}

/// A data file named in `[data]` that holds no rows: refused, since a file
/// listed there promises data, and an empty one is most often a failed or
/// truncated export. Not measuring anything yet is said by leaving the
/// file out.
fn check_not_empty(reader: &mut RowReader<'_>, unit: &str, hint: &str) {
    if reader.rows() > 0 || reader.stopped() {
        return;
    }
    let what = match (reader.format(), reader.header_len()) {
        (Format::Csv, 0) => format!("the file is empty: expected a header line, then one row per {unit}"),
        (Format::Csv, _) => format!("the file has a header but no rows: expected one row per {unit}"),
        (Format::JsonLines, _) => format!("the file has no JSON objects: expected one per {unit}"),
    };
    reader.problem_at_start(format!("{what}; {hint}"));
}

/// Reads observation rows; trial numbers continue from `first`.
pub fn read_observations(
    mut reader: RowReader<'_>,
    space: &SpaceIndex<'_>,
    first: u32,
) -> (Vec<Trial>, Vec<Problem>) {
    let knobs = space.params.len();
    // Per column: the knob it holds. Per knob: its (first) column.
    let mut knob_of: Vec<Option<usize>> = Vec::new();
    let mut column_of: Vec<Option<usize>> = vec![None; knobs];
    let mut reported_missing = false;
    let mut trials = Vec::new();
    let mut errors: CellErrors = Vec::new();
    while let Some((at, row)) = reader.next_row() {
        for column in knob_of.len()..row.header.len() {
            let knob = space.position(&row.header[column]);
            if let Some(k) = knob {
                column_of[k].get_or_insert(column);
            }
            knob_of.push(knob);
        }
        errors.clear();
        let mut config = Vec::with_capacity(knobs);
        let mut missing = Vec::new();
        for (k, param) in space.params.iter().enumerate() {
            let Some(column) = column_of[k] else {
                missing.push(param.name.as_str());
                continue;
            };
            match row.cell(column) {
                Some(text) => match space.parse(k, text) {
                    Ok(v) => config.push((param.name.clone(), v)),
                    Err(e) => errors.push((Some(column), e)),
                },
                None => errors.push((Some(column), format!("no value for knob `{}`", param.name))),
            }
        }
        let mut metrics = Vec::new();
        for (column, text) in row.cells() {
            if knob_of[column].is_some() {
                continue;
            }
            let name = &row.header[column];
            match parse_metric(name, text) {
                Ok(x) => metrics.push((name.clone(), x)),
                Err(e) => errors.push((Some(column), e)),
            }
        }
        if metrics.is_empty() && errors.is_empty() {
            errors.push((None, "this observation has no metric values".to_string()));
        }
        let complete = errors.is_empty() && missing.is_empty();
        if !missing.is_empty() && !reported_missing {
            reported_missing = true;
            let message = format!(
                "no column for knob(s) {}; every knob needs a column",
                missing.join(", ")
            );
            reader.problem(&at, None, message);
        }
        for (column, message) in errors.drain(..) {
            reader.problem(&at, column, message);
        }
        if complete {
            trials.push(Trial {
                number: first + trials.len() as u32,
                config,
                metrics,
                state: TrialState::Complete,
            });
        }
    }
    check_not_empty(
        &mut reader,
        "measured configuration",
        "if nothing has been measured yet, leave it out of `[data]`",
    );
    (trials, reader.finish())
}

type CellErrors = Vec<(Option<usize>, String)>;

/// What a request-log column holds, decided when the column first appears.
#[derive(Clone, Copy)]
enum Field {
    ServedBy,
    Prompt,
    Category,
    InputTokens,
    OutputTokens,
    Timestamp,
    Score,
    Latency,
    Cost,
    /// A custom metric, with its index in the log's `extra_metrics` once a
    /// record has a value for it.
    Custom(Option<usize>),
}

impl Field {
    fn of(name: &str, log: &RequestLog) -> Field {
        match name {
            "served_by" => Field::ServedBy,
            "prompt" => Field::Prompt,
            "category" => Field::Category,
            "input_tokens" => Field::InputTokens,
            "output_tokens" => Field::OutputTokens,
            "timestamp_ms" => Field::Timestamp,
            "score" => Field::Score,
            "latency_ms" => Field::Latency,
            "cost_usd" => Field::Cost,
            custom => Field::Custom(log.extra_metrics.iter().position(|m| m == custom)),
        }
    }
}

/// Streams request records into `log` (which may hold earlier files'
/// records).
pub fn read_requests(mut reader: RowReader<'_>, log: &mut RequestLog) -> Vec<Problem> {
    let mut labels = Interner::from(&log.served_by);
    let mut categories = Interner::from(&log.categories);
    let (first_record, old_width) = (log.records.len(), log.extra_metrics.len());
    let mut fields: Vec<Field> = Vec::new();
    // Custom metric values as (record, metric, value): the dense block is
    // built once at the end, as wide as the metrics that appeared.
    let mut extras: Vec<(u32, u32, f64)> = Vec::new();
    let mut row_extras: Vec<(usize, f64)> = Vec::new();
    let mut errors: CellErrors = Vec::new();
    while let Some((at, row)) = reader.next_row() {
        for column in fields.len()..row.header.len() {
            fields.push(Field::of(&row.header[column], log));
        }
        errors.clear();
        row_extras.clear();
        let mut record = RequestRecord::default();
        let mut served_by = None;
        for (column, text) in row.cells() {
            let name = row.header[column].as_str();
            let mut fail = |e: String| errors.push((Some(column), e));
            match fields[column] {
                Field::ServedBy => served_by = Some(text),
                Field::Prompt => record.prompt = Some(prompt_hash(text)),
                Field::Category => record.category = Some(categories.index(text)),
                Field::InputTokens | Field::OutputTokens => match text.parse::<u32>() {
                    Ok(n) if name == "input_tokens" => record.input_tokens = Some(n),
                    Ok(n) => record.output_tokens = Some(n),
                    Err(_) => fail(format!("`{name}` must be a whole number ≥ 0, found `{text}`")),
                },
                Field::Timestamp => match text.parse::<i64>() {
                    Ok(t) => record.timestamp_ms = Some(t),
                    Err(_) => fail(format!(
                        "`timestamp_ms` must be whole milliseconds, found `{text}`"
                    )),
                },
                Field::Score => match parse_metric(name, text) {
                    Ok(x) if (0.0..=1.0).contains(&x) => record.score = Some(x),
                    Ok(x) => fail(format!("`score` must lie in [0, 1], found {x}")),
                    Err(e) => fail(e),
                },
                Field::Latency | Field::Cost => match parse_metric(name, text) {
                    Ok(x) if name == "latency_ms" => record.latency_ms = Some(x),
                    Ok(x) => record.cost_usd = Some(x),
                    Err(e) => fail(e),
                },
                Field::Custom(_) => match parse_metric(name, text) {
                    Ok(x) => row_extras.push((column, x)),
                    Err(e) => fail(e),
                },
            }
        }
        match served_by {
            Some(label) => record.served_by = labels.index(label),
            None => errors.push((
                None,
                "no `served_by`: which model or configuration served this request".into(),
            )),
        }
        if errors.is_empty() {
            // A metric joins the log with the first record that has it.
            for &(column, _) in &row_extras {
                if !matches!(fields[column], Field::Custom(None)) {
                    continue;
                }
                if log.extra_metrics.len() >= MAX_COLUMNS {
                    errors.push((
                        Some(column),
                        format!(
                            "custom metric `{}` would be one more than the {MAX_COLUMNS} custom metrics a \
                             request log may have",
                            row.header[column]
                        ),
                    ));
                    continue;
                }
                fields[column] = Field::Custom(Some(log.extra_metrics.len()));
                log.extra_metrics.push(row.header[column].clone());
            }
        }
        if errors.is_empty() {
            let index = log.records.len() as u32;
            for &(column, x) in &row_extras {
                if let Field::Custom(Some(k)) = fields[column] {
                    extras.push((index, k as u32, x));
                }
            }
            log.records.push(record);
        }
        for (column, message) in errors.drain(..) {
            reader.problem(&at, column, message);
        }
    }
    widen_extra(log, first_record, old_width, &extras);
    log.served_by = labels.names;
    log.categories = categories.names;
    check_not_empty(
        &mut reader,
        "served request",
        "if no requests were recorded, leave it out of `[data]`",
    );
    reader.finish()
}

/// Makes `log.extra` row-major over all of `log.extra_metrics` (NaN where a
/// record lacks a metric) once the records from `first_record` on are
/// read: earlier records (`old_width` wide) are widened once, not once per
/// new metric, and the new records get their `values`.
fn widen_extra(log: &mut RequestLog, first_record: usize, old_width: usize, values: &[(u32, u32, f64)]) {
    let width = log.extra_metrics.len();
    if width == 0 {
        return;
    }
    let rows = log.records.len();
    if width != old_width {
        let mut widened = Vec::with_capacity(rows * width);
        for r in 0..first_record {
            widened.extend_from_slice(&log.extra[r * old_width..(r + 1) * old_width]);
            widened.resize((r + 1) * width, f64::NAN);
        }
        log.extra = widened;
    }
    log.extra.resize(rows * width, f64::NAN);
    for &(record, metric, x) in values {
        log.extra[record as usize * width + metric as usize] = x;
    }
}

/// Labels to dense indices, in order of first appearance.
struct Interner {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Interner {
    fn from(names: &[String]) -> Self {
        Interner {
            names: names.to_vec(),
            index: names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i as u32))
                .collect(),
        }
    }

    fn index(&mut self, label: &str) -> u32 {
        if let Some(&i) = self.index.get(label) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(label.to_string());
        self.index.insert(label.to_string(), i);
        i
    }
}

#[cfg(test)]
mod tests {
    use super::super::data::Input;
    use super::*;

    fn requests(files: &[&str]) -> (RequestLog, Vec<Problem>) {
        let mut log = RequestLog::default();
        let mut problems = Vec::new();
        for text in files {
            let reader = RowReader::open(std::path::Path::new("r.jsonl"), Input::Text(text)).expect("opens");
            problems.extend(read_requests(reader, &mut log));
        }
        (log, problems)
    }

    /// The `extra` block as rows of `Option`s (NaN as `None`).
    fn extra_rows(log: &RequestLog) -> Vec<Vec<Option<f64>>> {
        let width = log.extra_metrics.len();
        log.extra
            .chunks(width.max(1))
            .map(|r| r.iter().map(|x| (!x.is_nan()).then_some(*x)).collect())
            .collect()
    }

    #[test]
    fn custom_metrics_widen_earlier_records_across_files() {
        let (log, problems) = requests(&[
            "{\"served_by\": \"a\"}\n{\"served_by\": \"a\", \"x\": 1}\n{\"served_by\": \"b\", \"y\": 2, \"x\": 3}\n",
            "{\"served_by\": \"b\", \"z\": 4}\n{\"served_by\": \"a\", \"w\": null, \"x\": 5}\n",
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(log.extra_metrics, ["x", "y", "z"]);
        assert_eq!(log.served_by, ["a", "b"]);
        assert_eq!(
            extra_rows(&log),
            [
                vec![None, None, None],
                vec![Some(1.0), None, None],
                vec![Some(3.0), Some(2.0), None],
                vec![None, None, Some(4.0)],
                vec![Some(5.0), None, None],
            ]
        );
    }

    #[test]
    fn a_log_without_custom_metrics_has_no_extra_block() {
        let (log, problems) = requests(&["{\"served_by\": \"a\", \"latency_ms\": 3}\n"]);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(log.extra_metrics.is_empty() && log.extra.is_empty());
        assert_eq!(log.records[0].latency_ms, Some(3.0));
    }

    #[test]
    fn a_request_log_has_at_most_max_columns_custom_metrics_over_its_files() {
        let file = |from: usize| -> String {
            (from..from + 600)
                .map(|i| format!("{{\"served_by\": \"a\", \"m{i}\": 1}}\n"))
                .collect()
        };
        let (log, problems) = requests(&[&file(0), &file(600)]);
        assert_eq!(log.extra_metrics.len(), MAX_COLUMNS);
        assert_eq!(log.records.len(), MAX_COLUMNS);
        assert_eq!(
            (problems[0].line, problems[0].column),
            (MAX_COLUMNS - 600 + 1, 20)
        );
        assert_eq!(
            problems[0].message,
            "custom metric `m1024` would be one more than the 1024 custom metrics a request log may have"
        );
    }
}
