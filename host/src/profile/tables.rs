//! Turning data-file rows into observations (trials) and request records.

use std::path::Path;

use super::data::{Row, RowReader};
use super::model::*;
use super::problem::Problem;

/// Metrics whose unit makes a negative value impossible.
pub fn is_non_negative_metric(metric: &str) -> bool {
    ["_ms", "_usd", "_mb", "_rps"]
        .iter()
        .any(|suffix| metric.ends_with(suffix))
}

/// A knob value written as text (a CSV cell or a JSON value), checked
/// against the knob's domain.
pub fn parse_knob(param: &Param, text: &str) -> Result<Value, String> {
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
        Some(v) if param.domain.contains(&v) => Ok(v),
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

/// Reads observation rows from `path`; trial numbers continue from `first`.
pub fn read_observations(path: &Path, space: &[Param], first: u32) -> (Vec<Trial>, Vec<Problem>) {
    let mut reader = match RowReader::open(path) {
        Ok(reader) => reader,
        Err(problem) => return (Vec::new(), vec![problem]),
    };
    let mut trials = Vec::new();
    let mut checked_header = false;
    while let Some((at, row)) = reader.next_row() {
        let header = row.header.to_vec();
        let (trial, errors) = observation(&row, &header, space, first + trials.len() as u32);
        let missing: Vec<&str> = space
            .iter()
            .filter(|p| !header.contains(&p.name))
            .map(|p| p.name.as_str())
            .collect();
        if !missing.is_empty() && !checked_header {
            checked_header = true;
            let line = at;
            reader.problem(
                &line,
                None,
                format!(
                    "no column for knob(s) {}; every knob needs a column",
                    missing.join(", ")
                ),
            );
        }
        for (column, message) in errors {
            reader.problem(&at, column, message);
        }
        if let Some(trial) = trial {
            trials.push(trial);
        }
    }
    (trials, reader.finish())
}

type CellErrors = Vec<(Option<usize>, String)>;

fn observation(
    row: &Row<'_>,
    header: &[String],
    space: &[Param],
    number: u32,
) -> (Option<Trial>, CellErrors) {
    let mut errors = Vec::new();
    let mut config = Vec::with_capacity(space.len());
    for param in space {
        let Some(column) = header.iter().position(|h| *h == param.name) else {
            continue;
        };
        match row.cell(column) {
            Some(text) => match parse_knob(param, text) {
                Ok(v) => config.push((param.name.clone(), v)),
                Err(e) => errors.push((Some(column), e)),
            },
            None => errors.push((Some(column), format!("no value for knob `{}`", param.name))),
        }
    }
    let mut metrics = Vec::new();
    for (column, name) in header.iter().enumerate() {
        if space.iter().any(|p| p.name == *name) {
            continue;
        }
        if let Some(text) = row.cell(column) {
            match parse_metric(name, text) {
                Ok(x) => metrics.push((name.clone(), x)),
                Err(e) => errors.push((Some(column), e)),
            }
        }
    }
    if metrics.is_empty() && errors.is_empty() {
        errors.push((None, "this observation has no metric values".to_string()));
    }
    let complete = errors.is_empty() && config.len() == space.len();
    let trial = complete.then_some(Trial {
        number,
        config,
        metrics,
        state: TrialState::Complete,
    });
    (trial, errors)
}

/// Streams request records from `path` into `log`.
pub fn read_requests(path: &Path, log: &mut RequestLog) -> Vec<Problem> {
    let mut reader = match RowReader::open(path) {
        Ok(reader) => reader,
        Err(problem) => return vec![problem],
    };
    let mut labels = Interner::from(&log.served_by);
    let mut categories = Interner::from(&log.categories);
    let mut extra_row = Vec::new();
    while let Some((at, row)) = reader.next_row() {
        let header = row.header;
        let mut errors: CellErrors = Vec::new();
        let mut record = RequestRecord::default();
        let mut served_by = None;
        extra_row.clear();
        for (column, name) in header.iter().enumerate() {
            let Some(text) = row.cell(column) else { continue };
            let mut fail = |e: String| errors.push((Some(column), e));
            match name.as_str() {
                "served_by" => served_by = Some(text.to_string()),
                "prompt" => record.prompt = Some(prompt_hash(text)),
                "category" => record.category = Some(categories.index(text)),
                "input_tokens" | "output_tokens" => match text.parse::<u32>() {
                    Ok(n) if name == "input_tokens" => record.input_tokens = Some(n),
                    Ok(n) => record.output_tokens = Some(n),
                    Err(_) => fail(format!("`{name}` must be a whole number ≥ 0, found `{text}`")),
                },
                "timestamp_ms" => match text.parse::<i64>() {
                    Ok(t) => record.timestamp_ms = Some(t),
                    Err(_) => fail(format!(
                        "`timestamp_ms` must be whole milliseconds, found `{text}`"
                    )),
                },
                "score" => match parse_metric(name, text) {
                    Ok(x) if (0.0..=1.0).contains(&x) => record.score = Some(x),
                    Ok(x) => fail(format!("`score` must lie in [0, 1], found {x}")),
                    Err(e) => fail(e),
                },
                "latency_ms" | "cost_usd" => match parse_metric(name, text) {
                    Ok(x) if name == "latency_ms" => record.latency_ms = Some(x),
                    Ok(x) => record.cost_usd = Some(x),
                    Err(e) => fail(e),
                },
                custom => match parse_metric(custom, text) {
                    Ok(x) => extra_row.push((column, x)),
                    Err(e) => fail(e),
                },
            }
        }
        match served_by {
            Some(label) => record.served_by = labels.index(&label),
            None => errors.push((
                None,
                "no `served_by`: which model or configuration served this request".into(),
            )),
        }
        let header = header.to_vec();
        let ok = errors.is_empty();
        for (column, message) in errors {
            reader.problem(&at, column, message);
        }
        if ok {
            push_extra(log, &header, &extra_row);
            log.records.push(record);
        }
    }
    log.served_by = labels.names;
    log.categories = categories.names;
    reader.finish()
}

/// Appends one record's custom metrics to the flat `extra` block, adding
/// columns (NaN for earlier records) as new metric names appear.
fn push_extra(log: &mut RequestLog, header: &[String], row: &[(usize, f64)]) {
    for (column, _) in row {
        let name = &header[*column];
        if !log.extra_metrics.contains(name) {
            let width = log.extra_metrics.len();
            let rows = log.records.len();
            let mut widened = Vec::with_capacity(rows * (width + 1));
            for r in 0..rows {
                widened.extend_from_slice(&log.extra[r * width..(r + 1) * width]);
                widened.push(f64::NAN);
            }
            log.extra = widened;
            log.extra_metrics.push(name.clone());
        }
    }
    let start = log.extra.len();
    log.extra.resize(start + log.extra_metrics.len(), f64::NAN);
    for (column, x) in row {
        let k = log
            .extra_metrics
            .iter()
            .position(|m| *m == header[*column])
            .unwrap_or(0);
        log.extra[start + k] = *x;
    }
}

/// Labels to dense indices, in order of first appearance.
struct Interner {
    names: Vec<String>,
    index: std::collections::HashMap<String, u32>,
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
